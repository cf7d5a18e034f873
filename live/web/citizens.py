"""Citizens over HTTP: the JSON API of their accounts, and the pages that use it.

The pages never carry a phone number back: the browser keeps what was typed between
asking for a code and giving it, and every answer names the account by its id alone.
Sessions are ``live.sessions``' of kind ``CITIZENS``, beside a host's in one cookie.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live import eligibility, sessions
from live.citizens import accounts
from live.moderation import reports
from live.notify import interests
from live.polls import discovery
from live.web import api, bodies, i18n, oidc
from live.web.pages import render
from live.web.security import check_csrf
from rooms.areas import AREAS, Area
from rooms.comments import ACTION_NAMES
from rooms.eligibility import (
    DISTRICT_NAMES,
    GENDER_NAMES,
    JOB_NAMES,
)
from rooms.errors import ErrorCode, VotingError

#: Where the request's signed-in citizen is kept once its session was checked.
_CITIZEN = "mvoting.citizen"


async def signed_in(request: Request) -> str | None:
    """The signed-in citizen's id, the session checked once per request."""
    if _CITIZEN not in request.scope:
        found = None
        if sessions.CITIZENS.account in request.session:
            found = await sessions.account_of(
                api.services(request), request.session, sessions.CITIZENS
            )
        request.scope[_CITIZEN] = found
    citizen_id: str | None = request.scope[_CITIZEN]
    return citizen_id


async def _citizen_id(request: Request) -> str:
    citizen_id = await signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return citizen_id


async def _begin(request: Request, done: accounts.SignedIn) -> None:
    svc = api.services(request)
    await sessions.begin(svc, request.session, done.citizen.id, done.generation, sessions.CITIZENS)
    request.scope[_CITIZEN] = done.citizen.id


def _body(citizen: accounts.Citizen) -> dict[str, Any]:
    return {"citizen": {"id": citizen.id, "name": citizen.name}}


async def send_code(request: Request) -> Response:
    """``{"purpose": "signup" | "reset" | "change", "phone"}`` (a change: and
    ``"password"``, signed in): a code goes to the number; 202 and its lifetime."""
    data = await api.json_body(request)
    purpose = data.get("purpose")
    citizen_id = await signed_in(request) if purpose == "change" else None
    pending = oidc.pending_login(request) if purpose == "link" else None
    sent = await accounts.send_code(
        api.services(request),
        purpose,
        data.get("phone"),
        address=api.client_address(request),
        translate=i18n.gettext,
        citizen_id=citizen_id,
        password=data.get("password"),
        login=pending.ref if pending is not None else None,
    )
    return api.ok({"expires_in": sent.expires_in}, 202)


async def sign_up(request: Request) -> Response:
    data = await api.json_body(request)
    done = await accounts.sign_up(
        api.services(request),
        data.get("phone"),
        data.get("code"),
        data.get("password"),
        data.get("name"),
        address=api.client_address(request),
    )
    await _begin(request, done)
    return api.ok(_body(done.citizen), 201)


async def sign_in(request: Request) -> Response:
    data = await api.json_body(request)
    done = await accounts.sign_in(
        api.services(request),
        data.get("phone"),
        data.get("password"),
        address=api.client_address(request),
    )
    await _begin(request, done)
    return api.ok(_body(done.citizen))


async def sign_out(request: Request) -> Response:
    await sessions.end(api.services(request), request.session, sessions.CITIZENS)
    return api.ok({})


async def reset_password(request: Request) -> Response:
    """``{"phone", "code", "password"}``: a new password; every session of the account
    ends and this client is signed in anew."""
    data = await api.json_body(request)
    done = await accounts.reset_password(
        api.services(request),
        data.get("phone"),
        data.get("code"),
        data.get("password"),
        address=api.client_address(request),
    )
    await _begin(request, done)
    return api.ok(_body(done.citizen))


async def change_phone(request: Request) -> Response:
    """``{"phone", "code"}``: the account moves to the number the change code went to."""
    citizen_id = await _citizen_id(request)
    data = await api.json_body(request)
    await accounts.change_phone(
        api.services(request),
        citizen_id,
        data.get("phone"),
        data.get("code"),
        address=api.client_address(request),
    )
    return api.ok({})


