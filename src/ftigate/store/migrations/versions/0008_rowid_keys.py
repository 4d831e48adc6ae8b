"""The bulk tables keyed by their rowid on SQLite.

`ledger_leaves(leaf_index)`, `commitments(leaf_index)`, `screening_items(id)` and
`decision_items(id)` were created with a BIGINT primary key, and SQLite makes only a
column declared INTEGER an alias of the rowid: each row was stored in the table's rowid
B-tree and its key once more in a second B-tree, the primary key's index (appended to,
and kept, for every leaf and every item). Declared INTEGER, the key is the rowid: one
B-tree per table, the rows in key order.

On SQLite each table is rebuilt as SQLite's documentation says a column's type is
changed: the table is created anew from its own stored `CREATE TABLE`, with only the key
column's type changed, its rows copied in key order, the old table dropped and the new
one renamed; its indexes (the partial `ix_ledger_leaves_rare_kinds`, the request id
indexes) are created again from their stored SQL, and the views over the item tables
(`screening_results`, `decisions`) are dropped first and created again from theirs
(SQLite checks every view when a table is renamed). Unique constraints and the foreign
key are part of the `CREATE TABLE`, so they are kept as they were. Every row keeps its
key and its bytes: the leaves, their hashes, the roots and the tiles are not touched,
and nothing is recorded. The whole revision runs in the migration's one transaction, so
a failure leaves the store at 0007. The pages of the old tables stay in the file as
free pages, which later appends reuse (`VACUUM` gives them back to the file system).

On PostgreSQL the keys stay BIGINT (a primary key there is always one index beside the
heap): nothing to do.

Downgrade rebuilds the same tables with the keys declared BIGINT again, the layout of 0007.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

# The migration's own copy: a later change to the models must not change what 0008 did.
KEYS = {
    "ledger_leaves": "leaf_index",
    "commitments": "leaf_index",
    "screening_items": "id",
    "decision_items": "id",
}
VIEWS = ("screening_results", "decisions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(op.get_bind(), "BIGINT", "INTEGER")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(op.get_bind(), "INTEGER", "BIGINT")


def _rebuild(bind: sa.Connection, old_type: str, new_type: str) -> None:
    views = [_stored_sql(bind, "view", name) for name in VIEWS]
    for name in VIEWS:
        bind.exec_driver_sql(f"DROP VIEW {name}")
    for table, key in KEYS.items():
        _rebuild_table(bind, table, key, old_type, new_type)
    for statement in views:
        bind.exec_driver_sql(statement)


def _rebuild_table(bind: sa.Connection, table: str, key: str, old_type: str, new_type: str) -> None:
    create = _retyped(_stored_sql(bind, "table", table), table, key, old_type, new_type)
    indexes = [
        str(row[0])
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY name",
            (table,),
        )
    ]
    columns = ", ".join(str(row[1]) for row in bind.exec_driver_sql(f"PRAGMA table_info({table})"))
    rebuilt = f"{table}_0008"
    bind.exec_driver_sql(_CREATE_HEAD.sub(f"CREATE TABLE {rebuilt} (", create, count=1))
    bind.exec_driver_sql(f"INSERT INTO {rebuilt} ({columns}) SELECT {columns} FROM {table} ORDER BY {key}")
    kept = bind.exec_driver_sql(f"SELECT count(*) FROM {rebuilt}").scalar_one()
    if kept != bind.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one():
        raise RuntimeError(f"revision 0008: {table} would not keep every row; nothing changed")
    bind.exec_driver_sql(f"DROP TABLE {table}")
    bind.exec_driver_sql(f"ALTER TABLE {rebuilt} RENAME TO {table}")
    for statement in indexes:
        bind.exec_driver_sql(statement)


def _stored_sql(bind: sa.Connection, kind: str, name: str) -> str:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
    ).scalar_one_or_none()
    if sql is None:
        raise RuntimeError(f"revision 0008: the {kind} {name} is missing; nothing changed")
    return str(sql)


# SQLite keeps a CREATE TABLE as it was given, and quotes the name of a renamed table.
_CREATE_HEAD = re.compile(r'^CREATE TABLE "?(\w+)"? \(')


def _retyped(create: str, table: str, key: str, old_type: str, new_type: str) -> str:
    """`create` with the key column declared `new_type`: refused unless the statement is
    the one ftigate's revisions wrote (the key declared `old_type`, once)."""
    head = _CREATE_HEAD.match(create)
    if head is None or head.group(1) != table:
        raise RuntimeError(f"revision 0008: {table} was not created by ftigate's revisions; nothing changed")
    retyped, found = re.subn(
        rf"([(,]\s*){key} {old_type} NOT NULL\b", rf"\g<1>{key} {new_type} NOT NULL", create
    )
    if found != 1:
        raise RuntimeError(f"revision 0008: {table}.{key} is not declared {old_type}; nothing changed")
    return retyped
