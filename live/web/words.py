"""The prohibited words over HTTP, for monitors: the ``/monitor/words`` page and
``GET``/``POST``/``DELETE /api/moderation/words`` (``live.moderation.words``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.moderation import words
from live.web import api, i18n
from live.web.moderation import moderator, refused_page
from live.web.pages import render
from rooms.errors import N_, bad_request
from rooms.prohibited import ALLOWED_MARK, MAX_WORD


def _asked(body: dict[str, Any]) -> list[object]:
    """The words of a body: ``{"word": "...", "allowed": false}`` or ``{"words": [...]}``
    (each "+word" if allowed)."""
    if "words" in body:
        many = body["words"]
        if not isinstance(many, list):
            raise bad_request(N_("{name} must be a list"), name="words")
        return list(many)
    word, allowed = body.get("word"), body.get("allowed", False)
    if not isinstance(allowed, bool):
        raise bad_request(N_("{name} must be true or false"), name="allowed")
    if isinstance(word, str) and allowed and not word.startswith(ALLOWED_MARK):
        word = ALLOWED_MARK + word.strip()
    return [word]


async def _listing(request: Request) -> list[dict[str, Any]]:
    return [w.as_dict() for w in await words.listed(api.services(request))]


async def list_words(request: Request) -> Response:
    """``GET /api/moderation/words``: every listed word, prohibited ones first."""
    await moderator(request)
    return api.ok({"words": await _listing(request)})


async def add_words(request: Request) -> Response:
    """``POST /api/moderation/words`` ``{"word", "allowed"}``: the words newly listed."""
    who = await moderator(request)
    body = await api.json_body(request)
    added = await words.add(api.services(request), _asked(body), by=who.actor)
    return api.ok({"added": added, "words": await _listing(request)}, 201 if added else 200)


async def remove_words(request: Request) -> Response:
    """``DELETE /api/moderation/words`` ``{"word", "allowed"}``: the words taken off."""
    who = await moderator(request)
    body = await api.json_body(request)
    removed = await words.remove(api.services(request), _asked(body), by=who.actor)
    return api.ok({"removed": removed, "words": await _listing(request)})


async def words_page(request: Request) -> Response:
    """``/monitor/words``: the list, a form to add, a button to remove each."""
    if (refused := await refused_page(request)) is not None:
        return refused
    _ = i18n.gettext
    strings = {
        "added": _("Added: {word}"),
        "removed": _("Removed: {word}"),
        "already": _("“{word}” is listed already."),
        "remove": _("Remove"),
        "remove_word": _("Remove “{word}”"),
        "allowed": _("Allowed"),
        "empty": _("No words are listed yet."),
    }
    listing = await words.listed(api.services(request))
    return render(
        request,
        "monitor/words.html",
        {
            "words": listing,
            "max_word": MAX_WORD,
            "page_data": {"strings": strings},
        },
    )


ROUTES = [
    Route("/monitor/words", words_page, methods=["GET"]),
    Route("/api/moderation/words", list_words, methods=["GET"]),
    Route("/api/moderation/words", add_words, methods=["POST"]),
    Route("/api/moderation/words", remove_words, methods=["DELETE"]),
]
