"""Sustained HTTP ingestion benchmark for ``/v1/batch`` beside a same-run direct-insert baseline.

Usage::

    .venv/bin/python bench/ingest.py [--backend sqlite|postgresql|both] [--seconds 20]
        [--clients 8] [--batch 100] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each backend it creates a fresh database, migrates it, creates a source, starts
``python -m kizuna serve`` as a subprocess and drives it from a separate load-generator process
(aiohttp, ``--clients`` concurrent connections, pre-serialised batches of ``--batch`` track
events):

1. *peak*: closed loop, every client POSTs its next batch as soon as the previous one is
   acknowledged, for ``--seconds`` (after a short warm-up that is not measured);
2. *half-peak*: open loop at half the peak rate for ``--seconds / 2``; requests are scheduled at
   fixed intervals spread across the clients and latency is measured from the *scheduled* send
   time (no coordinated omission).

It then reads the server's RSS high-water mark, stops it and checks that the ``events`` table
holds exactly the acknowledged events. The baseline inserts the same kind of rows straight into
a fresh database: raw driver ``executemany``, SQLAlchemy Core ``executemany`` (the reference
for the ratio) and Kizuna's own group-commit transaction (dedup keys, tallies, log append)
without HTTP, all in transactions of 1000 rows.

Only 127.0.0.1 is contacted. Nothing asserts; every wait is bounded. Results are printed and
written to ``bench/results/ingest-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TXN_ROWS = 1000
PG_SETTINGS = ("synchronous_commit", "fsync", "autovacuum", "shared_buffers", "max_wal_size")
# /metrics needs a bearer token (SEC-6): the servers started here are configured with this one.
METRICS_TOKEN = "kizuna-bench-scraper"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}

# --- realistic events ----------------------------------------------------------------------

EVENT_NAMES = (
    "Product Viewed",
    "Product Viewed",
    "Product Viewed",
    "Product Added",
    "Product List Viewed",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
)
CATEGORIES = ("shoes", "bags", "outerwear", "tops", "accessories", "kitchen", "beauty", "toys")
LOCALES = ("ja-JP", "ja-JP", "ja-JP", "en-US", "zh-TW", "ko-KR")
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Mobile",
    "Mozilla/5.0 (Linux; Android 14) Chrome/124.0",
    "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0",
    "Mozilla/5.0 (Macintosh) Version/17.4 Safari",
)
# 32 characters, replaced per request by a unique prefix: messageIds look like UUIDs (36 chars).
PLACEHOLDER = "@" * 32


def make_event(rng: random.Random, message_id: str, timestamp: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "event": rng.choice(EVENT_NAMES),
        "messageId": message_id,
        "anonymousId": f"{rng.getrandbits(64):016x}",
    }
    if rng.random() < 0.5:
        event["userId"] = f"user_{rng.randrange(1, 250_000)}"
    event["timestamp"] = timestamp
    event["properties"] = {
        "sku": f"SKU-{rng.randrange(10_000, 99_999)}",
        "price": rng.randrange(300, 30_000, 10),
        "category": rng.choice(CATEGORIES),
    }
    event["context"] = {
        "library": {"name": "analytics.js", "version": "4.1.0"},
        "locale": rng.choice(LOCALES),
        "ip": f"203.0.113.{rng.randrange(1, 255)}",
        "userAgent": rng.choice(USER_AGENTS),
    }
    return event


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_templates(batch: int, count: int, seed: int) -> list[bytes]:
    """``count`` serialised ``/v1/batch`` bodies whose messageIds start with PLACEHOLDER."""
    import orjson

    rng = random.Random(seed)
    now = datetime.now(UTC)
    templates = []
    for _ in range(count):
        sent_at = now - timedelta(milliseconds=rng.randrange(0, 500))
        events = [
            make_event(
                rng,
                f"{PLACEHOLDER}{j:04d}",
                _iso(sent_at - timedelta(milliseconds=rng.randrange(5, 60_000))),
            )
            for j in range(batch)
        ]
        templates.append(orjson.dumps({"batch": events, "sentAt": _iso(sent_at)}))
    return templates


# --- load generator (runs in its own process) --------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)
    n = len(ordered)

    def rank(q: float) -> float:
        return round(ordered[min(n - 1, max(0, int(q * n + 0.999999) - 1))], 2)

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1], 2),
        "mean": round(sum(ordered) / n, 2),
    }


async def _drive(cfg: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    batch = cfg["batch"]
    clients = cfg["clients"]
    templates = make_templates(batch, cfg["templates"], cfg["seed"])
    placeholder = PLACEHOLDER.encode()
    tag = secrets.token_hex(4)
    phase_char = cfg["phase"][0]
    urls = cfg["urls"]
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{cfg['write_key']}:".encode()).decode(),
        "Content-Type": "application/json",
    }
    errors: Counter[str] = Counter()
    latencies: list[float] = []  # ms, measured requests only
    service: list[float] = []  # ms, send-to-ack of measured requests (paced phase)
    totals = {"events_ok": 0, "requests_ok": 0, "measured_events": 0, "measured_requests": 0}
    late = {"count": 0}
    last_done = {"t": 0.0}

    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=cfg["request_timeout"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post(client: int, seq: int) -> tuple[int | None, str | None]:
            prefix = f"{tag}-{phase_char}{client:03d}-{seq:018d}".encode()
            body = templates[(client * 7919 + seq) % len(templates)].replace(placeholder, prefix)
            try:
                url = urls[client % len(urls)]
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    return resp.status, None
            except Exception as exc:  # timeouts, resets: counted, never raised
                return None, type(exc).__name__

        def record(status: int | None, err: str | None, measured: bool) -> bool:
            if status == 200:
                totals["events_ok"] += batch
                totals["requests_ok"] += 1
                if measured:
                    totals["measured_events"] += batch
                    totals["measured_requests"] += 1
                return True
            errors[err or f"http_{status}"] += 1
            return False

        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu0 = sum(cpu_seconds(pid) for pid in cfg["server_pids"])
        machine_cpu0 = busy_cpu_seconds()
        started = time.perf_counter()
        if cfg["phase"] == "peak":
            measure_from = started + cfg["warmup"]
            end = measure_from + cfg["seconds"]

            async def closed_loop(client: int) -> None:
                seq = 0
                while (t0 := time.perf_counter()) < end:
                    status, err = await post(client, seq)
                    seq += 1
                    t1 = time.perf_counter()
                    measured = t0 >= measure_from
                    if record(status, err, measured) and measured:
                        latencies.append((t1 - t0) * 1000)
                        last_done["t"] = max(last_done["t"], t1)

            await asyncio.gather(*(closed_loop(c) for c in range(clients)))
            window = max(last_done["t"], end) - measure_from
        else:
            rate = cfg["rate_requests"]  # requests per second, all clients together
            interval = 1.0 / rate
            total = max(1, int(cfg["seconds"] * rate))
            measure_from = started + 0.05
            end = measure_from + total * interval

            async def open_loop(client: int) -> None:
                for i in range(client, total, clients):
                    scheduled = measure_from + i * interval
                    delay = scheduled - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.001:
                        late["count"] += 1
                    t0 = time.perf_counter()
                    status, err = await post(client, i)
                    t1 = time.perf_counter()
                    if record(status, err, True):
                        latencies.append((t1 - scheduled) * 1000)
                        service.append((t1 - t0) * 1000)
                        last_done["t"] = max(last_done["t"], t1)

            await asyncio.gather(*(open_loop(c) for c in range(clients)))
            window = max(last_done["t"], end) - measure_from
        server_cpu = sum(cpu_seconds(pid) for pid in cfg["server_pids"]) - server_cpu0
        machine_cpu = busy_cpu_seconds() - machine_cpu0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
    return {
        "phase": cfg["phase"],
        "window_s": round(window, 3),
        "events_per_s": round(totals["measured_events"] / window, 1) if window > 0 else 0.0,
        "requests_per_s": round(totals["measured_requests"] / window, 1) if window > 0 else 0.0,
        "events_ok_total": totals["events_ok"],
        "requests_ok_total": totals["requests_ok"],
        "errors": dict(errors),
        "latency_ms": _percentiles(latencies),
        "service_ms": _percentiles(service) if service else None,
        "late_sends": late["count"],
        "target_events_per_s": cfg.get("rate_requests", 0) * batch or None,
        "loadgen_cpu_pct": round(100 * cpu / wall, 1),
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        # CPU used by anything else on the machine during the phase: noise indicator.
        "other_cpu_pct": round(100 * max(0.0, machine_cpu - server_cpu - cpu) / wall, 1),
        "event_bytes": round(len(templates[0]) / batch, 1),
    }


def _loadgen_main(cfg: dict[str, Any], conn: Any) -> None:
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(asyncio.wait_for(_drive(cfg), cfg["seconds"] + cfg["warmup"] + 90))
        conn.send(result)
    except BaseException as exc:  # report, never hang the parent
        conn.send({"phase": cfg["phase"], "failed": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def run_loadgen(cfg: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_loadgen_main, args=(cfg, child), name=f"loadgen-{cfg['phase']}")
    proc.start()
    child.close()
    deadline = cfg["seconds"] + cfg["warmup"] + 120
    result: dict[str, Any] = {"phase": cfg["phase"], "failed": "load generator timed out"}
    if parent.poll(deadline):
        with contextlib.suppress(EOFError):
            result = parent.recv()
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
    return result


# --- databases -----------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path, pg_url: str, label: str) -> Iterator[str]:
    """A migrated-later, empty database; PostgreSQL ones are dropped WITH (FORCE) afterwards."""
    if backend == "sqlite":
        path = workdir / f"{label}-{secrets.token_hex(3)}.db"
        yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"kizuna_bench_{secrets.token_hex(5)}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:
            print(f"  warning: could not drop {name}: {exc}", file=sys.stderr)
        admin.dispose()


def prepare_database(url: str) -> str:
    """Migrate and create a source; returns its write key."""
    from kizuna.db import Database
    from kizuna.migrations import upgrade
    from kizuna.sources.service import create_source

    db = Database(url)
    try:
        upgrade(db.engine)
        with db.write() as session:
            source = create_source(session, name="bench-web", kind="web")
            session.commit()
            return source.write_key
    finally:
        db.dispose()


def count_events(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)
    finally:
        engine.dispose()


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str,
    port: int,
    log_path: Path,
    consumers: bool,
    switch_ms: float | None = None,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KIZUNA_DATABASE_URL": url,
        "KIZUNA_LOG_LEVEL": "WARNING",
        "KIZUNA_INGESTION__RATE_LIMIT_PER_SECOND": "1000000",
        "KIZUNA_INGESTION__RATE_LIMIT_BURST": "1000000",
        "KIZUNA_PIPELINE__IN_PROCESS": "true" if consumers else "false",
        "KIZUNA_OPS__METRICS_TOKEN": METRICS_TOKEN,
    }
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd = [sys.executable, "-m", "kizuna", *serve]
    if switch_ms is not None:  # what-if: the same server with another GIL switch interval
        code = (
            f"import sys, runpy; sys.setswitchinterval({switch_ms / 1000!r}); "
            f"sys.argv = ['kizuna', *{serve!r}]; runpy.run_module('kizuna', run_name='__main__')"
        )
        cmd = [sys.executable, "-c", code]
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=log, cwd=str(ROOT))


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2.0)
            if r.status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def proc_status(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmHWM, VmRSS), in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``kizuna serve --workers N`` runs N children)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += process_tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def busy_cpu_seconds() -> float:
    """Non-idle CPU seconds of the whole machine (all cores) from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def wait_for_consumers(port: int, timeout: float = 300.0) -> float | None:
    """Seconds until the pipeline's lag is 0 (consumers caught up after the peak), or None."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            text = httpx.get(
                f"http://127.0.0.1:{port}/metrics", headers=METRICS_AUTH, timeout=5.0
            ).text
        except httpx.HTTPError:
            text = ""
        lags = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("kizuna_pipeline_lag_events{")
        ]
        if lags and sum(lags) == 0:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return None


def scrape_metrics(port: int) -> dict[str, float]:
    """Group-commit figures from /metrics: mean group size and commit duration."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=METRICS_AUTH, timeout=5.0).text
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        for name in (
            "kizuna_ingest_group_events_sum",
            "kizuna_ingest_group_events_count",
            "kizuna_ingest_group_commit_seconds_sum",
            "kizuna_ingest_group_commit_seconds_count",
            "kizuna_ingest_ack_seconds_sum",
            "kizuna_ingest_ack_seconds_count",
        ):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
        for le in ("0.05", "0.1"):
            if line.startswith(f'kizuna_ingest_group_commit_seconds_bucket{{le="{le}"}}'):
                values[f"commits_le_{le}"] = float(line.split()[1])
    out: dict[str, float] = {}
    groups = values.get("kizuna_ingest_group_events_count", 0)
    if groups:
        out["groups"] = groups
        out["mean_group_events"] = round(values["kizuna_ingest_group_events_sum"] / groups, 1)
        out["mean_commit_ms"] = round(
            1000 * values["kizuna_ingest_group_commit_seconds_sum"] / groups, 2
        )
        for le, label in (("0.05", "commits_over_50ms"), ("0.1", "commits_over_100ms")):
            if f"commits_le_{le}" in values:
                out[label] = groups - values[f"commits_le_{le}"]
    acks = values.get("kizuna_ingest_ack_seconds_count", 0)
    if acks:
        out["mean_server_ack_ms"] = round(1000 * values["kizuna_ingest_ack_seconds_sum"] / acks, 2)
    return out


