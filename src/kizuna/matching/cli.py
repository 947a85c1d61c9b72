"""``kizuna identity dedupe`` and ``kizuna identity link``: candidate pairs from customer lists."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kizuna.errors import KizunaError
from kizuna.matching.fields import infer_roles, parse_overrides
from kizuna.matching.records import Table, prepare, read_csv

if TYPE_CHECKING:
    from kizuna.matching.model import MatchedPair

IdColumn = Annotated[str, typer.Option("--id-column", help="The column holding each record's id")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Where to write the pairs (CSV)")]
Fields = Annotated[
    list[str] | None,
    typer.Option("--field", help="ROLE=COLUMN, when a column's name does not say its role"),
]
Threshold = Annotated[
    float, typer.Option("--threshold", min=0.0, max=1.0, help="Lowest probability written")
]
Region = Annotated[str, typer.Option("--region", help="Default region for phone numbers")]


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _load(path: Path, id_column: str, fields: list[str] | None, region: str) -> Table:
    columns, rows = read_csv(path)
    roles = infer_roles(columns, id_column, parse_overrides(fields or []))
    _say(f"{path.name}: {len(rows):,} records; " + _roles(roles))
    return prepare(rows, roles, id_column, region=region, source=path.name)


def _roles(roles: dict[str, str]) -> str:
    return ", ".join(f"{role}={column}" for role, column in roles.items())


def _write(output: Path, pairs: list[MatchedPair]) -> None:
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["left_id", "right_id", "probability"])
        writer.writerows((p.left_id, p.right_id, f"{p.probability:.6f}") for p in pairs)
    _say(f"{len(pairs):,} candidate pairs written to {output}")


def _run(tables: list[Table], output: Path, threshold: float) -> None:
    if any(len(t["unique_id"]) < 2 for t in tables) and len(tables) == 1:
        raise KizunaError("a dedupe needs at least two records", code="matching.too_few")
    from kizuna.matching.model import find_matches  # Splink and DuckDB load only when needed

    _write(output, find_matches(tables, threshold=threshold, progress=_say))


def register(identity_app: typer.Typer) -> None:
    @identity_app.command("dedupe")
    def dedupe(
        file: Annotated[Path, typer.Argument(help="A customer list (CSV, UTF-8)")],
        id_column: IdColumn,
        output: Output,
        field: Fields = None,
        threshold: Threshold = 0.5,
        region: Region = "JP",
    ) -> None:
        """Find records of one list that are probably the same person."""
        try:
            _run([_load(file, id_column, field, region)], output, threshold)
        except KizunaError as error:
            _say(f"error [{error.code}]: {error.message}")
            raise typer.Exit(2) from None

    @identity_app.command("link")
    def link(
        left: Annotated[Path, typer.Argument(help="The first list (CSV, UTF-8)")],
        right: Annotated[Path, typer.Argument(help="The second list (CSV, UTF-8)")],
        id_column: IdColumn,
        output: Output,
        field: Fields = None,
        threshold: Threshold = 0.5,
        region: Region = "JP",
    ) -> None:
        """Find records of LEFT and RIGHT that are probably the same person."""
        try:
            tables = [_load(p, id_column, field, region) for p in (left, right)]
            _run(tables, output, threshold)
        except KizunaError as error:
            _say(f"error [{error.code}]: {error.message}")
            raise typer.Exit(2) from None

    @identity_app.command("match")
    def match(
        file: Annotated[Path, typer.Argument(help="A customer list (CSV, UTF-8)")],
        id_column: IdColumn,
        id_type: Annotated[
            str, typer.Option("--id-type", help="The identifier type of the list's ids")
        ],
        field: Fields = None,
        link_above: Annotated[
            float | None,
            typer.Option("--link-above", help="Link at or above this (default: the rules')"),
        ] = None,
        review_above: Annotated[
            float | None,
            typer.Option("--review-above", help="Queue at or above this (default: the rules')"),
        ] = None,
    ) -> None:
        """Match a list against the profile store: link sure matches, queue the grey zone."""
        from kizuna.config import get_settings
        from kizuna.db import Database
        from kizuna.identity.config import load_rules
        from kizuna.matching.service import Thresholds, match_to_profiles
        from kizuna.migrations import upgrade
        from kizuna.pipeline.log import SqlEventLog

        settings = get_settings()
        db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
        try:
            upgrade(db.engine)
            columns, rows = read_csv(file)
            roles = infer_roles(columns, id_column, parse_overrides(field or []))
            _say(f"{file.name}: {len(rows):,} records; " + _roles(roles))
            rules = load_rules(settings.identity.rules_file)
            with db.write() as session:
                run = match_to_profiles(
                    session,
                    rules,
                    rows,
                    roles,
                    id_column=id_column,
                    id_type=id_type,
                    thresholds=Thresholds.of(rules, link_above, review_above),
                    log=SqlEventLog(settings.pipeline.partitions),
                    progress=_say,
                )
                session.commit()
        except KizunaError as error:
            _say(f"error [{error.code}]: {error.message}")
            raise typer.Exit(2) from None
        finally:
            db.dispose()
        typer.echo(
            f"run {run.run_id}: {run.records:,} records against {run.profiles:,} profiles: "
            f"{run.linked:,} linked, {run.queued:,} queued for review, {run.unmatched:,} unmatched"
        )
