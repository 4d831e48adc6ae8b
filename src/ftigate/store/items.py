"""The items a committing leaf's root is over, stored as compact rows (revision 0006).

A batch's ``batch_screened`` / ``batch_decided`` leaf commits to one item per request
(:mod:`ftigate.ledger.committed`). The items are stored so that nothing a row would
repeat is written on every row:

- ``commitments``: one row per committing leaf (its leaf index, event id, batch, kind)
  naming the run of item rows it covers, ``first_item`` to ``first_item + items - 1``.
  An item's position under the root is its row id minus ``first_item``; the batch id and
  the event id are not written on the item rows at all;
- ``screening_items`` (id, request_id, outcome, reasons, rules) and ``decision_items``
  (id, request_id, decision, reasons, match_probability, taxpayer, model_digest): the
  low-cardinality values (outcomes, decisions, reason and rule lists as JSON text, model
  digests) as integer codes of ``ledger_codes``, the taxpayer pseudonym as its 32 bytes.

The item bytes hashed are unchanged: a row is rewritten as the RFC 8785 text of its item
(:func:`ftigate.ledger.committed.screening_text`), each code's JSON written once.

The views ``screening_results`` and ``decisions`` give the readers (reports, review queue,
dashboard) the rows in their former shape: the per-leaf rows of batches recorded before
committing leaves (tables ``record_screened_rows`` and ``decision_rows``) and the items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from sqlalchemy.engine import Connection

from ftigate.ledger.committed import (
    DecisionItem,
    Item,
    ScreeningItem,
    decision_text,
    json_text_of,
    json_texts_of,
    screening_text,
)
from ftigate.ledger.events import BatchDecided, BatchScreened
from ftigate.ledger.merkle import LEAF_PREFIX, HashTree, leaf_hash
from ftigate.ledger.tiles import TILE_WIDTH, TiledTree, TileRow
from ftigate.store.db import insert_rows
from ftigate.store.models import HEAD_ID

LEGACY_TABLES = {"screening_results": "record_screened_rows", "decisions": "decision_rows"}
"""where the rows of the per-request leaves (``record_screened``, ``decision``) are kept"""
ITEM_TABLES = {BatchScreened.kind: "screening_items", BatchDecided.kind: "decision_items"}
ITEM_COLUMNS = {
    "screening_items": ("id", "request_id", "outcome", "reasons", "rules"),
    "decision_items": (
        "id", "request_id", "decision", "reasons", "match_probability", "taxpayer", "model_digest",
    ),
}  # fmt: skip
COMMITMENT_COLUMNS = ("leaf_index", "event_id", "batch_id", "kind", "first_item", "items")
READ_CHUNK = 100_000


def physical(table: str) -> str:
    """The table that holds a projection table's rows as written (its per-leaf rows)."""
    return LEGACY_TABLES.get(table, table)


def _codes_json(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


class Codes:
    """``ledger_codes`` as read once per transaction, with the codes it adds (written by
    :meth:`flush` before the rows that use them, in the same transaction)."""

    def __init__(self, conn: Connection) -> None:
        rows = conn.exec_driver_sql("SELECT id, value FROM ledger_codes").fetchall()
        self.ids: dict[str, int] = {str(value): int(code) for code, value in rows}
        self._next = max(self.ids.values(), default=0) + 1
        self._new: list[tuple[int, str]] = []
        self._lists: dict[tuple[str, ...], int] = {}

    def code(self, value: str) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = self._next
            self._next += 1
            self._new.append((found, value))
        return found

    def list_code(self, values: tuple[str, ...]) -> int:
        found = self._lists.get(values)
        if found is None:
            found = self._lists[values] = self.code(_codes_json(values))
        return found

    def flush(self, conn: Connection) -> None:
        if self._new:
            statement = f"INSERT INTO ledger_codes (id, value) VALUES ({_marks(conn, 2)})"
            conn.exec_driver_sql(statement, self._new)
            self._new = []


def _marks(conn: Connection, count: int) -> str:
    return ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * count)