def start_profiler(pid: int, seconds: float, out: Path, fmt: str) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("  py-spy not found; --profile ignored", file=sys.stderr)
        return None
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250"]
    cmd += ["--format", fmt, "--output", str(out), "--threads", "--nonblocking", "--idle"]
    cmd += ["--subprocesses"]  # a pool's parent: its server and log-writer processes
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- baseline --------------------------------------------------------------------------------


def baseline_entries(n: int, batch: int, seed: int) -> list[Any]:
    """LogEntry objects built by the server's own rules from the same kind of messages."""
    from kizuna.ingestion.rules import build_entry

    rng = random.Random(seed)
    received = datetime.now(UTC)
    entries = []
    for i in range(n):
        sent_at = received - timedelta(milliseconds=rng.randrange(0, 500))
        original = sent_at - timedelta(milliseconds=rng.randrange(5, 60_000))
        message = make_event(rng, f"baseline-{seed:08x}-{i:024d}", _iso(original))
        entries.append(
            build_entry(
                message,
                message_type="track",
                name=message["event"],
                sent_at=sent_at,
                original_timestamp=original,
                batch_context=None,
                received_at=received,
                source_id="src_baseline",
                source_kind="web",
                partitions=4,
                max_event_bytes=32 * 1024,
            )
        )
    return entries


