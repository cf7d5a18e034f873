"""The app factory: a Starlette app for pages and the JSON API, wrapped by Socket.IO."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from live.broadcaster import Broadcaster
from live.fanout import Fanout
from live.services import open_services
from live.settings import Settings
from live.sockets import LiveSockets
from live.web import api, console, i18n, ledger, pages
from live.web.security import SecurityHeaders
from rooms.errors import VotingError

log = logging.getLogger("mvoting")


def create_app(settings: Settings) -> Any:
    """The ASGI app of one web node. Its lifespan opens Redis and the archive."""
    live = LiveSockets(localize=i18n.for_environ)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as svc:
            broadcaster = Broadcaster(svc)
            live.attach(svc, broadcaster)
            fanout = Fanout(svc, live.deliver)
            tasks = [
                asyncio.create_task(broadcaster.run(), name="broadcaster"),
                asyncio.create_task(fanout.run(), name="fanout"),
            ]
            await asyncio.wait_for(fanout.ready.wait(), 10)
            app.state.services = svc
            try:
                yield
            finally:
                app.state.services = None
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app = Starlette(
        routes=[*api.routes, *ledger.routes, *pages.routes, *console.routes],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret.reveal().decode(),
                session_cookie="mv_session",
                same_site="lax",
                # The cookie only names a server-side session (``live.sessions``), which
                # ends with it, or sooner on sign-out, a password change or an operator.
                max_age=settings.session_days * 86400,
                # Behind TLS (a public https URL) the session cookie is Secure.
                https_only=(settings.public_url or "").startswith("https://"),
            ),
            Middleware(pages.LocaleMiddleware),
        ],
        exception_handlers={VotingError: api.handle_voting_error},
        lifespan=lifespan,
    )
    app.state.services = None
    app.state.live = live
    # Outermost, so that Socket.IO's polling responses get the headers and checks too.
    return SecurityHeaders(socketio.ASGIApp(live.sio, other_asgi_app=app))
