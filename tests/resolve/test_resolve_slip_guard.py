"""The keying-slip levels ask Damerau-Levenshtein only of pairs that pass two cheap tests;
the tests must never turn away a pair one slip apart."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.resolve.model import DOB_SLIP_GUARD, _slip_sql, dob_slip_sql

NAMES = st.text(alphabet="ABCDEJNOS", min_size=3, max_size=9)


def _edits(word: str, data: st.DataObject) -> str:
    """`word` with one random edit (insert, delete, substitute, swap neighbours) or none."""
    kind = data.draw(st.sampled_from(["none", "insert", "delete", "substitute", "swap"]))
    at = data.draw(st.integers(0, len(word) - 1))
    letter = data.draw(st.sampled_from("ABCDEJNOS"))
    if kind == "insert":
        return word[:at] + letter + word[at:]
    if kind == "delete":
        return word[:at] + word[at + 1 :]
    if kind == "substitute":
        return word[:at] + letter + word[at + 1 :]
    if kind == "swap" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word


@settings(max_examples=300, deadline=None)
@given(word=NAMES, other=NAMES, data=st.data())
def test_the_guarded_slip_is_damerau_levenshtein_within_one(word: str, other: str, data: st.DataObject) -> None:
    edited = _edits(word, data)
    con = duckdb.connect()
    for left, right in ((word, edited), (word, other), (edited, other)):
        if min(len(left), len(right)) < 3:
            continue
        guarded, plain = con.execute(
            f"SELECT ({_slip_sql('a', 'b')}), damerau_levenshtein(a, b) <= 1 FROM (SELECT ? AS a, ? AS b)",
            [left, right],
        ).fetchone()  # type: ignore[misc]
        assert guarded == plain, (left, right)
    con.close()


DIGITS = "0123456789"


def _date_slip(text: str, data: st.DataObject) -> str:
    """`text` (YYYY-MM-DD) with one keying slip of any kind the level knows, or none; still
    of the shape `standardise.dob_text` lets through (digits where digits are)."""
    kind = data.draw(st.sampled_from(["none", "substitute", "swap", "year", "day", "day_month", "other"]))
    at = data.draw(st.integers(0, len(text) - 1))
    if kind == "substitute" and text[at] != "-":
        return text[:at] + data.draw(st.sampled_from(DIGITS)) + text[at + 1 :]
    if kind == "swap" and at < len(text) - 1 and "-" not in text[at : at + 2]:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if kind == "year":
        return f"{min(9999, int(text[:4]) + data.draw(st.sampled_from([-1, 1]))):04d}{text[4:]}"
    if kind == "day":
        return f"{text[:8]}{max(0, int(text[8:]) + data.draw(st.sampled_from([-1, 1]))):02d}"
    if kind == "day_month":
        return f"{text[:5]}{text[8:]}-{text[5:7]}"
    if kind == "other":
        return data.draw(st.dates()).isoformat()
    return text


@settings(max_examples=400, deadline=None)
@given(born=st.dates(), data=st.data())
def test_the_guarded_date_of_birth_slip_is_the_unguarded_one(born: object, data: st.DataObject) -> None:
    """DOB_SLIP_GUARD turns away only pairs no branch of the level accepts: any date, one
    slip of it, or another date (and strings of other lengths are never guarded)."""
    text = born.isoformat()  # type: ignore[attr-defined]
    slipped = _date_slip(text, data)
    con = duckdb.connect()
    guarded, plain = con.execute(
        "SELECT coalesce(" + f"{DOB_SLIP_GUARD} AND ({dob_slip_sql()}), false), "
        f"coalesce({dob_slip_sql()}, false) FROM (SELECT ? AS dob_l, ? AS dob_r)",
        [text, slipped],
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert guarded == plain, (text, slipped)
