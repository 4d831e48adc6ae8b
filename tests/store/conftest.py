"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: ``FTIGATE_TEST_PG_URL`` (default the local trust-auth server,
database ``test``). Each test gets its own schema (selected through libpq's
``options=-csearch_path=...``), dropped afterwards, so ``pytest -n 2`` is safe.
Unreachable server: skipped with the reason shown, unless ``CI`` is set, in
which case the test fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ftigate.ledger.checkpoint import Signer
from ftigate.store.api import Store

PG_URL = os.environ.get("FTIGATE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_unreachable_reason() -> str | None:
    if "reason" not in _pg_state:
        try:
            with psycopg.connect(PG_URL, connect_timeout=3):
                _pg_state["reason"] = None
        except psycopg.Error as error:
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {error}".strip()
    return _pg_state["reason"]


def require_postgres() -> None:
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def sqlalchemy_pg_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ftigate.db'}"
    schema = request.getfixturevalue("pg_schema")
    return sqlalchemy_pg_url(schema)


@pytest.fixture
def store(db_url: str, log_signer: Signer) -> Iterator[Store]:
    """A store that records under the test keys (sealed, pinned appends)."""
    from store_helpers import PSEUDONYMS

    opened = Store.open(db_url, signer=log_signer, pseudonyms=PSEUDONYMS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def log_signer() -> Signer:
    return Signer.generate("ftigate.test/ledger")
