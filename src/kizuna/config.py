"""Configuration from the environment (prefix ``KIZUNA_``, nested groups with ``__``).

Every setting is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kizuna.privacy.classification import PersonalCategory
from kizuna.privacy.retention_policy import RetentionPolicy


class IngestionSettings(BaseModel):
    dedup_window_days: float = 7.0
    max_event_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    max_group_events: int = 10_000
    rate_limit_per_second: float = 1_000.0
    rate_limit_burst: float = 2_000.0
    source_cache_seconds: float = 2.0
    # Set by ``kizuna serve --workers N`` for its server processes: the Unix socket of the
    # pool's log-writer process. Empty: this process commits its own groups.
    writer_socket: str = ""


class PipelineSettings(BaseModel):
    partitions: int = Field(default=4, ge=1, le=256)
    in_process: bool = True
    # Events a consumer handles at a time, from at most four times as many log positions
    # (Kizuna's own events a consumer does not read are passed over in the database). Under
    # load bigger batches share each transaction's fixed costs, above all the pages a commit
    # writes: bench/segments.py's p95 fell from 13.4 s to 6.4 s going from 2,000 to 5,000
    # (5.7 s at 10,000); with 500 the segments consumer drained a backlog four times slower.
    batch_size: int = 5000
    max_attempts: int = 5
    backoff_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    idle_poll_seconds: float = 0.2
    # How often consumers' time-driven work runs (segments: windows sliding out, recomputes).
    tick_seconds: float = 1.0
    # The consumers this process runs (``kizuna worker --consumers``); empty: all of them.
    consumers: list[str] = []
    # Under ``kizuna serve --workers N``: consumers that get a process of their own (the others
    # share one). A consumer that computes much (segments) then has a core to itself instead of
    # taking the GIL from the others while they hold SQLite's one write slot.
    own_process: list[str] = ["segments"]
    # Scheduling niceness of ``kizuna worker`` processes (0: as the others). Consumers catch up
    # later; a request waiting for its acknowledgement cannot: under a CPU shortage the kernel
    # runs the servers and the log writer first.
    niceness: int = Field(default=10, ge=0, le=19)


class IdentitySettings(BaseModel):
    # A JSON file of identity rules (``kizuna identity rules show`` prints the defaults).
    rules_file: str = ""


class PrivacySettings(BaseModel):
    # A JSON file of consent purposes, channels and subscription groups (defaults: docs/privacy.md).
    consent_file: str = ""
    # Days to complete a data subject request, per regulation.
    deadline_days_gdpr: int = 30
    deadline_days_appi: int = 30
    deadline_days_ccpa: int = 45
    default_regulation: str = "appi"
    # Validity of preference-centre links.
    link_days: int = 90
    # Days each data class is kept (KIZUNA_PRIVACY__RETENTION__EVENTS=730, ...).
    retention: RetentionPolicy = RetentionPolicy()
    retention_interval_minutes: float = 60.0
    # After an erasure on SQLite: rebuild the file with VACUUM? "auto": only when the SQLite
    # library does not zero deleted content by default (docs/privacy.md).
    sqlite_vacuum_after_erasure: Literal["auto", "always", "never"] = "auto"
    # Trait keys that are personal beyond the built-in ones, with their category
    # (KIZUNA_PRIVACY__PERSONAL_TRAITS='{"loyaltyRank": "other"}'; docs/privacy.md).
    personal_traits: dict[str, PersonalCategory] = {}
    # Fernet keys sealing personal trait values at rest, as a JSON list: the first seals, every
    # one opens (rotation: docs/privacy.md). Empty: values are stored in clear.
    encryption_keys: list[SecretStr] = []


class ConsoleSettings(BaseModel):
    session_hours: float = 12.0
    secure_cookies: bool = False
    default_locale: str = "ja"


class OpsSettings(BaseModel):
    # A bearer token Prometheus scrapers send to /metrics (and /readyz for its details) instead
    # of an API key with the ``ops:read`` scope. Empty: only API keys are accepted.
    metrics_token: SecretStr = SecretStr("")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KIZUNA_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///./kizuna.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # Server processes sharing the port. Python runs one core's worth of code per process, so
    # ingestion scales with workers up to the machine's cores; each runs its own group-commit
    # writer and in-process consumers (which share partitions safely on both databases).
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    sqlite_synchronous: str = "FULL"
    ingestion: IngestionSettings = IngestionSettings()
    pipeline: PipelineSettings = PipelineSettings()
    console: ConsoleSettings = ConsoleSettings()
    identity: IdentitySettings = IdentitySettings()
    privacy: PrivacySettings = PrivacySettings()
    ops: OpsSettings = OpsSettings()

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
