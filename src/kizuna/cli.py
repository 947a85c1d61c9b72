"""The ``kizuna`` command: serve, worker, db, demo, sources, keys, users, segments."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.config import Settings, get_settings
from kizuna.kit.heap import settle_for_serving
from kizuna.matching.cli import register as register_matching
from kizuna.privacy.cli import privacy_app
from kizuna.segments.cli import segments_app

if TYPE_CHECKING:
    from kizuna.db import Database
    from kizuna.runtime import Platform

app = typer.Typer(
    help="Kizuna (絆): omnichannel customer-experience platform.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Sources: the touchpoints that send events.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for /api/v1.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
identity_app = typer.Typer(help="Identity resolution: rules and matching.", no_args_is_help=True)
rules_app = typer.Typer(help="The identity rules (configuration as code).", no_args_is_help=True)
identity_app.add_typer(rules_app, name="rules")
app.add_typer(identity_app, name="identity")
register_matching(identity_app)
app.add_typer(privacy_app, name="privacy")
app.add_typer(segments_app, name="segments")


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return settings.model_copy(update=updates) if updates else settings


def _platform(settings: Settings) -> Platform:
    from kizuna.logs import configure_logging
    from kizuna.runtime import Platform

    configure_logging(settings.log_level, settings.log_json)
    platform = Platform(settings)
    platform.migrate()
    return platform


def _announce_credentials(settings: Settings) -> None:
    from kizuna.auth.service import has_any_credentials
    from kizuna.db import Database

    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        with db.read() as session:
            ready = has_any_credentials(session)
    finally:
        db.dispose()
    if not ready:
        typer.secho(
            "No administrator exists yet, and Kizuna ships no default credentials.\n"
            "  Create an API key:      kizuna keys create --role admin\n"
            "  Create a console user:  kizuna users create you@example.com --role admin",
            fg=typer.colors.YELLOW,
            err=True,
        )


def run_server(settings: Settings, *, pool_member: bool = False) -> None:
    import uvicorn

    from kizuna.app import create_app
    from kizuna.db import Database
    from kizuna.logs import configure_logging
    from kizuna.migrations import upgrade

    configure_logging(settings.log_level, settings.log_json)
    if not pool_member:  # the pool's parent has done this for its members
        db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
        upgrade(db.engine)
        db.dispose()
        _announce_credentials(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1 and not pool_member:
        _serve_pool(settings)
        return
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    settle_for_serving()
    if pool_member:  # one of several processes, each with its own socket on the same port
        server.run(sockets=[_reuse_port_socket(settings.host, settings.port)])
    else:
        server.run()


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """The kernel spreads new connections across every process listening with SO_REUSEPORT.

    (One socket shared by all workers lets whichever process wakes first accept every pending
    connection, so keep-alive clients would all land on one worker.)
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _serve_pool(settings: Settings) -> None:
    """Run one log-writer process, ``settings.workers`` server processes and the consumer
    processes (``consumer_groups``); restart any that dies; stop them all on a signal.

    The server processes hand their appends to the log writer over a Unix socket in the pool's
    private directory (see ``kizuna.ingestion.writer_link``). Metrics from all of them are
    summed at scrape time.
    """
    import structlog

    log = structlog.get_logger(__name__)
    with tempfile.TemporaryDirectory(prefix="kizuna-pool-") as private:
        samples = os.path.join(private, "metrics")
        os.mkdir(samples)
        link = os.path.join(private, "writer.sock")
        env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": samples,
            "KIZUNA_HOST": settings.host,
            "KIZUNA_PORT": str(settings.port),
            "KIZUNA_WORKERS": str(settings.workers),
        }
        kizuna = [sys.executable, "-m", "kizuna"]
        # Consumers run in a process of their own, so their work neither holds up the log
        # writer's commits nor the servers' event loops; its polling finds new events within
        # ``pipeline.idle_poll_seconds``.
        alone = {**env, "KIZUNA_PIPELINE__IN_PROCESS": "false"}
        member = {**alone, "KIZUNA_INGESTION__WRITER_SOCKET": link}
        commands = [([*kizuna, "serve", "--log-writer", link], alone)]
        commands += [([*kizuna, "serve", "--pool-member"], member)] * settings.workers
        if settings.pipeline.in_process:
            commands += [([*kizuna, "worker", "--consumers", ",".join(g)], env)
                         for g in consumer_groups(settings)]  # fmt: skip
        children = [subprocess.Popen(c, env=e) for c, e in commands]  # noqa: S603
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("kizuna_pool_started", workers=settings.workers, pids=[c.pid for c in children])
        while not stop.wait(1.0):
            for index, child in enumerate(children):
                if child.poll() is not None:
                    log.error("kizuna_process_exited", pid=child.pid, code=child.returncode)
                    command, child_env = commands[index]
                    children[index] = subprocess.Popen(command, env=child_env)  # noqa: S603
        for child in reversed(children):  # servers first, so the writer answers their last requests
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def consumer_groups(settings: Settings) -> list[list[str]]:
    """The consumers of each consumer process of a pool: one process for each consumer named
    in ``pipeline.own_process``, one for all the others."""
    from kizuna.pipeline.registry import default_consumers

    names = [c.name for c in default_consumers(settings)]
    alone = [n for n in names if n in settings.pipeline.own_process]
    rest = [n for n in names if n not in alone]
    return [[n] for n in alone] + ([rest] if rest else [])


