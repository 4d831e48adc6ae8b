"""A SQLite ledger with key files in a temporary directory, driven through CliRunner."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from ftigate.cli.ledger import app
from ftigate.ledger.events import RecordScreened
from ftigate.ledger.keys import load_pseudonymizer, load_signer
from ftigate.store.api import Store

runner = CliRunner()


@dataclass
class Env:
    tmp: Path
    db: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def run(self, *args: str, use_app: object = app) -> tuple[int, str, str]:
        result = runner.invoke(use_app, list(args))  # type: ignore[arg-type]
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), repr(result.exception)
        return result.exit_code, result.stdout, result.stderr

    def append(self, count: int, tag: str = "R", *, keys: bool = True) -> None:
        """Append through the store, with the key files (sealed) or, with
        ``keys=False``, as someone who can write the database but holds no key."""
        signer = load_signer() if keys else None
        pseudonyms = load_pseudonymizer() if keys else None
        with Store.open(self.url, signer=signer, pseudonyms=pseudonyms) as store:
            batch = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
            store.append_events(
                RecordScreened(batch_id=batch, request_id=f"{tag}{i}", outcome="sufficient")
                for i in range(count)
            )

    def sql(self, statement: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(statement, params).fetchall()


