"""Segments: the list, a builder with a live count, and each segment's members and history.

The builder (``static/segment_builder.js``) writes the condition tree as JSON into the form's
``condition`` field, which a power user may also edit by hand; the server validates it with the
definitions' own models and answers in the viewer's language. The live count posts the same
field to ``/console/segments/preview`` (CSRF-checked like every console POST).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from kizuna.console.charts import daily_chart
from kizuna.console.segment_forms import Invalid, Problem, parse_segment, service_problem
from kizuna.console.views_profiles import rules_of
from kizuna.console.web import (
    ConsoleRoute,
    Viewer,
    database,
    posts,
    render,
    requires,
    see_other,
    settings_of,
)
from kizuna.errors import KizunaError
from kizuna.ingestion.rules import SOURCE_KINDS
from kizuna.kit.responses import JSONResponse
from kizuna.models import SegmentDefinitionRow
from kizuna.pipeline.service import list_events
from kizuna.privacy.consent_config import ConsentCatalogue, load_catalogue
from kizuna.segments import service
from kizuna.segments.rendering import render as render_condition

router = APIRouter(route_class=ConsoleRoute)

CanReadSegments = Annotated[Viewer, Depends(requires("segments:read"))]
CanWriteSegments = Annotated[Viewer, Depends(requires("segments:write"))]
PostSegmentsRead = Annotated[Viewer, Depends(posts("segments:read"))]
PostSegmentsWrite = Annotated[Viewer, Depends(posts("segments:write"))]

NOTICES = ("created", "saved", "deleted")
MEMBERS_PAGE = 50
HISTORY_SIZE = 50
CHART_DAYS = 30
EVENT_NAMES_FROM = 500  # recent events whose names the builder suggests
OPS = (
    "eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with",
    "exists", "not_exists", "within_last_days", "before_days_ago",
)  # fmt: skip
COUNT_OPS = ("gte", "gt", "eq", "lte", "lt")
CONDITION_KINDS = (
    "performed", "sequence", "trait", "computed_trait", "identifier", "consent", "segment",
)  # fmt: skip
CAUSES = ("event", "time", "merge", "split", "initial", "recompute")
# Texts the builder's script shows, by their key under ``segments.builder.``.
BUILDER_TEXTS = (
    "match_all", "match_any", "not", "add_condition", "add_group", "remove", "kind", "path",
    "value", "value_hint", "key", "type", "has", "has_not", "consent", "allowed", "not_allowed",
    "member", "not_member", "segment", "event", "channel", "any_channel", "where",
    "add_where", "property", "times", "in_the_last", "all_time", "then", "then_not", "within",
    "first_within", "any_time", "matches", "counting", "empty", "sample", "json_invalid",
    "json_unsupported", "preview_failed", "unit_days", "unit_hours", "unit_minutes",
    "no_segments", "no_traits",
)  # fmt: skip


def _catalogue(request: Request) -> ConsentCatalogue:
    return load_catalogue(request.app.state.settings.privacy.consent_file)


def _notice(notice: str | None) -> str | None:
    return notice if notice in NOTICES else None


def _names(session: Session) -> dict[str, str]:
    return {row.id: row.name for row in service.list_segments(session)}


def _readable(row: SegmentDefinitionRow, lang: str, names: dict[str, str]) -> str:
    return render_condition(service.definition_of(row).condition, lang, segment_names=names)


# --- the list ------------------------------------------------------------------------------


def _listing(request: Request, viewer: Viewer) -> dict[str, Any]:
    with database(request).read() as session:
        rows = service.list_segments(session)
        names = {row.id: row.name for row in rows}
        segments = [{"row": r, "text": _readable(r, viewer.lang, names)} for r in rows]
    return {"segments": segments, "computing": any(r.status != "ready" for r in rows)}


@router.get("/segments")
def segments_page(request: Request, viewer: CanReadSegments, notice: str | None = None) -> Response:
    """Every segment in words, with its status (and progress while computing) and members."""
    context = {"nav": "segments", "notice": _notice(notice), **_listing(request, viewer)}
    return render(request, viewer, "segments.html", context)


@router.get("/segments/live")
def segments_table(request: Request, viewer: CanReadSegments) -> Response:
    """The list's table as an HTML fragment (the page polls it while something computes)."""
    return render(request, viewer, "_segments_table.html", _listing(request, viewer))


