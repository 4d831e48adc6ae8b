"""Tables of the transactional store (SQLAlchemy 2 typed models).

The schema itself is created by the Alembic migrations in
``ftigate/store/migrations`` (never by ``create_all``), so a deployed database
and a test database go through the same steps. A test checks that the models
and the migrated schema agree.

Nothing here holds a clear TIN except ``requests.record_json`` (the request
as the requester sent it, needed by the later stages and by auditors); every
table written from ledger events uses the taxpayer pseudonym.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid alias.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
# The same for keys the store numbers itself (leaf index, item id): as the rowid the rows
# are stored in key order with no second B-tree of the key beside them (revision 0008).
RowKey = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Role(Base):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(default=True)
    # Signing in to `ftigate serve` (revision 0004): Argon2id hash, never the password.
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    agency: Mapped[str | None] = mapped_column(String(200), default=None)  # a requester's agency
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"), primary_key=True)


class Batch(Base):
    """One processing of a letter and its request file; never overwritten."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requesting_agency: Mapped[str] = mapped_column(String(200))
    letter_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SHA-256 of the letter's RFC 8785 canonical JSON (as parsed); the letter *file's*
    # SHA-256 is in file_digests and the ledger's batch_received.letter_digest.
    letter_canonical_sha256: Mapped[str] = mapped_column(String(64))
    file_digests: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32))
    # Re-processing a letter makes a new batch that names the one it replaces.
    supersedes: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), default=None)
    # SHA-256 over the letter's and the request file's digests: finds earlier batches of
    # the same files (a rerun resumes, or is refused, never makes a second copy).
    files_key: Mapped[str | None] = mapped_column(String(64), index=True, default=None)


class BatchEventRow(Base):
    """A lifecycle event of a batch (projected from its ledger leaf, same transaction)."""

    __tablename__ = "batch_events"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # abandoned, voided, superseded
    # the superseding batch (superseded) or the response's SHA-256 (sent, released)
    detail: Mapped[str | None] = mapped_column(String(64), default=None)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)


class Request(Base):
    __tablename__ = "requests"
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    record_json: Mapped[dict[str, Any]] = mapped_column(JSON)


class LeafScreeningRow(Base):
    """A screening result recorded as its own ``record_screened`` leaf (batches recorded
    before ``batch_screened``; read through the ``screening_results`` view)."""

    __tablename__ = "record_screened_rows"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    rules: Mapped[list[Any]] = mapped_column(JSON)
    event_id: Mapped[str] = mapped_column(String(32))


class LeafDecisionRow(Base):
    """A decision recorded as its own ``decision`` leaf (batches recorded before
    ``batch_decided``; read through the ``decisions`` view)."""

    __tablename__ = "decision_rows"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    match_probability: Mapped[str | None] = mapped_column(String(32))
    taxpayer_pseudonym: Mapped[str | None] = mapped_column(String(64))
    model_digest: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(32))


class LedgerCode(Base):
    """A value committed items repeat (an outcome, a decision, a reason or rule list as
    JSON text, a model digest), stored once; item rows hold its id."""

    __tablename__ = "ledger_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[str] = mapped_column(Text, unique=True)


class CommitmentRow(Base):
    """A ``batch_screened`` / ``batch_decided`` leaf and the run of item rows its root is
    over: ids ``first_item`` to ``first_item + items - 1`` of its kind's item table."""

    __tablename__ = "commitments"
    leaf_index: Mapped[int] = mapped_column(RowKey, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(32))
    first_item: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[int] = mapped_column(BigInteger)


