"""Issue 12, finding 4: forgery by someone who can write the database but holds no key.

Each test is the attack as the issue reproduced it, on SQLite and PostgreSQL: a forged
append through the store, deleted signed heads and a rewritten log, edited projections,
a replaced pseudonym key, another log key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from store_helpers import PSEUDONYMS, batch_events, seed

from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import BatchReceived, Pseudonymizer, RecordScreened, file_digest
from ftigate.ledger.merkle import EMPTY_ROOT
from ftigate.store.api import Store, StoreError, UnsealedLeaves


@pytest.fixture
def keyless(db_url: str, store: Store) -> Iterator[Store]:
    """The same database opened by someone without the keys (store opened it first)."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _findings(store: Store, signer: Signer, **options: object) -> list[str]:
    report = store.verify(signer.verifier, **options)  # type: ignore[arg-type]
    return [str(f) for f in report.findings]


def _forge_batch(store: Store, records: int = 2, agency: str = "Forged Agency") -> str:
    batch = store.create_batch(letter={}, file_digests={}, requesting_agency=agency)
    store.append_events(batch_events(batch, records))
    return batch


def test_a_sealed_log_verifies_and_names_its_keys(store: Store, log_signer: Signer) -> None:
    seed(store, 4)
    store.sign_checkpoint(log_signer)
    report = store.verify(log_signer.verifier)
    assert report.ok, [str(f) for f in report.findings]
    assert report.sealed_ranges == 1 and report.pseudonym_key == PSEUDONYMS.fingerprint()
    first = next(store.leaves())
    assert first.kind == "ledger_opened"
    assert PSEUDONYMS.key.hex() not in first.entry.decode()  # a keyed digest, never the key


def test_a_forged_append_is_not_signed(store: Store, keyless: Store, log_signer: Signer) -> None:
    seed(store, 3)
    store.sign_checkpoint(log_signer)
    signed_size = store.latest_tree_head().size
    _forge_batch(keyless)
    with pytest.raises(UnsealedLeaves, match=f"leaf {signed_size} is not covered by a valid seal"):
        store.sign_checkpoint(log_signer)
    findings = _findings(store, log_signer, pending=True)
    assert any(f"leaves {signed_size}.." in f and "not covered by a seal" in f for f in findings)
    # A legitimate append after the forgery does not launder it.
    seed(store, 1)
    with pytest.raises(UnsealedLeaves, match=f"leaf {signed_size} "):
        store.sign_checkpoint(log_signer)


def test_a_forged_seal_is_refused(store: Store, keyless: Store, log_signer: Signer) -> None:
    seed(store, 2)
    store.sign_checkpoint(log_signer)
    size = store.latest_tree_head().size
    impostor = Signer.generate(log_signer.name)
    with pytest.raises(StoreError, match="pinned to another log key"):
        keyless.use_keys(impostor, PSEUDONYMS)  # refused before any work
    keyless.signer, keyless.pseudonyms = impostor, PSEUDONYMS  # past that check,
    with pytest.raises(StoreError, match="pinned to another log key"):
        _forge_batch(keyless)  # the append checks the pins itself
    assert store.latest_tree_head().size == size  # nothing was written


def test_deleted_heads_and_a_rewritten_log_do_not_verify(
    store: Store, keyless: Store, log_signer: Signer
) -> None:
    seed(store, 3)
    overseer = store.sign_checkpoint(log_signer).serialize()
    # The attacker empties the log and writes their own history through the store.
    for statement in (
        "DELETE FROM signed_tree_heads",
        "DELETE FROM record_screened_rows",
        "DELETE FROM decision_rows",
        "DELETE FROM screening_items",
        "DELETE FROM decision_items",
        "DELETE FROM commitments",
        "DELETE FROM disclosures",
        "DELETE FROM ledger_leaves",
    ):
        _sql(keyless, statement)
    _sql(
        keyless,
        "UPDATE ledger_head SET size = 0, root_hash = :r, frontier = :f, last_leaf_hash = NULL",
        r=EMPTY_ROOT,
        f=b"",
    )
    _forge_batch(keyless, records=10)  # longer than the log it replaces
    findings = _findings(store, log_signer)
    assert any("no signed head" in f for f in findings)
    assert any("leaf 0 is not a ledger_opened entry" in f for f in findings)
    assert any("not covered by a seal" in f for f in findings)
    with_overseer = _findings(store, log_signer, outside_checkpoint=overseer)
    assert any("checkpoint file" in f and "not consistent" in f for f in with_overseer), with_overseer
    with pytest.raises(UnsealedLeaves, match="leaf 0 "):
        store.sign_checkpoint(log_signer)