def item_rows(items: Sequence[Item], first_id: int, codes: Codes) -> Iterator[tuple[Any, ...]]:
    """The rows of ``items`` (all of one kind), ids from ``first_id``, in item order."""
    code, list_code = codes.code, codes.list_code
    for number, item in enumerate(items, first_id):
        if isinstance(item, ScreeningItem):
            yield (
                number, item.request_id, code(item.outcome), list_code(item.reasons), list_code(item.rules),
            )  # fmt: skip
        else:
            yield (
                number, item.request_id, code(item.decision), list_code(item.reasons),
                item.match_probability,
                None if item.taxpayer is None else bytes.fromhex(item.taxpayer),
                None if item.model_digest is None else code(item.model_digest),
            )  # fmt: skip


def write_items(conn: Connection, leaf_index: int, event_id: str, batch_id: str, kind: str,
                items: Sequence[Item], tiles: Sequence[TileRow], chunk: int) -> None:  # fmt: skip
    """The commitment row, its items' rows and its item tree's tiles (inside the append's
    transaction)."""
    table = ITEM_TABLES[kind]
    first = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").scalar_one()
    codes = Codes(conn)
    conn.exec_driver_sql(
        f"INSERT INTO commitments ({', '.join(COMMITMENT_COLUMNS)}) VALUES ({_marks(conn, 6)})",
        [(leaf_index, event_id, batch_id, kind, int(first), len(items))],
    )
    for start in range(0, len(items), chunk):
        rows = list(item_rows(items[start : start + chunk], int(first) + start, codes))
        codes.flush(conn)
        insert_rows(conn, table, ITEM_COLUMNS[table], rows)
    if tiles:
        conn.exec_driver_sql(
            f"INSERT INTO item_tiles (leaf_index, level, idx, hashes) VALUES ({_marks(conn, 4)})",
            [(leaf_index, level, index, hashes) for level, index, hashes in tiles],
        )


@dataclass(frozen=True)
class Commitment:
    leaf_index: int
    event_id: str
    batch_id: str
    kind: str
    first_item: int
    items: int


def commitments(conn: Connection, where: str = "", params: tuple[Any, ...] = ()) -> list[Commitment]:
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join(COMMITMENT_COLUMNS)} FROM commitments {where} ORDER BY leaf_index", params
    ).fetchall()
    return [Commitment(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5])) for r in rows]


class Texts:
    """Each code's value written as JSON once (``None``: not readable as that kind of
    value, e.g. a reason list rewritten as something else)."""

    def __init__(self, conn: Connection) -> None:
        rows = conn.exec_driver_sql("SELECT id, value FROM ledger_codes").fetchall()
        self.values: dict[int, str] = {int(code): value for code, value in rows}
        self._scalars: dict[int | None, str | None] = {None: "null"}
        self._lists: dict[int, str | None] = {}
        self._tuples: dict[int, tuple[str, ...] | None] = {}

    def scalar(self, code: int | None) -> str | None:
        try:
            return self._scalars[code]
        except KeyError:
            value = self.values.get(code) if isinstance(code, int) else None
            found = self._scalars[code] = json_text_of(value) if isinstance(value, str) else None
            return found

    def values_of(self, code: int) -> tuple[str, ...] | None:
        try:
            return self._tuples[code]
        except KeyError:
            pass
        parsed: Any = None
        try:
            parsed = json.loads(self.values.get(code, "") if isinstance(code, int) else "")
        except (ValueError, TypeError):
            parsed = None
        found = (
            tuple(parsed) if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed) else None
        )
        self._tuples[code] = found
        return found

    def listed(self, code: int) -> str | None:
        try:
            return self._lists[code]
        except KeyError:
            values = self.values_of(code)
            found = self._lists[code] = None if values is None else json_texts_of(values)
            return found


