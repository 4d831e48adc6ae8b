"""The reference in matching shape: last known address, key lists, lent returns, the prepared cache."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from ftigate.resolve.reference import (
    address_rows,
    last_known_addresses,
    load_reference,
    prepared_reference,
    residents_at,
)
from ftigate_testkit import key_codes as codes

TAXPAYERS = {
    "tin": ["111-22-3333", "222334444", "333445555", "bad"],
    "first_name": ["José", "Mary", "Li", "X"],
    "middle_name": ["", "Ann", None, ""],
    "last_name": ["García-López", "O'Neil Jr.", "Wei", "Y"],
    "date_of_birth": ["1980-01-02", "1975-12-31", "", "1990-01-01"],
}
ADDRESSES = [
    # tin, street, unit, city, state, zip, tax_year, source, name_on_return
    ("111223333", "1 Oak Street", "", "Austin", "TX", "78701", "2022", "1040", ""),
    ("111223333", "9 Elm Ave", "Apt 4", "Austin", "TX", "78702", "2024", "W-2", ""),
    ("111223333", "9 Elm Avenue", "# 4", "Austin", "TX", "78702", "2024", "1040", ""),
    ("222334444", "PO Box 12", "", "Reno", "NV", "89501", "2023", "1040", ""),
    ("222334444", "5 Pine Rd", "", "Reno", "NV", "89502", "2023", "W-2", "Someone Else"),
    ("333445555", "7 Main St", "", "Waco", "TX", "76701", "2021", "1040", ""),
    # a TIN the taxpayers table does not hold: its address belongs to no one in the reference
    ("444556666", "3 Birch Ln", "", "Waco", "TX", "76701", "2024", "1040", ""),
]


def _write(folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True)
    taxpayers = pl.DataFrame(TAXPAYERS)
    addresses = pl.DataFrame(
        ADDRESSES,
        schema=["tin", "street", "unit", "city", "state", "zip", "tax_year", "source", "name_on_return"],
        orient="row",
    )
    if kind == "csv":
        taxpayers.write_csv(folder / "taxpayers.csv")
        addresses.write_csv(folder / "addresses.csv")
    else:
        taxpayers.write_parquet(folder / "taxpayers.parquet")
        addresses.with_columns(pl.col("tax_year").cast(pl.Int16)).write_parquet(folder / "addresses.parquet")
    return folder


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_reference_shapes_names_addresses_and_lent_returns(tmp_path: Path, kind: str) -> None:
    reference = load_reference(_write(tmp_path / kind, kind))
    people = {row["tin"]: row for row in reference.people.to_dicts()}
    assert sorted(people) == ["111223333", "222334444", "333445555"]
    jose = people["111223333"]
    assert (jose["first_name"], jose["last_name"], jose["dob"]) == ("JOSE", "GARCIA LOPEZ", "1980-01-02")
    assert jose["addr_keys"] == codes("1 OAK ST||78701", "9 ELM AVE|4|78702")
    assert jose["near_keys"] == codes("1||78701|<OAK", "1||78701|>OAK", "9|4|78702|<ELM", "9|4|78702|>ELM")
    assert jose["zips"] == [78701, 78702]
    # Soundex G620 (Garcia) and L120 (Lopez) as numbers, times 100,000, plus the ZIP
    assert jose["name_zip_keys"] == [762078701, 762078702, 1212078701, 1212078702]
    mary = people["222334444"]
    assert mary["addr_keys"] == codes("PO BOX 12||89501") and mary["near_keys"] == []
    assert people["333445555"]["dob"] is None
    last = {row["tin"]: row["street"] for row in reference.last_known_of(reference.people["tin"]).to_dicts()}
    # newest year, a 1040 before a W-2; a return in another name is never the last known
    assert last == {"111223333": "9 Elm Avenue", "222334444": "PO Box 12", "333445555": "7 Main St"}
    only = reference.last_known_of(pl.Series(["222334444", "999999999"]))
    assert only["tin"].to_list() == ["222334444"]
    assert reference.lent_returns.to_dicts() == [{"tin": "222334444", "addr_key": "5||89502"}]
    assert reference.names_per_tin.to_dicts() == [{"tin": "222334444", "other_names": 1}]


def test_prepared_reference_is_read_back_until_the_file_changes(tmp_path: Path) -> None:
    folder = _write(tmp_path / "ref", "parquet")
    cache = tmp_path / "prepared"
    first = prepared_reference(folder, cache)
    assert (cache / "manifest.json").is_file()
    again = prepared_reference(folder, cache)
    assert again.people.equals(first.people)
    assert again.last_known_of(again.people["tin"]).equals(first.last_known_of(first.people["tin"]))
    pl.DataFrame({k: v[:1] for k, v in TAXPAYERS.items()}).write_parquet(folder / "taxpayers.parquet")
    stat = (folder / "taxpayers.parquet").stat()
    os.utime(folder / "taxpayers.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert prepared_reference(folder, cache).size == 1


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_residents_at_a_building_are_those_with_their_own_return_there(tmp_path: Path, kind: str) -> None:
    folder = _write(tmp_path / kind, kind)

    def at(street: str, zip_code: str) -> pl.DataFrame:
        return residents_at(folder, pl.DataFrame({"street": [street], "unit": [""], "zip": [zip_code], "city": [""]}))

    # Both forms of the Elm line, any unit; the latest tax year there (its first unit on a tie);
    # names from the taxpayers table.
    elm = at("9 Elm Av", "78702")
    assert elm.rows() == [("111223333", "José", "García-López", "1980-01-02", "# 4", 2024)]
    # A W-2 filed under the TIN in another person's name is not the taxpayer living there.
    assert at("5 Pine Road", "89502").is_empty()
    # An address row whose TIN is not in the taxpayers table names nobody.
    assert at("3 Birch Lane", "76701").is_empty()
    assert at("7 Main Street", "76701")["tin"].to_list() == ["333445555"]
    assert at("7 Main Street", "").is_empty()


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_address_rows_find_a_tin_however_its_field_is_written(tmp_path: Path, kind: str) -> None:
    """The TIN lookup reads nine-digit fields as they stand and cleans the rest first: a
    TIN written with dashes, spaces or padding is the same taxpayer's, and a field that is
    no TIN at all belongs to no one."""
    folder = _write(tmp_path / kind, kind)
    written = ["111-22-3333", " 111223333 ", "111 22 3333", "1112233330", "111-22-333X", "1112 2333", "222334444"]
    extra = pl.DataFrame(
        {"tin": written, "street": [f"{i} Fir St" for i in range(len(written))]}
    ).with_columns(
        unit=pl.lit(""), city=pl.lit("Reno"), state=pl.lit("NV"), zip=pl.lit("89501"), tax_year=pl.lit("2025"),
        source=pl.lit("1040"), name_on_return=pl.lit(""),
    )  # fmt: skip
    table = folder / f"addresses.{kind}"
    if kind == "csv":
        pl.concat([pl.read_csv(table, infer_schema=False), extra]).write_csv(table)
    else:
        pl.concat([pl.read_parquet(table), extra.with_columns(pl.col("tax_year").cast(pl.Int16))]).write_parquet(table)
    rows = address_rows(folder, pl.Series(["111223333", "999999999"]))
    assert set(rows["tin"]) == {"111223333"}
    assert sorted(rows.filter(pl.col("street").str.ends_with("Fir St"))["street"]) == ["0 Fir St", "1 Fir St", "2 Fir St"]
    assert rows.height == 3 + 3
    assert last_known_addresses(folder, pl.Series(["111223333"]))["street"].to_list() == ["0 Fir St"]
