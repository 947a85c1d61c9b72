"""One SQLite-backed platform per security test module.

The security tests check the HTTP surface, which is the same on both databases, so they run on
SQLite only (a copy of the migrated template) and do not double the suite's time.
"""

from __future__ import annotations

import shutil

import pytest

from kizuna.config import IngestionSettings, PipelineSettings, Settings


@pytest.fixture(scope="module")
def sqlite_settings(
    _templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings on a fresh migrated SQLite file; consumers run only when a test asks."""
    target = tmp_path_factory.mktemp("security") / "kizuna.db"
    shutil.copyfile(_templates["sqlite"], target)
    return Settings(
        database_url=f"sqlite:///{target}",
        log_json=False,
        sqlite_synchronous="NORMAL",
        ingestion=IngestionSettings(source_cache_seconds=0),
        pipeline=PipelineSettings(
            partitions=4,
            in_process=False,
            backoff_seconds=0.01,
            max_attempts=3,
            idle_poll_seconds=0.05,
        ),
    )