def item_text(kind: str, batch_json: str, row: Sequence[Any], texts: Texts) -> str | None:
    """The RFC 8785 text of the item a row holds (its values in :data:`ITEM_COLUMNS`
    order), or None when a value is not what the item can hold."""
    request_id = row[1]
    if not isinstance(request_id, str):
        return None
    if kind == BatchScreened.kind:
        outcome, reasons, rules = texts.scalar(row[2]), texts.listed(row[3]), texts.listed(row[4])
        if outcome is None or reasons is None or rules is None:
            return None
        return screening_text(batch_json, outcome, reasons, json_text_of(request_id), rules)
    decision, reasons = texts.scalar(row[2]), texts.listed(row[3])
    probability, taxpayer, digest = row[4], row[5], texts.scalar(row[6])
    if decision is None or reasons is None or digest is None:
        return None
    if probability is not None and not isinstance(probability, str):
        return None
    if taxpayer is not None and not isinstance(taxpayer, bytes | memoryview):
        return None
    return decision_text(
        batch_json, decision, "null" if probability is None else json_text_of(probability), digest,
        reasons, json_text_of(request_id), "null" if taxpayer is None else '"' + bytes(taxpayer).hex() + '"',
    )  # fmt: skip


def row_item(kind: str, batch_id: str, row: Sequence[Any], texts: Texts) -> Item | None:
    """The item a row holds, as an object (``prove-record``, the JCT report)."""
    if item_text(kind, "null", row, texts) is None:
        return None
    if kind == BatchScreened.kind:
        return ScreeningItem(
            batch_id, row[1], str(texts.values[row[2]]), texts.values_of(row[3]) or (),
            texts.values_of(row[4]) or (),
        )  # fmt: skip
    return DecisionItem(
        batch_id, row[1], str(texts.values[row[2]]), texts.values_of(row[3]) or (), row[4],
        None if row[5] is None else bytes(row[5]).hex(),
        None if row[6] is None else str(texts.values[row[6]]),
    )  # fmt: skip


def read_rows(conn: Connection, table: str, first: int, last: int) -> Iterator[Sequence[Any]]:
    """Rows ``first`` to ``last`` of an item table in id order, fetched in big chunks."""
    columns = ITEM_COLUMNS[table]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    result = conn.exec_driver_sql(
        f"SELECT {', '.join(columns)} FROM {table} WHERE id >= {mark} AND id <= {mark} ORDER BY id",
        (first, last),
    )
    while rows := result.fetchmany(READ_CHUNK):
        yield from rows


@dataclass
class ItemCheck:
    """What ``verify`` found for one committing leaf's rows."""

    count: int = 0
    unreadable: bool = False
    hashes: bytearray = field(default_factory=bytearray)  # leaf hashes end to end


@dataclass(frozen=True, slots=True)
class RehashedRun:
    """What one commitment's stored rows hash to."""

    rows: int
    unreadable: bool
    root: str | None  # hex root of the item tree over the rows (None: unreadable)


@dataclass(frozen=True)
class RehashedItems:
    """The stored item rows rehashed, without the log: the commitments rows, each one's run
    of rows as it hashes now, and per item table the rows outside every run. Read in one
    snapshot; ``head`` is that snapshot's ledger head (size, root), by which ``verify``
    knows the items it was given were read in the state of the store it verifies."""

    head: tuple[int, bytes]
    stored: list[Commitment]
    runs: dict[str, RehashedRun]
    outside: dict[str, int]


def rehash_items(conn: Connection) -> RehashedItems:
    """Every item table read once in id order and rehashed, without an object per row."""
    head = conn.exec_driver_sql(f"SELECT size, root_hash FROM ledger_head WHERE id = {HEAD_ID}").one()
    texts = Texts(conn)
    stored = commitments(conn)
    runs: dict[str, RehashedRun] = {}
    outside: dict[str, int] = {}
    for kind, table in ITEM_TABLES.items():
        ordered = sorted((c for c in stored if c.kind == kind), key=lambda c: c.first_item)
        checks = {c.event_id: ItemCheck() for c in ordered}
        outside[table] = _rehash(conn, kind, table, ordered, checks, texts)
        for event_id, check in checks.items():
            root = None if check.unreadable else HashTree.from_concatenated(check.hashes).root().hex()
            runs[event_id] = RehashedRun(check.count, check.unreadable, root)
    return RehashedItems((int(head[0]), bytes(head[1])), stored, runs, outside)


