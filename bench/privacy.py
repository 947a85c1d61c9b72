"""Privacy benchmark: ``may_contact`` decisions per second (it sits on every send).

Usage::

    .venv/bin/python bench/privacy.py [--backend sqlite|postgresql] [--profiles 50000]
        [--singles 2000]

The store holds ``--profiles`` people (3 identifiers each) and a consent ledger of about two
rows per person (opt-ins, opt-outs, soft opt-ins, some on channel ``all``, some per address)
plus 1,000 suppressed identifiers. Printed:

- ``may_contact_many``: a whole audience decided in one call, as a send step does
  (decisions/s over every profile, 500 per query);
- ``may_contact``: one person at a time through the service with a fresh session (p50, p99,
  decisions/s);
- baselines in the same run: the pure rule (``consent_rules.decide``) on rows already in
  memory, and a primary-key read of ``profiles`` per person.

Nothing asserts; results are printed and written to ``bench/results/privacy-<ts>.json``.
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

from sqlalchemy import insert, select  # noqa: E402

from kizuna.config import Settings  # noqa: E402
from kizuna.identity.identifiers import Identifier  # noqa: E402
from kizuna.models import ConsentRecord, IdentityNode, Profile, Suppression  # noqa: E402
from kizuna.privacy.consent import may_contact, may_contact_many  # noqa: E402
from kizuna.privacy.consent_config import ConsentCatalogue  # noqa: E402
from kizuna.privacy.consent_rules import Choice, decide  # noqa: E402
from kizuna.privacy.keys import digest_secret, identifier_digest  # noqa: E402
from kizuna.runtime import Platform  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def load(platform: Platform, people: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with platform.db.engine.begin() as conn:
        for start in range(0, people, 5_000):
            batch = range(start, min(start + 5_000, people))
            conn.execute(
                insert(Profile),
                [
                    {
                        "id": f"prof_{i:020d}",
                        "anchor_node_id": i * 3 + 1,
                        "created_at": now,
                        "updated_at": now,
                        "merged_into": None,
                        "merges": 0,
                        "identifiers": 3,
                        "rules_version": 1,
                    }
                    for i in batch
                ],
            )
            nodes = [("user_id", "u{}"), ("email", "p{}@example.jp"), ("device_id", "d{}")]
            conn.execute(
                insert(IdentityNode),
                [
                    {
                        "type": t,
                        "value": v.format(i),
                        "profile_id": f"prof_{i:020d}",
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "events": 1,
                    }
                    for i in batch
                    for t, v in nodes
                ],
            )
            rows = []
            for i in batch:
                for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
                    granted = rng.random() < 0.6
                    kind = rng.random()
                    on_email = kind < 0.6
                    rows.append(
                        {
                            "identifier_type": "email" if on_email else "user_id",
                            "identifier_value": f"p{i}@example.jp" if on_email else f"u{i}",
                            "profile_id": f"prof_{i:020d}",
                            "purpose": "marketing",
                            "channel": "email" if kind < 0.8 else "all",
                            "address": f"p{i}@example.jp" if on_email else None,
                            "granted": granted,
                            "explicit": granted and rng.random() < 0.8,
                            "legal_basis": "consent",
                            "source": "bench",
                            "actor": "",
                            "effective_at": T0 + timedelta(days=rng.randrange(300)),
                            "recorded_at": now,
                        }
                    )
            if rows:
                conn.execute(insert(ConsentRecord), rows)
    with platform.db.write() as session:
        secret = digest_secret(session)
        session.execute(
            insert(Suppression),
            [
                {
                    "digest": identifier_digest(secret, Identifier("email", f"p{i}@example.jp")),
                    "identifier_type": "email",
                    "reason": "suppression",
                    "request_id": None,
                    "created_at": now,
                }
                for i in rng.sample(range(people), min(1_000, people))
            ],
        )
        session.commit()


def pct(values: list[float], p: float) -> float:
    return round(values[min(len(values) - 1, int(p * len(values)))], 3)


def run(url: str, people: int, singles: int) -> dict[str, Any]:
    platform = Platform(Settings(database_url=url), consumers=[])
    platform.migrate()
    started = time.perf_counter()
    load(platform, people)
    load_seconds = time.perf_counter() - started
    catalogue = ConsentCatalogue()
    ids = [f"prof_{i:020d}" for i in range(people)]
    with platform.db.read() as session:
        started = time.perf_counter()
        decisions = may_contact_many(session, catalogue, ids, "marketing", "email")
        bulk_seconds = time.perf_counter() - started
    allowed = sum(d.allowed for d in decisions.values())
    reasons: dict[str, int] = {}
    for d in decisions.values():
        reasons[d.reason] = reasons.get(d.reason, 0) + 1
    rng = random.Random(9)
    timings = []
    for _ in range(singles):
        profile_id = ids[rng.randrange(people)]
        t = time.perf_counter()
        with platform.db.read() as session:
            may_contact(session, catalogue, profile_id, "marketing", "email")
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    base = []
    for _ in range(singles):
        profile_id = ids[rng.randrange(people)]
        t = time.perf_counter()
        with platform.db.read() as session:
            session.execute(select(Profile.id).where(Profile.id == profile_id)).one()
        base.append((time.perf_counter() - t) * 1000)
    base.sort()
    group = catalogue.group("marketing", "email")
    assert group is not None
    memory = [
        [
            Choice("marketing", "email", rng.random() < 0.6, True, T0 + timedelta(days=d))
            for d in range(2)
        ]
        for _ in range(10_000)
    ]
    started = time.perf_counter()
    for rows in memory:
        decide(rows, group)
    pure = len(memory) / (time.perf_counter() - started)
    platform.stop()
    return {
        "profiles": people,
        "load_seconds": round(load_seconds, 1),
        "may_contact_many_decisions_per_s": round(people / bulk_seconds),
        "allowed": allowed,
        "reasons": reasons,
        "may_contact_single_ms": {"p50": pct(timings, 0.5), "p99": pct(timings, 0.99)},
        "may_contact_single_per_s": round(1000 / statistics.mean(timings)),
        "baseline_pure_rule_per_s": round(pure),
        "baseline_primary_key_read_ms": {"p50": pct(base, 0.5), "p99": pct(base, 0.99)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL, help="PostgreSQL URL (a scratch DB)")
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--singles", type=int, default=2_000)
    args = parser.parse_args()
    if args.backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='kizuna-privacy-')}/bench.db"
    else:
        url = args.url
    result = {"backend": args.backend, **run(url, args.profiles, args.singles)}
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"privacy-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
