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
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from live import logs, metrics, sessions
from live.broadcaster import Broadcaster
from live.fanout import Fanout
from live.services import open_services
from live.settings import Settings
from live.sockets import LiveSockets
from live.web import (
    api,
    citizens,
    comments,
    console,
    draws,
    error_pages,
    export,
    i18n,
    ledger,
    moderation,
    notify,
    oidc,
    openapi,
    pages,
    polls,
    rosters,
    sitecodes,
    words,
)
from live.web.security import SecurityHeaders
from rooms.errors import VotingError

log = logging.getLogger("mvoting")

#: Smaller answers go as they are: gzip's header and a round of CPU would not pay.
GZIP_MINIMUM = 500
#: Compressed formats, and the pages (see ``create_app``).
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, export.XLSX_TYPE, "text/html")


def compression() -> Middleware:
    """Outermost of the pages' and API's: text answers go gzipped to a client that accepts
    it; streamed ones chunk by chunk (each flushed, nothing held back).

    Static files come gzipped already (``live.web.assets``); images and workbooks are
    compressed formats. Pages are not compressed: they hold secrets (room passwords, join
    keys, presenter links, form tokens) beside text from the request's URL, which
    compression would let an eavesdropper guess from the sizes (BREACH). Socket.IO is
    outside this app: Engine.IO compresses its own long-polling answers, and websockets
    are not HTTP."""
    return Middleware(
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM,
        compresslevel=6,
        exclude_content_types=NOT_COMPRESSED,
    )


def create_app(settings: Settings) -> Any:
    """The ASGI app of one web node. Its lifespan opens Redis and the archive."""
    live = LiveSockets(localize=i18n.for_environ)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as svc:
            broadcaster = Broadcaster(svc)
            live.attach(svc, broadcaster)
            fanout = Fanout(svc, live.deliver, resumed=live.resync)
            tasks = [
                asyncio.create_task(broadcaster.run(), name="broadcaster"),
                asyncio.create_task(fanout.run(), name="fanout"),
            ]
            if live.audience is not None:
                tasks.append(asyncio.create_task(live.audience.run(), name="audience"))
            await asyncio.wait_for(fanout.ready.wait(), 10)
            app.state.services = svc
            try:
                yield
            finally:
                app.state.services = None
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if live.audience is not None:
                    await live.audience.close()
                metrics.process_stopped()

    app = Starlette(
        routes=[
            *api.routes,
            *openapi.routes,
            *citizens.routes,
            *oidc.routes,
            *polls.routes,
            *rosters.routes,
            *comments.routes,
            *moderation.routes,
            *words.ROUTES,
            *ledger.routes,
            *draws.routes,
            *notify.ROUTES,
            *sitecodes.routes,
            *pages.routes,
            *console.routes,
            *metrics.routes,
        ],
        middleware=[
            compression(),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret.reveal().decode(),
                session_cookie=sessions.COOKIE,
                same_site="lax",
                # The cookie only names a server-side session (``live.sessions``), which
                # ends with it, or sooner on sign-out, a password change or an operator.
                max_age=settings.session_days * 86400,
                # Behind TLS (a public https URL) the session cookie is Secure.
                https_only=(settings.public_url or "").startswith("https://"),
            ),
            Middleware(pages.LocaleMiddleware),
        ],
        exception_handlers={VotingError: api.handle_voting_error, **error_pages.HANDLERS},
        lifespan=lifespan,
    )
    app.state.services = None
    app.state.live = live
    # Outermost, so that Socket.IO's polling responses get the headers and checks too, and
    # every line logged for a request (its refusal included) names the request.
    return logs.RequestIds(SecurityHeaders(socketio.ASGIApp(live.sio, other_asgi_app=app)))
