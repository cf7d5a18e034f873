"""Citizens' sign-in through an outside OpenID Connect provider (``MVOTING_OIDC_*``), with
authlib: discovery, the authorization code flow with PKCE, and the ID token's checks
(issuer, audience, expiry, nonce) are authlib's.

The provider's account (issuer, subject) is linked to a citizen the first time: the
callback keeps the pending login in the session for ten minutes, and the link page proves
a mobile number with a code (purpose ``link``, bound to that login). The number's
account gets the link; a number with no account gets a new one, with no password. From
then on the provider's sign-in alone signs the citizen in.
"""

from __future__ import annotations

import logging
import warnings
from functools import cache
from typing import Any

from authlib.deprecate import AuthlibDeprecationWarning
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live import sessions
from live.citizens import accounts
from live.clock import now_ms
from live.settings import Settings
from live.web import api
from live.web.pages import error_text, render
from rooms.errors import N_, ErrorCode, VotingError, invalid_state

with warnings.catch_warnings():
    # authlib 1.9 warns that it will want httpx2 instead of httpx; httpx serves it now.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.starlette_client import OAuth

log = logging.getLogger("mvoting.oidc")

#: Session field of a provider's account waiting to be linked to a number.
PENDING = "oidc_pending"
#: How long the link page may take (ms).
PENDING_MS = 10 * 60_000
NAME = "provider"


@cache
def _oauth(issuer: str, client_id: str, secret: bytes) -> Any:
    oauth = OAuth()
    oauth.register(
        NAME,
        client_id=client_id,
        client_secret=secret.decode(),
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    return oauth.create_client(NAME)


def client_of(settings: Settings) -> Any | None:
    if not settings.oidc_issuer:
        return None
    return _oauth(
        settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret.reveal()
    )


def pending_login(request: Request) -> accounts.Login | None:
    """The provider's account this browser signed in with and has still to link."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict) or not isinstance(data.get("until"), int):
        return None
    if data["until"] < now_ms():
        request.session.pop(PENDING, None)
        return None
    return accounts.Login(str(data["iss"]), str(data["sub"]), str(data.get("name", "")))


def _next(value: object) -> str:
    text = str(value or "")
    return text if text.startswith("/") and "//" not in text and "\\" not in text else "/citizen"


async def start(request: Request) -> Response:
    svc = api.services(request)
    client = client_of(svc.settings)
    if client is None:
        return render(request, "error.html", {"message": error_text(_not_configured())}, 404)
    request.session["oidc_next"] = _next(request.query_params.get("next"))
    base = svc.settings.public_url or str(request.base_url).rstrip("/")
    try:
        response: Response = await client.authorize_redirect(
            request, f"{base}/citizen/oidc/callback"
        )
    except Exception as exc:  # the provider's discovery did not answer
        log.warning("the identity provider did not answer (%s)", type(exc).__name__)
        return render(
            request, "error.html", {"message": error_text(VotingError(ErrorCode.UNAVAILABLE))}, 503
        )
    return response


def _not_configured() -> VotingError:
    return invalid_state(N_("Signing in with another account is not set up here."))


async def callback(request: Request) -> Response:
    svc = api.services(request)
    client = client_of(svc.settings)
    if client is None:
        return render(request, "error.html", {"message": error_text(_not_configured())}, 404)
    try:
        token = await client.authorize_access_token(request)
    except (OAuthError, ValueError, KeyError) as exc:
        log.info("an outside sign-in was refused (%s)", type(exc).__name__)
        err = invalid_state(N_("The sign-in with the other account did not succeed; try again."))
        return render(request, "error.html", {"message": error_text(err)}, 400)
    claims = token.get("userinfo") or {}  # the ID token's claims, checked by authlib
    name = claims.get("name")
    if name is None:  # many providers give the profile at the userinfo endpoint only
        try:
            extra = await client.userinfo(token=token)
            if extra.get("sub") == claims["sub"]:
                name = extra.get("name")
        except Exception as exc:
            log.info("the provider's userinfo did not answer (%s)", type(exc).__name__)
    login = accounts.Login(str(claims["iss"]), str(claims["sub"]), str(name or ""))
    nxt = _next(request.session.pop("oidc_next", None))
    citizen = await accounts.citizen_of_login(svc, login)
    if citizen is not None:
        generation = await sessions.generation(svc, citizen.id, sessions.CITIZENS)
        await sessions.begin(svc, request.session, citizen.id, generation, sessions.CITIZENS)
        return RedirectResponse(nxt, status_code=303)
    request.session[PENDING] = {
        "iss": login.issuer,
        "sub": login.subject,
        "name": login.name[:100],
        "until": now_ms() + PENDING_MS,
    }
    return RedirectResponse(f"/citizen/link?next={nxt}", status_code=303)


async def link_page(request: Request) -> Response:
    svc = api.services(request)
    if pending_login(request) is None:
        return RedirectResponse("/citizen/signin", status_code=303)
    return render(
        request,
        "citizen/link.html",
        {"provider": svc.settings.oidc_name, "next": _next(request.query_params.get("next"))},
    )


async def link(request: Request) -> Response:
    """``POST {"phone", "code"}``: the pending outside account linked to the number."""
    login = pending_login(request)
    if login is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    data = await api.json_body(request)
    svc = api.services(request)
    done = await accounts.link_login(
        svc, login, data.get("phone"), data.get("code"), address=api.client_address(request)
    )
    request.session.pop(PENDING, None)
    await sessions.begin(svc, request.session, done.citizen.id, done.generation, sessions.CITIZENS)
    return api.ok({"citizen": {"id": done.citizen.id, "name": done.citizen.name}})


def provider_name(settings: Settings) -> str | None:
    """The name on the sign-in button, if a provider is set up."""
    return settings.oidc_name or None if settings.oidc_issuer else None


routes = [
    Route("/citizen/oidc/start", start, methods=["GET"]),
    Route("/citizen/oidc/callback", callback, methods=["GET"]),
    Route("/citizen/link", link_page, methods=["GET"]),
    Route("/api/citizens/link", link, methods=["POST"]),
]
