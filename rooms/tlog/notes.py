"""C2SP signed notes (https://c2sp.org/signed-note): text signed by one or more keys.

A note is its text (ending in a newline), a blank line, then one or more signature lines::

    — <key name> base64(32-bit key ID ‖ signature)

The whole note is UTF-8 without control characters other than newline ("Format"). The
text ends at the *last* blank line. The key ID is the first four bytes of
SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key) ("Signatures"); a verifier key
(vkey) is ``<name>+<hex key ID>+base64(signature type ‖ public key)`` ("Verifier keys").

``open_note`` applies the spec's rules for readers: signatures by unknown keys are kept
aside unverified, even if they share a name or an ID (but not both) with a known key; a
known key's signature that fails refuses the whole note (``BadSignatureError``); a note
with no valid signature from a known key is refused (``UnverifiedNoteError``). Base64 must
be canonical, and at most ``MAX_SIGNATURES`` signature lines are read.

Signature type 0x01, Ed25519 over the note text, lives here (``Ed25519Signer`` and
``Ed25519Verifier``); type 0x04, witness cosignatures, in ``rooms.tlog.cosignature``. Signer
keys (skeys) use the format of Go's golang.org/x/mod/sumdb/note, which witness and log
software reads: ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 ‖ 32-byte seed)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rooms.tlog._text import decode_base64, encode_base64
from rooms.tlog.errors import (
    BadSignatureError,
    MalformedNoteError,
    NoteError,
    NoteKeyError,
)

#: Signature type byte of Ed25519 note signatures ("Signature types").
SIGNATURE_ED25519 = 0x01
#: Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature).
SIGNATURE_COSIGNATURE_V1 = 0x04

#: Signature lines read from one note; the spec asks verifiers to accept at least 16.
MAX_SIGNATURES = 100

_DASH = "\u2014 "  # em dash and space open every signature line
_KEY_ID = re.compile(r"[0-9a-f]{8}")
_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64


class NoteVerifier(Protocol):
    """A public key that checks the signatures of one (name, key ID)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (after the key ID) signs the note ``text``."""
        ...


class NoteSigner(Protocol):
    """A private key that signs note texts under one (name, key ID)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes:
        """The signature of the note ``text``, without the key ID."""
        ...


def is_key_name(name: str) -> bool:
    """Key names are non-empty UTF-8 without Unicode spaces, ``+`` or control characters."""
    return (
        name != ""
        and "+" not in name
        and not any(ch.isspace() or ch < " " for ch in name)
        and _encodes(name)
    )


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed vkey: ``<name>+<hex key ID>+base64(signature type ‖ public key)``."""

    name: str
    signature_type: int
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        if not is_key_name(self.name):
            raise NoteKeyError(f"not a key name: {self.name!r}")
        if not 0 <= self.signature_type <= 0xFF:
            raise NoteKeyError(f"not a signature type: {self.signature_type}")
        identifier = key_id(self.name, self.signature_type, self.public_key)
        object.__setattr__(self, "key_id", identifier)

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Parse a vkey; its key ID must be the one its name and key compute to."""
        name, _, rest = vkey.partition("+")
        hex_id, _, key64 = rest.partition("+")  # base64 has '+' of its own: split twice
        material = decode_base64(key64)
        if not _KEY_ID.fullmatch(hex_id) or not material:
            raise NoteKeyError(f"not a vkey: {vkey!r}")
        key = cls(name, material[0], material[1:])
        if key.key_id != int(hex_id, 16):
            raise NoteKeyError(f"the key ID of {name!r} is {key.key_id:08x}, not {hex_id}")
        return key

    def __str__(self) -> str:
        material = bytes([self.signature_type]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{encode_base64(material)}"


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    """Verifies Ed25519 note signatures (type 0x01) by one named key."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.public_key) != _ED25519_KEY_SIZE:
            raise NoteKeyError(f"an Ed25519 public key has 32 bytes, not {len(self.public_key)}")
        vkey = VerifierKey(self.name, SIGNATURE_ED25519, self.public_key)
        object.__setattr__(self, "key_id", vkey.key_id)
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        """The verifier a type-0x01 vkey names."""
        parsed = VerifierKey.parse(vkey)
        if parsed.signature_type != SIGNATURE_ED25519:
            raise NoteKeyError(f"not an Ed25519 note key (type 0x01): {vkey!r}")
        return cls(parsed.name, parsed.public_key)

    def vkey(self) -> str:
        return str(VerifierKey(self.name, SIGNATURE_ED25519, self.public_key))

    def verify(self, text: bytes, signature: bytes) -> bool:
        return ed25519_verifies(self._key, text, signature)


class Ed25519Signer:
    """Signs notes with Ed25519 (type 0x01). Its repr never shows the private key."""

    __slots__ = ("_key", "key_id", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.name = name
        self.key_id = self.verifier().key_id

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        """A new random key (from the operating system's generator)."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        """The signer of a Go-format skey (see the module docstring)."""
        return cls(*parse_skey(skey))

    def skey(self) -> str:
        """The Go-format skey. It is the secret key: store it like a password."""
        material = encode_base64(bytes([SIGNATURE_ED25519]) + self._key.private_bytes_raw())
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, public_bytes(self._key))

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)

    def __repr__(self) -> str:
        return f"Ed25519Signer({self.name!r}, key_id={self.key_id:08x})"


