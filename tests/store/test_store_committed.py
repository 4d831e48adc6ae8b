"""A batch's screening and decisions as one committing leaf each, in the store (SQLite and
PostgreSQL): the rows are the items, `verify` rehashes them against the roots, and every
way of changing them outside the ledger is found."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_helpers import batch_items

import ftigate.store.api as store_api
from ftigate.cli.common import VerificationFailed
from ftigate.cli.ledger import build_record_proof, check_inclusion_document
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.committed import Committed, commit_decisions, commit_screening
from ftigate.ledger.events import BatchDecided, BatchScreened, LedgerEvent
from ftigate.store.api import Store, StoreError


def _record(store: Store, records: int = 12) -> tuple[str, list[LedgerEvent | Committed]]:
    batch_id = store.create_batch(
        letter={}, file_digests={"requests.csv": batch_items("x", 0)[0].files["requests.csv"]},
        requesting_agency="ICE",
    )  # fmt: skip
    received, screening, decisions, disclosures = batch_items(batch_id, records)
    screening[3] = type(screening[3])(
        batch_id, screening[3].request_id, "refuse", ("NAME_MISSING",), ("26 U.S.C. 6103(i)(2)(B)(i)",)
    )
    events: list[LedgerEvent | Committed] = [
        received, commit_screening(batch_id, screening), commit_decisions(batch_id, decisions), *disclosures,
    ]  # fmt: skip
    store.append_events(events)
    return batch_id, events


def test_a_committed_batch_verifies_and_each_record_is_provable(store: Store, log_signer: Signer) -> None:
    batch_id, _ = _record(store)
    store.sign_checkpoint(log_signer)
    assert store.verify(log_signer.verifier).ok
    kinds = [leaf.kind for leaf in store.leaves()]
    assert kinds.count(BatchScreened.kind) == 1 == kinds.count(BatchDecided.kind)
    assert "record_screened" not in kinds and "decision" not in kinds
    for kind, request_id, says in (
        (BatchScreened.kind, "R-000003", "was screened refuse (NAME_MISSING), item 3 of 12"),
        (BatchDecided.kind, "R-000004", "was decided refuse (ADDRESS_NOT_CORROBORATED), item 4 of 12"),
    ):
        document = build_record_proof(store, batch_id, request_id, kind)
        summary = check_inclusion_document(json.loads(json.dumps(document)), log_signer.verifier)
        assert summary.startswith(f"OK: request {request_id} of batch {batch_id} {says}")


# (statements, what verify says: one finding each, whether a screening proof is refused).
# The items are compact rows (revision 0006): codes of ledger_codes, a run of row ids
# per committing leaf in `commitments`.
TAMPERING: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "a result changed": (
        ("UPDATE screening_items SET outcome = (SELECT id FROM ledger_codes WHERE value = 'sufficient') "
         "WHERE request_id = 'R-000003'",),
        ("do not hash to the root the log commits to",),
        True,
    ),
    "a record dropped": (
        ("DELETE FROM decision_items WHERE request_id = 'R-000005'",),
        ("are 11, but the log commits to 12",),
        False,
    ),
    "a record added to the run": (
        ("INSERT INTO screening_items (id, request_id, outcome, reasons, rules) "
         "SELECT (SELECT MAX(id) + 1 FROM screening_items), 'R-extra', outcome, reasons, rules "
         "FROM screening_items WHERE request_id = 'R-000001'",
         "UPDATE commitments SET items = items + 1 WHERE kind = 'batch_screened'"),
        ("are 13, but the log commits to 12",),
        True,
    ),
    "a record added outside every run": (
        ("INSERT INTO decision_items (id, request_id, decision, reasons) "
         "SELECT 1000, 'R-extra', decision, reasons FROM decision_items WHERE request_id = 'R-000001'",),
        ("1 row(s) lie outside every commitment's run of rows",),
        False,
    ),
    "two records swapped": (
        ("UPDATE decision_items SET request_id = CASE request_id WHEN 'R-000001' THEN 'R-000002' "
         "ELSE 'R-000001' END WHERE request_id IN ('R-000001', 'R-000002')",),
        ("do not hash to the root the log commits to",),
        False,
    ),
    "a reason list replaced": (
        ("INSERT INTO ledger_codes (id, value) SELECT MAX(id) + 1, '[\"LOW_CONFIDENCE\"]' FROM ledger_codes",
         "UPDATE decision_items SET reasons = (SELECT MAX(id) FROM ledger_codes) WHERE request_id = 'R-000002'"),
        ("do not hash to the root the log commits to",),
        False,
    ),
    "a code rewritten (every row holding it)": (
        ("UPDATE ledger_codes SET value = '[\"LOW_CONFIDENCE\"]' WHERE value = '[\"ADDRESS_NOT_CORROBORATED\"]'",),
        ("do not hash to the root the log commits to",),
        False,
    ),
    "a code made unreadable": (
        ("UPDATE ledger_codes SET value = 'not a list' WHERE value = '[\"NAME_MISSING\"]'",),
        ("hold values that are not screening_items",),
        True,
    ),
    "a pseudonym changed": (
        ("UPDATE decision_items SET taxpayer = :blob WHERE request_id = 'R-000003'",),
        ("do not hash to the root the log commits to",),
        False,
    ),
    "a run shifted by one row": (
        ("UPDATE commitments SET first_item = first_item + 1 WHERE kind = 'batch_decided'",),
        ("1 row(s) lie outside every commitment's run", "are 11, but the log commits to 12"),
        False,
    ),
    "a commitment row deleted": (
        ("DELETE FROM commitments WHERE kind = 'batch_screened'",),
        ("are missing: no commitments row names them", "12 row(s) lie outside every commitment's run"),
        True,
    ),
    "a commitment row moved to another leaf": (
        ("UPDATE commitments SET leaf_index = leaf_index + 100 WHERE kind = 'batch_decided'",),
        ("names no committing leaf of the log",),
        False,
    ),
}  # fmt: skip


@pytest.mark.parametrize("parallel", [False, True], ids=["in line", "second process"])
@pytest.mark.parametrize("case", TAMPERING)
def test_changing_committed_rows_is_found(store: Store, log_signer: Signer, case: str, parallel: bool) -> None:
    batch_id, _ = _record(store)
    store.sign_checkpoint(log_signer)
    statements, expected, proof_refused = TAMPERING[case]
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"blob": bytes(32)} if ":blob" in statement else {})
    findings = sorted(str(f) for f in store.verify(log_signer.verifier, parallel=parallel).findings)
    assert len(findings) == len(expected), findings
    for want in expected:
        assert any(want in f for f in findings), findings
    assert any(f"batch {batch_id}" in f or "outside every" in f for f in findings)
    if proof_refused:  # a proof is refused from rows that no longer match
        with pytest.raises((VerificationFailed, StoreError)):
            build_record_proof(store, batch_id, "R-000001", BatchScreened.kind)
    else:
        build_record_proof(store, batch_id, "R-000001", BatchScreened.kind)


def test_a_changed_root_is_found(store: Store, log_signer: Signer) -> None:
    _record(store)
    store.sign_checkpoint(log_signer)
    with store.engine.begin() as conn:
        index, entry = conn.execute(
            text("SELECT leaf_index, entry FROM ledger_leaves WHERE kind = 'batch_screened'")
        ).one()
        conn.execute(
            text("UPDATE ledger_leaves SET entry = :entry WHERE leaf_index = :index"),
            {"entry": bytes(entry).replace(b'"results_root":"', b'"results_root":"f', 1), "index": index},
        )
    findings = [str(f) for f in store.verify(log_signer.verifier).findings]
    assert any(f"leaf {index}" in f and "was altered" in f for f in findings), findings


def test_a_forged_committed_batch_is_not_sealed(db_url: str, store: Store, log_signer: Signer) -> None:
    _record(store)
    store.sign_checkpoint(log_signer)
    with Store.open(db_url) as keyless:  # can write the database, holds no key
        batch_id = keyless.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
        _received, screening, _decisions, _ = batch_items(batch_id, 3)
        keyless.append_events([commit_screening(batch_id, screening)])
    findings = [str(f) for f in store.verify(log_signer.verifier, pending=True).findings]
    assert any("not covered by a seal" in f for f in findings), findings


def test_chunked_and_whole_appends_write_the_same_bytes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The very same committed batch appended to two stores, its rows written in one chunk
    and in chunks of 5: byte-identical leaves, rows, tiles and root."""
    batch_id = "b" * 32
    received, screening, decisions, disclosures = batch_items(batch_id, 23)
    events = [
        received,
        commit_screening(batch_id, screening),
        commit_decisions(batch_id, decisions),
        *disclosures,
    ]
    stored: list[tuple[object, ...]] = []
    for chunk, url in ((store_api.APPEND_CHUNK, f"sqlite:///{tmp_path}/whole.db"), (5, db_url)):
        monkeypatch.setattr(store_api, "APPEND_CHUNK", chunk)
        with Store.open(url) as store:
            store.create_batch(letter={}, file_digests={}, requesting_agency="ICE", batch_id=batch_id)
            result = store.append_events(events)
            with store.engine.connect() as conn:
                stored.append(
                    (
                        result.root_hash,
                        [(r[0], bytes(r[1])) for r in conn.execute(text("SELECT leaf_index, entry FROM ledger_leaves ORDER BY leaf_index"))],
                        conn.execute(text("SELECT batch_id, request_id, outcome, CAST(reasons AS TEXT), CAST(rules AS TEXT), event_id FROM screening_results ORDER BY id")).all(),
                        conn.execute(text("SELECT * FROM screening_items ORDER BY id")).all(),
                        conn.execute(text("SELECT * FROM decision_items ORDER BY id")).all(),
                        conn.execute(text("SELECT * FROM ledger_codes ORDER BY id")).all(),
                        conn.execute(text("SELECT * FROM commitments ORDER BY leaf_index")).all(),
                        conn.execute(text("SELECT request_id, decision, CAST(reasons AS TEXT), match_probability, taxpayer_pseudonym, event_id FROM decisions ORDER BY id")).all(),
                        [(r[0], r[1], bytes(r[2])) for r in conn.execute(text("SELECT level, idx, hashes FROM merkle_tiles ORDER BY level, idx"))],
                    )
                )  # fmt: skip
    assert stored[0] == stored[1]
    assert len(stored[0][2]) == 23 == len(stored[0][3])


