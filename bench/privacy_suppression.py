"""Ingestion throughput with an empty suppression list and with 100,000 suppressed identifiers.

Usage::

    .venv/bin/python bench/privacy_suppression.py [--suppressions 100000] [--rounds 7]
        [--batches 150] [--batch 100]

A direct measurement of the ingestion code path, in one process, without HTTP: the real
``Collector.collect`` (write key, JSON parsing, Segment validation, log entries, the suppression
check) handing its entries to the real group-commit writer on a SQLite file (dedup keys, log
append, tallies, fsync). Two databases are built the same way, one with an empty suppression
list and one with ``--suppressions`` digests (none of which the traffic carries, so both accept
the same events), and measured in alternating rounds so that drift hits both alike. Each round
sends ``--batches`` sequential ``/v1/batch`` bodies of ``--batch`` events: web tracks (an
anonymousId, half with a userId) and one identify in ten with an email and a phone in traits.

A second pass measures the collector alone (the writer answers at once): the CPU the check adds
to the part of ingestion it belongs to, the worst case.

Printed: events/s per round and the medians, and the overhead in percent. Nothing asserts.
``measure()`` returns the same figures for ``bench/privacy.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform as host
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from kizuna.config import IngestionSettings, Settings  # noqa: E402
from kizuna.identity.config import load_rules  # noqa: E402
from kizuna.identity.identifiers import Identifier  # noqa: E402
from kizuna.ingestion.rules import LogEntry  # noqa: E402
from kizuna.ingestion.writer import WriteResult  # noqa: E402
from kizuna.models import Suppression  # noqa: E402
from kizuna.privacy.keys import digest_secret, identifier_digest  # noqa: E402
from kizuna.privacy.suppression import SuppressionList  # noqa: E402
from kizuna.runtime import Platform  # noqa: E402
from kizuna.sources.service import create_source  # noqa: E402

FAST = IngestionSettings(rate_limit_per_second=1e9, rate_limit_burst=1e9)
CLIENTS = 8
TRAFFIC = ("visits", "fresh")


def _visitor(rng: random.Random) -> dict[str, str]:
    person = rng.randrange(1, 250_000)
    return {
        "anonymousId": f"{rng.getrandbits(64):016x}",
        "userId": f"user_{person}",
        "email": f"person{person}@example.jp",
        "phone": f"090-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
    }


def _event(rng: random.Random, n: int, who: dict[str, str]) -> dict[str, Any]:
    if n % 10 == 0:
        traits = {"email": who["email"], "phone": who["phone"], "firstName": "花子"}
        return {
            "type": "identify",
            "anonymousId": who["anonymousId"],
            "userId": who["userId"],
            "traits": traits,
        }
    event: dict[str, Any] = {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": who["anonymousId"],
        "properties": {"sku": f"SKU-{rng.randrange(10_000, 99_999)}", "price": 1200},
        "context": {"locale": "ja-JP", "ip": "203.0.113.7", "userAgent": "Mozilla/5.0"},
    }
    if rng.random() < 0.5:
        event["userId"] = who["userId"]
    return event


def bodies(count: int, batch: int, seed: int, traffic: str) -> list[bytes]:
    """``fresh``: every event from a new visitor (no value repeats: the worst case for the
    cache); ``visits``: 500 visitors at a time, each sending about 30 events."""
    rng = random.Random(seed)
    visitors = [_visitor(rng) for _ in range(500)]
    payloads = []
    for i in range(count):
        events = []
        for j in range(batch):
            if traffic == "fresh":
                who = _visitor(rng)
            else:
                slot = rng.randrange(len(visitors))
                if rng.random() < 1 / 30:  # a visit ends, another begins
                    visitors[slot] = _visitor(rng)
                who = visitors[slot]
            events.append(_event(rng, i * batch + j, who))
        payloads.append(orjson.dumps({"batch": events}))
    return payloads


def _suppress(platform: Platform, count: int) -> None:
    """``count`` digests of identifiers the traffic never carries."""
    _suppress_url(platform.settings.database_url, count)


class _Instant:
    """A writer that answers at once: the collector's own CPU only."""

    running = True

    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        return WriteResult(accepted=len(entries))

    def tally(self, source_id: str, outcome: str, count: int = 1) -> None: ...


