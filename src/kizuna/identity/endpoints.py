"""``/api/v1/identity``: retract evidence (split), link by hand, see conflicts and refusals."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.identity import service
from kizuna.identity.config import IdentityRules, load_rules
from kizuna.identity.dryrun import dry_run
from kizuna.identity.resolution import Outcome
from kizuna.models import IdentityConflict, IdentityRefusal
from kizuna.openapi import NOT_FOUND

router = APIRouter(prefix="/identity", tags=["identity"])

CanAdmin = Annotated[Principal, Depends(RequireScope("identity:admin"))]
CanRead = Annotated[Principal, Depends(RequireScope("profiles:read"))]


@lru_cache(maxsize=4)
def _rules(path: str) -> IdentityRules:
    return load_rules(path)


def current_rules(request: Request) -> IdentityRules:
    return _rules(request.app.state.settings.identity.rules_file)


RulesDep = Annotated[IdentityRules, Depends(current_rules)]


class RetractionIn(BaseModel):
    kind: Literal["evidence", "event", "source", "link"]
    target: str = Field(
        description="evidence id, event seq, source id, or 'TYPE:VALUE TYPE:VALUE' for a link",
        min_length=1,
        max_length=500,
    )
    reason: str = Field(default="", max_length=2000)


class LinkIn(BaseModel):
    identifiers: list[str] = Field(min_length=2, max_length=20, description="TYPE:VALUE each")
    note: str = Field(default="", max_length=2000)


class OutcomeOut(BaseModel):
    merged: list[tuple[str, str]]
    split: list[tuple[str, str]]
    created: list[str]
    conflicts: dict[str, int]


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "merged": outcome.merged,
        "split": outcome.split,
        "created": outcome.created,
        "conflicts": dict(outcome.conflicts),
    }


@router.post("/retractions", response_model=OutcomeOut, status_code=201, responses=NOT_FOUND)
def retract(
    body: RetractionIn,
    principal: CanAdmin,
    session: SessionDep,
    rules: RulesDep,
    request: Request,
) -> dict[str, Any]:
    """Withdraw evidence; the profiles it touched are resolved again (splits undo merges).

    Retractions are kept forever, so replaying the same events cannot bring the link back.
    """
    outcome = service.retract(
        session,
        rules,
        kind=body.kind,
        target=body.target,
        reason=body.reason,
        actor=f"{principal.kind}:{principal.id}",
        log=request.app.state.platform.event_log,
    )
    return _outcome(outcome)


@router.post("/links", response_model=OutcomeOut, status_code=201, responses=NOT_FOUND)
def link(
    body: LinkIn, _: CanAdmin, session: SessionDep, rules: RulesDep, request: Request
) -> dict[str, Any]:
    """Join identifiers by hand (admin evidence: trusted, but the rules still apply)."""
    identifiers = [service.parse_identifier(text, rules) for text in body.identifiers]
    log = request.app.state.platform.event_log
    outcome, _evidence = service.link(session, rules, identifiers, note=body.note, log=log)
    return _outcome(outcome)


@router.get("/conflicts")
def list_conflicts(
    _: CanRead, session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, list[dict[str, Any]]]:
    """Evidence the rules refused (unique conflicts, untrusted bridges, limits, caps)."""
    rows = session.execute(
        select(IdentityConflict).order_by(IdentityConflict.id.desc()).limit(limit)
    ).scalars()
    return {
        "items": [
            {
                "evidence_id": c.evidence_id,
                "reason": c.reason,
                "profile_id": c.profile_id,
                "identifiers": c.identifiers,
                "detected_at": c.detected_at,
            }
            for c in rows
        ]
    }


@router.get("/refusals")
def list_refusals(
    _: CanRead, session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, list[dict[str, Any]]]:
    """Values that never became identifiers (blocked, unparseable, oversized), counted."""
    rows = session.execute(
        select(IdentityRefusal).order_by(IdentityRefusal.count.desc()).limit(limit)
    ).scalars()
    return {
        "items": [
            {
                "type": r.type,
                "value": r.value,
                "reason": r.reason,
                "count": r.count,
                "last_seen_at": r.last_seen_at,
            }
            for r in rows
        ]
    }


@router.post("/rules/dry-run")
def rules_dry_run(
    proposed: IdentityRules, _: CanAdmin, session: ReadSessionDep, rules: RulesDep
) -> dict[str, Any]:
    """Resolve history under proposed rules (nothing is written): profiles that would merge
    or split, and how the conflicts would change."""
    return dataclasses.asdict(dry_run(session.connection(), rules, proposed))
