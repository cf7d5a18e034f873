"""RFC 9162 Merkle trees: hashes, tree heads, inclusion and consistency proofs.

The hashing is RFC 6962's, kept by RFC 9162 section 2.1.1 with SHA-256::

    MTH({})    = SHA-256()                                  the empty tree
    MTH({d0})  = SHA-256(0x00 ‖ d0)                         a leaf
    MTH(D[n])  = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))  k: largest power of two < n

Everything below works on *leaf hashes* (``leaf_hash(entry)``): the log proves hashes and
never needs the entries. Proofs are in RFC 9162 form: the inclusion proof ``PATH(m, D[n])``
of section 2.1.3.1 and the consistency proof ``PROOF(m, D[n])`` of section 2.1.4.1, each a
list of hashes ordered from the leaves up. The verifiers follow the algorithms of sections
2.1.3.2 and 2.1.4.2 step by step, and raise ``ProofError`` instead of returning false.

Three ways to hold a tree:

- ``CompactRange`` keeps only the right border's subtree roots (at most 64 hashes):
  appending and the root are O(log n), but it makes no proofs;
- ``tree_root``, ``inclusion_proof`` and ``consistency_proof`` read leaf hashes by index
  from anything with ``__getitem__`` (a list, or a view of the caller's storage) and
  rehash every subtree they need: O(n) hashing per call, no state;
- ``MerkleLog`` keeps the hash of every complete subtree as leaves are appended (about 64
  bytes per leaf), so appending and the root are O(log n) and a proof for any past tree
  size is O(log n) lookups (O(log² n) at worst on the right border).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from rooms.tlog.errors import ProofError

#: Bytes in a SHA-256 hash: every leaf hash, node hash and root.
HASH_SIZE = 32

#: MTH({}) = SHA-256 of the empty string (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


class LeafHashes(Protocol):
    """Leaf hashes readable by index (0-based), e.g. a ``list[bytes]``."""

    def __getitem__(self, index: int, /) -> bytes: ...


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry: SHA-256(0x00 ‖ entry), RFC 9162 section 2.1.1."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 ‖ left ‖ right), RFC 9162 section 2.1.1."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(size: int, leaves: LeafHashes) -> bytes:
    """MTH(D[size]) over the first ``size`` leaf hashes: O(size) hashes, O(log size) memory."""
    _check_size(size)
    tree = CompactRange()
    for index in range(size):
        tree.append(_leaf(leaves, index))
    return tree.root()


def inclusion_proof(index: int, size: int, leaves: LeafHashes) -> list[bytes]:
    """``PATH(index, D[size])`` (section 2.1.3.1), rehashing subtrees from ``leaves``."""
    return _path(_hashing_nodes(leaves), index, size)


def consistency_proof(old_size: int, new_size: int, leaves: LeafHashes) -> list[bytes]:
    """``PROOF(old_size, D[new_size])`` (section 2.1.4.1), rehashing subtrees from ``leaves``.

    Defined for ``0 < old_size <= new_size``; equal sizes give the empty proof.
    """
    return _proof(_hashing_nodes(leaves), old_size, new_size)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` (section 2.1.3.2, steps 1-4).

    Raises ``ProofError`` if the index is not below the size, a hash is not 32 bytes, or
    the proof's length does not fit the path from that index to the root.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    _check_hashes(leaf, *proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # skip the levels where the path has no sibling
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``.

    RFC 9162 section 2.1.3.2; raises ``ProofError`` when the proof does not verify.
    """
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    RFC 9162 section 2.1.4.2, whose algorithm covers ``0 < old_size < new_size``. Around
    it: equal sizes are consistent when the roots are equal and the proof is empty; an old
    size of 0 is refused, since ``PROOF(0, D[n])`` is undefined (a witness, which accepts
    any first checkpoint, checks ``old 0`` itself; c2sp.org/tlog-witness). Raises
    ``ProofError`` when the proof does not verify.
    """
    if old_size < 1:
        raise ProofError("a consistency proof needs an old tree size of at least 1")
    if new_size < old_size:
        raise ProofError(f"the new tree size {new_size} is below the old size {old_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("a tree is consistent with itself only by an empty proof")
        if old_root != new_root:
            raise ProofError("two roots for the same tree size differ")
        return
    if not proof:  # step 1
        raise ProofError("the consistency proof is empty")
    _check_hashes(*proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: the old tree is a complete subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofError("the consistency proof is shorter than the trees are deep")
    if fr != old_root:
        raise ProofError("the consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the new root")


class CompactRange:
    """What a log needs to grow its tree and know its root: O(log n) hashes.

    ``hashes`` are the roots of the complete subtrees along the tree's right border, one
    per set bit of ``size``, the largest (leftmost) first: MTH splits D[n] at the largest
    power of two, so the root is these hashes folded from the right. Appending merges the
    new leaf with one border subtree per trailing one bit of the size. Persist ``size``
    and ``hashes`` to carry on later with ``CompactRange(size, hashes)``.

    Not safe for concurrent use: one writer appends.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size)
        if len(hashes) != size.bit_count() or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} border hashes")
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (not an entry: see ``leaf_hash``)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        node, completed = leaf, self._size
        while completed & 1:  # each trailing one bit closes a complete subtree
            node = node_hash(self._hashes.pop(), node)
            completed >>= 1
        self._hashes.append(node)
        self._size += 1

    def root(self) -> bytes:
        """MTH(D[size])."""
        if not self._hashes:
            return EMPTY_ROOT
        root = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            root = node_hash(left, root)
        return root


