"""Prometheus metrics. Counters live in memory; durable per-source tallies live in the DB.

With several server processes (``kizuna serve --workers N``) each process writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any of them sums them all (prometheus_client's
multiprocess mode), so ``/metrics`` never shows one worker's share as the whole.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

INGESTED = Counter(
    "kizuna_ingest_events",
    "Events by source and outcome (accepted, warned, duplicate, quarantined, rejected...).",
    ["source", "outcome"],
    registry=REGISTRY,
)
REJECTED_REQUESTS = Counter(
    "kizuna_ingest_rejected_requests",
    "Tracking API requests answered with a 4xx, by error code.",
    ["code"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "kizuna_ingest_ack_seconds",
    "Time from a tracking request's arrival to its durable acknowledgement.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "kizuna_ingest_group_commit_seconds",
    "Duration of one group-commit transaction.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
GROUP_EVENTS = Histogram(
    "kizuna_ingest_group_events",
    "Events per group commit.",
    buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000),
    registry=REGISTRY,
)
PROCESSED = Counter(
    "kizuna_pipeline_processed_events",
    "Events handled by each consumer.",
    ["consumer"],
    registry=REGISTRY,
)
FAILURES = Counter(
    "kizuna_pipeline_failures",
    "Failed handler attempts by consumer (each retry counts).",
    ["consumer"],
    registry=REGISTRY,
)
PREPARED = Counter(
    "kizuna_pipeline_prepared_batches",
    "Batches decided outside the write transaction, by outcome: written as decided, or "
    "handled again because the snapshot had moved on (stale) or could not be decided (failed).",
    ["consumer", "outcome"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "kizuna_pipeline_dead_letters",
    "Events set aside after exhausting their attempts.",
    ["consumer"],
    registry=REGISTRY,
)


def scrape_registry() -> CollectorRegistry:
    """What ``/metrics`` exposes: this process's registry, or every worker's samples summed."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in EXTRA_COLLECTORS:
        registry.register(collector)
    return registry


IDENTITY_CHANGES = Counter(
    "kizuna_identity_profile_changes",
    "Profiles created, merged and split by identity resolution.",
    ["change"],
    registry=REGISTRY,
)
IDENTITY_RESOLVED = Counter(
    "kizuna_identity_evidence_resolved",
    "New evidence resolved, by path: extended (applied to its profile as stored), closure (its"
    " profile's closure resolved in memory) or graph (the graph walked around it).",
    ["path"],
    registry=REGISTRY,
)
IDENTITY_CONFLICTS = Counter(
    "kizuna_identity_conflicts",
    "Evidence the identity rules refused to apply in full, by reason.",
    ["reason"],
    registry=REGISTRY,
)
IDENTITY_REFUSED_VALUES = Counter(
    "kizuna_identity_refused_values",
    "Values that did not become identifiers (blocked, unparseable, oversized), by reason.",
    ["reason"],
    registry=REGISTRY,
)


# Collectors computed at scrape time (from the database), exposed once whatever the workers.
EXTRA_COLLECTORS: list[Collector] = []
CONSENT_SKIPPED = Counter(
    "kizuna_consent_skipped",
    "Consent in events that could not be recorded (unknown purpose, channel...), by reason.",
    ["reason"],
    registry=REGISTRY,
)
AUTH_REFUSALS = Counter(
    "kizuna_auth_refusals",
    "Requests refused for want of credentials or permission (401 and 403), by surface and code.",
    ["surface", "code"],
    registry=REGISTRY,
)
