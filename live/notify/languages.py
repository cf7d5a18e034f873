"""The language each citizen chose on the site (``?lang=``, the ``mv_lang`` cookie, else
their browser's, as ``live.web.i18n`` chooses a page's), as told by their last request
that set up their notifications (saving what they are notified of, allowing a device):
their push messages are written in it.

Kept in one Valkey hash, citizen id -> language. A citizen not in it (or a Valkey that
lost it) is sent the message in every language, and the service worker picks one.
"""

from __future__ import annotations

from live.services import Services

LANGUAGES = ("en", "ko")


async def remember(svc: Services, citizen_id: str, lang: str) -> None:
    if lang in LANGUAGES:
        await svc.redis.hset(svc.keys.notify_languages(), citizen_id, lang)


async def chosen(svc: Services, citizen_ids: list[str]) -> dict[str, str]:
    """The languages known of these citizens (those not known are left out)."""
    if not citizen_ids:
        return {}
    found = await svc.redis.hmget(svc.keys.notify_languages(), citizen_ids)
    return {c: lang for c, lang in zip(citizen_ids, found, strict=True) if lang in LANGUAGES}
