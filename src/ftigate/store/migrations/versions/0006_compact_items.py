"""Compact item rows: a committing leaf's items without a batch id, an event id or a code
list written out on every row (see :mod:`ftigate.store.items`).

- `ledger_codes(id, value)`: each distinct outcome, decision, reason or rule list (JSON
  text) and model digest once; item rows hold its integer id.
- `commitments(leaf_index, event_id, batch_id, kind, first_item, items)`: one row per
  `batch_screened` / `batch_decided` leaf, naming the run of item rows it covers.
- `screening_items`, `decision_items`: the items, the taxpayer pseudonym as its 32 bytes,
  a request id index for `ledger prove-record`.
- `item_tiles(leaf_index, level, idx, hashes)`: each commitment's item tree above its
  items (tlog-tiles levels 1 up), so `prove-record` reads O(log n) rows. Commitments of
  stores upgraded from 0005 have none: their records are proved by reading the batch.
- The per-leaf rows of batches recorded before committing leaves (`record_screened`,
  `decision` events) stay as they were, in tables renamed `record_screened_rows` and
  `decision_rows`; the views `screening_results` and `decisions` give every reader both,
  in the former columns.

An existing store's committed rows are moved into the new tables in the order they were
written (their position under the root), so the same rows still hash to the same roots;
the ledger's leaves, tiles and checkpoints are not touched. A row whose values cannot be
held compactly (rewritten outside the ledger) is moved as its text, so `ftigate ledger
verify` still finds it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# The migration's own copies: a later change to the store must not change what 0006 did.
RENAMED = {"screening_results": "record_screened_rows", "decisions": "decision_rows"}
COMMITTING = {"batch_screened": "screening_results", "batch_decided": "decisions"}
MOVE_ROWS = 20_000


def _hex(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"encode({column}, 'hex')"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE lower(hex({column})) END"


def _json(dialect: str, column: str) -> str:
    return f"CAST({column} AS JSON)" if dialect == "postgresql" else column


def _views(dialect: str) -> list[str]:
    return [
        "CREATE VIEW screening_results AS "
        "SELECT id, batch_id, request_id, outcome, reasons, rules, event_id FROM record_screened_rows "
        "UNION ALL "
        f"SELECT s.id, c.batch_id, s.request_id, o.value, {_json(dialect, 'r.value')}, "
        f"{_json(dialect, 'u.value')}, c.event_id "
        "FROM commitments c JOIN screening_items s "
        "ON s.id >= c.first_item AND s.id < c.first_item + c.items "
        "JOIN ledger_codes o ON o.id = s.outcome JOIN ledger_codes r ON r.id = s.reasons "
        "JOIN ledger_codes u ON u.id = s.rules WHERE c.kind = 'batch_screened'",
        "CREATE VIEW decisions AS "
        "SELECT id, batch_id, request_id, decision, reasons, match_probability, taxpayer_pseudonym, "
        "model_digest, event_id FROM decision_rows "
        "UNION ALL "
        f"SELECT d.id, c.batch_id, d.request_id, k.value, {_json(dialect, 'r.value')}, "
        f"d.match_probability, {_hex(dialect, 'd.taxpayer')}, m.value, c.event_id "
        "FROM commitments c JOIN decision_items d "
        "ON d.id >= c.first_item AND d.id < c.first_item + c.items "
        "JOIN ledger_codes k ON k.id = d.decision JOIN ledger_codes r ON r.id = d.reasons "
        "LEFT JOIN ledger_codes m ON m.id = d.model_digest WHERE c.kind = 'batch_decided'",
    ]


def _rename_index(dialect: str, old: str, new: str, table: str) -> None:
    if dialect == "postgresql":
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    else:
        op.execute(f"DROP INDEX {old}")
        op.create_index(new, table, ["batch_id"])


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_table(
        "ledger_codes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_codes")),
        sa.UniqueConstraint("value", name=op.f("uq_ledger_codes_value")),
    )
    op.create_table(
        "commitments",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("first_item", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_commitments_batch_id_batches")),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_commitments")),
        sa.UniqueConstraint("event_id", name=op.f("uq_commitments_event_id")),
    )
    op.create_table(
        "screening_items",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_items")),
    )
    op.create_table(
        "decision_items",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("decision", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("match_probability", sa.String(32), nullable=True),
        sa.Column("taxpayer", sa.LargeBinary(), nullable=True),
        sa.Column("model_digest", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_items")),
    )
    op.create_table(
        "item_tiles",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", "level", "idx", name=op.f("pk_item_tiles")),
    )
    op.create_index(op.f("ix_screening_items_request_id"), "screening_items", ["request_id"])
    op.create_index(op.f("ix_decision_items_request_id"), "decision_items", ["request_id"])
    for old, new in RENAMED.items():
        op.rename_table(old, new)
        _rename_index(dialect, f"ix_{old}_batch_id", f"ix_{new}_batch_id", new)
    _move_committed_rows(bind)
    for statement in _views(dialect):
        op.execute(statement)


def _move_committed_rows(bind: sa.Connection) -> None:
    leaves = bind.execute(
        sa.text(
            "SELECT leaf_index, entry FROM ledger_leaves WHERE kind IN ('batch_screened', 'batch_decided') "
            "ORDER BY leaf_index"
        )
    ).all()
    codes: dict[str, int] = {}
    next_id = {"screening_items": 1, "decision_items": 1}
    for leaf_index, entry in leaves:
        try:
            event = json.loads(bytes(entry))["event"]
            event_id, batch_id, kind = str(event["event_id"]), str(event["batch_id"]), str(event["kind"])
        except (KeyError, TypeError, ValueError):
            continue  # an unreadable leaf: its rows stay as they were, verify reports both
        if kind not in COMMITTING:
            continue
        legacy = RENAMED[COMMITTING[kind]]
        first = next_id["screening_items" if kind == "batch_screened" else "decision_items"]
        moved = 0
        rows = bind.execute(
            sa.text(f"SELECT * FROM {legacy} WHERE event_id = :e ORDER BY id"), {"e": event_id}
        ).mappings().all()
        for start in range(0, len(rows), MOVE_ROWS):
            chunk = rows[start : start + MOVE_ROWS]
            part = [_compact(kind, row, first + start + n, codes, bind) for n, row in enumerate(chunk)]
            table = "screening_items" if kind == "batch_screened" else "decision_items"
            bind.execute(sa.text(f"INSERT INTO {table} ({', '.join(part[0])}) VALUES "
                                 f"({', '.join(':' + c for c in part[0])})"), part)  # fmt: skip
            moved += len(part)
        bind.execute(
            sa.text(
                "INSERT INTO commitments (leaf_index, event_id, batch_id, kind, first_item, items) "
                "VALUES (:leaf, :event, :batch, :kind, :first, :items)"
            ),
            {"leaf": int(leaf_index), "event": event_id, "batch": batch_id, "kind": kind, "first": first,
             "items": moved},
        )  # fmt: skip
        bind.execute(sa.text(f"DELETE FROM {legacy} WHERE event_id = :e"), {"e": event_id})
        next_id["screening_items" if kind == "batch_screened" else "decision_items"] = first + moved


def _code(value: Any, codes: dict[str, int], bind: sa.Connection) -> int:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    found = codes.get(text)
    if found is None:
        found = codes[text] = len(codes) + 1
        bind.execute(
            sa.text("INSERT INTO ledger_codes (id, value) VALUES (:id, :value)"), {"id": found, "value": text}
        )
    return found


def _pseudonym(value: Any) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value) if len(value) == 64 else str(value).encode("utf-8")
    except ValueError:
        return str(value).encode("utf-8")  # not hex: kept as its text, so verify finds it


def _compact(kind: str, row: Any, number: int, codes: dict[str, int], bind: sa.Connection) -> dict[str, Any]:
    if kind == "batch_screened":
        return {
            "id": number, "request_id": row["request_id"], "outcome": _code(row["outcome"], codes, bind),
            "reasons": _code(row["reasons"], codes, bind), "rules": _code(row["rules"], codes, bind),
        }  # fmt: skip
    return {
        "id": number, "request_id": row["request_id"], "decision": _code(row["decision"], codes, bind),
        "reasons": _code(row["reasons"], codes, bind), "match_probability": row["match_probability"],
        "taxpayer": _pseudonym(row["taxpayer_pseudonym"]),
        "model_digest": None if row["model_digest"] is None else _code(row["model_digest"], codes, bind),
    }  # fmt: skip


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.execute("DROP VIEW decisions")
    op.execute("DROP VIEW screening_results")
    for old, new in RENAMED.items():
        _rename_index(dialect, f"ix_{new}_batch_id", f"ix_{old}_batch_id", new)
        op.rename_table(new, old)
    hex_taxpayer = _hex(dialect, "d.taxpayer")
    op.execute(
        "INSERT INTO screening_results (batch_id, request_id, outcome, reasons, rules, event_id) "
        f"SELECT c.batch_id, s.request_id, o.value, {_json(dialect, 'r.value')}, "
        f"{_json(dialect, 'u.value')}, c.event_id FROM commitments c JOIN screening_items s "
        "ON s.id >= c.first_item AND s.id < c.first_item + c.items "
        "JOIN ledger_codes o ON o.id = s.outcome JOIN ledger_codes r ON r.id = s.reasons "
        "JOIN ledger_codes u ON u.id = s.rules WHERE c.kind = 'batch_screened' ORDER BY s.id"
    )
    op.execute(
        "INSERT INTO decisions (batch_id, request_id, decision, reasons, match_probability, "
        "taxpayer_pseudonym, model_digest, event_id) "
        f"SELECT c.batch_id, d.request_id, k.value, {_json(dialect, 'r.value')}, d.match_probability, "
        f"{hex_taxpayer}, m.value, c.event_id FROM commitments c JOIN decision_items d "
        "ON d.id >= c.first_item AND d.id < c.first_item + c.items "
        "JOIN ledger_codes k ON k.id = d.decision JOIN ledger_codes r ON r.id = d.reasons "
        "LEFT JOIN ledger_codes m ON m.id = d.model_digest WHERE c.kind = 'batch_decided' ORDER BY d.id"
    )
    op.drop_index(op.f("ix_decision_items_request_id"), table_name="decision_items")
    op.drop_index(op.f("ix_screening_items_request_id"), table_name="screening_items")
    op.drop_table("item_tiles")
    op.drop_table("decision_items")
    op.drop_table("screening_items")
    op.drop_table("commitments")
    op.drop_table("ledger_codes")
