"""A batch's screening results and decisions committed by one Merkle root
(`ftigate.ledger.committed`): item bytes, roots and per-record inclusion proofs."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.ledger.committed import (
    DecisionItem,
    ScreeningItem,
    commit_decisions,
    commit_screening,
    item_hashes,
    item_inclusion_proof,
    results_root,
    verify_item,
)
from ftigate.ledger.events import Disclosure, EntryError
from ftigate.ledger.merkle import HashTree, ProofError, leaf_hash, node_hash

BATCH = "b" * 32
# Any text a request file can hold (lone surrogates cannot come out of a UTF-8 file).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
CODES = st.lists(st.sampled_from(["NAME_MISSING", "ADDRESS_ZIP_ONLY", 'a "quoted" \\ code']), max_size=3)
HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


def _screening(request_id: str, outcome: str = "refuse", reasons: tuple[str, ...] = ()) -> ScreeningItem:
    return ScreeningItem(BATCH, request_id, outcome, reasons, tuple(f"26 USC {r}" for r in reasons))


screening_items = st.builds(
    ScreeningItem,
    st.just(BATCH),
    TEXT,
    st.sampled_from(["sufficient", "refuse", "review"]),
    CODES.map(tuple),
    CODES.map(tuple),
)
decision_items = st.builds(
    DecisionItem,
    st.just(BATCH),
    TEXT,
    st.sampled_from(["disclose", "refuse", "review"]),
    CODES.map(tuple),
    st.none() | st.just("0.999000"),
    st.none() | HEX,
    st.none() | HEX,
)


def _reference_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 2.1.1 MTH, written as the RFC writes it (a naive reference)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_reference_root(hashes[:k]), _reference_root(hashes[k:]))


@given(st.one_of(screening_items, decision_items))
def test_an_item_is_its_rfc8785_json(item: ScreeningItem | DecisionItem) -> None:
    fields = {name: getattr(item, name) for name in item.__dataclass_fields__}
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    assert item.canonical() == rfc8785.dumps({**fields, "v": 1})


@settings(max_examples=60)
@given(st.lists(screening_items, min_size=1, max_size=40), st.data())
def test_every_records_proof_verifies_under_the_batch_root(
    items: list[ScreeningItem], data: st.DataObject
) -> None:
    committed = commit_screening(BATCH, items)
    root = bytes.fromhex(committed.event.results_root)
    hashes = item_hashes(items)
    # bulk (the frontier over all at once) = one by one = the RFC's own recursion
    one_by_one = HashTree()
    for digest in hashes:
        one_by_one.append(digest)
    assert root == results_root(hashes) == one_by_one.root() == _reference_root(hashes)
    assert committed.event.records == len(items)

    index = data.draw(st.integers(0, len(items) - 1))
    proof = item_inclusion_proof(hashes, index)
    verify_item(items[index].canonical(), index, len(items), proof, root)

    changed_outcome = dataclasses.replace(
        items[index], outcome="sufficient" if items[index].outcome != "sufficient" else "refuse"
    )
    changed_request = dataclasses.replace(items[index], request_id=items[index].request_id + "x")
    for forged in (changed_outcome, changed_request):
        with pytest.raises(ProofError):
            verify_item(forged.canonical(), index, len(items), proof, root)
    with pytest.raises(ProofError):
        verify_item(items[index].canonical(), index, len(items), proof, leaf_hash(b"another root"))
    if len(items) > 1:  # the same item claimed at another index
        other = (index + 1) % len(items)
        if hashes[other] != hashes[index]:
            with pytest.raises(ProofError):
                verify_item(items[index].canonical(), other, len(items), proof, root)


@settings(max_examples=30)
@given(st.lists(decision_items, min_size=1, max_size=20), st.data())
def test_every_decisions_proof_verifies_under_the_batch_root(
    items: list[DecisionItem], data: st.DataObject
) -> None:
    committed = commit_decisions(BATCH, items)
    root = bytes.fromhex(committed.event.results_root)
    hashes = item_hashes(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = item_inclusion_proof(hashes, index)
    verify_item(items[index].canonical(), index, len(items), proof, root)
    flipped = dataclasses.replace(
        items[index], decision="disclose" if items[index].decision != "disclose" else "refuse"
    )
    with pytest.raises(ProofError):
        verify_item(flipped.canonical(), index, len(items), proof, root)


def test_a_dropped_record_changes_the_root() -> None:
    items = [_screening(f"R{i}") for i in range(5)]
    whole = commit_screening(BATCH, items).event
    dropped = commit_screening(BATCH, items[:2] + items[3:]).event
    swapped = commit_screening(BATCH, [items[1], items[0], *items[2:]]).event
    assert len({whole.results_root, dropped.results_root, swapped.results_root}) == 3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: commit_screening(BATCH, [_screening("123-45-6789")]), "shaped like a TIN"),
        (
            lambda: commit_screening(BATCH, [_screening("R1", reasons=("SSN 123456789",))]),
            "shaped like a TIN",
        ),
        (lambda: commit_screening(BATCH, [ScreeningItem("other", "R1", "refuse")]), "another batch"),
        (
            lambda: commit_decisions(BATCH, [DecisionItem(BATCH, "R1", "disclose", taxpayer="123456789")]),
            "64 hex",
        ),
        (
            lambda: commit_decisions(
                BATCH, [DecisionItem(BATCH, "R1", "disclose", match_probability="123 45 6789")]
            ),
            "shaped like a TIN",
        ),
        (lambda: commit_screening(BATCH, [ScreeningItem(BATCH, None, "refuse")]), "not text"),  # type: ignore[arg-type]
    ],
)
def test_nothing_taxpayer_shaped_is_committed(build: object, message: str) -> None:
    with pytest.raises(EntryError, match=message) as caught:
        build()  # type: ignore[operator]
    assert "6789" not in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(
    Disclosure, batch_id=st.just("b" * 32), request_id=st.text(max_size=8), taxpayer=st.just("a" * 64),
    date=st.just("2026-03-02"), recipient_agency=st.text(max_size=6), authority=st.text(max_size=6),
    purpose=st.text(max_size=6), disclosed=st.lists(st.text(max_size=5), max_size=3).map(tuple),
    content_digest=st.none() | st.just("c" * 64),
), max_size=4))  # fmt: skip
def test_a_disclosure_row_from_its_entry_is_the_row_of_its_event(disclosures: list[Disclosure]) -> None:
    """verify's shortcut (the row straight from the decoded entry) gives row_for's row."""
    from ftigate.ledger.projection import ExpectedProjection, row_for

    fast = ExpectedProjection()
    for index, event in enumerate(disclosures):
        assert fast.add_disclosure_entry(index, json.loads(event.canonical()))
    assert fast.rows["disclosures"] == {
        e.event_id: (n, row_for(e)[1])
        for n, e in enumerate(disclosures)  # type: ignore[index]
    }


_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.builds(ScreeningItem, st.sampled_from(["b1", "b2"]), _TEXT, _TEXT,
              st.lists(_TEXT, max_size=2).map(tuple), st.lists(_TEXT, max_size=2).map(tuple)),
    st.builds(DecisionItem, st.sampled_from(["b1", "b2"]), _TEXT, _TEXT, st.lists(_TEXT, max_size=2).map(tuple),
              st.none() | _TEXT, st.none() | st.just("ab" * 32), st.none() | st.just("cd" * 32)),
), max_size=12))  # fmt: skip
def test_bulk_item_hashes_are_the_hashes_one_by_one(items: list[ScreeningItem | DecisionItem]) -> None:
    """item_hashes writes each combination of codes once: the same hashes as hashing each
    item's canonical bytes (texts with quotes, controls, non-ASCII; mixed batches and kinds)."""
    assert item_hashes(items) == [leaf_hash(item.canonical()) for item in items]


