"""A request named by a name and an address alone: one reading for the gates (on the
standardised fields) and the audit (on the raw ones)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.facts.dates import dob_text
from ftigate.facts.identifiers import name_and_address_alone
from ftigate.facts.tin import tin_digits

CASES = [
    # (tin, date_of_birth, name and address alone?)
    ("", "", True),
    (None, None, True),
    ("Failed to Provide", "Unknown", True),
    ("NA NA", "NA", True),
    ("12345678", "01/02/1990", True),  # eight digits; a date in another layout
    ("123-45-6789", "", False),
    ("123 45 6789", None, False),
    ("", "1990-01-02", False),
    ("", " 1990-01-02 ", False),
    ("Unknown", "1990-01-02", False),
]


@pytest.mark.parametrize(("tin", "dob", "alone"), CASES)
def test_a_request_gives_a_tin_or_a_date_of_birth_or_neither(tin: str | None, dob: str | None, alone: bool) -> None:
    frame = pl.DataFrame({"tin": [tin], "date_of_birth": [dob]}, schema={"tin": pl.String, "date_of_birth": pl.String})
    assert frame.select(name_and_address_alone(pl.col("tin"), pl.col("date_of_birth")))[0, 0] is alone


FIELD = st.text(max_size=14) | st.sampled_from(["123-45-6789", "123456789", "1990-01-02", " 1990-01-02", "NA"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(FIELD | st.none(), FIELD | st.none()), min_size=1, max_size=8))
def test_the_standardised_fields_read_as_the_raw_ones(rows: list[tuple[str | None, str | None]]) -> None:
    """The gates read the standardised TIN and date of birth, the audit the raw ones."""
    raw = pl.DataFrame(rows, schema={"tin": pl.String, "date_of_birth": pl.String}, orient="row")
    standard = raw.select(tin_digits(pl.col("tin")).alias("tin"), dob_text(pl.col("date_of_birth")).alias("date_of_birth"))
    reading = name_and_address_alone(pl.col("tin"), pl.col("date_of_birth"))
    assert raw.select(reading).to_series().to_list() == standard.select(reading).to_series().to_list()
