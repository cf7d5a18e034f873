"""static/js/tlog.js, the voter's receipt checker, in real headless Chromium.

Fixtures come from the Python reference (``rooms``): a MerkleLog of ballot leaves, a
checkpoint signed by the poll's log key and cosigned by four witnesses, a 3-of-4 policy and
tlog-proof receipts carrying the ballot's leaf. The script is loaded the way a page loads it,
as a classic ``<script src>`` on an https origin (WebCrypto needs a secure context); the
origin is answered by Playwright's router, so no server runs. Each refusal is the good
receipt with one thing changed, and the JS must agree with Python on the malformed inputs
of ``tests/rooms`` and on every transparency-dev/merkle proof vector.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from rooms.ballots import Ballot
from rooms.promise import ReceiptPromise
from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import MalformedNoteError
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer, Signature, sign_note
from rooms.tlog.policy import Policy, PolicyGroup, PolicyLog, PolicyWitness
from rooms.tlog.proof import TlogProof
from tests.rooms.test_checkpoint import BAD_TEXTS
from tests.rooms.test_checkpoint import VALID as VALID_CHECKPOINT
from tests.rooms.test_notes import HOSTILE
from tests.rooms.test_tlog_policy import BAD_POLICIES
from tests.rooms.test_tlog_policy import DEFAULT as DEFAULT_POLICY
from tests.rooms.test_tlog_proof import BAD_PROOFS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "static" / "js" / "tlog.js"
VECTORS = ROOT / "tests" / "rooms" / "vectors"
ORIGIN_URL = "https://receipts.test/"
PAGE = '<!doctype html><meta charset="utf-8"><title>receipt</title><script src="/tlog.js"></script>'


# --- the poll's log, its witnesses and its policy, built with rooms/ ------------------------


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "vote.example/poll/42"
LOG = Ed25519Signer(ORIGIN, private_key(1))
STRANGER = Ed25519Signer(ORIGIN, private_key(2))  # claims the poll's origin, not in the policy
WITNESSES = [Cosigner(f"w{i}.example", private_key(10 + i)) for i in range(4)]
UNKNOWN_WITNESS = Cosigner("w9.example", private_key(19))
POLICY = Policy(
    (PolicyLog(LOG.verifier(), "https://vote.example/log/"),),
    tuple(PolicyWitness(f"w{i}", w.verifier()) for i, w in enumerate(WITNESSES)),
    (PolicyGroup("witnesses", 3, ("w0", "w1", "w2", "w3")),),
    "witnesses",
)
POLICY_TEXT = POLICY.to_bytes().decode()
OTHER_POLL = Ed25519Signer("vote.example/poll/43", private_key(3))
TWO_POLLS_POLICY = (
    Policy(
        (*POLICY.logs, PolicyLog(OTHER_POLL.verifier())),
        POLICY.witnesses,
        POLICY.groups,
        POLICY.quorum,
    )
    .to_bytes()
    .decode()
)
ALL_COSIGNERS = ["w0", "w1", "w2", "w3"]
COSIGNED_AT = 1_700_000_100


def ballot(i: int, question: str = "q1") -> Ballot:
    return Ballot(question=question, choices=(i % 3,), time_ms=1_700_000_000_000 + i,
                  voter=f"{i:064x}", nonce=f"{i + 0xABC:032x}")  # fmt: skip


BALLOTS = [ballot(i) for i in range(11)]
LATER = [ballot(i, "q2") for i in range(11, 17)]
TREE = MerkleLog(leaf_hash(b.leaf()) for b in BALLOTS)
FINAL_TREE = MerkleLog(leaf_hash(b.leaf()) for b in BALLOTS + LATER)
FORKED_TREE = MerkleLog(
    leaf_hash(b.leaf()) for b in [*BALLOTS[:3], ballot(99), *BALLOTS[4:], *LATER]
)


def sign(tree: MerkleLog, *, log: Ed25519Signer = LOG, witnesses: int = 4, origin: str = ORIGIN,
         root: bytes | None = None) -> bytes:  # fmt: skip
    checkpoint = Checkpoint(origin, tree.size, tree.root() if root is None else root)
    return checkpoint.sign(log, *(w.at(COSIGNED_AT) for w in WITNESSES[:witnesses]))


CHECKPOINT = Checkpoint(ORIGIN, TREE.size, TREE.root())
SIGNED = sign(TREE)
FINAL = sign(FINAL_TREE)


def receipt(index: int = 5, *, signed: bytes = SIGNED, extra: bytes | None = None,
            proof: list[bytes] | None = None, at: int | None = None) -> str:  # fmt: skip
    """The receipt of ``BALLOTS[index]``, with one part swapped if asked."""
    return (
        TlogProof(
            index if at is None else at,
            tuple(TREE.inclusion_proof(index) if proof is None else proof),
            signed,
            BALLOTS[index].leaf() if extra is None else extra,
        )
        .to_bytes()
        .decode()
    )


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def flip(value: bytes, at: int) -> bytes:
    """``value`` with the lowest bit of byte ``at`` flipped."""
    changed = bytearray(value)
    changed[at] ^= 1
    return bytes(changed)


def flip_signature(note: bytes, name: str, at: int) -> bytes:
    """The note with one bit flipped in the signature bytes (after the key ID) of ``name``."""
    text, _, block = note.decode().rpartition("\n\n")
    lines = []
    for line in block.splitlines():
        signature = Signature.parse(line)
        if signature.name == name:
            signature = Signature(name, signature.key_id, flip(signature.signature, at))
        lines.append(signature.line() + "\n")
    return (text + "\n\n" + "".join(lines)).encode()


def with_line(note: bytes, line: Signature) -> bytes:
    return note + line.line().encode() + b"\n"


def cosigned_after_2_63(note: bytes, witness: int) -> bytes:
    """The note with witness ``witness``'s line re-signed at time 2^63, past cosignature/v1's."""
    time = 2**63
    message = b"cosignature/v1\ntime %d\n" % time + CHECKPOINT.text().encode()
    value = time.to_bytes(8, "big") + private_key(10 + witness).sign(message)
    line = Signature(WITNESSES[witness].name, WITNESSES[witness].key_id, value).line()
    text, _, block = note.decode().rpartition("\n\n")
    lines = [line if x.startswith(f"\u2014 {WITNESSES[witness].name} ") else x
             for x in block.splitlines()]  # fmt: skip
    return (text + "\n\n" + "".join(x + "\n" for x in lines)).encode()


def consistency(old: int, tree: MerkleLog = FINAL_TREE) -> list[str]:
    return [b64(h) for h in tree.consistency_proof(old)]


UNKNOWN_COSIGNED = with_line(SIGNED, UNKNOWN_WITNESS.cosign(CHECKPOINT, 1))
LEAF_5 = BALLOTS[5].leaf()
CODE_5 = BALLOTS[5].receipt()[:12]
PROOF_5 = TREE.inclusion_proof(5)
ROOT_LINE = b64(TREE.root())


# --- the page --------------------------------------------------------------------------------


@dataclass
class Verifier:
    """A page with tlog.js loaded, and what it reported."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    async def receipt(self, **arguments: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.page.evaluate("(a) => Tlog.verifyReceipt(a)", arguments)
        return result


