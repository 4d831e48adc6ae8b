"""Tiles (C2SP tlog-tiles layout) against the in-memory tree: roots, frontiers and RFC 9162
proofs read from tiles equal those of :class:`HashTree`, for any size and any way the
leaves were appended; a damaged or missing tile is refused, never silently served."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.ledger.merkle import CompactRange, HashTree, leaf_hash, verify_inclusion
from ftigate.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TiledTree,
    TileError,
    TileRow,
    TileWriter,
    compare_tiles,
    tile_widths,
    tiles_of,
)

MAX_LEAVES = 3 * TILE_WIDTH * TILE_WIDTH // 2  # past the first level-2 tile
ALL_LEAVES = [leaf_hash(b"leaf %d" % i) for i in range(MAX_LEAVES)]


def stored(size: int) -> dict[tuple[int, int], bytes]:
    return {(level, index): hashes for level, index, hashes in tiles_of(ALL_LEAVES[:size])}


def tiled(size: int, rows: dict[tuple[int, int], bytes] | None = None) -> TiledTree:
    rows = stored(size) if rows is None else rows
    return TiledTree(size, lambda level, index: rows.get((level, index)))


@pytest.mark.parametrize(
    ("size", "widths"),
    [
        (0, []),
        (1, [(0, 0, 1)]),
        (256, [(0, 0, 256), (1, 0, 1)]),
        (257, [(0, 0, 256), (0, 1, 1), (1, 0, 1)]),
        (65536, [*((0, i, 256) for i in range(256)), (1, 0, 256), (2, 0, 1)]),
    ],
)
def test_tile_layout_follows_tlog_tiles(size: int, widths: list[tuple[int, int, int]]) -> None:
    assert list(tile_widths(size)) == widths
    assert sorted((level, index, len(h) // 32) for level, index, h in tiles_of(ALL_LEAVES[:size])) == widths


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, MAX_LEAVES), data=st.data())
def test_tile_roots_and_proofs_equal_the_in_memory_tree(size: int, data: st.DataObject) -> None:
    memory = HashTree(ALL_LEAVES[:size])
    tree = tiled(size)
    old = data.draw(st.integers(1, size), label="old size")
    index = data.draw(st.integers(0, old - 1), label="leaf index")
    assert tree.root() == memory.root()
    assert tree.root(old) == memory.root(old)
    assert tree.compact_range(old).hashes == memory.compact_range(old).hashes
    assert tree.inclusion_proof(index, old) == memory.inclusion_proof(index, old)
    assert tree.consistency_proof(old, size) == memory.consistency_proof(old, size)
    verify_inclusion(ALL_LEAVES[index], index, old, tree.inclusion_proof(index, old), memory.root(old))
    # O(log n): a proof reads a few tiles per level, never the log.
    levels = (size.bit_length() + TILE_HEIGHT - 1) // TILE_HEIGHT
    assert tree.reads <= 4 * levels + 2


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 2000), min_size=1, max_size=12))
def test_appends_in_any_chunks_store_the_same_tiles(cuts: list[int]) -> None:
    rows: dict[tuple[int, int], bytes] = {}
    frontier = CompactRange()
    tiers: list[bytearray] = []
    size = 0
    for cut in cuts:
        writer = TileWriter(size, lambda level, index: rows.get((level, index)))
        frontier.extend_visiting(ALL_LEAVES[size : size + cut], tiers, TILE_HEIGHT)
        for level, index, hashes in writer.rows(tiers):
            rows[(level, index)] = hashes
        size += cut
        assert frontier.root() == HashTree(ALL_LEAVES[:size]).root()
    assert rows == stored(size)


def test_a_missing_or_short_tile_is_refused() -> None:
    rows = stored(1000)
    del rows[(0, 1)]
    with pytest.raises(TileError, match="tile 0/1 is missing"):
        tiled(1000, rows).inclusion_proof(300, 1000)
    rows = stored(1000)
    rows[(0, 3)] = rows[(0, 3)][:-32]
    with pytest.raises(TileError, match="tile 0/3 holds"):
        tiled(1000, rows).root()
    with pytest.raises(TileError, match="tile 0/3"):
        TileWriter(1000, lambda level, index: rows.get((level, index)))


def test_compare_tiles_names_each_damaged_extra_or_missing_tile() -> None:
    memory = HashTree(ALL_LEAVES[:1000])
    good: list[TileRow] = list(tiles_of(ALL_LEAVES[:1000]))
    assert list(compare_tiles(memory, good)) == []
    flipped = bytearray(good[1][2])
    flipped[0] ^= 1
    damaged = [good[0], (good[1][0], good[1][1], bytes(flipped)), *good[3:], (0, 9, b"")]
    assert list(compare_tiles(memory, damaged)) == [
        "tile 0/1 differs from the tree rebuilt from the entries (proofs served from it would not "
        "be the log's)",
        "tile 0/9 is stored but a log of 1000 leaves has no such tile",
        f"tile {good[2][0]}/{good[2][1]} is missing: proofs that need it cannot be served",
    ]
