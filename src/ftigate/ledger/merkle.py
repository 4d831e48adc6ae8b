"""RFC 9162 section 2.1 Merkle tree hashing, proofs and their verification.

Everything here is a pure function of hashes: storage is the caller's business
(the shape of transparency-dev/merkle). Leaves are numbered from 0.

- ``leaf_hash(data)   = SHA-256(0x00 || data)``
- ``node_hash(l, r)   = SHA-256(0x01 || l || r)``
- the empty tree's root is ``SHA-256("")``

Three tools:

- the proof *verifiers* (``verify_inclusion``, ``verify_consistency``) follow
  the algorithms of RFC 9162 2.1.3.2 and 2.1.4.2 literally and raise a typed
  :class:`ProofError` on failure;
- :class:`CompactRange` is the right-hand frontier of a tree: it appends
  leaves in O(log n) each without the old leaves and gives the root at its
  current size; the store persists it so that appending never rereads the log;
- :class:`ProvableTree` answers roots at any size, inclusion proofs and
  consistency proofs in O(log n) lookups of perfect subtrees; :class:`HashTree`
  is one that holds every level in memory over a list of leaf hashes (built in
  O(n), extendable in O(log n) per leaf), ``ftigate.ledger.tiles.TiledTree``
  one that reads the levels the store keeps as tiles.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof did not verify. The message says precisely why."""


class MalformedProofError(ProofError):
    """The proof or its parameters have the wrong shape (sizes, lengths, hash widths)."""