async def open_verifier(browser: Browser, init_script: str | None = None) -> Verifier:
    context = await browser.new_context()
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    verifier = Verifier(context, page)
    page.on("pageerror", lambda exc: verifier.errors.append(f"pageerror: {exc}"))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            verifier.errors.append(f"console error: {message.text}")

    page.on("console", console)

    async def answer(route: Route) -> None:
        if route.request.url.endswith("/tlog.js"):
            await route.fulfill(path=SCRIPT, content_type="text/javascript")
        else:
            await route.fulfill(body=PAGE, content_type="text/html")

    await page.route(f"{ORIGIN_URL}**", answer)
    await page.goto(ORIGIN_URL)
    assert await page.evaluate("typeof window.Tlog") == "object"
    return verifier


@pytest.fixture(scope="module")
async def tlog(browser: Browser) -> AsyncIterator[Verifier]:
    """One page for the module: the script keeps no state between calls."""
    verifier = await open_verifier(browser)
    try:
        yield verifier
    finally:
        await verifier.context.close()
    assert not verifier.errors, verifier.errors


# --- receipts ---------------------------------------------------------------------------------


def expected(index: int, final: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ok": True,
        "leaf": json.loads(BALLOTS[index].leaf()),
        "code": BALLOTS[index].receipt()[:12],
        "hash": BALLOTS[index].receipt(),
        "index": index,
        "size": TREE.size,
        "origin": ORIGIN,
        "cosigners": ALL_COSIGNERS,
        "final": final,
    }


