"""Segments benchmark: event-to-membership latency, the ingestion cost of 50 segments, and a full
recompute over 1,000,000 profiles, each beside a baseline measured in the same run.

Usage::

    .venv/bin/python bench/segments.py [--database sqlite|postgresql] [--part all]
        [--seconds 60] [--rate 2000] [--customers 20000] [--cost-events 60000]
        [--recompute-profiles 1000000] [--profile]

Parts (``--part latency|cost|recompute|all``):

1. *latency*: a fresh database, ``kizuna serve --workers 2`` (a log writer, two server
   processes and a consumer process, as bench/ingest.py runs it). ``--customers`` known
   customers are sent over ``/v1/batch`` (identify with email, tier, prefecture, phone for 7 in
   10, marketing consent for 2 in 5; 0–5 orders over 60 days from the store or the web; a few
   product views; some carts). Then 6 computed traits and 50 segments are created through
   ``POST /api/v1/computed-traits`` and ``POST /api/v1/segments`` (windows and counts,
   property filters, sequences with then / then_not, computed-trait thresholds, traits,
   identifiers, consent, and / or / not, segments of segments) and the bench waits until
   ``GET /api/v1/segments`` shows every one ``ready``. A paced sender (a separate process) then
   posts ``--batch`` events every ``batch / rate`` seconds for ``--seconds``: orders, views,
   carts and identifies of existing customers, which keep crossing the count and value
   thresholds. Meanwhile the bench polls ``segment_changes`` every ``--poll-ms`` and records
   when each new row is first seen; the latency of a change caused by an event is that moment
   minus the event's ``cause_received_at`` (the server's receive time on the row). Printed:
   p50/p95/p99/max, the achieved send rate, and each consumer's lag when sending stopped and
   how long it took to drain.
2. *cost*: the same population and load mix sent as fast as ``--cost-clients`` closed-loop
   clients can (``--cost-events`` events), once with no definitions and once with the 6 + 50;
   the rate is events / time until every consumer has handled every event (end to end).
3. *recompute*: ``--recompute-profiles`` profiles written straight into the database (one
   email node each, 0–6 store orders over 90 days as ``segment_occurrences`` of two features,
   a ``lifetime_value`` computed value), then ``recompute_segment`` timed in phases for
   (a) the initial computation of "store orders >= 2 in 30 days" (members written as
   ``initial`` history, no events), (b) a recompute after editing the window to 60 days
   (changes written and emitted as ``segment.entered``), (c) the initial computation of an
   ``and`` of that, ``lifetime_value >= 20000`` and an email identifier. Baseline: the raw
   ``GROUP BY ... HAVING count(*) >= 2`` query over the same rows and a raw bulk insert of as
   many member rows (5,000 a transaction, as the recompute writes them).

Only 127.0.0.1 is contacted. Nothing asserts; every wait is bounded. Results are printed and
written to ``bench/results/segments-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import ingest as base  # noqa: E402
import segments_population as pop  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_PG_URL = base.DEFAULT_PG_URL
SOURCES = {"web": "web", "store": "store", "app": "app", "crm": "server"}


def say(message: str) -> None:
    print(message, flush=True)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while a part runs (the VM is shared)."""

    def __init__(self, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(loadavg()[0])
            self._halt.wait(self.every)

    def stop(self) -> dict[str, float | None]:
        self._halt.set()
        self.join(5)
        s = self.samples or [loadavg()[0]]
        return {"min": min(s), "mean": round(sum(s) / len(s), 2), "max": max(s)}


# --- the database, read directly ---------------------------------------------------------------


class Probe:
    """Raw driver reads of the log, the offsets and ``segment_changes`` (one per thread)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout=30000")
        else:
            import psycopg

            libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(libpq, autocommit=True)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return list(self.conn.execute(sql, params).fetchall())

    def epoch(self, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return float(value.replace(tzinfo=UTC).timestamp())

    def heads(self) -> dict[int, int]:
        sql = 'SELECT "partition", max(seq) FROM events GROUP BY "partition"'
        return {int(p): int(s) for p, s in self.rows(sql)}

    def positions(self) -> dict[str, dict[int, int]]:
        found: dict[str, dict[int, int]] = defaultdict(dict)
        for consumer, p, position in self.rows(
            'SELECT consumer, "partition", position FROM consumer_offsets'
        ):
            found[str(consumer)][int(p)] = int(position)
        return dict(found)

    def behind(self) -> bool:
        """Whether some consumer has not handled every event yet."""
        heads = self.heads()
        return any(
            position < heads.get(p, 0)
            for parts in self.positions().values()
            for p, position in parts.items()
        )

    def lags(self) -> dict[str, int]:
        """Events each consumer has still to handle."""
        heads = self.heads()
        out: dict[str, int] = {}
        for consumer, parts in sorted(self.positions().items()):
            lag = 0
            for p, position in parts.items():
                if position < heads.get(p, 0):
                    sql = 'SELECT count(*) FROM events WHERE "partition" = ? AND seq > ?'
                    lag += int(self.rows(sql, (p, position))[0][0])
            out[consumer] = lag
        return out

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def close(self) -> None:
        self.conn.close()


def wait_caught_up(url: str, timeout: float, label: str) -> float | None:
    """Seconds until every consumer has handled every event, or None on timeout."""
    probe = Probe(url)
    started = time.monotonic()
    last_report = started
    try:
        while time.monotonic() - started < timeout:
            if not probe.behind():
                return round(time.monotonic() - started, 2)
            if time.monotonic() - last_report > 15:
                say(f"    {label}: waiting for consumers, lag {probe.lags()}")
                last_report = time.monotonic()
            time.sleep(0.1)
        return None
    finally:
        probe.close()


class ChangeWatcher(threading.Thread):
    """Polls ``segment_changes`` and records when each row is first seen."""

    SLACK = 2_000  # re-read a few ids back: a row committed late with a lower id is still seen

    def __init__(self, url: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        self.seen: dict[int, tuple[float, str, float | None, float | None, int | None]] = {}
        self.polls = 0
        self.poll_seconds = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        probe = Probe(self.url)
        last = 0
        sql = (
            "SELECT id, cause, cause_received_at, at, cause_seq FROM segment_changes "
            "WHERE id > ? ORDER BY id"
        )
        try:
            while not self._halt.is_set():
                t0 = time.perf_counter()
                rows = probe.rows(sql, (max(0, last - self.SLACK),))
                now = time.time()
                for row_id, cause, received, at, cause_seq in rows:
                    if row_id not in self.seen:
                        self.seen[row_id] = (
                            now, str(cause), probe.epoch(received), probe.epoch(at), cause_seq
                        )  # fmt: skip
                    last = max(last, int(row_id))
                self.polls += 1
                self.poll_seconds += time.perf_counter() - t0
                self._halt.wait(max(0.0, self.interval - (time.perf_counter() - t0)))
        finally:
            probe.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


# --- a server and its definitions ----------------------------------------------------------


def prepare(url: str) -> dict[str, Any]:
    """Migrate, create the four sources and an admin API key; returns their secrets."""
    from kizuna.auth.service import create_api_key
    from kizuna.db import Database
    from kizuna.migrations import upgrade
    from kizuna.sources.service import create_source

    db = Database(url)
    try:
        upgrade(db.engine)
        with db.write() as session:
            keys = {
                name: create_source(session, name=f"bench-{name}", kind=kind).write_key
                for name, kind in SOURCES.items()
            }
            api = create_api_key(session, name="bench", role="admin").secret
            session.commit()
        return {"write_keys": keys, "api_key": api}
    finally:
        db.dispose()


@contextlib.contextmanager
def serving(url: str, workdir: Path, workers: int, label: str) -> Iterator[dict[str, Any]]:
    port = base.free_port()
    log_path = workdir / f"server-{label}-{secrets.token_hex(2)}.log"
    proc = base.start_server(url, port, log_path, consumers=True, workers=workers)
    try:
        if not base.wait_ready(proc, port):
            raise RuntimeError(
                "server did not become ready:\n" + log_path.read_text(errors="replace")[-2000:]
            )
        time.sleep(1.0)  # the pool's worker process starts after the servers answer
        pids = base.process_tree(proc.pid)
        yield {"port": port, "pids": pids, "log": log_path, "proc": proc}
    finally:
        base.stop_server(proc)


def consumer_pids(pids: list[int]) -> list[int]:
    """The processes running the consumers: the pool's ``kizuna worker`` processes (one of
    them for the segments consumer alone), or the server itself."""
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                found.append(pid)
    return found or pids[:1]


def cpu_of(pids: list[int], since: dict[int, float]) -> float:
    return sum(base.cpu_seconds(p) - since.get(p, 0.0) for p in pids)


def api_client(port: int, key: str) -> Any:
    import httpx

    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        headers={"Authorization": f"Bearer {key}"},
        timeout=120.0,
    )


def send_messages(port: int, write_key: str, messages: list[dict[str, Any]], batch: int) -> int:
    import httpx

    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    url = f"http://127.0.0.1:{port}/v1/batch"
    sent = 0
    with httpx.Client(timeout=60.0, headers={"Authorization": auth}) as client:
        for start in range(0, len(messages), batch):
            part = messages[start : start + batch]
            for m in part:
                m["messageId"] = f"warm-{secrets.token_hex(12)}"
            response = client.post(url, json={"batch": part})
            if response.status_code != 200:
                raise RuntimeError(f"warm-up batch refused: {response.status_code} {response.text}")
            sent += len(part)
    return sent


def warm(server: dict[str, Any], setup: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Send the population over HTTP, one thread per source."""
    from concurrent.futures import ThreadPoolExecutor

    messages = pop.population(args.customers, seed=11, now=datetime.now(UTC))
    started = time.perf_counter()
    with ThreadPoolExecutor(len(messages)) as pool:
        futures = [
            pool.submit(send_messages, server["port"], setup["write_keys"][name], items, 200)
            for name, items in messages.items()
        ]
        sent = sum(f.result() for f in futures)
    return {"events": sent, "send_s": round(time.perf_counter() - started, 1)}


