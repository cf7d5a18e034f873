"""C2SP signed notes: keys, signing, opening, and each way a hostile note is refused."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.errors import (
    BadSignatureError,
    MalformedNoteError,
    NoteError,
    NoteKeyError,
)
from rooms.tlog.notes import (
    MAX_SIGNATURES,
    SIGNATURE_COSIGNATURE_V1,
    SIGNATURE_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    Signature,
    UnverifiedNoteError,
    VerifierKey,
    format_note,
    is_key_name,
    key_id,
    open_note,
    sign_note,
)

VECTORS = Path(__file__).parent / "vectors"
GO = json.loads((VECTORS / "golang-mod" / "sumdb.json").read_text())
C2SP = json.loads((VECTORS / "c2sp" / "examples.json").read_text())
FORMATS = json.loads((VECTORS / "transparency-dev-formats" / "examples.json").read_text())


def private_key(seed: int) -> Ed25519PrivateKey:
    """A fixed key, so that every run signs the same bytes."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG = Ed25519Signer("example.com/log", private_key(1))
OTHER = Ed25519Signer("example.com/other", private_key(2))
TEXT = "example.com/log\n3\nAAAA\n"
SIGNED = sign_note(TEXT, [LOG])


# --- keys --------------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    public_key = LOG.verifier().public_key
    digest = hashlib.sha256(b"example.com/log\n\x01" + public_key).digest()
    assert LOG.key_id == key_id("example.com/log", SIGNATURE_ED25519, public_key)
    assert LOG.key_id == int.from_bytes(digest[:4], "big")
    assert key_id("example.com/log", SIGNATURE_COSIGNATURE_V1, public_key) != LOG.key_id


def test_go_vkey_parses_and_prints_back() -> None:
    verifier = Ed25519Verifier.from_vkey(GO["peter_vkey"])
    assert (verifier.name, verifier.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert verifier.vkey() == GO["peter_vkey"]
    assert str(VerifierKey.parse(GO["peter_vkey"])) == GO["peter_vkey"]


def test_go_skey_signs_exactly_what_go_signs() -> None:
    """Ed25519 is deterministic: our signature line must be Go's, byte for byte."""
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    assert signer.verifier().vkey() == GO["peter_vkey"]
    assert signer.skey() == GO["peter_skey"]
    expected = GO["text"] + "\n" + GO["peter_signature_line"] + "\n"
    assert sign_note(GO["text"], [signer]) == expected.encode()


def test_generated_signer_round_trips_through_its_skey() -> None:
    signer = Ed25519Signer.generate("example.com/new")
    again = Ed25519Signer.from_skey(signer.skey())
    assert again.verifier() == signer.verifier()
    assert again.key_id == signer.key_id
    assert signer.skey().startswith(f"PRIVATE+KEY+example.com/new+{signer.key_id:08x}+")


def test_signer_repr_hides_the_private_key() -> None:
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    assert repr(signer) == "Ed25519Signer('PeterNeumann', key_id=c74f20a3)"
    assert GO["peter_skey"].rsplit("+", 1)[1] not in repr(signer)


def test_every_mangled_go_vkey_is_refused() -> None:
    """Every proper substring and every one-byte change of a vkey is refused, as in Go."""
    vkey, refused = GO["peter_vkey"], 0
    variants = {vkey[i:j] for i in range(len(vkey)) for j in range(i + 1, len(vkey) + 1)}
    variants |= {vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :] for i in range(len(vkey))}
    variants.discard(vkey)
    for variant in variants:
        with pytest.raises(NoteKeyError):
            Ed25519Verifier.from_vkey(variant)
        refused += 1
    assert refused == len(variants) > 2000


def test_every_mangled_go_skey_is_refused() -> None:
    skey, refused = GO["peter_skey"], 0
    variants = {skey[i:j] for i in range(len(skey)) for j in range(i + 1, len(skey) + 1)}
    variants |= {skey[:i] + chr(ord(skey[i]) + 1) + skey[i + 1 :] for i in range(len(skey))}
    variants.discard(skey)
    for variant in variants:
        with pytest.raises(NoteKeyError):
            Ed25519Signer.from_skey(variant)
        refused += 1
    assert refused == len(variants) > 3000


def _vkey(name: str, material: bytes) -> str:
    identifier = key_id(name, material[0], material[1:])
    return f"{name}+{identifier:08x}+{base64.b64encode(material).decode()}"