async def test_every_voter_checks_a_receipt(tlog: Verifier) -> None:
    results = await tlog.page.evaluate(
        "([receipts, policy]) => Promise.all(receipts.map((proof) =>"
        "  Tlog.verifyReceipt({proof, policy})))",
        [[receipt(i) for i in range(len(BALLOTS))], POLICY_TEXT],
    )
    assert results == [expected(i) for i in range(len(BALLOTS))]
    assert results[5]["leaf"] == {"c": [2], "n": f"{5 + 0xABC:032x}", "q": "q1",
                                  "t": 1_700_000_000_005, "v": f"{5:064x}"}  # fmt: skip


#: A good receipt's result: ``expected(5)``, with these fields changed.
OK: dict[str, Any] = {}

#: The good receipt with one thing changed, and the result: OK (or changes to it) or a code.
# fmt: off
CASES = [
    pytest.param({}, OK, id="good"),
    pytest.param({"expect": CODE_5}, OK, id="good-with-the-code-noted"),
    pytest.param({"expect": BALLOTS[5].receipt().upper()}, OK, id="good-with-the-whole-hash"),
    pytest.param({"proof": receipt(signed=UNKNOWN_COSIGNED)}, OK,
                 id="good-with-an-unknown-cosigner"),
    pytest.param({"proof": receipt(signed=sign(TREE, witnesses=3))},
                 {"cosigners": ALL_COSIGNERS[:3]}, id="good-three-of-four"),
    # the ballot
    pytest.param({"proof": receipt(extra=flip(LEAF_5, LEAF_5.index(b'"n":"') + 10))},
                 "not_included", id="leaf-bit"),
    pytest.param({"proof": receipt(extra=flip(LEAF_5, LEAF_5.index(b'"n":"') + 10)),
                  "expect": CODE_5}, "leaf_mismatch", id="leaf-bit-with-the-code-noted"),
    pytest.param({"expect": BALLOTS[6].receipt()[:12]}, "leaf_mismatch", id="another-code-noted"),
    pytest.param({"proof": receipt(extra=BALLOTS[6].leaf())}, "not_included", id="another-leaf"),
    pytest.param({"proof": receipt(extra=b"not json")}, "malformed", id="leaf-not-json"),
    pytest.param({"proof": receipt().replace(f"extra {b64(LEAF_5)}\n", "")}, "malformed",
                 id="no-leaf"),
    # the inclusion proof
    pytest.param({"proof": receipt(proof=[*PROOF_5[:1], flip(PROOF_5[1], 7), *PROOF_5[2:]])},
                 "not_included", id="proof-hash-bit"),
    pytest.param({"proof": receipt(proof=PROOF_5[:-1])}, "not_included", id="proof-hash-missing"),
    pytest.param({"proof": receipt(at=4)}, "not_included", id="wrong-index"),
    pytest.param({"proof": receipt(at=TREE.size)}, "not_included", id="index-beyond-the-tree"),
    pytest.param({"proof": receipt(signed=sign(TREE, root=flip(TREE.root(), 0)))},
                 "not_included", id="root-bit-signed-by-the-log"),
    # the checkpoint and its signatures
    pytest.param({"proof": receipt().replace(ROOT_LINE, b64(flip(TREE.root(), 0)))},
                 "bad_signature", id="root-bit-after-signing"),
    pytest.param({"proof": receipt().replace(f"\n{TREE.size}\n", "\n12\n")}, "bad_signature",
                 id="size-after-signing"),
    pytest.param({"proof": receipt(signed=flip_signature(SIGNED, ORIGIN, 9))}, "bad_signature",
                 id="log-signature-bit"),
    pytest.param({"proof": receipt(signed=flip_signature(SIGNED, "w2.example", 20))},
                 "bad_signature", id="cosignature-bit"),
    pytest.param({"proof": receipt(signed=flip_signature(SIGNED, "w2.example", 7))},
                 "bad_signature", id="cosignature-timestamp-bit"),
    pytest.param({"proof": receipt(signed=cosigned_after_2_63(SIGNED, 2))}, "bad_signature",
                 id="cosignature-time-past-2^63"),
    pytest.param({"proof": receipt(signed=sign(TREE, witnesses=2))}, "quorum", id="two-of-four"),
    pytest.param({"proof": receipt(signed=sign(TREE, witnesses=0))}, "quorum", id="no-witness"),
    pytest.param({"proof": receipt(signed=sign(TREE, log=STRANGER))}, "unknown_log",
                 id="another-log-key"),
    pytest.param({"proof": receipt(signed=sign(TREE, origin="vote.example/poll/43"))},
                 "unknown_log", id="another-origin"),
    pytest.param({"proof": receipt(signed=sign(TREE, log=STRANGER, witnesses=0))},
                 "unknown_log", id="no-known-key"),
    pytest.param({"proof": receipt().replace("\u2014", "-")}, "malformed", id="not-a-note"),
    pytest.param({"proof": "c2sp.org/tlog-proof@v1\nindex 5\n"}, "malformed", id="not-a-receipt"),
    pytest.param({"policy": POLICY_TEXT.replace("quorum", "quorom")}, "bad_policy",
                 id="bad-policy"),
    # a later checkpoint and the consistency proof to it
    pytest.param({"final": FINAL.decode(), "consistency": consistency(11)[:-1]}, "inconsistent",
                 id="consistency-hash-missing"),
    pytest.param({"final": FINAL.decode(),
                  "consistency": [b64(flip(base64.b64decode(h), 3)) for h in consistency(11)]},
                 "inconsistent", id="consistency-bits"),
    pytest.param({"final": sign(FORKED_TREE).decode(), "consistency": consistency(11, FORKED_TREE)},
                 "inconsistent", id="final-of-a-forked-tree"),
    pytest.param({"final": sign(MerkleLog(TREE.leaf(i) for i in range(9))).decode(),
                  "consistency": []}, "inconsistent", id="final-older-than-the-receipt"),
    pytest.param({"final": sign(FINAL_TREE, witnesses=2).decode(), "consistency": consistency(11)},
                 "quorum", id="final-two-of-four"),
    pytest.param({"final": flip_signature(FINAL, ORIGIN, 0).decode(),
                  "consistency": consistency(11)}, "bad_signature", id="final-signature-bit"),
    pytest.param({"policy": TWO_POLLS_POLICY, "final": sign(FINAL_TREE, log=OTHER_POLL,
                  origin=OTHER_POLL.name).decode(), "consistency": consistency(11)},
                 "inconsistent", id="final-of-another-poll"),
    pytest.param({"policy": TWO_POLLS_POLICY}, OK, id="good-with-two-polls-in-the-policy"),
    pytest.param({"consistency": consistency(11)}, "malformed", id="consistency-without-final"),
]
# fmt: on


