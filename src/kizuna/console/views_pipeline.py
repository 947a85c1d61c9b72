"""Pipeline: each consumer's progress per partition, and the dead letters it set aside."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from kizuna.console.web import (
    CanReadPipeline,
    ConsoleRoute,
    PostPipelineAdmin,
    database,
    render,
    see_other,
)
from kizuna.pipeline import service

router = APIRouter(route_class=ConsoleRoute)

RESULTS = ("replayed", "failed", "discarded")


@router.get("/pipeline")
def pipeline_page(
    request: Request,
    viewer: CanReadPipeline,
    result: Annotated[str, Query(max_length=16)] = "",
    letter: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Consumers with their lag, and the open dead letters."""
    state = request.app.state
    with database(request).read() as session:
        consumers = service.consumer_states(
            session, state.event_log, state.offsets, state.consumers
        )
        letters = service.list_dead_letters(session, "open")
    context = {
        "nav": "pipeline",
        "consumers": consumers,
        "letters": letters,
        "result": result if result in RESULTS and letter else None,
        "letter": letter,
    }
    return render(request, viewer, "pipeline.html", context)


@router.post("/pipeline/dead-letters/{dead_letter_id}/replay")
def replay_dead_letter(dead_letter_id: int, request: Request, _: PostPipelineAdmin) -> Response:
    """Hand the event to its consumer again; the page says whether it went through."""
    state = request.app.state
    with database(request).write() as session:
        letter = service.replay_dead_letter(
            session, state.event_log, state.consumers, dead_letter_id
        )
        outcome = "replayed" if letter.status == "replayed" else "failed"
        session.commit()
    return see_other("/console/pipeline", result=outcome, letter=dead_letter_id)


@router.post("/pipeline/dead-letters/{dead_letter_id}/discard")
def discard_dead_letter(dead_letter_id: int, request: Request, _: PostPipelineAdmin) -> Response:
    """Give up on a dead letter (kept on record)."""
    with database(request).write() as session:
        service.discard_dead_letter(session, dead_letter_id)
        session.commit()
    return see_other("/console/pipeline", result="discarded", letter=dead_letter_id)
