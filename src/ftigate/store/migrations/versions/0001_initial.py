"""Initial schema: batches, requests, screening, decisions, reviews, disclosures,
users and roles, ledger leaves, ledger head and signed tree heads.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_roles")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name=op.f("fk_user_roles_role_roles")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("requesting_agency", sa.String(200), nullable=False),
        sa.Column("letter_json", sa.JSON(), nullable=False),
        sa.Column("letter_digest", sa.String(64), nullable=False),
        sa.Column("file_digests", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("supersedes", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["supersedes"], ["batches.id"], name=op.f("fk_batches_supersedes_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_table(
        "requests",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("record_json", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_requests_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", "request_id", name=op.f("pk_requests")),
    )
    op.create_table(
        "screening_results",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_screening_results_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_results")),
    )
    op.create_index(
        op.f("ix_screening_results_batch_id"), "screening_results", ["batch_id"]
    )
    op.create_table(
        "decisions",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("match_probability", sa.String(32), nullable=True),
        sa.Column("taxpayer_pseudonym", sa.String(64), nullable=True),
        sa.Column("model_digest", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_decisions_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_batch_id"), "decisions", ["batch_id"])
    op.create_table(
        "reviews",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_reviews_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_batch_id"), "reviews", ["batch_id"])
    op.create_table(
        "disclosures",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("taxpayer_pseudonym", sa.String(64), nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("recipient_agency", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("disclosed", sa.JSON(), nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_disclosures_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
        sa.UniqueConstraint("event_id", name=op.f("uq_disclosures_event_id")),
    )
    op.create_index(op.f("ix_disclosures_batch_id"), "disclosures", ["batch_id"])
    op.create_index(
        op.f("ix_disclosures_taxpayer_pseudonym"), "disclosures", ["taxpayer_pseudonym"]
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ledger_leaves_event_id")),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("last_leaf_hash", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    # The one head row exists from the start, so concurrent first appends lock
    # it rather than race to insert it.
    head = sa.table(
        "ledger_head",
        sa.column("id", sa.Integer()),
        sa.column("size", sa.BigInteger()),
        sa.column("root_hash", sa.LargeBinary()),
        sa.column("frontier", sa.LargeBinary()),
        sa.column("last_leaf_hash", sa.LargeBinary()),
        sa.column("updated_at", TZ),
    )
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "size": 0,
                "root_hash": hashlib.sha256(b"").digest(),
                "frontier": b"",
                "last_leaf_hash": None,
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    op.create_table(
        "signed_tree_heads",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_tree_heads")),
    )
    op.create_index(op.f("ix_signed_tree_heads_size"), "signed_tree_heads", ["size"])


def downgrade() -> None:
    op.drop_index(op.f("ix_signed_tree_heads_size"), table_name="signed_tree_heads")
    op.drop_table("signed_tree_heads")
    op.drop_table("ledger_head")
    op.drop_table("ledger_leaves")
    op.drop_index(op.f("ix_disclosures_taxpayer_pseudonym"), table_name="disclosures")
    op.drop_index(op.f("ix_disclosures_batch_id"), table_name="disclosures")
    op.drop_table("disclosures")
    op.drop_index(op.f("ix_reviews_batch_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_decisions_batch_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_index(op.f("ix_screening_results_batch_id"), table_name="screening_results")
    op.drop_table("screening_results")
    op.drop_table("requests")
    op.drop_table("batches")
    op.drop_table("user_roles")
    op.drop_table("users")
    op.drop_table("roles")
