"""Revision 0008: the bulk tables' keys are SQLite rowids (one B-tree a table, no second
index of the key), and a store written at 0007 upgrades to them with every row, index,
constraint and root as it was (SQLite and PostgreSQL, where the revision changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from store_helpers import PSEUDONYMS, batch_items

from ftigate.cli.ledger import build_record_proof, check_inclusion_document
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.committed import commit_decisions, commit_screening
from ftigate.ledger.events import BatchDecided, BatchScreened, file_digest
from ftigate.store.api import Store
from ftigate.store.db import downgrade, make_engine, migrate

KEYS = {
    "ledger_leaves": "leaf_index",
    "commitments": "leaf_index",
    "screening_items": "id",
    "decision_items": "id",
}
TABLES = (*KEYS, "ledger_codes", "item_tiles", "merkle_tiles", "disclosures", "batches", "ledger_head")


def _record(store: Store, records: int) -> str:
    batch_id = store.create_batch(
        letter={}, file_digests={"requests.csv": file_digest(b"rows")}, requesting_agency="ICE"
    )
    received, screening, decisions, disclosures = batch_items(batch_id, records)
    screening[3] = type(screening[3])(
        batch_id, screening[3].request_id, "refuse", ("NAME_MISSING",), ("26 U.S.C. 6103(i)(2)(B)(i)",)
    )
    store.append_events(
        [received, commit_screening(batch_id, screening), commit_decisions(batch_id, decisions)]
    )
    store.append_events(disclosures)
    return batch_id


def _state(engine: Engine) -> dict[str, Any]:
    """Every row of the tables the revision rebuilds or reads through, in key order, and
    the views over the items."""
    with engine.connect() as conn:
        state: dict[str, Any] = {
            table: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in TABLES
        }  # fmt: skip
        for view in ("screening_results", "decisions"):
            state[view] = conn.execute(text(f"SELECT id, request_id, event_id FROM {view} ORDER BY id")).all()
    return state


def _schema(engine: Engine) -> dict[str, Any]:
    """On SQLite: each rebuilt table's own indexes (name, unique, origin, partial, their SQL)
    and whether its key is the rowid; its foreign keys."""
    if engine.dialect.name != "sqlite":
        return {}
    schema: dict[str, Any] = {}
    with engine.connect() as conn:
        for table, key in KEYS.items():
            # SQLite numbers a table's automatic indexes in the order it makes them
            indexes = sorted(
                ("sqlite_autoindex" if str(row[1]).startswith("sqlite_autoindex_") else row[1], *row[2:])
                for row in conn.exec_driver_sql(f"PRAGMA index_list({table})")
            )
            declared = {row[1]: row[2] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")}
            stored = sorted(
                str(row[0])
                for row in conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                    (table,),
                )
            )
            foreign = [tuple(row[2:5]) for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})")]
            schema[table] = (indexes, declared[key], stored, foreign)
    return schema


def _without_key_index(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        table: ([i for i in indexes if i[2] != "pk"], *rest) for table, (indexes, _, *rest) in schema.items()
    }


def test_a_fresh_store_keys_its_bulk_tables_by_rowid(store: Store) -> None:
    """No index of the key beside these tables on SQLite: the key is the rowid. On
    PostgreSQL the keys stay BIGINT."""
    schema = _schema(store.engine)
    if store.engine.dialect.name != "sqlite":
        with store.engine.connect() as conn:
            for table, key in KEYS.items():
                declared = conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                        "AND table_name = :t AND column_name = :c"
                    ),
                    {"t": table, "c": key},
                ).scalar_one()
                assert declared == "bigint", table
        return
    for table, (indexes, declared, _, _) in schema.items():
        assert declared == "INTEGER", table
        assert not [index for index in indexes if index[2] == "pk"], table  # no sqlite_autoindex of the key
    with store.engine.connect() as conn:
        autoindexes = {
            str(row[0])
            for row in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_autoindex_%'"
            )
        }
    # the unique event ids keep theirs; no table of KEYS has one of its key
    assert autoindexes >= {"sqlite_autoindex_ledger_leaves_1", "sqlite_autoindex_commitments_1"}
    assert len([name for name in autoindexes if any(f"_{t}_" in name for t in KEYS)]) == 2


def test_a_store_written_at_0007_upgrades_with_the_same_rows_and_root(
    db_url: str, log_signer: Signer
) -> None:
    """A store migrated to 0007 and appended to with the store's API upgrades to 0008 with
    the same rows, indexes, constraints, head and root; it verifies, proves a record,
    takes the next append, and downgrades to the 0007 layout with the rows still kept."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0007")
        store = Store(engine)
        store.use_keys(log_signer, PSEUDONYMS)
        batch_id = _record(store, 700)  # more than a tile of items: item tiles too
        store.sign_checkpoint(log_signer)
        before, schema_before, head_before = _state(engine), _schema(engine), store.latest_tree_head()
        assert len(before["screening_items"]) == 700 == len(before["decision_items"])
        if engine.dialect.name == "sqlite":
            assert all(declared == "BIGINT" for _, declared, _, _ in schema_before.values())
            assert all(any(i[2] == "pk" for i in indexes) for indexes, *_ in schema_before.values())

        migrate(engine)
        assert _state(engine) == before
        assert store.latest_tree_head() == head_before
        assert store.verify(log_signer.verifier).ok
        schema_after = _schema(engine)
        assert _without_key_index(schema_after) == _without_key_index(schema_before)
        if engine.dialect.name == "sqlite":
            for indexes, declared, *_ in schema_after.values():
                assert declared == "INTEGER" and not [i for i in indexes if i[2] == "pk"]
            assert any("WHERE kind != 'record_screened'" in sql for sql in schema_after["ledger_leaves"][2])
            assert schema_after["commitments"][3] == [("batches", "batch_id", "id")]
        else:
            assert schema_after == schema_before == {}
        document = build_record_proof(store, batch_id, "R-000003", BatchScreened.kind)
        assert "was screened refuse" in check_inclusion_document(document, log_signer.verifier)
        decided = next(store.leaves(BatchDecided.kind))
        for table in ("ledger_leaves", "commitments"):  # the unique event ids still hold
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(
                    text(f"UPDATE {table} SET event_id = :e WHERE leaf_index = 0 OR kind = 'batch_screened'"),
                    {"e": decided.event_id},
                )
        second = _record(store, 20)
        store.sign_checkpoint(log_signer)
        assert second != batch_id and store.verify(log_signer.verifier).ok

        appended = _state(engine)
        downgrade(engine, "0007")
        assert _state(engine) == appended
        assert _schema(engine) == schema_before  # the key's own index back, BIGINT keys
        assert store.verify(log_signer.verifier).ok
    finally:
        engine.dispose()
