"""Prometheus metrics. Counters live in memory; durable per-source tallies live in the DB."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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
DEAD_LETTERED = Counter(
    "kizuna_pipeline_dead_letters",
    "Events set aside after exhausting their attempts.",
    ["consumer"],
    registry=REGISTRY,
)
