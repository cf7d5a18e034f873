"""Receipt promises: signed by the log's key for one entry, and nothing else passes."""

from __future__ import annotations

import pytest

from rooms.promise import PromiseError, ReceiptPromise, is_promise, open_promise
from rooms.tlog.checkpoint import open_checkpoint
from rooms.tlog.errors import LedgerError
from rooms.tlog.merkle import leaf_hash
from rooms.tlog.notes import Ed25519Signer, sign_note

ORIGIN = "example.org/ledger/0123456789abcdef"
ENTRY = b'{"c":[1],"n":"00","q":"q1","t":1,"v":"ab"}'


def test_a_promise_opens_with_the_logs_key_and_names_only_origin_leaf_and_entry() -> None:
    log = Ed25519Signer.generate(ORIGIN)
    signed = ReceiptPromise(ORIGIN, ENTRY).sign(log)
    assert is_promise(signed)
    opened = open_promise(signed, [log.verifier()])
    assert (opened.origin, opened.entry, opened.leaf) == (ORIGIN, ENTRY, leaf_hash(ENTRY))
    assert signed.decode().split("\n\n")[0].count("\n") == 3  # four lines of text


def test_a_promise_signed_by_another_key_or_altered_is_refused() -> None:
    log, other = Ed25519Signer.generate(ORIGIN), Ed25519Signer.generate(ORIGIN)
    signed = ReceiptPromise(ORIGIN, ENTRY).sign(log)
    with pytest.raises(LedgerError):
        open_promise(signed, [other.verifier()])
    lines = signed.decode().split("\n")
    altered = ReceiptPromise(ORIGIN, ENTRY.replace(b"[1]", b"[2]")).text().split("\n")
    lines[3] = altered[3]  # another entry under the same signature
    with pytest.raises(LedgerError):
        open_promise("\n".join(lines).encode(), [log.verifier()])


def test_a_promise_whose_leaf_is_not_its_entrys_is_refused_even_when_signed() -> None:
    log = Ed25519Signer.generate(ORIGIN)
    text = ReceiptPromise(ORIGIN, ENTRY).text().split("\n")
    text[2] = ReceiptPromise(ORIGIN, b"{}").text().split("\n")[2]

    with pytest.raises(PromiseError, match="not the entry's"):
        open_promise(sign_note("\n".join(text), [log]), [log.verifier()])


def test_a_promise_is_no_checkpoint_and_a_checkpoint_is_no_promise() -> None:
    log = Ed25519Signer.generate(ORIGIN)
    with pytest.raises(LedgerError):
        open_checkpoint(ReceiptPromise(ORIGIN, ENTRY).sign(log), [log.verifier()], [])
    checkpoint = f"{ORIGIN}\n1\n{'A' * 43}=\n"

    with pytest.raises(PromiseError):
        open_promise(sign_note(checkpoint, [log]), [log.verifier()])