PUBLIC = LOG.verifier().public_key


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param(GO["bad_vkeys"]["wrong-length-key"], id="go-wrong-length-key"),
        pytest.param(GO["bad_vkeys"]["unknown-algorithm"], id="go-unknown-algorithm"),
        pytest.param(LOG.verifier().vkey().upper(), id="uppercase"),
        pytest.param(
            LOG.verifier().vkey().replace(f"{LOG.key_id:08x}", f"{LOG.key_id:08X}"),
            id="uppercase-key-id",
        ),
        pytest.param(_vkey("example.com/log", b"\x04" + PUBLIC), id="cosignature-type"),
        pytest.param(_vkey("example.com/log", b"\x01" + PUBLIC[:31]), id="short-key"),
        pytest.param(_vkey("example.com/log", b"\x01"), id="no-key"),
        pytest.param(_vkey("a b", b"\x01" + PUBLIC), id="space-in-name"),
        pytest.param(_vkey("a\u00a0b", b"\x01" + PUBLIC), id="unicode-space-in-name"),
        pytest.param(_vkey("a\x01b", b"\x01" + PUBLIC), id="control-in-name"),
        pytest.param("+" + _vkey("x", b"\x01" + PUBLIC)[2:], id="empty-name"),
        pytest.param(f"example.com/log+{LOG.key_id:08x}+", id="no-key-material"),
        pytest.param(f"example.com/log+{LOG.key_id:08x}", id="two-parts"),
        pytest.param(f"example.com/log+{LOG.key_id:07x}+AQ==", id="short-key-id"),
        pytest.param(
            LOG.verifier().vkey()[:-1] + chr(ord(LOG.verifier().vkey()[-1]) ^ 1),
            id="last-base64-character",
        ),
        pytest.param(LOG.verifier().vkey() + "=", id="extra-padding"),
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteKeyError):
        Ed25519Verifier.from_vkey(vkey)


def test_a_vkey_with_a_noncanonical_last_character_is_refused() -> None:
    """b"\\x01" is "AQ==": "AR==" decodes to the same byte with a stray bit set."""
    name = "example.com/one"
    assert base64.b64decode("AR==") == b"\x01"
    with pytest.raises(NoteKeyError):
        VerifierKey.parse(f"{name}+{key_id(name, 1, b''):08x}+AR==")
    assert VerifierKey.parse(f"{name}+{key_id(name, 1, b''):08x}+AQ==").public_key == b""


@pytest.mark.parametrize(
    "skey",
    [
        pytest.param(GO["peter_skey"].replace("PRIVATE", "PUBLIC"), id="not-private"),
        pytest.param(GO["peter_skey"].replace("+KEY+", "+KEYS+"), id="not-key"),
        pytest.param("PRIVATE+KEY+PeterNeumann+c74f20a3", id="four-parts"),
        pytest.param(GO["peter_skey"].replace("c74f20a3", "C74F20A3"), id="uppercase-key-id"),
        pytest.param(GO["peter_skey"].replace("c74f20a3", "c74f20a4"), id="wrong-key-id"),
        pytest.param(GO["peter_skey"].replace("PeterNeumann", "Peter Neumann"), id="bad-name"),
        pytest.param(GO["peter_skey"][:-1], id="not-base64"),
        pytest.param(GO["peter_skey"].replace("+AYEK", "+BYEK"), id="not-ed25519"),
        pytest.param(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
            id="short-seed",
        ),
    ],
)
def test_bad_skeys_are_refused(skey: str) -> None:
    with pytest.raises(NoteKeyError):
        Ed25519Signer.from_skey(skey)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        pytest.param("example.com/log", True, id="url"),
        pytest.param("Ünïcödé", True, id="unicode"),
        pytest.param("", False, id="empty"),
        pytest.param("a+b", False, id="plus"),
        pytest.param("a b", False, id="space"),
        pytest.param("a\u3000b", False, id="ideographic-space"),
        pytest.param("a\x1fb", False, id="control"),
        pytest.param("a\ud800b", False, id="lone-surrogate"),
    ],
)
def test_key_names(name: str, valid: bool) -> None:
    assert is_key_name(name) is valid