@pytest.mark.parametrize(("change", "code"), CASES)
async def test_each_change_to_a_good_receipt_gets_its_verdict(
    tlog: Verifier, change: dict[str, Any], code: str | dict[str, Any]
) -> None:
    result = await tlog.receipt(**{"proof": receipt(), "policy": POLICY_TEXT, **change})
    if isinstance(code, dict):
        assert result == {**expected(5), **code}
    else:
        assert set(result) == {"ok", "code", "reason"}
        assert (result["ok"], result["code"]) == (False, code), result["reason"]
        assert result["reason"]


@pytest.mark.parametrize(
    ("final", "proof", "cosigners"),
    [
        pytest.param(FINAL, consistency(11), ALL_COSIGNERS, id="later"),
        pytest.param(sign(FINAL_TREE, witnesses=3), consistency(11), ALL_COSIGNERS[:3],
                     id="later-three-of-four"),
        pytest.param(SIGNED, [], ALL_COSIGNERS, id="the-same-tree"),
    ],
)  # fmt: skip
async def test_a_receipt_in_a_later_tree(
    tlog: Verifier, final: bytes, proof: list[str], cosigners: list[str]
) -> None:
    size = Checkpoint.parse(final.decode().split("\n\n")[0] + "\n").size
    result = await tlog.receipt(
        proof=receipt(), policy=POLICY_TEXT, final=final.decode(), consistency=proof
    )
    assert result == expected(5, {"size": size, "cosigners": cosigners})


async def test_a_browser_without_ed25519_says_so(browser: Browser) -> None:
    # What a browser without WebCrypto Ed25519 does: importKey rejects the algorithm.
    refuse = """
      const importKey = crypto.subtle.importKey.bind(crypto.subtle);
      crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
        (algorithm && (algorithm === "Ed25519" || algorithm.name === "Ed25519"))
          ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
          : importKey(format, key, algorithm, ...rest);
    """
    verifier = await open_verifier(browser, refuse)
    try:
        assert await verifier.page.evaluate("Tlog.isSupported()") is False
        result = await verifier.receipt(proof=receipt(), policy=POLICY_TEXT)
    finally:
        await verifier.context.close()
    assert (result["ok"], result["code"]) == (False, "unsupported")
    assert "Ed25519" in result["reason"]
    assert not verifier.errors