ROW_KEYS = (
    "partition",
    "source_id",
    "message_id",
    "type",
    "name",
    "channel",
    "user_id",
    "anonymous_id",
    "timestamp",
    "received_at",
    "status",
    "violations",
    "payload",
)


def entry_rows(entries: list[Any]) -> list[dict[str, Any]]:
    """Exactly the dicts ``SqlEventLog.append`` builds."""
    return [{k: getattr(e, k) for k in ROW_KEYS} for e in entries]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bench_core(url: str, rows: list[dict[str, Any]], budget: float) -> tuple[int, float]:
    """SQLAlchemy Core executemany through kizuna.db.Database (same pragmas and BEGIN)."""
    from sqlalchemy import insert

    from kizuna.db import Database
    from kizuna.migrations import upgrade
    from kizuna.models import Event

    db = Database(url)
    try:
        upgrade(db.engine)
        started = time.perf_counter()
        done = 0
        for chunk in _chunks(rows, TXN_ROWS):
            if time.perf_counter() - started > budget:
                break
            done += len(chunk)
            with db.engine.begin() as conn:
                conn.execute(insert(Event), chunk)
        return done, time.perf_counter() - started
    finally:
        db.dispose()


def bench_writer(url: str, entries: list[Any], budget: float) -> tuple[int, float]:
    """Kizuna's own group-commit transaction (dedup, log append, tallies) without HTTP."""
    from kizuna.db import Database
    from kizuna.ingestion.writer import GroupCommitWriter, _Job
    from kizuna.migrations import upgrade
    from kizuna.pipeline.log import SqlEventLog

    db = Database(url)
    try:
        upgrade(db.engine)
        writer = GroupCommitWriter(db, SqlEventLog(4), dedup_window=timedelta(days=7))
        started = time.perf_counter()
        done = 0
        for chunk in _chunks(entries, TXN_ROWS):
            if time.perf_counter() - started > budget:
                break
            done += len(chunk)
            writer._transaction([_Job(chunk)])
        return done, time.perf_counter() - started
    finally:
        db.dispose()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _raw_params(rows: list[dict[str, Any]], sqlite: bool) -> list[list[Any]]:
    ts, ra = ROW_KEYS.index("timestamp"), ROW_KEYS.index("received_at")
    params = []
    for r in rows:
        t = [r[k] for k in ROW_KEYS]
        if sqlite:  # the text SQLAlchemy's SQLite DATETIME stores
            t[ts] = _naive(t[ts]).isoformat(" ", "microseconds")
            t[ra] = _naive(t[ra]).isoformat(" ", "microseconds")
        else:
            t[ts] = _naive(t[ts])
            t[ra] = _naive(t[ra])
        params.append(t)
    return params


