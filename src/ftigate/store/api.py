"""The store the pipeline stages call: batches, requests, ledger events, tree heads.

Typical use by the ``process`` stage::

    store = Store.open(db_url)                # runs migrations up
    batch_id = store.create_batch(letter=letter, file_digests=digests,
                                  requesting_agency="ICE")
    store.add_requests(batch_id, [(row["request_id"], row) for row in rows])
    store.append_events([BatchReceived(...), RecordScreened(...), ...,
                         Decision(...), Disclosure(...), ResponseSent(...)])
    store.sign_checkpoint(load_signer())

``append_events`` writes, in one transaction, the ledger leaves and the rows
the events describe (screening results, decisions, reviews, disclosures), so
the relational records and the tamper-evident log can never disagree about
what happened.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from itertools import islice
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ftigate.ledger.canonical import canonical_json
from ftigate.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    Signer,
    Verifier,
    sign_checkpoint,
)
from ftigate.ledger.events import (
    BatchAbandoned,
    BatchSuperseded,
    BatchVoided,
    Decision,
    Disclosure,
    InspectionStarted,
    LedgerEvent,
    RecordScreened,
    ResponseReleased,
    ResponseSent,
    ReviewAction,
)
from ftigate.ledger.merkle import CompactRange, HashTree, leaf_hash
from ftigate.ledger.verify import LeafRow, VerifyReport, verify_log
from ftigate.store.db import READ_ONLY_OPTION, make_engine, migrate, resolve_url
from ftigate.store.models import (
    Batch,
    BatchEventRow,
    DisclosureRow,
    LedgerHead,
    LedgerLeaf,
    Request,
    Role,
    SignedTreeHead,
    User,
    UserRole,
)

APPEND_CHUNK = 20_000
HEAD_ID = 1

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


class StoreError(Exception):
    """A store operation was refused (the message never carries taxpayer data)."""


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


def _chunks(items: Iterable[LedgerEvent], size: int) -> Iterator[list[LedgerEvent]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, run_migrations: bool = True) -> Store:
        engine = make_engine(resolve_url(url))
        if run_migrations:
            migrate(engine)
        return cls(engine)

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
        row = {
            "id": new_id,
            "created_at": datetime.now(UTC),
            "requesting_agency": requesting_agency,
            "letter_json": dict(letter),
            "letter_digest": _sha256_hex(canonical_json(dict(letter))),
            "file_digests": dict(file_digests),
            "status": status,
            "supersedes": supersedes,
            "files_key": files_key,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(Batch), [row])
        except IntegrityError:
            raise StoreError(
                f"batch {new_id} already exists (or supersedes an unknown batch); "
                "re-processing makes a new batch"
            ) from None
        return new_id

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
        query = select(
            Batch.id, Batch.created_at, Batch.requesting_agency, Batch.letter_json,
            Batch.status, Batch.supersedes, Batch.files_key,
        ).order_by(Batch.created_at, Batch.id)  # fmt: skip
        if files_key is not None:
            query = query.where(Batch.files_key == files_key)
        with self.snapshot() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def batch_events(self, batch_id: str | None = None) -> list[dict[str, Any]]:
        """Lifecycle events (response sent and released, abandoned, voided, superseded) of
        one batch or of all, in the order they were appended."""
        query = select(BatchEventRow.__table__).order_by(BatchEventRow.id)
        if batch_id is not None:
            query = query.where(BatchEventRow.batch_id == batch_id)
        with self.snapshot() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def add_requests(self, batch_id: str, records: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        rows = [
            {"batch_id": batch_id, "request_id": rid, "record_json": dict(rec)}
            for rid, rec in records
        ]
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

    def append_events(self, events: Iterable[LedgerEvent]) -> AppendResult:
        """Append events to the log in one transaction, with their projections.

        The head row is locked first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
        on SQLite), so concurrent appenders serialise and the log stays one
        sequence. The tree is updated from the stored frontier: old leaves are
        never read.
        """
        try:
            with self.engine.begin() as conn:
                head = self._lock_head(conn)
                frontier = CompactRange.from_bytes(head.size, bytes(head.frontier))
                prev = bytes(head.last_leaf_hash) if head.last_leaf_hash is not None else None
                first_index = head.size
                event_ids: list[str] = []
                for chunk in _chunks(events, APPEND_CHUNK):
                    leaves: list[tuple[int, str, str, bytes, bytes]] = []
                    for event in chunk:
                        index = frontier.size
                        data = leaf_entry(event.canonical(), index, prev)
                        digest = leaf_hash(data)
                        leaves.append((index, event.event_id, event.kind, data, digest))
                        frontier.append(digest)
                        prev = digest
                        event_ids.append(event.event_id)
                    _insert_rows(conn, "ledger_leaves", _LEAF_COLUMNS, leaves)
                    self._project(conn, chunk)
                if not event_ids:
                    return AppendResult(head.size, head.size, bytes(head.root_hash), ())
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
        except IntegrityError as error:
            raise StoreError(
                "append refused by the database (an event id already recorded, "
                f"or a batch that does not exist): {type(error.orig).__name__}"
            ) from None
        return AppendResult(first_index, frontier.size, root, tuple(event_ids))

    def _lock_head(self, conn: Connection) -> Row[Any]:
        row = conn.execute(
            select(LedgerHead.__table__).where(LedgerHead.id == HEAD_ID).with_for_update()
        ).one_or_none()
        if row is None:
            raise StoreError("the ledger head row is missing: the database was tampered with")
        return row

    def _project(self, conn: Connection, events: list[LedgerEvent]) -> None:
        """Rows of the typed tables for the events that describe one (same transaction)."""
        screened, decisions, reviews, disclosures = [], [], [], []
        lifecycle: list[tuple[Any, ...]] = []
        status: dict[str, str] = {}
        for event in events:
            batch_status = LIFECYCLE_STATUS.get(event.kind)
            if batch_status is not None:
                status[event.__dict__["batch_id"]] = batch_status
                if not isinstance(event, InspectionStarted):
                    lifecycle.append(_lifecycle_row(event))
            if isinstance(event, RecordScreened):
                screened.append(
                    (
                        event.batch_id,
                        event.request_id,
                        event.outcome,
                        _json(event.reasons),
                        _json(event.rules),
                        event.event_id,
                    )
                )
            elif isinstance(event, Decision):
                decisions.append(
                    (
                        event.batch_id,
                        event.request_id,
                        event.decision,
                        _json(event.reasons),
                        event.match_probability,
                        event.taxpayer,
                        event.model_digest,
                        event.event_id,
                    )
                )
            elif isinstance(event, ReviewAction):
                reviews.append(
                    (
                        event.batch_id,
                        event.request_id,
                        event.reviewer,
                        event.action,
                        event.decision,
                        _json(event.reasons),
                        event.at,
                        event.event_id,
                    )
                )
            elif isinstance(event, Disclosure):
                disclosures.append(
                    (
                        event.batch_id,
                        event.request_id,
                        event.taxpayer,
                        event.date,
                        event.recipient_agency,
                        event.authority,
                        event.purpose,
                        _json(event.disclosed),
                        event.content_digest,
                        event.event_id,
                    )
                )
        _insert_rows(conn, "screening_results", _SCREENING_COLUMNS, screened)
        _insert_rows(conn, "decisions", _DECISION_COLUMNS, decisions)
        _insert_rows(conn, "reviews", _REVIEW_COLUMNS, reviews)
        _insert_rows(conn, "disclosures", _DISCLOSURE_COLUMNS, disclosures)
        _insert_rows(conn, "batch_events", _BATCH_EVENT_COLUMNS, lifecycle)
        for batch_id, batch_status in status.items():
            conn.execute(update(Batch).where(Batch.id == batch_id).values(status=batch_status))

    def latest_tree_head(self) -> TreeHead:
        with self.snapshot() as conn:
            head = conn.execute(
                select(LedgerHead.size, LedgerHead.root_hash).where(LedgerHead.id == HEAD_ID)
            ).one()
            return TreeHead(head.size, bytes(head.root_hash))

    def sign_checkpoint(
        self, signer: Signer, extensions: tuple[str, ...] = ()
    ) -> SignedCheckpoint:
        """Sign the current head (origin = the signer's key name) and keep it."""
        with self.engine.begin() as conn:
            head = self._lock_head(conn)
            signed = sign_checkpoint(
                Checkpoint(signer.name, head.size, bytes(head.root_hash), extensions), signer
            )
            conn.execute(
                insert(SignedTreeHead),
                [
                    {
                        "size": head.size,
                        "root_hash": head.root_hash,
                        "checkpoint": signed.serialize(),
                        "created_at": datetime.now(UTC),
                    }
                ],
            )
        return signed

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

    def leaves(
        self, kind: str | None = None, conn: Connection | None = None
    ) -> Iterator[StoredLeaf]:
        """Every stored leaf (or every leaf of one kind) in index order, streamed."""
        query = select(
            LedgerLeaf.leaf_index,
            LedgerLeaf.event_id,
            LedgerLeaf.kind,
            LedgerLeaf.entry,
            LedgerLeaf.leaf_hash,
        ).order_by(LedgerLeaf.leaf_index)
        if kind is not None:
            query = query.where(LedgerLeaf.kind == kind)
        if conn is None:
            with self.snapshot() as own:
                yield from self.leaves(kind, own)
            return
        result = conn.execution_options(yield_per=50_000).execute(query)
        for row in result:
            yield StoredLeaf(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))

    def entries_of_kinds(self, kinds: Iterable[str]) -> list[bytes]:
        """The entries of some kinds (e.g. a batch's lifecycle), in index order."""
        with self.snapshot() as conn:
            rows = conn.execute(
                select(LedgerLeaf.entry)
                .where(LedgerLeaf.kind.in_(list(kinds)))
                .order_by(LedgerLeaf.leaf_index)
            )
            return [bytes(r[0]) for r in rows]

    def hash_tree(self) -> HashTree:
        """The tree over the stored leaf hashes (as stored: ``verify`` recomputes them)."""
        with self.snapshot() as conn:
            result = conn.execute(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.leaf_index))
            return HashTree(bytes(r[0]) for r in result)

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
            return StoredLeaf(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))

    def verify(
        self,
        log_key: Verifier,
        outside_checkpoint: str | None = None,
        witness_key: Verifier | None = None,
    ) -> VerifyReport:
        """Recompute the whole log and check it (see :mod:`ftigate.ledger.verify`).

        Head, signed heads and leaves are read in one snapshot, so an append
        running meanwhile cannot look like tampering."""
        with self.snapshot() as conn:
            head = conn.execute(
                select(LedgerHead.size, LedgerHead.root_hash).where(LedgerHead.id == HEAD_ID)
            ).one()
            signed = [
                (f"#{row[0]}", row[1])
                for row in conn.execute(
                    select(SignedTreeHead.id, SignedTreeHead.checkpoint).order_by(
                        SignedTreeHead.id
                    )
                )
            ]
            rows = (
                LeafRow(leaf.leaf_index, leaf.event_id, leaf.entry, leaf.leaf_hash)
                for leaf in self.leaves(conn=conn)
            )
            return verify_log(
                rows,
                head.size,
                bytes(head.root_hash),
                signed,
                log_key,
                outside_checkpoint,
                witness_key,
            )

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
_SCREENING_COLUMNS = ("batch_id", "request_id", "outcome", "reasons", "rules", "event_id")
_DECISION_COLUMNS = (
    "batch_id",
    "request_id",
    "decision",
    "reasons",
    "match_probability",
    "taxpayer_pseudonym",
    "model_digest",
    "event_id",
)
_REVIEW_COLUMNS = (
    "batch_id",
    "request_id",
    "reviewer",
    "action",
    "decision",
    "reasons",
    "at",
    "event_id",
)
_DISCLOSURE_COLUMNS = (
    "batch_id",
    "request_id",
    "taxpayer_pseudonym",
    "date",
    "recipient_agency",
    "authority",
    "purpose",
    "disclosed",
    "content_digest",
    "event_id",
)


_BATCH_EVENT_COLUMNS = ("batch_id", "kind", "at", "reason", "detail", "event_id")


def _lifecycle_row(event: LedgerEvent) -> tuple[Any, ...]:
    fields = event.__dict__
    detail = fields.get("superseded_by") or fields.get("response_digest")
    return (fields["batch_id"], event.kind, event.at, fields.get("reason"), detail, event.event_id)


@functools.lru_cache(maxsize=4096)
def _json(values: tuple[str, ...]) -> str:
    """JSON text of a list of codes (reason and rule codes repeat: cached)."""
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def _insert_rows(
    conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """executemany straight to the driver. The ORM's per-row parameter processing
    cost more than hashing and canonicalising together; these values are plain
    str, int, bytes or JSON text, which both SQLite and psycopg take as they are.
    Table and column names are the program's own constants, never input."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})",
        rows,
    )


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
    "decode_entry",
    "leaf_entry",
]
