"""The running platform: database, event log, group-commit writer, collector and consumers.

``kizuna serve`` runs all of it in one process; ``kizuna worker`` runs only the consumers;
``kizuna serve --workers N`` runs N server processes that hand their appends to one log-writer
process (``kizuna.ingestion.writer_link``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from kizuna.config import Settings
from kizuna.db import Database
from kizuna.identity.config import load_rules
from kizuna.ingestion.directory import SourceDirectory
from kizuna.ingestion.service import Collector
from kizuna.ingestion.writer import GroupCommitWriter, LogWriter
from kizuna.ingestion.writer_link import RemoteWriter
from kizuna.migrations import upgrade
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import SqlEventLog, SqlOffsetStore
from kizuna.pipeline.registry import default_consumers
from kizuna.pipeline.runner import PipelineRunner
from kizuna.privacy import sealing
from kizuna.privacy.personal_fields import PersonalFieldCache
from kizuna.privacy.scheduler import RetentionScheduler
from kizuna.privacy.suppression import SuppressionList


class Platform:
    def __init__(self, settings: Settings, consumers: Sequence[Consumer] | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
        self.event_log = SqlEventLog(settings.pipeline.partitions)
        self.offsets = SqlOffsetStore()
        deployed = list(consumers if consumers is not None else default_consumers(settings))
        chosen = set(settings.pipeline.consumers)
        unknown = chosen - {c.name for c in deployed}
        if unknown:
            raise ValueError(f"no consumer named {', '.join(sorted(unknown))}")
        self.consumers = [c for c in deployed if not chosen or c.name in chosen]
        self.projection_db = self.db.for_projections()
        self.runner = PipelineRunner(
            self.projection_db,
            self.event_log,
            self.offsets,
            self.consumers,
            settings.pipeline,
            deployed=[c.name for c in deployed],
        )
        self.writer: LogWriter
        if settings.ingestion.writer_socket:
            self.writer = RemoteWriter(settings.ingestion.writer_socket, on_commit=self.runner.wake)
        else:
            self.writer = self.group_commit_writer(on_commit=self.runner.wake)
        self.directory = SourceDirectory(self.db, settings.ingestion.source_cache_seconds)
        rules = load_rules(settings.identity.rules_file)
        ttl = settings.ingestion.source_cache_seconds
        self.suppressions = SuppressionList(self.db, rules, ttl)
        # The keys this process opens payloads with (process-wide: kizuna.privacy.sealing).
        self.sealer = sealing.configure(settings.privacy.encryption_keys)
        self.personal_fields = PersonalFieldCache(self.db, settings.privacy.personal_traits, ttl)
        self.collector = Collector(
            settings.ingestion,
            self.writer,
            self.directory,
            settings.pipeline.partitions,
            share=1 / settings.workers,  # each worker process enforces its share of the limit
            suppressions=self.suppressions,
            sealer=self.sealer,
            personal=self.personal_fields,
        )
        self.consumers_in_process = settings.pipeline.in_process
        self.retention = RetentionScheduler(self.db, settings)

    def group_commit_writer(self, on_commit: Callable[[], None] | None) -> GroupCommitWriter:
        return GroupCommitWriter(
            self.db,
            self.event_log,
            dedup_window=timedelta(days=self.settings.ingestion.dedup_window_days),
            max_group_events=self.settings.ingestion.max_group_events,
            on_commit=on_commit,
        )

    def migrate(self) -> None:
        upgrade(self.db.engine)

    def start(self, *, ingestion: bool = True, consumers: bool = True) -> None:
        if ingestion:
            self.writer.start()
        if consumers:
            self.runner.start()
            self.retention.start()  # one process enforces retention: the one with consumers

    def stop(self) -> None:
        self.writer.stop()
        self.runner.stop()
        self.retention.stop()
        self.projection_db.dispose()
        self.db.dispose()
