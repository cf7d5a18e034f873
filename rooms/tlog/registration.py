"""Registering a new log at a witness: a note by the log's operator naming the log's key.

Every poll has a transparency log of its own, and witnesses refuse logs they do not know
(``rooms.tlog.witness``, check 1), so the deployment tells its witnesses about each new
log. It does so with a C2SP signed note (``rooms.tlog.notes``) whose text is exactly::

    mvoting.add-log/v1
    <the log's vkey>

signed by an operator's Ed25519 note key (type 0x01). A witness trusts a few operator keys
and lets each register only logs in its namespace: the log's key name (its origin) must
be ``<operator key name>/`` and at least one more character. An operator named
``vote.example.org/ledger`` may register ``vote.example.org/ledger/3f9a0c21d4e5b6a7``, not
``vote.example.org/other`` nor ``vote.example.org/ledger`` itself, so one operator's key,
if stolen, cannot add keys for another's logs.

``open_registration`` decides; each refusal is a ``RegistrationError`` whose ``status`` is
the HTTP status a witness answers with.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from rooms.tlog.errors import (
    BadSignatureError,
    LedgerError,
    MalformedNoteError,
    NoteKeyError,
)
from rooms.tlog.notes import (
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    UnverifiedNoteError,
    open_note,
    sign_note,
)

#: The first line of a registration's text: the format and its version.
HEADER = "mvoting.add-log/v1"


class RegistrationRefusal(enum.Enum):
    """Why a registration is refused; ``status`` is its HTTP status."""

    #: Not a registration: not a signed note, another text, or not an Ed25519 log key (400).
    MALFORMED = "malformed"
    #: No known operator signed it, or a known operator's signature fails (403).
    NOT_AN_OPERATOR = "not_an_operator"
    #: The log's key name is not under the name of an operator that signed (403).
    OUTSIDE_NAMESPACE = "outside_namespace"

    @property
    def status(self) -> int:
        return 400 if self is RegistrationRefusal.MALFORMED else 403


class RegistrationError(LedgerError):
    """A registration is refused: ``reason`` says why, ``str(error)`` in a sentence."""

    def __init__(self, reason: RegistrationRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def status(self) -> int:
        return self.reason.status


def registration_note(operator: Ed25519Signer, log_vkey: str) -> bytes:
    """The note by which ``operator`` asks witnesses to trust the log ``log_vkey``.

    Raises ``NoteKeyError`` if ``log_vkey`` is not an Ed25519 vkey (type 0x01), so that no
    operator signs a text a witness would refuse as malformed. The namespace is the
    witness's to check.
    """
    log = Ed25519Verifier.from_vkey(log_vkey)
    return sign_note(_text(log.vkey()), [operator])


def open_registration(body: bytes, operators: Iterable[Ed25519Verifier]) -> Ed25519Verifier:
    """The verifier of the log that ``body`` registers, if a known operator may register it.

    ``operators`` are the operator keys the witness trusts; signatures by other keys are
    ignored, as in any note. Raises ``RegistrationError``: ``NOT_AN_OPERATOR`` if none of
    them signed or one's signature fails, ``MALFORMED`` if ``body`` is not a registration
    note, ``OUTSIDE_NAMESPACE`` if no operator that signed owns the log's name. Raises
    ``NoteKeyError`` if two ``operators`` share a name and key ID but differ.
    """
    note = _open(body, operators)
    log = _log_key(note.text)
    signers = [signature.name for signature in note.signatures]
    if not any(_under(log.name, name) for name in signers):
        owners = ", ".join(repr(name) for name in signers)
        raise RegistrationError(
            RegistrationRefusal.OUTSIDE_NAMESPACE,
            f"the log {log.name!r} is not under the namespace of its operator {owners}",
        )
    return log


def _open(body: bytes, operators: Iterable[Ed25519Verifier]) -> Note:
    try:
        return open_note(body, operators)
    except (BadSignatureError, UnverifiedNoteError) as error:
        message = f"not signed by an operator: {error}"
        raise RegistrationError(RegistrationRefusal.NOT_AN_OPERATOR, message) from None
    except MalformedNoteError as error:
        raise _malformed(str(error)) from None


def _log_key(text: str) -> Ed25519Verifier:
    lines = text.split("\n")  # an opened note's text ends in a newline: the last is ""
    if len(lines) != 3 or lines[0] != HEADER:
        raise _malformed(f"the text is not {HEADER!r} and a log vkey, each on a line")
    try:
        return Ed25519Verifier.from_vkey(lines[1])
    except NoteKeyError as error:
        raise _malformed(f"not a log key: {error}") from None


def _under(log_name: str, operator_name: str) -> bool:
    """Whether ``log_name`` is ``operator_name/`` and at least one more character."""
    prefix = operator_name + "/"
    return log_name.startswith(prefix) and len(log_name) > len(prefix)


def _text(log_vkey: str) -> str:
    return f"{HEADER}\n{log_vkey}\n"


def _malformed(message: str) -> RegistrationError:
    return RegistrationError(RegistrationRefusal.MALFORMED, f"not a registration: {message}")
