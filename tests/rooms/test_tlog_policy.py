"""tlog-policy files: parsing, the quorum, and opening a checkpoint under a policy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.errors import (
    BadSignatureError,
    CheckpointError,
    PolicyError,
    QuorumError,
)
from rooms.tlog.notes import Ed25519Signer, sign_note
from rooms.tlog.policy import NONE, Policy, PolicyGroup, PolicyLog, PolicyWitness

VECTORS = Path(__file__).parent / "vectors"
FORMATS = json.loads((VECTORS / "transparency-dev-formats" / "examples.json").read_text())


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "example.com/poll/7"
LOG = Ed25519Signer(ORIGIN, private_key(1))
W1, W2, W3, W4 = (Cosigner(f"witness{i}.example", private_key(10 + i)) for i in range(1, 5))
V1, V2, V3, V4 = (w.vkey() for w in (W1, W2, W3, W4))

#: The default quorum of DESIGN.md: 3 of 4 witnesses.
DEFAULT = f"""# mvoting: a poll's log and its witnesses
log {LOG.verifier().vkey()} https://vote.example/log/
witness w1 {V1} https://w1.example/
witness w2 {V2} https://w2.example/
witness w3 {V3}
witness w4 {V4}
group witnesses 3 w1 w2 w3 w4
quorum witnesses
""".encode()


def test_the_default_policy_parses() -> None:
    policy = Policy.parse(DEFAULT)
    assert [log.verifier for log in policy.logs] == [LOG.verifier()]
    assert policy.logs[0].url == "https://vote.example/log/"
    assert [(w.name, w.verifier, w.url) for w in policy.witnesses] == [
        ("w1", W1.verifier(), "https://w1.example/"),
        ("w2", W2.verifier(), "https://w2.example/"),
        ("w3", W3.verifier(), None),
        ("w4", W4.verifier(), None),
    ]
    assert policy.groups == (PolicyGroup("witnesses", 3, ("w1", "w2", "w3", "w4")),)
    assert policy.quorum == "witnesses"


def test_a_policy_round_trips_through_its_file() -> None:
    policy = Policy.parse(DEFAULT)
    assert Policy.parse(policy.to_bytes()) == policy
    assert policy.to_bytes() == b"\n".join(DEFAULT.split(b"\n")[1:])


@pytest.mark.parametrize(
    ("cosigners", "witnessed"),
    [
        pytest.param([], False, id="none"),
        pytest.param(["w1", "w2"], False, id="two"),
        pytest.param(["w1", "w2", "w3"], True, id="three"),
        pytest.param(["w2", "w3", "w4"], True, id="another-three"),
        pytest.param(["w1", "w2", "w3", "w4"], True, id="four"),
        pytest.param(["w1", "w1", "w1"], False, id="one-witness-thrice"),
        pytest.param(["w1", "w2", "witnesses"], False, id="the-group-name-is-not-a-witness"),
    ],
)
def test_three_of_four(cosigners: list[str], witnessed: bool) -> None:
    assert Policy.parse(DEFAULT).witnessed(cosigners) is witnessed


def _spec_example() -> bytes:
    """The two-level example of the spec ("Example policy"), with real keys."""
    keys = [
        Cosigner(f"{group}{i}", private_key(20 + 3 * j + i)).vkey()
        for j, group in enumerate("XY")
        for i in range(1, 4)
    ]
    return f"""log {LOG.verifier().vkey()}

witness X1 {keys[0]}
witness X2 {keys[1]}
witness X3 {keys[2]}
group X-witnesses 2 X1 X2 X3

