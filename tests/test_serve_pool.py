"""``kizuna serve --workers N``: several processes on one port, one set of metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from kizuna.db import Database
from tests.conftest import LiveServer, free_port, server_env
from tests.factories import make_api_key, make_source
from tests.support import events_of, eventually


def _pool(database_url: str, tmp_path: Path, workers: int) -> LiveServer:
    port = free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", port=port, env=server_env(database_url),
                        log_path=tmp_path / "pool.log")
    server.start = _starter(server, workers)  # type: ignore[method-assign]
    return server


def _starter(server: LiveServer, workers: int):  # type: ignore[no-untyped-def]
    def start(timeout: float = 60.0) -> None:
        log = server.log_path.open("ab")
        server.process = subprocess.Popen(
            [sys.executable, "-m", "kizuna", "serve", "--host", "127.0.0.1",
             "--port", str(server.port), "--workers", str(workers)],
            env=server.env, stdout=log, stderr=subprocess.STDOUT,
        )
        eventually(lambda: _ready(server.url), timeout=timeout, what="the pool to be ready")
    return start


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _accepted(metrics: str, source_id: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("kizuna_ingest_events_total{") and f'source="{source_id}"' in line \
                and 'outcome="accepted"' in line:
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
            response = httpx.post(f"{pool.url}/v1/track", auth=(source.write_key, ""),
                                  json={"userId": f"u{i}", "event": "Viewed", "messageId": f"m{i}"})
            assert response.status_code == 200, response.text

        # Then every event is stored once, and any scrape counts all 40
        assert sorted(e["message_id"] for e in events_of(pool.url, key, source.id)) == sorted(
            f"m{i}" for i in range(40))
        for _ in range(4):
            assert _accepted(httpx.get(f"{pool.url}/metrics").text, source.id) == 40
    finally:
        pool.stop()
    assert "Traceback" not in pool.log_path.read_text()
