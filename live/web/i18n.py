"""Korean and English: the locale of a request, and its translations.

Catalogs are the ``.po`` files under ``live/web/locales``, compiled in memory at start-up, so
there is no build step. The locale comes from ``?lang=``, then the ``mv_lang`` cookie,
then ``Accept-Language``; English is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from http.cookies import SimpleCookie
from typing import Any

from babel import Locale, UnknownLocaleError

from live.catalogs import translations

LOCALES = ("ko", "en")
FALLBACK = "en"
COOKIE = "mv_lang"

_current: ContextVar[str] = ContextVar("mvoting_locale", default=FALLBACK)


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for choice in (query, cookie):
        if choice in LOCALES:
            assert choice is not None
            return choice
    wanted = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            wanted.append(tag)
    try:
        found = Locale.negotiate(wanted, list(LOCALES), sep="_")
    except (ValueError, UnknownLocaleError):
        found = None
    return str(found.language) if found else FALLBACK


def for_environ(environ: dict[str, Any]) -> Callable[[str], str]:
    """The gettext of a socket connection's language: its ``mv_lang`` cookie, then its
    ``Accept-Language`` (a connection has no ``?lang=``; the pages set the cookie)."""
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    chosen = cookie[COOKIE].value if COOKIE in cookie else None
    return translations(negotiate(None, chosen, environ.get("HTTP_ACCEPT_LANGUAGE"))).gettext


def activate(locale: str) -> None:
    _current.set(locale)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)