def check_items(
    conn: Connection,
    logged: Mapping[str, tuple[int, BatchScreened | BatchDecided]],
    rehashed: RehashedItems | None = None,
) -> Iterator[tuple[str, int | None, str]]:
    """(table, leaf index, message) for every way the stored items differ from what the
    committing leaves of the log (``logged``: event id -> (leaf index, event)) commit
    to. ``rehashed``: the rows as :func:`rehash_items` read them in this state of the store
    (by another process, while the log was checked); read here when not given."""
    found_items = rehash_items(conn) if rehashed is None else rehashed
    stored = found_items.stored
    by_event = {c.event_id: c for c in stored}
    for commitment in stored:
        found = logged.get(commitment.event_id)
        if (
            found is None
            or found[0] != commitment.leaf_index
            or found[1].kind != commitment.kind
            or found[1].batch_id != commitment.batch_id
        ):
            yield (
                ITEM_TABLES.get(commitment.kind, "commitments"), None,
                f"commitments: the row of event {commitment.event_id} of batch {commitment.batch_id} "
                f"(leaf {commitment.leaf_index}) names no committing leaf of the log (it was added "
                "or altered outside the ledger)",
            )  # fmt: skip
    for event_id, (leaf, event) in sorted(logged.items(), key=lambda e: e[1][0]):
        if event_id not in by_event:
            yield (
                ITEM_TABLES[event.kind], leaf,
                f"{ITEM_TABLES[event.kind]}: the rows of batch {event.batch_id} (event {event_id}, "
                f"leaf {leaf}) are missing: no commitments row names them (it was deleted)",
            )  # fmt: skip
    for kind, table in ITEM_TABLES.items():
        outside = found_items.outside.get(table, 0)
        if outside:
            yield (
                table, None,
                f"{table}: {outside} row(s) lie outside every commitment's run of rows "
                "(rows were added outside the ledger)",
            )  # fmt: skip
        for commitment in sorted((c for c in stored if c.kind == kind), key=lambda c: c.first_item):
            entry = logged.get(commitment.event_id)
            if entry is None:
                continue
            leaf, event = entry
            run = found_items.runs[commitment.event_id]
            where = f"{table}: the rows of batch {event.batch_id} (event {event.event_id}, leaf {leaf})"
            if run.unreadable:
                message = f"{where} hold values that are not {table} (altered outside the ledger)"
            elif run.rows != event.records:
                message = (
                    f"{where} are {run.rows}, but the log commits to {event.records} "
                    "(rows were deleted or added)"
                )
            elif run.root != event.results_root:
                message = (
                    f"{where} do not hash to the root the log commits to "
                    "(a row was changed or the rows were reordered)"
                )
            else:
                continue
            yield table, leaf, message


def stream(conn: Connection, statement: str, params: Sequence[Any] = ()) -> Iterator[list[Any]]:
    """Rows of a (constant) query in chunks, from the driver's own cursor: no row objects
    are built per row, and PostgreSQL streams through a server-side cursor instead of
    sending the whole result at once. Runs inside ``conn``'s transaction (its snapshot)."""
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"ftigate_stream_{id(statement)}")
        cursor.itersize = READ_CHUNK
        statement = statement.replace("?", "%s")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(statement, tuple(params))
        while rows := cursor.fetchmany(READ_CHUNK):
            yield rows
    finally:
        cursor.close()


Pieces = dict[tuple[Any, ...], tuple[bytes, bytes] | None]
"""the fixed parts of the item text of each combination of codes (None: unreadable)"""