async def me(request: Request) -> Response:
    citizen = await accounts.citizen_by_id(api.services(request), await _citizen_id(request))
    if citizen is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return api.ok(_body(citizen))


async def my_profile(request: Request) -> Response:
    """``GET``: what the signed-in citizen told of themselves; ``PUT {"birth_year",
    "gender", "district", "job"}`` (each may be ``null``) replaces it."""
    citizen_id = await _citizen_id(request)
    svc = api.services(request)
    if request.method == "PUT":
        profile = await eligibility.set_profile(svc, citizen_id, await api.json_body(request))
    else:
        profile = await eligibility.profile_of(svc, citizen_id)
    return api.ok({"profile": profile.as_dict()})


# pages


def _safe_next(value: object) -> str:
    text = str(value or "")
    return text if text.startswith("/") and "//" not in text and "\\" not in text else "/citizen"


def _page(request: Request, name: str, **context: Any) -> Response:
    nxt = _safe_next(request.query_params.get("next"))
    return render(request, f"citizen/{name}.html", {"next": nxt, **context})


async def sign_up_page(request: Request) -> Response:
    return _page(request, "signup")


async def sign_in_page(request: Request) -> Response:
    return _page(request, "signin", provider=oidc.provider_name(api.services(request).settings))


async def reset_page(request: Request) -> Response:
    return _page(request, "reset")


async def account_page(request: Request) -> Response:
    citizen_id = await signed_in(request)
    citizen = None
    if citizen_id is not None:
        citizen = await accounts.citizen_by_id(api.services(request), citizen_id)
    if citizen is None:
        return RedirectResponse("/citizen/signin?next=/citizen", status_code=303)
    changed = request.query_params.get("changed") == "1"
    svc = api.services(request)
    mine = await discovery.listing(svc, citizen_id=citizen.id)
    recent = await discovery.listing(svc)
    voted_ids = await discovery.voted_in(svc, citizen.id, recent)
    voted = [p for p in recent if p.id in voted_ids]
    chosen = await accounts.areas_of(svc, citizen.id)
    areas = [(str(a), AREAS[a], chosen is None or a in chosen) for a in Area]
    return _page(
        request,
        "account",
        citizen=citizen,
        changed=changed,
        mine=mine,
        voted=voted,
        areas=areas,
        profile=await eligibility.profile_of(svc, citizen.id),
        moderated=[
            {**m, "label": ACTION_NAMES.get(m["action"], m["action"])}
            for m in await reports.actions_on(svc, citizen.id)
        ],
        notify=(told := await interests.interests_of(svc, citizen.id)),
        notify_areas={str(a) for a in told.areas or ()},
        genders=GENDER_NAMES,
        districts=DISTRICT_NAMES,
        jobs=JOB_NAMES,
    )


async def sign_out_form(request: Request) -> Response:
    form = await bodies.form(request)
    try:
        await check_csrf(request, form)
    except VotingError:
        return RedirectResponse("/citizen", status_code=303)
    await sessions.end(api.services(request), request.session, sessions.CITIZENS)
    return RedirectResponse("/citizen/signin", status_code=303)


routes = [
    Route("/api/citizens/codes", send_code, methods=["POST"]),
    Route("/api/citizens", sign_up, methods=["POST"]),
    Route("/api/citizens/session", sign_in, methods=["POST"]),
    Route("/api/citizens/session", sign_out, methods=["DELETE"]),
    Route("/api/citizens/password", reset_password, methods=["POST"]),
    Route("/api/citizens/me", me, methods=["GET"]),
    Route("/api/citizens/me/phone", change_phone, methods=["POST"]),
    Route("/api/citizens/me/profile", my_profile, methods=["GET", "PUT"]),
    Route("/citizen", account_page, methods=["GET"]),
    Route("/citizen/signup", sign_up_page, methods=["GET"]),
    Route("/citizen/signin", sign_in_page, methods=["GET"]),
    Route("/citizen/reset", reset_page, methods=["GET"]),
    Route("/citizen/signout", sign_out_form, methods=["POST"]),
]