def parse_skey(skey: str) -> tuple[str, Ed25519PrivateKey]:
    """The name and private key of a Go-format Ed25519 skey, checking its key ID."""
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteKeyError("not a signer key (PRIVATE+KEY+<name>+<key ID>+<key>)")
    name, hex_id, key64 = parts[2:]
    material = decode_base64(key64)
    if not _KEY_ID.fullmatch(hex_id) or not is_key_name(name) or material is None:
        raise NoteKeyError("not a signer key (PRIVATE+KEY+<name>+<key ID>+<key>)")
    if material[:1] != b"\x01" or len(material) != 1 + _ED25519_KEY_SIZE:
        raise NoteKeyError("not an Ed25519 signer key (type 0x01 and a 32-byte seed)")
    private_key = Ed25519PrivateKey.from_private_bytes(material[1:])
    if key_id(name, SIGNATURE_ED25519, public_bytes(private_key)) != int(hex_id, 16):
        raise NoteKeyError(f"the key ID of signer key {name!r} is not {hex_id}")
    return name, private_key


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte RFC 8032 encoding of a private key's public half."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_verifies(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a 64-byte Ed25519 signature of ``message`` by ``key``."""
    if len(signature) != _ED25519_SIGNATURE_SIZE:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        if not is_key_name(self.name):
            raise ValueError(f"not a key name: {self.name!r}")
        if not 0 <= self.key_id < 2**32 or not self.signature:
            raise ValueError("a signature has a 32-bit key ID and at least one byte")

    @classmethod
    def parse(cls, line: str) -> Signature:
        """Parse one signature line, without its newline."""
        name, space, signature64 = line.removeprefix(_DASH).partition(" ")
        value = decode_base64(signature64)
        if not line.startswith(_DASH) or not space or not is_key_name(name):
            raise MalformedNoteError(f"not a signature line: {line!r}")
        if value is None or len(value) < 5:
            raise MalformedNoteError(f"not a base64 key ID and signature: {line!r}")
        return cls(name, int.from_bytes(value[:4], "big"), value[4:])

    def line(self) -> str:
        """The signature line, without its newline."""
        value = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {encode_base64(value)}"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text, the signatures verified, and those by unknown keys."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()

    def to_bytes(self) -> bytes:
        """The note again, verified signatures first."""
        return format_note(self.text, (*self.signatures, *self.unverified))


class UnverifiedNoteError(NoteError):
    """No signature line verifies with a known key; ``note`` lists the unknown ones.

    Defined here rather than in ``rooms.tlog.errors`` because it carries a ``Note``: the
    errors module imports nothing, so every format module can import it."""

    def __init__(self, note: Note) -> None:
        self.note = note
        super().__init__("the note has no signature from a known key")


def format_note(text: str, signatures: Iterable[Signature]) -> bytes:
    """Text, blank line, one line per signature. Signs nothing: see ``sign_note``."""
    _check_text(text)
    lines = [signature.line() + "\n" for signature in signatures]
    if not 1 <= len(lines) <= MAX_SIGNATURES:
        raise ValueError(f"a note has between 1 and {MAX_SIGNATURES} signatures")
    return (text + "\n" + "".join(lines)).encode()


def sign_note(text: str, signers: Iterable[NoteSigner], keep: Iterable[Signature] = ()) -> bytes:
    """Sign ``text`` with each signer, after the signatures in ``keep``.

    A kept signature with the same name and key ID as one of the signers is replaced, so
    re-signing a note does not stack signatures of one key.
    """
    _check_text(text)
    message = text.encode()
    fresh = [Signature(s.name, s.key_id, s.sign(message)) for s in signers]
    ours = {(s.name, s.key_id) for s in fresh}
    kept = [s for s in keep if (s.name, s.key_id) not in ours]
    return format_note(text, [*kept, *fresh])


def open_note(message: bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse a signed note and verify its signatures by the known keys in ``verifiers``.

    Raises ``MalformedNoteError`` if ``message`` is not a note, ``NoteKeyError`` if two
    verifiers share a name and key ID, ``BadSignatureError`` if a known key's signature
    fails, and ``UnverifiedNoteError`` if no known key signed it.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for candidate in verifiers:
        other = known.setdefault((candidate.name, candidate.key_id), candidate)
        if other is not candidate and other != candidate:
            raise NoteKeyError(f"two keys are named {candidate.name}+{candidate.key_id:08x}")
    try:
        decoded = message.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("a note is UTF-8") from None
    if any(ch < " " and ch != "\n" for ch in decoded):
        raise MalformedNoteError("a note has no control characters other than newline")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("no blank line between the text and the signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNoteError("the signature lines end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"more than {MAX_SIGNATURES} signature lines")
    signed = text.encode()
    verified: dict[Signature, None] = {}  # dicts keep the order and drop repeats
    unverified: dict[Signature, None] = {}
    for signature in map(Signature.parse, lines):
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            unverified[signature] = None
        elif verifier.verify(signed, signature.signature):
            verified[signature] = None
        else:
            key = f"{signature.name}+{signature.key_id:08x}"
            raise BadSignatureError(f"the signature of known key {key} does not verify")
    note = Note(text, tuple(verified), tuple(unverified))
    if not verified:
        raise UnverifiedNoteError(note)
    return note


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(ch < " " and ch != "\n" for ch in text):
        raise ValueError("a note text ends in a newline and has no other control characters")
    if not _encodes(text):
        raise ValueError("a note text is Unicode text (no lone surrogates)")


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