def test_a_store_of_revision_0005_upgrades_to_the_same_roots(db_url: str, store: Store, log_signer: Signer) -> None:
    """A store as revision 0005 laid it out (every committed row with its batch id, event id
    and values as text) upgrades to the compact rows (0006): the same leaves, tiles, root and
    items, it verifies and each record is still provable. The 0005 layout is made by the
    downgrade, which writes the rows back as the earlier code wrote them."""
    from ftigate.store.db import downgrade, migrate

    batch_id, _ = _record(store)
    store.sign_checkpoint(log_signer)

    def state() -> tuple[object, ...]:
        with store.engine.connect() as conn:
            return (
                [tuple(r) for r in conn.execute(text("SELECT leaf_index, entry, leaf_hash FROM ledger_leaves ORDER BY leaf_index"))],
                [tuple(r) for r in conn.execute(text("SELECT level, idx, hashes FROM merkle_tiles ORDER BY level, idx"))],
                store.latest_tree_head(),
                store.committed_items("screening_results", batch_id, _event_id(store, BatchScreened.kind)),
                store.committed_items("decisions", batch_id, _event_id(store, BatchDecided.kind)),
            )  # fmt: skip

    before = state()
    downgrade(store.engine, "0005")
    with store.engine.connect() as conn:
        old = conn.execute(text("SELECT batch_id, request_id, outcome, event_id FROM screening_results ORDER BY id")).all()
        assert len(old) == 12 and {r[0] for r in old} == {batch_id}  # the earlier layout, as tables
        assert old[3][2] == "refuse"
    migrate(store.engine)
    assert state() == before
    assert store.verify(log_signer.verifier).ok
    document = build_record_proof(store, batch_id, "R-000003", BatchScreened.kind)
    assert "was screened refuse" in check_inclusion_document(document, log_signer.verifier)


