"""The disclosure office's service: staff credentials, sessions, agency tokens and jobs.

`users` gains what signing in needs (an Argon2id password hash, the agency a requester
belongs to, failed attempts and a lockout); `service_sessions` holds server-side sessions
by the SHA-256 of their secret, so a session is revoked by a row and a stolen database
yields no usable cookie; `agency_tokens` the same for the API tokens agencies submit
with; `jobs` the batches the service processes outside a request, claimed by one worker
at a time with a conditional UPDATE. Review votes are ledger events projected into the
existing `reviews` table (revision 0001).

Kept self-contained (it adds tables and columns only) so that it can be re-chained after
other revisions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        users.add_column(sa.Column("agency", sa.String(200), nullable=True))
        users.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
        users.add_column(sa.Column("locked_until", TZ, nullable=True))
    op.create_table(
        "service_sessions",
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_service_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("secret_hash", name=op.f("pk_service_sessions")),
    )
    op.create_index(op.f("ix_service_sessions_user_id"), "service_sessions", ["user_id"])
    op.create_table(
        "agency_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_agency_tokens_secret_hash")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("files_key", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("letter_name", sa.String(64), nullable=False),
        sa.Column("requests_name", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("heartbeat", TZ, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_files_key"), "jobs", ["files_key"])
    op.create_index(op.f("ix_jobs_state"), "jobs", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_state"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_files_key"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("agency_tokens")
    op.drop_index(op.f("ix_service_sessions_user_id"), table_name="service_sessions")
    op.drop_table("service_sessions")
    with op.batch_alter_table("users") as users:
        users.drop_column("locked_until")
        users.drop_column("failed_attempts")
        users.drop_column("agency")
        users.drop_column("password_hash")
