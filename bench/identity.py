"""Identity resolution benchmark: pipeline throughput and profile lookup latency.

Usage::

    .venv/bin/python bench/identity.py [--backend sqlite|postgresql] [--people 20000]
        [--identifiers 1000000] [--lookups 2000]

1. *Resolution*: a synthetic shop population (each person browses anonymously on the web,
   logs in on the app with a device id, some give an email and a phone, some buy in store with
   a loyalty card; 6 events a person on average, in time order, with realistic repeats) is
   appended straight to the event log, then the ``identity`` consumer alone drains it
   (``run_until_idle``). Printed: events/s, profiles, merges, conflicts; the baseline in the
   same run is the ``channel_activity`` consumer over the same events (reading the log and one
   upsert per batch).
2. *Lookup*: ``--identifiers`` nodes are bulk-inserted (one profile each, 5 identifiers per
   profile), then ``--lookups`` random lookups by email go through ``profiles.service.lookup``
   with a fresh session each (the API's work without HTTP). Printed: p50/p99/max in ms; the
   baseline is the same number of primary-key reads of ``profiles``.

Nothing asserts; results are printed and written to ``bench/results/identity-<ts>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kizuna.activity.subscribers import CONSUMER as CHANNEL_ACTIVITY  # noqa: E402
from kizuna.config import PipelineSettings, Settings  # noqa: E402
from kizuna.identity.config import IdentityRules  # noqa: E402
from kizuna.identity.subscribers import identity_consumer  # noqa: E402
from kizuna.ingestion.rules import LogEntry, build_entry  # noqa: E402
from kizuna.kit.ids import new_message_id  # noqa: E402
from kizuna.runtime import Platform  # noqa: E402
from kizuna.sources.service import create_source  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def story(rng: random.Random, n: int, sources: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """One person's events as (source, message), in time order."""
    at = T0 + timedelta(minutes=rng.randrange(60 * 24 * 30))
    anon, device, user = f"a{n}", f"d{n}", f"u{n}"
    events: list[tuple[Any, dict[str, Any]]] = []

    def add(source: str, **message: Any) -> None:
        nonlocal at
        at += timedelta(minutes=rng.randrange(1, 600))
        message.setdefault("type", "track")
        if message["type"] == "track":
            message.setdefault("event", "Viewed")
        message["timestamp"] = at.isoformat()
        events.append((sources[source], message))

    for _ in range(rng.randrange(1, 5)):
        add("web", type="page", anonymousId=anon, name="Product")
    if rng.random() < 0.7:
        traits: dict[str, Any] = {"name": f"Person {n}"}
        if rng.random() < 0.8:
            traits["email"] = f"p{n}@example.jp"
        add(
            "app",
            type="identify",
            userId=user,
            anonymousId=f"app{n}",
            traits=traits,
            context={"device": {"id": device}},
        )
        add("web", type="identify", userId=user, anonymousId=anon)
        add("app", userId=user, event="Product Added", context={"device": {"id": device}})
        if rng.random() < 0.4:
            add(
                "pos",
                userId=user,
                event="Order Completed",
                context={"traits": {"loyalty_card": f"LC{n}"}},
            )
        if rng.random() < 0.2:
            add(
                "calls",
                anonymousId=f"c{n}",
                event="Call Ended",
                context={"traits": {"phone": f"03{n:08d}"[:11], "loyalty_card": f"LC{n}"}},
            )
    return events


def entries(platform: Platform, people: int, seed: int = 7) -> list[LogEntry]:
    with platform.db.write() as session:
        sources = {
            name: create_source(session, name=f"bench-{name}", kind=kind)
            for name, kind in [
                ("web", "web"),
                ("app", "app"),
                ("pos", "store"),
                ("calls", "call_center"),
            ]
        }
        session.commit()
    rng = random.Random(seed)
    stories = [e for n in range(people) for e in story(rng, n, sources)]
    stories.sort(key=lambda pair: pair[1]["timestamp"])
    out = []
    for source, message in stories:
        message["messageId"] = new_message_id()
        at = datetime.fromisoformat(message["timestamp"])
        out.append(
            build_entry(
                message,
                message_type=message["type"],
                name=message.get("event") or message.get("name"),
                sent_at=None,
                original_timestamp=at,
                batch_context=None,
                received_at=at,
                source_id=source.id,
                source_kind=source.kind,
                partitions=platform.settings.pipeline.partitions,
                max_event_bytes=32 * 1024,
            )
        )
    return out


def drain(settings: Settings, consumer: Any, log: list[LogEntry]) -> tuple[int, float]:
    platform = Platform(settings, consumers=[consumer])
    try:
        started = time.perf_counter()
        handled = platform.runner.run_until_idle(max_rounds=1_000_000)
        return handled, time.perf_counter() - started
    finally:
        platform.stop()


