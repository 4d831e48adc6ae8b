"""Ledger tiles: the tree's interior nodes stored as C2SP tlog-tiles.

`merkle_tiles(level, idx, hashes)` holds tile `level/idx` (256 hashes of tree height
8 * level; the right-edge tile of each level partial), written by every append in the
transaction of its leaves, so `ledger prove`, consistency proofs, checkpoints and
accounting read O(log n) rows instead of every leaf hash. An existing log gets its
tiles here, built from the stored leaf hashes in index order.

`ix_ledger_leaves_rare_kinds` indexes only the leaves of kinds other than the three a
batch records per request (screening result, inspection, decision): disclosures,
batches, seals and lifecycle events are then found without scanning the log.

A leaf hash that is not 32 bytes (a row rewritten outside the ledger) stops the
backfill at that leaf: the tiles then cover fewer leaves than the log, proofs beyond
them are refused, and `ftigate ledger verify` names the damaged leaf and tiles.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from ftigate.ledger.merkle import HASH_SIZE
from ftigate.ledger.tiles import tiles_of

# The migration's own copy: a later change to the models must not change what 0003 did.
RARE_KINDS_WHERE = "kind != 'record_screened' AND kind != 'records_inspected' AND kind != 'decision'"

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TILES = sa.table(
    "merkle_tiles",
    sa.column("level", sa.Integer()),
    sa.column("idx", sa.BigInteger()),
    sa.column("hashes", sa.LargeBinary()),
)
BACKFILL_ROWS = 1000


def upgrade() -> None:
    op.create_table(
        "merkle_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_tiles")),
    )
    op.create_index(
        "ix_ledger_leaves_rare_kinds",
        "ledger_leaves",
        ["leaf_index"],
        sqlite_where=sa.text(RARE_KINDS_WHERE),
        postgresql_where=sa.text(RARE_KINDS_WHERE),
    )
    bind = op.get_bind()
    batch: list[dict[str, object]] = []
    for level, index, hashes in tiles_of(_stored_leaf_hashes(bind)):
        batch.append({"level": level, "idx": index, "hashes": hashes})
        if len(batch) >= BACKFILL_ROWS:
            bind.execute(sa.insert(TILES), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(TILES), batch)


def _stored_leaf_hashes(bind: sa.Connection) -> Iterator[bytes]:
    rows = bind.execute(sa.text("SELECT leaf_index, leaf_hash FROM ledger_leaves ORDER BY leaf_index"))
    for expected, (index, digest) in enumerate(rows):
        if index != expected or not isinstance(digest, bytes | memoryview) or len(digest) != HASH_SIZE:
            return
        yield bytes(digest)


def downgrade() -> None:
    op.drop_index("ix_ledger_leaves_rare_kinds", table_name="ledger_leaves")
    op.drop_table("merkle_tiles")
