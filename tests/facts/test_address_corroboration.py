"""The corroboration tolerances, as tables (tests/facts/cases/corroboration.yaml) and as
properties: no tolerance ever accepts another house number or another unit."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.facts.address import (
    COMPARED_COLUMNS,
    Tolerance,
    address_parts,
    corroborate,
    corroborations,
    zip5,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "corroboration.yaml").read_text("utf-8"))
COLUMNS = ("street", "unit", "zip", "city")


def _parts(rows: list[list[str]]) -> pl.DataFrame:
    return address_parts(pl.DataFrame(rows, schema=list(COLUMNS), orient="row"))


def _judge(requested: list[list[str]], on_file: list[list[str]]) -> list[list[str] | None]:
    pairs = pl.concat(
        [_parts(requested).rename(lambda c: "r_" + c), _parts(on_file).rename(lambda c: "f_" + c)],
        how="horizontal",
    )
    return corroborations(pairs).to_list()


def _all_cases() -> list[tuple[str, str, dict]]:
    return [(group, case["name"], case) for group, cases in CASES.items() for case in cases]


def test_every_tolerance_has_cases_that_fire_and_cases_that_must_not() -> None:
    for tolerance in Tolerance:
        cases = CASES[tolerance.value]
        assert any(c["expect"] and tolerance.value in c["expect"] for c in cases), tolerance
        assert any(c["expect"] is None for c in cases), tolerance


@pytest.mark.parametrize(
    ("group", "name", "case"), _all_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_corroboration_case(group: str, name: str, case: dict) -> None:
    [found] = _judge([case["requested"]], [case["on_file"]])
    expected = None if case["expect"] is None else sorted(case["expect"])
    assert found == expected, f"{group}: {name}"


def test_frame_and_row_forms_agree() -> None:
    cases = [c for _, _, c in _all_cases()]
    requested = _parts([c["requested"] for c in cases])
    on_file = _parts([c["on_file"] for c in cases])
    frame = _judge([c["requested"] for c in cases], [c["on_file"] for c in cases])
    for r, f, from_frame in zip(
        requested.iter_rows(named=True), on_file.iter_rows(named=True), frame, strict=True
    ):
        one = corroborate({k: r[k] for k in COMPARED_COLUMNS}, {k: f[k] for k in COMPARED_COLUMNS})
        assert (None if one is None else sorted(t.value for t in one)) == from_frame


@pytest.mark.parametrize(
    ("text", "expected"),
    [("02134", "02134"), ("2134", "02134"), ("02134-1234", "02134"), ("021341234", "02134"),
     (" 90210 ", "90210"), ("9021", "09021"), ("2134-1234", "02134"), ("02134 1234", "02134"),
     # Puerto Rico and the Virgin Islands: two leading zeros dropped
     ("601", "00601"), ("901-1234", "00901"), ("12", None), ("123456", None), ("ABCDE", None), ("", None),
     (None, None)],
)  # fmt: skip
def test_zip5(text: str | None, expected: str | None) -> None:
    assert pl.select(zip5(pl.lit(text, dtype=pl.String))).item() == expected


streets = st.sampled_from(["Maple St", "Maple Street", "Maple", "S Cypress Rd", "Cypress Road", "pearsonstreet",
                           "Pearson St", "Priddle St", "pridle st", "Main St W", "Willow Blvd", "Calle del Sol"])  # fmt: skip
units = st.sampled_from(["", "Apt 1B", "#1B", "2B", "Unit 3", "Apt 12"])
zips = st.sampled_from(["02134", "02135", "02143", "02314", "90210"])
cities = st.sampled_from(["Boston", "BOSTON", "Cambridge", ""])
numbers = st.integers(min_value=1, max_value=99999)


@settings(max_examples=300, deadline=None)
@given(numbers, numbers, streets, streets, units, units, zips, zips, cities, cities)
def test_no_tolerance_accepts_another_house_number_or_unit(
    n1: int, n2: int, s1: str, s2: str, u1: str, u2: str, z1: str, z2: str, c1: str, c2: str
) -> None:
    requested = [f"{n1} {s1}", u1, z1, c1]
    on_file = [f"{n2} {s2}", u2, z2, c2]
    [found] = _judge([requested], [on_file])
    r, f = _parts([requested]).row(0, named=True), _parts([on_file]).row(0, named=True)
    if found is not None:
        assert r["house"] == f["house"]
        assert r["unit_std"] == f["unit_std"] or "" in (r["unit_std"], f["unit_std"])
        assert r["unit_std"] == f["unit_std"] or Tolerance.UNIT_OMITTED.value in found