def test_verifier_key_checks_its_fields() -> None:
    with pytest.raises(NoteKeyError, match="signature type"):
        VerifierKey("example.com/log", 256, PUBLIC)
    with pytest.raises(NoteKeyError, match="key name"):
        VerifierKey("a+b", 1, PUBLIC)
    with pytest.raises(NoteKeyError, match="32 bytes"):
        Ed25519Verifier("example.com/log", PUBLIC + b"\x00")
    with pytest.raises(NoteKeyError, match="key name"):
        Ed25519Signer("bad name", private_key(1))


# --- opening real notes ------------------------------------------------------------------

PETER = Ed25519Verifier.from_vkey(GO["peter_vkey"])
ENOCH = Ed25519Verifier.from_vkey(GO["enoch_vkey"])
GO_NOTE = (
    GO["text"] + "\n" + GO["peter_signature_line"] + "\n" + GO["enoch_signature_line"] + "\n"
).encode()


def test_go_note_opens_with_one_known_key_and_keeps_the_other_aside() -> None:
    note = open_note(GO_NOTE, [PETER])
    assert note.text == GO["text"]
    assert note.signatures == (Signature.parse(GO["peter_signature_line"]),)
    assert note.unverified == (Signature.parse(GO["enoch_signature_line"]),)
    assert note.signatures[0].key_id == 0xC74F20A3


def test_go_note_opens_with_both_keys() -> None:
    note = open_note(GO_NOTE, [PETER, ENOCH])
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.unverified == ()
    assert note.to_bytes() == GO_NOTE


def test_c2sp_example_note_verifies_with_its_vkey() -> None:
    example = C2SP["signed_note"]
    note = open_note(example["note"].encode(), [Ed25519Verifier.from_vkey(example["vkey"])])
    assert note.text == "This is an example message.\n"
    assert note.signatures[0].key_id == 0x530D903A


def test_a_real_sum_golang_org_checkpoint_and_three_more_signers_verify() -> None:
    checkpoint = FORMATS["sumdb_checkpoint"]
    extra = FORMATS["extra_signers"]
    message = checkpoint["note"] + "".join(signer["line"] + "\n" for signer in extra)
    verifiers = [Ed25519Verifier.from_vkey(v["vkey"]) for v in [checkpoint, *extra]]
    note = open_note(message.encode(), verifiers)
    names = ["sum.golang.org", "monkeys", "bananas", "witness"]
    assert [s.name for s in note.signatures] == names
    only_log = open_note(message.encode(), verifiers[:1])
    assert [s.name for s in only_log.unverified] == names[1:]


# --- round trips -------------------------------------------------------------------------


def test_sign_serialise_parse_verify() -> None:
    message = sign_note(TEXT, [LOG, OTHER])
    note = open_note(message, [LOG.verifier(), OTHER.verifier()])
    assert note.text == TEXT
    assert [(s.name, s.key_id) for s in note.signatures] == [
        (LOG.name, LOG.key_id),
        (OTHER.name, OTHER.key_id),
    ]
    assert note.to_bytes() == message
    assert format_note(note.text, note.signatures) == message


def test_text_with_blank_lines_ends_at_the_last_one() -> None:
    text = "first\n\nsecond\n\n"
    note = open_note(sign_note(text, [LOG]), [LOG.verifier()])
    assert note.text == text


def test_re_signing_replaces_the_key_own_signature_and_keeps_the_others() -> None:
    first = open_note(sign_note(TEXT, [LOG, OTHER]), [LOG.verifier(), OTHER.verifier()])
    stale = Signature(LOG.name, LOG.key_id, b"\x00" * 64)
    again = sign_note(TEXT, [LOG], keep=[stale, *first.signatures])
    note = open_note(again, [LOG.verifier(), OTHER.verifier()])
    assert [s.name for s in note.signatures] == [OTHER.name, LOG.name]


def test_repeated_signature_lines_are_listed_once() -> None:
    line = SIGNED.decode().split("\n\n")[1]
    other = sign_note(TEXT, [OTHER]).decode().split("\n\n")[1]
    note = open_note((TEXT + "\n" + line * 3 + other * 2).encode(), [LOG.verifier()])
    assert len(note.signatures) == 1
    assert len(note.unverified) == 1


def test_the_same_verifier_twice_is_not_ambiguous() -> None:
    verifier = LOG.verifier()
    assert open_note(SIGNED, [verifier, verifier, LOG.verifier()]).signatures