def _rehash(conn: Connection, kind: str, table: str, runs: list[Commitment],
            checks: dict[str, ItemCheck], texts: Texts) -> int:  # fmt: skip
    """Streams the table in id order into each run's hashes; returns the rows outside every
    run. A run whose rows overlap another's counts them in both (both then fail).

    Each row's item text is its request id (and for a decision its probability and
    pseudonym) between pieces that depend only on the row's codes, written once per
    distinct combination of codes: one hash per row, no object per row."""
    columns = ITEM_COLUMNS[table]
    for commitment in runs:
        check = checks[commitment.event_id]
        batch_json = json_text_of(commitment.batch_id)
        pieces: Pieces = {}
        first, last = commitment.first_item, commitment.first_item + commitment.items - 1
        # the id only orders the rows (and bounds the run): not fetched, one object less a row
        statement = f"SELECT {', '.join(columns[1:])} FROM {table} WHERE id >= ? AND id <= ? ORDER BY id"
        for rows in stream(conn, statement, (first, last)):
            check.count += len(rows)
            if check.unreadable:
                continue
            if kind == BatchScreened.kind:
                _hash_screening(rows, batch_json, pieces, texts, check)
            else:
                _hash_decisions(rows, batch_json, pieces, texts, check)
    stored = int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())
    return max(stored - sum(check.count for check in checks.values()), 0)


def _hash_screening(rows: list[Any], batch_json: str, pieces: Pieces, texts: Texts, check: ItemCheck) -> None:
    hashes, sha, quote = check.hashes, sha256, json_text_of
    for request_id, outcome, reasons, rules in rows:
        key = (outcome, reasons, rules)
        try:
            piece = pieces[key]
        except KeyError:
            piece = pieces[key] = _screening_pieces(batch_json, key, texts)
        if piece is None or type(request_id) is not str:
            check.unreadable = True
            return
        try:
            hashes += sha(piece[0] + quote(request_id).encode("utf-8") + piece[1]).digest()
        except UnicodeEncodeError:
            check.unreadable = True
            return


def _screening_pieces(batch_json: str, key: tuple[Any, ...], texts: Texts) -> tuple[bytes, bytes] | None:
    outcome, reasons, rules = texts.scalar(key[0]), texts.listed(key[1]), texts.listed(key[2])
    if outcome is None or reasons is None or rules is None:
        return None
    head, tail = screening_text(batch_json, outcome, reasons, _SPLIT, rules).split(_SPLIT)
    return LEAF_PREFIX + head.encode("utf-8"), tail.encode("utf-8")


def _hash_decisions(rows: list[Any], batch_json: str, pieces: Pieces, texts: Texts, check: ItemCheck) -> None:
    """A decision's text is split around its request id; the probability and the
    pseudonym, which vary by row, are written into the piece's two ends."""
    hashes, sha, quote = check.hashes, sha256, json_text_of
    for request_id, decision, reasons, probability, taxpayer, digest in rows:
        key = (decision, reasons, digest)
        try:
            piece = pieces[key]
        except KeyError:
            piece = pieces[key] = _decision_pieces(batch_json, key, texts)
        if (
            piece is None
            or type(request_id) is not str
            or (probability is not None and type(probability) is not str)
            or (taxpayer is not None and not isinstance(taxpayer, bytes | memoryview))
        ):
            check.unreadable = True
            return
        prob = b"null" if probability is None else quote(probability).encode("utf-8")
        who = (
            _NO_TAXPAYER if taxpayer is None
            else _TAXPAYER_OPEN + taxpayer.hex().encode("ascii") + _TAXPAYER_CLOSE
        )  # fmt: skip
        try:
            hashes += sha(piece[0] + prob + piece[1] + quote(request_id).encode("utf-8") + who).digest()
        except UnicodeEncodeError:
            check.unreadable = True
            return


