"""The pages a person opens from a message: the preference centre and one-click unsubscribe.

No account and no cookie: the signed link is the person's credential (``links.py``). Every
change is a ledger row with source ``preference_centre`` or ``unsubscribe`` and legal basis
``consent`` (the person's own act). Following RFC 8058, ``GET /unsubscribe/...`` only asks;
``POST`` (what a mail client sends with ``List-Unsubscribe=One-Click``) unsubscribes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import PlainTextResponse, Response

from kizuna.console.i18n import LOCALES, choose_locale, translate
from kizuna.console.web import SECURITY_HEADERS
from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.endpoints import current_rules
from kizuna.privacy import audit, consent
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.consent_endpoints import current_catalogue
from kizuna.privacy.links import read_preference_token, read_unsubscribe_token

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _lang(request: Request, lang: str | None) -> str:
    default = request.app.state.settings.console.default_locale
    return choose_locale(lang, None, request.headers.get("accept-language"), default)


def _page(
    request: Request, template: str, lang: str, context: dict[str, Any], status: int = 200
) -> Response:
    page = {
        "lang": lang,
        "langs": LOCALES,
        "t": lambda key, **p: translate(lang, key, **p),
        **context,
    }
    response = templates.TemplateResponse(request, template, page, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _problem(request: Request, lang: str, error: KizunaError) -> Response:
    context = {"code": error.code, "message": translate(lang, f"prefs.error.{error.code}")}
    return _page(request, "link_problem.html", lang, context, status=error.status)


def _groups(catalogue: ConsentCatalogue, state: list[dict[str, Any]], lang: str) -> list[Any]:
    by_key = {f"{s['purpose']}:{s['channel']}": s for s in state}
    return [
        {
            "key": g.key,
            "label": g.label_ja if lang == "ja" else g.label_en,
            "allowed": by_key[g.key]["allowed"],
            "reason": by_key[g.key]["reason"],
        }
        for g in catalogue.groups
    ]


@router.get("/preferences/{token}")
def preference_centre(
    token: str, request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> Response:
    """The person's choices, one switch per subscription group, in Japanese or English."""
    chosen = _lang(request, lang)
    catalogue = current_catalogue(request)
    with request.app.state.db.read() as session:
        try:
            profile_id = read_preference_token(session, request.app.state.settings, token)
            state = consent.current_state(session, catalogue, profile_id)
        except KizunaError as error:
            return _problem(request, chosen, error)
    context = {"token": token, "groups": _groups(catalogue, state, chosen), "saved": False}
    return _page(request, "preferences.html", chosen, context)


@router.post("/preferences/{token}")
async def save_preferences(token: str, request: Request) -> Response:
    """Record what the person changed (only the groups whose answer changes)."""
    form = await request.form()
    chosen = _lang(request, str(form.get("lang") or "") or None)
    catalogue = current_catalogue(request)
    rules: IdentityRules = current_rules(request)
    wanted = {str(k) for k in form.getlist("allow")}
    with request.app.state.db.write() as session:
        try:
            profile_id = read_preference_token(session, request.app.state.settings, token)
            before = consent.current_state(session, catalogue, profile_id)
        except KizunaError as error:
            return _problem(request, chosen, error)
        changed = 0
        for item in before:
            key = f"{item['purpose']}:{item['channel']}"
            if (key in wanted) != item["allowed"]:
                consent.record_for_profile(
                    session,
                    catalogue,
                    rules,
                    profile_id,
                    consent.ConsentChoice(
                        item["purpose"],
                        item["channel"],
                        key in wanted,
                        "consent",
                        "preference_centre",
                    ),
                    actor="person:preference_centre",
                )
                changed += 1
        if changed:
            audit.record(
                session, "person:preference_centre", "consent.recorded", "profile", profile_id,
                details={"changes": changed},
            )  # fmt: skip
        state = consent.current_state(session, catalogue, profile_id)
        session.commit()
    context = {"token": token, "groups": _groups(catalogue, state, chosen), "saved": True}
    return _page(request, "preferences.html", chosen, context)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(
    token: str, request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> Response:
    """Asks; never unsubscribes (mail scanners follow GET links)."""
    chosen = _lang(request, lang)
    with request.app.state.db.read() as session:
        try:
            target = read_unsubscribe_token(session, token)
        except KizunaError as error:
            return _problem(request, chosen, error)
    group = current_catalogue(request).group(target.purpose, target.channel)
    label = (group.label_ja if chosen == "ja" else group.label_en) if group else target.purpose
    context = {"token": token, "label": label, "done": False}
    return _page(request, "unsubscribe.html", chosen, context)


@router.post("/unsubscribe/{token}")
def unsubscribe(
    token: str,
    request: Request,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    lang: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """RFC 8058 one-click: ``List-Unsubscribe=One-Click`` in the body; answers 200."""
    chosen = _lang(request, lang)
    catalogue = current_catalogue(request)
    with request.app.state.db.write() as session:
        try:
            target = read_unsubscribe_token(session, token)
            row = consent.record_for_profile(
                session,
                catalogue,
                current_rules(request),
                target.profile_id,
                consent.ConsentChoice(
                    target.purpose,
                    target.channel,
                    False,
                    "consent",
                    "unsubscribe",
                    address=target.address,
                ),
                actor="person:unsubscribe",
            )
        except KizunaError as error:
            if list_unsubscribe is not None:
                return PlainTextResponse(error.code, status_code=error.status)
            return _problem(request, chosen, error)
        audit.record(
            session, "person:unsubscribe", "consent.recorded", "profile", row.profile_id or "",
            details={"purpose": target.purpose, "channel": target.channel, "one_click": True},
        )  # fmt: skip
        session.commit()
    if list_unsubscribe is not None:
        return PlainTextResponse("unsubscribed")
    group = catalogue.group(target.purpose, target.channel)
    label = (group.label_ja if chosen == "ja" else group.label_en) if group else target.purpose
    return _page(
        request, "unsubscribe.html", chosen, {"token": token, "label": label, "done": True}
    )
