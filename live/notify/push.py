"""Web Push (RFC 8030) with VAPID (RFC 8292) and message encryption (RFC 8291), by
pywebpush.

The VAPID key pair is derived from the server's secret (HKDF-SHA256, its own label),
so every node of a deployment signs with the same key, and no file is kept for it;
browsers are given its public half (``GET /api/push/key``) when they subscribe.
Changing the secret changes the key: browsers then subscribe anew.

A browser's subscription names the push service's endpoint the server POSTs to. On a
deployment behind TLS (an ``https`` public URL) only ``https`` endpoints of the known
push services are taken, so that a subscription cannot make the server send requests
elsewhere; a development server (no public URL, or an ``http`` one) takes any ``http``
or ``https`` endpoint, a local push service's too. A 404 or 410 from the push service
means the subscription is gone: it is deleted. Other failures are counted, and a
subscription that failed ``MAX_FAILURES`` times in a row is deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from live.clock import new_id, now_ms
from live.engines import db
from live.services import Services
from rooms.errors import N_, bad_request

log = logging.getLogger("mvoting.push")

#: The hosts (and their subdomains) of the browsers' push services.
PUSH_SERVICES = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)
MAX_ENDPOINT = 1000
#: Browsers a citizen may subscribe at once; a new one past them replaces the oldest.
MAX_PER_CITIZEN = 10
MAX_FAILURES = 5
#: Push requests in flight at once (one job).
CONCURRENCY = 64
#: How long a push service keeps a message for a browser that is offline (seconds).
TTL_S = 24 * 3600
TIMEOUT_S = 10

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's order


def vapid_private_key(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The deployment's VAPID key: a P-256 scalar derived from the server's secret."""
    okm = HKDF(hashes.SHA256(), 48, salt=b"mvoting", info=b"mvoting vapid key v1").derive(secret)
    return ec.derive_private_key(int.from_bytes(okm, "big") % (_N - 1) + 1, ec.SECP256R1())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(svc: Services) -> str:
    """The VAPID public key as browsers take it (``applicationServerKey``): base64url
    of the uncompressed point."""
    raw = (
        vapid_private_key(svc.secret)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return _b64(raw)


def _subject(svc: Services) -> str:
    url = svc.settings.public_url or ""
    host = urlsplit(url).hostname
    if url.startswith("https://") and host and "." in host:
        return f"https://{host}"
    return "mailto:webpush@mvoting.localhost"


def _secure(svc: Services) -> bool:
    return (svc.settings.public_url or "").startswith("https://")


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def check_endpoint(svc: Services, value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ENDPOINT:
        raise bad_request(N_("endpoint is the push service's URL"))
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        raise bad_request(N_("endpoint is the push service's URL")) from None
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise bad_request(N_("endpoint is the push service's URL"))
    if _secure(svc) and (
        parts.scheme != "https"
        or not any(host == s or host.endswith("." + s) for s in PUSH_SERVICES)
    ):
        raise bad_request(N_("endpoint is not a known push service's"))
    return value


def check_subscription(svc: Services, data: dict[str, Any]) -> Subscription:
    """A browser's ``PushSubscription.toJSON()``: ``{"endpoint", "keys": {"p256dh",
    "auth"}, "expirationTime"?}``; its key is a point of P-256, its secret 16 bytes."""
    if set(data) - {"endpoint", "keys", "expirationTime"}:
        raise bad_request(N_("a subscription has endpoint, keys and expirationTime"))
    endpoint = check_endpoint(svc, data.get("endpoint"))
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise bad_request(N_("keys is an object of p256dh and auth"))
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        if not isinstance(p256dh, str) or not isinstance(auth, str) or len(p256dh) > 120:
            raise ValueError
        point = _unb64(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65 or len(_unb64(auth)) != 16:
            raise ValueError
    except (ValueError, binascii.Error):
        raise bad_request(N_("keys is an object of p256dh and auth")) from None
    return Subscription(endpoint, p256dh, auth)


async def subscribe(svc: Services, citizen_id: str, data: dict[str, Any]) -> str:
    """Keep the browser's subscription for the citizen (an endpoint kept for another
    account moves to this one); its id."""
    sub = check_subscription(svc, data)
    t = db.push_subscriptions
    sub_id = new_id()
    async with svc.engine.begin() as conn:
        await conn.execute(t.delete().where(t.c.endpoint == sub.endpoint))
        await conn.execute(
            t.insert().values(
                id=sub_id,
                citizen_id=citizen_id,
                endpoint=sub.endpoint,
                p256dh=sub.p256dh,
                auth=sub.auth,
                created_ms=now_ms(),
                failures=0,
            )
        )
        kept = (
            (
                await conn.execute(
                    sa.select(t.c.id)
                    .where(t.c.citizen_id == citizen_id)
                    .order_by(t.c.created_ms.desc(), t.c.id.desc())
                    .offset(MAX_PER_CITIZEN)
                )
            )
            .scalars()
            .all()
        )
        if kept:
            await conn.execute(t.delete().where(t.c.id.in_(kept)))
    return sub_id


async def unsubscribe(svc: Services, citizen_id: str, data: dict[str, Any]) -> bool:
    """Forget the citizen's subscription of ``{"endpoint"}``; whether there was one."""
    if set(data) - {"endpoint", "keys", "expirationTime"}:
        raise bad_request(N_("a subscription has endpoint, keys and expirationTime"))
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT:
        raise bad_request(N_("endpoint is the push service's URL"))
    t = db.push_subscriptions
    async with svc.engine.begin() as conn:
        done = await conn.execute(
            t.delete().where(t.c.endpoint == endpoint, t.c.citizen_id == citizen_id)
        )
    return bool(done.rowcount)


@dataclass
class PushCounts:
    sent: int = 0
    gone: int = 0  #: subscriptions deleted (404/410, or too many failures)
    failed: int = 0


class PushSender:
    """Sends one job's messages over one HTTP session, ``CONCURRENCY`` at a time."""

    def __init__(self, svc: Services, *, concurrency: int = CONCURRENCY) -> None:
        self.svc = svc
        self.vapid = Vapid(private_key=vapid_private_key(svc.secret))
        self.subject = _subject(svc)
        self._limit = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self.counts = PushCounts()

    async def __aenter__(self) -> PushSender:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            connector=aiohttp.TCPConnector(limit=CONCURRENCY),
        )
        return self

    async def __aexit__(self, *_: Any) -> None:
        if self._session is not None:
            await self._session.close()

    async def send_to(self, citizen_ids: list[str], payloads: dict[str, bytes]) -> None:
        """Send each citizen's payload to each of their subscriptions."""
        if not citizen_ids:
            return
        t = db.push_subscriptions
        async with self.svc.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.c.id, t.c.citizen_id, t.c.endpoint, t.c.p256dh, t.c.auth).where(
                        t.c.citizen_id.in_(citizen_ids)
                    )
                )
            ).all()
        if not rows:
            return
        outcomes = await asyncio.gather(
            *(
                self._send(Subscription(r.endpoint, r.p256dh, r.auth), payloads[r.citizen_id])
                for r in rows
            )
        )
        gone = [r.id for r, o in zip(rows, outcomes, strict=True) if o == "gone"]
        failed = [r.id for r, o in zip(rows, outcomes, strict=True) if o == "failed"]
        sent = [r.id for r, o in zip(rows, outcomes, strict=True) if o == "sent"]
        self.counts.sent += len(sent)
        async with self.svc.engine.begin() as conn:
            if gone:
                await conn.execute(t.delete().where(t.c.id.in_(gone)))
            if failed:
                await conn.execute(
                    t.update().where(t.c.id.in_(failed)).values(failures=t.c.failures + 1)
                )
                dropped = await conn.execute(
                    t.delete().where(t.c.id.in_(failed), t.c.failures >= MAX_FAILURES)
                )
                gone_more = dropped.rowcount or 0
                self.counts.gone += gone_more
                self.counts.failed += len(failed) - gone_more
            if sent:
                await conn.execute(
                    t.update().where(t.c.id.in_(sent), t.c.failures > 0).values(failures=0)
                )
        self.counts.gone += len(gone)

    async def _send(self, sub: Subscription, payload: bytes) -> str:
        async with self._limit:
            try:
                await webpush_async(
                    sub.info(),
                    payload.decode(),
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},  # aud: the endpoint's origin
                    ttl=TTL_S,
                    headers={"Urgency": "normal"},
                    aiohttp_session=self._session,
                    timeout=TIMEOUT_S,
                )
                return "sent"
            except WebPushException as exc:
                status = exc.response.status if exc.response is not None else None
                if status in (404, 410):
                    return "gone"
                log.info("a push to %s failed: %s", urlsplit(sub.endpoint).hostname, status)
                return "failed"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.info(
                    "a push to %s failed (%s)", urlsplit(sub.endpoint).hostname, type(exc).__name__
                )
                return "failed"


def payload(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)