class RootMismatchError(ProofError):
    """The proof is well formed but leads to a root other than the one expected."""

    def __init__(self, message: str, *, expected: bytes, computed: bytes) -> None:
        super().__init__(message)
        self.expected = expected
        self.computed = computed


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 2.1.1: MTH({d0}) = SHA-256(0x00 || d0)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: an interior node is SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 2.1.1: the largest power of two strictly smaller than n (n > 1)."""
    if n < 2:
        raise ValueError(f"no power of two is below {n} in a split (need n > 1)")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a whole list of leaf hashes, level by level in O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier = CompactRange()
    frontier.extend(leaf_hashes)
    return frontier.root()


# --- incremental frontier ---------------------------------------------------


@dataclass
class CompactRange:
    """The right frontier of a tree of ``size`` leaves.

    ``hashes`` holds the roots of the perfect subtrees that the binary
    decomposition of ``size`` splits the tree into, largest (leftmost) first:
    for size 6 = 4 + 2 that is [root(0..4), root(4..6)]. Appending a leaf merges
    as many of them as ``size`` has trailing one bits, so N appends cost
    O(N) amortised hashes and never read earlier leaves.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"tree size must be >= 0, got {self.size}")
        if len(self.hashes) != self.size.bit_count():
            raise ValueError(
                f"a frontier of size {self.size} has {self.size.bit_count()} hashes, "
                f"got {len(self.hashes)}"
            )
        for h in self.hashes:
            _check_hash(h, "frontier hash")

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash at index ``size``."""
        _check_hash(leaf, "leaf hash")
        merged = leaf
        pending = self.size
        stack = self.hashes
        while pending & 1:
            merged = node_hash(stack.pop(), merged)
            pending >>= 1
        stack.append(merged)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        stack = self.hashes
        size = self.size
        sha, prefix = _sha256, NODE_PREFIX
        for leaf in leaves:
            _check_hash(leaf, "leaf hash")
            merged = leaf
            pending = size
            while pending & 1:
                merged = sha(prefix + stack.pop() + merged).digest()
                pending >>= 1
            stack.append(merged)
            size += 1
        self.size = size

    def extend_visiting(self, leaves: Iterable[bytes], tiers: list[bytearray], tier_height: int) -> None:
        """Append leaves and keep the interior nodes a stored tree needs (the visitor of
        transparency-dev/merkle's compact ranges).

        ``tiers[t]`` receives, in index order, every node of height ``t * tier_height``
        that the appends complete (tier 0: the leaves themselves), so a caller can
        store whole levels without hashing anything twice."""
        stack = self.hashes
        size = self.size
        sha, prefix = _sha256, NODE_PREFIX
        if not tiers:
            tiers.append(bytearray())
        bottom = tiers[0]
        for leaf in leaves:
            _check_hash(leaf, "leaf hash")
            bottom += leaf
            merged = leaf
            pending = size
            height = 0
            while pending & 1:
                merged = sha(prefix + stack.pop() + merged).digest()
                pending >>= 1
                height += 1
                if not height % tier_height:
                    tier = height // tier_height
                    while len(tiers) <= tier:
                        tiers.append(bytearray())
                    tiers[tier] += merged
            stack.append(merged)
            size += 1
        self.size = size

    def root(self) -> bytes:
        """Root of the tree at the current size (any size, not only powers of two)."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))

    def to_bytes(self) -> bytes:
        """Concatenated hashes, for storing beside the size."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        if len(blob) % HASH_SIZE:
            raise ValueError(f"frontier blob of {len(blob)} bytes is not a multiple of 32")
        hashes = [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
        return cls(size, hashes)


# --- whole tree over stored leaf hashes ---------------------------------------


class ProvableTree(ABC):
    """Roots, frontiers and RFC 9162 proofs over a tree that can name its perfect subtrees.

    A subclass says where the hashes live: :class:`HashTree` keeps every level in
    memory, :class:`ftigate.ledger.tiles.TiledTree` reads C2SP tlog-tiles from the
    store. Either way a root or a proof costs O(log n) calls of ``_perfect``."""

    @property
    @abstractmethod
    def size(self) -> int:
        """How many leaves the tree holds."""

    @abstractmethod
    def _perfect(self, height: int, index: int) -> bytes:
        """The root of leaves [index * 2**height, (index + 1) * 2**height)."""

    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the subtrees RFC 9162 proofs use.

        ``start`` must be a multiple of the largest power of two not above
        ``end - start`` (true of every subtree the RFC recursion visits).
        """
        width = end - start
        if width <= 0 or end > self.size:
            raise ValueError(f"subtree [{start}, {end}) is not inside a tree of {self.size}")
        # Fold from the left: take the largest aligned perfect subtree each time,
        # remembering the left parts, then combine them right to left.
        parts: list[bytes] = []
        cursor = start
        while cursor < end:
            height = (end - cursor).bit_length() - 1
            if cursor % (1 << height):
                raise ValueError(f"subtree [{start}, {end}) is not aligned as RFC 9162 splits")
            parts.append(self._perfect(height, cursor >> height))
            cursor += 1 << height
        root = parts[-1]
        for left in reversed(parts[:-1]):
            root = node_hash(left, root)
        return root

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        if size < 0 or size > self.size:
            raise ValueError(f"size {size} is outside 0..{self.size}")
        if size == 0:
            return EMPTY_ROOT
        return self.subtree_root(0, size)

    def compact_range(self, size: int | None = None) -> CompactRange:
        """The frontier of the tree at ``size`` (to resume appending from there)."""
        size = self.size if size is None else size
        if size < 0 or size > self.size:
            raise ValueError(f"size {size} is outside 0..{self.size}")
        hashes = []
        cursor = 0
        for height in reversed(range(size.bit_length())):
            if size & (1 << height):
                hashes.append(self._perfect(height, cursor >> height))
                cursor += 1 << height
        return CompactRange(size, hashes)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 2.1.3.1 PATH(index, D[0:size])."""
        if not 0 <= index < size <= self.size:
            raise ValueError(
                f"no inclusion proof for index {index} in size {size} (tree has {self.size} leaves)"
            )
        proof: list[bytes] = []
        start, end, m = 0, size, index
        while end - start > 1:
            k = largest_power_of_two_below(end - start)
            if m < k:
                proof.append(self.subtree_root(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree_root(start, start + k))
                start += k
                m -= k
        proof.reverse()  # the recursion appends from the top; proofs list from the leaf up
        return proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 2.1.4.1 PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true)."""
        if not 0 < size1 <= size2 <= self.size:
            raise ValueError(
                f"no consistency proof from size {size1} to size {size2} "
                f"(need 0 < size1 <= size2 <= {self.size})"
            )
        proof: list[bytes] = []
        start, end, m, whole = 0, size2, size1, True
        while True:
            n = end - start
            if m == n:
                if not whole:
                    proof.append(self.subtree_root(start, end))
                break
            k = largest_power_of_two_below(n)
            if m <= k:
                proof.append(self.subtree_root(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree_root(start, start + k))
                start += k
                m -= k
                whole = False
        proof.reverse()
        return proof


class HashTree(ProvableTree):
    """Every perfect, aligned subtree hash of a list of leaves, for fast proofs.

    ``levels[h]`` is one ``bytearray`` of concatenated 32-byte hashes: entry i is
    the root of leaves [i * 2**h, (i + 1) * 2**h). Only complete subtrees are
    kept; the ragged right edge of any tree size is folded on demand, so a
    root at any size and any RFC 9162 proof cost O(log n) lookups. Memory is
    about 64 bytes per leaf.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[bytearray] = [bytearray()]
        leaves = self.levels[0]
        for leaf in leaf_hashes:
            _check_hash(leaf, "leaf hash")
            leaves += leaf
        self._build_upper_levels()

    @classmethod
    def from_concatenated(cls, leaf_hashes: bytes | bytearray) -> HashTree:
        """The tree over leaf hashes laid end to end (32 bytes each), built level by level."""
        if len(leaf_hashes) % HASH_SIZE:
            raise MalformedProofError(f"{len(leaf_hashes)} bytes of leaf hashes is not a multiple of 32")
        tree = cls()
        tree.levels[0] += leaf_hashes
        tree._build_upper_levels()
        return tree

    @property
    def size(self) -> int:
        return len(self.levels[0]) // HASH_SIZE

    def _build_upper_levels(self) -> None:
        # One append of each digest to a growing bytearray, from slices of the level below:
        # the fewest Python steps per node (verify builds a node per leaf of the log and per
        # committed item).
        sha = _sha256
        prefix = NODE_PREFIX
        height = 0
        while len(self.levels[height]) >= 2 * HASH_SIZE:
            below = self.levels[height]
            above = bytearray()
            for start in range(0, len(below) - 2 * HASH_SIZE + 1, 2 * HASH_SIZE):
                above += sha(prefix + below[start : start + 2 * HASH_SIZE]).digest()
            height += 1
            if len(self.levels) <= height:
                self.levels.append(above)
            else:
                self.levels[height] = above

    def append(self, leaf: bytes) -> None:
        """Add one leaf and the perfect subtrees it completes: O(log n)."""
        _check_hash(leaf, "leaf hash")
        self.levels[0] += leaf
        index = self.size - 1
        height = 0
        while index & 1:
            level = self.levels[height]
            left = bytes(level[(index - 1) * HASH_SIZE : index * HASH_SIZE])
            right = bytes(level[index * HASH_SIZE : (index + 1) * HASH_SIZE])
            height += 1
            index >>= 1
            if len(self.levels) <= height:
                self.levels.append(bytearray())
            self.levels[height] += node_hash(left, right)

    def leaf(self, index: int) -> bytes:
        return bytes(self.levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def _perfect(self, height: int, index: int) -> bytes:
        return bytes(self.levels[height][index * HASH_SIZE : (index + 1) * HASH_SIZE])

def inclusion_proof(index: int, size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Convenience: build the tree over ``leaf_hashes`` and prove one leaf."""
    return HashTree(leaf_hashes[:size]).inclusion_proof(index, size)


def consistency_proof(size1: int, size2: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Convenience: build the tree over ``leaf_hashes`` and prove size1 -> size2."""
    return HashTree(leaf_hashes[:size2]).consistency_proof(size1, size2)


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        width = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise MalformedProofError(f"{what} must be exactly 32 bytes, got {width}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, h in enumerate(proof):
        _check_hash(h, f"proof hash {position}")


def _inclusion_shape(index: int, size: int) -> tuple[int, int]:
    """(inner, border) node counts of an inclusion proof, as transparency-dev counts them."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def expected_inclusion_proof_length(index: int, size: int) -> int:
    inner, border = _inclusion_shape(index, size)
    return inner + border


def expected_consistency_proof_length(size1: int, size2: int) -> int:
    if size1 == size2:
        return 0
    inner, border = _inclusion_shape(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    seeded_by_old_root = size1 == 1 << shift
    return (0 if seeded_by_old_root else 1) + inner - shift + border


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2 steps 1-5: the root that ``proof`` implies for ``leaf``."""
    _check_hash(leaf, "leaf hash")
    if size <= 0 or index < 0:
        raise MalformedProofError(f"no leaf {index} in a tree of size {size}")
    if index >= size:
        raise MalformedProofError(f"leaf index {index} is beyond the tree size {size}")
    _check_proof_hashes(proof)
    want = expected_inclusion_proof_length(index, size)
    if len(proof) != want:
        raise MalformedProofError(
            f"inclusion proof for leaf {index} in size {size} has {len(proof)} hashes, "
            f"expected {want}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise MalformedProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    _check_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf, index, size, proof)
    if computed != root:
        raise RootMismatchError(
            f"inclusion proof for leaf {index} in size {size} leads to root "
            f"{computed.hex()}, expected {root.hex()}",
            expected=root,
            computed=computed,
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise :class:`ProofError` unless the tree of ``size2`` extends the one of ``size1``.

    RFC 9162 2.1.4.2. A proof from size 0 is rejected (the RFC defines proofs
    for 0 < size1 only; an empty tree is trivially a prefix and the caller can
    say so). Equal sizes need an empty proof and equal roots.
    """
    _check_hash(root1, "old root hash")
    _check_hash(root2, "new root hash")
    _check_proof_hashes(proof)
    if size1 < 0 or size2 < 0:
        raise MalformedProofError(f"tree sizes must be >= 0, got {size1} and {size2}")
    if size2 < size1:
        raise MalformedProofError(
            f"new size {size2} is smaller than old size {size1}: a log only grows"
        )
    if size1 == 0:
        raise MalformedProofError("a consistency proof from size 0 is not defined (RFC 9162 2.1.4)")
    if size1 == size2:
        if proof:
            raise MalformedProofError(
                f"sizes are equal ({size1}) but the proof has {len(proof)} hashes, expected 0"
            )
        if root1 != root2:
            raise RootMismatchError(
                f"two different roots for the same size {size1}: {root1.hex()} and {root2.hex()}",
                expected=root1,
                computed=root2,
            )
        return
    want = expected_consistency_proof_length(size1, size2)
    if len(proof) != want:
        raise MalformedProofError(
            f"consistency proof from size {size1} to {size2} has {len(proof)} hashes, "
            f"expected {want}"
        )
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is an exact power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MalformedProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise RootMismatchError(
            f"consistency proof {size1} -> {size2} rebuilds old root {fr.hex()}, "
            f"expected {root1.hex()}",
            expected=root1,
            computed=fr,
        )
    if sr != root2:
        raise RootMismatchError(
            f"consistency proof {size1} -> {size2} rebuilds new root {sr.hex()}, "
            f"expected {root2.hex()}",
            expected=root2,
            computed=sr,
        )
