"""Witness cosignatures, cosignature/v1 (https://c2sp.org/tlog-cosignature, Ed25519).

A cosignature is a note signature line on a checkpoint, by a witness key of signature
type 0x04: the key ID is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4] ("Format"), and
the signature is a ``timestamped_signature``: an 8-byte big-endian POSIX timestamp (at
most 2^63 - 1) followed by a 64-byte Ed25519 signature of ("Ed25519 signed message")::

    cosignature/v1
    time <timestamp, ASCII decimal>
    <the whole checkpoint text, extension lines included>

Only the Ed25519 type is here; the spec's ML-DSA-44 subtree type (0x06) is not. A witness
vkey is ``<name>+<hex key ID>+base64(0x04 ‖ public key)``; a witness's signer key is an
ordinary Go-format Ed25519 skey (``rooms.tlog.notes``), as witness software keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.errors import BadSignatureError, NoteKeyError
from rooms.tlog.notes import (
    SIGNATURE_COSIGNATURE_V1,
    NoteSigner,
    Signature,
    VerifierKey,
    ed25519_verifies,
    parse_skey,
    public_bytes,
)

#: The largest timestamp a cosignature may carry.
MAX_TIMESTAMP = 2**63 - 1

_SIGNATURE_SIZE = 8 + 64


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, then the checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def cosignature_timestamp(signature: Signature) -> int:
    """The time a cosignature/v1 signature claims (check the signature before trusting it)."""
    if len(signature.signature) != _SIGNATURE_SIZE:
        raise BadSignatureError(f"{signature.name} did not sign a cosignature/v1 signature")
    return int.from_bytes(signature.signature[:8], "big")


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """Verifies one witness's cosignature/v1 signatures (type 0x04)."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise NoteKeyError(f"an Ed25519 public key has 32 bytes, not {len(self.public_key)}")
        vkey = VerifierKey(self.name, SIGNATURE_COSIGNATURE_V1, self.public_key)
        object.__setattr__(self, "key_id", vkey.key_id)
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """The verifier a type-0x04 vkey names."""
        parsed = VerifierKey.parse(vkey)
        if parsed.signature_type != SIGNATURE_COSIGNATURE_V1:
            raise NoteKeyError(f"not a cosignature/v1 witness key (type 0x04): {vkey!r}")
        return cls(parsed.name, parsed.public_key)

    def vkey(self) -> str:
        return str(VerifierKey(self.name, SIGNATURE_COSIGNATURE_V1, self.public_key))

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != _SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return ed25519_verifies(self._key, cosigned_message(text, timestamp), signature[8:])


class Cosigner:
    """A witness's cosignature/v1 key. Its repr never shows the private key."""

    __slots__ = ("_key", "key_id", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.name = name
        self.key_id = self.verifier().key_id

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        """A new random key (from the operating system's generator)."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        """The cosigner of a Go-format Ed25519 skey (type 0x01 there; 0x04 in signatures)."""
        return cls(*parse_skey(skey))

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, public_bytes(self._key))

    def vkey(self) -> str:
        return self.verifier().vkey()

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> Signature:
        """The signature line that cosigns ``checkpoint`` as of ``timestamp``."""
        return Signature(self.name, self.key_id, self._sign(checkpoint.text().encode(), timestamp))

    def at(self, timestamp: int) -> NoteSigner:
        """A note signer that cosigns checkpoint texts as of ``timestamp``."""
        return _TimedCosigner(self, timestamp)

    def _sign(self, text: bytes, timestamp: int) -> bytes:
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise ValueError(f"a cosignature timestamp is between 0 and 2^63 - 1: {timestamp}")
        Checkpoint.parse(text.decode())  # a witness cosigns checkpoints and nothing else
        signature = self._key.sign(cosigned_message(text, timestamp))
        return timestamp.to_bytes(8, "big") + signature

    def __repr__(self) -> str:
        return f"Cosigner({self.name!r}, key_id={self.key_id:08x})"


@dataclass(frozen=True, slots=True)
class _TimedCosigner:
    cosigner: Cosigner
    timestamp: int

    @property
    def name(self) -> str:
        return self.cosigner.name

    @property
    def key_id(self) -> int:
        return self.cosigner.key_id

    def sign(self, text: bytes) -> bytes:
        return self.cosigner._sign(text, self.timestamp)