# --- the parsers refuse what the Python refuses ----------------------------------------------

PARSE = """
async ([parser, inputs]) => {
  const out = [];
  for (const input of inputs) {
    const value = Array.isArray(input) ? new Uint8Array(input) : input;
    try {
      await Tlog[parser](value);
      out.push(null);
    } catch (error) {
      out.push(error instanceof Tlog.TlogError ? error.code : `${error.name}: ${error.message}`);
    }
  }
  return out;
}
"""


def inputs(params: list[Any]) -> list[bytes | str]:
    """The first value of each ``pytest.param``: the input a Python test feeds its parser."""
    values: list[bytes | str] = []
    for param in params:
        value = param.values[0]
        assert isinstance(value, bytes | str), param.id
        values.append(value)
    return values


async def parse_all(tlog: Verifier, parser: str, values: list[bytes | str]) -> list[str | None]:
    """Each value through ``Tlog[parser]``: None if it was read, else the error code."""
    wire = [list(v) if isinstance(v, bytes) else v for v in values]
    result: list[str | None] = await tlog.page.evaluate(PARSE, [parser, wire])
    return result


async def test_malformed_proofs_are_refused(tlog: Verifier) -> None:
    c2sp = json.loads((VECTORS / "c2sp" / "examples.json").read_text())["tlog_proof"]["proof"]
    bad = inputs(BAD_PROOFS)
    assert await parse_all(tlog, "parseProof", [receipt(), c2sp, *bad]) == [None, None] + [
        "malformed"
    ] * len(bad)
    read = await tlog.page.evaluate(
        "(text) => { const p = Tlog.parseProof(text);"
        "  return [String(p.index), p.proof.length, p.extra.length, p.checkpoint.length]; }",
        c2sp,
    )
    extra = base64.b64decode(c2sp.split("\n")[1].removeprefix("extra "))
    assert read == ["73894", 5, len(extra), len(c2sp.split("\n\n", 1)[1].encode())]


async def test_malformed_notes_are_refused(tlog: Verifier) -> None:
    notes = inputs(HOSTILE)
    malformed = ["malformed" if p.values[1] is MalformedNoteError else None for p in HOSTILE]
    assert len(set(malformed)) == 2  # both kinds are there
    assert await parse_all(tlog, "parseNote", [SIGNED, *notes]) == [None, *malformed]


async def test_malformed_checkpoints_are_refused(tlog: Verifier) -> None:
    texts = inputs(BAD_TEXTS)
    assert await parse_all(tlog, "parseCheckpoint", [VALID_CHECKPOINT, *texts]) == [None] + [
        "malformed"
    ] * len(texts)
    read = await tlog.page.evaluate(
        "(t) => { const c = Tlog.parseCheckpoint(t); return [c.origin, String(c.size),"
        "  btoa(String.fromCharCode(...c.root)), c.extensions]; }",
        Checkpoint(ORIGIN, 2**64 - 1, TREE.root(), ("ext one",)).text(),
    )
    assert read == [ORIGIN, str(2**64 - 1), ROOT_LINE, ["ext one"]]


async def test_bad_policies_are_refused(tlog: Verifier) -> None:
    bad = [v.encode("utf-8", "surrogateescape") for v in inputs(BAD_POLICIES) if isinstance(v, str)]
    assert len(bad) == len(BAD_POLICIES)
    assert await parse_all(tlog, "parsePolicy", [DEFAULT_POLICY, POLICY_TEXT, *bad]) == [
        None,
        None,
    ] + ["bad_policy"] * len(bad)


async def test_policy_names_are_octets_and_groups_nest(tlog: Verifier) -> None:
    v = [w.vkey() for w in WITNESSES]
    text = (
        b"\n   \t\n# comment \xff\xfe\n\twitness \t K  " + v[0].encode() + b"  \t\n"
        b"witness \xe2\x84\xaa " + v[1].encode() + b"\n"  # KELVIN SIGN, not K
        b"witness caf\xc3\xa9 " + v[2].encode() + b" https://caf\xc3\xa9.example/\n"
        b"witness raw\xff " + v[3].encode() + b"\n"
        b"group pair all K \xe2\x84\xaa\ngroup g 2 pair caf\xc3\xa9 raw\xff   \nquorum g"
    )
    read = await tlog.page.evaluate(
        "async (bytes) => { const p = await Tlog.parsePolicy(new Uint8Array(bytes));"
        "  return [p.witnesses.map((w) => [w.name, w.keyName, w.url]), p.groups, p.quorum]; }",
        list(text),
    )
    assert read == [
        [["K", "w0.example", None], ["\u212a", "w1.example", None],
         ["café", "w2.example", "https://café.example/"], ["raw\ufffd", "w3.example", None]],
        [{"name": "pair", "threshold": 2, "members": ["K", "\u212a"]},
         {"name": "g", "threshold": 2, "members": ["pair", "café", "raw\ufffd"]}],
        "g",
    ]  # fmt: skip


