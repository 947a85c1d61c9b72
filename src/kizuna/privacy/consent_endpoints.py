"""Consent in the API: a person's choices and history, recording one, and the one question
other domains ask (``GET /api/v1/consent/check``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.identity.endpoints import RulesDep
from kizuna.openapi import NOT_FOUND
from kizuna.privacy import audit, consent
from kizuna.privacy.consent_config import ConsentCatalogue, check_choice, load_catalogue
from kizuna.privacy.links import preference_link, unsubscribe_link

router = APIRouter(tags=["consent"])

CanRead = Annotated[Principal, Depends(RequireScope("profiles:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope("profiles:write"))]


def current_catalogue(request: Request) -> ConsentCatalogue:
    return load_catalogue(request.app.state.settings.privacy.consent_file)


CatalogueDep = Annotated[ConsentCatalogue, Depends(current_catalogue)]


class ConsentIn(BaseModel):
    purpose: str = Field(max_length=40, examples=["marketing"])
    channel: str = Field(max_length=16, examples=["email"])
    granted: bool
    source: str = Field(default="api", max_length=32, pattern=r"^[a-z][a-z0-9_.-]{0,31}$")
    legal_basis: str = Field(default="consent", max_length=32)
    address: str | None = Field(
        default=None, max_length=200, description="the inbox, phone or device it is about"
    )
    effective_at: datetime | None = Field(default=None, description="when the person decided")
    note: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    allowed: bool
    reason: str
    since: datetime | None = None
    profile_id: str


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/profiles/{profile_id}/consent")
def get_consent(
    profile_id: str,
    principal: CanRead,
    session: ReadSessionDep,
    catalogue: CatalogueDep,
    request: Request,
) -> dict[str, Any]:
    """The person's answer for every subscription group, and the full ledger history."""
    profile = consent.resolve_profile(session, profile_id)
    result = {
        "profile_id": profile.id,
        "state": consent.current_state(session, catalogue, profile.id),
        "history": consent.history(session, profile.id),
    }
    audit.record_read(request, principal, "consent.read", "profile", profile.id)
    return result


@router.post("/profiles/{profile_id}/consent", status_code=201)
def post_consent(
    profile_id: str,
    body: ConsentIn,
    principal: CanWrite,
    session: SessionDep,
    catalogue: CatalogueDep,
    rules: RulesDep,
    request: Request,
) -> dict[str, Any]:
    """Record a decision of the person (a new ledger row; nothing is overwritten)."""
    row = consent.record_for_profile(
        session,
        catalogue,
        rules,
        profile_id,
        consent.ConsentChoice(**body.model_dump()),
        actor=audit.actor_of(principal),
    )
    audit.record(
        session,
        audit.actor_of(principal),
        "consent.recorded",
        "profile",
        row.profile_id or profile_id,
        ip=_ip(request),
        details={"purpose": row.purpose, "channel": row.channel, "granted": row.granted},
    )
    return {
        "record": consent.as_dict(row),
        "state": consent.current_state(session, catalogue, row.profile_id or profile_id),
    }


@router.get("/consent/check", response_model=DecisionOut, responses=NOT_FOUND)
def check(
    principal: CanRead,
    session: ReadSessionDep,
    catalogue: CatalogueDep,
    request: Request,
    profile_id: Annotated[str, Query(max_length=32)],
    purpose: Annotated[str, Query(max_length=40)],
    channel: Annotated[str, Query(max_length=16)],
    address: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """``may_contact``: may we contact this person for ``purpose`` on ``channel``?"""
    profile = consent.resolve_profile(session, profile_id)
    decision = consent.may_contact(
        session, catalogue, profile.id, purpose, channel, address=address
    )
    return {
        "allowed": decision.allowed,
        "reason": decision.reason,
        "since": decision.since,
        "profile_id": profile.id,
    }


@router.get("/consent/catalogue")
def get_catalogue(_: CanRead, catalogue: CatalogueDep) -> dict[str, Any]:
    """Purposes, channels and subscription groups with their semantics and labels."""
    return catalogue.model_dump()


@router.post("/profiles/{profile_id}/preference-link", status_code=201)
def make_preference_link(
    profile_id: str, principal: CanWrite, session: SessionDep, request: Request
) -> dict[str, Any]:
    """A signed link to the hosted preference centre for this person (to put in a message)."""
    profile = consent.resolve_profile(session, profile_id)
    url, expires_at = preference_link(session, request.app.state.settings, profile.id)
    audit.record(
        session, audit.actor_of(principal), "consent.link_issued", "profile", profile.id,
        ip=_ip(request),
    )  # fmt: skip
    return {"profile_id": profile.id, "url": url, "expires_at": expires_at}


class UnsubscribeLinkIn(BaseModel):
    purpose: str = Field(max_length=40, examples=["marketing"])
    channel: str = Field(max_length=16, examples=["email"])
    address: str | None = Field(default=None, max_length=200)


@router.post("/profiles/{profile_id}/unsubscribe-link", status_code=201)
def make_unsubscribe_link(
    profile_id: str,
    body: UnsubscribeLinkIn,
    _: CanWrite,
    session: SessionDep,
    catalogue: CatalogueDep,
    request: Request,
) -> dict[str, Any]:
    """The ``List-Unsubscribe`` URL for a message to this person (RFC 8058 one-click: send it
    with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)."""
    check_choice(catalogue, body.purpose, body.channel, recording=True)
    profile = consent.resolve_profile(session, profile_id)
    url = unsubscribe_link(
        session, request.app.state.settings, profile.id, body.purpose, body.channel, body.address
    )
    return {
        "profile_id": profile.id,
        "url": url,
        "headers": {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
