"""The store the pipeline stages call: batches, requests, ledger events, tree heads.

Typical use by the ``process`` stage::

    store = Store.open(db_url)                # runs migrations up
    store.start_batch(batch_id=batch_id, letter=letter, file_digests=digests,
                      requesting_agency="ICE", files_key=key, supersedes=None,
                      first=lambda previous: [BatchReceived(...), commit_screening(...)])
    store.add_requests(batch_id, [(row["request_id"], row) for row in rows])
    store.append_events([InspectionStarted(...), RecordsInspected(...), ...,
                         commit_decisions(batch_id, items), Disclosure(...), ResponseSent(...)])
    store.sign_checkpoint(load_signer())

``append_events`` writes, in one transaction, the ledger leaves and the rows
the events describe (screening results, decisions, reviews, disclosures), so
the relational records and the tamper-evident log can never disagree about
what happened. A :class:`~ftigate.ledger.committed.Committed` batch (its
screening or its decisions) is one leaf, whose root commits to its items, and
the items' rows (see :mod:`ftigate.ledger.committed`). ``start_batch`` writes a
new batch's row and its first events in one such transaction, after deciding under
the same lock whether the batch may be recorded at all (:class:`Succession`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from itertools import islice
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Row, and_, column, insert, literal_column, select, update
from sqlalchemy import table as sql_table
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from ftigate.ledger.canonical import canonical_json
from ftigate.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignedCheckpoint,
    Signer,
    Verifier,
    open_checkpoint,
    sign_checkpoint,
)
from ftigate.ledger.committed import Committed, Item
from ftigate.ledger.events import (
    EVENT_TYPES,
    BatchAbandoned,
    BatchReceived,
    BatchSuperseded,
    BatchVoided,
    Disclosure,
    EncodedEntry,
    EntryError,
    InspectionStarted,
    LedgerEvent,
    LedgerOpened,
    Pseudonymizer,
    ResponseReleased,
    ResponseSent,
    event_from_entry,
)
from ftigate.ledger.merkle import EMPTY_ROOT, CompactRange, leaf_hash
from ftigate.ledger.projection import (
    PROJECTED_KINDS,
    TABLE_COLUMNS,
    ExpectedProjection,
    compare_batches,
    compare_table,
    projection_rows,
)
from ftigate.ledger.seal import SEAL_KIND, SealWalk, decode_event, make_seal
from ftigate.ledger.tiles import (
    TILE_HEIGHT,
    TiledTree,
    TileError,
    TileReader,
    TileRow,
    TileWriter,
    compare_tiles,
)
from ftigate.ledger.verify import Finding, LeafRow, VerifyReport, verify_log
from ftigate.store.db import READ_ONLY_OPTION, insert_rows, make_engine, migrate, resolve_url
from ftigate.store.items import (
    ITEM_TABLES,
    ItemProof,
    Texts,
    check_items,
    commitments,
    item_proof,
    physical,
    read_rows,
    row_item,
    stream,
    write_items,
)
from ftigate.store.models import (
    BULK_KINDS,
    HEAD_ID,
    RARE_KINDS_WHERE,
    Batch,
    BatchEventRow,
    DisclosureRow,
    LedgerHead,
    LedgerLeaf,
    MerkleTile,
    Request,
    Role,
    SignedTreeHead,
    User,
    UserRole,
)
from ftigate.store.rehash import ItemsRehash

APPEND_CHUNK = 20_000
Appendable = LedgerEvent | Committed | EncodedEntry
"""what `Store.append_events` records: an event, a committing event with its items, or
an entry a bulk encoder wrote (a chunk's inspections)"""

# The status a batch is in once the log holds an event of each lifecycle kind (the
# `batches.status` column is this projection; the log is the record).
LIFECYCLE_STATUS = {
    InspectionStarted.kind: "inspecting",
    ResponseSent.kind: "responding",
    ResponseReleased.kind: "released",
    BatchAbandoned.kind: "abandoned",
    BatchVoided.kind: "voided",
    BatchSuperseded.kind: "superseded",
}
RELEASED_STATUSES = ("released", "superseded", "voided")
"""a batch in one of these states had its response released: its disclosures were made"""
FINISHED_STATUSES = (*RELEASED_STATUSES, "abandoned")
"""nothing more is recorded for a batch in these states by `process`"""
CURRENT_STATUSES = ("released", "voided")
"""a batch in one of these states that no later batch superseded is the current answer to
its files: the one a rerun of them would supersede"""


@dataclass(frozen=True)
class Succession:
    """What the earlier batches of one letter and request file (`Store.batches(files_key=)`,
    oldest first) leave to a new batch of the same files. One definition for the check
    `process` makes before any work (`ftigate.pipeline.recording.earlier_batch`) and the
    one `Store.start_batch` makes in the transaction that records the new batch."""

    unfinished: tuple[Mapping[str, Any], ...]
    """batches not finished (being processed, or killed and not yet abandoned)"""
    current: tuple[str, ...]
    """released (or since voided) batches no later batch superseded, oldest first"""
    superseded_by: Mapping[str, str]
    """each superseded batch's successor, even one abandoned since"""

    @classmethod
    def of(cls, earlier: Sequence[Mapping[str, Any]]) -> Succession:
        superseded_by = {b["supersedes"]: b["id"] for b in earlier if b["supersedes"] is not None}
        return cls(
            unfinished=tuple(b for b in earlier if b["status"] not in FINISHED_STATUSES),
            current=tuple(
                b["id"] for b in earlier if b["status"] in CURRENT_STATUSES and b["id"] not in superseded_by
            ),
            superseded_by=superseded_by,
        )

    def refusal(self, supersedes: str | None) -> str | None:
        """Why a new batch that supersedes `supersedes` (None: one that starts afresh)
        cannot be recorded, or None when it can: another batch of these files is not
        finished, or the new one would not replace the current answer (exactly one new
        batch succeeds each answer, and a fresh start needs there to be none)."""
        if self.unfinished:
            batch = self.unfinished[0]
            return (
                f"batch {batch['id']} of this letter and request file was started meanwhile "
                f"({batch['status']})"
            )
        if supersedes is None:
            if self.current:
                return f"batch {self.current[-1]} of this letter and request file was released meanwhile"
            return None
        if supersedes in self.current:
            return None
        if supersedes in self.superseded_by:
            return f"batch {supersedes} was superseded meanwhile, by batch {self.superseded_by[supersedes]}"
        return f"{supersedes} is not a released batch of this letter and request file"


class StoreError(Exception):
    """A store operation was refused (the message never carries taxpayer data)."""

    ftigate_exit_code = 2  # bad input, shown as it is by the CLI's one error path


class BatchConflict(StoreError):
    """A new batch refused because of the earlier batches of its files (`Succession`); the
    message names the batch in the way, never taxpayer data."""


class UnsealedLeaves(StoreError):
    """The log holds leaves no seal of the log key covers: they were not appended
    through the authenticated path, so they are not signed."""

    ftigate_exit_code = 1  # does not verify


@dataclass(frozen=True)
class TreeHead:
    size: int
    root_hash: bytes


@dataclass(frozen=True)
class AppendResult:
    first_index: int
    size: int
    root_hash: bytes
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredLeaf:
    leaf_index: int
    event_id: str
    kind: str
    entry: bytes
    leaf_hash: bytes


def leaf_entry(event_json: bytes, seq: int, prev: bytes | None) -> bytes:
    """The leaf data: ``{"event": <entry>, "prev": <hex|null>, "seq": <index>}``.

    ``seq`` is the leaf's own index and ``prev`` the previous leaf hash, so a
    moved, deleted or rewritten row is caught at the row itself, not only by
    the root. The event's canonical bytes are spliced in as they are: keys
    "event" < "prev" < "seq" are already in RFC 8785 order, so the result is
    the canonical form of the whole object (a test checks this).
    """
    prev_json = b'"' + prev.hex().encode("ascii") + b'"' if prev is not None else b"null"
    seq_json = str(seq).encode("ascii")
    return b'{"event":' + event_json + b',"prev":' + prev_json + b',"seq":' + seq_json + b"}"


def _chunks(
    items: Iterable[Appendable], size: int
) -> Iterator[list[Appendable]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.signer: Signer | None = None
        self.pseudonyms: Pseudonymizer | None = None
        self._pins_checked = False

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        run_migrations: bool = True,
        signer: Signer | None = None,
        pseudonyms: Pseudonymizer | None = None,
    ) -> Store:
        """Open the store; with both keys, appends are sealed and pinned (:meth:`use_keys`)."""
        engine = make_engine(resolve_url(url))
        if run_migrations:
            migrate(engine)
        store = cls(engine)
        if signer is not None and pseudonyms is not None:
            store.use_keys(signer, pseudonyms)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- batches and requests -----------------------------------------------------

    def create_batch(
        self,
        *,
        letter: Mapping[str, Any],
        file_digests: Mapping[str, str],
        requesting_agency: str,
        supersedes: str | None = None,
        status: str = "received",
        batch_id: str | None = None,
        files_key: str | None = None,
    ) -> str:
        """Insert a new batch; an existing batch is never overwritten."""
        new_id = batch_id or uuid.uuid4().hex
        row = self._batch_row(new_id, letter, file_digests, requesting_agency, supersedes, status, files_key)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(Batch), [row])
        except IntegrityError:
            raise StoreError(
                f"batch {new_id} already exists (or supersedes an unknown batch); "
                "re-processing makes a new batch"
            ) from None
        return new_id

    @staticmethod
    def _batch_row(
        batch_id: str,
        letter: Mapping[str, Any],
        file_digests: Mapping[str, str],
        requesting_agency: str,
        supersedes: str | None,
        status: str,
        files_key: str | None,
    ) -> dict[str, Any]:
        return {
            "id": batch_id,
            "created_at": datetime.now(UTC),
            "requesting_agency": requesting_agency,
            "letter_json": dict(letter),
            "letter_canonical_sha256": _sha256_hex(canonical_json(dict(letter))),
            "file_digests": dict(file_digests),
            "status": status,
            "supersedes": supersedes,
            "files_key": files_key,
        }

    def start_batch(
        self,
        *,
        batch_id: str,
        letter: Mapping[str, Any],
        file_digests: Mapping[str, str],
        requesting_agency: str,
        files_key: str,
        supersedes: str | None,
        first: Callable[[tuple[int, dict[str, Any]] | None], Iterable[Appendable]],
        status: str = "screened",
    ) -> AppendResult:
        """Record a new batch: its row and its first events (`first`, given the previous
        batch's `batch_received` as `last_of_kind` returns it), in one transaction.

        Whether it may be recorded is decided in that transaction, under the ledger head's
        lock that serialises every append (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
        SQLite): the earlier batches of `files_key` are read there (`Succession`), so two
        runs of the same files racing cannot both supersede one batch or both start afresh.
        The loser gets BatchConflict and nothing of it is written."""
        try:
            with self.engine.begin() as conn:
                head = self._lock_head(conn)
                earlier = [dict(r) for r in conn.execute(_batches_query(files_key)).mappings()]
                refusal = Succession.of(earlier).refusal(supersedes)
                if refusal is not None:
                    raise BatchConflict(refusal)
                previous = _last_of_kind(conn, BatchReceived.kind)
                # Stamped under the lock: batches are listed oldest first by this time.
                row = self._batch_row(
                    batch_id, letter, file_digests, requesting_agency, supersedes, status, files_key
                )
                conn.execute(insert(Batch), [row])
                return self._append_locked(conn, head, first(previous))
        except IntegrityError as error:
            raise StoreError(
                f"batch {batch_id} refused by the database (it exists already, or supersedes an "
                f"unknown batch, or an event id was recorded already): {type(error.orig).__name__}"
            ) from None

    def set_batch_status(self, batch_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(Batch).where(Batch.id == batch_id).values(status=status))
            if done.rowcount != 1:
                raise StoreError(f"no batch {batch_id}")

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self.snapshot() as conn:
            row = conn.execute(select(Batch.__table__).where(Batch.id == batch_id)).mappings()
            found = row.one_or_none()
            return dict(found) if found else None

    def batches(self, files_key: str | None = None) -> list[dict[str, Any]]:
        """Every batch (or every batch of one letter and request file), oldest first."""
        with self.snapshot() as conn:
            return [dict(r) for r in conn.execute(_batches_query(files_key)).mappings()]

    def batch_events(self, batch_id: str | None = None) -> list[dict[str, Any]]:
        """Lifecycle events (response sent and released, abandoned, voided, superseded) of
        one batch or of all, in the order they were appended."""
        query = select(BatchEventRow.__table__).order_by(BatchEventRow.id)
        if batch_id is not None:
            query = query.where(BatchEventRow.batch_id == batch_id)
        with self.snapshot() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def add_requests(self, batch_id: str, records: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        rows = [{"batch_id": batch_id, "request_id": rid, "record_json": dict(rec)} for rid, rec in records]
        if not rows:
            return 0
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(Request), rows)
        except IntegrityError:
            raise StoreError(f"duplicate request id in batch {batch_id}") from None
        return len(rows)

    # --- users and roles -----------------------------------------------------------

    def add_user(self, user_id: str, display_name: str, roles: Iterable[str] = ()) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(User),
                [{"id": user_id, "display_name": display_name, "created_at": datetime.now(UTC)}],
            )
            for role in roles:
                known = conn.execute(select(Role.name).where(Role.name == role)).first()
                if known is None:
                    conn.execute(insert(Role), [{"name": role, "description": ""}])
                conn.execute(insert(UserRole), [{"user_id": user_id, "role": role}])

    def user_roles(self, user_id: str) -> list[str]:
        with self.snapshot() as conn:
            rows = conn.execute(
                select(UserRole.role).where(UserRole.user_id == user_id).order_by(UserRole.role)
            )
            return [r[0] for r in rows]

    # --- the ledger -------------------------------------------------------------------

    def use_keys(self, signer: Signer, pseudonyms: Pseudonymizer) -> None:
        """Record under these keys from now on: every append is sealed with the log key,
        the log's first leaf pins both keys, and an append under other keys is refused."""
        self.signer, self.pseudonyms = signer, pseudonyms
        self._pins_checked = False
        self.check_keys()

    def check_keys(self) -> None:
        """Refuse (StoreError) when the log is pinned to other keys than the store's, before
        any work is done under them. An empty log is pinned by its first append."""
        if self.signer is None or self.pseudonyms is None:
            return
        with self.snapshot() as conn:
            if conn.execute(select(LedgerLeaf.leaf_index).limit(1)).first() is None:
                return
            self._check_pins(conn, self.signer.verifier.vkey(), self.pseudonyms.fingerprint())
        self._pins_checked = True

    def append_events(self, events: Iterable[Appendable]) -> AppendResult:
        """Append events to the log in one transaction, with their projections.

        The head row is locked first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
        on SQLite), so concurrent appenders serialise and the log stays one
        sequence. The tree is updated from the stored frontier: old leaves are
        never read.

        With keys (:meth:`use_keys`), a new log begins with a ``ledger_opened``
        leaf pinning them, every ``batch_received`` carries the pseudonym key's
        fingerprint, and the append ends with a ``seal`` leaf signed by the log
        key over the leaves it appended. Without keys the leaves are written
        unsealed, and ``sign_checkpoint`` refuses to sign them.
        """
        iterator = iter(events)
        first_event = next(iterator, None)
        if first_event is None:  # nothing to record: no genesis, no seal
            head_now = self.latest_tree_head()
            return AppendResult(head_now.size, head_now.size, head_now.root_hash, ())
        events = itertools.chain([first_event], iterator)
        try:
            with self.engine.begin() as conn:
                return self._append_locked(conn, self._lock_head(conn), events)
        except IntegrityError as error:
            raise StoreError(
                "append refused by the database (an event id already recorded, "
                f"or a batch that does not exist): {type(error.orig).__name__}"
            ) from None

    def _append_locked(
        self, conn: Connection, head: Row[Any], events: Iterable[Appendable]
    ) -> AppendResult:
        """The append itself, in `conn`'s transaction, with the head row locked (`_lock_head`)."""
        frontier = CompactRange.from_bytes(head.size, bytes(head.frontier))
        tiles = self._tile_writer(conn, head.size, bytes(head.root_hash))
        tiers: list[bytearray] = []
        prev = bytes(head.last_leaf_hash) if head.last_leaf_hash is not None else None
        first_index = head.size
        sealed = CompactRange()
        event_ids: list[str] = []

        def write(chunk: list[Appendable]) -> None:
            nonlocal prev
            leaves: list[tuple[int, str, str, bytes, bytes]] = []
            digests: list[bytes] = []
            committed_at: list[tuple[int, Committed]] = []
            index = frontier.size
            for element in chunk:
                if isinstance(element, EncodedEntry):  # written in bulk already (a chunk's inspections)
                    kind, event_id, entry = element.kind, element.event_id, element.data
                else:
                    if isinstance(element, Committed):
                        committed_at.append((index, element))
                        event: LedgerEvent = element.event
                    else:
                        event = element
                    kind, event_id, entry = event.kind, event.event_id, event.canonical()
                data = leaf_entry(entry, index, prev)
                digest = leaf_hash(data)
                leaves.append((index, event_id, kind, data, digest))
                digests.append(digest)
                prev = digest
                event_ids.append(event_id)
                index += 1
            frontier.extend_visiting(digests, tiers, TILE_HEIGHT)
            sealed.extend(digests)
            insert_rows(conn, "ledger_leaves", _LEAF_COLUMNS, leaves)
            _upsert_tiles(conn, tiles.rows(tiers))
            self._project(conn, chunk, committed_at)

        for chunk in _chunks(self._keyed(conn, head.size, events), APPEND_CHUNK):
            write(chunk)
        if not event_ids:
            return AppendResult(head.size, head.size, bytes(head.root_hash), ())
        if self.signer is not None:
            write([make_seal(self.signer, first_index, sealed.size, sealed.root())])
        root = frontier.root()
        conn.execute(
            update(LedgerHead)
            .where(LedgerHead.id == HEAD_ID)
            .values(
                size=frontier.size,
                root_hash=root,
                frontier=frontier.to_bytes(),
                last_leaf_hash=prev,
                updated_at=datetime.now(UTC),
            )
        )
        return AppendResult(first_index, frontier.size, root, tuple(event_ids))

    def _keyed(
        self, conn: Connection, size: int, events: Iterable[Appendable]
    ) -> Iterator[Appendable]:
        """The events as recorded under the store's keys: the genesis leaf first on an
        empty log, each batch stamped with the pseudonym key's fingerprint."""
        if self.signer is None or self.pseudonyms is None:
            yield from events
            return
        fingerprint = self.pseudonyms.fingerprint()
        if size == 0:
            yield LedgerOpened(log_vkey=self.signer.verifier.vkey(), pseudonym_key=fingerprint)
        elif not self._pins_checked:
            self._check_pins(conn, self.signer.verifier.vkey(), fingerprint)
            self._pins_checked = True
        for event in events:
            if isinstance(event, BatchReceived):
                if event.pseudonym_key is None:
                    event = dataclasses.replace(event, pseudonym_key=fingerprint)
                elif event.pseudonym_key != fingerprint:
                    raise StoreError(
                        f"batch {event.batch_id} was pseudonymised under another pseudonym "
                        "key than the one the store was opened with; refused"
                    )
            yield event

    def _check_pins(self, conn: Connection, vkey: str, fingerprint: str) -> None:
        row = conn.execute(select(LedgerLeaf.entry).where(LedgerLeaf.leaf_index == 0)).first()
        genesis = decode_entry(_entry_bytes(row[0], 0)).get("event") if row is not None else None
        if not isinstance(genesis, dict) or genesis.get("kind") != LedgerOpened.kind:
            raise StoreError(
                "leaf 0 of this log is not a ledger_opened entry, so the log's keys are not "
                "pinned; refusing to record into it"
            )
        if genesis.get("log_vkey") != vkey:
            raise StoreError(
                "this log is pinned to another log key (leaf 0); refusing to record under "
                "the key given (check FTIGATE_SIGNING_KEY_FILE)"
            )
        if genesis.get("pseudonym_key") != fingerprint:
            raise StoreError(
                "this log is pinned to another pseudonym key (leaf 0); refusing to record "
                "pseudonyms made under the key given (check FTIGATE_PSEUDONYM_KEY_FILE)"
            )

    def _tile_writer(self, conn: Connection, size: int, root: bytes) -> TileWriter:
        """The tiles the append extends, checked first against the head: leaves are never
        appended onto tiles that would serve proofs of another tree."""
        reader = _tile_reader(conn)
        try:
            if TiledTree(size, reader).root() != root:
                raise TileError("the stored tiles lead to another root than the ledger head")
            return TileWriter(size, reader)
        except TileError as error:
            raise StoreError(f"{error}; refusing to append. Run `ftigate ledger verify`") from None

    def _lock_head(self, conn: Connection) -> Row[Any]:
        row = conn.execute(
            select(LedgerHead.__table__).where(LedgerHead.id == HEAD_ID).with_for_update()
        ).one_or_none()
        if row is None:
            raise StoreError("the ledger head row is missing: the database was tampered with")
        return row

    def _project(
        self,
        conn: Connection,
        events: list[Appendable],
        committed_at: list[tuple[int, Committed]],
    ) -> None:
        """Rows of the typed tables for the events that describe one (same transaction);
        a committed batch's items as compact rows under its leaf (:mod:`ftigate.store.items`)."""
        plain = [event for event in events if isinstance(event, LedgerEvent)]
        for table, rows in projection_rows(plain).items():
            insert_rows(conn, physical(table), TABLE_COLUMNS[table], rows)
        for leaf_index, committed in committed_at:
            commit = committed.event
            write_items(
                conn, leaf_index, commit.event_id, commit.batch_id, commit.kind,
                committed.items, committed.tiles, APPEND_CHUNK,
            )  # fmt: skip
        status: dict[str, str] = {}
        for event in plain:
            batch_status = LIFECYCLE_STATUS.get(event.kind)
            if batch_status is not None:
                status[event.__dict__["batch_id"]] = batch_status
        for batch_id, batch_status in status.items():
            conn.execute(update(Batch).where(Batch.id == batch_id).values(status=batch_status))

    def latest_tree_head(self) -> TreeHead:
        with self.snapshot() as conn:
            head = conn.execute(
                select(LedgerHead.size, LedgerHead.root_hash).where(LedgerHead.id == HEAD_ID)
            ).one()
            return TreeHead(head.size, bytes(head.root_hash))

    def sign_checkpoint(self, signer: Signer, extensions: tuple[str, ...] = ()) -> SignedCheckpoint:
        """Sign the current head (origin = the signer's key name) and keep it.

        Only what the key itself appended is signed: the leaves since the last signed
        head this key verifies must all be covered by valid seals (else
        :class:`UnsealedLeaves`, naming the first such leaf), the leaves below it must
        still hash to it, and the root signed is recomputed from the entries, not
        read from the head row."""
        with self.engine.begin() as conn:
            head = self._lock_head(conn)
            size, root = self._signable_root(conn, signer.verifier, head.size)
            if root != bytes(head.root_hash):
                raise StoreError(
                    "the ledger head row differs from the root of the stored leaves; "
                    "run `ftigate ledger verify`"
                )
            signed = sign_checkpoint(Checkpoint(signer.name, size, root, extensions), signer)
            conn.execute(
                insert(SignedTreeHead),
                [
                    {
                        "size": size,
                        "root_hash": root,
                        "checkpoint": signed.serialize(),
                        "created_at": datetime.now(UTC),
                    }
                ],
            )
        return signed

    def _signable_root(self, conn: Connection, log_key: Verifier, size: int) -> tuple[int, bytes]:
        signed_size, signed_root = 0, EMPTY_ROOT
        texts = conn.execute(select(SignedTreeHead.checkpoint).order_by(SignedTreeHead.id.desc())).scalars()
        for text in texts:
            try:
                opened = open_checkpoint(text, log_key)
            except CheckpointError:
                continue  # not this key's: it proves nothing about what this key signed
            if opened.checkpoint.size <= size:
                signed_size, signed_root = opened.checkpoint.size, opened.checkpoint.root_hash
                break
        # The tiles below the last signed head (what every proof is served from) must
        # still lead to its root: O(log n) rows. The entries themselves are recomputed
        # against the tiles by `ledger verify`.
        try:
            below = TiledTree(signed_size, _tile_reader(conn))
            frontier = below.compact_range()
            still_signed = below.root() == signed_root
        except (TileError, ValueError):
            still_signed = False
        if not still_signed:
            raise StoreError(
                f"the leaves below the last signed head (size {signed_size}) no longer hash "
                "to it; refusing to sign. Run `ftigate ledger verify`"
            )
        walk = SealWalk(log_key, start=signed_size)
        # The leaves since are read from the driver's cursor a chunk at a time, and the runs
        # between seals go to the walk's range and the frontier in bulk: a batch appends
        # hundreds of thousands of leaves before its first checkpoint.
        expected = frontier.size
        statement = (
            "SELECT leaf_index, kind, entry FROM ledger_leaves WHERE leaf_index >= ? ORDER BY leaf_index"
        )
        for rows in stream(conn, statement, (signed_size,)):
            digests: list[bytes] = []
            run_start = 0
            for index, kind, entry in rows:
                if index != expected:
                    raise UnsealedLeaves(f"leaf {expected} is missing; refusing to sign")
                expected += 1
                data = _entry_bytes(entry, index)
                digests.append(leaf_hash(data))
                if kind == SEAL_KIND:
                    walk.add_run(digests[run_start:-1], index)
                    walk.add(index, kind, digests[-1], functools.partial(decode_event, data))
                    run_start = len(digests)
            walk.add_run(digests[run_start:], expected)
            frontier.extend(digests)
        first = walk.first_unsealed()
        if first is not None:
            why = (
                walk.problems[0].message
                if walk.problems and walk.problems[0].first_leaf == first
                else "no seal follows it: it was not appended with the log key"
            )
            raise UnsealedLeaves(f"refusing to sign: leaf {first} is not covered by a valid seal ({why})")
        return frontier.size, frontier.root()

    def signed_checkpoints(self) -> list[tuple[int, str]]:
        """(row id, checkpoint text) of every stored signed tree head, oldest first."""
        with self.snapshot() as conn:
            rows = conn.execute(
                select(SignedTreeHead.id, SignedTreeHead.checkpoint).order_by(SignedTreeHead.id)
            )
            return [(r[0], r[1]) for r in rows]

    def latest_checkpoint(self) -> str | None:
        with self.snapshot() as conn:
            row = conn.execute(
                select(SignedTreeHead.checkpoint).order_by(SignedTreeHead.id.desc()).limit(1)
            ).first()
            return row[0] if row else None

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction that sees one consistent state of the store.

        SQLite: a deferred BEGIN (no write lock, so appenders are not blocked
        during a long read; WAL gives the snapshot). PostgreSQL: REPEATABLE READ."""
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect() as conn:
            conn = conn.execution_options(**options)
            with conn.begin():
                yield conn

    def leaves(self, kind: str | None = None, conn: Connection | None = None) -> Iterator[StoredLeaf]:
        """Every stored leaf (or every leaf of one kind) in index order, streamed."""
        query = select(
            LedgerLeaf.leaf_index,
            LedgerLeaf.event_id,
            LedgerLeaf.kind,
            LedgerLeaf.entry,
            LedgerLeaf.leaf_hash,
        ).order_by(LedgerLeaf.leaf_index)
        if kind is not None:
            query = query.where(_of_kinds([kind]))
        if conn is None:
            with self.snapshot() as own:
                yield from self.leaves(kind, own)
            return
        result = conn.execution_options(yield_per=50_000).execute(query)
        for row in result:
            yield _stored_leaf(row)

    def pins(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(leaf index, kind, event) of the leaves that pin keys: ``ledger_opened`` and
        every ``batch_received``."""
        kinds = (LedgerOpened.kind, BatchReceived.kind)
        with self.snapshot() as conn:
            rows = conn.execute(
                select(LedgerLeaf.leaf_index, LedgerLeaf.kind, LedgerLeaf.entry)
                .where(_of_kinds(kinds))
                .order_by(LedgerLeaf.leaf_index)
            )
            found = []
            for index, kind, entry in rows:
                event = decode_event(_entry_bytes(entry, index))
                found.append((index, kind, event if isinstance(event, dict) else {}))
            return found

    def entries_of_kinds(self, kinds: Iterable[str]) -> list[bytes]:
        """The entries of some kinds (e.g. a batch's lifecycle), in index order."""
        with self.snapshot() as conn:
            rows = conn.execute(
                select(LedgerLeaf.entry)
                .where(_of_kinds(kinds))
                .order_by(LedgerLeaf.leaf_index)
            )
            return [bytes(r[0]) for r in rows]

    def last_of_kind(self, kind: str) -> tuple[int, dict[str, Any]] | None:
        """(leaf index, event) of the last leaf of a rare kind (e.g. the previous batch's
        `batch_received`), read through the partial index; None if the log holds none."""
        with self.snapshot() as conn:
            return _last_of_kind(conn, kind)

    def batch_leaves(self, batch_id: str, kinds: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
        """(leaf index, event) of a batch's leaves of some rare kinds, in index order."""
        found = []
        with self.snapshot() as conn:
            rows = conn.execute(
                select(LedgerLeaf.leaf_index, LedgerLeaf.entry)
                .where(_of_kinds(kinds))
                .order_by(LedgerLeaf.leaf_index)
            )
            for index, entry in rows:
                event = decode_event(_entry_bytes(entry, index))
                if isinstance(event, dict) and event.get("batch_id") == batch_id:
                    found.append((int(index), event))
        return found

    def committed_items(self, table: str, batch_id: str, event_id: str) -> list[Item]:
        """The items a batch's ``batch_screened`` (table ``screening_results``) or
        ``batch_decided`` (``decisions``) event commits to, as stored, in the order they
        were written (``ledger verify`` checks them against its root)."""
        items = []
        with self.snapshot() as conn:
            found = self._commitment(conn, batch_id, event_id)
            if found is None:
                return []
            texts = Texts(conn)
            item_table = ITEM_TABLES[found.kind]
            for row in read_rows(conn, item_table, found.first_item, found.first_item + found.items - 1):
                item = row_item(found.kind, batch_id, row, texts)
                if item is None:
                    raise StoreError(
                        f"a stored row of {table} of batch {batch_id} is not readable "
                        "(altered outside the ledger); run `ftigate ledger verify`"
                    )
                items.append(item)
        return items

    def item_proof(self, batch_id: str, event_id: str, request_id: str) -> ItemProof | None:
        """A record's item and its audit path under its batch's committing leaf, read in
        O(log n) rows (:func:`ftigate.store.items.item_proof`); None if the commitment or
        the request is not stored."""
        with self.snapshot() as conn:
            found = self._commitment(conn, batch_id, event_id)
            if found is None:
                return None
            try:
                return item_proof(conn, found, request_id)
            except ValueError:
                raise StoreError(
                    f"a stored row of batch {batch_id} is not readable (altered outside the "
                    "ledger); run `ftigate ledger verify`"
                ) from None

    def _commitment(self, conn: Connection, batch_id: str, event_id: str) -> Any:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        found = commitments(conn, f"WHERE event_id = {mark} AND batch_id = {mark}", (event_id, batch_id))
        return found[0] if found else None

    def hash_tree(self) -> TiledTree:
        """The tree at the head's size, read from the stored tiles as proofs need them:
        O(log n) rows per root or proof (as stored: ``verify`` recomputes them).

        Each tile is read in a snapshot of its own; that is safe because a tile's stored
        prefix never changes once written, so later appends cannot alter what a tree of
        this size reads."""
        size = self.latest_tree_head().size

        def read(level: int, index: int) -> bytes | None:
            with self.snapshot() as conn:
                return _tile_reader(conn)(level, index)

        return TiledTree(size, read)

    def leaf_by_event_id(self, event_id: str) -> StoredLeaf | None:
        with self.snapshot() as conn:
            row = conn.execute(
                select(
                    LedgerLeaf.leaf_index,
                    LedgerLeaf.event_id,
                    LedgerLeaf.kind,
                    LedgerLeaf.entry,
                    LedgerLeaf.leaf_hash,
                ).where(LedgerLeaf.event_id == event_id)
            ).first()
            if row is None:
                return None
            return _stored_leaf(row)

    def verify(
        self,
        log_key: Verifier,
        outside_checkpoint: str | None = None,
        witness_key: Verifier | None = None,
        *,
        pending: bool = False,
        parallel: bool | None = None,
    ) -> VerifyReport:
        """Recompute the whole log and check it (see :mod:`ftigate.ledger.verify`), then
        rebuild the rows the reports read from its events and compare them with the
        tables (see :mod:`ftigate.ledger.projection`).

        Head, signed heads, leaves and tables are read in one snapshot, so an append
        running meanwhile cannot look like tampering. The committed items are rehashed
        in a second process meanwhile (:mod:`ftigate.store.rehash`) where there are many
        (``parallel`` None), always (True: tests) or never (False)."""
        expected = ExpectedProjection()
        text_rows: list[int] = []

        def collect(index: int, event: dict[str, Any]) -> None:
            # Only the kinds that have rows are rebuilt as events (most leaves of a batch,
            # its inspections, have none). An unreadable event is not projected; the leaf
            # checks report it.
            kind = event.get("kind")
            if kind == Disclosure.kind and expected.add_disclosure_entry(index, event):
                return
            if kind in PROJECTED_KINDS:
                with contextlib.suppress(EntryError):
                    expected.add(index, event_from_entry(event))

        with self.snapshot() as conn, contextlib.ExitStack() as helpers:
            head = conn.execute(
                select(LedgerHead.size, LedgerHead.root_hash).where(LedgerHead.id == HEAD_ID)
            ).one()
            items = None if parallel is False else ItemsRehash.start(conn, force=bool(parallel))
            if items is not None:
                helpers.callback(items.close)
            signed = [
                (f"#{row[0]}", row[1])
                for row in conn.execute(
                    select(SignedTreeHead.id, SignedTreeHead.checkpoint).order_by(SignedTreeHead.id)
                )
            ]
            report = verify_log(
                self._leaf_rows(conn, text_rows),
                head.size,
                bytes(head.root_hash),
                signed,
                log_key,
                outside_checkpoint,
                witness_key,
                pending=pending,
                on_event=collect,
            )
            for index in text_rows[:1]:
                report.findings.append(
                    Finding(
                        f"leaf {index} is stored as text, not bytes: it was rewritten outside "
                        f"the ledger ({len(text_rows)} such leaf/leaves)",
                        index,
                    )
                )
            for table, wanted in expected.rows.items():
                columns = TABLE_COLUMNS[table]
                statement = f"SELECT {', '.join(columns)} FROM {physical(table)}"
                stored = (r for rows in stream(conn, statement) for r in rows)
                report.findings.extend(
                    Finding(str(f), f.leaf_index) for f in compare_table(table, wanted, stored)
                )
            logged = {
                event_id: (expected.commitment_leaves[event_id], event)
                for event_id, event in expected.commitments.items()
            }
            rehashed = None if items is None else items.result((head.size, bytes(head.root_hash)))
            report.findings.extend(
                Finding(message, leaf) for _, leaf, message in check_items(conn, logged, rehashed)
            )
            if report.tree is not None:
                stored_tiles = conn.execute(
                    select(MerkleTile.level, MerkleTile.idx, MerkleTile.hashes)
                    .order_by(MerkleTile.level, MerkleTile.idx)
                    .execution_options(yield_per=1000)
                )
                report.findings.extend(
                    Finding(message)
                    for message in compare_tiles(report.tree, ((r[0], r[1], r[2]) for r in stored_tiles))
                )
            batches = conn.execute(select(Batch.id, Batch.requesting_agency, Batch.file_digests)).mappings()
            report.findings.extend(
                Finding(str(f), f.leaf_index) for f in compare_batches(expected.batches, batches)
            )
        return report

    def _leaf_rows(self, conn: Connection, text_rows: list[int]) -> Iterator[LeafRow]:
        statement = "SELECT leaf_index, event_id, entry, leaf_hash FROM ledger_leaves ORDER BY leaf_index"
        for rows in stream(conn, statement):
            for index, event_id, entry, digest in rows:
                if isinstance(entry, str):
                    text_rows.append(index)
                    entry = entry.encode("utf-8")
                if isinstance(digest, str):
                    text_rows.append(index)
                    digest = digest.encode("utf-8")
                yield LeafRow(index, str(event_id), bytes(entry), bytes(digest))

    def disclosures_for(self, taxpayer_pseudonym: str) -> list[dict[str, Any]]:
        with self.snapshot() as conn:
            rows = conn.execute(
                select(DisclosureRow.__table__)
                .where(DisclosureRow.taxpayer_pseudonym == taxpayer_pseudonym)
                .order_by(DisclosureRow.id)
            ).mappings()
            return [dict(r) for r in rows]

    def disclosures(self) -> list[dict[str, Any]]:
        with self.snapshot() as conn:
            rows = conn.execute(select(DisclosureRow.__table__).order_by(DisclosureRow.id))
            return [dict(r) for r in rows.mappings()]


_LEAF_COLUMNS = ("leaf_index", "event_id", "kind", "entry", "leaf_hash")


def _batches_query(files_key: str | None) -> Any:
    """Every batch (or every batch of one letter and request file), oldest first."""
    query = select(
        Batch.id, Batch.created_at, Batch.requesting_agency, Batch.letter_json,
        Batch.status, Batch.supersedes, Batch.files_key,
    ).order_by(Batch.created_at, Batch.id)  # fmt: skip
    return query if files_key is None else query.where(Batch.files_key == files_key)


def _last_of_kind(conn: Connection, kind: str) -> tuple[int, dict[str, Any]] | None:
    row = conn.execute(
        select(LedgerLeaf.leaf_index, LedgerLeaf.entry)
        .where(_of_kinds([kind]))
        .order_by(LedgerLeaf.leaf_index.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    event = decode_event(_entry_bytes(row[1], row[0]))
    return int(row[0]), event if isinstance(event, dict) else {}


def _of_kinds(kinds: Iterable[str]) -> ColumnElement[bool]:
    """WHERE the leaf is of one of these kinds, written so that the partial index of rare
    kinds serves it: the index's own terms repeated, with the kinds as literals (SQLite
    uses a partial index only for a query whose WHERE holds its terms, and a bound
    parameter is not known when the query is planned). Only the names of event kinds,
    which are the program's own, are ever written into the SQL."""
    wanted = sorted(set(kinds))
    unknown = [kind for kind in wanted if kind not in EVENT_TYPES]
    if unknown:
        raise StoreError(f"no ledger event kind {unknown[0]!r}")
    named = LedgerLeaf.kind.in_([literal_column(f"'{kind}'") for kind in wanted])
    if any(kind in BULK_KINDS for kind in wanted):
        return named
    return and_(sql_text(RARE_KINDS_WHERE), named)


def _tile_reader(conn: Connection) -> TileReader:
    def read(level: int, index: int) -> bytes | None:
        row = conn.execute(
            select(MerkleTile.hashes).where(MerkleTile.level == level, MerkleTile.idx == index)
        ).first()
        if row is None or not isinstance(row[0], bytes | bytearray | memoryview):
            return None
        return bytes(row[0])

    return read


def _upsert_tiles(conn: Connection, rows: list[TileRow]) -> None:
    """Write each changed tile whole over its row (a partial tile grows in place)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO merkle_tiles (level, idx, hashes) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
        rows,
    )


def text_select(name: str, columns: tuple[str, ...]) -> Any:
    """SELECT of a projection table by its (constant) column names."""
    return select(*(column(c) for c in columns)).select_from(sql_table(name))


def _entry_bytes(value: Any, index: int) -> bytes:
    """A stored entry or hash as bytes; a value of another type (a row rewritten as TEXT)
    is refused by leaf, not crashed on (``verify`` reports it as a finding instead)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise StoreError(f"leaf {index} is not stored as bytes (it was rewritten outside the ledger)")


def _stored_leaf(row: Any) -> StoredLeaf:
    index = row[0]
    return StoredLeaf(index, row[1], row[2], _entry_bytes(row[3], index), _entry_bytes(row[4], index))


def _sha256_hex(data: bytes) -> str:
    return sha256(data).hexdigest()


def decode_entry(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise StoreError("a ledger entry is not a JSON object")
    return value


__all__ = [
    "AppendResult",
    "Store",
    "StoreError",
    "StoredLeaf",
    "TreeHead",
    "UnsealedLeaves",
    "decode_entry",
    "leaf_entry",
]
