"""Shared fixtures for the ledger tests: key files and a SQLite ledger in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_cli_env import Env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "keys" / "signing.key"))
    monkeypatch.delenv("FTIGATE_LOG_VKEY", raising=False)
    db = tmp_path / "ftigate.db"
    monkeypatch.setenv("FTIGATE_DB", f"sqlite:///{db}")
    e = Env(tmp_path, db)
    code, _, err = e.run("keygen", "--origin", "ftigate.test/ledger")
    assert code == 0, err
    e.append(10)  # with the genesis leaf and the seal: 12 leaves
    yield e