def _run_log_writer(settings: Settings, path: str) -> None:
    from kizuna.ingestion.writer_link import run_log_writer
    from kizuna.logs import configure_logging
    from kizuna.runtime import Platform

    configure_logging(settings.log_level, settings.log_json)
    platform = Platform(settings)
    settle_for_serving()
    try:
        run_log_writer(platform.group_commit_writer(on_commit=None), path)
    finally:
        platform.stop()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Server processes (default 1)")
    ] = None,
    pool_member: Annotated[bool, typer.Option(hidden=True)] = False,
    log_writer: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Serve the API, the tracking endpoints and the console, with in-process consumers."""
    settings = _settings(host, port)
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    if log_writer is not None:  # the pool's log-writer process
        _run_log_writer(settings, log_writer)
        return
    run_server(settings, pool_member=pool_member)


@app.command()
def worker(
    consumers: Annotated[
        str | None,
        typer.Option(help="Comma-separated consumers to run (default: all of them)"),
    ] = None,
) -> None:
    """Run the pipeline consumers alone (several workers share partitions on PostgreSQL)."""
    settings = _settings()
    if consumers:
        chosen = [c.strip() for c in consumers.split(",") if c.strip()]
        pipeline = settings.pipeline.model_copy(update={"consumers": chosen})
        settings = settings.model_copy(update={"pipeline": pipeline})
    if settings.pipeline.niceness:
        os.nice(settings.pipeline.niceness)
    platform = _platform(settings)
    platform.start(ingestion=False, consumers=True)
    settle_for_serving()
    typer.echo(f"worker running {len(platform.consumers)} consumers; Ctrl-C to stop", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    platform.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from kizuna.db import Database
    from kizuna.migrations import current_revision, upgrade

    settings = _settings()
    db = Database(settings.database_url)
    upgrade(db.engine)
    typer.echo(f"database at revision {current_revision(db.engine)}")
    db.dispose()


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    people: Annotated[int, typer.Option(min=1, help="People in the demo population")] = 3000,
    rate: Annotated[float, typer.Option(min=0, help="Simulated events per second")] = 5.0,
) -> None:
    """Seed the demo retailer, serve, and simulate its customers through /v1."""
    from kizuna.demo.run import run_demo

    run_demo(_settings(host, port), people=people, rate=rate)


def _session() -> Database:
    from kizuna.db import Database
    from kizuna.migrations import upgrade

    settings = _settings()
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    upgrade(db.engine)
    return db


@sources_app.command("create")
def sources_create(
    name: str,
    kind: Annotated[
        str, typer.Option(help="web|app|store|call_center|email|social|line|server|import")
    ],
) -> None:
    """Create a source and print its write key."""
    from kizuna.errors import KizunaError
    from kizuna.sources.service import create_source

    db = _session()
    try:
        with db.write() as session:
            source = create_source(session, name=name, kind=kind)
            session.commit()
    except KizunaError as exc:
        typer.secho(f"error: {exc.message} ({exc.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"source {source.id} ({source.kind})", err=True)
    typer.echo(source.write_key)


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their kinds and write keys."""
    from kizuna.sources.service import list_sources

    db = _session()
    with db.read() as session:
        for s in list_sources(session):
            state = "revoked" if s.revoked_at else "active"
            typer.echo(f"{s.id}\t{s.kind}\t{state}\t{s.write_key}\t{s.name}")
    db.dispose()


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin|marketer|analyst|support|readonly")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
) -> None:
    """Create an API key; it is printed once and stored hashed."""
    from kizuna.auth.service import create_api_key
    from kizuna.errors import KizunaError

    db = _session()
    try:
        with db.write() as session:
            issued = create_api_key(session, name=name, role=role)
            session.commit()
    except KizunaError as exc:
        typer.secho(f"error: {exc.message} ({exc.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"key {issued.id} ({issued.role}); shown once, store it now:", err=True)
    typer.echo(issued.secret)


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="admin|marketer|analyst|support|readonly")],
    password: Annotated[
        str | None,
        typer.Option(help="Leave out to be prompted (or to get a generated one with --generate)"),
    ] = None,
    generate: Annotated[bool, typer.Option(help="Generate and print a strong password")] = False,
    locale: Annotated[str, typer.Option(help="ja|en")] = "ja",
) -> None:
    """Create a console user (password hashed with argon2id)."""
    import secrets

    from kizuna.auth.service import create_console_user
    from kizuna.errors import KizunaError

    if generate:
        password = secrets.token_urlsafe(15)
    elif password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    db = _session()
    try:
        with db.write() as session:
            user = create_console_user(
                session, email=email, password=password, role=role, locale=locale
            )
            session.commit()
    except KizunaError as exc:
        typer.secho(f"error: {exc.message} ({exc.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"user {user.email} ({user.role}) created", err=True)
    if generate:
        typer.echo(password)


def main() -> None:
    app()


@rules_app.command("show")
def identity_rules_show() -> None:
    """Print the rules in force (the defaults unless KIZUNA_IDENTITY__RULES_FILE is set)."""
    from kizuna.identity.config import load_rules

    rules = load_rules(_settings().identity.rules_file)
    typer.echo(rules.model_dump_json(indent=2))


@rules_app.command("check")
def identity_rules_check(path: Annotated[str, typer.Argument(help="A JSON rules file")]) -> None:
    """Validate a rules file; exits 1 with the reasons when it is not valid."""
    from pydantic import ValidationError

    from kizuna.identity.config import load_rules

    try:
        rules = load_rules(path)
    except (OSError, ValidationError) as exc:
        typer.echo(f"invalid rules: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"rules version {rules.version}: valid")


@rules_app.command("dry-run")
def identity_rules_dry_run(
    path: Annotated[str, typer.Argument(help="The proposed rules (JSON)")],
) -> None:
    """Resolve history under the proposed rules and say what would merge or split."""
    import dataclasses
    import json

    from kizuna.db import Database
    from kizuna.identity.config import load_rules
    from kizuna.identity.dryrun import dry_run

    settings = _settings()
    proposed = load_rules(path)
    db = Database(settings.database_url)
    try:
        with db.engine.connect() as conn:
            result = dry_run(conn, load_rules(settings.identity.rules_file), proposed)
    finally:
        db.dispose()
    typer.echo(json.dumps(dataclasses.asdict(result), indent=2, ensure_ascii=False))