def _decision_pieces(batch_json: str, key: tuple[Any, ...], texts: Texts) -> tuple[bytes, bytes] | None:
    decision, reasons, digest = texts.scalar(key[0]), texts.listed(key[1]), texts.scalar(key[2])
    if decision is None or reasons is None or digest is None:
        return None
    text = decision_text(batch_json, decision, _SPLIT, digest, reasons, _SPLIT, _SPLIT)
    head, middle, taxpayer_and_end = text.split(_SPLIT)[:3]
    if taxpayer_and_end != ',"taxpayer":':
        raise AssertionError("decision_text's key order changed")
    return LEAF_PREFIX + head.encode("utf-8"), middle.encode("utf-8")


_SPLIT = "\x00"  # a control character no JSON text written by the items holds raw
_TAXPAYER = b',"taxpayer":'
_END = decision_text("", "", "", "", "", "", "").rsplit('"taxpayer":', 1)[1].encode("ascii")
# the text after a decision's request id: its taxpayer (a pseudonym or null) and the close
_NO_TAXPAYER = _TAXPAYER + b"null" + _END
_TAXPAYER_OPEN = _TAXPAYER + b'"'
_TAXPAYER_CLOSE = b'"' + _END


@dataclass(frozen=True)
class ItemProof:
    """One item of a commitment with its audit path to the item tree's root, as stored."""

    item: Item
    index: int
    records: int  # the item rows the commitment covers (verify compares with the leaf)
    proof: list[bytes]
    rows_read: int  # item rows and tile rows read


def item_proof(conn: Connection, commitment: Commitment, request_id: str) -> ItemProof | None:
    """The audit path of the first item of ``request_id`` under ``commitment``: the item's
    row found through the request id index, the 256 items of its tile rehashed, and one
    tile row per level above (O(log n) reads). A commitment stored without item tiles
    (upgraded from revision 0005) is proved from all its rows. None: no such request."""
    table = ITEM_TABLES[commitment.kind]
    first, last = commitment.first_item, commitment.first_item + commitment.items - 1
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found = conn.exec_driver_sql(
        f"SELECT MIN(id) FROM {table} WHERE request_id = {mark} AND id >= {mark} AND id <= {mark}",
        (request_id, first, last),
    ).scalar_one()
    if found is None:
        return None
    texts = Texts(conn)
    batch_json = json_text_of(commitment.batch_id)
    read = [0]

    def hashes_of(start: int, end: int) -> bytes:
        out = bytearray()
        for row in read_rows(conn, table, start, end):
            read[0] += 1
            text = item_text(commitment.kind, batch_json, row, texts)
            if text is None:
                raise ValueError(f"a stored row of {table} is not readable")
            out += leaf_hash(text.encode("utf-8"))
        return bytes(out)

    def tile(level: int, index: int) -> bytes | None:
        if level == 0:
            start = first + index * TILE_WIDTH
            return hashes_of(start, min(start + TILE_WIDTH - 1, last))
        row = conn.exec_driver_sql(
            f"SELECT hashes FROM item_tiles WHERE leaf_index = {mark} AND level = {mark} AND idx = {mark}",
            (commitment.leaf_index, level, index),
        ).first()
        read[0] += 1
        return None if row is None else bytes(row[0])

    position = int(found) - first
    has_tiles = conn.exec_driver_sql(
        f"SELECT 1 FROM item_tiles WHERE leaf_index = {mark} LIMIT 1", (commitment.leaf_index,)
    ).first()
    if has_tiles is not None or commitment.items <= TILE_WIDTH:
        proof = TiledTree(commitment.items, tile).inclusion_proof(position, commitment.items)
    else:
        whole = hashes_of(first, last)
        tree = HashTree(whole[i : i + 32] for i in range(0, len(whole), 32))
        proof = tree.inclusion_proof(position, commitment.items)
    (row,) = read_rows(conn, table, int(found), int(found))
    item = row_item(commitment.kind, commitment.batch_id, row, texts)
    if item is None:
        raise ValueError(f"a stored row of {table} is not readable")
    return ItemProof(item, position, commitment.items, proof, read[0] + 2)
