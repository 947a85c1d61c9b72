"""``kizuna serve --workers N``: several processes on one port, one set of metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from kizuna.db import Database
from tests.conftest import LiveServer, die_with_parent, free_port, server_env
from tests.factories import make_api_key, make_source
from tests.support import bearer, events_of, eventually

METRICS_TOKEN = "pool-scraper-token"


def _pool(database_url: str, tmp_path: Path, workers: int) -> LiveServer:
    port = free_port()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        env=server_env(database_url, KIZUNA_OPS__METRICS_TOKEN=METRICS_TOKEN),
        log_path=tmp_path / "pool.log",
    )
    server.start = _starter(server, workers)  # type: ignore[method-assign]
    return server


def _starter(server: LiveServer, workers: int):  # type: ignore[no-untyped-def]
    def start(timeout: float = 120.0) -> None:
        log = server.log_path.open("ab")
        server.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kizuna",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(server.port),
                "--workers",
                str(workers),
            ],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        try:
            eventually(lambda: _ready(server.url), timeout=timeout, what="the pool to be ready")
        except BaseException:
            server.stop()  # never leave a pool running behind the failed test
            raise

    return start


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _metrics(url: str) -> str:
    """A scrape, as Prometheus does it: with the configured metrics token."""
    return httpx.get(f"{url}/metrics", headers=bearer(METRICS_TOKEN)).text


def _accepted(metrics: str, source_id: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if (
            line.startswith("kizuna_ingest_events_total{")
            and f'source="{source_id}"' in line
            and 'outcome="accepted"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_share_the_port_and_sum_their_metrics(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # Given a pool of two server processes
    source = make_source(db)
    key = make_api_key(db)
    pool = _pool(database_url, tmp_path, workers=2)
    pool.start()
    try:
        # When 40 events arrive, each on its own connection (so both workers take some)
        for i in range(40):
            response = httpx.post(
                f"{pool.url}/v1/track",
                auth=(source.write_key, ""),
                json={"userId": f"u{i}", "event": "Viewed", "messageId": f"m{i}"},
            )
            assert response.status_code == 200, response.text

        # Then every event is stored once, and any scrape counts all 40
        assert sorted(e["message_id"] for e in events_of(pool.url, key, source.id)) == sorted(
            f"m{i}" for i in range(40)
        )
        for _ in range(4):
            assert _accepted(_metrics(pool.url), source.id) == 40
    finally:
        pool.stop()
    assert "Traceback" not in pool.log_path.read_text()


def _children(pid: int) -> dict[int, str]:
    """The pool parent's child processes and their command lines (Linux /proc)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _lag(metrics: str) -> float | None:
    lags = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("kizuna_pipeline_lag_events{")
    ]
    return sum(lags) if lags else None


def test_a_killed_log_writer_is_restarted_and_nothing_acknowledged_is_lost_or_doubled(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # Given a pool whose log writer, servers and consumers run in their own processes (the
    # segments consumer in one of its own)
    source = make_source(db)
    key = make_api_key(db)
    pool = _pool(database_url, tmp_path, workers=2)
    pool.start()
    try:
        assert pool.process is not None
        children = _children(pool.process.pid)
        (writer_pid,) = [p for p, c in children.items() if "--log-writer" in c]
        assert sum("--pool-member" in c for c in children.values()) == 2
        workers = sorted(c.split("--consumers ")[-1].strip() for c in children.values()
                         if "kizuna worker" in c)  # fmt: skip
        assert workers == ["channel_activity,identity,consent,privacy", "segments"]
        # and the consumer processes yield the CPU to the servers and the writer (niceness 10)
        consumer_pids = [p for p, c in children.items() if "kizuna worker" in c]
        parent = _niceness(pool.process.pid)
        eventually(
            lambda: all(_niceness(p) == min(19, parent + 10) for p in consumer_pids),
            what="consumer processes to lower their priority",
        )  # fmt: skip
        assert _niceness(writer_pid) == parent

        # When events are sent (each resent until acknowledged) while the writer is killed
        acknowledged: list[str] = []
        for i in range(30):
            if i == 10:
                subprocess.run(["kill", "-9", str(writer_pid)], check=True)
            message = {"userId": f"u{i}", "event": "Viewed", "messageId": f"m{i}"}

            def sent(message: dict[str, str] = message) -> bool:
                response = httpx.post(
                    f"{pool.url}/v1/track", auth=(source.write_key, ""), json=message, timeout=30
                )
                assert response.status_code in (200, 503), response.text
                return response.status_code == 200

            eventually(sent, timeout=30, what=f"event {i} to be acknowledged")
            acknowledged.append(f"m{i}")

        # Then a new log writer runs, every acknowledged event is stored exactly once, and the
        # consumer process has handled them all
        assert writer_pid not in _children(pool.process.pid)
        assert sorted(e["message_id"] for e in events_of(pool.url, key, source.id)) == sorted(
            acknowledged
        )
        eventually(
            lambda: _lag(_metrics(pool.url)) == 0,
            timeout=30,
            what="the consumers to catch up",
        )
    finally:
        pool.stop()
