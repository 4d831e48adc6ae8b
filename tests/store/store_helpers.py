"""Small builders shared by the store and CLI tests (synthetic data only)."""

from __future__ import annotations

from ftigate.ledger.committed import DecisionItem, ScreeningItem
from ftigate.ledger.events import (
    BatchReceived,
    Decision,
    Disclosure,
    LedgerEvent,
    Pseudonymizer,
    RecordScreened,
    file_digest,
)
from ftigate.store.api import Store

PSEUDONYMS = Pseudonymizer(b"\x42" * 32)


def batch_items(
    batch_id: str, records: int, disclose_every: int = 3
) -> tuple[BatchReceived, list[ScreeningItem], list[DecisionItem], list[Disclosure]]:
    """The batch of :func:`batch_events` in the shape the recorder records it: screening
    results and decisions as items (committed by one leaf each), a disclosure leaf per
    disclosed request. The same values, so the two shapes are compared like for like."""
    received = BatchReceived(
        batch_id=batch_id,
        requesting_agency="ICE",
        letter_digest=file_digest(b"letter"),
        files={"requests.csv": file_digest(b"rows")},
        record_count=records,
    )
    screening: list[ScreeningItem] = []
    decisions: list[DecisionItem] = []
    disclosures: list[Disclosure] = []
    for i in range(records):
        request_id = f"R-{i:06d}"
        taxpayer = PSEUDONYMS.taxpayer(f"9{i:08d}")
        disclose = i % disclose_every == 0
        screening.append(ScreeningItem(batch_id, request_id, "sufficient"))
        decisions.append(
            DecisionItem(
                batch_id, request_id, "disclose" if disclose else "refuse",
                () if disclose else ("ADDRESS_NOT_CORROBORATED",),
                "0.9990" if disclose else "0.4000", taxpayer,
            )
        )  # fmt: skip
        if disclose:
            disclosures.append(
                Disclosure(
                    batch_id=batch_id, request_id=request_id, taxpayer=taxpayer, date="2026-03-02",
                    recipient_agency="ICE", authority="26 U.S.C. 6103(i)(2)",
                    purpose="8 U.S.C. 1253(a)(1)",
                )
            )  # fmt: skip
    return received, screening, decisions, disclosures


def batch_events(batch_id: str, records: int, disclose_every: int = 3) -> list[LedgerEvent]:
    events: list[LedgerEvent] = [
        BatchReceived(
            batch_id=batch_id,
            requesting_agency="ICE",
            letter_digest=file_digest(b"letter"),
            files={"requests.csv": file_digest(b"rows")},
            record_count=records,
        )
    ]
    for i in range(records):
        request_id = f"R-{i:06d}"
        taxpayer = PSEUDONYMS.taxpayer(f"9{i:08d}")
        events.append(
            RecordScreened(batch_id=batch_id, request_id=request_id, outcome="sufficient")
        )
        disclose = i % disclose_every == 0
        events.append(
            Decision(
                batch_id=batch_id,
                request_id=request_id,
                decision="disclose" if disclose else "refuse",
                reasons=() if disclose else ("ADDRESS_NOT_CORROBORATED",),
                match_probability="0.9990" if disclose else "0.4000",
                taxpayer=taxpayer,
            )
        )
        if disclose:
            events.append(
                Disclosure(
                    batch_id=batch_id,
                    request_id=request_id,
                    taxpayer=taxpayer,
                    date="2026-03-02",
                    recipient_agency="ICE",
                    authority="26 U.S.C. 6103(i)(2)",
                    purpose="8 U.S.C. 1253(a)(1)",
                )
            )
    return events


def seed(store: Store, records: int = 10) -> str:
    batch_id = store.create_batch(
        letter={"requesting_agency": "ICE", "statute": "8 U.S.C. 1253(a)(1)"},
        file_digests={"requests.csv": file_digest(b"rows")},
        requesting_agency="ICE",
    )
    store.append_events(batch_events(batch_id, records))
    return batch_id
