"""A real local Web Push service for the tests: an HTTP server that takes push
requests as a browser vendor's service does (RFC 8030), checks their VAPID
authorization (RFC 8292: an ES256 JWT whose ``aud`` is this service's origin, signed by
the key ``k`` it names, not expired) and decrypts their ``aes128gcm`` bodies (RFC 8188,
RFC 8291) with the private key and auth secret of the subscription it made, recording
each message. Written on ``cryptography`` alone, apart from the sender's libraries.

``subscribe()`` makes a subscription as a browser's ``PushSubscription.toJSON()``
gives it; ``gone(endpoint)`` makes the service answer 410 for it from then on.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def check_vapid(header: str, origin: str) -> dict[str, Any]:
    """The claims of a valid ``Authorization: vapid t=<JWT>,k=<key>``; else ``Refused``."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, f"not a vapid authorization: {header[:20]!r}")
    params = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    if "t" not in params or "k" not in params:
        raise Refused(401, "vapid needs t and k")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(params["k"]))
    head, body, sig = params["t"].split(".")
    if json.loads(unb64(head)) != {"typ": "JWT", "alg": "ES256"}:
        raise Refused(401, f"JWT header {unb64(head)!r}")
    raw = unb64(sig)
    if len(raw) != 64:
        raise Refused(401, "an ES256 signature is 64 bytes")
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    try:
        key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(403, "bad JWT signature") from None
    claims: dict[str, Any] = json.loads(unb64(body))
    if claims.get("aud") != origin:
        raise Refused(403, f"aud {claims.get('aud')!r} is not {origin!r}")
    now = time.time()
    if not now < claims.get("exp", 0) <= now + 24 * 3600:
        raise Refused(403, "exp is not within 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
        raise Refused(403, "sub is a mailto: or https: contact")
    claims["k"] = params["k"]
    return claims


def _hkdf(salt: bytes, info: bytes, length: int, ikm: bytes) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, private: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """RFC 8291 over RFC 8188's aes128gcm: header salt(16) rs(4) idlen(1) keyid, then
    records of ``rs`` bytes, each AES-128-GCM with its padding delimiter."""
    salt, rs, idlen = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    sender = body[21 : 21 + idlen]
    records = body[21 + idlen :]
    if idlen != 65 or rs < 18:
        raise Refused(400, "the keyid is the sender's P-256 public key")
    sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
    shared = private.exchange(ec.ECDH(), sender_key)
    info = b"WebPush: info\x00" + _point(private.public_key()) + sender
    ikm = _hkdf(auth, info, 32, shared)
    cek = _hkdf(salt, b"Content-Encoding: aes128gcm\x00", 16, ikm)
    base = _hkdf(salt, b"Content-Encoding: nonce\x00", 12, ikm)
    out = b""
    chunks = [records[i : i + rs] for i in range(0, len(records), rs)]
    for seq, chunk in enumerate(chunks):
        nonce = (int.from_bytes(base) ^ seq).to_bytes(12)
        plain = AESGCM(cek).decrypt(nonce, chunk, None).rstrip(b"\x00")
        last = seq == len(chunks) - 1
        if not plain or plain[-1] != (2 if last else 1):
            raise Refused(400, "bad padding delimiter")
        out += plain[:-1]
    return out


@dataclass
class Message:
    endpoint: str
    data: bytes
    claims: dict[str, Any]
    ttl: int
    urgency: str | None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class _Sub:
    private: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class PushService:
    origin: str = ""
    messages: list[Message] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    _subs: dict[str, _Sub] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)

    def subscribe(self) -> dict[str, Any]:
        """A new subscription, as ``PushSubscription.toJSON()``."""
        token = b64(os.urandom(12))
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self._subs[token] = _Sub(private, auth)
        return {
            "endpoint": f"{self.origin}/push/{token}",
            "expirationTime": None,
            "keys": {"p256dh": b64(_point(private.public_key())), "auth": b64(auth)},
        }

    def gone(self, endpoint: str) -> None:
        self._gone.add(endpoint.rsplit("/", 1)[1])

    def to(self, endpoint: str) -> list[Message]:
        return [m for m in self.messages if m.endpoint == endpoint]

    async def _push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        endpoint = f"{self.origin}/push/{token}"
        try:
            if token in self._gone or token not in self._subs:
                raise Refused(410, "subscription gone")
            claims = check_vapid(request.headers.get("Authorization", ""), self.origin)
            ttl = request.headers.get("TTL")
            if ttl is None or not ttl.isdigit():
                raise Refused(400, "TTL is required (RFC 8030)")
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise Refused(415, "aes128gcm only")
            body = await request.read()
            if len(body) > 4096:
                raise Refused(413, "a push message is at most 4096 bytes")
            sub = self._subs[token]
            data = decrypt(body, sub.private, sub.auth)
        except Refused as exc:
            self.refused.append((exc.status, str(exc)))
            return web.Response(status=exc.status, text=str(exc))
        self.messages.append(
            Message(endpoint, data, claims, int(ttl), request.headers.get("Urgency"))
        )
        return web.Response(
            status=201, headers={"Location": f"{self.origin}/m/{len(self.messages)}"}
        )


@contextlib.asynccontextmanager
async def running_push_service() -> AsyncIterator[PushService]:
    service = PushService()
    app = web.Application()
    app.router.add_post("/push/{token}", service._push)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service.origin = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()