def define(server: dict[str, Any], setup: dict[str, Any], segments: int) -> dict[str, str]:
    """The 6 computed traits and the first ``segments`` segments, through the API."""
    created: dict[str, str] = {}
    if segments <= 0:
        return created
    with api_client(server["port"], setup["api_key"]) as client:
        for trait in pop.COMPUTED_TRAITS:
            r = client.post("/computed-traits", json=trait)
            if r.status_code != 201:
                raise RuntimeError(f"POST /computed-traits: {r.status_code} {r.text}")
        for label, body in itertools.islice(pop.segment_documents(created), segments):
            r = client.post("/segments", json=body)
            if r.status_code != 201:
                raise RuntimeError(f"POST /segments {label!r}: {r.status_code} {r.text}")
            created[label] = r.json()["id"]
    return created


def wait_ready(server: dict[str, Any], setup: dict[str, Any], timeout: float) -> float | None:
    """Seconds until every computed trait and segment shows ``status: ready`` (or ``failed``,
    which is reported)."""
    started = time.monotonic()
    last_report = started
    with api_client(server["port"], setup["api_key"]) as client:
        while time.monotonic() - started < timeout:
            items = client.get("/computed-traits").json()["items"]
            items += client.get("/segments").json()["items"]
            waiting = [i for i in items if i["status"] not in ("ready", "failed")]
            if not waiting:
                failed = [i.get("name") for i in items if i["status"] == "failed"]
                if failed:
                    say(f"    FAILED definitions: {failed}")
                return round(time.monotonic() - started, 1)
            if time.monotonic() - last_report > 15:
                now = waiting[0]
                say(
                    f"    {len(items) - len(waiting)}/{len(items)} definitions ready; "
                    f"{now.get('name')}: {now['progress']['done']}/{now['progress']['total']}"
                )
                last_report = time.monotonic()
            time.sleep(0.5)
    return None


