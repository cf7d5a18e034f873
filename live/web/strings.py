"""The live scripts' words, served as a script of their own per language.

A live page's words (its statuses, refusals, the kinds' forms) are the same on every page of
that kind in one language: some 8 KB in English, 10 KB in Korean. Inside the page they are
sent again with every page and never compressed (pages are not, ``live.app``'s BREACH
note). As ``/strings/live.ko.<hash>.js`` they are gzipped once, cached for a year, and
shared by the phone's page, the presenter screen, the console and a poll's page.

The file sets ``window.mvStrings``; ``common.js`` reads it beneath the page's own
``strings`` (a page's own words win). Its name carries its set, its language and a hash of
its content, so every node builds the same file for the same release, and a page from a
node on another release still gets its words (the current ones, cached briefly).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from live.web import i18n
from live.web.assets import Asset, answer, asset_of

_FILE = re.compile(r"(?P<set>[a-z]+)\.(?P<lang>[a-z]{2})(?:\.(?P<hash>[0-9a-f]{12}))?\.js")


class StringSets:
    """Named sets of words, each a function that says them in the current language."""

    def __init__(self) -> None:
        self._sets: dict[str, Callable[[], dict[str, Any]]] = {}
        self._built: dict[tuple[str, str], Asset] = {}  # bounded: sets × LOCALES

    def add(self, name: str, words: Callable[[], dict[str, Any]]) -> None:
        self._sets[name] = words

    def asset(self, name: str, lang: str) -> Asset | None:
        if name not in self._sets or lang not in i18n.LOCALES:
            return None
        built = self._built.get((name, lang))
        if built is None:
            before = i18n.current()
            i18n.activate(lang)
            try:
                words = self._sets[name]()
            finally:
                i18n.activate(before)
            body = b"window.mvStrings=" + orjson.dumps(words, option=orjson.OPT_SORT_KEYS) + b";\n"
            built = self._built[(name, lang)] = asset_of(f"{name}.{lang}.js", body)
        return built

    def url(self, name: str) -> str:
        """The script of the set ``name`` in the page's language (a template global)."""
        lang = i18n.current()
        asset = self.asset(name, lang)
        if asset is None:
            raise LookupError(f"no set of words {name!r}")
        return f"/strings/{name}.{lang}.{asset.digest}.js"

    async def serve(self, request: Request) -> Response:
        found = _FILE.fullmatch(request.path_params["file"])
        asset = None if found is None else self.asset(found["set"], found["lang"])
        if found is None or asset is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        return answer(request, asset, found["hash"] == asset.digest)


#: The deployment's sets; a page names its set as ``page_strings``.
string_sets = StringSets()
