"""RFC 9162 Merkle tree: known answers, probes of corruption, a naive reference, properties."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_vectors import (
    CONSISTENCY_A,
    INCLUSION_A,
    LEAF_L123456,
    LEAVES_A,
    LEAVES_B,
    NODE_N123_N456,
    PROOF_HASHES,
    ROOTS_A,
    ROOTS_B,
)

from ftigate.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    HashTree,
    MalformedProofError,
    ProofError,
    RootMismatchError,
    consistency_proof,
    expected_consistency_proof_length,
    expected_inclusion_proof_length,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# --- a deliberately naive reference, written straight from RFC 9162 2.1 -----


def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def h(name: str) -> bytes:
    return bytes.fromhex(PROOF_HASHES[name])


TREE_A = HashTree(leaf_hash(d) for d in LEAVES_A)


# --- known answers ------------------------------------------------------------


def test_hasher_known_answers() -> None:
    # printf '' | sha256sum
    assert EMPTY_ROOT.hex() == ROOTS_A[0]
    # printf '\x00' | sha256sum
    assert leaf_hash(b"").hex() == ROOTS_A[1]
    # printf '\x00L123456' | sha256sum
    assert leaf_hash(b"L123456").hex() == LEAF_L123456
    # printf '\x01N123N456' | sha256sum
    assert node_hash(b"N123", b"N456").hex() == NODE_N123_N456


@pytest.mark.parametrize("size", sorted(ROOTS_A))
def test_roots_of_vector_a(size: int) -> None:
    leaves = [leaf_hash(d) for d in LEAVES_A[:size]]
    assert TREE_A.root(size).hex() == ROOTS_A[size]
    assert root_from_leaf_hashes(leaves).hex() == ROOTS_A[size]
    frontier = CompactRange()
    frontier.extend(leaves)
    assert frontier.root().hex() == ROOTS_A[size]
    assert ref_mth(LEAVES_A[:size]).hex() == ROOTS_A[size]


@pytest.mark.parametrize("size", sorted(ROOTS_B))
def test_roots_of_vector_b(size: int) -> None:
    tree = HashTree(leaf_hash(d) for d in LEAVES_B)
    assert base64.b64encode(tree.root(size)).decode() == ROOTS_B[size]


@pytest.mark.parametrize(("index", "size", "names"), INCLUSION_A)
def test_inclusion_proofs_of_vector_a(index: int, size: int, names: list[str]) -> None:
    want = [h(n) for n in names]
    assert TREE_A.inclusion_proof(index, size) == want
    assert inclusion_proof(index, size, [leaf_hash(d) for d in LEAVES_A]) == want
    verify_inclusion(leaf_hash(LEAVES_A[index]), index, size, want, bytes.fromhex(ROOTS_A[size]))


@pytest.mark.parametrize(("size1", "size2", "names"), CONSISTENCY_A)
def test_consistency_proofs_of_vector_a(size1: int, size2: int, names: list[str]) -> None:
    want = [h(n) for n in names]
    assert TREE_A.consistency_proof(size1, size2) == want
    assert consistency_proof(size1, size2, [leaf_hash(d) for d in LEAVES_A]) == want
    verify_consistency(
        size1, size2, want, bytes.fromhex(ROOTS_A[size1]), bytes.fromhex(ROOTS_A[size2])
    )


# --- probes: one good case and each kind of corruption ---------------------------


@dataclass(frozen=True)
class Probe:
    desc: str
    args: dict[str, object]
    want_err: type[ProofError] | None
    message: str = ""


def flip_bit(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


GOOD_INCLUSION: dict[str, object] = {
    "leaf": leaf_hash(LEAVES_A[5]),
    "index": 5,
    "size": 8,
    "proof": [h("d"), h("e"), h("h")],
    "root": bytes.fromhex(ROOTS_A[8]),
}

INCLUSION_PROBES = [
    Probe("good proof", {}, None),
    Probe("wrong leaf", {"leaf": leaf_hash(b"x")}, RootMismatchError, "leads to root"),
    Probe("wrong index", {"index": 4}, RootMismatchError, "leads to root"),
    Probe("index beyond size", {"index": 8}, MalformedProofError, "beyond the tree size"),
    Probe("negative index", {"index": -1}, MalformedProofError, "no leaf -1"),
    Probe("wrong size (shorter path)", {"size": 6}, ProofError, ""),
    Probe("size zero", {"size": 0}, MalformedProofError, "size 0"),
    Probe("truncated proof", {"proof": [h("d"), h("e")]}, MalformedProofError, "expected 3"),
    Probe(
        "extra hash",
        {"proof": [h("d"), h("e"), h("h"), h("a")]},
        MalformedProofError,
        "has 4 hashes, expected 3",
    ),
    Probe(
        "swapped proof hashes",
        {"proof": [h("e"), h("d"), h("h")]},
        RootMismatchError,
        "leads to root",
    ),
    Probe(
        "one flipped bit in a proof hash",
        {"proof": [h("d"), flip_bit(h("e"), 3), h("h")]},
        RootMismatchError,
        "leads to root",
    ),
    Probe(
        "one flipped bit in the root",
        {"root": flip_bit(bytes.fromhex(ROOTS_A[8]))},
        RootMismatchError,
        "expected",
    ),
    Probe(
        "root of another size",
        {"root": bytes.fromhex(ROOTS_A[7])},
        RootMismatchError,
        "leads to root",
    ),
    Probe(
        "short hash in proof",
        {"proof": [h("d")[:31], h("e"), h("h")]},
        MalformedProofError,
        "exactly 32 bytes, got 31",
    ),
    Probe("long root", {"root": h("a") + b"\x00"}, MalformedProofError, "exactly 32 bytes"),
]


@pytest.mark.parametrize("probe", INCLUSION_PROBES, ids=lambda p: p.desc)
def test_inclusion_probes(probe: Probe) -> None:
    args = {**GOOD_INCLUSION, **probe.args}
    if probe.want_err is None:
        verify_inclusion(**args)  # type: ignore[arg-type]
        return
    with pytest.raises(probe.want_err, match=probe.message or None):
        verify_inclusion(**args)  # type: ignore[arg-type]


GOOD_CONSISTENCY: dict[str, object] = {
    "size1": 6,
    "size2": 8,
    "proof": [h("f"), h("e"), h("h")],
    "root1": bytes.fromhex(ROOTS_A[6]),
    "root2": bytes.fromhex(ROOTS_A[8]),
}

CONSISTENCY_PROBES = [
    Probe("good proof", {}, None),
    Probe(
        "swapped roots",
        {"root1": bytes.fromhex(ROOTS_A[8]), "root2": bytes.fromhex(ROOTS_A[6])},
        RootMismatchError,
        "old root",
    ),
    Probe("truncated proof", {"proof": [h("f"), h("e")]}, MalformedProofError, "expected 3"),
    Probe("empty proof", {"proof": []}, MalformedProofError, "has 0 hashes, expected 3"),
    Probe(
        "flipped bit in first hash",
        {"proof": [flip_bit(h("f"), 7), h("e"), h("h")]},
        RootMismatchError,
        "old root",
    ),
    Probe(
        "flipped bit in last hash",
        {"proof": [h("f"), h("e"), flip_bit(h("h"), 1)]},
        RootMismatchError,
        "old root",
    ),
    Probe(
        "flipped bit in new root",
        {"root2": flip_bit(bytes.fromhex(ROOTS_A[8]))},
        RootMismatchError,
        "new root",
    ),
    Probe(
        "proof of another pair (6 -> 7)",
        {"proof": [h("f"), h("g"), h("h")]},
        RootMismatchError,
        "new root",
    ),
    Probe("wrong old size", {"size1": 5}, ProofError, ""),
    Probe("new size smaller", {"size1": 8, "size2": 6}, MalformedProofError, "only grows"),
    Probe("from size 0", {"size1": 0}, MalformedProofError, "from size 0"),
    Probe(
        "equal sizes, proof not empty",
        {"size1": 8, "root1": bytes.fromhex(ROOTS_A[8])},
        MalformedProofError,
        "expected 0",
    ),
    Probe(
        "equal sizes, different roots",
        {"size1": 8, "proof": []},
        RootMismatchError,
        "two different roots",
    ),
    Probe(
        "hash of 33 bytes",
        {"proof": [h("f") + b"\x00", h("e"), h("h")]},
        MalformedProofError,
        "exactly 32 bytes, got 33",
    ),
]


@pytest.mark.parametrize("probe", CONSISTENCY_PROBES, ids=lambda p: p.desc)
def test_consistency_probes(probe: Probe) -> None:
    args = {**GOOD_CONSISTENCY, **probe.args}
    if probe.want_err is None:
        verify_consistency(**args)  # type: ignore[arg-type]
        return
    with pytest.raises(probe.want_err, match=probe.message or None):
        verify_consistency(**args)  # type: ignore[arg-type]


def test_equal_sizes_with_empty_proof_and_equal_roots_verify() -> None:
    root = bytes.fromhex(ROOTS_A[1])
    verify_consistency(1, 1, [], root, root)


# --- the fast code agrees with the naive reference --------------------------------


@pytest.mark.parametrize("size", range(0, 70))
def test_fast_tree_matches_reference_for_small_sizes(size: int) -> None:
    data = [i.to_bytes(4, "big") for i in range(size)]
    tree = HashTree(leaf_hash(d) for d in data)
    assert tree.root() == ref_mth(data)
    for index in range(size):
        assert tree.inclusion_proof(index, size) == ref_path(index, data)
        assert len(ref_path(index, data)) == expected_inclusion_proof_length(index, size)
    for size1 in range(1, size + 1):
        assert tree.consistency_proof(size1, size) == ref_subproof(size1, data, True)
        assert len(ref_subproof(size1, data, True)) == expected_consistency_proof_length(
            size1, size
        )


def test_incremental_append_equals_bulk_build() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    grown = HashTree()
    frontier = CompactRange()
    for count, leaf in enumerate(leaves, start=1):
        grown.append(leaf)
        frontier.append(leaf)
        assert frontier.root() == grown.root()
        if count % 37 == 0:
            assert grown.levels == HashTree(leaves[:count]).levels
    bulk = HashTree(leaves)
    assert grown.levels == bulk.levels
    for size in (0, 1, 5, 64, 255, 300):
        resumed = bulk.compact_range(size)
        assert resumed.root() == bulk.root(size)
        resumed.extend(leaves[size:])
        assert resumed.root() == bulk.root()
        stored = CompactRange.from_bytes(resumed.size, resumed.to_bytes())
        assert stored == resumed


def test_compact_range_rejects_inconsistent_state() -> None:
    with pytest.raises(ValueError, match="has 2 hashes"):
        CompactRange(6, [EMPTY_ROOT])
    with pytest.raises(ValueError, match="not a multiple of 32"):
        CompactRange.from_bytes(1, b"\x00" * 31)


def test_proof_generation_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="index 8 in size 8"):
        TREE_A.inclusion_proof(8, 8)
    with pytest.raises(ValueError, match="size 9"):
        TREE_A.consistency_proof(1, 9)
    with pytest.raises(ValueError, match="from size 0"):
        TREE_A.consistency_proof(0, 3)


# --- properties -----------------------------------------------------------------


@st.composite
def tree_and_leaf(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    size = draw(st.integers(min_value=1, max_value=400))
    index = draw(st.integers(min_value=0, max_value=size - 1))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    leaves = [leaf_hash(seed.to_bytes(8, "big") + i.to_bytes(4, "big")) for i in range(size)]
    return leaves, index, size


@settings(max_examples=150, deadline=None)
@given(tree_and_leaf(), st.data())
def test_property_inclusion_proofs_verify_and_mutations_fail(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, index, size = case
    tree = HashTree(leaves)
    proof = tree.inclusion_proof(index, size)
    root = tree.root()
    verify_inclusion(leaves[index], index, size, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        mutated = list(proof)
        byte = bit // 8
        mutated[position] = (
            proof[position][:byte]
            + bytes([proof[position][byte] ^ (1 << (bit % 8))])
            + proof[position][byte + 1 :]
        )
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaves[index], index, size, mutated, root)
        with pytest.raises(MalformedProofError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)
    other = data.draw(st.integers(0, size - 1), label="other index")
    if leaves[other] != leaves[index]:
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaves[other], index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 400), st.data())
def test_property_consistency_proofs_verify_and_mutations_fail(
    size2: int, data: st.DataObject
) -> None:
    size1 = data.draw(st.integers(1, size2), label="size1")
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size2)]
    tree = HashTree(leaves)
    proof = tree.consistency_proof(size1, size2)
    root1, root2 = tree.root(size1), tree.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        mutated = list(proof)
        mutated[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, mutated, root1, root2)
        with pytest.raises(MalformedProofError):
            verify_consistency(size1, size2, proof[1:], root1, root2)
    if size1 < size2:
        with pytest.raises(RootMismatchError):
            verify_consistency(size1, size2, proof, root2, root2)
        # a tree whose last leaf differs is not an extension of the original
        forked = HashTree([*leaves[:-1], leaf_hash(b"fork")])
        with pytest.raises(RootMismatchError):
            verify_consistency(size1, size2, proof, root1, forked.root())