def test_edited_projections_are_named_by_table_and_event(store: Store, log_signer: Signer) -> None:
    batch = seed(store, 6)
    store.sign_checkpoint(log_signer)
    with store.engine.connect() as conn:
        disclosure = conn.execute(text("SELECT event_id FROM disclosures ORDER BY id")).first()
        refusal = conn.execute(
            text("SELECT event_id FROM decisions WHERE decision = 'refuse' ORDER BY id")
        ).first()
    assert disclosure is not None and refusal is not None
    leaf_of = {leaf.event_id: leaf.leaf_index for leaf in store.leaves()}
    _sql(store, "DELETE FROM disclosures WHERE event_id = :e", e=disclosure[0])
    # (a per-leaf decision: batches recorded before batch_decided keep theirs in decision_rows)
    _sql(store, "UPDATE decision_rows SET decision = 'disclose' WHERE event_id = :e", e=refusal[0])
    _sql(
        store,
        "INSERT INTO disclosures (batch_id, request_id, taxpayer_pseudonym, date, "
        "recipient_agency, authority, purpose, disclosed, content_digest, event_id) VALUES "
        "(:b, 'R-X', :t, '2026-03-02', 'ICE', 'a', 'p', '[]', NULL, 'added-row')",
        b=batch,
        t=PSEUDONYMS.taxpayer("900000099"),
    )
    _sql(store, "UPDATE batches SET requesting_agency = 'Forged Agency' WHERE id = :b", b=batch)
    findings = _findings(store, log_signer)
    assert (
        f"disclosures: the row of event {disclosure[0]} (leaf {leaf_of[disclosure[0]]}) is "
        "missing (it was deleted)" in findings
    )
    assert (
        f"decisions: the row of event {refusal[0]} (leaf {leaf_of[refusal[0]]}) differs from "
        "the log in decision" in findings
    )
    assert any(f.startswith("disclosures: a row names event added-row") for f in findings)
    assert any(f.startswith("batches: the batch of event") and "requesting_agency" in f
               for f in findings)  # fmt: skip
    assert len(findings) == 4, findings
    assert PSEUDONYMS.taxpayer("900000099") not in " ".join(findings)


def test_the_store_refuses_another_pseudonym_key(store: Store, keyless: Store, log_signer: Signer) -> None:
    seed(store, 2)
    with pytest.raises(StoreError, match="pinned to another pseudonym key"):
        keyless.use_keys(log_signer, Pseudonymizer(b"\x07" * 32))
    batch = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
    stamped = BatchReceived(
        batch_id=batch,
        requesting_agency="ICE",
        letter_digest=file_digest(b"l"),
        files={},
        record_count=0,
        pseudonym_key=Pseudonymizer(b"\x07" * 32).fingerprint(),
    )
    with pytest.raises(StoreError, match="another pseudonym key"):
        store.append_events([stamped])


def test_verify_detects_a_batch_under_a_replaced_pseudonym_key(
    store: Store, db_url: str, log_signer: Signer
) -> None:
    seed(store, 2)
    # Recorded (and sealed) by the key holder, with the pin on leaf 0 bypassed.
    with Store.open(db_url) as other:
        other.signer, other.pseudonyms = log_signer, Pseudonymizer(b"\x07" * 32)
        other._pins_checked = True
        seed(other, 1)
    store.sign_checkpoint(log_signer)
    findings = _findings(store, log_signer)
    assert any("recorded under another pseudonym key" in f for f in findings), findings


def test_an_unkeyed_append_on_an_empty_log_pins_nothing(keyless: Store) -> None:
    keyless.append_events([RecordScreened(batch_id=seed_batch(keyless), request_id="r",
                                          outcome="sufficient")])  # fmt: skip
    assert [leaf.kind for leaf in keyless.leaves()] == ["record_screened"]


def seed_batch(store: Store) -> str:
    return store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
