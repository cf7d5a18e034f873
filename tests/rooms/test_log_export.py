"""A poll's exported log recounted alone (``mvoting recount``): what verifies, what does not."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.ballots import Ballot
from rooms.ledger import closing_entry, opening_entry
from rooms.log_export import FORMAT, ExportError, LogExport, recount_export
from rooms.questions import build_question
from rooms.tlog.checkpoint import Checkpoint
from rooms.tlog.cosignature import Cosigner
from rooms.tlog.merkle import MerkleLog, leaf_hash
from rooms.tlog.notes import Ed25519Signer
from rooms.tlog.policy import Policy, PolicyGroup, PolicyLog, PolicyWitness


def private_key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


ORIGIN = "vote.example/ledger/0123456789abcdef"
QUESTION = "Q1"
LOG = Ed25519Signer(ORIGIN, private_key(1))
IMPOSTOR = Ed25519Signer(ORIGIN, private_key(2))  # the log's name, another key
WITNESSES = [Cosigner(f"w{i}.example", private_key(10 + i)) for i in range(4)]
POLICY = Policy(
    (PolicyLog(LOG.verifier()),),
    tuple(PolicyWitness(f"w{i}", w.verifier()) for i, w in enumerate(WITNESSES)),
    (PolicyGroup("witnesses", 3, ("w0", "w1", "w2", "w3")),),
    "witnesses",
)
#: What a server that wants no witnesses would put in the file.
NO_QUORUM = Policy(POLICY.logs, POLICY.witnesses, (), "none")

T0 = 1_700_000_000_000
DEFINITION = build_question("Lunch?", "single", "Rice,Noodles,Salad").as_dict()
BALLOTS = [
    Ballot(QUESTION, (i % 3,), T0 + 10 + i, f"{i:064x}", f"{i:032x}").leaf() for i in range(7)
]
COUNTS, TOTAL = [3, 2, 2], 7
ENTRIES = (
    opening_entry(QUESTION, T0, DEFINITION),
    *BALLOTS,
    closing_entry(QUESTION, T0 + 100, COUNTS, TOTAL),
)


def signed(
    entries: Sequence[bytes],
    *,
    log: Ed25519Signer = LOG,
    cosigners: Sequence[Cosigner] = WITNESSES[:3],
    origin: str = ORIGIN,
) -> bytes:
    tree = MerkleLog(map(leaf_hash, entries))
    checkpoint = Checkpoint(origin, tree.size, tree.root())
    return checkpoint.sign(log, *(w.at(1_700_000_100) for w in cosigners))


def export(
    entries: Sequence[bytes] = ENTRIES,
    *,
    checkpoint: bytes | None = None,
    policy: Policy | None = POLICY,
    origin: str = ORIGIN,
    question: str = QUESTION,
) -> LogExport:
    """The export a server writes: the entries, the checkpoint of exactly them, its policy."""
    return LogExport(
        origin,
        question,
        policy.to_bytes() if policy is not None else b"",
        signed(entries) if checkpoint is None else checkpoint,
        tuple(entries),
    )


def replaced(index: int, entry: bytes) -> tuple[bytes, ...]:
    return (*ENTRIES[:index], entry, *ENTRIES[index + 1 :])


def test_a_closed_cosigned_log_recounts_and_verifies() -> None:
    good = export()
    assert recount_export(good) == {
        "counts": COUNTS,
        "total": TOTAL,
        "verified": True,
        "reason": None,
    }
    # The same against a policy the reader trusts, and after a round trip through a file.
    again = LogExport.parse(good.to_bytes())
    assert again == good
    assert recount_export(again, POLICY)["verified"] is True


def test_the_file_is_json_in_the_documented_format() -> None:
    body = orjson.loads(export().to_bytes())
    assert body == {
        "format": FORMAT,
        "origin": ORIGIN,
        "question": QUESTION,
        "policy": POLICY.to_bytes().decode(),
        "checkpoint": signed(ENTRIES).decode(),
        "entries": [e.decode() for e in ENTRIES],
    }


ALTERED_NONCE = Ballot(QUESTION, (0,), T0 + 10, f"{0:064x}", f"{99:032x}").leaf()
ALTERED_CHOICE = Ballot(QUESTION, (1,), T0 + 10, f"{0:064x}", f"{0:032x}").leaf()


@pytest.mark.parametrize(
    ("bad", "trusted", "counts", "reason"),
    [
        pytest.param(
            export(replaced(1, ALTERED_NONCE), checkpoint=signed(ENTRIES)),
            None,
            COUNTS,
            "The log's first 9 entries no longer match the checkpoint signed for them",
            id="altered-ballot-same-counts",
        ),
        pytest.param(
            export(replaced(1, ALTERED_CHOICE), checkpoint=signed(ENTRIES)),
            None,
            None,
            "The tally recorded at closing (log entry 8) is [3, 2, 2]; the ballots before it "
            "count [2, 3, 2].",
            id="altered-choice",
        ),
        pytest.param(
            export((*ENTRIES[:3], *ENTRIES[4:]), checkpoint=signed(ENTRIES)),
            None,
            None,
            "The tally recorded at closing (log entry 7)",
            id="dropped-ballot",
        ),
        pytest.param(
            export(ENTRIES[:-1], checkpoint=signed(ENTRIES)),
            None,
            [3, 2, 2],
            "the checkpoint is of 9 entries; the file holds 8",
            id="dropped-closing-under-the-final-checkpoint",
        ),
        pytest.param(
            export(ENTRIES[:-1]),
            None,
            [3, 2, 2],
            "The log does not end with the question's closing.",
            id="not-closed",
        ),
        pytest.param(
            export(checkpoint=signed(ENTRIES, log=IMPOSTOR)),
            None,
            COUNTS,
            f"no known log key signed the checkpoint of '{ORIGIN}'",
            id="checkpoint-by-another-key",
        ),
        pytest.param(
            export(checkpoint=signed(ENTRIES, cosigners=WITNESSES[:2])),
            None,
            COUNTS,
            "the quorum 'witnesses' is not met by ['w0', 'w1']",
            id="too-few-cosignatures",
        ),
        pytest.param(
            export(checkpoint=signed(ENTRIES, cosigners=WITNESSES[:1]), policy=NO_QUORUM),
            POLICY,
            COUNTS,
            "the quorum 'witnesses' is not met by ['w0']",
            id="too-few-cosignatures-for-the-trusted-policy",
        ),
        pytest.param(
            export(policy=None),
            None,
            COUNTS,
            "the export has no policy (its server had no witnesses)",
            id="no-policy",
        ),
        pytest.param(
            export(origin="vote.example/ledger/fedcba9876543210"),
            None,
            COUNTS,
            f"the checkpoint is of '{ORIGIN}', not 'vote.example/ledger/fedcba9876543210'",
            id="another-origin",
        ),
        pytest.param(
            export(question="Q2"),
            None,
            COUNTS,
            "the entries are of question 'Q1', not 'Q2'",
            id="another-question",
        ),
        pytest.param(
            export(replaced(2, b'{"e":[],"q":"Q1"}')),
            None,
            None,
            "Log entry 2 is not a ledger entry.",
            id="an-entry-of-no-kind",
        ),
        pytest.param(
            export(replaced(2, b"not json")),
            None,
            None,
            "Log entry 2 is not a ledger entry.",
            id="an-entry-not-json",
        ),
        pytest.param(
            export(()),
            None,
            None,
            "The log does not start with the question's opening.",
            id="empty",
        ),  # fmt: skip
    ],
)
def test_a_log_that_is_not_the_signed_closed_poll_is_not_verified(
    bad: LogExport, trusted: Policy | None, counts: list[int] | None, reason: str
) -> None:
    result = recount_export(bad, trusted)
    assert result["verified"] is False
    assert result["reason"].startswith(reason), result["reason"]
    assert result["counts"] == counts


def test_only_a_trusted_policy_tells_a_witnessed_log_from_a_self_serving_file() -> None:
    file = export(checkpoint=signed(ENTRIES, cosigners=()), policy=NO_QUORUM)
    assert recount_export(file)["verified"] is True  # consistent with itself
    assert recount_export(file, POLICY)["verified"] is False


def _json(body: object) -> bytes:
    return orjson.dumps(body)


GOOD = orjson.loads(export().to_bytes())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"\x89PNG\r\n", "not JSON", id="not-json"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(_json([GOOD]), "not an export of format mvoting-log/v1", id="a-list"),
        pytest.param(
            _json({**GOOD, "format": "mvoting-log/v2"}),
            "not an export of format mvoting-log/v1",
            id="another-format",
        ),
        pytest.param(
            _json({k: v for k, v in GOOD.items() if k != "checkpoint"}),
            "an export has origin, question, policy, checkpoint and entries",
            id="no-checkpoint",
        ),
        pytest.param(
            _json({**GOOD, "origin": 7}),
            "an export has origin, question, policy, checkpoint and entries",
            id="origin-not-text",
        ),
        pytest.param(
            _json({**GOOD, "entries": "[]"}),
            "an export has origin, question, policy, checkpoint and entries",
            id="entries-not-a-list",
        ),
        pytest.param(
            _json({**GOOD, "entries": [*GOOD["entries"][:-1], {"e": "close"}]}),
            "each entry is a string",
            id="entry-not-text",
        ),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ExportError) as caught:
        LogExport.parse(data)
    assert str(caught.value) == message
