"""The translations of every process: the ``.po`` catalogs under ``live/web/locales``,
compiled in memory once per locale, with no build step. The web edge chooses a request's
locale (``live.web.i18n``); jobs such as notifications use these catalogs directly."""

from __future__ import annotations

import gettext as _gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "web" / "locales"


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)
