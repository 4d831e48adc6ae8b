"""One TIN rule for every stage (facts.tin): spaces and dashes are separators, anything
else means the field holds no TIN. Each row pins a value on which the stages used to
disagree (screening kept other characters, resolution dropped every non-digit, the audit
removed dashes only)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.facts.tin import tin_digits, tin_digits_sql, tin_given, tin_text_digits

CASES = [
    # (field, TIN, what the old rules said)
    ("123456789", "123456789", "all agreed"),
    ("123-45-6789", "123456789", "all agreed"),
    ("123 45 6789", "123456789", "the audit: no TIN"),
    (" 123-45-6789 ", "123456789", "the audit: no TIN"),
    ("123 - 45 - 6789", "123456789", "the audit: no TIN"),
    ("123.45.6789", None, "resolution: 123456789"),
    ("SSN 123456789", None, "resolution: 123456789"),
    ("123/45/6789", None, "resolution: 123456789"),
    ("123-45-678X", None, "resolution: no TIN; screening: malformed"),
    ("12345678", None, "too short"),
    ("1234567890", None, "too long"),
    ("", None, "blank"),
    (None, None, "missing"),
]


@pytest.mark.parametrize(("field", "expected", "before"), CASES)
def test_tin_digits(field: str | None, expected: str | None, before: str) -> None:
    assert pl.select(tin_digits(pl.lit(field, dtype=pl.String))).item() == expected, before
    assert tin_text_digits(field) == expected


@pytest.mark.parametrize(("field", "expected", "before"), CASES)
def test_sql_form_agrees(field: str | None, expected: str | None, before: str) -> None:
    con = duckdb.connect()
    try:
        found = con.execute(f"SELECT {tin_digits_sql('t')} FROM (SELECT CAST(? AS VARCHAR) AS t)", [field])
        assert found.fetchall() == [(expected,)]
    finally:
        con.close()


def test_a_malformed_tin_is_given_a_blank_one_is_not() -> None:
    frame = pl.DataFrame({"tin": ["", " - ", None, "12X", "123456789"]})
    assert frame.select(tin_given(pl.col("tin"))).to_series().to_list() == [False, False, False, True, True]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 -.xA/", max_size=14))
def test_a_tin_is_nine_digits_of_the_field_and_nothing_else(field: str) -> None:
    found = tin_text_digits(field)
    others = set(field) - set("0123456789 -")
    if found is not None:
        assert len(found) == 9 and found.isdigit() and not others
        assert found == "".join(c for c in field if c.isdigit())
    else:
        assert others or sum(c.isdigit() for c in field) != 9
    assert pl.select(tin_digits(pl.lit(field))).item() == found
