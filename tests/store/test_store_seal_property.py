"""Property: `sign_checkpoint` signs exactly when every leaf since the last signed head
came through a keyed append, and `verify` then agrees (SQLite; the PostgreSQL path runs
the same code and is covered by test_store_forgery)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import PSEUDONYMS

import ftigate.store.items as items
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import RecordScreened
from ftigate.store.api import Store, UnsealedLeaves

SIGNER = Signer.generate("ftigate.test/ledger")

# Each step: ("keyed" | "forged", number of events) or ("sign", 0).
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["keyed", "forged"]), st.integers(1, 4)),
        st.just(("sign", 0)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_only_keyed_appends_are_ever_signed(steps: list[tuple[str, int]]) -> None:
    # the leaves are read three at a time, so the runs between seals cross the reads
    with tempfile.TemporaryDirectory() as tmp, patch.object(items, "READ_CHUNK", 3):
        url = f"sqlite:///{Path(tmp) / 'p.db'}"
        keyed = Store.open(url, signer=SIGNER, pseudonyms=PSEUDONYMS)
        forger = Store.open(url, run_migrations=False)
        try:
            batch = keyed.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
            keyed.append_events([RecordScreened(batch_id=batch, request_id="open", outcome="sufficient")])
            forged_since_signed = False
            forged_ever = False
            for number, (kind, count) in enumerate(steps):
                if kind == "sign":
                    try:
                        keyed.sign_checkpoint(SIGNER)
                    except UnsealedLeaves:
                        assert forged_since_signed
                    else:
                        assert not forged_since_signed
                    continue
                store = keyed if kind == "keyed" else forger
                store.append_events(
                    RecordScreened(batch_id=batch, request_id=f"{number}-{i}", outcome="refuse")
                    for i in range(count)
                )
                if kind == "forged":
                    forged_since_signed = forged_ever = True
            report = keyed.verify(SIGNER.verifier, pending=True)
            has_head = keyed.latest_checkpoint() is not None
            assert report.ok == (not forged_ever and has_head), [str(f) for f in report.findings]
        finally:
            keyed.close()
            forger.close()