def _migrated(url: str) -> None:
    from kizuna.db import Database
    from kizuna.migrations import upgrade

    db = Database(url)
    upgrade(db.engine)
    db.dispose()


COLUMNS_SQL = ", ".join(f'"{k}"' for k in ROW_KEYS)


def bench_raw_sqlite(url: str, rows: list[dict[str, Any]], budget: float) -> tuple[int, float]:
    """sqlite3 executemany of tuples (same pragmas), 1000 rows a transaction."""
    from sqlalchemy.engine import make_url

    _migrated(url)
    conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    sql = f"INSERT INTO events ({COLUMNS_SQL}) VALUES ({', '.join('?' * len(ROW_KEYS))})"
    try:
        started = time.perf_counter()
        done = 0
        for chunk in _chunks(rows, TXN_ROWS):
            if time.perf_counter() - started > budget:
                break
            done += len(chunk)
            params = _raw_params(chunk, sqlite=True)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, params)
            conn.execute("COMMIT")
        return done, time.perf_counter() - started
    finally:
        conn.close()


def bench_raw_pg(
    url: str, rows: list[dict[str, Any]], budget: float, copy: bool = False
) -> tuple[int, float]:
    """psycopg executemany (or COPY FROM STDIN) of tuples, 1000 rows a transaction."""
    import psycopg
    from sqlalchemy.engine import make_url

    _migrated(url)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    sql = f"INSERT INTO events ({COLUMNS_SQL}) VALUES ({', '.join(['%s'] * len(ROW_KEYS))})"
    with psycopg.connect(libpq) as conn:
        started = time.perf_counter()
        done = 0
        for chunk in _chunks(rows, TXN_ROWS):
            if time.perf_counter() - started > budget:
                break
            done += len(chunk)
            params = _raw_params(chunk, sqlite=False)
            with conn.cursor() as cur:
                if copy:
                    with cur.copy(f"COPY events ({COLUMNS_SQL}) FROM STDIN") as cp:
                        for row in params:
                            cp.write_row(row)
                else:
                    cur.executemany(sql, params)
            conn.commit()
        return done, time.perf_counter() - started


