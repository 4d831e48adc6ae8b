"""Fixtures of the service tests: a small synthetic taxpayer file and batch, ledger keys,
a service over SQLite or PostgreSQL with its worker driven by the test, and one user of
each role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from web_helpers import AGENCY, OTHER_AGENCY, PASSWORD, USERS, Service

from ftigate.ledger.keys import generate_keys
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io
from ftigate.web.app import create_app
from ftigate.web.security import TOKEN_PREFIX, hash_password, new_secret, secret_hash
from ftigate.web.serve import build_runner
from ftigate.web.settings import ServiceSettings
from store.conftest import PG_URL, require_postgres, sqlalchemy_pg_url


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
    """A fresh, empty database of each kind (as the store tests have them)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ftigate.db'}"
    return sqlalchemy_pg_url(request.getfixturevalue("pg_schema"))


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-synth")
    population = generate_population(2_000, seed=21)
    synth_io.write_population(population, root / "pop")
    # 300 adversarial requests: seven go to review, each resolved to a taxpayer (two
    # LOW_CONFIDENCE; five NAME_UNIQUE_AT_ADDRESS, a name and an address alone, three of them
    # a non-filing namesake at a filer's home); the court-2025 letter names too few
    # officers: a letter-level review.
    for folder, profile, count, seed in (("batch", "adversarial", 300, 26), ("court", "court-2025", 300, 21)):
        batch = generate_requests(population, count, PROFILES[profile], seed=seed, profile_name=profile)
        synth_io.write_request_batch(batch, root / folder, PROFILES[profile])
    return root


@pytest.fixture
def ledger_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "keys" / "signing.key"))
    (tmp_path / "keys").mkdir(mode=0o700)
    generate_keys("ftigate.test/serve")


@pytest.fixture
def service(synthetic: Path, db_url: str, ledger_keys: None, tmp_path: Path) -> Iterator[Service]:
    settings = ServiceSettings(
        db_url=db_url,
        reference=synthetic / "pop",
        data_dir=tmp_path / "data",
        secure_cookies=False,
        worker=False,
    )
    runner = build_runner(settings)
    hashed = hash_password(PASSWORD)
    for user_id, (name, roles, agency) in USERS.items():
        runner.service.add_user(user_id, name, roles, password_hash=hashed, agency=agency)
    tokens = {}
    for agency in (AGENCY, OTHER_AGENCY):
        secret = new_secret(TOKEN_PREFIX)
        runner.service.add_token(secret_hash(secret), agency, "test")
        tokens[agency] = secret
    try:
        yield Service(create_app(settings, runner), runner, settings, tokens, synthetic)
    finally:
        runner.store.close()
