"""The items a batch's `batch_screened` leaf commits to are each request's own outcome,
reasons and the citations they rest on, in file order, however the values are shared
between requests of the same combination."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.decide.record import SCREEN_OUTCOME, screening_items
from ftigate.law.loader import default_law
from ftigate.ledger.committed import ScreeningItem

LAW = default_law()
CODES = [*sorted(LAW.codes)[:12], "NOT_A_CODE"]


def _one_by_one(batch_id: str, screened: pl.DataFrame) -> list[ScreeningItem]:
    citations = {code: rc.citation for code, rc in LAW.codes.items()}
    items = []
    for request_id, outcome, codes in screened.iter_rows():
        reasons = () if outcome == "pass" else tuple(codes or ())
        rules = tuple(sorted({citations[c] for c in reasons if c in citations}))
        items.append(ScreeningItem(batch_id, request_id, SCREEN_OUTCOME.get(outcome, "review"), reasons, rules))
    return items


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["pass", "refuse", "review", "odd"]),
        st.none() | st.lists(st.sampled_from(CODES), max_size=3),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ROWS)
def test_screening_items_are_each_requests_own(rows: list[tuple[str, list[str] | None]]) -> None:
    screened = pl.DataFrame(
        {
            "request_id": [f"R{n:05d}" for n in range(len(rows))],
            "outcome": [outcome for outcome, _ in rows],
            "reasons": [codes for _, codes in rows],
        },
        schema={"request_id": pl.String, "outcome": pl.String, "reasons": pl.List(pl.String)},
    )
    assert screening_items("b" * 32, screened, LAW) == _one_by_one("b" * 32, screened)