# --- the builder ---------------------------------------------------------------------------


def _builder_config(
    request: Request, viewer: Viewer, session: Session, segment_id: str | None
) -> dict[str, Any]:
    """What the builder's script offers in its menus, and its texts in the viewer's language."""
    t = viewer.t
    catalogue = _catalogue(request)
    events = list_events(session, type="track", limit=EVENT_NAMES_FROM)
    return {
        "texts": {k: t(f"segments.builder.{k}") for k in BUILDER_TEXTS},
        "kinds": [[k, t(f"segments.kind.{k}")] for k in CONDITION_KINDS],
        "ops": [[op, t(f"segments.op.{op}")] for op in OPS],
        "countOps": [[op, t(f"segments.count_op.{op}")] for op in COUNT_OPS],
        "channels": [[c, viewer.t_or(f"channel.{c}", c)] for c in SOURCE_KINDS],
        "identifierTypes": [[i, viewer.t_or(f"idtype.{i}", i)] for i in rules_of(request).priority],
        "consentGroups": [
            [g.key, g.label_ja if viewer.lang == "ja" else g.label_en] for g in catalogue.groups
        ],
        "segments": [
            [row.id, row.name] for row in service.list_segments(session) if row.id != segment_id
        ],
        "computedTraits": [[r.key, r.name] for r in service.list_computed_traits(session)],
        "events": sorted({e.name for e in events if e.name}),
        "previewUrl": "/console/segments/preview",
    }


