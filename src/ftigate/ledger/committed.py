"""Per-record results committed by one leaf: a batch's screening, or its decisions, under
one Merkle root.

A batch's screening (R1-R5 per record, L1-L4 for its letter) is one ``batch_screened``
leaf and its decisions one ``batch_decided`` leaf, not one leaf per request. Each holds
the RFC 9162 root over the batch's *items*, one per request in the order they were
recorded; the items themselves are the batch's ``screening_results`` / ``decisions``
rows, written in the same transaction. The evidence is the same as one leaf per record:

- each record's result is provable offline: its item bytes, its index, the audit path to
  ``results_root`` (RFC 9162 2.1.3, the same hashing as the log), and the inclusion of
  the committing leaf under a signed checkpoint (``ftigate ledger prove-record``);
- ``ledger verify`` rehashes the stored rows and compares the root and the count, so a
  changed, added, dropped or reordered row no longer matches what the log signed.

Inspections (``records_inspected``, IRC 7213A) and disclosures (6103(p)(3)(A)) are not
committed this way: each stays its own leaf.

An item is an RFC 8785 JSON object with ``v`` (its format) and ``batch_id``, so an item
proves by itself which batch it belongs to; its leaf hash is SHA-256(0x00 || item):

- screening: ``{"batch_id", "outcome", "reasons", "request_id", "rules", "v": 1}``;
- decision: ``{"batch_id", "decision", "match_probability", "model_digest", "reasons",
  "request_id", "taxpayer", "v": 1}`` (``taxpayer`` a pseudonym or null).

Pure functions; the store writes and reads the rows (``ftigate.store.api``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import cast

from ftigate.ledger.events import BatchDecided, BatchScreened, EntryError, all_hex64, holds_tin_shape
from ftigate.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    CompactRange,
    HashTree,
    MalformedProofError,
    leaf_hash,
    verify_inclusion,
)
from ftigate.ledger.tiles import TILE_BYTES, TILE_HEIGHT, TileRow

ITEM_FORMAT = 1
_HEX_LINES = re.compile(r"(?:[0-9a-f]{64}\n)*")
_CLOSE = f',"v":{ITEM_FORMAT}}}'
_quote = encode_basestring  # JSON string escaping, the C one: '"', '\\', controls as \u00xx


def _text(value: str) -> str:
    return _quote(value)


def _optional(value: str | None) -> str:
    return "null" if value is None else _quote(value)


@functools.lru_cache(maxsize=4096)
def _texts(values: tuple[str, ...]) -> str:
    """A list of texts as JSON (reason and rule lists repeat across a batch: cached)."""
    return "[" + ",".join(map(_quote, values)) + "]"


def _utf8(kind: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EntryError(f"a {kind} item holds text that is not valid Unicode") from None


json_text_of = _quote
"""A text value as the items write it (JSON string escaping): the C function itself, not a
wrapper, since ``verify`` calls it for every stored item"""


def json_texts_of(values: tuple[str, ...]) -> str:
    """A list of texts as the items write it."""
    return _texts(values)


def screening_text(batch_id: str, outcome: str, reasons: str, request_id: str, rules: str) -> str:
    """A screening item's RFC 8785 text from its values, each already written as JSON: the
    one definition of the item's layout, for :meth:`ScreeningItem.canonical` and for the
    store, which rehashes its rows from values written once per distinct code."""
    return (
        '{"batch_id":' + batch_id + ',"outcome":' + outcome + ',"reasons":' + reasons
        + ',"request_id":' + request_id + ',"rules":' + rules + _CLOSE
    )  # fmt: skip


def decision_text(
    batch_id: str, decision: str, match_probability: str, model_digest: str, reasons: str,
    request_id: str, taxpayer: str,
) -> str:  # fmt: skip
    """A decision item's RFC 8785 text from its values written as JSON (as for
    :func:`screening_text`; arguments in the item's key order)."""
    return (
        '{"batch_id":' + batch_id + ',"decision":' + decision
        + ',"match_probability":' + match_probability + ',"model_digest":' + model_digest
        + ',"reasons":' + reasons + ',"request_id":' + request_id + ',"taxpayer":' + taxpayer
        + _CLOSE
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScreeningItem:
    """One request's screening result, as committed under its batch's root."""

    table = "screening_results"

    batch_id: str
    request_id: str
    outcome: str  # "sufficient" | "refuse" | "review"
    reasons: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # citations of the rules the reasons rest on

    def canonical(self) -> bytes:
        """RFC 8785 bytes, written out in key order: ASCII keys and text values are the
        subset where JSON's own string escaping is RFC 8785's (see
        :mod:`ftigate.ledger.canonical`; a property test checks against ``rfc8785``)."""
        return _utf8(
            "screening",
            screening_text(
                _text(self.batch_id), _text(self.outcome), _texts(self.reasons),
                _text(self.request_id), _texts(self.rules),
            ),
        )  # fmt: skip

    def texts(self) -> Iterator[str]:
        """Every text value (what the privacy backstop reads)."""
        yield self.batch_id
        yield self.request_id
        yield self.outcome
        yield from self.reasons
        yield from self.rules


@dataclass(frozen=True, slots=True)
class DecisionItem:
    """One request's decision, as committed under its batch's root."""

    table = "decisions"

    batch_id: str
    request_id: str
    decision: str  # "disclose" | "refuse" | "review"
    reasons: tuple[str, ...] = ()
    match_probability: str | None = None  # decimal text: no float rounding
    taxpayer: str | None = None  # pseudonym of the taxpayer disclosed about
    model_digest: str | None = None

    def canonical(self) -> bytes:
        """RFC 8785 bytes, as for :meth:`ScreeningItem.canonical`."""
        return _utf8(
            "decision",
            decision_text(
                _text(self.batch_id), _text(self.decision), _optional(self.match_probability),
                _optional(self.model_digest), _texts(self.reasons), _text(self.request_id),
                _optional(self.taxpayer),
            ),
        )  # fmt: skip

    def texts(self) -> Iterator[str]:
        """Every text value except the pseudonym and the digest (hex of fixed length)."""
        yield self.batch_id
        yield self.request_id
        yield self.decision
        yield from self.reasons
        if self.match_probability is not None:
            yield self.match_probability

    def hexes(self) -> Iterator[str]:
        if self.taxpayer is not None:
            yield self.taxpayer
        if self.model_digest is not None:
            yield self.model_digest


Item = ScreeningItem | DecisionItem
CommitEvent = BatchScreened | BatchDecided


def item_hash(item: Item) -> bytes:
    """The item's leaf hash, SHA-256(0x00 || item) as for a leaf of the log."""
    return leaf_hash(item.canonical())


def item_hashes(items: Iterable[Item]) -> list[bytes]:
    """The items' leaf hashes, as :func:`item_hash` gives them one by one, in bulk: the
    parts of an item's text that only its batch and codes decide are written once per
    distinct combination, so each item costs its request id (and for a decision its
    probability and pseudonym) and one SHA-256 (a property test checks it is the same)."""
    sha, pieces = hashlib.sha256, _Pieces()
    hashes = []
    try:
        for item in items:
            if isinstance(item, ScreeningItem):
                head, tail = pieces.screening(item.batch_id, item.outcome, item.reasons, item.rules)
                hashes.append(sha(head + _quote(item.request_id).encode("utf-8") + tail).digest())
            else:
                parts = pieces.decision(item.batch_id, item.decision, item.reasons, item.model_digest)
                head, middle, key = parts
                hashes.append(
                    sha(
                        head + _optional(item.match_probability).encode("utf-8") + middle
                        + _quote(item.request_id).encode("utf-8") + key
                        + _optional(item.taxpayer).encode("utf-8") + _CLOSE_BYTES
                    ).digest()
                )  # fmt: skip
    except UnicodeEncodeError:
        kind = "screening" if isinstance(item, ScreeningItem) else "decision"
        raise EntryError(f"a {kind} item holds text that is not valid Unicode") from None
    return hashes


_SPLIT = "\x00"  # never raw in an item's text: JSON escapes it
_CLOSE_BYTES = _CLOSE.encode("ascii")


class _Pieces:
    """The fixed parts of item texts, by batch and codes (see :func:`item_hashes`)."""

    def __init__(self) -> None:
        self._screening: dict[tuple[object, ...], tuple[bytes, bytes]] = {}
        self._decision: dict[tuple[object, ...], tuple[bytes, bytes, bytes]] = {}

    def screening(
        self, batch_id: str, outcome: str, reasons: tuple[str, ...], rules: tuple[str, ...]
    ) -> tuple[bytes, bytes]:
        key = (batch_id, outcome, reasons, rules)
        found = self._screening.get(key)
        if found is None:
            text = screening_text(_quote(batch_id), _quote(outcome), _texts(reasons), _SPLIT, _texts(rules))
            head, tail = text.split(_SPLIT)
            found = self._screening[key] = (LEAF_PREFIX + head.encode("utf-8"), tail.encode("utf-8"))
        return found

    def decision(
        self, batch_id: str, decision: str, reasons: tuple[str, ...], digest: str | None
    ) -> tuple[bytes, bytes, bytes]:
        key = (batch_id, decision, reasons, digest)
        found = self._decision.get(key)
        if found is None:
            text = decision_text(
                _quote(batch_id), _quote(decision), _SPLIT, _optional(digest), _texts(reasons), _SPLIT, _SPLIT
            )
            head, middle, taxpayer, _close = text.split(_SPLIT)
            found = self._decision[key] = (
                LEAF_PREFIX + head.encode("utf-8"),
                middle.encode("utf-8"),
                taxpayer.encode("utf-8"),
            )
        return found


def results_root(hashes: Iterable[bytes]) -> bytes:
    """RFC 9162 root over the items' leaf hashes (SHA-256 of "" for none)."""
    frontier = CompactRange()
    frontier.extend(hashes)
    return frontier.root()


@dataclass(frozen=True)
class Committed:
    """A committing event with the items its root commits to: what ``Store.append_events``
    records as one leaf and the batch's rows of ``table``."""

    event: CommitEvent
    items: tuple[Item, ...]
    tiles: tuple[TileRow, ...] = ()
    """the item tree's tiles above the items (levels 1 up, C2SP tlog-tiles layout), so a
    record's audit path reads O(log n) rows; level 0 is the items themselves, rehashed"""

    @property
    def table(self) -> str:
        return COMMITTED_TABLES[self.event.kind]


COMMITTED_TABLES = {BatchScreened.kind: ScreeningItem.table, BatchDecided.kind: DecisionItem.table}
"""the table that holds the items each committing kind's root is over"""


def _check_recordable(kind: str, items: Sequence[Item]) -> None:
    """The privacy backstop every ledger entry passes, over a whole batch at once: text
    only, nothing shaped like a TIN, pseudonyms and digests as 64 hex digits. Values are
    joined by newlines, which a TIN shape cannot span (digits, dashes and spaces only).

    The values a batch repeats (outcome or decision, reasons, rules, model digest) are
    checked once per distinct combination, the ones each item has its own of (request id,
    probability, pseudonym) column by column: the same verdict as checking every value of
    every item (:func:`_check_each`, which a mix of item kinds takes), without a Python
    generator per item (a batch holds millions)."""
    screening = kind == "screening" and all(type(item) is ScreeningItem for item in items)
    decisions = kind == "decision" and all(type(item) is DecisionItem for item in items)
    if not (screening or decisions):
        _check_each(kind, items)
        return
    hexes: list[str] = []
    texts: list[str] = []
    try:
        if screening:
            screened = cast(Sequence[ScreeningItem], items)
            for outcome, reasons, rules in {(item.outcome, item.reasons, item.rules) for item in screened}:
                texts += (outcome, *reasons, *rules)
        else:
            decided = cast(Sequence[DecisionItem], items)
            for decision, reasons, digest in {(i.decision, i.reasons, i.model_digest) for i in decided}:
                texts += (decision, *reasons)
                if digest is not None:
                    hexes.append(digest)
            texts += [item.match_probability for item in decided if item.match_probability is not None]
            hexes += [item.taxpayer for item in decided if item.taxpayer is not None]
        texts += {item.batch_id for item in items}
        joined = "\n".join([*texts, *[item.request_id for item in items]])
        hex_text = "".join(hexes)
    except TypeError:  # a value that is not text (or a list where a tuple belongs)
        raise EntryError(f"a {kind} item holds a value that is not text") from None
    if holds_tin_shape(joined):
        raise EntryError(f"a {kind} item holds something shaped like a TIN; refused")
    if not all_hex64(hexes, hex_text):
        raise EntryError(f"a {kind} item's taxpayer or model_digest is not 64 hex digits")


def _check_each(kind: str, items: Sequence[Item]) -> None:
    """:func:`_check_recordable` value by value, for any mix of items."""
    try:
        joined = "\n".join(text for item in items for text in item.texts())
        hexes = "".join(h + "\n" for item in items if isinstance(item, DecisionItem) for h in item.hexes())
    except TypeError:
        raise EntryError(f"a {kind} item holds a value that is not text") from None
    if holds_tin_shape(joined):
        raise EntryError(f"a {kind} item holds something shaped like a TIN; refused")
    if not _HEX_LINES.fullmatch(hexes):
        raise EntryError(f"a {kind} item's taxpayer or model_digest is not 64 hex digits")


def _commit(
    kind: str, batch_id: str, items: Sequence[Item]
) -> tuple[tuple[Item, ...], str, tuple[TileRow, ...]]:
    if any(item.batch_id != batch_id for item in items):
        raise EntryError(f"a {kind} item names another batch than the one it is committed in")
    _check_recordable(kind, items)
    root, tiles = item_tree(item_hashes(items))
    return tuple(items), root.hex(), tiles


def item_tree(hashes: Sequence[bytes]) -> tuple[bytes, tuple[TileRow, ...]]:
    """The root over the items' hashes and the tiles of levels 1 up (the level-0 tiles
    would only repeat the items' hashes: a proof rehashes its 256 items).

    A batch's tree starts empty, so it is built a height at a time, each in one list
    comprehension, instead of leaf by leaf through :class:`CompactRange` (a third less
    time for a million items; a test checks it gives the root and tiles the log's own
    code gives). The nodes of every height are the whole subtrees of that height, left
    to right; a height with an odd count leaves its last one to the right frontier,
    which is folded into the root at the end as RFC 9162 splits a tree."""
    if not set(map(type, hashes)) <= {bytes, bytearray} or not set(map(len, hashes)) <= {HASH_SIZE}:
        raise MalformedProofError("an item's leaf hash must be exactly 32 bytes")
    if not hashes:
        return EMPTY_ROOT, ()
    sha, prefix = hashlib.sha256, NODE_PREFIX
    nodes = list(hashes)
    right: list[bytes] = []  # the frontier's lower subtrees, smallest first
    rows: list[TileRow] = []
    height = 0
    while True:
        if height and not height % TILE_HEIGHT:
            level, whole = height // TILE_HEIGHT, b"".join(nodes)
            rows += [
                (level, at // TILE_BYTES, whole[at : at + TILE_BYTES])
                for at in range(0, len(whole), TILE_BYTES)
            ]
        if len(nodes) == 1:
            break
        if len(nodes) % 2:
            right.append(nodes.pop())
        nodes = [
            sha(prefix + left + right_node).digest()
            for left, right_node in zip(nodes[::2], nodes[1::2], strict=True)
        ]
        height += 1
    if not right:
        return nodes[0], tuple(rows)
    folded = right[0]
    for larger in right[1:]:
        folded = sha(prefix + larger + folded).digest()
    return sha(prefix + nodes[0] + folded).digest(), tuple(rows)


def commit_screening(batch_id: str, items: Sequence[ScreeningItem]) -> Committed:
    """The batch's screening as one event; refuses (EntryError) an item of another batch
    or holding something shaped like a TIN, before anything is recorded."""
    kept, root, tiles = _commit("screening", batch_id, items)
    return Committed(BatchScreened(batch_id=batch_id, records=len(kept), results_root=root), kept, tiles)


def commit_decisions(batch_id: str, items: Sequence[DecisionItem]) -> Committed:
    """The batch's decisions as one event (refusals as for :func:`commit_screening`)."""
    kept, root, tiles = _commit("decision", batch_id, items)
    return Committed(BatchDecided(batch_id=batch_id, records=len(kept), results_root=root), kept, tiles)


def item_inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of item ``index`` to the root over ``hashes``."""
    return HashTree(hashes).inclusion_proof(index, len(hashes))


def verify_item(item: bytes, index: int, records: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ftigate.ledger.merkle.ProofError` unless ``item`` is item ``index`` of
    the ``records`` items under ``root`` (the same RFC 9162 check as a leaf of the log)."""
    verify_inclusion(leaf_hash(item), index, records, proof, root)
