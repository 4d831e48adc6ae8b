"""The transactional store on SQLite and PostgreSQL: migrations, batches, the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from store_helpers import PSEUDONYMS, batch_events, seed

from ftigate.ledger.canonical import canonical_json
from ftigate.ledger.checkpoint import Signer, open_checkpoint
from ftigate.ledger.events import Disclosure, RecordScreened
from ftigate.ledger.keys import load_pseudonymizer, load_signer
from ftigate.ledger.merkle import EMPTY_ROOT, HashTree, leaf_hash, verify_inclusion
from ftigate.store.api import Store, StoreError, leaf_entry
from ftigate.store.api import _of_kinds as api_of_kinds
from ftigate.store.db import downgrade, migrate
from ftigate.store.models import Base

TABLES = {
    "batches",
    "requests",
    "record_screened_rows",
    "decision_rows",
    "ledger_codes",
    "commitments",
    "screening_items",
    "decision_items",
    "reviews",
    "disclosures",
    "users",
    "roles",
    "user_roles",
    "ledger_leaves",
    "ledger_head",
    "signed_tree_heads",
    "merkle_tiles",
}
VIEWS = {"screening_results", "decisions"}  # revision 0006: per-leaf and committed rows


def test_migrations_run_up_and_down(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        assert set(inspect(store.engine).get_view_names()) >= VIEWS
        assert store.latest_tree_head().size == 0
        assert store.latest_tree_head().root_hash == EMPTY_ROOT
        downgrade(store.engine)
        assert not TABLES & set(inspect(store.engine).get_table_names())
        assert not VIEWS & set(inspect(store.engine).get_view_names())
        migrate(store.engine)
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        seed(store, 2)
        assert store.latest_tree_head().size > 0
    finally:
        store.close()


def test_models_match_the_migrated_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_a_batch_is_never_overwritten(store: Store) -> None:
    first = store.create_batch(letter={"a": 1}, file_digests={}, requesting_agency="ICE", batch_id="b1")
    with pytest.raises(StoreError, match="already exists"):
        store.create_batch(letter={"a": 2}, file_digests={}, requesting_agency="ICE", batch_id="b1")
    second = store.create_batch(letter={"a": 2}, file_digests={}, requesting_agency="ICE", supersedes=first)
    assert store.batch(first)["letter_json"] == {"a": 1}  # type: ignore[index]
    assert store.batch(second)["supersedes"] == first  # type: ignore[index]
    store.set_batch_status(second, "processed")
    assert store.batch(second)["status"] == "processed"  # type: ignore[index]
    with pytest.raises(StoreError, match="no batch"):
        store.set_batch_status("missing", "x")


def test_requests_and_users(store: Store) -> None:
    batch_id = seed(store, 1)
    assert store.add_requests(batch_id, [("R1", {"request_id": "R1"}), ("R2", {})]) == 2
    with pytest.raises(StoreError, match="duplicate request id"):
        store.add_requests(batch_id, [("R1", {})])
    store.add_user("u1", "Reviewer One", ["reviewer", "auditor"])
    store.add_user("u2", "Reviewer Two", ["reviewer"])
    assert store.user_roles("u1") == ["auditor", "reviewer"]


def test_append_updates_the_tree_incrementally(store: Store) -> None:
    batch_id = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
    events = batch_events(batch_id, 40)
    sizes = []
    for start in range(0, len(events), 17):
        result = store.append_events(events[start : start + 17])
        sizes.append(result.size)
        assert result.root_hash == store.hash_tree().root()
    # The genesis leaf pinning the keys, then one seal closing each append.
    appends = len(sizes)
    assert sizes[-1] == 1 + len(events) + appends
    leaves = list(store.leaves())
    assert [leaf.leaf_index for leaf in leaves] == list(range(sizes[-1]))
    kinds = [leaf.kind for leaf in leaves]
    assert kinds[0] == "ledger_opened" and kinds.count("seal") == appends
    assert HashTree(leaf_hash(leaf.entry) for leaf in leaves).root() == (store.latest_tree_head().root_hash)
    # Each leaf is the canonical envelope chaining to the previous one.
    previous = None
    for leaf in leaves:
        envelope = json.loads(leaf.entry)
        assert canonical_json(envelope) == leaf.entry
        assert envelope["seq"] == leaf.leaf_index
        assert envelope["prev"] == (previous.hex() if previous else None)
        previous = leaf.leaf_hash
    assert store.append_events([]).size == sizes[-1]


def test_leaf_entry_splice_is_canonical() -> None:
    event = RecordScreened(batch_id="b", request_id="r", outcome="refuse", reasons=("X",))
    spliced = leaf_entry(event.canonical(), 7, b"\x01" * 32)
    whole = {"event": json.loads(event.canonical()), "seq": 7, "prev": (b"\x01" * 32).hex()}
    assert spliced == canonical_json(whole)
    assert leaf_entry(event.canonical(), 0, None) == canonical_json({**whole, "seq": 0, "prev": None})


def test_projections_hold_form_5466b_fields(store: Store) -> None:
    seed(store, 6)
    taxpayer = PSEUDONYMS.taxpayer("900000003")
    rows = store.disclosures_for(taxpayer)
    assert len(rows) == 1
    row = rows[0]
    assert row["recipient_agency"] == "ICE"
    assert row["authority"] == "26 U.S.C. 6103(i)(2)"
    assert row["purpose"] == "8 U.S.C. 1253(a)(1)"
    assert row["disclosed"] == ["last_known_address"]
    assert row["date"] == "2026-03-02"
    assert store.leaf_by_event_id(row["event_id"]) is not None
    with store.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("screening_results", "decisions", "disclosures")
        }
    assert counts == {"screening_results": 6, "decisions": 6, "disclosures": 2}


def test_a_failed_append_writes_nothing(store: Store) -> None:
    batch_id = seed(store, 3)
    before = store.latest_tree_head()
    event = RecordScreened(batch_id=batch_id, request_id="x", outcome="sufficient")
    store.append_events([event])
    with pytest.raises(StoreError, match="already recorded"):
        store.append_events([RecordScreened(batch_id=batch_id, request_id="y", outcome="sufficient"), event])
    assert store.latest_tree_head().size == before.size + 2  # the event and its seal
    assert len(list(store.leaves())) == before.size + 2
    with pytest.raises(StoreError, match="does not exist"):
        store.append_events(
            [
                Disclosure(
                    batch_id="no-such-batch",
                    request_id="r",
                    taxpayer=PSEUDONYMS.taxpayer("900000001"),
                    date="2026-01-01",
                    recipient_agency="ICE",
                    authority="26 U.S.C. 6103(i)(2)",
                    purpose="p",
                )
            ]
        )


def test_signed_checkpoint_and_proofs(store: Store, log_signer: Signer) -> None:
    seed(store, 5)
    signed = store.sign_checkpoint(log_signer)
    head = store.latest_tree_head()
    assert (signed.checkpoint.size, signed.checkpoint.root_hash) == (head.size, head.root_hash)
    assert store.latest_checkpoint() == signed.serialize()
    reopened = open_checkpoint(signed.serialize(), log_signer.verifier)
    tree = store.hash_tree()
    leaf = list(store.leaves())[4]
    verify_inclusion(
        leaf.leaf_hash,
        4,
        head.size,
        tree.inclusion_proof(4, head.size),
        reopened.checkpoint.root_hash,
    )
    report = store.verify(log_signer.verifier, signed.serialize())
    assert report.ok, [str(f) for f in report.findings]
    assert report.checked_checkpoints == 2


def _tamper(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _first(store: Store, signer: Signer, checkpoint: str | None = None) -> str:
    report = store.verify(signer.verifier, checkpoint)
    assert not report.ok
    assert report.first is not None
    return str(report.first)


def test_verify_names_the_first_edited_row(store: Store, log_signer: Signer) -> None:
    seed(store, 6)
    store.sign_checkpoint(log_signer)
    leaf = list(store.leaves())[6]  # 0 opens the log, 1 is the batch: 6 is R-000001's decision
    assert leaf.kind == "decision"
    _tamper(
        store,
        "UPDATE ledger_leaves SET entry = :entry WHERE leaf_index = 6",
        entry=leaf.entry.replace(b"refuse", b"disclo"),
    )
    assert _first(store, log_signer).startswith(f"leaf 6 (event {leaf.event_id}) was altered")


def test_verify_catches_an_edit_whose_hash_was_patched(store: Store, log_signer: Signer) -> None:
    seed(store, 6)
    store.sign_checkpoint(log_signer)
    leaf = list(store.leaves())[3]
    forged = leaf.entry.replace(b"R-000000", b"R-999999")
    assert forged != leaf.entry
    _tamper(
        store,
        "UPDATE ledger_leaves SET entry = :entry, leaf_hash = :hash WHERE leaf_index = 3",
        entry=forged,
        hash=leaf_hash(forged),
    )
    message = _first(store, log_signer)
    assert message.startswith("leaf 3 (event") and "chained to a different hash" in message


def test_verify_names_a_deleted_row(store: Store, log_signer: Signer) -> None:
    seed(store, 6)
    store.sign_checkpoint(log_signer)
    _tamper(store, "DELETE FROM ledger_leaves WHERE leaf_index = 4")
    assert _first(store, log_signer).startswith("leaf 4 is missing")


def test_verify_names_reordered_rows(store: Store, log_signer: Signer) -> None:
    seed(store, 6)
    store.sign_checkpoint(log_signer)
    leaves = list(store.leaves())
    a, b = leaves[2], leaves[6]
    for target, source in ((a, b), (b, a)):
        _tamper(
            store,
            "UPDATE ledger_leaves SET entry = :entry, leaf_hash = :hash, event_id = :eid "
            "WHERE leaf_index = :index",
            entry=source.entry,
            hash=source.leaf_hash,
            eid=f"swap-{source.leaf_index}",
            index=target.leaf_index,
        )
    message = _first(store, log_signer)
    assert message.startswith("leaf 2 (event swap-6) holds the entry written as leaf 6")


def test_verify_catches_a_rollback_with_the_overseers_checkpoint(store: Store, log_signer: Signer) -> None:
    seed(store, 3)
    older = store.latest_tree_head().size
    seed(store, 3)
    overseer = store.sign_checkpoint(log_signer).serialize()
    # Roll back: drop the newer leaves, reset the head, forget the newer signed head.
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_leaves WHERE leaf_index >= :n"), {"n": older})
        conn.execute(text("DELETE FROM signed_tree_heads"))
        tree = HashTree(
            r[0] for r in conn.execute(text("SELECT leaf_hash FROM ledger_leaves ORDER BY leaf_index"))
        )
        conn.execute(
            text("UPDATE ledger_head SET size = :s, root_hash = :r"),
            {"s": tree.size, "r": tree.root()},
        )
    # Consistent with itself, but with no signed head it does not verify ...
    assert "no signed head" in _first(store, log_signer)
    message = _first(store, log_signer, overseer)  # ... and not with the overseer's copy
    assert "rolled back" in message and f"holds {older} leaves" in message


def test_verify_refuses_a_forged_signed_head(store: Store, log_signer: Signer) -> None:
    seed(store, 2)
    signed = store.sign_checkpoint(log_signer).serialize()
    forged = signed.replace(f"\n{store.latest_tree_head().size}\n", "\n1\n")
    _tamper(store, "UPDATE signed_tree_heads SET checkpoint = :c", c=forged)
    assert "does not verify" in _first(store, log_signer)
    impostor = Signer.generate(log_signer.name)
    report = store.verify(impostor.verifier)
    findings = [str(f) for f in report.findings]
    assert any("no signature from a trusted key" in f for f in findings)
    assert str(report.first) == "leaf 0 pins another log key than the one given"


CONCURRENT_APPENDER = textwrap.dedent(
    """
    import sys
    from ftigate.ledger.checkpoint import parse_skey
    from ftigate.ledger.events import Pseudonymizer, RecordScreened
    from ftigate.store.api import Store

    url, batch_id, tag, skey, pkey = sys.argv[1:6]
    store = Store.open(url, run_migrations=False, signer=parse_skey(skey),
                       pseudonyms=Pseudonymizer(bytes.fromhex(pkey)))
    for round_ in range(15):
        store.append_events(
            RecordScreened(batch_id=batch_id, request_id=f"{tag}-{round_}-{i}",
                           outcome="sufficient")
            for i in range(40)
        )
    store.close()
    """
)


@pytest.mark.slow
def test_two_processes_appending_make_one_consistent_log(
    store: Store, db_url: str, log_signer: Signer, tmp_path: Path
) -> None:
    batch_id = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
    seed(store, 1)  # the log is opened (and its keys pinned) before the appenders race
    script = tmp_path / "appender.py"
    script.write_text(CONCURRENT_APPENDER)
    keys = [log_signer.skey(), PSEUDONYMS.key.hex()]
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db_url, batch_id, tag, *keys], stderr=subprocess.PIPE
        )
        for tag in ("A", "B")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    head = store.latest_tree_head()
    opened = 1 + 4 + 1  # genesis, seed's batch of one record (4 events) and its seal
    assert head.size == opened + 2 * 15 * (40 + 1)
    signed = store.sign_checkpoint(log_signer)
    report = store.verify(log_signer.verifier, signed.serialize())
    assert report.ok, [str(f) for f in report.findings[:3]]
    kinds = [json.loads(leaf.entry)["event"]["request_id"][0] for leaf in store.leaves("record_screened")]
    assert {"A", "B"} <= set(kinds)


def test_cli_verify_on_each_database(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ftigate.cli.ledger import app

    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "p.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "s.key"))
    runner = CliRunner()
    assert runner.invoke(app, ["keygen", "--origin", "ftigate.test/db"]).exit_code == 0
    with Store.open(db_url, signer=load_signer(), pseudonyms=load_pseudonymizer()) as store:
        seed(store, 4)
    kept = tmp_path / "kept.checkpoint"
    done = runner.invoke(app, ["checkpoint", "--out", str(kept), "--db", db_url])
    assert done.exit_code == 0, done.stderr
    done = runner.invoke(app, ["verify", "--checkpoint", str(kept), "--db", db_url])
    assert done.exit_code == 0 and done.stdout.startswith("OK: "), done.stderr
    with Store.open(db_url) as store:
        _tamper(
            store,
            "UPDATE ledger_leaves SET kind = 'x', entry = :e WHERE leaf_index = 2",
            e=b'{"event":{},"prev":null,"seq":2}',
        )
    done = runner.invoke(app, ["verify", "--db", db_url])
    assert done.exit_code == 1
    assert done.stderr.startswith("error: verification failed: leaf 2 (event")


OPENER = textwrap.dedent(
    """
    import pathlib, sys, time
    from ftigate.store.api import Store

    url, ready, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    ready.touch()
    while not go.exists():  # start both migrations at the same moment
        time.sleep(0.001)
    store = Store.open(url)
    print(store.latest_tree_head().size)
    store.close()
    """
)


@pytest.mark.slow
def test_two_processes_opening_a_fresh_database_both_migrate_it(
    db_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    go = tmp_path / "go"
    readies = [tmp_path / f"ready-{n}" for n in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db_url, str(ready), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for ready in readies
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in readies) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.strip() == b"0"


@pytest.mark.parametrize(
    "kinds", [("disclosure",), ("ledger_opened", "batch_received"), ("seal",), ("decision",)]
)
def test_leaves_of_rare_kinds_are_read_through_their_index(store: Store, kinds: tuple[str, ...]) -> None:
    seed(store, 30)
    wanted = [leaf.leaf_index for leaf in store.leaves() if leaf.kind in kinds]
    found = [leaf.leaf_index for kind in kinds for leaf in store.leaves(kind)]
    assert sorted(found) == wanted and wanted
    assert [len(e) for e in store.entries_of_kinds(kinds)] == [
        len(leaf.entry) for leaf in store.leaves() if leaf.kind in kinds
    ]
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT leaf_index FROM ledger_leaves WHERE "
                + str(api_of_kinds(kinds).compile(conn, compile_kwargs={"literal_binds": True}))
            ).fetchall()
        uses_partial_index = any("ix_ledger_leaves_rare_kinds" in str(step) for step in plan)
        assert uses_partial_index == ("decision" not in kinds)


def test_an_unknown_kind_is_refused_not_written_into_sql(store: Store) -> None:
    with pytest.raises(StoreError, match="no ledger event kind"):
        list(store.leaves("disclosure' OR 1=1 --"))