witness Y1 {keys[3]}
witness Y2 {keys[4]}
witness Y3 {keys[5]}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
""".encode()


@pytest.mark.parametrize(
    ("cosigners", "witnessed"),
    [
        pytest.param(["X1", "X2", "Y3"], True, id="two-x-one-y"),
        pytest.param(["X1", "X2", "X3", "Y1", "Y2", "Y3"], True, id="all"),
        pytest.param(["X1", "X2", "X3"], False, id="no-y"),
        pytest.param(["X1", "Y1", "Y2", "Y3"], False, id="one-x"),
        pytest.param(["X-witnesses", "Y-witnesses"], False, id="group-names-are-not-witnesses"),
    ],
)
def test_the_spec_example_quorum(cosigners: list[str], witnessed: bool) -> None:
    policy = Policy.parse(_spec_example())
    assert [(g.name, g.threshold) for g in policy.groups] == [
        ("X-witnesses", 2),
        ("Y-witnesses", 1),
        ("X-and-Y", 2),
    ]
    assert policy.witnessed(cosigners) is witnessed


def test_quorum_none_needs_no_cosignature() -> None:
    policy = Policy.parse(f"log {LOG.verifier().vkey()}\nquorum none\n".encode())
    assert policy.witnessed([])
    assert policy.witnesses == ()


def test_a_single_witness_quorum() -> None:
    policy = Policy.parse(f"witness w1 {V1}\nquorum w1".encode())  # no final newline
    assert policy.witnessed(["w1"])
    assert not policy.witnessed(["w2"])
    assert policy.logs == ()


def test_whitespace_comments_and_opaque_octets() -> None:
    text = (
        b"\n   \t\n# comment\n  \t# indented comment \xff\xfe\n"
        b"\twitness \t K  " + V1.encode() + b"  \t\n"
        b"witness \xe2\x84\xaa " + V2.encode() + b"\n"  # KELVIN SIGN, not K
        b"witness caf\xc3\xa9 " + V3.encode() + b" https://caf\xc3\xa9.example/\n"
        b"witness raw\xff " + V4.encode() + b"\n"
        b"group g any K \xe2\x84\xaa caf\xc3\xa9 raw\xff   \n"
        b"quorum g\n"
    )
    policy = Policy.parse(text)
    assert [w.name for w in policy.witnesses] == ["K", "\u212a", "café", "raw\udcff"]
    assert policy.witnesses[2].url == "https://café.example/"
    assert Policy.parse(policy.to_bytes()) == policy
    assert b"raw\xff" in policy.to_bytes()


# --- refusals ----------------------------------------------------------------------------

LOG_LINE = f"log {LOG.verifier().vkey()}\n"
WITNESSES = f"witness w1 {V1}\nwitness w2 {V2}\n"

# fmt: off
BAD_POLICIES = [
    pytest.param(WITNESSES, "quorum line", id="no-quorum"),
    pytest.param(WITNESSES + "quorum w1\nquorum w2\n", "line 4: a policy has one quorum",
                 id="two-quorums"),
    pytest.param(WITNESSES + "quorum w3\n", "line 3: the quorum 'w3' is not defined",
                 id="quorum-undefined"),
    pytest.param(f"quorum w1\nwitness w1 {V1}\n", "line 1: the quorum 'w1' is not defined",
                 id="quorum-before-its-witness"),
    pytest.param(WITNESSES + "group g any w1 w3\nquorum g\n", "'w3' is not defined",
                 id="member-undefined"),
    pytest.param(f"group g any w1\nwitness w1 {V1}\nquorum g\n", "line 1: group 'g': 'w1'",
                 id="member-defined-after"),
    pytest.param(WITNESSES + "group g any g\nquorum g\n", "'g' is not defined",
                 id="group-in-itself"),
    pytest.param(WITNESSES + "group g any w1 none\nquorum g\n", "'none' is not defined",
                 id="member-none"),
    pytest.param(WITNESSES + "group g 1 w1 w1\nquorum g\n", "a member twice", id="member-twice"),
    pytest.param(WITNESSES + "group g 0 w1 w2\nquorum g\n", "1 <= k <= 2", id="threshold-0"),
    pytest.param(WITNESSES + "group g 3 w1 w2\nquorum g\n", "1 <= k <= 2", id="threshold-over-n"),
    pytest.param(WITNESSES + "group g -1 w1\nquorum g\n", "a threshold is",
                 id="threshold-negative"),
    pytest.param(WITNESSES + "group g 01 w1\nquorum g\n", "a threshold is", id="threshold-01"),
    pytest.param(WITNESSES + "group g two w1 w2\nquorum g\n", "a threshold is",
                 id="threshold-word"),
    pytest.param(WITNESSES + "group g all\nquorum g\n", "not a log, witness", id="no-members"),
    pytest.param(WITNESSES + f"witness w1 {V3}\nquorum w1\n", "line 3: the name 'w1' is taken",
                 id="witness-name-twice"),
    pytest.param(WITNESSES + "group w2 any w1\nquorum w2\n", "the name 'w2' is taken",
                 id="group-named-as-a-witness"),
    pytest.param(f"witness none {V1}\nquorum none\n", "the name 'none' is taken",
                 id="witness-named-none"),
    pytest.param(WITNESSES + "group none any w1\nquorum none\n", "the name 'none' is taken",
                 id="group-named-none"),
    pytest.param(WITNESSES + f"witness w3 {V1}\nquorum w1\n", "two witnesses have the key",
                 id="witness-key-twice"),
    pytest.param(WITNESSES + f"witness w3 {Cosigner('other-name', private_key(11)).vkey()}\n"
                 "quorum w1\n", "two witnesses have the key", id="witness-key-twice-renamed"),
    pytest.param(LOG_LINE + LOG_LINE + "quorum none\n", "two logs", id="log-key-twice"),
    pytest.param(f"log {V1}\nquorum none\n", "not an Ed25519 note key", id="log-key-type-4"),
    pytest.param(f"witness w1 {LOG.verifier().vkey()}\nquorum w1\n", "not a cosignature/v1",
                 id="witness-key-type-1"),
    pytest.param(FORMATS["policy_with_type_0x01_witness_keys"], "line 1: not a cosignature/v1",
                 id="formats-policy-with-type-1-witness-keys"),
    pytest.param(f"witness w1 {V1[:-2]}\nquorum w1\n", "line 1: not a vkey", id="bad-vkey"),
    pytest.param(f"witness w1 {V1} https://w1/ #comment\nquorum w1\n", "not a log, witness",
                 id="comment-after-items"),
    pytest.param(LOG_LINE.replace("\n", " url extra\n") + "quorum none\n", "not a log, witness",
                 id="log-line-too-long"),
    pytest.param("witness w1\nquorum none\n", "not a log, witness", id="witness-without-key"),
    pytest.param(WITNESSES + "quorum w1 w2\n", "not a log, witness", id="quorum-two-names"),
    pytest.param(WITNESSES + "Quorum w1\n", "not a log, witness", id="keyword-case"),
    pytest.param(WITNESSES + "monitor m1\nquorum w1\n", "line 3: not a log, witness",
                 id="unknown-keyword"),
    pytest.param(WITNESSES + "quorum w1\x01\n", "line 3: octet 0x01", id="control-character"),
    pytest.param(WITNESSES + "quorum w1\r\n", "octet 0x0d", id="carriage-return"),
    pytest.param(WITNESSES + "# \x7f\nquorum w1\n", "line 3: octet 0x7f", id="delete-in-comment"),
    pytest.param(WITNESSES + "quorum w1\x0b\n", "octet 0x0b", id="vertical-tab"),
]
# fmt: on


@pytest.mark.parametrize(("text", "reason"), BAD_POLICIES)
def test_bad_policies_are_refused(text: str, reason: str) -> None:
    with pytest.raises(PolicyError, match=reason):
        Policy.parse(text.encode("utf-8", "surrogateescape"))


def test_the_valid_policy_the_bad_ones_are_made_from_parses() -> None:
    assert Policy.parse((LOG_LINE + WITNESSES + "quorum w1\n").encode()).witnessed(["w1"])


# --- building policies in code: the same rules -------------------------------------------


def test_a_built_policy_is_checked_like_a_file() -> None:
    witness = PolicyWitness("w1", W1.verifier())
    group = PolicyGroup("g", 1, ("w1",))
    assert Policy((), (witness,), (group,), "g").witnessed(["w1"])
    with pytest.raises(PolicyError, match="not defined"):
        Policy((), (witness,), (PolicyGroup("g", 1, ("h",)), PolicyGroup("h", 1, ("w1",))), "g")
    with pytest.raises(PolicyError, match="not defined"):
        Policy((), (witness,), (group,), "h")


@pytest.mark.parametrize(
    "witness",
    [
        pytest.param(PolicyWitness("w 1", W1.verifier()), id="space-in-name"),
        pytest.param(PolicyWitness("", W1.verifier()), id="empty-name"),
        pytest.param(PolicyWitness("w\x7f", W1.verifier()), id="delete-in-name"),
        pytest.param(PolicyWitness("w\ud800", W1.verifier()), id="lone-surrogate-in-name"),
        pytest.param(PolicyWitness("w1", W1.verifier(), "https://a b/"), id="space-in-url"),
        pytest.param(PolicyWitness("w1", W1.verifier(), ""), id="empty-url"),
    ],
)
def test_built_names_and_urls_must_be_writable(witness: PolicyWitness) -> None:
    with pytest.raises(PolicyError, match="not a"):
        Policy((), (witness,), (), NONE)


def test_a_built_log_url_must_be_writable() -> None:
    with pytest.raises(PolicyError, match="URL"):
        Policy((PolicyLog(LOG.verifier(), "a\tb"),), (), (), NONE)


# --- opening checkpoints under the default policy ----------------------------------------

CHECKPOINT = Checkpoint(ORIGIN, 5, hashlib.sha256(b"five ballots").digest())
POLICY = Policy.parse(DEFAULT)


def _cosigned(*witnesses: Cosigner, log: Ed25519Signer = LOG) -> bytes:
    cosigners = [witness.at(1_700_000_000 + i) for i, witness in enumerate(witnesses)]
    return sign_note(CHECKPOINT.text(), [log, *cosigners])


def test_three_cosignatures_open_the_checkpoint() -> None:
    signed = POLICY.open_checkpoint(_cosigned(W1, W3, W4))
    assert signed.checkpoint == CHECKPOINT
    assert [s.name for s in signed.cosignatures] == [W1.name, W3.name, W4.name]


def test_cosigners_are_named_by_the_policy_each_once() -> None:
    again = sign_note(CHECKPOINT.text(), [W3.at(1_800_000_000)]).split(b"\n\n")[1]
    signed = POLICY.open_checkpoint(_cosigned(W1, W3, W4) + again)
    assert len(signed.cosignatures) == 4
    assert POLICY.cosigners(signed) == ("w1", "w3", "w4")


def test_two_cosignatures_are_not_a_quorum() -> None:
    stranger = Cosigner("witness9.example", private_key(99))
    with pytest.raises(QuorumError, match=r"\['w1', 'w2'\]"):
        POLICY.open_checkpoint(_cosigned(W1, W2, stranger))


def test_one_bad_cosignature_refuses_the_checkpoint() -> None:
    good = _cosigned(W1, W2, W3)
    bad = good + sign_note(CHECKPOINT.text() + "x\n", [W4.at(1)]).split(b"\n\n")[1]
    with pytest.raises(BadSignatureError, match=W4.name):
        POLICY.open_checkpoint(bad)


def test_the_log_key_must_be_named_as_the_origin() -> None:
    renamed = Ed25519Signer("example.com/poll/8", private_key(1))
    policy = Policy((PolicyLog(renamed.verifier()),), POLICY.witnesses, POLICY.groups, "witnesses")
    with pytest.raises(CheckpointError, match="no log key named"):
        policy.open_checkpoint(_cosigned(W1, W2, W3, log=renamed))


def test_a_log_known_from_context() -> None:
    policy = Policy((), POLICY.witnesses, POLICY.groups, POLICY.quorum)
    with pytest.raises(CheckpointError, match="no known log key"):
        policy.open_checkpoint(_cosigned(W1, W2, W3))
    assert policy.open_checkpoint(_cosigned(W1, W2, W3), [LOG.verifier()]).checkpoint == CHECKPOINT