# --- load generator (its own process) --------------------------------------------------------


def _bodies(cfg: dict[str, Any]) -> list[tuple[str, bytes]]:
    import orjson

    rng = random.Random(cfg["seed"])
    tag = secrets.token_hex(4)
    bodies = []
    for i in range(cfg["batches"]):
        source, events = pop.load_batch(rng, cfg["customers"], cfg["batch"])
        for j, event in enumerate(events):
            event["messageId"] = f"{tag}-{i:08d}-{j:04d}"
        bodies.append((source, orjson.dumps({"batch": events})))
    return bodies


async def _drive(cfg: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    bodies = _bodies(cfg)
    url = f"http://127.0.0.1:{cfg['port']}/v1/batch"
    headers = {
        name: {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json",
        }
        for name, key in cfg["write_keys"].items()
    }
    clients = cfg["clients"]
    errors: Counter[str] = Counter()
    acks: list[float] = []  # ms from the scheduled (paced) or actual (closed) send to the ack
    done = {"events": 0, "late": 0, "last_ack": 0.0}
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=60.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post(i: int, since: float) -> None:
            source, body = bodies[i]
            try:
                async with session.post(url, data=body, headers=headers[source]) as resp:
                    await resp.read()
                    status = resp.status
            except Exception as exc:  # counted, never raised
                errors[type(exc).__name__] += 1
                return
            if status != 200:
                errors[f"http_{status}"] += 1
                return
            now = time.time()
            acks.append((now - since) * 1000)
            done["events"] += cfg["batch"]
            done["last_ack"] = max(done["last_ack"], now)

        started = time.time()
        if cfg["mode"] == "paced":
            interval = cfg["batch"] / cfg["rate"]

            async def lane(c: int) -> None:
                for i in range(c, len(bodies), clients):
                    scheduled = started + i * interval
                    delay = scheduled - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.005:
                        done["late"] += 1
                    await post(i, scheduled)

        else:
            counter = itertools.count()

            async def lane(c: int) -> None:
                while (i := next(counter)) < len(bodies):
                    await post(i, time.time())

        await asyncio.gather(*(lane(c) for c in range(clients)))
    window = max(done["last_ack"], started) - started
    return {
        "mode": cfg["mode"],
        "started": started,
        "last_ack": done["last_ack"],
        "events_acked": done["events"],
        "events_planned": len(bodies) * cfg["batch"],
        "window_s": round(window, 2),
        "events_per_s": round(done["events"] / window, 1) if window > 0 else 0.0,
        "target_events_per_s": cfg.get("rate"),
        "late_sends": done["late"],
        "errors": dict(errors),
        "ack_ms": base._percentiles(acks),
    }


def _loadgen_main(cfg: dict[str, Any], conn: Any) -> None:
    try:
        with contextlib.suppress(ImportError):
            import uvloop

            uvloop.install()
        conn.send(asyncio.run(_drive(cfg)))
    except BaseException as exc:  # report, never hang the parent
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def start_loadgen(cfg: dict[str, Any]) -> tuple[Any, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_loadgen_main, args=(cfg, child), name="segments-loadgen")
    proc.start()
    child.close()
    return proc, parent


def finish_loadgen(proc: Any, parent: Any, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {"failed": "load generator timed out"}
    if parent.poll(timeout):
        with contextlib.suppress(EOFError):
            result = parent.recv()
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
    return result


def start_profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        say("  py-spy not found; --profile ignored")
        return None
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100"]
    cmd += ["--format", "raw", "--output", str(out), "--threads", "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_profilers(
    pids: list[int], seconds: float, out: Path
) -> list[subprocess.Popen[bytes]] | None:
    """One py-spy per consumer process, each writing ``out`` with its index appended."""
    spies = [start_profiler(pid, seconds, out.with_suffix(f".{i}")) for i, pid in enumerate(pids)]
    found = [s for s in spies if s is not None]
    return found or None


def merge_profiles(out: Path, count: int) -> None:
    with out.open("w") as merged:
        for i in range(count):
            part = out.with_suffix(f".{i}")
            with contextlib.suppress(OSError):
                merged.write(part.read_text())
                part.unlink()


def top_frames(path: Path, thread: str = "", limit: int = 30) -> dict[str, Any]:
    """Samples per thread and the inclusive share of each function (within ``thread`` when
    given) in a py-spy raw (collapsed) file."""
    threads: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    samples = 0
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            n = int(count)
            threads[frames[0].split(": ", 1)[-1]] += n
            if thread and thread not in frames[0]:
                continue
            samples += n
            names = set()
            for frame in frames[1:]:
                name, _, where = frame.partition(" (")
                file = where.rsplit("/", 1)[-1].split(":")[0]
                if file != "threading.py":
                    names.add(f"{name} [{file}]")
            for name in names:
                totals[name] += n
    return {
        "threads": dict(threads.most_common()),
        "samples": samples,
        "functions_pct": [
            (f, round(100 * n / samples, 1)) for f, n in totals.most_common(limit) if samples
        ],
    }


# --- part 1: latency -------------------------------------------------------------------------


def part_latency(
    backend: str, args: argparse.Namespace, workdir: Path, stamp: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend}
    sampler = LoadSampler()
    sampler.start()
    with base.fresh_database(backend, workdir, args.pg_url, "latency") as url:
        setup = prepare(url)
        with serving(url, workdir, args.workers, "latency") as server:
            say(f"  warming {args.customers:,} customers over HTTP")
            out["warm"] = warm(server, setup, args)
            out["warm"]["consumers_s"] = wait_caught_up(url, args.wait_timeout, "warm-up")
            say(f"  warm-up: {out['warm']}")
            t = time.monotonic()
            created = define(server, setup, args.segments)
            out["segments"] = len(created)
            out["ready_s"] = wait_ready(server, setup, args.wait_timeout)
            out["define_and_compute_s"] = round(time.monotonic() - t, 1)
            wait_caught_up(url, args.wait_timeout, "after definitions")
            say(f"  {len(created)} segments + 6 computed traits ready in {out['ready_s']} s")
            batches = max(1, int(args.seconds * args.rate / args.batch))
            watcher = ChangeWatcher(url, args.poll_ms / 1000)
            watcher.start()
            cfg = {
                "mode": "paced", "port": server["port"], "write_keys": setup["write_keys"],
                "customers": args.customers, "batch": args.batch, "rate": args.rate,
                "batches": batches, "clients": args.clients, "seed": 5,
            }  # fmt: skip
            workers = consumer_pids(server["pids"])
            cpu0 = {pid: base.cpu_seconds(pid) for pid in server["pids"]}
            busy0 = base.busy_cpu_seconds()
            profiler = None
            if args.profile:
                prof = RESULTS / f"segments-profile-latency-{backend}-{stamp}.txt"
                out["profile"] = str(prof)
                profiler = start_profilers(workers, args.seconds, prof)
            say(f"  sending {args.rate:g} events/s for {args.seconds:g} s")
            proc, pipe = start_loadgen(cfg)
            load = finish_loadgen(proc, pipe, args.seconds + 120)
            end_of_send = time.time()
            probe = Probe(url)
            out["lag_at_end"] = probe.lags()
            probe.close()
            wall = max(1e-9, end_of_send - load.get("started", end_of_send - args.seconds))
            out["server_cpu_pct"] = {
                "consumers": round(100 * cpu_of(workers, cpu0) / wall),
                "all": round(100 * sum(base.cpu_seconds(p) - c for p, c in cpu0.items()) / wall),
                "machine": round(100 * (base.busy_cpu_seconds() - busy0) / wall),
            }
            out["drain_s"] = wait_caught_up(url, args.wait_timeout, "after the load")
            time.sleep(3 * args.poll_ms / 1000 + 0.2)
            watcher.stop()
            if profiler is not None:
                for spy in profiler:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        spy.wait(30)
                merge_profiles(Path(out["profile"]), len(profiler))
                out["profile_top"] = top_frames(Path(out["profile"]), "segments")
            out["load"] = load
    out["latency"] = latency_figures(watcher, load, args)
    out["loadavg"] = sampler.stop()
    return out


def latency_figures(
    watcher: ChangeWatcher, load: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    since = load.get("started", 0.0) - 1.0
    visible, written = [], []
    causes: Counter[str] = Counter()
    cause_seqs = set()
    for seen_at, cause, received, at, cause_seq in watcher.seen.values():
        causes[cause] += 1
        if cause != "event" or received is None or received < since:
            continue
        visible.append((seen_at - received) * 1000)
        if at is not None:
            written.append((at - received) * 1000)
        cause_seqs.add(cause_seq)
    return {
        "changes_by_cause": dict(causes),
        "event_changes": len(visible),
        "events_causing_a_change": len(cause_seqs),
        "share_of_events_flipping": round(len(cause_seqs) / load["events_acked"], 3)
        if load.get("events_acked")
        else None,
        "visible_ms": {**base._percentiles(visible), "count": len(visible)},
        "written_ms": {**base._percentiles(written), "count": len(written)},
        "polls": watcher.polls,
        "mean_poll_ms": round(1000 * watcher.poll_seconds / max(1, watcher.polls), 2),
    }


# --- part 2: ingestion cost ------------------------------------------------------------------


def cost_run(
    backend: str, segments: int, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {"segments": segments}
    with base.fresh_database(backend, workdir, args.pg_url, f"cost{segments}") as url:
        setup = prepare(url)
        with serving(url, workdir, args.workers, f"cost{segments}") as server:
            out["warm"] = warm(server, setup, args)
            wait_caught_up(url, args.wait_timeout, "warm-up")
            created = define(server, setup, segments)
            out["definitions"] = len(created) + (6 if created else 0)
            out["ready_s"] = wait_ready(server, setup, args.wait_timeout)
            wait_caught_up(url, args.wait_timeout, "after definitions")
            cfg = {
                "mode": "closed", "port": server["port"], "write_keys": setup["write_keys"],
                "customers": args.customers, "batch": args.batch,
                "batches": max(1, args.cost_events // args.batch),
                "clients": args.cost_clients, "seed": 9,
            }  # fmt: skip
            say(f"  [{segments} segments] sending {cfg['batches'] * args.batch:,} events flat out")
            cpu0 = {pid: base.cpu_seconds(pid) for pid in server["pids"]}
            workers = consumer_pids(server["pids"])
            proc, pipe = start_loadgen(cfg)
            load = finish_loadgen(proc, pipe, args.wait_timeout + 600)
            probe = Probe(url)
            lag_at_last_ack = probe.lags()
            probe.close()
            drained = wait_caught_up(url, args.wait_timeout * 4, "cost drain")
            caught_up = time.time()
            if load.get("failed") or drained is None:
                out["failed"] = load.get("failed") or "consumers did not catch up"
                return out
            e2e_s = caught_up - load["started"]
            out.update(
                {
                    "events": load["events_acked"],
                    "ack_events_per_s": load["events_per_s"],
                    "e2e_s": round(e2e_s, 2),
                    "e2e_events_per_s": round(load["events_acked"] / e2e_s, 1),
                    "lag_at_last_ack": lag_at_last_ack,
                    "consumer_cpu_s": round(cpu_of(workers, cpu0), 1),
                    "server_cpu_s": round(sum(base.cpu_seconds(p) - c for p, c in cpu0.items()), 1),
                    "errors": load["errors"],
                }
            )
    say(
        f"  [{segments} segments] ack {out['ack_events_per_s']:,.0f} events/s, end to end "
        f"{out['e2e_events_per_s']:,.0f} events/s ({out['events']:,} events in {out['e2e_s']} s)"
    )
    return out


def part_cost(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    sampler = LoadSampler()
    sampler.start()
    runs = [cost_run(backend, n, args, workdir) for n in (0, args.segments)]
    out: dict[str, Any] = {"backend": backend, "runs": runs}
    rates = [r.get("e2e_events_per_s") for r in runs]
    if all(rates):
        out["ratio"] = round(rates[1] / rates[0], 3)  # type: ignore[operator]
    out["loadavg"] = sampler.stop()
    return out


# --- part 3: recompute over a million profiles ----------------------------------------------


@contextlib.contextmanager
def phases(engine: Any) -> Iterator[dict[str, float]]:
    """Time ``recompute_segment``'s steps by wrapping the functions it calls (bench only)."""
    import kizuna.segments.compiler as compiler
    import kizuna.segments.recompute as recompute

    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - t

        return inner

    names = {
        "_backfill": "backfill",
        "members": "evaluate (SQL compiler)",
        "segment_timers": "timers query",
        "_progress": "progress updates",
        "set_timers": "write timers",
        "_finish": "mark ready",
    }
    saved = {n: getattr(recompute, n) for n in names}
    live, ids = compiler.Universe.live, compiler.Universe.ids
    write = engine.write_changes
    try:
        for n, label in names.items():
            setattr(recompute, n, timed(label, saved[n]))
        compiler.Universe.live = property(timed("  live profiles", live.fget))  # type: ignore[method-assign]
        compiler.Universe.ids = timed("  leaf queries", ids)  # type: ignore[method-assign]
        engine.write_changes = timed("write changes", write)
        yield spent
    finally:
        for n in names:
            setattr(recompute, n, saved[n])
        compiler.Universe.live = live  # type: ignore[method-assign]
        compiler.Universe.ids = ids  # type: ignore[method-assign]
        engine.write_changes = write


def timed_recompute(db: Any, engine: Any, segment_id: str, label: str) -> dict[str, Any]:
    from sqlalchemy import text

    from kizuna.segments.recompute import recompute_segment

    with db.read() as session:
        before_events = int(session.execute(text("SELECT count(*) FROM events")).scalar() or 0)
    with phases(engine) as spent:
        t = time.perf_counter()
        recompute_segment(db, engine, segment_id)
        total = time.perf_counter() - t
    with db.read() as session:
        members = int(
            session.execute(
                text("SELECT members FROM segments WHERE id = :id"), {"id": segment_id}
            ).scalar()
            or 0
        )
        after_events = int(session.execute(text("SELECT count(*) FROM events")).scalar() or 0)
        changes = int(
            session.execute(
                text("SELECT count(*) FROM segment_changes WHERE segment_id = :id"),
                {"id": segment_id},
            ).scalar()
            or 0
        )
    live = spent.pop("  live profiles", 0.0)
    leaves = spent.pop("  leaf queries", 0.0)
    top = dict(spent)
    out = {
        "label": label,
        "total_s": round(total, 2),
        "members": members,
        "history_rows": changes,
        "events_emitted": after_events - before_events,
        "phases_s": {k: round(v, 2) for k, v in top.items()},
        "evaluate_detail_s": {
            "load live profile ids": round(live, 2),
            "leaf queries and fetch (less the live load)": round(max(0.0, leaves - live), 2),
        },
        "other_s": round(total - sum(top.values()), 2),
    }
    say(
        f"    {label}: {out['total_s']} s, {members:,} members, {out['events_emitted']:,} events "
        f"emitted; phases {out['phases_s']} other {out['other_s']}; "
        f"evaluate: {out['evaluate_detail_s']}"
    )
    return out


def recompute_baseline(url: str, feature: str, since_ms: int, rows: int) -> dict[str, Any]:
    """The raw query and a raw bulk insert of ``rows`` member rows (and history rows)."""
    w = pop.BulkWriter(url)
    out: dict[str, Any] = {}
    try:
        sql = (
            "SELECT profile_id FROM segment_occurrences WHERE feature = ? AND at_ms >= ? "
            "GROUP BY profile_id HAVING count(*) >= 2"
        )
        if not w.sqlite:
            sql = sql.replace("?", "%s")
        t = time.perf_counter()
        found = {r[0] for r in w.conn.execute(sql, (feature, since_ms)).fetchall()}
        out["query_s"] = round(time.perf_counter() - t, 2)
        out["query_rows"] = len(found)
        if not w.sqlite:
            w.conn.commit()
        ids = sorted(found)[:rows] if rows <= len(found) else sorted(found)
        stamp = w.time(datetime.now(UTC))
        t = time.perf_counter()
        for start in range(0, len(ids), 5_000):
            part = ids[start : start + 5_000]
            w.insert(
                "segment_members",
                ("segment_id", "profile_id", "since"),
                [("seg_baseline", p, stamp) for p in part],
            )
        out["insert_members_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        for start in range(0, len(ids), 5_000):
            part = ids[start : start + 5_000]
            w.insert(
                "segment_members",
                ("segment_id", "profile_id", "since"),
                [("seg_baseline2", p, stamp) for p in part],
            )
            w.insert(
                "segment_changes",
                ("segment_id", "profile_id", "entered", "at", "cause"),
                [("seg_baseline2", p, True, stamp, "initial") for p in part],
            )
        out["insert_members_and_history_s"] = round(time.perf_counter() - t, 2)
        out["inserted_rows"] = len(ids)
    finally:
        w.close()
    return out


def part_recompute(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import update

    from kizuna.db import Database
    from kizuna.identity.config import IdentityRules
    from kizuna.migrations import upgrade
    from kizuna.models import ComputedTraitRow
    from kizuna.pipeline.log import SqlEventLog
    from kizuna.privacy.consent_config import ConsentCatalogue
    from kizuna.segments import service
    from kizuna.segments.definitions import (
        ComputedTraitDefinition,
        EventFilter,
        SegmentDefinition,
    )
    from kizuna.segments.engine import SegmentsEngine
    from kizuna.segments.features import Feature

    out: dict[str, Any] = {"backend": backend, "profiles": args.recompute_profiles}
    sampler = LoadSampler()
    sampler.start()
    with base.fresh_database(backend, workdir, args.pg_url, "recompute") as url:
        db = Database(url)
        try:
            upgrade(db.engine)
            store = EventFilter(event="Order Completed", channel="store")
            features = {
                "store_orders": Feature.of(store).key,
                "orders_total": Feature.of(store, "total").key,
            }
            now_ms = int(time.time() * 1000)
            say(f"  writing {args.recompute_profiles:,} profiles straight into the database")
            t = time.perf_counter()
            out["rows"] = pop.build_million(
                url, args.recompute_profiles, features, now_ms, seed=3, report=say
            )
            out["build_s"] = round(time.perf_counter() - t, 1)
            say(f"  built in {out['build_s']} s: {out['rows']}")
            engine = SegmentsEngine(IdentityRules(), ConsentCatalogue(), SqlEventLog(4))

            def store_regulars(days: int) -> SegmentDefinition:
                return SegmentDefinition.model_validate(
                    {
                        "name": "Store regulars",
                        "condition": {
                            "kind": "performed",
                            "filter": {"event": "Order Completed", "channel": "store"},
                            "count": {"op": "gte", "value": 2},
                            "within": {"days": days},
                        },
                    }
                )

            with db.write() as session:
                ltv = ComputedTraitDefinition(
                    key="lifetime_value", name="Lifetime value", aggregation="sum",
                    property="total", filter=store,
                )  # fmt: skip
                service.create_computed_trait(session, ltv)
                session.execute(update(ComputedTraitRow).values(status="ready", computed_version=1))
                simple = service.create_segment(session, store_regulars(30)).id
                session.commit()
            runs = [timed_recompute(db, engine, simple, "initial, store orders >= 2 in 30 days")]
            with db.write() as session:
                service.update_segment(session, simple, store_regulars(60))
                session.commit()
            runs.append(timed_recompute(db, engine, simple, "recompute after edit to 60 days"))
            if not args.no_mixed:
                mixed = SegmentDefinition.model_validate(
                    {
                        "name": "Valuable store regulars with an email",
                        "condition": {"kind": "and", "conditions": [
                            store_regulars(30).condition.model_dump(mode="json"),
                            {"kind": "computed_trait", "key": "lifetime_value",
                             "op": "gte", "value": 20000},
                            {"kind": "identifier", "type": "email"},
                        ]},
                    }
                )  # fmt: skip
                with db.write() as session:
                    mixed_id = service.create_segment(session, mixed).id
                    session.commit()
                runs.append(timed_recompute(db, engine, mixed_id, "initial, and(...) of three"))
            out["runs"] = runs
            say("  baseline: raw query and raw bulk insert")
            out["baseline"] = recompute_baseline(
                url, features["store_orders"], now_ms - 30 * pop.DAY_MS, runs[0]["members"]
            )
            say(f"    {out['baseline']}")
        finally:
            db.dispose()
    out["loadavg"] = sampler.stop()
    return out


# --- report ----------------------------------------------------------------------------------


def _f(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def print_report(facts: dict[str, Any], args: argparse.Namespace, results: dict[str, Any]) -> None:
    say("\n" + "=" * 100)
    say(
        f"Kizuna segments — {facts['nproc']} CPU ({facts['cpu']}), {facts.get('mem_gb')} GB, "
        f"Python {facts['python']}, SQLite {facts['sqlite']}, PostgreSQL "
        f"{facts.get('postgresql') or 'n/a'}; kizuna serve --workers {args.workers}"
    )
    say(f"loadavg at start {facts['loadavg_at_start']}, at end {loadavg()}")
    say("=" * 100)
    lat = results.get("latency")
    if lat:
        say(
            f"\n1. Event -> membership change latency, {args.segments} segments + 6 computed "
            f"traits, {args.customers:,} customers, paced {args.rate:g} events/s "
            f"({args.batch}/request) for {args.seconds:g} s, poll every {args.poll_ms:g} ms"
        )
        if lat.get("failed"):
            say(f"   FAILED: {lat['failed']}")
        else:
            load, fig = lat["load"], lat["latency"]
            v, w = fig["visible_ms"], fig["written_ms"]
            head = f"{'':<34}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>9}{'count':>9}"
            say(head)
            for name, p in (("visible (first poll that saw it)", v), ("written (row's at)", w)):
                say(
                    f"{name:<34}{_f(p['p50'], '.0f'):>8}{_f(p['p95'], '.0f'):>8}"
                    f"{_f(p['p99'], '.0f'):>8}{_f(p['max'], '.0f'):>9}{p['count']:>9}   ms"
                )
            say(
                f"sent {load['events_acked']:,}/{load['events_planned']:,} events, achieved "
                f"{load['events_per_s']:,.0f} events/s (target {args.rate:g}), late sends "
                f"{load['late_sends']}, errors {load['errors'] or 0}, ack p50/p99 "
                f"{load['ack_ms']['p50']}/{load['ack_ms']['p99']} ms"
            )
            say(
                f"events that changed a membership: {fig['events_causing_a_change']:,} "
                f"({_f(fig['share_of_events_flipping'], '.0%')}); changes by cause "
                f"{fig['changes_by_cause']}"
            )
            say(
                f"consumer lag when sending stopped: {lat['lag_at_end']}; all caught up "
                f"{lat['drain_s']} s later; CPU during the load {lat['server_cpu_pct']}"
            )
            say(
                f"setup: warm-up {lat['warm']}, definitions computed in {lat['ready_s']} s; "
                f"load average {lat['loadavg']}"
            )
            top = lat.get("profile_top")
            if top:
                say(f"py-spy samples per consumer thread: {top['threads']}")
                say("segments consumer thread, inclusive share of its samples:")
                for name, pct in top["functions_pct"]:
                    say(f"  {pct:>5}%  {name}")
            p95 = v["p95"]
            if p95 is not None:
                say(
                    f"target p95 < 1000 ms at {args.rate:g} events/s: "
                    + ("met" if p95 < 1000 else "NOT met")
                )
    cost = results.get("cost")
    if cost:
        say(
            f"\n2. Ingestion cost of {args.segments} segments: {args.cost_events:,} events flat "
            f"out from {args.cost_clients} clients, end to end = until every consumer has "
            "handled every event"
        )
        head = (
            f"{'definitions':<14}{'ack ev/s':>10}{'e2e ev/s':>10}{'e2e s':>8}"
            f"{'consumer CPU s':>16}  lag at last ack"
        )
        say(head)
        for r in cost["runs"]:
            if r.get("failed"):
                say(f"{r['segments']:<14}FAILED {r['failed']}")
                continue
            say(
                f"{r['definitions']:<14}{r['ack_events_per_s']:>10,.0f}{r['e2e_events_per_s']:>10,.0f}"
                f"{r['e2e_s']:>8}{r['consumer_cpu_s']:>16}  {r['lag_at_last_ack']}"
            )
        say(
            f"ratio ({args.segments} segments / none), end to end: {_f(cost.get('ratio'))}; "
            f"load average {cost['loadavg']}"
        )
    rec = results.get("recompute")
    if rec:
        say(
            f"\n3. Full recompute over {rec['profiles']:,} profiles (population built in "
            f"{rec.get('build_s')} s: {rec.get('rows')})"
        )
        for r in rec.get("runs", []):
            say(
                f"  {r['label']:<40} {r['total_s']:>7} s  members {r['members']:,}  "
                f"events {r['events_emitted']:,}"
            )
            for k, v in r["phases_s"].items():
                say(f"      {k:<52}{v:>8} s")
            for k, v in r["evaluate_detail_s"].items():
                say(f"        of which {k:<44}{v:>8} s")
            say(f"      {'other (current members, diff, sort)':<52}{r['other_s']:>8} s")
        b = rec.get("baseline")
        if b:
            say(
                f"  baseline: raw GROUP BY/HAVING query {b['query_s']} s "
                f"({b['query_rows']:,} rows); "
                f"raw insert of {b['inserted_rows']:,} member rows {b['insert_members_s']} s, "
                f"with as many history rows {b['insert_members_and_history_s']} s"
            )
        if rec.get("runs"):
            worst = max(r["total_s"] for r in rec["runs"])
            say(
                f"target < 60 s: {'met' if worst < 60 else 'NOT met'} (slowest {worst} s); "
                f"load average {rec['loadavg']}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("KIZUNA_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--part", choices=("latency", "cost", "recompute", "all"), default="all")
    parser.add_argument("--seconds", type=float, default=60.0, help="paced load duration")
    parser.add_argument("--rate", type=float, default=2000.0, help="paced events/s")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--clients", type=int, default=16, help="paced sender's connections")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--segments", type=int, default=50, help="segments defined (max 50)")
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument("--cost-events", type=int, default=60_000)
    parser.add_argument("--cost-clients", type=int, default=8)
    parser.add_argument("--recompute-profiles", type=int, default=1_000_000)
    parser.add_argument("--no-mixed", action="store_true", help="skip the and(...) recompute")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--wait-timeout", type=float, default=900.0)
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record the consumer process under load"
    )
    args = parser.parse_args()
    args.segments = max(0, min(args.segments, 50))
    facts = base.machine_facts(args.pg_url if args.database == "postgresql" else None)
    if args.database == "postgresql" and not facts.get("postgresql"):
        say(f"PostgreSQL unreachable ({facts.get('postgresql_error')})")
        return 1
    say(f"machine: nproc {facts['nproc']}, {facts['cpu']}, loadavg {facts['loadavg_at_start']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = ["latency", "cost", "recompute"] if args.part == "all" else [args.part]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-segments-") as tmp:
        for part in parts:
            say(f"\n[{args.database}] {part}")
            try:
                if part == "latency":
                    results[part] = part_latency(args.database, args, Path(tmp), stamp)
                elif part == "cost":
                    results[part] = part_cost(args.database, args, Path(tmp))
                else:
                    results[part] = part_recompute(args.database, args, Path(tmp))
            except Exception as exc:
                import traceback

                traceback.print_exc()
                results[part] = {"failed": f"{type(exc).__name__}: {exc}"}
    for part, result in results.items():
        if result.get("failed"):
            say(f"{part}: FAILED {result['failed']}")
    print_report(facts, args, {k: v for k, v in results.items() if not v.get("failed")})
    path = RESULTS / f"segments-{args.database}-{stamp}.json"
    path.write_text(
        json.dumps(
            {"timestamp": stamp, "machine": facts, "config": vars(args), "results": results},
            indent=2,
            default=str,
        )
    )
    say(f"\nwritten {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