# --- machine facts -------------------------------------------------------------------------


def machine_facts(pg_url: str | None) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    facts: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "cpu": cpu,
        "mem_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
    }
    for mod in ("sqlalchemy", "fastapi", "starlette", "uvicorn", "pydantic", "orjson", "psycopg"):
        with contextlib.suppress(Exception):
            facts[mod] = __import__(mod).__version__
    if pg_url:
        from sqlalchemy import create_engine, text

        try:
            engine = create_engine(pg_url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                facts["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
                facts["postgresql_settings"] = {
                    name: conn.execute(text(f"SHOW {name}")).scalar() for name in PG_SETTINGS
                }
            engine.dispose()
        except Exception as exc:
            facts["postgresql_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return facts


# --- one backend ---------------------------------------------------------------------------


def run_backend(
    backend: str, args: argparse.Namespace, workdir: Path, stamp: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend, "servers": args.servers, "workers": args.workers}
    print(f"\n[{backend}] end to end", flush=True)
    with fresh_database(backend, workdir, args.pg_url, "e2e") as url:
        write_key = prepare_database(url)
        procs: list[tuple[subprocess.Popen[bytes], int, Path]] = []
        try:
            for i in range(args.servers):
                port = free_port()
                log_path = workdir / f"server-{backend}-{i}.log"
                # With several servers only the first runs the in-process consumers.
                consumers = not args.no_consumers and i == 0
                proc = start_server(
                    url, port, log_path, consumers, args.switch_interval_ms, args.workers
                )
                procs.append((proc, port, log_path))
            for proc, port, log_path in procs:
                if not wait_ready(proc, port):
                    tail = log_path.read_text(errors="replace")[-2000:]
                    out["failed"] = f"server did not become ready:\n{tail}"
                    print("  " + out["failed"], flush=True)
                    return out
            pids = [pid for proc, _, _ in procs for pid in process_tree(proc.pid)]
            out["server_pids"] = pids
            base = {
                "urls": [f"http://127.0.0.1:{port}/v1/batch" for _, port, _ in procs],
                "write_key": write_key,
                "batch": args.batch,
                "clients": args.clients,
                "templates": 64,
                "request_timeout": 30.0,
                "server_pids": pids,
            }
            warmup = min(2.0, max(0.5, args.seconds / 10))
            profiler = None
            if args.profile:
                prof_out = RESULTS / f"ingest-profile-{backend}-{stamp}.{args.profile_format}"
                out["profile"] = str(prof_out)
                profiler = start_profiler(pids[0], args.seconds, prof_out, args.profile_format)
            peak = run_loadgen(
                {**base, "phase": "peak", "seconds": args.seconds, "warmup": warmup, "seed": 1}
            )
            if profiler is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    profiler.wait(60)
            peak["group_commit"] = [scrape_metrics(port) for _, port, _ in procs]
            out["peak"] = peak
            _print_phase(peak)
            if peak.get("events_per_s") and not args.no_consumers:
                # Half-peak is a steady state: let the consumers finish the peak's backlog first
                # (they compete with ingestion for the database while they catch up).
                drained = wait_for_consumers(procs[0][1])
                out["consumers_caught_up_s"] = drained
                print(f"  consumers caught up with the peak's backlog in {drained} s", flush=True)
            if peak.get("events_per_s"):
                rate_events = peak["events_per_s"] / 2
                half = run_loadgen(
                    {
                        **base,
                        "phase": "half-peak",
                        "seconds": args.seconds / 2,
                        "warmup": 0.0,
                        "seed": 2,
                        "rate_requests": rate_events / args.batch,
                    }
                )
                out["half_peak"] = half
                _print_phase(half)
            hwms = [proc_status(pid, "VmHWM") for pid in pids]
            out["peak_rss_mb_each"] = [round(h / 1024, 1) if h else None for h in hwms]
            out["peak_rss_mb"] = round(sum(h or 0 for h in hwms) / 1024, 1) if any(hwms) else None
        finally:
            for proc, _, _ in procs:
                stop_server(proc)
        acked = sum(
            p.get("events_ok_total", 0) for p in (out.get("peak"), out.get("half_peak")) if p
        )
        stored = count_events(url)
        out["acked_events"] = acked
        out["stored_events"] = stored
        out["verified"] = acked == stored
        if acked == stored:
            print(f"  verify: {stored} rows in events == {acked} acknowledged events: OK")
        else:
            print("  " + "!" * 72)
            print(f"  MISMATCH: {stored} rows in events but {acked} events were acknowledged")
            print("  " + "!" * 72)
    if not args.no_baseline:
        out["baseline"] = run_baseline(backend, args, workdir, out)
    return out


def run_baseline(
    backend: str, args: argparse.Namespace, workdir: Path, e2e: dict[str, Any]
) -> dict[str, Any]:
    n = args.baseline_rows
    print(f"[{backend}] baseline: {n} rows, {TXN_ROWS} rows per transaction", flush=True)
    entries = baseline_entries(n, args.batch, seed=3)
    rows = entry_rows(entries)
    results: dict[str, Any] = {"rows": n}
    budget = args.baseline_seconds
    runs: list[tuple[str, Callable[[str], tuple[int, float]]]]
    if backend == "sqlite":
        runs = [("raw sqlite3 executemany", lambda url: bench_raw_sqlite(url, rows, budget))]
    else:
        runs = [
            ("raw psycopg executemany", lambda url: bench_raw_pg(url, rows, budget)),
            ("raw psycopg COPY", lambda url: bench_raw_pg(url, rows, budget, copy=True)),
        ]
    runs += [
        ("sqlalchemy core executemany", lambda url: bench_core(url, rows, budget)),
        ("kizuna writer txn (no http)", lambda url: bench_writer(url, entries, budget)),
    ]
    for name, fn in runs:
        try:
            with fresh_database(backend, workdir, args.pg_url, "baseline") as url:
                done, elapsed = fn(url)
                stored = count_events(url)
            rate = round(done / elapsed, 1)
            results[name] = {
                "rows_per_s": rate,
                "rows": done,
                "seconds": round(elapsed, 3),
                "stored": stored,
                "budget_hit": done < n,
            }
            peak = (e2e.get("peak") or {}).get("events_per_s")
            ratio = f"  e2e/baseline {peak / rate:.2f}" if peak else ""
            cut = f"  (time budget hit after {done} rows)" if done < n else ""
            print(f"  {name:<32} {rate:>10,.0f} rows/s{ratio}{cut}", flush=True)
        except Exception as exc:
            results[name] = {"failed": f"{type(exc).__name__}: {exc}"}
            print(f"  {name}: failed: {exc}", flush=True)
    return results


def _print_phase(p: dict[str, Any]) -> None:
    if p.get("failed"):
        print(f"  {p['phase']}: FAILED {p['failed']}", flush=True)
        return
    lat = p["latency_ms"]
    print(
        f"  {p['phase']:<10} {p['events_per_s']:>10,.0f} events/s  "
        f"p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  "
        f"errors {p['errors'] or 0}  server CPU {p.get('server_cpu_pct')}%  "
        f"loadgen CPU {p['loadgen_cpu_pct']}%  other CPU {p.get('other_cpu_pct')}%",
        flush=True,
    )


# --- report --------------------------------------------------------------------------------


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def print_report(
    facts: dict[str, Any], args: argparse.Namespace, results: list[dict[str, Any]]
) -> None:
    print("\n" + "=" * 112)
    print(
        f"Kizuna /v1/batch ingestion — {facts['nproc']} CPU ({facts['cpu']}), "
        f"{facts.get('mem_gb')} GB, Linux {facts['kernel']}, "
        f"loadavg at start {' '.join(facts.get('loadavg_at_start') or [])}"
    )
    print(
        f"Python {facts['python']}, SQLite {facts['sqlite']}, PostgreSQL "
        f"{facts.get('postgresql') or 'n/a'}, SQLAlchemy {facts.get('sqlalchemy')}, "
        f"uvicorn {facts.get('uvicorn')}, FastAPI {facts.get('fastapi')}"
    )
    print(
        f"{args.clients} clients x {args.batch} events/request, peak {args.seconds:g} s, "
        f"half-peak {args.seconds / 2:g} s, in-process consumers "
        f"{'off' if args.no_consumers else 'on'}, "
        f"kizuna serve --workers {args.workers} x {args.servers} server(s), "
        f"GIL switch interval {args.switch_interval_ms or 5:g} ms, "
        "baseline = SQLAlchemy Core executemany"
    )
    if facts.get("postgresql_settings"):
        print(
            "PostgreSQL settings: "
            + ", ".join(f"{k}={v}" for k, v in facts["postgresql_settings"].items())
        )
    print("=" * 112)
    head = (
        f"{'backend':<11}{'phase':<11}{'events/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'srv CPU':>9}{'oth CPU':>9}{'peak RSS MB':>13}{'baseline r/s':>14}"
        f"{'ratio':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        base = ((r.get("baseline") or {}).get("sqlalchemy core executemany") or {}).get(
            "rows_per_s"
        )
        for key in ("peak", "half_peak"):
            p = r.get(key)
            if not p or p.get("failed"):
                continue
            lat = p["latency_ms"]
            ratio = p["events_per_s"] / base if base and key == "peak" else None
            print(
                f"{r['backend']:<11}{p['phase']:<11}{p['events_per_s']:>10,.0f}"
                f"{_fmt(lat['p50']):>9}{_fmt(lat['p95']):>9}{_fmt(lat['p99']):>9}"
                f"{sum(p['errors'].values()):>8}{_fmt(p.get('server_cpu_pct'), '.0f') + '%':>9}"
                f"{_fmt(p.get('other_cpu_pct'), '.0f') + '%':>9}"
                f"{_fmt(r.get('peak_rss_mb') if key == 'peak' else None):>13}"
                f"{_fmt(base if key == 'peak' else None, ',.0f'):>14}{_fmt(ratio, '.2f'):>8}"
            )
        if r.get("failed"):
            print(f"{r['backend']:<11}FAILED: {r['failed'].splitlines()[0]}")
    print("-" * len(head))
    for r in results:
        if "acked_events" in r:
            flag = "OK" if r["verified"] else "MISMATCH"
            print(
                f"{r['backend']}: {r['stored_events']} rows stored / {r['acked_events']} acked "
                f"-> {flag}; group commit {r.get('peak', {}).get('group_commit')}"
            )
        for name, b in (r.get("baseline") or {}).items():
            if isinstance(b, dict) and "rows_per_s" in b:
                peak = (r.get("peak") or {}).get("events_per_s")
                ratio = f"  ratio e2e/baseline {peak / b['rows_per_s']:.2f}" if peak else ""
                print(f"  baseline {name:<32}{b['rows_per_s']:>10,.0f} rows/s{ratio}")
    half = [r.get("half_peak") for r in results if r.get("half_peak")]
    for h in half:
        if h and not h.get("failed") and h["latency_ms"]["p99"] is not None:
            ok = "met" if h["latency_ms"]["p99"] < 50 else "NOT met"
            print(f"half-peak p99 {h['latency_ms']['p99']} ms: target p99 < 50 ms {ok}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pg-url", default=os.environ.get("KIZUNA_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=60.0,
        help="time budget of each baseline variant; the rate is over the rows done",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the direct-insert baseline"
    )
    parser.add_argument(
        "--no-consumers", action="store_true", help="serve with KIZUNA_PIPELINE__IN_PROCESS=false"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="kizuna serve --workers N (default: this machine's cores)",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="what-if: N server processes on one database, clients spread across them "
        "(only the first runs in-process consumers)",
    )
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=None,
        help="what-if: run the server with sys.setswitchinterval(ms / 1000)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record the server during the peak phase"
    )
    parser.add_argument(
        "--profile-format", choices=("speedscope", "raw", "flamegraph"), default="speedscope"
    )
    args = parser.parse_args()
    args.seconds = max(1.0, min(args.seconds, 600.0))
    args.clients = max(1, args.clients)
    args.batch = max(1, min(args.batch, 1000))
    args.servers = max(1, min(args.servers, 8))

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    facts = machine_facts(args.pg_url if "postgresql" in backends else None)
    if "postgresql" in backends and not facts.get("postgresql"):
        print(f"PostgreSQL unreachable ({facts.get('postgresql_error')}); skipping it.")
        backends.remove("postgresql")
    print(
        f"machine: nproc {facts['nproc']}, {facts['cpu']}, Python {facts['python']}, "
        f"SQLite {facts['sqlite']}, PostgreSQL {facts.get('postgresql') or 'n/a'}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as tmp:
        for backend in backends:
            try:
                results.append(run_backend(backend, args, Path(tmp), stamp))
            except Exception as exc:
                print(f"[{backend}] failed: {type(exc).__name__}: {exc}")
                results.append({"backend": backend, "failed": f"{type(exc).__name__}: {exc}"})
    print_report(facts, args, results)
    path = RESULTS / f"ingest-{stamp}.json"
    path.write_text(
        json.dumps(
            {"timestamp": stamp, "machine": facts, "config": vars(args), "results": results},
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