class MerkleLog:
    """An append-only tree that keeps the hash of every complete subtree.

    ``_levels[h]`` packs, 32 bytes each and left to right, the hashes of the complete
    subtrees of 2**h leaves; level 0 holds the leaf hashes. Appending leaf ``n`` adds its
    hash to level 0 and one hash to each level where it completes a subtree (one per
    trailing one bit of ``n``). A complete subtree never changes once formed, so proofs
    and roots for every past size are lookups too.

    Not safe for concurrent use: one writer appends, and nobody reads during an append.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return self._size

    def append(self, leaf: bytes) -> int:
        """Append one leaf hash (not an entry: see ``leaf_hash``); return its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        index = self._size
        self._levels[0] += leaf
        node, level, completed = leaf, 0, index
        while completed & 1:
            node = node_hash(self._node(level, completed - 1), node)
            level += 1
            completed >>= 1
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += node
        self._size += 1
        return index

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self._size:
            raise IndexError(f"no leaf {index} in a tree of {self._size}")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[size]): the root now, or when the tree had ``size`` leaves."""
        size = self._past(size)
        return EMPTY_ROOT if size == 0 else _subtree_root(self._node, 0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``PATH(index, D[size])`` (section 2.1.3.1), now or at a past ``size``."""
        return _path(self._node, index, self._past(size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[new_size])`` (section 2.1.4.1), to now or a past ``new_size``."""
        return _proof(self._node, old_size, self._past(new_size))

    def _past(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is not between 0 and {self._size}")
        return size

    def _node(self, level: int, index: int) -> bytes:
        return bytes(self._levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE])


# --- the recursions of RFC 9162, over any source of complete-subtree hashes ------------

#: ``node(level, index)``: the hash of the complete subtree of 2**level leaves that starts
#: at leaf ``index << level``.
_Nodes = Callable[[int, int], bytes]


def _hashing_nodes(leaves: LeafHashes) -> _Nodes:
    def node(level: int, index: int) -> bytes:
        if level == 0:
            return _leaf(leaves, index)
        return node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))

    return node


def _split(n: int) -> int:
    """k, the largest power of two smaller than ``n`` (``n > 1``): where MTH(D[n]) splits."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(node: _Nodes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a subtree that the section 2.1.1 recursion reaches.

    Such a subtree starts at a multiple of its split point, so when its size is a power
    of two it is one complete subtree; otherwise it splits like MTH does.
    """
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    middle = start + _split(n)
    return node_hash(_subtree_root(node, start, middle), _subtree_root(node, middle, end))


def _path(node: _Nodes, index: int, size: int) -> list[bytes]:
    """PATH(m, D[n]) of section 2.1.3.1, descending from the root and then reversed."""
    _check_size(size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not below the tree size {size}")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:  # PATH(m, D[0:k]) : MTH(D[k:n])
            siblings.append(_subtree_root(node, middle, end))
            end = middle
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            siblings.append(_subtree_root(node, start, middle))
            start = middle
    siblings.reverse()
    return siblings


def _proof(node: _Nodes, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of section 2.1.4.1, reversed at the end.

    ``whole`` is SUBPROOF's flag b: true while the subtree in hand is still the old tree
    itself, whose root the verifier already has.
    """
    _check_size(new_size)
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from tree size {old_size} to {new_size}")
    hashes: list[bytes] = []
    start, end, whole = 0, new_size, True
    while old_size != end:  # invariant: start < old_size <= end
        middle = start + _split(end - start)
        if old_size <= middle:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            hashes.append(_subtree_root(node, middle, end))
            end = middle
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            hashes.append(_subtree_root(node, start, middle))
            start = middle
            whole = False
    if not whole:  # SUBPROOF(m, D[m], false) = [MTH(D[m])]
        hashes.append(_subtree_root(node, start, end))
    hashes.reverse()
    return hashes


def _leaf(leaves: LeafHashes, index: int) -> bytes:
    leaf = leaves[index]
    if len(leaf) != HASH_SIZE:
        raise ValueError(f"leaf hash {index} has {len(leaf)} bytes, not {HASH_SIZE}")
    return leaf


def _check_size(size: int) -> None:
    if size < 0:
        raise ValueError(f"a tree size is not negative: {size}")


def _check_hashes(*hashes: bytes) -> None:
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash has {HASH_SIZE} bytes, not {len(value)}")
