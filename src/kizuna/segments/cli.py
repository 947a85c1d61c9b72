"""``kizuna segments``: list, define, preview, recompute and export segments from a shell.

Definitions are the same JSON documents the API takes (``docs/segments.md``). The worker (or
``kizuna serve``) computes a saved definition; these commands never wait for it. An export
from here is audited like one through the API, with the actor ``cli``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

if TYPE_CHECKING:
    from kizuna.config import Settings
    from kizuna.db import Database
    from kizuna.privacy.ad_hashing import Platform
    from kizuna.segments.definitions import SegmentDefinition

segments_app = typer.Typer(
    help="Segments: define, preview, recompute and export audiences.", no_args_is_help=True
)

Document = Annotated[Path, typer.Argument(help="A segment definition (JSON)")]


def _database() -> tuple[Settings, Database]:
    from kizuna.config import get_settings
    from kizuna.db import Database
    from kizuna.migrations import upgrade

    settings = get_settings()
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    upgrade(db.engine)
    return settings, db


def _fail(message: str, code: str) -> typer.Exit:
    typer.secho(f"error: {message} ({code})", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _definition(path: Path, settings: Settings) -> SegmentDefinition:
    from pydantic import ValidationError

    from kizuna.privacy.consent_config import load_catalogue
    from kizuna.segments import service
    from kizuna.segments.definitions import SegmentDefinition

    try:
        d = SegmentDefinition.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise _fail(str(exc), "segment.unreadable") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(problems, "request.invalid") from None
    service.check_consent_choices(d, load_catalogue(settings.privacy.consent_file))
    return d


@segments_app.command("list")
def list_segments() -> None:
    """Every segment: id, status, members, name."""
    from kizuna.segments import service

    _, db = _database()
    try:
        with db.read() as session:
            for row in service.list_segments(session):
                status = row.status
                if status == "computing" and row.progress_total:
                    status += f" {row.progress_done:,}/{row.progress_total:,}"
                typer.echo(f"{row.id}\t{status}\t{row.members:,}\t{row.name}")
    finally:
        db.dispose()


@segments_app.command("create")
def create(path: Document) -> None:
    """Save a segment from a JSON definition; prints its id (computed in the background)."""
    from kizuna.errors import KizunaError
    from kizuna.segments import service

    settings, db = _database()
    try:
        with db.write() as session:
            row = service.create_segment(session, _definition(path, settings))
            session.commit()
    except KizunaError as exc:
        raise _fail(exc.message, exc.code) from None
    finally:
        db.dispose()
    typer.echo(row.id)


@segments_app.command("preview")
def preview(
    path: Document,
    sample: Annotated[int, typer.Option(min=0, max=100, help="Profile ids to print")] = 10,
) -> None:
    """Count the profiles a definition matches now, without saving it (JSON)."""
    from kizuna.errors import KizunaError
    from kizuna.privacy.consent_config import load_catalogue
    from kizuna.segments import service

    settings, db = _database()
    try:
        ask = service.consent_asker(load_catalogue(settings.privacy.consent_file))
        with db.write() as session:
            found = service.preview(session, _definition(path, settings), ask, sample=sample)
            session.commit()  # a new filter's history, read once from the log, is kept
    except KizunaError as exc:
        raise _fail(exc.message, exc.code) from None
    finally:
        db.dispose()
    result = {"count": found.count, "population": found.population, "sample": found.sample}
    typer.echo(json.dumps(result, indent=2))


@segments_app.command("recompute")
def recompute(
    segment_id: str,
    wait: Annotated[
        bool, typer.Option(help="Follow the progress until the running worker has finished")
    ] = False,
) -> None:
    """Compute a segment again from scratch (the worker, `kizuna serve` or `kizuna worker`,
    does it; its progress shows in `list`, or here with --wait)."""
    import time

    from kizuna.errors import KizunaError
    from kizuna.segments import service

    _, db = _database()
    try:
        with db.write() as session:
            service.mark_for_recompute(session, segment_id)
            session.commit()
        typer.echo(f"{segment_id}: marked for recompute", err=True)
        while wait:
            time.sleep(0.5)
            with db.read() as session:
                row = service.get_segment(session, segment_id)
                status, done, total = row.status, row.progress_done, row.progress_total
            typer.echo(f"\r{status}: {done:,} / {total:,}", err=True, nl=False)
            if status != "computing":
                typer.echo(f"\n{row.members:,} members", err=True)
                if status == "failed":
                    raise _fail("the computation failed: see the worker's log", "segment.failed")
                break
    except KizunaError as exc:
        raise _fail(exc.message, exc.code) from None
    finally:
        db.dispose()


@segments_app.command("export")
def export_members(
    segment_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the CSV")],
    format: Annotated[str, typer.Option(help="csv (emails and phones) or hashed (SHA-256)")] = (
        "csv"
    ),
    platform: Annotated[str, typer.Option(help="hashed: google|meta|line|yahoo_japan")] = (
        "google"
    ),
    purpose: Annotated[str, typer.Option(help="hashed: the consent purpose")] = (
        "third_party_sharing"
    ),
    channel: Annotated[str, typer.Option(help="hashed: the consent channel")] = "all",
) -> None:
    """Write a segment's members to a file, as GET /api/v1/segments/{id}/export does."""
    from typing import get_args

    from kizuna.errors import KizunaError
    from kizuna.identity.config import load_rules
    from kizuna.privacy import audit
    from kizuna.privacy.ad_hashing import Platform
    from kizuna.privacy.consent_config import load_catalogue
    from kizuna.segments import export, service

    if format not in ("csv", "hashed"):
        raise _fail(f"unknown format {format!r}; csv or hashed", "request.invalid")
    platforms: tuple[str, ...] = get_args(Platform)
    if platform not in platforms:
        raise _fail(f"unknown platform {platform!r}; {', '.join(platforms)}", "request.invalid")
    settings, db = _database()
    details: dict[str, object] = {"format": format}
    try:
        with db.read() as session:
            service.get_segment(session, segment_id)
            if format == "csv":
                with output.open("wb") as handle:
                    for chunk in export.csv_stream(db, segment_id):
                        handle.write(chunk)
            else:
                done = export.hashed_export(
                    session,
                    segment_id,
                    catalogue=load_catalogue(settings.privacy.consent_file),
                    rules=load_rules(settings.identity.rules_file),
                    platform=cast("Platform", platform),
                    purpose=purpose,
                    channel=channel,
                )
                with output.open("wb") as handle:
                    for chunk in done.stream():
                        handle.write(chunk)
                details |= {"platform": platform, "purpose": purpose, "channel": channel}
                details |= {"exported": done.exported, "left_out": done.left_out}
                typer.echo(
                    f"{done.exported:,} of {done.members:,} members exported; "
                    f"{done.left_out:,} left out without {purpose} consent on {channel}; "
                    f"{done.without_identifiers:,} without an email or phone",
                    err=True,
                )
        with db.write() as session:
            audit.record(session, "cli", "segment.export", "segment", segment_id, details=details)
            session.commit()
    except KizunaError as exc:
        raise _fail(exc.message, exc.code) from None
    finally:
        db.dispose()
    typer.echo(f"written to {output}", err=True)
