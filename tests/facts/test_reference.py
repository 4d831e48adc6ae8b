"""facts.reference: one reader of a reference folder (CSV or Parquet) and one rule for the
last known address, used by `process` (resolve.reference) and by `audit` and the replica
(audit.reference)."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.audit.reference import read_reference as audit_reads
from ftigate.facts.reference import (
    address_view,
    check_reference_folder,
    last_known_addresses,
    last_known_of,
    read_reference,
)
from ftigate.intake.errors import IntakeError
from ftigate.resolve.reference import load_reference as process_reads
from ftigate.synth import io
from ftigate.synth.population import generate_population

TAXPAYERS = {
    "tin": ["111-22-3333", "222334444", "333445555", "444556666", "bad"],
    "first_name": ["José", "Mary", "Li", "Ann", "X"],
    "middle_name": ["", "Ann", None, "", ""],
    "last_name": ["García-López", "O'Neil", "Wei", "Lee", "Y"],
    "date_of_birth": ["1980-01-02", "1975-12-31", "", "1990-01-01", "1990-01-01"],
}
# tin, street, unit, city, state, zip, tax_year, source, name_on_return
ADDRESSES = [
    ("111223333", "1 Oak Street", "", "Austin", "TX", "78701", "2022", "1040", ""),
    # one year, two forms: the 1040 is the taxpayer's own word
    ("111223333", "9 Elm Ave", "Apt 4", "Austin", "TX", "78702", "2024", "W-2", ""),
    ("111223333", "9 Elm Avenue", "# 4", "Austin", "TX", "78702", "2024", "1040", ""),
    # a W-2 in another person's name in the newest year is never Mary's address
    ("222334444", "PO Box 12", "", "Reno", "NV", "89501", "2023", "1040", ""),
    ("222334444", "5 Pine Rd", "", "Reno", "NV", "89502", "2024", "W-2", "Someone Else"),
    # a full tie is broken by the address, never by the order of the file
    ("333445555", "7 Main St", "", "Waco", "TX", "76701", "2021", "1099-NEC", "  "),
    ("333445555", "3 Main St", "", "Waco", "TX", "76701", "2021", "W-2", None),
    # a tax year that is not a number is older than any that is
    ("444556666", "8 Birch Ln", "", "Waco", "TX", "76702", "n/a", "1040", ""),
    ("444556666", "2 Birch Ln", "", "Waco", "TX", "76702", " 2019 ", "1040", ""),
]
EXPECTED = {
    "111223333": "9 Elm Avenue",
    "222334444": "PO Box 12",
    "333445555": "3 Main St",
    "444556666": "2 Birch Ln",
}
ADDRESS_SCHEMA = ["tin", "street", "unit", "city", "state", "zip", "tax_year", "source", "name_on_return"]


def _write(folder: Path, kind: str, rows: list[tuple[object, ...]] = ADDRESSES) -> Path:
    folder.mkdir(parents=True)
    taxpayers = pl.DataFrame(TAXPAYERS)
    addresses = pl.DataFrame(rows, schema=ADDRESS_SCHEMA, orient="row")
    if kind == "csv":
        taxpayers.write_csv(folder / "taxpayers.csv")
        addresses.write_csv(folder / "addresses.csv")
    else:
        taxpayers.with_columns(pl.col("date_of_birth").str.to_date(strict=False)).write_parquet(
            folder / "taxpayers.parquet"
        )
        addresses.with_columns(
            pl.col("tax_year").str.strip_chars().cast(pl.Int16, strict=False)
        ).write_parquet(folder / f"addresses.{'pq' if kind == 'pq' else 'parquet'}")
    return folder


@pytest.mark.parametrize("kind", ["csv", "parquet", "pq"])
def test_the_last_known_address_rule(tmp_path: Path, kind: str) -> None:
    folder = _write(tmp_path / kind, kind)
    tables = read_reference(folder)
    last = {r["tin"]: r["street"] for r in tables.last_known().to_dicts()}
    assert last == EXPECTED
    assert tables.taxpayers["tin"].to_list() == ["111223333", "222334444", "333445555", "444556666"]
    assert tables.taxpayers.filter(pl.col("tin") == "111223333")["date_of_birth"].item() == "1980-01-02"
    wanted = last_known_of(folder, pl.Series(["222334444", "999999999"]))
    assert wanted.to_dicts() == [
        {"tin": "222334444", "street": "PO Box 12", "unit": "", "city": "Reno", "state": "NV", "zip": "89501"}
    ]


def test_csv_keeps_leading_zeros(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "csv", "csv", [("012345678", "1 Oak St", "", "Boston", "MA", "02134", "2024", "1040", "")]
    )
    pl.DataFrame({**{k: v[:1] for k, v in TAXPAYERS.items()}, "tin": ["012-34-5678"]}).write_csv(
        folder / "taxpayers.csv"
    )
    tables = read_reference(folder)
    assert tables.taxpayers["tin"].to_list() == ["012345678"]
    assert tables.last_known().row(0, named=True)["zip"] == "02134"


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_rule_never_depends_on_the_order_of_the_file(rng: random.Random) -> None:
    rows = list(ADDRESSES)
    rng.shuffle(rows)
    frame = pl.DataFrame(rows, schema=ADDRESS_SCHEMA, orient="row")
    last = last_known_addresses(address_view(frame.lazy()))
    assert {r["tin"]: r["street"] for r in last.to_dicts()} == EXPECTED


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_audit_and_process_agree_on_every_last_known_address(tmp_path: Path, kind: str) -> None:
    """`process` reads through resolve.reference, `audit` and the replica through
    audit.reference: both must name the same last known address for every taxpayer, on CSV
    and on Parquet. Before one rule, the audit's could be a W-2 filed in another name."""
    population = generate_population(3_000, 11)
    folder = tmp_path / "pop"
    io.write_population(population, folder)
    addresses = pl.read_parquet(folder / "addresses.parquet")
    # the generator files lent W-2s before the lender's newest year; move some to after it
    newest = addresses.group_by("tin").agg(pl.col("tax_year").max().alias("newest"))
    lent = addresses.filter(pl.col("name_on_return").is_not_null()).join(newest, on="tin")
    assert lent.height > 10
    moved = lent.with_columns((pl.col("newest") + 1).cast(pl.Int16).alias("tax_year")).drop("newest")
    addresses = pl.concat([addresses, moved.select(addresses.columns)])
    taxpayers = pl.read_parquet(folder / "taxpayers.parquet")
    reference = tmp_path / kind
    reference.mkdir()
    if kind == "csv":
        taxpayers.write_csv(reference / "taxpayers.csv")
        addresses.write_csv(reference / "addresses.csv")
    else:
        taxpayers.write_parquet(reference / "taxpayers.parquet")
        addresses.write_parquet(reference / "addresses.parquet")

    audited = audit_reads(reference).last_known().sort("tin")
    prepared = process_reads(reference)
    processed = prepared.last_known_of(prepared.people["tin"]).sort("tin")
    assert audited.height == taxpayers.height
    assert audited.equals(processed)
    # none of them is a return filed in another person's name
    named = moved.select("tin", "street", "unit", "zip")
    assert audited.join(named, on=["tin", "street", "unit", "zip"], how="semi").height == 0


@pytest.mark.parametrize(
    ("setup", "message", "column"),
    [
        ("missing", "reference must be a folder", None),
        ("no_addresses", "no addresses.parquet or addresses.csv", None),
        ("no_tin", "missing required column(s): tin, tax_year", "tin"),
        ("garbage", "cannot read the reference file as Parquet", None),
    ],
)
def test_bad_folders_are_refused_with_the_file_and_column(
    tmp_path: Path, setup: str, message: str, column: str | None
) -> None:
    folder = tmp_path / "ref"
    if setup != "missing":
        folder.mkdir()
        pl.DataFrame(TAXPAYERS).write_csv(folder / "taxpayers.csv")
    if setup == "no_tin":
        pl.DataFrame(
            {"street": ["1 Oak St"], "unit": [""], "city": ["A"], "state": ["TX"], "zip": ["1"]}
        ).write_csv(folder / "addresses.csv")
    if setup == "garbage":
        (folder / "addresses.parquet").write_text("not parquet")
    with pytest.raises(IntakeError) as caught:
        check_reference_folder(folder)
        read_reference(folder)
    assert message in str(caught.value)
    assert caught.value.column == column
    if setup in {"no_tin", "garbage"}:
        assert "addresses." in caught.value.path
