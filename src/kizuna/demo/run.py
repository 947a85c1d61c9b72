"""``kizuna demo``: migrate, seed Kizuna Mart, print how to get in, serve, and simulate."""

from __future__ import annotations

import logging
import threading

import structlog
import typer

from kizuna.auth.service import create_api_key
from kizuna.config import Settings
from kizuna.db import Database
from kizuna.demo.catalog import generate_people
from kizuna.demo.seed import DEMO_USER_EMAIL, ensure_demo_user, seed_retailer
from kizuna.demo.simulator import Simulator
from kizuna.logs import configure_logging
from kizuna.migrations import upgrade

log = structlog.get_logger(__name__)


def run_demo(settings: Settings, people: int = 3000, rate: float = 5.0) -> None:
    """Seed the demo retailer, serve Kizuna, and stream simulated customers until stopped."""
    from kizuna.cli import run_server  # the CLI imports this module lazily; no cycle at load

    if people < 1:
        raise typer.BadParameter("the demo needs at least one person", param_hint="--people")
    if "log_json" not in settings.model_fields_set:
        # Someone is watching a terminal: readable logs unless KIZUNA_LOG_JSON says otherwise.
        settings = settings.model_copy(update={"log_json": False})
    configure_logging(settings.log_level, settings.log_json)
    # httpx logs every request at INFO: the simulator's would drown the server's own logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        upgrade(db.engine)
        with db.write() as session:
            write_keys = seed_retailer(session)
            password = ensure_demo_user(session)
            api_key = create_api_key(session, name="demo", role="admin").secret
            session.commit()
    finally:
        db.dispose()

    simulator = Simulator(local_url(settings), write_keys, generate_people(people), rate=rate)
    _print_banner(settings, password, api_key, people, rate)
    thread = threading.Thread(
        target=_simulate, args=(simulator,), name="kizuna-demo-simulator", daemon=True
    )
    thread.start()
    try:
        run_server(settings)
    finally:
        simulator.stop()
        thread.join(timeout=5)
        if not thread.is_alive():
            simulator.close()


def local_url(settings: Settings) -> str:
    """Where this machine reaches the server (a wildcard bind is reached on loopback)."""
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - reading the bind address, not binding
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _simulate(simulator: Simulator) -> None:
    try:
        if not simulator.wait_until_ready():
            return
        log.info("demo_simulator_started", people=len(simulator.people), rate=simulator.rate)
        simulator.backfill()
        simulator.run()
    except Exception:
        log.exception("demo_simulator_failed")


def _print_banner(
    settings: Settings, password: str | None, api_key: str, people: int, rate: float
) -> None:
    url = settings.public_url.rstrip("/") or local_url(settings)
    rule = "─" * 78
    lines = [
        rule,
        "  絆マート / Kizuna Mart: demo",
        "",
        f"  Console   {url}/console/",
    ]
    if password is not None:
        lines += [
            f"  Login     {DEMO_USER_EMAIL}",
            f"  Password  {password}",
            "            (generated now and shown only this once; store it)",
        ]
    else:
        lines += [
            f"  Login     {DEMO_USER_EMAIL} (its password was shown when it was created,",
            "            at the first run). Another admin:",
            "            kizuna users create you@example.com --role admin --generate",
        ]
    lines += [
        f"  API key   {api_key}",
        "            (admin, new for this run, shown once)",
        "",
        f'  Try       curl -H "Authorization: Bearer {api_key}" \\',
        f'              "{url}/api/v1/events?limit=5"',
        "",
        f"  Simulating {people} people at {rate:g} events/s once the server is ready.",
        "  Write keys: kizuna sources list.  Stop: Ctrl-C.",
        rule,
    ]
    typer.echo("\n".join(lines))