def _builder_page(
    request: Request,
    viewer: Viewer,
    *,
    segment_id: str | None,
    form: dict[str, str],
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    with database(request).read() as session:
        config = _builder_config(request, viewer, session, segment_id)
        names = _names(session)
    readable = ""
    if not problems and form["condition"]:
        try:
            d = parse_segment(viewer, form["name"] or "-", "", form["condition"])
            readable = render_condition(d.condition, viewer.lang, segment_names=names)
        except Invalid:
            readable = ""
    context = {
        "nav": "segments",
        "segment_id": segment_id,
        "form": form,
        "problems": problems or [],
        "readable": readable,
        "config": config,
        "action": f"/console/segments/{segment_id}" if segment_id else "/console/segments",
    }
    return render(request, viewer, "segment_builder.html", context, status_code=status_code)


def _pretty(condition: str) -> str:
    return orjson.dumps(orjson.loads(condition), option=orjson.OPT_INDENT_2).decode()


@router.get("/segments/new")
def new_segment(request: Request, viewer: CanWriteSegments) -> Response:
    """An empty builder."""
    form = {"name": "", "description": "", "condition": ""}
    return _builder_page(request, viewer, segment_id=None, form=form)


@router.get("/segments/{segment_id}/edit")
def edit_segment(segment_id: str, request: Request, viewer: CanWriteSegments) -> Response:
    """The builder loaded with a segment's definition."""
    with database(request).read() as session:
        row = service.get_segment(session, segment_id)
        form = {
            "name": row.name,
            "description": row.description,
            "condition": _pretty(row.definition),
        }
    return _builder_page(request, viewer, segment_id=segment_id, form=form)


FormText = Annotated[str, Form(max_length=1_000)]
ConditionField = Annotated[str, Form(max_length=200_000)]


def _save(
    request: Request,
    viewer: Viewer,
    segment_id: str | None,
    form: dict[str, str],
) -> Response:
    try:
        d = parse_segment(viewer, form["name"], form["description"], form["condition"])
        service.check_consent_choices(d, _catalogue(request))
        with database(request).write() as session:
            if segment_id is None:
                row = service.create_segment(session, d)
            else:
                row = service.update_segment(session, segment_id, d)
            session.commit()
            saved_id = row.id
    except Invalid as bad:
        return _builder_page(
            request, viewer, segment_id=segment_id, form=form, problems=bad.problems,
            status_code=400,
        )  # fmt: skip
    except KizunaError as exc:
        if exc.status not in (400, 409):
            raise
        problems = [service_problem(viewer, exc)]
        return _builder_page(
            request, viewer, segment_id=segment_id, form=form, problems=problems,
            status_code=exc.status,
        )  # fmt: skip
    request.app.state.runner.wake()  # the engine computes the new definition at once
    notice = "created" if segment_id is None else "saved"
    return see_other(f"/console/segments/{saved_id}", notice=notice)


@router.post("/segments")
def create_segment(
    request: Request,
    viewer: PostSegmentsWrite,
    name: FormText = "",
    description: FormText = "",
    condition: ConditionField = "",
) -> Response:
    """Save a new segment; a refused definition shows the builder again with the reasons."""
    form = {"name": name, "description": description, "condition": condition}
    return _save(request, viewer, None, form)


@router.post("/segments/preview")
def preview_segment(
    request: Request, viewer: PostSegmentsRead, condition: ConditionField = ""
) -> Response:
    """How many profiles match a condition now, and a few of them, without saving it."""
    try:
        d = parse_segment(viewer, "preview", "", condition)
        service.check_consent_choices(d, _catalogue(request))
        with database(request).write() as session:
            found = service.preview(session, d, service.consent_asker(_catalogue(request)))
            names = _names(session)
            session.commit()
    except Invalid as bad:
        return JSONResponse({"errors": [p.as_json() for p in bad.problems]}, status_code=400)
    except KizunaError as exc:
        if exc.status != 400:
            raise
        return JSONResponse({"errors": [service_problem(viewer, exc).as_json()]}, status_code=400)
    linked = viewer.may("profiles:read")
    return JSONResponse(
        {
            "count": found.count,
            "population": found.population,
            "sample": [
                {"id": p, "url": f"/console/profiles/{p}" if linked else None} for p in found.sample
            ],
            "text": render_condition(d.condition, viewer.lang, segment_names=names),
        }
    )


# --- one segment ---------------------------------------------------------------------------


@router.get("/segments/{segment_id}")
def segment_page(
    segment_id: str,
    request: Request,
    viewer: CanReadSegments,
    after: Annotated[str, Query(max_length=48)] = "",
    notice: str | None = None,
) -> Response:
    """A segment in words, its members now (a page at a time), over time, and who came and went."""
    with database(request).read() as session:
        row = service.get_segment(session, segment_id)
        names = _names(session)
        members, next_after = service.members_page(
            session, segment_id, after=after or None, limit=MEMBERS_PAGE
        )
        points = service.membership_over_time(session, segment_id, days=CHART_DAYS)
        changes = service.history(session, segment_id=segment_id, limit=HISTORY_SIZE)
        context = {
            "nav": "segments",
            "segment": row,
            "text": _readable(row, viewer.lang, names),
            "members": members,
            "after": after,
            "next_after": next_after,
            "chart": daily_chart([(p["day"], int(p["members"])) for p in points]),
            "changes": changes,
            "notice": _notice(notice),
            "profile_links": viewer.may("profiles:read"),
            "base_url": settings_of(request).public_url or str(request.base_url).rstrip("/"),
        }
    return render(request, viewer, "segment_detail.html", context)


@router.get("/segments/{segment_id}/live")
def segment_status(segment_id: str, request: Request, viewer: CanReadSegments) -> Response:
    """The status block of one segment as an HTML fragment (polled while it computes)."""
    with database(request).read() as session:
        row = service.get_segment(session, segment_id)
    return render(request, viewer, "_segment_status.html", {"segment": row})


@router.post("/segments/{segment_id}")
def update_segment(
    segment_id: str,
    request: Request,
    viewer: PostSegmentsWrite,
    name: FormText = "",
    description: FormText = "",
    condition: ConditionField = "",
) -> Response:
    """Save a changed definition; a new condition is computed again in full."""
    form = {"name": name, "description": description, "condition": condition}
    return _save(request, viewer, segment_id, form)


@router.post("/segments/{segment_id}/delete")
def delete_segment(segment_id: str, request: Request, viewer: PostSegmentsWrite) -> Response:
    """Delete a segment with its members and history (refused while another segment reads it)."""
    with database(request).write() as session:
        service.delete_segment(session, segment_id)
        session.commit()
    return see_other("/console/segments", notice="deleted")
