"""Use-cases on sources: create one per touchpoint, rotate or revoke its write key, set its plan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.errors import BadRequest, Conflict, NotFound
from kizuna.ingestion.plans import PlanInvalid, compile_plan
from kizuna.ingestion.rules import SOURCE_KINDS
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id, new_secret
from kizuna.models import Source


def create_source(session: Session, *, name: str, kind: str) -> Source:
    if kind not in SOURCE_KINDS:
        raise BadRequest(
            f"kind must be one of {', '.join(SOURCE_KINDS)}", code="source.unknown_kind"
        )
    if session.scalar(select(Source).where(Source.name == name)):
        raise Conflict(f"a source named {name!r} already exists", code="source.exists")
    source = Source(
        id=new_id("src"),
        name=name,
        kind=kind,
        channel=kind,
        write_key=new_secret("wk", 18),
        created_at=utcnow(),
        plan_mode="allow",
        plan=None,
        plan_version=0,
    )
    session.add(source)
    session.flush()
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.created_at, Source.name)))


def get_source(session: Session, source_id: str) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"no source {source_id}", code="source.not_found")
    return source


def find_by_name(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def find_by_write_key(session: Session, write_key: str) -> Source | None:
    return session.scalar(select(Source).where(Source.write_key == write_key))


def revoke_write_key(session: Session, source_id: str) -> Source:
    source = get_source(session, source_id)
    source.revoked_at = source.revoked_at or utcnow()
    return source


def rotate_write_key(session: Session, source_id: str) -> Source:
    """A fresh write key; the old one stops working within the cache period."""
    source = get_source(session, source_id)
    source.write_key = new_secret("wk", 18)
    source.revoked_at = None
    return source


def set_tracking_plan(
    session: Session, source_id: str, *, mode: str, plan: dict[str, Any] | None
) -> Source:
    source = get_source(session, source_id)
    try:
        compile_plan(plan, mode, source.plan_version + 1)
    except PlanInvalid as exc:
        raise BadRequest(str(exc), code="tracking_plan.invalid") from exc
    source.plan_mode = mode
    source.plan = plan
    source.plan_version += 1
    return source
