"""`verify` rehashes the committed items in a second process while it checks the log
(SQLite and PostgreSQL): the second process reads the very state `verify` reads, and
its result is used only then; else, or when it fails, the items are rehashed in line."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from store_helpers import batch_items

import ftigate.store.rehash as rehash
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.committed import commit_decisions, commit_screening
from ftigate.store.api import Store
from ftigate.store.items import rehash_items


def _record(store: Store, records: int) -> str:
    batch_id = store.create_batch(
        letter={}, file_digests={"requests.csv": batch_items("x", 0)[0].files["requests.csv"]},
        requesting_agency="ICE",
    )  # fmt: skip
    received, screening, decisions, disclosures = batch_items(batch_id, records)
    store.append_events(
        [received, commit_screening(batch_id, screening), commit_decisions(batch_id, decisions), *disclosures]
    )
    return batch_id


def _head(store: Store) -> tuple[int, bytes]:
    with store.snapshot() as conn:
        size, root = conn.execute(text("SELECT size, root_hash FROM ledger_head WHERE id = 1")).one()
    return int(size), bytes(root)


def test_the_second_process_finds_what_verify_would_find_in_line(store: Store, log_signer: Signer) -> None:
    _record(store, 300)
    _record(store, 7)
    with store.snapshot() as conn:
        in_line = rehash_items(conn)
        started = rehash.ItemsRehash.start(conn, force=True)
        assert started is not None
        found = started.result(_head(store))
    assert found == in_line
    assert len(found.runs) == 4 and all(run.root is not None for run in found.runs.values())
    store.sign_checkpoint(log_signer)
    assert store.verify(log_signer.verifier, parallel=True).ok


def test_an_append_after_the_snapshot_sets_the_second_process_aside(store: Store, log_signer: Signer) -> None:
    _record(store, 20)
    before = _head(store)
    _record(store, 5)  # the state the second process reads is no longer `before`
    with store.snapshot() as conn:
        started = rehash.ItemsRehash.start(conn, force=True)
        assert started is not None
        assert started.result(before) is None
    store.sign_checkpoint(log_signer)
    assert store.verify(log_signer.verifier, parallel=True).ok


def test_a_failed_second_process_leaves_the_items_to_verify(
    store: Store, log_signer: Signer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _record(store, 20)
    pool = multiprocessing.get_context("spawn").Pool(1)
    failing = rehash.ItemsRehash(pool, pool.apply_async(rehash.rehash_at, ("sqlite:///no/such/dir/x.db", None)))
    with caplog.at_level(logging.WARNING, logger="ftigate.store.rehash"):
        assert failing.result(_head(store)) is None
    assert "rehashed in line" in caplog.text
    missing = tmp_path / "gone.db"
    with pytest.raises(FileNotFoundError):
        rehash.rehash_at(f"sqlite:///{missing}", None)
    assert not missing.exists()  # a reader never makes a database
    with pytest.raises(ValueError, match="snapshot id"):
        rehash.rehash_at(str(store.engine.url.render_as_string(hide_password=False)), "x'; DROP TABLE y; --")


def test_few_items_are_rehashed_in_line_and_many_in_a_second_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(store, 30)
    with store.snapshot() as conn:
        assert rehash.ItemsRehash.start(conn) is None  # 60 items: not worth a process
        monkeypatch.setattr(rehash, "PARALLEL_ITEMS", 60)
        monkeypatch.setattr(rehash, "_usable_cores", lambda: 2)
        started = rehash.ItemsRehash.start(conn)
        assert started is not None
        started.close()
        monkeypatch.setattr(rehash, "_usable_cores", lambda: 1)
        assert rehash.ItemsRehash.start(conn) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_the_second_process_ends_with_verify(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(store, 5)
    with store.snapshot() as conn:
        started = rehash.ItemsRehash.start(conn, force=True)
        assert started is not None
        pool = started._pool
        assert pool is not None
        assert pool.apply(rehash.parent_death_signal) == signal.SIGTERM
        started.close()