@dataclass(frozen=True)
class _Impostor:
    """A configured key that claims another key's name and ID: a configuration error."""

    name: str
    key_id: int

    def verify(self, text: bytes, signature: bytes) -> bool:
        return True


def test_two_keys_with_one_name_and_id_are_refused() -> None:
    with pytest.raises(NoteKeyError, match="two keys"):
        open_note(SIGNED, [LOG.verifier(), _Impostor(LOG.name, LOG.key_id)])


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(_Impostor(LOG.name, LOG.key_id ^ 1), id="same-name-other-id"),
        pytest.param(_Impostor("example.com/log2", LOG.key_id), id="same-id-other-name"),
    ],
)
def test_a_key_sharing_only_the_name_or_only_the_id_is_not_asked(key: _Impostor) -> None:
    """The impostor would accept anything; it must not be consulted, so nothing verifies."""
    with pytest.raises(UnverifiedNoteError) as refused:
        open_note(SIGNED, [key])
    assert refused.value.note.unverified == (Signature.parse(SIGNED.decode().split("\n")[-2]),)


# --- hostile notes -----------------------------------------------------------------------

SIGNATURE_LINE = SIGNED.decode().split("\n\n")[1]  # "— example.com/log ...\n"
LOG_ID = LOG.key_id.to_bytes(4, "big")


def _line(name: str, value: bytes) -> str:
    return f"\u2014 {name} {base64.b64encode(value).decode()}\n"


def _flip_last_base64_bits(line: str) -> str:
    """One key ID and signature, spelled with a stray bit in base64's padding bits."""
    body = line.rstrip("\n")
    value = base64.b64decode(body.rsplit(" ", 1)[1])
    assert len(value) % 3 != 0  # 68 bytes: the last character carries unused bits
    last = body[-3] if body.endswith("==") else body[-2]
    stray = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bumped = stray[stray.index(last) + 1]
    position = len(body) - (3 if body.endswith("==") else 2)
    changed = body[:position] + bumped + body[position + 1 :]
    assert base64.b64decode(changed.rsplit(" ", 1)[1]) == value
    return changed + "\n"


def _note(text: str = TEXT, lines: str = SIGNATURE_LINE) -> bytes:
    """TEXT signed by LOG, with the text or the signature lines swapped for others."""
    return (text + "\n" + lines).encode()


def _raw(text: bytes) -> bytes:
    return text + b"\n" + SIGNATURE_LINE.encode()


# fmt: off
HOSTILE = [
    pytest.param((TEXT + SIGNATURE_LINE).encode(), MalformedNoteError, "blank line",
                 id="no-blank-line"),
    pytest.param(_note(lines=""), MalformedNoteError, "end with a newline",
                 id="no-signature-lines"),
    pytest.param(_note()[:-1], MalformedNoteError, "end with a newline", id="no-final-newline"),
    pytest.param(_note(TEXT.replace("3\n", "3\x01\n")), MalformedNoteError, "control",
                 id="control-character"),
    pytest.param(_note(TEXT.replace("3\n", "3\t\n")), MalformedNoteError, "control", id="tab"),
    pytest.param(_note(TEXT.replace("3\n", "3\r\n")), MalformedNoteError, "control",
                 id="carriage-return"),
    pytest.param(_raw(TEXT.encode().replace(b"3\n", b"3\xff\n")), MalformedNoteError, "UTF-8",
                 id="invalid-utf-8"),
    pytest.param(_raw(TEXT.encode().replace(b"3\n", b"3\xed\xa0\x80\n")), MalformedNoteError,
                 "UTF-8", id="utf-8-surrogate"),
    pytest.param(_note(lines=SIGNATURE_LINE.replace("\u2014", "-")), MalformedNoteError,
                 "not a signature line", id="hyphen-for-em-dash"),
    pytest.param(_note(lines=SIGNATURE_LINE.replace("com/log", "com+log")), MalformedNoteError,
                 "not a signature line", id="plus-in-name"),
    pytest.param(_note(lines=_line("", LOG_ID + b"x" * 64)), MalformedNoteError,
                 "not a signature line", id="empty-name"),
    pytest.param(_note(lines="\u2014 example.com/log\n"), MalformedNoteError,
                 "not a signature line", id="no-signature"),
    pytest.param(_note(lines=_line(LOG.name, b"\x00" * 4)), MalformedNoteError, "base64",
                 id="four-bytes-only"),
    pytest.param(_note(lines=SIGNATURE_LINE.replace("=", "")), MalformedNoteError, "base64",
                 id="unpadded-base64"),
    pytest.param(_note(lines=_flip_last_base64_bits(SIGNATURE_LINE)), MalformedNoteError,
                 "base64", id="noncanonical-base64"),
    pytest.param(_note(lines=SIGNATURE_LINE[:-2] + " =\n"), MalformedNoteError, "base64",
                 id="space-in-base64"),
    pytest.param(_note() + b"Unexpected line.\n", MalformedNoteError, "not a signature line",
                 id="text-after-signatures"),
    pytest.param(_note(lines=SIGNATURE_LINE * (MAX_SIGNATURES + 1)), MalformedNoteError,
                 "more than", id="too-many-signatures"),
    pytest.param(_note(TEXT.replace("3\n", "4\n")), BadSignatureError, "does not verify",
                 id="text-changed-after-signing"),
    pytest.param(_note(lines=_line(LOG.name, LOG_ID + b"\x00" * 64)), BadSignatureError,
                 "does not verify", id="known-key-bad-signature"),
    pytest.param(_note(lines=_line(LOG.name, LOG_ID + b"\x00" * 10)), BadSignatureError,
                 "does not verify", id="known-key-short-signature"),
    pytest.param(sign_note(TEXT, [OTHER]), UnverifiedNoteError, "no signature",
                 id="unknown-key-only"),
]
# fmt: on


