"""The tree's interior nodes in C2SP tlog-tiles layout, so proofs read O(log n) hashes.

A tile (level L, index N) holds the hashes of tree height ``8 * L`` with indices
``N * 256 .. N * 256 + 255``; level 0 holds the leaf hashes. The tile on the right
edge of a level is partial: it holds its first W hashes (what tlog-tiles serves as
``tile/L/N.p/W``) and grows in place as leaves are appended. A full tile never
changes again, because the hash of a perfect subtree never does; so the stored
prefix of a tile is also the tile at every older tree size, and a proof for an old
checkpoint reads the same rows as one for the newest.

A node of height ``8 * L + r`` (0 < r < 8) is not stored: it is folded from the
``2**r`` hashes of level L beneath it, which always lie in one tile (at most 127
hashes). A root or an RFC 9162 proof therefore reads at most a few tiles per level,
about ``log_256(n)`` levels, instead of every leaf.

Pure functions and classes; the store reads and writes the rows
(``ftigate.store.api``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from ftigate.ledger.merkle import HASH_SIZE, NODE_PREFIX, CompactRange, HashTree, ProvableTree

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
TILE_BYTES = TILE_WIDTH * HASH_SIZE

TileReader = Callable[[int, int], bytes | None]
"""(level, index) -> the stored hashes of that tile, or None when there is no such row."""

TileRow = tuple[int, int, bytes]
"""(level, index, hashes) of one stored tile."""


class TileError(ValueError):
    """A tile the tree needs is missing or shorter than the tree size says: the stored
    tiles were damaged or never built (``ftigate ledger verify`` names the tile)."""


def tile_widths(size: int) -> Iterator[tuple[int, int, int]]:
    """(level, index, width in hashes) of every tile a tree of ``size`` leaves has."""
    level = 0
    count = size
    while count:
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            yield level, index, min(TILE_WIDTH, count - index * TILE_WIDTH)
        if count < TILE_WIDTH:
            break
        level += 1
        count >>= TILE_HEIGHT


def _fold(hashes: bytes) -> bytes:
    """The root of a perfect run of 2**r adjacent hashes of one level."""
    sha, prefix = hashlib.sha256, NODE_PREFIX
    step = 2 * HASH_SIZE
    while len(hashes) > HASH_SIZE:
        hashes = b"".join(sha(prefix + hashes[i : i + step]).digest() for i in range(0, len(hashes), step))
    return hashes


class TiledTree(ProvableTree):
    """A tree of ``size`` leaves whose perfect subtrees come from stored tiles.

    Tiles are read on first use and kept for the life of the object; ``reads`` counts
    the rows read, which is what a caller pays for a proof."""

    def __init__(self, size: int, read_tile: TileReader) -> None:
        if size < 0:
            raise ValueError(f"tree size must be >= 0, got {size}")
        self._size = size
        self._read = read_tile
        self._tiles: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    @property
    def size(self) -> int:
        return self._size

    def _tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        tile = self._tiles.get(key)
        if tile is None:
            self.reads += 1
            stored = self._read(level, index)
            if stored is None:
                raise TileError(f"tile {level}/{index} is missing from the store")
            tile = bytes(stored)
            self._tiles[key] = tile
        return tile

    def _perfect(self, height: int, index: int) -> bytes:
        if ((index + 1) << height) > self._size:
            raise ValueError(f"no perfect subtree {index} of height {height} in a tree of {self._size}")
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest
        tile = self._tile(level, first >> TILE_HEIGHT)
        start = (first & (TILE_WIDTH - 1)) * HASH_SIZE
        width = HASH_SIZE << rest
        hashes = tile[start : start + width]
        if len(hashes) != width:
            raise TileError(
                f"tile {level}/{first >> TILE_HEIGHT} holds {len(tile) // HASH_SIZE} hashes, "
                f"fewer than a tree of {self._size} leaves has"
            )
        return _fold(hashes)

    def leaf(self, index: int) -> bytes:
        return self._perfect(0, index)


class TileWriter:
    """Turns the nodes an append completes into the tile rows to store.

    Built once per append from the partial right-edge tiles at the current size; then
    :meth:`rows` takes what :meth:`ftigate.ledger.merkle.CompactRange.extend_visiting`
    collected (tier t = the nodes of height 8t) and returns every tile that changed,
    whole, to be written over the stored row (an upsert)."""

    def __init__(self, size: int, read_tile: TileReader) -> None:
        self.size = size
        self._tails: dict[int, bytes] = {}
        level = 0
        count = size
        while count:
            width = count % TILE_WIDTH
            if width:
                stored = read_tile(level, count // TILE_WIDTH)
                if stored is None or len(stored) < width * HASH_SIZE:
                    raise TileError(
                        f"tile {level}/{count // TILE_WIDTH} is missing or shorter than a tree "
                        f"of {size} leaves has"
                    )
                self._tails[level] = bytes(stored[: width * HASH_SIZE])
            level += 1
            count >>= TILE_HEIGHT

    def rows(self, tiers: list[bytearray]) -> list[TileRow]:
        """Tile rows for the nodes in ``tiers`` (emptied, so the caller reuses them)."""
        if not tiers or not tiers[0]:
            return []
        rows: list[TileRow] = []
        for level, new in enumerate(tiers):
            if not new:
                continue
            before = self.size >> (TILE_HEIGHT * level)
            combined = self._tails.get(level, b"") + bytes(new)
            first_tile = before // TILE_WIDTH
            for offset in range(0, len(combined), TILE_BYTES):
                rows.append(
                    (level, first_tile + offset // TILE_BYTES, combined[offset : offset + TILE_BYTES])
                )
            rest = len(combined) % TILE_BYTES
            self._tails[level] = combined[len(combined) - rest :] if rest else b""
        self.size += len(tiers[0]) // HASH_SIZE
        for new in tiers:
            new.clear()
        return rows


def tiles_of(leaf_hashes: Iterable[bytes], chunk: int = 1 << 16) -> Iterator[TileRow]:
    """Every tile of the tree over these leaf hashes, streamed (a backfill; tests' reference).

    Full tiles come as they complete; the partial right-edge tiles last."""
    frontier = CompactRange()
    writer = TileWriter(0, lambda _level, _index: None)
    tiers: list[bytearray] = []
    pending: dict[tuple[int, int], bytes] = {}
    iterator = iter(leaf_hashes)
    while part := list(islice(iterator, chunk)):
        frontier.extend_visiting(part, tiers, TILE_HEIGHT)
        for level, index, hashes in writer.rows(tiers):
            if len(hashes) == TILE_BYTES:
                pending.pop((level, index), None)
                yield level, index, hashes
            else:
                pending[(level, index)] = hashes
    for (level, index), hashes in sorted(pending.items()):
        yield level, index, hashes


def compare_tiles(tree: HashTree, stored: Iterable[TileRow]) -> Iterator[str]:
    """Findings where the stored tiles (in any order) differ from the tiles of ``tree``,
    the tree rebuilt from the entries: each would serve proofs that fail, or proofs of
    a tree other than the log's."""
    expected = {(level, index): width for level, index, width in tile_widths(tree.size)}
    for level, index, hashes in stored:
        width = expected.pop((level, index), None)
        if width is None:
            yield f"tile {level}/{index} is stored but a log of {tree.size} leaves has no such tile"
            continue
        if not isinstance(hashes, bytes | bytearray | memoryview):
            yield f"tile {level}/{index} is not stored as bytes (it was rewritten outside the ledger)"
            continue
        first = index * TILE_WIDTH * HASH_SIZE
        want = tree.levels[level * TILE_HEIGHT][first : first + width * HASH_SIZE]
        if bytes(hashes) != want:
            yield (
                f"tile {level}/{index} differs from the tree rebuilt from the entries "
                "(proofs served from it would not be the log's)"
            )
    for level, index in sorted(expected):
        yield f"tile {level}/{index} is missing: proofs that need it cannot be served"
