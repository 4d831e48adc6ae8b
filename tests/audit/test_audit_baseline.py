"""The 2025 replica's rules on hand-built rows: TIN route, ZIP-shape filter, address route."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from audit_fixtures import HandBatch

from ftigate.audit.baseline import ROUTE_ADDRESS, ROUTE_TIN, irs_2025_disclosures, zip_shaped
from ftigate.audit.reference import read_reference, read_requests
from ftigate.intake.requests import REQUEST_COLUMNS
from ftigate_testkit import record, write_requests


def _run(batch: HandBatch, rows: list[dict[str, str]], tmp_path: Path) -> pl.DataFrame:
    path = write_requests(tmp_path / "r.csv", rows)
    return irs_2025_disclosures(read_requests(path), read_reference(batch.reference))


def test_zip_shape_filter_is_five_digits_anywhere() -> None:
    frame = pl.DataFrame(
        [
            {"street": "Failed to Provide", "unit": "", "city": "", "state": "", "zip": ""},
            {"street": "Don't Care 12345", "unit": "", "city": "", "state": "", "zip": ""},
            {"street": "", "unit": "", "city": "", "state": "", "zip": "00000"},
            {"street": "NA NA", "unit": "", "city": "", "state": "", "zip": "1234"},
        ]
    )
    assert zip_shaped(frame).to_list() == [False, True, True, False]


def test_tin_route_ignores_whether_the_address_is_on_file(hand_batch: HandBatch, tmp_path: Path) -> None:
    rows = [
        record(1, ["A100"], tin="100000001", street="Don't Care 12345", unit="", city="", state="", zip=""),
        record(2, ["A100"], tin="100000001", street="Failed to Provide", unit="", city="", state="", zip=""),
        # accents and case do not change the name control
        record(
            3,
            ["A100"],
            tin="100-00-0001",
            last_name="Garcíá",
            street="",
            unit="",
            city="",
            state="",
            zip="00000",
        ),
        # a different name control: not the TIN route
        record(4, ["A100"], tin="100000001", last_name="Lopez"),
    ]
    out = _run(hand_batch, rows, tmp_path)
    assert out.filter(pl.col("route") == ROUTE_TIN)["request_id"].to_list() == ["R000001", "R000003"]
    assert out.filter(pl.col("request_id") == "R000001").select("street", "zip").row(0) == (
        "77 Elm Ave",
        "78702",
    )
    # The TIN+name match that failed the filter does not fall through to address matching.
    assert "R000002" not in out["request_id"].to_list()
    assert list(out.columns) == ["request_id", "route", "street", "unit", "city", "state", "zip"]


def test_address_route_needs_an_exact_unique_name_and_address(hand_batch: HandBatch, tmp_path: Path) -> None:
    rows = [
        # exact name and a prior address on file: disclosed (the last known address)
        record(1, ["A100"], tin=""),
        # one typo in the street: the 2025 matching missed it
        record(2, ["A100"], tin="", street="1234 N Oka St"),
        # two Jose Garcias at one house: no unique match
        record(
            3,
            ["A100"],
            tin="",
            first_name="Jose",
            last_name="Garcia",
            street="500 Pine Rd",
            unit="",
            city="El Paso",
            zip="79901",
        ),
        # a W-2 under the lender's SSN in a non-filer's name matches: her address is released
        record(
            4,
            ["A100"],
            tin="",
            first_name="Luis",
            last_name="Small",
            street="8 Bay St",
            unit="",
            city="Houston",
            zip="77003",
        ),
        # the filing borrower matches two TINs (his own return and the W-2 under hers): none
        record(
            5,
            ["A100"],
            tin="",
            first_name="Pedro",
            last_name="Smithers",
            street="31 Hill St",
            unit="",
            city="Houston",
            zip="77002",
        ),
    ]
    out = _run(hand_batch, rows, tmp_path)
    assert out["request_id"].to_list() == ["R000001", "R000004"]
    assert set(out["route"].to_list()) == {ROUTE_ADDRESS}
    assert out.row(0, named=True)["street"] == "77 Elm Ave"
    assert out.row(1, named=True)["street"] == "9 Lake Dr"


def test_request_columns_are_the_data_contract() -> None:
    assert {"request_id", "tin", "last_name", "street", "zip"} <= set(REQUEST_COLUMNS)
