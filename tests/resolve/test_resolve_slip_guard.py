"""The keying-slip levels ask Damerau-Levenshtein only of pairs that pass two cheap tests;
the tests must never turn away a pair one slip apart."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.resolve.model import _slip_sql

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
