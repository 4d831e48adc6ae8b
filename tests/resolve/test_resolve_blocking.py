"""Blocking rules, one case each: the rule that alone finds a request's taxpayer."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ftigate.resolve.reference import load_reference
from ftigate.resolve.score import pairs_by_rule
from ftigate.resolve.standardise import standard_requests

TAXPAYERS = {
    "tin": ["457950506", "457950507", "457950508"],
    "first_name": ["Betty", "Ronald", "Mary"],
    "middle_name": ["", "", ""],
    "last_name": ["Nesbit", "Nesbit", "Quill"],
    "date_of_birth": ["1985-11-04", "1955-02-01", "1970-03-03"],
}
ADDRESSES = {
    "tin": ["457950506", "457950507", "457950508"],
    "street": ["213 Washington Ct", "213 Washington Ct", "213 Washington Ct"],
    "unit": ["Apt 1B", "Apt 1B", "Apt 2C"],
    "city": ["Portsmouth"] * 3,
    "state": ["NH"] * 3,
    "zip": ["03801"] * 3,
    "tax_year": [2024] * 3,
}


def _request(first: str, last: str, street: str, unit: str) -> pl.DataFrame:
    row = {"request_id": "R1", "first_name": first, "middle_name": "", "last_name": last,
           "date_of_birth": "", "tin": "", "street": street, "unit": unit, "city": "Portsmouth",
           "state": "NH", "zip": "03801-2897"}  # fmt: skip
    return standard_requests(pl.DataFrame([row]))


def _rules(tmp_path: Path, request: pl.DataFrame) -> dict[str, set[str]]:
    folder = tmp_path / "reference"
    folder.mkdir()
    pl.DataFrame(TAXPAYERS).write_csv(folder / "taxpayers.csv")
    pl.DataFrame(ADDRESSES).write_csv(folder / "addresses.csv")
    people = load_reference(folder).people
    tins = people["unique_id"]
    pairs = pairs_by_rule(request, people).with_columns(
        tin=pl.col("_row").map_elements(lambda r: tins[r], return_dtype=pl.String)
    )
    return {rule: set(group["tin"]) for (rule,), group in pairs.group_by("rule")}


def test_a_misspelt_street_with_a_nickname_and_a_surname_slip_meets_its_home(tmp_path: Path) -> None:
    """Elizabeth Ensbit for Betty Nesbit (a nickname, a swap that changes the Soundex), no date
    of birth, no TIN, the street misspelt: only the near key (number, unit, ZIP and the
    street's last four letters) pairs the request with her home, and with her home only."""
    rules = _rules(tmp_path, _request("ELIZABETH", "ENSBIT", "213 Wsahington Ct", "Apt 1B"))
    assert rules == {"near": {"457950506", "457950507"}}


def test_the_near_key_does_not_reach_another_unit(tmp_path: Path) -> None:
    rules = _rules(tmp_path, _request("ELIZABETH", "ENSBIT", "213 Wsahington Ct", "Apt 3D"))
    assert "near" not in rules