# --- transparency-dev/merkle vectors (tests/rooms/vectors/transparency-dev) -------------------


def _vectors(kind: str) -> list[dict[str, Any]]:
    """Every vector file, with integers as decimal strings (one index is 2^64 - 1)."""
    files = sorted((VECTORS / "transparency-dev" / kind).rglob("*.json"))
    vectors = [json.loads(path.read_text()) for path in files]
    for vector, path in zip(vectors, files, strict=True):
        vector["file"] = str(path.relative_to(VECTORS))
        for key, value in vector.items():
            if isinstance(value, int) and not isinstance(value, bool):
                vector[key] = str(value)
    return vectors


VECTOR_RUN = """
async ([inclusion, consistency]) => {
  const verdict = async (check) => {
    try {
      return (await check()) === true ? "accepted" : "resolved otherwise";
    } catch (error) {
      return error instanceof Tlog.TlogError ? error.code : `${error.name}: ${error.message}`;
    }
  };
  const out = {};
  for (const v of inclusion) {
    out[v.file] = await verdict(() =>
      Tlog.verifyInclusion(v.leafIdx, v.treeSize, v.leafHash, v.proof, v.root));
  }
  for (const v of consistency) {
    out[v.file] = await verdict(() =>
      Tlog.verifyConsistency(v.size1, v.size2, v.proof, v.root1, v.root2));
  }
  return out;
}
"""


async def test_every_merkle_vector(tlog: Verifier) -> None:
    inclusion, consistency_ = _vectors("inclusion"), _vectors("consistency")
    assert (len(inclusion), len(consistency_)) == (98, 98)
    verdicts = await tlog.page.evaluate(VECTOR_RUN, [inclusion, consistency_])
    wanted = {
        v["file"]: (refused if v["wantErr"] else "accepted")
        for vectors, refused in ((inclusion, "not_included"), (consistency_, "inconsistent"))
        for v in vectors
    }
    assert verdicts == wanted
    assert list(wanted.values()).count("accepted") == 12


# --- receipt promises -------------------------------------------------------------------


def promise(entry: bytes = LEAF_5, *, log: Ed25519Signer = LOG, origin: str = ORIGIN) -> str:
    return ReceiptPromise(origin, entry).sign(log).decode()


async def test_a_receipt_promise_verifies_as_python_signs_it_and_nothing_else_does(
    tlog: Verifier,
) -> None:
    good, other_log = promise(), Ed25519Signer(ORIGIN, private_key(99))
    swapped = good.split("\n")
    swapped[3] = b64(BALLOTS[6].leaf())  # another entry under the same signature
    text = ReceiptPromise(ORIGIN, LEAF_5).text().split("\n")
    text[2] = b64(leaf_hash(BALLOTS[6].leaf()))  # a leaf hash that is not the entry's
    cases = [
        (good, None, None),
        (good, CODE_5, None),
        (good, BALLOTS[6].receipt()[:12], "leaf_mismatch"),
        (promise(log=other_log), None, "unknown_log"),
        ("\n".join(swapped), None, "bad_signature"),
        (sign_note("\n".join(text), [LOG]).decode(), None, "leaf_mismatch"),
        (receipt(), None, "malformed"),  # a tlog-proof is no promise
    ]
    results = await tlog.page.evaluate(
        "([cases, policy]) => Promise.all(cases.map(([promise, expect]) =>"
        "  Tlog.verifyPromise({promise, policy, expect})))",
        [cases, POLICY_TEXT],
    )
    assert await tlog.page.evaluate("(t) => Tlog.isPromise(t)", good) is True
    assert await tlog.page.evaluate("(t) => Tlog.isPromise(t)", receipt()) is False
    assert results[0] == {
        "ok": True,
        "leaf": json.loads(LEAF_5),
        "code": CODE_5,
        "hash": leaf_hash(LEAF_5).hex(),
        "origin": ORIGIN,
    }
    assert results[1] == results[0]  # with the voter's code noted
    assert [None if r["ok"] else r["code"] for r in results] == [code for *_, code in cases]
