"""Computed traits: the list, and a form to define one (the demo's examples are one click away)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from kizuna.console.segment_forms import Invalid, Problem, parse_computed_trait, service_problem
from kizuna.console.views_segments import (
    CanReadSegments,
    PostSegmentsWrite,
)
from kizuna.console.web import ConsoleRoute, Viewer, database, render, see_other
from kizuna.errors import KizunaError
from kizuna.ingestion.rules import SOURCE_KINDS
from kizuna.segments import service
from kizuna.segments.definitions import ComputedTraitDefinition
from kizuna.segments.rendering import render_computed_trait

router = APIRouter(route_class=ConsoleRoute)

NOTICES = ("created", "deleted")
AGGREGATIONS = (
    "count", "sum", "average", "min", "max", "first", "last", "most_frequent", "distinct",
    "distinct_count", "days_since_last",
)  # fmt: skip

# The demo's computed traits, offered as templates that fill the form.
TEMPLATES: dict[str, dict[str, str]] = {
    "lifetime_value": {"aggregation": "sum", "event": "Order Completed", "property": "total"},
    "orders_90d": {"aggregation": "count", "event": "Order Completed", "window_days": "90"},
    "preferred_channel": {
        "aggregation": "most_frequent",
        "event": "Order Completed",
        "property": "$channel",
    },
    "favourite_category": {
        "aggregation": "most_frequent",
        "event": "Product Viewed",
        "property": "category",
    },
    "last_store_visited": {
        "aggregation": "last",
        "event": "Store Visited",
        "channel": "store",
        "property": "store_name",
    },
    "days_since_last_purchase": {"aggregation": "days_since_last", "event": "Order Completed"},
}
FIELDS = ("key", "name", "aggregation", "event", "channel", "property", "window_days")


def _form_of_template(viewer: Viewer, key: str) -> dict[str, str]:
    template = TEMPLATES[key]
    return {
        **dict.fromkeys(FIELDS, ""),
        **template,
        "key": key,
        "name": viewer.t(f"computed.template.{key}"),
    }


def _document(form: dict[str, str]) -> dict[str, Any]:
    """The definition a form describes (blank fields left out, so the model says what is
    missing)."""
    event_filter: dict[str, Any] = {"event": form["event"].strip()}
    if form["channel"]:
        event_filter["channel"] = form["channel"]
    document: dict[str, Any] = {
        "key": form["key"].strip(),
        "name": form["name"].strip(),
        "aggregation": form["aggregation"],
        "filter": event_filter,
    }
    if form["property"].strip():
        document["property"] = form["property"].strip()
    days = form["window_days"].strip()
    if days:
        document["window"] = {"days": int(days) if days.isdigit() else days}
    return document


def _page(
    request: Request,
    viewer: Viewer,
    *,
    form: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    with database(request).read() as session:
        rows = service.list_computed_traits(session)
    traits = [
        {
            "row": row,
            "text": render_computed_trait(
                ComputedTraitDefinition.model_validate_json(row.definition), viewer.lang
            ),
        }
        for row in rows
    ]
    context = {
        "nav": "segments",
        "traits": traits,
        "form": form or dict.fromkeys(FIELDS, ""),
        "problems": problems or [],
        "notice": notice if notice in NOTICES else None,
        "templates": list(TEMPLATES),
        "aggregations": AGGREGATIONS,
        "channels": SOURCE_KINDS,
    }
    return render(request, viewer, "computed_traits.html", context, status_code=status_code)


@router.get("/computed-traits")
def computed_traits_page(
    request: Request, viewer: CanReadSegments, template: str = "", notice: str | None = None
) -> Response:
    """Every computed trait in words; ``?template=`` fills the form with a demo example."""
    form = _form_of_template(viewer, template) if template in TEMPLATES else None
    return _page(request, viewer, form=form, notice=notice)


Field = Annotated[str, Form(max_length=200)]


@router.post("/computed-traits")
def create_computed_trait(
    request: Request,
    viewer: PostSegmentsWrite,
    key: Field = "",
    name: Field = "",
    aggregation: Field = "",
    event: Field = "",
    channel: Field = "",
    property: Field = "",
    window_days: Field = "",
) -> Response:
    """Define a computed trait; the engine computes it over every profile, then keeps it."""
    form = {
        "key": key,
        "name": name,
        "aggregation": aggregation,
        "event": event,
        "channel": channel,
        "property": property,
        "window_days": window_days,
    }
    try:
        d = parse_computed_trait(viewer, _document(form))
        with database(request).write() as session:
            service.create_computed_trait(session, d)
            session.commit()
    except Invalid as bad:
        return _page(request, viewer, form=form, problems=bad.problems, status_code=400)
    except KizunaError as exc:
        if exc.status not in (400, 409):
            raise
        problems = [service_problem(viewer, exc)]
        return _page(request, viewer, form=form, problems=problems, status_code=exc.status)
    request.app.state.runner.wake()
    return see_other("/console/computed-traits", notice="created")


@router.post("/computed-traits/{key}/delete")
def delete_computed_trait(key: str, request: Request, viewer: PostSegmentsWrite) -> Response:
    """Delete a computed trait and its values (refused while a segment reads it)."""
    with database(request).write() as session:
        service.delete_computed_trait(session, key)
        session.commit()
    return see_other("/console/computed-traits", notice="deleted")
