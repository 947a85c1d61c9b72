"""``/api/v1/identity/matches``: link an offline customer list to profiles; review the grey zone."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, UploadFile

from kizuna.db import ReadSessionDep, SessionDep
from kizuna.errors import KizunaError
from kizuna.identity.endpoints import CanAdmin, CanRead, RulesDep
from kizuna.matching import service
from kizuna.matching.fields import infer_roles, parse_overrides
from kizuna.openapi import CONFLICT, error_responses
from kizuna.privacy.audit import record_read

router = APIRouter(prefix="/identity/matches", tags=["identity"])

MAX_UPLOAD = 20 * 1024 * 1024  # larger lists go through ``kizuna identity match``


@router.post("", status_code=201, responses=error_responses(413))
def match_list(
    _: CanAdmin,
    session: SessionDep,
    rules: RulesDep,
    request: Request,
    file: UploadFile,
    id_column: Annotated[str, Form()],
    id_type: Annotated[str, Form(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
    link_above: Annotated[float | None, Form(gt=0, le=1)] = None,
    review_above: Annotated[float | None, Form(gt=0, le=1)] = None,
    field: Annotated[list[str] | None, Form()] = None,
) -> dict[str, Any]:
    """Match a CSV customer list (UTF-8) against the profiles: sure matches are linked
    (probabilistic evidence), the grey zone is queued for review."""
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise KizunaError(
            "the list is over 20 MB: use the CLI", code="matching.too_large", status=413
        )
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        rows = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
    except (UnicodeDecodeError, csv.Error) as error:
        raise KizunaError(f"not a UTF-8 CSV file: {error}", code="matching.bad_records") from None
    roles = infer_roles(list(reader.fieldnames or []), id_column, parse_overrides(field or []))
    run = service.match_to_profiles(
        session,
        rules,
        rows,
        roles,
        id_column=id_column,
        id_type=id_type,
        thresholds=service.Thresholds.of(rules, link_above, review_above),
        log=request.app.state.platform.event_log,
    )
    return {**run.__dict__, "roles": roles}


@router.get("")
def list_matches(
    principal: CanRead,
    request: Request,
    session: ReadSessionDep,
    status: Literal["pending", "linked", "accepted", "rejected"] = "pending",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """The review queue (``pending``, most probable first) or what became of earlier pairs."""
    limit = max(1, min(limit, 500))
    rows = (
        service.pending(session, limit=limit, offset=max(offset, 0))
        if status == "pending"
        else service.recent(session, status=status, limit=limit)
    )
    if rows:  # the records are personal data
        record_read(
            request, principal, "matches.read", "probable_matches", status, {"count": len(rows)}
        )
    return {"items": [service.as_dict(r) for r in rows]}


def _decide(
    match_id: int, accept: bool, principal: Any, session: Any, rules: Any, request: Request
) -> dict[str, Any]:
    row = service.decide(
        session,
        rules,
        match_id,
        accept=accept,
        actor=f"{principal.kind}:{principal.id}",
        log=request.app.state.platform.event_log,
    )
    return service.as_dict(row)


@router.post("/{match_id}/accept", responses=CONFLICT)
def accept(
    match_id: int, principal: CanAdmin, session: SessionDep, rules: RulesDep, request: Request
) -> dict[str, Any]:
    """A person confirms the pair: the record joins the profile (admin evidence)."""
    return _decide(match_id, True, principal, session, rules, request)


@router.post("/{match_id}/reject", responses=CONFLICT)
def reject(
    match_id: int, principal: CanAdmin, session: SessionDep, rules: RulesDep, request: Request
) -> dict[str, Any]:
    """A person refuses the pair: it is never proposed again for this profile."""
    return _decide(match_id, False, principal, session, rules, request)
