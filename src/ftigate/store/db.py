"""Engines and migrations.

The database URL comes from ``--db``, else ``FTIGATE_DB``, else
``sqlite:///ftigate.db`` in the working directory. A value without ``://`` is
taken as a SQLite file path. PostgreSQL is ``postgresql+psycopg://...``.

SQLite is put in WAL mode, with foreign keys on, and every transaction starts
with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two processes
appending at once queue up instead of both reading the same ledger head.
PostgreSQL gets the same guarantee from ``SELECT ... FOR UPDATE`` on the head row.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection

from ftigate.outputs.durable import create_private_file

DB_ENV = "FTIGATE_DB"
# Execution option marking a read-only transaction: on SQLite it begins
# DEFERRED (no write lock) instead of IMMEDIATE.
READ_ONLY_OPTION = "ftigate_read_only"
DEFAULT_URL = "sqlite:///ftigate.db"
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x66746967  # "ftig": an arbitrary constant shared by all ftigate processes


def resolve_url(db: str | None = None) -> str:
    value = db or os.environ.get(DB_ENV) or DEFAULT_URL
    if "://" not in value:
        return f"sqlite:///{value}"
    return value


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _create_private_database_file(url)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
            # implicit BEGIN is deferred and would allow lost updates).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=60000")
            _enter_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages stay in memory
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            if connection.get_execution_options().get(READ_ONLY_OPTION):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


WAL_WAIT_SECONDS = 60.0


def _enter_wal(cursor: Any) -> None:
    """Switch the database to WAL, waiting out another process that holds it.

    Changing the journal mode needs the database to itself, and SQLite answers "database is
    locked" at once, without its busy handler, while a second process is opening (and
    migrating) a fresh file: two commands started together on a new store must both work."""
    deadline = time.monotonic() + WAL_WAIT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _create_private_database_file(url: str) -> None:
    """A new SQLite database is created 0600 before SQLite opens it: it holds pseudonyms and
    decisions, and SQLite gives its journal and WAL files the database file's own mode."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():
            create_private_file(path)


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision`` (no alembic.ini needed).

    Two processes opening a fresh database at once must not both create the
    tables: SQLite's BEGIN IMMEDIATE already serialises them; on PostgreSQL a
    transaction-scoped advisory lock does."""
    with engine.begin() as connection:
        _lock_for_migration(connection)
        command.upgrade(alembic_config(connection), revision)


def _lock_for_migration(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as connection:
        _lock_for_migration(connection)
        command.downgrade(alembic_config(connection), revision)


ROWS_PER_INSERT = 100
"""rows per INSERT statement of a bulk write: one statement for many rows halves the
driver's and SQLite's work per row against one statement a row (a batch writes millions)"""


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) in this order, straight to the
    driver: multi-row ``INSERT ... VALUES`` of :data:`ROWS_PER_INSERT` rows, executed
    many times. The ORM's per-row parameter processing cost more than hashing and
    canonicalising together; these values are plain str, int, bytes or JSON text, which
    both SQLite and psycopg take as they are. Table and column names are the program's
    own constants, never input; every value is a bound parameter."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    flat = itertools.chain.from_iterable
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    if whole:
        conn.exec_driver_sql(
            head + ", ".join([one] * ROWS_PER_INSERT),
            [tuple(flat(rows[i : i + ROWS_PER_INSERT])) for i in range(0, whole, ROWS_PER_INSERT)],
        )
    if whole < len(rows):
        conn.exec_driver_sql(head + ", ".join([one] * (len(rows) - whole)), [tuple(flat(rows[whole:]))])