class ScreeningItemRow(Base):
    """One committed screening item (see :mod:`ftigate.store.items`); codes of ``ledger_codes``."""

    __tablename__ = "screening_items"
    id: Mapped[int] = mapped_column(RowKey, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    outcome: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[int] = mapped_column(Integer)
    rules: Mapped[int] = mapped_column(Integer)


class DecisionItemRow(Base):
    """One committed decision item; the pseudonym as its 32 bytes."""

    __tablename__ = "decision_items"
    id: Mapped[int] = mapped_column(RowKey, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    decision: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[int] = mapped_column(Integer)
    match_probability: Mapped[str | None] = mapped_column(String(32))
    taxpayer: Mapped[bytes | None] = mapped_column(LargeBinary)
    model_digest: Mapped[int | None] = mapped_column(Integer)


class ItemTile(Base):
    """A tile of a commitment's item tree (levels 1 up; see :mod:`ftigate.ledger.tiles`)."""

    __tablename__ = "item_tiles"
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class ViewBase(DeclarativeBase):
    """The views of revision 0006: read-only, and not tables (kept out of ``Base.metadata``,
    which the schema test compares with the migrated tables)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class ScreeningResult(ViewBase):
    """Every screening result, per-leaf or committed (the view ``screening_results``)."""

    __tablename__ = "screening_results"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    rules: Mapped[list[Any]] = mapped_column(JSON)
    event_id: Mapped[str] = mapped_column(String(32))


class DecisionRow(ViewBase):
    """Every decision, per-leaf or committed (the view ``decisions``); ids of the two kinds
    are numbered apart, so order by id only within a batch."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    match_probability: Mapped[str | None] = mapped_column(String(32))
    taxpayer_pseudonym: Mapped[str | None] = mapped_column(String(64))
    model_digest: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(32))


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    reviewer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    at: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(32))


class DisclosureRow(Base):
    """Form 5466-B fields; ``event_id`` points at the ledger entry that proves it."""

    __tablename__ = "disclosures"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    taxpayer_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    date: Mapped[str] = mapped_column(String(10))
    recipient_agency: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    disclosed: Mapped[list[Any]] = mapped_column(JSON)
    content_digest: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(32), unique=True)


# Kinds recorded once per request (record_screened and decision only by batches recorded
# before batch_screened / batch_decided); every other kind is rare (per batch, per append,
# per disclosure). The partial index over the rare ones lets the accounting, the pins
# and a batch's lifecycle be read without scanning the bulk of the log.
BULK_KINDS = ("record_screened", "records_inspected", "decision")
RARE_KINDS_WHERE = " AND ".join(f"kind != '{kind}'" for kind in BULK_KINDS)


class LedgerLeaf(Base):
    __tablename__ = "ledger_leaves"
    __table_args__ = (
        Index(
            "ix_ledger_leaves_rare_kinds",
            "leaf_index",
            sqlite_where=text(RARE_KINDS_WHERE),
            postgresql_where=text(RARE_KINDS_WHERE),
        ),
    )
    leaf_index: Mapped[int] = mapped_column(RowKey, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)


HEAD_ID = 1
"""the id of the one `ledger_head` row"""


class LedgerHead(Base):
    """The single row (`HEAD_ID`) every append locks: size, root and right frontier."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    last_leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignedTreeHead(Base):
    __tablename__ = "signed_tree_heads"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServiceSession(Base):
    """A signed-in staff session of `ftigate serve`, by the SHA-256 of its cookie secret."""

    __tablename__ = "service_sessions"
    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AgencyToken(Base):
    """An API token of a requesting agency, by the SHA-256 of its secret."""

    __tablename__ = "agency_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Job(Base):
    """A submitted letter and request file, processed by a worker outside the request."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    files_key: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str] = mapped_column(String(200))
    submitted_by: Mapped[str] = mapped_column(String(64))
    letter_name: Mapped[str] = mapped_column(String(64))
    requests_name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    progress: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MerkleTile(Base):
    """One C2SP tlog-tile: the hashes of tree height 8 * level, indices idx * 256 onwards
    (see :mod:`ftigate.ledger.tiles`); written in the transaction that appends the leaves."""

    __tablename__ = "merkle_tiles"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
