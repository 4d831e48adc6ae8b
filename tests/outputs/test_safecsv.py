"""The one CSV writer: a cell a spreadsheet would evaluate is prefixed with a quote
(OWASP CSV injection); numbers stay numbers; Parquet keeps values unchanged."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftigate.outputs import csv_bytes, neutralise, neutralise_cell, restore, restore_cell, rows_csv_text

DANGEROUS = [
    '=HYPERLINK("http://x.example","click")',
    "\t=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\r=1",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("cell", DANGEROUS)
def test_formula_cells_are_prefixed(cell: str) -> None:
    text = csv_bytes(pl.DataFrame({"request_id": [cell], "n": [1]})).decode()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["request_id"] == "'" + cell


@pytest.mark.parametrize("cell", ["R1", "Maria", "'quoted", "1234 N Oak St", "", "a=b", "O'Brien"])
def test_ordinary_cells_are_unchanged(cell: str) -> None:
    assert neutralise_cell(cell) == cell
    assert neutralise(pl.DataFrame({"c": [cell]}))["c"][0] == cell


def test_numbers_stay_numbers_and_nulls_stay_empty() -> None:
    frame = pl.DataFrame(
        {"p": [-0.5, 1.0], "n": [-3, 4], "s": ["-3", None]},
        schema={"p": pl.Float64, "n": pl.Int64, "s": pl.String},
    )
    assert csv_bytes(frame).decode() == "p,n,s\n-0.5,-3,'-3\n1.0,4,\n"


def test_categorical_cells_are_neutralised() -> None:
    frame = pl.DataFrame({"c": ["=1", "x"]}, schema={"c": pl.Categorical})
    assert neutralise(frame)["c"].to_list() == ["'=1", "x"]


def test_row_writer_applies_the_same_rule() -> None:
    text = rows_csv_text(["agency", "n"], [["=evil()", -1], ["ICE", 2]])
    assert text == "agency,n\n'=evil(),-1\nICE,2\n"


def test_a_quote_before_a_formula_is_quoted_again_so_the_rule_reverses() -> None:
    assert neutralise_cell("'=x") == "''=x"
    assert restore_cell("''=x") == "'=x" and restore_cell("'=x") == "=x" and restore_cell("'x") == "'x"


formula_heavy = st.text(alphabet=st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "a", "1", ",", '"', "\n"]))


@given(st.lists(st.one_of(st.text(), formula_heavy), min_size=1, max_size=20))
def test_no_cell_read_back_starts_a_formula_and_restore_gives_the_value_back(cells: list[str]) -> None:
    """Property: whatever the text, no cell read back starts like a formula, and restoring
    gives every value back exactly (Python's csv reader and Polars' alike)."""
    text = csv_bytes(pl.DataFrame({"v": cells}, schema={"v": pl.String})).decode()
    back = [row[0] for row in csv.reader(io.StringIO(text, newline=""))][1:]
    assert len(back) == len(cells)
    for original, cell in zip(cells, back, strict=True):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert restore_cell(cell) == original
    read = pl.read_csv(io.BytesIO(text.encode()), infer_schema=False).fill_null("")
    assert restore(read)["v"].to_list() == cells