@pytest.mark.parametrize(("message", "error", "reason"), HOSTILE)
def test_hostile_notes_are_refused(message: bytes, error: type[NoteError], reason: str) -> None:
    with pytest.raises(error, match=reason):
        open_note(message, [LOG.verifier()])


def test_the_valid_note_the_hostile_ones_are_made_from_opens() -> None:
    """Each refusal above differs from this note in the one way its id names."""
    assert _note() == SIGNED
    assert open_note(_note(), [LOG.verifier()]).text == TEXT
    assert open_note(_note(lines=SIGNATURE_LINE * MAX_SIGNATURES), [LOG.verifier()]).signatures


def test_one_bad_signature_by_a_known_key_refuses_the_note_even_after_a_good_one() -> None:
    other_id = OTHER.key_id.to_bytes(4, "big")
    by_unknown_key = _note(lines=SIGNATURE_LINE + _line(OTHER.name, b"\x00" * 68))
    by_known_key = _note(lines=SIGNATURE_LINE + _line(OTHER.name, other_id + bytes(64)))
    assert open_note(by_unknown_key, [LOG.verifier(), OTHER.verifier()]).signatures
    with pytest.raises(BadSignatureError, match=OTHER.name):
        open_note(by_known_key, [LOG.verifier(), OTHER.verifier()])


# --- writing notes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("no final newline", id="no-final-newline"),
        pytest.param("", id="empty"),
        pytest.param("tab\there\n", id="control"),
        pytest.param("lone \ud800 surrogate\n", id="lone-surrogate"),
    ],
)
def test_texts_that_cannot_be_notes_are_not_signed(text: str) -> None:
    with pytest.raises(ValueError, match="note text"):
        sign_note(text, [LOG])


def test_a_note_has_between_one_and_the_maximum_signatures() -> None:
    signature = Signature(LOG.name, LOG.key_id, b"s")
    with pytest.raises(ValueError, match="between 1"):
        format_note(TEXT, [])
    with pytest.raises(ValueError, match="between 1"):
        format_note(TEXT, [signature] * (MAX_SIGNATURES + 1))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(("bad name", 1, b"s"), id="name"),
        pytest.param(("ok", -1, b"s"), id="negative-key-id"),
        pytest.param(("ok", 2**32, b"s"), id="key-id-over-32-bits"),
        pytest.param(("ok", 1, b""), id="empty-signature"),
    ],
)
def test_signature_fields_are_checked(fields: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        Signature(*fields)


def test_note_to_bytes_lists_verified_then_unverified() -> None:
    a, b = Signature("a", 1, b"x"), Signature("b", 2, b"y")
    assert (
        Note("t\n", (a,), (b,)).to_bytes() == ("t\n\n" + a.line() + "\n" + b.line() + "\n").encode()
    )
