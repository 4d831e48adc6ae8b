"""Item tiles for the commitments 0006 moved: a store upgraded from revision 0005 gets,
for each committing leaf whose items were moved without them, the tiles of its item tree
(levels 1 up) that a batch committed today stores when it is appended, so `ledger
prove-record` reads O(log n) rows for every batch, not only the newer ones.

The tiles are rebuilt from the item rows and kept only when those rows hash to the root
the leaf commits to: rows changed outside the ledger get no tiles (their records are
then proved, and refused, from the rows, and `ftigate ledger verify` names them). The
ledger's leaves, its own tiles and its checkpoints are not touched; nothing is recorded.
A commitment of at most one tile of items needs none (its proof reads its rows).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # The store's own readers: a row's item text is the one definition the roots were
    # built from, so the tiles are the same bytes a fresh append writes.
    from ftigate.ledger.committed import item_tree, json_text_of
    from ftigate.ledger.merkle import leaf_hash
    from ftigate.ledger.tiles import TILE_WIDTH
    from ftigate.store.items import ITEM_TABLES, Texts, commitments, item_text, read_rows

    bind = op.get_bind()
    tiled = {int(r[0]) for r in bind.exec_driver_sql("SELECT DISTINCT leaf_index FROM item_tiles")}
    waiting = [c for c in commitments(bind) if c.items > TILE_WIDTH and c.leaf_index not in tiled]
    if not waiting:
        return
    texts = Texts(bind)
    for commitment in waiting:
        committed_root = _committed_root(bind, commitment.leaf_index)
        if committed_root is None:
            continue
        batch_json = json_text_of(commitment.batch_id)
        last = commitment.first_item + commitment.items - 1
        table = ITEM_TABLES[commitment.kind]
        hashes = []
        for row in read_rows(bind, table, commitment.first_item, last):
            text = item_text(commitment.kind, batch_json, row, texts)
            if text is None:
                break
            hashes.append(leaf_hash(text.encode("utf-8")))
        if len(hashes) != commitment.items:
            continue
        root, tiles = item_tree(hashes)
        if root.hex() != committed_root:
            continue
        insert = "INSERT INTO item_tiles (leaf_index, level, idx, hashes) VALUES (:leaf, :level, :idx, :h)"
        bind.execute(
            sa.text(insert),
            [
                {"leaf": commitment.leaf_index, "level": level, "idx": index, "h": row}
                for level, index, row in tiles
            ],
        )


def _committed_root(bind: sa.Connection, leaf_index: int) -> str | None:
    entry = bind.execute(
        sa.text("SELECT entry FROM ledger_leaves WHERE leaf_index = :leaf"), {"leaf": leaf_index}
    ).scalar()
    try:
        root = json.loads(bytes(entry) if entry is not None else b"")["event"]["results_root"]
    except (KeyError, TypeError, ValueError):
        return None  # an unreadable leaf: verify reports it; its records keep the slow proof
    return root if isinstance(root, str) else None


def downgrade() -> None:
    # Tiles are derived from the rows: 0006 holds the same store without the backfilled
    # ones (a fresh append's tiles are kept, as 0006 wrote them).
    pass
