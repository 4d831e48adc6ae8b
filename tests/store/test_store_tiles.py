"""The store keeps the tree as tiles, in the transaction of the leaves (SQLite and
PostgreSQL): what it serves equals the tree rebuilt from the entries, an existing log
gets its tiles from migration 0003, and damaged tiles are refused and named."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from store_helpers import batch_events, seed

from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import RecordScreened
from ftigate.ledger.merkle import HashTree
from ftigate.ledger.tiles import tiles_of
from ftigate.store import api
from ftigate.store.api import Store, StoreError
from ftigate.store.db import downgrade, migrate


def _tiles(store: Store) -> dict[tuple[int, int], bytes]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT level, idx, hashes FROM merkle_tiles"))
        return {(r[0], r[1]): bytes(r[2]) for r in rows}


def _rebuilt(store: Store) -> HashTree:
    return HashTree(leaf.leaf_hash for leaf in store.leaves())


def test_appends_keep_tiles_equal_to_the_tree_of_the_entries(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "APPEND_CHUNK", 97)  # tiles written across many chunks of one append
    batch = seed(store, records=300)
    for count in (1, 255, 256, 40):
        store.append_events(
            RecordScreened(batch_id=batch, request_id=f"x{count}-{i}", outcome="refuse") for i in range(count)
        )
    memory = _rebuilt(store)
    assert _tiles(store) == {
        (lv, ix): h for lv, ix, h in tiles_of(memory.leaf(i) for i in range(memory.size))
    }
    served = store.hash_tree()
    assert served.size == memory.size == store.latest_tree_head().size
    assert served.root() == memory.root() == store.latest_tree_head().root_hash
    for index, size in ((0, 1), (5, 700), (memory.size - 1, memory.size)):
        assert served.inclusion_proof(index, size) == memory.inclusion_proof(index, size)
    assert served.consistency_proof(300, memory.size) == memory.consistency_proof(300, memory.size)


def test_migration_0003_builds_the_tiles_of_an_existing_log(store: Store, log_signer: Signer) -> None:
    seed(store, records=200)
    store.sign_checkpoint(log_signer)
    before = _tiles(store)
    downgrade(store.engine, "0002")
    migrate(store.engine)
    assert _tiles(store) == before
    assert store.hash_tree().root() == store.latest_tree_head().root_hash
    assert store.verify(log_signer.verifier).ok


def test_a_damaged_tile_is_named_by_verify_and_refused_by_append_and_sign(
    store: Store, log_signer: Signer
) -> None:
    batch = seed(store, records=200)
    store.sign_checkpoint(log_signer)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE merkle_tiles SET hashes = :h WHERE level = 0 AND idx = 1"), {"h": b"\0" * 32 * 256}
        )
    findings = [str(f) for f in store.verify(log_signer.verifier).findings]
    assert findings == [
        "tile 0/1 differs from the tree rebuilt from the entries (proofs served from it would not be the log's)"
    ]
    with pytest.raises(StoreError, match="another root than the ledger head; refusing to append"):
        store.append_events(batch_events(batch, 1)[1:])
    with pytest.raises(StoreError, match="no longer hash to it; refusing to sign"):
        store.sign_checkpoint(log_signer)


def test_a_deleted_tile_is_named_and_no_proof_is_served_from_a_gap(store: Store, log_signer: Signer) -> None:
    seed(store, records=200)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM merkle_tiles WHERE level = 0 AND idx = 0"))
    assert "tile 0/0 is missing: proofs that need it cannot be served" in [
        str(f) for f in store.verify(log_signer.verifier).findings
    ]
    with pytest.raises(ValueError, match="tile 0/0 is missing"):
        store.hash_tree().inclusion_proof(3, 10)


def test_migration_0005_names_the_letters_canonical_digest_and_keeps_it(store: Store) -> None:
    """`letter_digest` in the ledger is the letter file's SHA-256; the batch row's digest of
    the canonical JSON is `letter_canonical_sha256`, its value kept across the rename."""
    batch = seed(store, records=1)
    query = text("SELECT letter_canonical_sha256 FROM batches WHERE id = :b")
    with store.engine.connect() as conn:
        kept = conn.execute(query, {"b": batch}).scalar_one()
    downgrade(store.engine, "0004")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT letter_digest FROM batches WHERE id = :b"), {"b": batch}).scalar_one() == kept
    migrate(store.engine)
    with store.engine.connect() as conn:
        assert conn.execute(query, {"b": batch}).scalar_one() == kept
    assert store.batch(batch) is not None
