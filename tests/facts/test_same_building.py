"""`facts.address.same_building`: which address rows are at the requested building (the
household shown on a review item), table-driven."""

from __future__ import annotations

import polars as pl
import pytest

from ftigate.facts.address import same_building

ON_FILE = pl.DataFrame(
    {
        "tin": ["1", "2", "3", "4", "5", "6", "7"],
        "street": [
            "6241 Maple Street", "6241 MAPLE ST", "6241 Maple St", "6243 Maple St", "6241 Oak St",
            "6241 Maple St", "PO Box 12",
        ],
        "unit": ["", "Apt 4B", "#2", "", "", "", ""],
        "zip": ["55760", "55760", "55760", "55760", "55760", "55761", "55760"],
        "city": ["Mcgregor"] * 7,
    }
)  # fmt: skip


@pytest.mark.parametrize(
    ("street", "unit", "zip_code", "expected"),
    [
        # every unit of the building, whatever the suffix's spelling
        ("6241 Maple St", "", "55760", {"1", "2", "3"}),
        ("6241 maple street", "4B", "55760-1234", {"1", "2", "3"}),
        ("6241 MapleStreet", "", "55760", {"1", "2", "3"}),
        # another house number, another street, another ZIP: not this building
        ("6243 Maple Ave", "", "55760", {"4"}),
        ("6241 Oak Street", "", "55760", {"5"}),
        ("6241 Maple St", "", "55761", {"6"}),
        # a box is only the same box
        ("PO Box 12", "", "55760", {"7"}),
        ("PO Box 13", "", "55760", set()),
        # nothing to compare
        ("", "", "55760", set()),
        ("6241 Maple St", "", "", set()),
    ],
)
def test_same_building(street: str, unit: str, zip_code: str, expected: set[str]) -> None:
    requested = pl.DataFrame({"street": [street], "unit": [unit], "zip": [zip_code], "city": ["Mcgregor"]})
    found = same_building(requested, ON_FILE)
    assert set(found["tin"]) == expected
    assert found.columns == ON_FILE.columns
