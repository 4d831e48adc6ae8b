"""One meaning per digest: the batch row's digest of the letter is renamed
`letter_canonical_sha256` (the SHA-256 of the letter's RFC 8785 canonical JSON, as parsed),
because "letter digest" in the ledger (`batch_received.letter_digest`) is the SHA-256 of the
letter *file's* bytes. The values are unchanged.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # RENAME COLUMN is native on both PostgreSQL and SQLite (3.25+): no table rebuild.
    op.execute("ALTER TABLE batches RENAME COLUMN letter_digest TO letter_canonical_sha256")


def downgrade() -> None:
    op.execute("ALTER TABLE batches RENAME COLUMN letter_canonical_sha256 TO letter_digest")