def _event_id(store: Store, kind: str) -> str:
    return next(leaf.event_id for leaf in store.leaves(kind))


_CODES = st.lists(st.sampled_from(["NAME_MISSING", "ADDRESS_MISSING", "Ünïcode", 'quote"back\\slash']), max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=10).filter(lambda t: not any(c.isdigit() for c in t)),
            st.sampled_from(["sufficient", "refuse", "review"]), _CODES, _CODES,
            st.sampled_from(["disclose", "refuse", "review"]),
            st.none() | st.decimals(0, 1, places=4).map(str), st.booleans(), st.booleans(),
        ),
        min_size=1, max_size=40,
    )
)  # fmt: skip
def test_compact_rows_give_back_the_items_and_their_roots(tmp_path: Path, rows: list[tuple[object, ...]]) -> None:
    """Any items (texts with quotes, backslashes, controls and accents; null or decimal
    probabilities; with or without pseudonym and model digest) written as compact rows read
    back as the same items, and verify rehashes them, row by row, to the roots committed."""
    from ftigate.ledger.committed import DecisionItem, ScreeningItem

    batch_id = "c" * 32
    screening = [ScreeningItem(batch_id, f"{n}{r[0]}", r[1], tuple(r[2]), tuple(r[3])) for n, r in enumerate(rows)]  # type: ignore[arg-type]
    decisions = [
        DecisionItem(batch_id, f"{n}{r[0]}", r[4], tuple(r[2]), r[5], "ab" * 32 if r[6] else None,  # type: ignore[arg-type]
                     "cd" * 32 if r[7] else None)
        for n, r in enumerate(rows)
    ]  # fmt: skip
    database = tmp_path / f"p{uuid.uuid4().hex}.db"
    with Store.open(f"sqlite:///{database}") as store:
        store.create_batch(letter={}, file_digests={}, requesting_agency="ICE", batch_id=batch_id)
        screened, decided = commit_screening(batch_id, screening), commit_decisions(batch_id, decisions)
        store.append_events([screened, decided])
        assert store.committed_items("screening_results", batch_id, screened.event.event_id) == screening
        assert store.committed_items("decisions", batch_id, decided.event.event_id) == decisions
        report = store.verify(Signer.generate("p.example/log").verifier)
        assert not [str(f) for f in report.findings if "rows of batch" in str(f)]


