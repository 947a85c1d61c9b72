"""``kizuna privacy``: retention on demand, signing-key and encryption-key rotation, the consent
catalogue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from kizuna.config import Settings
    from kizuna.db import Database

privacy_app = typer.Typer(
    help="Privacy: retention, signing and encryption keys, consent.", no_args_is_help=True
)


def _database() -> tuple[Settings, Database]:
    from kizuna.config import get_settings
    from kizuna.db import Database
    from kizuna.migrations import upgrade

    settings = get_settings()
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    upgrade(db.engine)
    return settings, db


@privacy_app.command("retention")
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing")] = False,
) -> None:
    """Apply the retention policies now (the consumer process also does it every hour)."""
    from kizuna.privacy.retention import enforce

    settings, db = _database()
    try:
        with db.write() as session:
            counts = enforce(session, settings.privacy.retention, dry_run=dry_run)
            session.commit()
    finally:
        db.dispose()
    verb = "would delete" if dry_run else "deleted"
    for name, rows in counts.items():
        typer.echo(f"{name}: {verb} {rows:,}")


@privacy_app.command("rotate-keys")
def rotate_keys(
    retire: Annotated[
        bool, typer.Option("--retire", help="Retire every key but the newest (old links stop)")
    ] = False,
) -> None:
    """Start signing links with a new key; links already sent keep working until --retire."""
    from kizuna.privacy.keys import LINKS, retire_all_but_newest, rotate

    _, db = _database()
    try:
        with db.write() as session:
            if retire:
                typer.echo(f"retired {retire_all_but_newest(session, LINKS)} key(s)")
            else:
                rotate(session, LINKS)
                typer.echo("a new link-signing key is in use")
            session.commit()
    finally:
        db.dispose()


@privacy_app.command("rotate-encryption")
def rotate_encryption(
    seal_existing: Annotated[
        bool,
        typer.Option(
            "--seal-existing", help="Also seal personal values stored in clear (written before)"
        ),
    ] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, max=10_000, help="Rows per commit")] = 500,
) -> None:
    """Re-seal every sealed trait value with the first key of KIZUNA_PRIVACY__ENCRYPTION_KEYS.

    Run it after putting a new key first (and restarting every process); once it reports no
    unreadable value, the old keys can be removed. Safe to run while Kizuna serves.
    """
    from kizuna.privacy.personal_fields import personal_fields
    from kizuna.privacy.resealing import ResealReport, reseal
    from kizuna.privacy.sealing import configure

    settings, db = _database()
    try:
        sealer = configure(settings.privacy.encryption_keys)
        if sealer is None:
            typer.secho(
                "error: no encryption keys (set KIZUNA_PRIVACY__ENCRYPTION_KEYS)",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)
        personal = None
        if seal_existing:
            with db.read() as session:
                personal = personal_fields(session, settings.privacy.personal_traits)

        def progress(report: ResealReport) -> None:
            typer.echo(report.line())

        reports = reseal(db, sealer, personal=personal, batch=batch, progress=progress)
    finally:
        db.dispose()
    unreadable = sum(r.unreadable for r in reports)
    typer.echo(f"done: {sum(r.changed for r in reports):,} rows rewritten")
    if unreadable:
        typer.secho(
            f"warning: {unreadable:,} sealed values open with none of the configured keys; "
            "they stay sealed (keep the key that sealed them, or accept their loss)",
            fg=typer.colors.YELLOW,
            err=True,
        )


@privacy_app.command("consent-catalogue")
def consent_catalogue() -> None:
    """Print the consent catalogue in force (JSON: the shape KIZUNA_PRIVACY__CONSENT_FILE takes)."""
    from kizuna.config import get_settings
    from kizuna.privacy.consent_config import load_catalogue

    catalogue = load_catalogue(get_settings().privacy.consent_file)
    typer.echo(json.dumps(catalogue.model_dump(), indent=2, ensure_ascii=False))
