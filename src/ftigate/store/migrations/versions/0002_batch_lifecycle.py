"""Batch lifecycle: which files a batch is of, and its lifecycle events as rows.

`batches.files_key` (SHA-256 over the letter's and the request file's digests) finds
an earlier batch of the same files; `batch_events` projects the lifecycle events of the
log (inspection started, response sent and released, abandoned, voided, superseded), in
the same transaction as their leaves.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("files_key", sa.String(64), nullable=True))
        batch.create_index(op.f("ix_batches_files_key"), ["files_key"])
    op.create_table(
        "batch_events",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_batch_events_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_batch_events_event_id")),
    )
    op.create_index(op.f("ix_batch_events_batch_id"), "batch_events", ["batch_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_batch_events_batch_id"), table_name="batch_events")
    op.drop_table("batch_events")
    with op.batch_alter_table("batches") as batch:
        batch.drop_index(op.f("ix_batches_files_key"))
        batch.drop_column("files_key")
