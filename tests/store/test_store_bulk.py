"""A chunk's inspections as the recorder makes them in bulk (`inspected_events`) against
the naive construction it replaced, one event a request with `hmac` pseudonyms: the same
events, and appended, byte-identical leaves and the same root on SQLite and PostgreSQL;
the log they make verifies, and a changed inspection is still found."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from pathlib import Path

import polars as pl
from sqlalchemy import text
from store_helpers import PSEUDONYMS

from ftigate.decide.record import inspected_events
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import EncodedEntry, RecordsInspected
from ftigate.store.api import Store

BATCH = "b" * 32
SEED = 15


def _chunk(requests: int) -> tuple[pl.Series, pl.DataFrame]:
    """Request ids and the (request, TIN) candidates their searches read, some read by
    several requests, some requests reading nobody, duplicate pairs included."""
    rng = random.Random(SEED)
    print(f"seed: {SEED}")
    ids = [f"R-{i:04d}" for i in rng.sample(range(10_000), requests)]
    pool = [f"{rng.randrange(10**9):09d}" for _ in range(requests)]
    pairs = [(rid, rng.choice(pool)) for rid in ids for _ in range(rng.randrange(6))]
    pairs += pairs[:5]
    return pl.Series("unique_id", ids), pl.DataFrame(pairs, schema=["request_id", "tin"], orient="row")


def _naive(request_ids: pl.Series, candidates: pl.DataFrame, like: list[EncodedEntry]) -> list[RecordsInspected]:  # fmt: skip
    """One event per request, in request order, with the sorted distinct pseudonyms of the
    TINs it read, each an HMAC-SHA256 made by `hmac` itself; ids and times from `like`."""
    read: dict[str, set[str]] = {}
    for request_id, tin in candidates.iter_rows():
        pseudonym = hmac.new(PSEUDONYMS.key, tin.encode("ascii"), hashlib.sha256).hexdigest()
        read.setdefault(request_id, set()).add(pseudonym)
    return [
        RecordsInspected(
            event_id=event.event_id, at=json.loads(event.data)["at"], batch_id=BATCH, request_id=request_id,
            taxpayers=tuple(sorted(read.get(request_id, ()))),
        )
        for event, request_id in zip(like, request_ids, strict=True)
    ]  # fmt: skip


def _leaves(store: Store) -> list[tuple[int, str, bytes, bytes]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT leaf_index, kind, entry, leaf_hash FROM ledger_leaves ORDER BY leaf_index"))
        return [(r[0], r[1], bytes(r[2]), bytes(r[3])) for r in rows]


def test_inspections_in_bulk_append_the_leaves_of_the_naive_events(db_url: str, tmp_path: Path) -> None:
    request_ids, candidates = _chunk(300)
    bulk = inspected_events(BATCH, request_ids, candidates, PSEUDONYMS)
    naive = _naive(request_ids, candidates, bulk)
    assert [(entry.kind, entry.event_id, entry.data) for entry in bulk] == [
        (event.kind, event.event_id, event.canonical()) for event in naive
    ]
    assert any(not event.taxpayers for event in naive) and any(len(event.taxpayers) > 2 for event in naive)
    stored = []
    for url, events in ((db_url, bulk), (f"sqlite:///{tmp_path / 'naive.db'}", naive)):
        with Store.open(url) as store:  # no keys: no genesis or seal leaf, nothing random
            store.create_batch(letter={}, file_digests={}, requesting_agency="ICE", batch_id=BATCH)
            result = store.append_events(events)
            stored.append((result.root_hash, _leaves(store)))
    assert stored[0] == stored[1]
    assert len(stored[0][1]) == 300


def test_a_log_of_bulk_inspections_verifies_and_a_changed_one_is_found(
    store: Store, log_signer: Signer
) -> None:
    request_ids, candidates = _chunk(50)
    store.create_batch(letter={}, file_digests={}, requesting_agency="ICE", batch_id=BATCH)
    store.append_events(inspected_events(BATCH, request_ids, candidates, PSEUDONYMS))
    store.sign_checkpoint(log_signer)
    assert store.verify(log_signer.verifier).ok
    with store.engine.begin() as conn:
        entry = conn.execute(text("SELECT entry FROM ledger_leaves WHERE leaf_index = 7")).scalar_one()
        changed = bytes(entry).replace(b'"taxpayers":[', b'"taxpayers":["' + b"0" * 64 + b'",', 1)
        changed = changed.replace(b',"taxpayers":["' + b"0" * 64 + b'",]', b',"taxpayers":["' + b"0" * 64 + b'"]')
        conn.execute(text("UPDATE ledger_leaves SET entry = :e WHERE leaf_index = 7"), {"e": changed})
    findings = [str(f) for f in store.verify(log_signer.verifier).findings]
    assert any("leaf 7" in f and "altered" in f for f in findings), findings
