"""A real SMS gateway for the tests: an HTTP server on a free port that takes
``POST {"to", "text"}`` with a bearer token, as a gateway behind a thin adapter does, and
keeps what it was sent. ``failing`` makes it answer 500."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests import secrets_seen

TOKEN = "gateway-token"


@dataclass
class Gateway:
    url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False

    def codes_to(self, to: str) -> list[str]:
        """The codes of the messages sent to the E.164 number ``to``, oldest first."""
        found = []
        for m in self.messages:
            if m["to"] == to:
                match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", m["text"])
                assert match, m["text"]
                found.append(match.group(1))
        return found

    def last_code(self, to: str) -> str:
        codes = self.codes_to(to)
        assert codes, f"no message went to the number (of {len(self.messages)})"
        return codes[-1]


@contextlib.asynccontextmanager
async def running_gateway() -> AsyncIterator[Gateway]:
    gateway = Gateway()
    secrets_seen.saw("the SMS gateway's token", TOKEN)

    async def take(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "bad token"}, status=401)
        if gateway.failing:
            return web.json_response({"error": "down"}, status=500)
        body = await request.json()
        assert set(body) == {"to", "text"}, body
        secrets_seen.saw_phone(body["to"])
        gateway.messages.append(body)
        return web.json_response({"accepted": True})

    app = web.Application()
    app.router.add_post("/messages", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    gateway.url = f"http://127.0.0.1:{port}/messages"
    try:
        yield gateway
    finally:
        await runner.cleanup()