@pytest.mark.parametrize("records", [4, 255, 256, 257, 700])
def test_a_record_proof_reads_its_tile_of_items_and_one_tile_per_level(
    store: Store, log_signer: Signer, records: int
) -> None:
    """prove-record reads the item's tile of 256 rows, the partial tile of items on the
    right edge (the one subtree of the path that is not a stored node) and the item tree's
    tiles above (stored at append time), not every row of the batch; each checks offline."""
    batch_id, _ = _record(store, records)
    store.sign_checkpoint(log_signer)
    event_id = _event_id(store, BatchDecided.kind)
    for position in sorted({0, records // 2, records - 1}):
        found = store.item_proof(batch_id, event_id, f"R-{position:06d}")
        assert found is not None and found.index == position and found.records == records
        assert found.rows_read <= 2 * 256 + 3 + 2  # two tiles of items, <= 3 tile rows, the item
        document = build_record_proof(store, batch_id, f"R-{position:06d}", BatchDecided.kind)
        assert f"item {position} of {records}" in check_inclusion_document(document, log_signer.verifier)
    assert store.item_proof(batch_id, event_id, "R-absent") is None


def _item_tiles(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT leaf_index, level, idx, hashes FROM item_tiles ORDER BY 1, 2, 3"))]  # fmt: skip


def test_a_record_of_a_store_upgraded_without_item_tiles_is_proved_from_its_rows(
    store: Store, log_signer: Signer
) -> None:
    """At revision 0006 a store upgraded from 0005 has no item tiles: its records are
    proved from all their rows, and still check."""
    from ftigate.store.db import downgrade, migrate

    batch_id, _ = _record(store, 600)
    store.sign_checkpoint(log_signer)
    downgrade(store.engine, "0005")
    migrate(store.engine, "0006")
    assert _item_tiles(store) == []
    event_id = _event_id(store, BatchScreened.kind)
    found = store.item_proof(batch_id, event_id, "R-000599")
    assert found is not None and found.rows_read > 600
    document = build_record_proof(store, batch_id, "R-000599", BatchScreened.kind)
    assert "item 599 of 600" in check_inclusion_document(document, log_signer.verifier)
    assert store.verify(log_signer.verifier).ok


def test_an_upgraded_store_gets_the_item_tiles_a_fresh_append_writes(store: Store, log_signer: Signer) -> None:
    """Revision 0007 rebuilds the item tiles 0006 could not move: the same rows as the
    append wrote, so every record of an upgraded store is proved in O(log n) rows."""
    from ftigate.store.db import downgrade, migrate

    batch_id, _ = _record(store, 700)
    store.sign_checkpoint(log_signer)
    appended = _item_tiles(store)
    assert appended  # two commitments of 700 items: tiles of level 1
    downgrade(store.engine, "0005")
    migrate(store.engine, "0006")
    assert _item_tiles(store) == []
    migrate(store.engine)
    assert _item_tiles(store) == appended
    event_id = _event_id(store, BatchDecided.kind)
    found = store.item_proof(batch_id, event_id, "R-000650")
    assert found is not None and found.rows_read <= 2 * 256 + 3 + 2
    document = build_record_proof(store, batch_id, "R-000650", BatchDecided.kind)
    assert "item 650 of 700" in check_inclusion_document(document, log_signer.verifier)
    assert store.verify(log_signer.verifier).ok


def test_rows_changed_outside_the_ledger_get_no_backfilled_tiles(store: Store, log_signer: Signer) -> None:
    """Tiles are rebuilt only from rows that hash to the committed root: a changed row
    leaves its commitment without tiles, its record proof is refused, verify names it."""
    from ftigate.store.db import downgrade, migrate

    batch_id, _ = _record(store, 600)
    store.sign_checkpoint(log_signer)
    downgrade(store.engine, "0005")
    migrate(store.engine, "0006")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE screening_items SET request_id = 'R-999999' WHERE request_id = 'R-000010'"))
    migrate(store.engine)
    screened = next(store.leaves(BatchScreened.kind)).leaf_index
    tiled = {leaf for leaf, *_ in _item_tiles(store)}
    assert len(tiled) == 1 and screened not in tiled  # the decisions' tiles only
    with pytest.raises(VerificationFailed):
        check_inclusion_document(build_record_proof(store, batch_id, "R-000500", BatchScreened.kind), log_signer.verifier)
    assert any("do not hash to the root" in str(f) for f in store.verify(log_signer.verifier).findings)
