"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``KIZUNA_TEST_PG_URL`` (default: the machine's local server). When it is
unreachable the PostgreSQL half is skipped on a developer machine and FAILS under ``CI=true``.
Schemas are built by the migrations (once per session into a template, then copied per test).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from kizuna.config import IngestionSettings, PipelineSettings, Settings
from kizuna.db import Database
from kizuna.migrations import upgrade

PG_ADMIN_URL = os.environ.get(
    "KIZUNA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_reachable() -> str | None:
    try:
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per backend, copied for each test."""
    templates: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("tpl") / "template.db"
    db = Database(f"sqlite:///{sqlite_file}")
    upgrade(db.engine)
    db.dispose()  # closing the last connection checkpoints the WAL into the file
    templates["sqlite"] = str(sqlite_file)
    name = None
    if _pg_reachable() is None:
        name = f"kizuna_tpl_{uuid.uuid4().hex[:8]}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        db = Database(_pg_url(name))
        upgrade(db.engine)
        db.dispose()
        templates["postgresql"] = name
    yield templates
    if name:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_database(backend: str, templates: dict[str, str], tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        target = tmp_path / "kizuna.db"
        shutil.copyfile(templates["sqlite"], target)
        yield f"sqlite:///{target}"
        return
    if "postgresql" not in templates:
        reason = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {_pg_reachable()}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = f"kizuna_t_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{templates["postgresql"]}"'))
    admin.dispose()
    try:
        yield _pg_url(name)
    finally:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, _templates: dict[str, str], tmp_path: Path
) -> Iterator[str]:
    """A freshly migrated, empty database: once on SQLite, once on PostgreSQL."""
    yield from _fresh_database(request.param, _templates, tmp_path)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=False,
        sqlite_synchronous="NORMAL",
        ingestion=IngestionSettings(),
        pipeline=PipelineSettings(
            partitions=4, backoff_seconds=0.01, max_attempts=3, idle_poll_seconds=0.05
        ),
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    yield database
    database.dispose()


# --- a real server in a subprocess ------------------------------------------------------------


def die_with_parent() -> None:
    """``preexec_fn`` for test servers: SIGTERM when the test process dies (Linux), so a run
    killed by a timeout leaves no server behind polling a dropped database."""
    if sys.platform == "linux":
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """``kizuna serve`` running in its own process against the test database."""

    url: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kizuna",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()  # not ready in time: never leave it running behind the failed test
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUNA_")}
    env.update(
        {
            "KIZUNA_DATABASE_URL": database_url,
            "KIZUNA_LOG_JSON": "true",
            "KIZUNA_PIPELINE__IDLE_POLL_SECONDS": "0.05",
        }
    )
    env.update(extra)
    return env


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        env=server_env(database_url),
        log_path=tmp_path / "server.log",
    )
    server.start()
    yield server
    server.stop()


# --- one server per backend shared by the HTTP tests ------------------------------------------


@dataclass
class SharedServer:
    """A ``kizuna serve`` process kept for the whole session, with its database and an admin key.

    Tests sharing it stay independent by creating their own sources (events, quarantine and
    tallies are all per source). Source lookups are not cached (``SOURCE_CACHE_SECONDS=0``), so
    a revoked key or a new tracking plan applies to the very next request.
    """

    server: LiveServer
    db: Database
    admin_key: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session", params=BACKENDS)
def shared_server(
    request: pytest.FixtureRequest,
    _templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedServer]:
    from contextlib import contextmanager

    from tests.factories import make_api_key

    tmp = tmp_path_factory.mktemp(f"shared-{request.param}")
    with contextmanager(_fresh_database)(request.param, _templates, tmp) as url:
        port = free_port()
        env = server_env(url, KIZUNA_INGESTION__SOURCE_CACHE_SECONDS="0")
        server = LiveServer(
            url=f"http://127.0.0.1:{port}", port=port, env=env, log_path=tmp / "server.log"
        )
        server.start()
        db = Database(url)
        try:
            yield SharedServer(server=server, db=db, admin_key=make_api_key(db))
        finally:
            db.dispose()
            server.stop()