def test_bulk_item_hashes_refuse_text_that_is_not_unicode() -> None:
    with pytest.raises(EntryError, match="not valid Unicode"):
        item_hashes([ScreeningItem("b", "\ud800", "sufficient")])


_TREE_SIZES = [0, 1, 2, 3, 5, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 65536 + 257, 70001]


@pytest.mark.parametrize("size", _TREE_SIZES)
def test_an_item_tree_is_the_tree_the_log_builds(size: int) -> None:
    """item_tree, built a height at a time, gives the root and the tiles of levels 1 up that
    the log's own frontier and tile writer give for the same leaf hashes, in the same order
    (tile levels 0 to 2, whole and partial tiles, every shape of right frontier)."""
    from ftigate.ledger.committed import item_tree
    from ftigate.ledger.merkle import CompactRange
    from ftigate.ledger.tiles import TILE_HEIGHT, TileWriter

    hashes = [leaf_hash(b"item %d" % i) for i in range(size)]
    frontier, tiers = CompactRange(), list[bytearray]()
    frontier.extend_visiting(hashes, tiers, TILE_HEIGHT)
    rows = TileWriter(0, lambda _level, _index: None).rows(tiers)
    root, tiles = item_tree(hashes)
    assert root == frontier.root() == HashTree(hashes).root()
    assert tiles == tuple(row for row in rows if row[0] > 0)


def test_an_item_tree_refuses_a_hash_that_is_not_32_bytes() -> None:
    from ftigate.ledger.committed import item_tree

    for bad in ([b"\x00" * 31], [leaf_hash(b"a"), "0" * 32]):
        with pytest.raises(ProofError, match="32 bytes"):
            item_tree(bad)  # type: ignore[arg-type]
