"""RFC 9162 trees and proofs, against the transparency-dev/merkle vectors and a brute force.

The brute force is a direct transcription of RFC 9162's recursive definitions (MTH in
section 2.1.1, PATH in 2.1.3.1, SUBPROOF in 2.1.4.1) over entries, with no shared code:
``rooms.tlog.merkle`` must agree with it on every root, every inclusion proof and every
consistency proof of every tree of up to ``MAX_SIZE`` leaves, and its verifiers must refuse
each proof once a bit, an index, a size or a root is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rooms.tlog.errors import ProofError
from rooms.tlog.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    MerkleLog,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors" / "transparency-dev"
MAX_SIZE = 70

# --- the reference: RFC 9162's definitions, word for word --------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + entries[0])
    k = _k(n)
    return _sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, entries[:k]) + [ref_mth(entries[k:])]
    return ref_path(m - k, entries[k:]) + [ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, entries[:k], b) + [ref_mth(entries[k:])]
    return ref_subproof(m - k, entries[k:], False) + [ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


#: Distinct entries of different lengths, the empty entry first.
ENTRIES = [bytes(range(i % 5)) + i.to_bytes(2, "big") if i else b"" for i in range(MAX_SIZE)]
LEAVES = [leaf_hash(entry) for entry in ENTRIES]
ROOTS = [ref_mth(ENTRIES[:size]) for size in range(MAX_SIZE + 1)]
LOG = MerkleLog(LEAVES)


def _flip(value: bytes, bit: int = 0) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8 % len(flipped)] ^= 1 << (bit % 8)
    return bytes(flipped)


def _refused_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(index, size, leaf, proof, root)
    except ProofError:
        return True
    return False


def _refused_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ProofError:
        return True
    return False


# --- brute force over every tree of up to MAX_SIZE leaves --------------------------------


def test_the_reference_entries_are_distinct() -> None:
    assert len(set(ENTRIES)) == MAX_SIZE
    assert ROOTS[0] == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_root_matches_the_rfc_definition(size: int) -> None:
    assert tree_root(size, LEAVES) == ROOTS[size]
    assert LOG.root(size) == ROOTS[size]
    assert MerkleLog(LEAVES[:size]).root() == ROOTS[size]


def test_compact_range_grows_leaf_by_leaf_and_resumes_from_its_state() -> None:
    tree = CompactRange()
    for size in range(MAX_SIZE + 1):
        assert (tree.size, tree.root()) == (size, ROOTS[size])
        assert len(tree.hashes) == bin(size).count("1")
        resumed = CompactRange(tree.size, tree.hashes)
        assert resumed.root() == ROOTS[size]
        if size < MAX_SIZE:
            tree.append(LEAVES[size])
            resumed.append(LEAVES[size])
            assert resumed.hashes == tree.hashes


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_matches_the_rfc_and_verifies(size: int) -> None:
    checked = 0
    for index in range(size):
        expected = ref_path(index, ENTRIES[:size])
        assert inclusion_proof(index, size, LEAVES) == expected
        assert LOG.inclusion_proof(index, size) == expected
        verify_inclusion(index, size, LEAVES[index], expected, ROOTS[size])
        checked += 1
    assert checked == size


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_is_refused_once_anything_is_wrong(size: int) -> None:
    root, refusals = ROOTS[size], 0
    for index in range(size):
        leaf, proof = LEAVES[index], inclusion_proof(index, size, LEAVES)
        cases = [
            (index, size, _flip(leaf, index), proof, root),  # another leaf
            (index, size, leaf, proof, _flip(root, size)),  # another root
            (index, size, leaf, [*proof, leaf], root),  # extended
            (index, size, leaf, [leaf, *proof], root),  # a hash inserted at the bottom
        ]
        if proof:
            cases.append((index, size, leaf, proof[:-1], root))  # truncated
        for position in range(len(proof)):
            for bit in (0, 255):
                tampered = list(proof)
                tampered[position] = _flip(tampered[position], bit)
                cases.append((index, size, leaf, tampered, root))
        for other in {index - 1, index + 1, index ^ 1, index ^ 2} - {index}:
            if 0 <= other < size:  # the right proof shape, the wrong place
                cases.append((other, size, leaf, proof, root))
        for other_size in (size - 1, size + 1, size * 2, size // 2):
            if index < other_size <= MAX_SIZE and other_size != size:
                # A proof binds the size through the root: claim another size with its root.
                cases.append((index, other_size, leaf, proof, ROOTS[other_size]))
        for case in cases:
            assert _refused_inclusion(*case), case[:2]
            refusals += 1
    assert refusals >= 4 * size


@pytest.mark.parametrize("new", range(1, MAX_SIZE + 1))
def test_every_consistency_proof_matches_the_rfc_and_verifies(new: int) -> None:
    checked = 0
    for old in range(1, new + 1):
        expected = ref_proof(old, ENTRIES[:new])
        assert consistency_proof(old, new, LEAVES) == expected
        assert LOG.consistency_proof(old, new) == expected
        verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)
        checked += 1
    assert checked == new


@pytest.mark.parametrize("new", range(1, MAX_SIZE + 1))
def test_every_consistency_proof_is_refused_once_anything_is_wrong(new: int) -> None:
    refusals = 0
    for old in range(1, new + 1):
        old_root, new_root = ROOTS[old], ROOTS[new]
        proof = consistency_proof(old, new, LEAVES)
        cases = [
            (old, new, _flip(old_root, old), new_root, proof),
            (old, new, old_root, _flip(new_root, new), proof),
            (old, new, old_root, new_root, [*proof, new_root]),
        ]
        if proof:
            cases.append((old, new, old_root, new_root, proof[:-1]))
        for position in range(len(proof)):
            for bit in (0, 255):
                tampered = list(proof)
                tampered[position] = _flip(tampered[position], bit)
                cases.append((old, new, old_root, new_root, tampered))
        for other in (old - 1, old + 1, old * 2, old // 2):
            if 1 <= other <= new and other != old:  # another old tree, with its own root
                cases.append((other, new, ROOTS[other], new_root, proof))
        for other in (new - 1, new + 1, new * 2):
            if old <= other <= MAX_SIZE and other != new:  # another new tree, its own root
                cases.append((old, other, old_root, ROOTS[other], proof))
        if old < new:
            cases.append((new, old, new_root, old_root, proof))  # swapped
        for case in cases:
            assert _refused_consistency(*case), case[:2]
            refusals += 1
    assert refusals >= 3 * new


# --- transparency-dev/merkle test vectors (see vectors/transparency-dev/NOTICE.md) -------


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _vectors(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [
        pytest.param(json.loads(path.read_text()), id=str(path.relative_to(VECTORS / kind)))
        for path in files
    ]


INCLUSION_VECTORS = _vectors("inclusion")
CONSISTENCY_VECTORS = _vectors("consistency")


def test_every_vector_file_is_collected() -> None:
    assert len(INCLUSION_VECTORS) == 98
    assert len(CONSISTENCY_VECTORS) == 98
    wanted = [p.values[0]["wantErr"] for p in INCLUSION_VECTORS + CONSISTENCY_VECTORS]
    assert wanted.count(False) == 12  # the happy paths; the other 184 must be refused


@pytest.mark.parametrize("vector", INCLUSION_VECTORS)
def test_inclusion_vector(vector: dict[str, Any]) -> None:
    arguments = (
        vector["leafIdx"],
        vector["treeSize"],
        _b64(vector["leafHash"]),
        [_b64(p) for p in vector["proof"] or []],
        _b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)


@pytest.mark.parametrize("vector", CONSISTENCY_VECTORS)
def test_consistency_vector(vector: dict[str, Any]) -> None:
    arguments = (
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        [_b64(p) for p in vector["proof"] or []],
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)


TREE = json.loads((VECTORS / "tree.json").read_text())
TREE_LEAVES = [leaf_hash(bytes.fromhex(entry)) for entry in TREE["leaf_inputs"]]


def test_hasher_vectors() -> None:
    hasher = TREE["hasher"]
    assert EMPTY_ROOT.hex() == hasher["empty_root"]
    assert leaf_hash(b"").hex() == hasher["empty_leaf"]
    assert leaf_hash(hasher["leaf"]["input"].encode()).hex() == hasher["leaf"]["hash"]
    node = hasher["node"]
    assert node_hash(node["left"].encode(), node["right"].encode()).hex() == node["hash"]


@pytest.mark.parametrize("size", range(len(TREE["root_hashes"])))
def test_root_vectors(size: int) -> None:
    assert tree_root(size, TREE_LEAVES).hex() == TREE["root_hashes"][size]
    assert MerkleLog(TREE_LEAVES).root(size).hex() == TREE["root_hashes"][size]


@pytest.mark.parametrize("size", range(len(TREE["compact_trees"])))
def test_compact_range_vectors(size: int) -> None:
    tree = CompactRange()
    for leaf in TREE_LEAVES[:size]:
        tree.append(leaf)
    expected = [TREE["node_hashes"][level][index] for level, index in TREE["compact_trees"][size]]
    assert [h.hex() for h in tree.hashes] == expected


def test_complete_subtree_vectors() -> None:
    checked = 0
    for level, hashes in enumerate(TREE["node_hashes"]):
        width = 1 << level
        for index, expected in enumerate(hashes):
            subtree = TREE_LEAVES[index * width : (index + 1) * width]
            assert tree_root(width, subtree).hex() == expected
            checked += 1
    assert checked == 8 + 4 + 2 + 1


# --- MerkleLog ---------------------------------------------------------------------------


def test_append_returns_the_index_and_keeps_the_leaf() -> None:
    log = MerkleLog()
    assert log.size == 0
    assert log.root() == EMPTY_ROOT
    assert [log.append(leaf) for leaf in LEAVES[:5]] == [0, 1, 2, 3, 4]
    assert log.size == 5
    assert [log.leaf(i) for i in range(5)] == LEAVES[:5]
    assert log.root() == ROOTS[5]
    assert log.inclusion_proof(4) == ref_path(4, ENTRIES[:5])
    assert log.consistency_proof(3) == ref_proof(3, ENTRIES[:5])


def test_past_roots_do_not_change_as_the_log_grows() -> None:
    log, seen = MerkleLog(), []
    for leaf in LEAVES:
        log.append(leaf)
        seen.append(log.root())
        assert [log.root(size) for size in range(1, log.size + 1)] == seen


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda: MerkleLog().append(b"short"), ValueError, id="short-leaf-hash"),
        pytest.param(lambda: LOG.leaf(MAX_SIZE), IndexError, id="leaf-past-the-end"),
        pytest.param(lambda: LOG.leaf(-1), IndexError, id="negative-leaf"),
        pytest.param(lambda: LOG.root(MAX_SIZE + 1), ValueError, id="root-of-a-future-size"),
        pytest.param(lambda: LOG.root(-1), ValueError, id="root-of-a-negative-size"),
        pytest.param(lambda: LOG.inclusion_proof(3, 3), ValueError, id="index-not-below-size"),
        pytest.param(lambda: LOG.inclusion_proof(-1), ValueError, id="negative-index"),
        pytest.param(lambda: LOG.consistency_proof(0, 5), ValueError, id="proof-from-empty"),
        pytest.param(lambda: LOG.consistency_proof(6, 5), ValueError, id="old-above-new"),
        pytest.param(lambda: tree_root(-1, LEAVES), ValueError, id="negative-tree-size"),
        pytest.param(lambda: tree_root(2, [LEAVES[0], b"x"]), ValueError, id="short-stored-hash"),
        pytest.param(
            lambda: inclusion_proof(0, 2, [LEAVES[0], b"x" * 33]), ValueError, id="long-stored"
        ),
        pytest.param(lambda: consistency_proof(1, -1, LEAVES), ValueError, id="negative-new"),
        pytest.param(lambda: CompactRange().append(b"short"), ValueError, id="short-range-leaf"),
        pytest.param(lambda: CompactRange(3, [LEAVES[0]]), ValueError, id="too-few-hashes"),
        pytest.param(lambda: CompactRange(1, [b"x"]), ValueError, id="short-border-hash"),
        pytest.param(lambda: CompactRange(-1), ValueError, id="negative-range-size"),
    ],
)
def test_impossible_requests_are_caller_errors(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


# --- each refusal of the verifiers, once, by name ----------------------------------------

PROOF_5_OF_7 = inclusion_proof(5, 7, LEAVES)
PROOF_3_TO_7 = consistency_proof(3, 7, LEAVES)


def test_a_valid_proof_gives_back_the_root() -> None:
    assert root_from_inclusion_proof(5, 7, LEAVES[5], PROOF_5_OF_7) == ROOTS[7]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param((7, 7, LEAVES[5], PROOF_5_OF_7, ROOTS[7]), "not below", id="index-at-size"),
        pytest.param((-1, 7, LEAVES[5], PROOF_5_OF_7, ROOTS[7]), "not below", id="negative"),
        pytest.param((5, 7, LEAVES[5][:31], PROOF_5_OF_7, ROOTS[7]), "bytes", id="short-leaf"),
        pytest.param(
            (5, 7, LEAVES[5], [PROOF_5_OF_7[0] + b"\x00", *PROOF_5_OF_7[1:]], ROOTS[7]),
            "bytes",
            id="long-proof-hash",
        ),
        pytest.param(
            (5, 7, LEAVES[5], [*PROOF_5_OF_7, ROOTS[7]], ROOTS[7]), "longer", id="too-long"
        ),
        pytest.param((5, 7, LEAVES[5], PROOF_5_OF_7[:-1], ROOTS[7]), "shorter", id="too-short"),
        pytest.param((5, 7, LEAVES[4], PROOF_5_OF_7, ROOTS[7]), "root", id="wrong-leaf"),
    ],
)
def test_inclusion_refusals(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(*arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param((0, 7, EMPTY_ROOT, ROOTS[7], []), "at least 1", id="from-empty-tree"),
        pytest.param((7, 3, ROOTS[7], ROOTS[3], PROOF_3_TO_7), "below", id="new-below-old"),
        pytest.param((3, 3, ROOTS[3], ROOTS[3], [ROOTS[3]]), "empty proof", id="same-size-proof"),
        pytest.param((3, 3, ROOTS[3], ROOTS[4], []), "differ", id="same-size-other-root"),
        pytest.param((3, 7, ROOTS[3], ROOTS[7], []), "empty", id="empty-proof"),
        pytest.param(
            (3, 7, ROOTS[3], ROOTS[7], [*PROOF_3_TO_7[:-1], b"x"]), "bytes", id="short-hash"
        ),
        pytest.param(
            (3, 7, ROOTS[3], ROOTS[7], [*PROOF_3_TO_7, ROOTS[7]]), "longer", id="too-long"
        ),
        pytest.param((3, 7, ROOTS[3], ROOTS[7], PROOF_3_TO_7[:-1]), "shorter", id="too-short"),
        pytest.param((3, 7, ROOTS[2], ROOTS[7], PROOF_3_TO_7), "old root", id="wrong-old-root"),
        pytest.param((3, 7, ROOTS[3], ROOTS[6], PROOF_3_TO_7), "new root", id="wrong-new-root"),
    ],
)
def test_consistency_refusals(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(*arguments)


def test_a_tree_is_consistent_with_itself() -> None:
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    assert LOG.consistency_proof(5, 5) == []


def test_hash_size_is_sha256() -> None:
    assert HASH_SIZE == hashlib.sha256().digest_size == len(EMPTY_ROOT)