def resolution(url: str, people: int) -> dict[str, Any]:
    settings = Settings(database_url=url, pipeline=PipelineSettings(in_process=False))
    platform = Platform(settings, consumers=[])
    platform.migrate()
    log = entries(platform, people)
    with platform.db.engine.begin() as conn:
        for start in range(0, len(log), 1000):
            platform.event_log.append(conn, log[start : start + 1000])
    counts = {}
    rules = IdentityRules()
    handled, seconds = drain(settings, identity_consumer(rules), log)
    baseline, base_seconds = drain(settings, CHANNEL_ACTIVITY, log)
    with platform.db.read() as session:
        from sqlalchemy import text

        for name, sql in [
            ("profiles", "SELECT count(*) FROM profiles WHERE merged_into IS NULL"),
            ("merged_away", "SELECT count(*) FROM profiles WHERE merged_into IS NOT NULL"),
            ("identifiers", "SELECT count(*) FROM identity_nodes"),
            ("evidence", "SELECT count(*) FROM identity_evidence"),
            ("conflicts", "SELECT count(*) FROM identity_conflicts"),
        ]:
            counts[name] = session.execute(text(sql)).scalar()
    platform.stop()
    return {
        "people": people,
        "events": handled,
        "seconds": round(seconds, 2),
        "events_per_s": round(handled / seconds),
        "baseline_channel_activity_events_per_s": round(baseline / base_seconds),
        **counts,
    }


def lookups(url: str, identifiers: int, samples: int) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from kizuna.models import IdentityNode, Profile
    from kizuna.profiles.service import lookup

    settings = Settings(database_url=url)
    platform = Platform(settings, consumers=[])
    platform.migrate()
    now = datetime.now(UTC)
    per_profile = 5
    profiles = identifiers // per_profile
    started = time.perf_counter()
    with platform.db.engine.begin() as conn:
        for start in range(0, profiles, 10_000):
            batch = range(start, min(start + 10_000, profiles))
            conn.execute(
                insert(Profile),
                [
                    {
                        "id": f"prof_{i:020d}",
                        "anchor_node_id": i * per_profile + 1,
                        "created_at": now,
                        "updated_at": now,
                        "merged_into": None,
                        "merges": 0,
                        "identifiers": per_profile,
                        "rules_version": 1,
                    }
                    for i in batch
                ],
            )
            conn.execute(
                insert(IdentityNode),
                [
                    {
                        "type": t,
                        "value": v,
                        "profile_id": f"prof_{i:020d}",
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "events": 1,
                    }
                    for i in batch
                    for t, v in [
                        ("user_id", f"u{i}"),
                        ("email", f"p{i}@example.jp"),
                        ("anonymous_id", f"a{i}"),
                        ("device_id", f"d{i}"),
                        ("phone", f"+8130{i:08d}"),
                    ]
                ],
            )
    load_seconds = time.perf_counter() - started
    rng = random.Random(3)
    rules = IdentityRules()
    timings = []
    for _ in range(samples):
        n = rng.randrange(profiles)
        t = time.perf_counter()
        with platform.db.read() as session:
            lookup(session, rules, "email", f"P{n}@Example.jp")
        timings.append((time.perf_counter() - t) * 1000)
    base = []
    for _ in range(samples):
        n = rng.randrange(profiles)
        t = time.perf_counter()
        with platform.db.read() as session:
            session.execute(select(Profile.id).where(Profile.id == f"prof_{n:020d}")).one()
        base.append((time.perf_counter() - t) * 1000)
    platform.stop()
    timings.sort()
    base.sort()

    def pct(values: list[float], p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 3)

    return {
        "identifiers": profiles * per_profile,
        "load_seconds": round(load_seconds, 1),
        "lookup_p50_ms": pct(timings, 0.5),
        "lookup_p99_ms": pct(timings, 0.99),
        "lookup_max_ms": round(timings[-1], 3),
        "lookup_mean_ms": round(statistics.mean(timings), 3),
        "baseline_pk_read_p50_ms": pct(base, 0.5),
        "baseline_pk_read_p99_ms": pct(base, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    results: dict[str, Any] = {"backend": args.backend}
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-identity-") as workdir:

        def fresh(name: str) -> str:
            if args.backend == "sqlite":
                return f"sqlite:///{workdir}/{name}.db"
            from sqlalchemy import create_engine, text

            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            db = f"kizuna_bench_{name}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
                conn.execute(text(f'CREATE DATABASE "{db}"'))
            admin.dispose()
            return args.pg_url.rsplit("/", 1)[0] + "/" + db

        results["resolution"] = resolution(fresh("resolution"), args.people)
        print("resolution:", json.dumps(results["resolution"]), flush=True)
        results["lookup"] = lookups(fresh("lookup"), args.identifiers, args.lookups)
        print("lookup:", json.dumps(results["lookup"]), flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"identity-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