def _setup(folder: Path, name: str, suppressions: int, instant: bool) -> tuple[Platform, str]:
    settings = Settings(database_url=f"sqlite:///{folder / name}.db", log_json=False)
    settings = settings.model_copy(update={"ingestion": FAST})
    platform = Platform(settings, consumers=[])
    platform.migrate()
    with platform.db.write() as session:
        source = create_source(session, name="web", kind="web")
        session.commit()
    if suppressions:
        _suppress(platform, suppressions)
    if instant:
        platform.collector.writer = _Instant()
    else:
        platform.writer.start()
    platform.suppressions.refresh()
    auth = base64.b64encode(f"{source.write_key}:".encode()).decode()
    return platform, f"Basic {auth}"


async def _one(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _round(platform: Platform, auth: str, payloads: list[bytes], batch: int) -> float:
    """``CLIENTS`` concurrent senders (so the group commit has groups to make)."""
    headers = {"authorization": auth, "content-type": "application/json"}

    async def client(mine: list[bytes]) -> None:
        for body in mine:
            await platform.collector.collect(None, headers, _one(body))

    started = time.perf_counter()
    await asyncio.gather(*(client(payloads[c::CLIENTS]) for c in range(CLIENTS)))
    return len(payloads) * batch / (time.perf_counter() - started)


def _pass(
    folder: Path,
    suppressions: int,
    rounds: int,
    batches: int,
    batch: int,
    instant: bool,
    traffic: str,
) -> dict[str, Any]:
    label = f"{'collector' if instant else 'commit'}-{traffic}"
    empty, empty_auth = _setup(folder, f"{label}-empty", 0, instant)
    full, full_auth = _setup(folder, f"{label}-full", suppressions, instant)
    assert len(empty.suppressions) == 0 and len(full.suppressions) == suppressions
    rates: dict[str, list[float]] = {"0": [], str(suppressions): []}
    loop = asyncio.new_event_loop()
    try:
        for r in range(rounds + 1):  # round 0 warms up and is not counted
            payloads = bodies(batches, batch, r, traffic)
            order = [(empty, empty_auth, "0"), (full, full_auth, str(suppressions))]
            for platform, auth, key in order if r % 2 else reversed(order):
                rate = loop.run_until_complete(_round(platform, auth, payloads, batch))
                if r:
                    rates[key].append(rate)
    finally:
        loop.close()
        for platform in (empty, full):
            if not instant:
                platform.writer.stop()
            platform.db.dispose()
    medians = {k: statistics.median(v) for k, v in rates.items()}
    overhead = 100 * (1 - medians[str(suppressions)] / medians["0"])
    return {"rounds": rates, "median": medians, "overhead_percent": overhead}


def check_cost(suppressions: int, events: int = 20_000) -> dict[str, float]:
    """Microseconds one ``SuppressionList.suppressed`` call adds per event (best of 5)."""
    rules = load_rules("")
    listed = SuppressionList(None, rules, 1e9)  # type: ignore[arg-type]
    secret = "k" * 64
    digests = {
        identifier_digest(secret, Identifier("email", f"g{i}@x.jp")) for i in range(suppressions)
    }
    cost: dict[str, float] = {}
    for traffic in TRAFFIC:
        messages = [
            m
            for body in bodies(events // 100, 100, 1, traffic)
            for m in orjson.loads(body)["batch"]
        ]
        for label, filled, warm in (
            ("empty", False, False),
            ("cold", True, False),
            ("warm", True, True),
        ):
            best = float("inf")
            for _ in range(5):
                listed._digests = frozenset(digests) if filled else frozenset()
                listed._secret = secret
                listed._digest_of = {}
                if warm:
                    for m in messages:
                        listed.suppressed(m)
                started = time.perf_counter()
                for m in messages:
                    listed.suppressed(m)
                best = min(best, time.perf_counter() - started)
            cost[f"{traffic}, {label}"] = best / len(messages) * 1e6
    return cost


def measure(
    suppressions: int = 100_000, rounds: int = 7, batches: int = 150, batch: int = 100
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "suppressions": suppressions,
        "events_per_round": batches * batch,
        "check_us_per_event": check_cost(suppressions),
    }
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-suppr-") as tmp:
        for traffic in TRAFFIC:
            result[f"{traffic}, collector only"] = _pass(
                Path(tmp), suppressions, rounds, batches, batch, True, traffic
            )
    return result


def _suppress_url(url: str, count: int) -> None:
    from kizuna.db import Database

    db = Database(url)
    try:
        with db.write() as session:
            secret = digest_secret(session)
            session.commit()
        now = datetime.now(UTC)
        rows = [
            {
                "digest": identifier_digest(secret, Identifier("email", f"gone{i}@example.jp")),
                "identifier_type": "email",
                "reason": "erasure",
                "request_id": None,
                "created_at": now,
            }
            for i in range(count)
        ]
        with db.engine.begin() as conn:
            for start in range(0, count, 10_000):
                conn.execute(insert(Suppression), rows[start : start + 10_000])
    finally:
        db.dispose()


def end_to_end(suppressions: int, runs: int, seconds: float, workers: int) -> dict[str, Any]:
    """``bench/ingest.py``'s peak phase (``kizuna serve`` + an aiohttp load generator, fresh
    SQLite database per run), alternating an empty list and ``suppressions`` entries."""
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest  # type: ignore[import-not-found]

    rates: dict[str, list[float]] = {"0": [], str(suppressions): []}
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-suppr-e2e-") as tmp:
        for run in range(runs):
            for count in (0, suppressions) if run % 2 else (suppressions, 0):
                with ingest.fresh_database("sqlite", Path(tmp), "", f"e2e-{count}") as url:
                    write_key = ingest.prepare_database(url)
                    if count:
                        _suppress_url(url, count)
                    port = ingest.free_port()
                    log_path = Path(tmp) / f"server-{run}-{count}.log"
                    proc = ingest.start_server(url, port, log_path, True, None, workers)
                    try:
                        if not ingest.wait_ready(proc, port):
                            raise RuntimeError(log_path.read_text()[-2000:])
                        peak = ingest.run_loadgen(
                            {
                                "urls": [f"http://127.0.0.1:{port}/v1/batch"],
                                "write_key": write_key,
                                "batch": 100,
                                "clients": 8,
                                "templates": 64,
                                "request_timeout": 30.0,
                                "server_pids": ingest.process_tree(proc.pid),
                                "phase": "peak",
                                "seconds": seconds,
                                "warmup": 2.0,
                                "seed": run,
                            }
                        )
                    finally:
                        ingest.stop_server(proc)
                rate = float(peak.get("events_per_s") or 0.0)
                rates[str(count)].append(rate)
                print(f"  run {run}: {count:>7,} suppressions {rate:>9,.0f} events/s", flush=True)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    overhead = 100 * (1 - medians[str(suppressions)] / medians["0"])
    return {"rounds": rates, "median": medians, "overhead_percent": overhead}


def erasure_timing(person_events: int, other_events: int) -> dict[str, Any]:
    """Export and erasure of one person with ``person_events`` events among ``other_events``
    others (SQLite file), and what the residue scrub after the erasure costs."""
    from kizuna.ingestion.rules import build_entry
    from kizuna.privacy import requests
    from kizuna.privacy.suppression import scrub_sqlite

    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-erasure-") as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/erase.db", log_json=False)
        platform = Platform(settings)
        platform.migrate()
        now = datetime.now(UTC)

        def entry(message: dict[str, Any]) -> LogEntry:
            return build_entry(
                message,
                message_type=message["type"],
                name=message.get("event"),
                sent_at=None,
                original_timestamp=None,
                batch_context=None,
                received_at=now,
                source_id="src_bench",
                source_kind="web",
                partitions=settings.pipeline.partitions,
                max_event_bytes=32 * 1024,
            )

        hanako = {"anonymousId": "a-hanako", "email": "hanako@example.jp", "phone": "09012345678"}
        messages = [_event(rng, i, {**hanako, "userId": "u-hanako"}) for i in range(person_events)]
        messages += [_event(rng, i, _visitor(rng)) for i in range(other_events)]
        rng.shuffle(messages)
        for start in range(0, len(messages), 5_000):
            with platform.db.engine.begin() as conn:
                platform.event_log.lock_for_append(conn)
                platform.event_log.append(conn, [entry(m) for m in messages[start : start + 5_000]])
        started = time.perf_counter()
        platform.runner.run_until_idle()
        resolved = time.perf_counter() - started
        timings: dict[str, Any] = {"events": len(messages), "identity_resolution_s": resolved}
        for kind in ("export", "erasure"):
            with platform.db.write() as session:
                row = requests.create(
                    session,
                    load_rules(settings.identity.rules_file),
                    settings.privacy,
                    platform.event_log,
                    kind=kind,
                    identifier_type="email",
                    identifier_value="hanako@example.jp",
                    regulation=None,
                    actor="bench",
                )
                session.commit()
            started = time.perf_counter()
            platform.runner.run_until_idle()  # both steps, and the scrub after an erasure
            timings[f"{kind}_s"] = time.perf_counter() - started
            with platform.db.read() as session:
                done = requests.get(session, row.id)
                timings[f"{kind}_result"] = requests.result_of(done)
        size = Path(f"{tmp}/erase.db").stat().st_size
        started = time.perf_counter()
        scrub_sqlite(platform.projection_db.engine, vacuum=False)
        timings["checkpoint_s"] = time.perf_counter() - started
        started = time.perf_counter()
        scrub_sqlite(platform.projection_db.engine, vacuum=True)
        timings["checkpoint_vacuum_s"] = time.perf_counter() - started
        timings["database_mb"] = size / 1e6
        platform.stop()
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppressions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--e2e-runs", type=int, default=0, help="also N alternating kizuna serve runs (HTTP)"
    )
    parser.add_argument("--e2e-seconds", type=float, default=10.0)
    parser.add_argument("--e2e-workers", type=int, default=2)
    parser.add_argument(
        "--erasure",
        type=int,
        default=0,
        help="also time export and erasure of a person with N events",
    )
    parser.add_argument("--erasure-others", type=int, default=100_000)
    args = parser.parse_args()
    print(f"python {host.python_version()} on {host.machine()}, {host.processor() or '?'}")
    result = measure(args.suppressions, args.rounds, args.batches, args.batch)
    if args.e2e_runs:
        print("\nend to end, /v1/batch over HTTP (bench/ingest.py's peak phase):", flush=True)
        result["end to end, HTTP"] = end_to_end(
            args.suppressions, args.e2e_runs, args.e2e_seconds, args.e2e_workers
        )
    n = result["suppressions"]
    print("\nthe check alone, microseconds per event (best of 5):")
    for label, micros in result["check_us_per_event"].items():
        print(f"  {label:<14} {micros:6.2f}")
    for label in [k for k in result if "," in k]:
        figures = result[label]
        print(f"\n{label} ({result['events_per_round']} events per round):")
        for key in ("0", str(n)):
            rounds = ", ".join(f"{r:,.0f}" for r in figures["rounds"][key])
            print(
                f"  {int(key):>7,} suppressions: median {figures['median'][key]:>9,.0f} "
                f"events/s  (rounds: {rounds})"
            )
        print(f"  overhead: {figures['overhead_percent']:+.1f}%")
    if args.erasure:
        timing = erasure_timing(args.erasure, args.erasure_others)
        result["erasure"] = timing
        print(
            f"\nexport and erasure of a person with {args.erasure:,} events among "
            f"{timing['events']:,} ({timing['database_mb']:.0f} MB of SQLite):"
        )
        for key in ("export_s", "erasure_s", "checkpoint_s", "checkpoint_vacuum_s"):
            print(f"  {key:<20} {timing[key]:7.2f} s")
    out = ROOT / "bench" / "results" / f"privacy-suppression-{int(time.time())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
