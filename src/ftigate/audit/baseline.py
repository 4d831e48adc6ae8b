"""BASELINE ONLY: a replica of the matching the IRS ran in August 2025.

This is the unlawful process, kept for measurement only. It exists so that an audit
can be checked against a known answer and so that ftigate's own decisions can be
compared with what the 2025 script would have released. Nothing in the disclosure
path imports it; its output must never be sent to anyone.

What it replicates (DESIGN.md section 1; declaration of an IRS official, Feb. 2026;
Center for Taxpayer Rights v. IRS, D.D.C. Feb. 26, 2026): two mutually exclusive
routes.

* TIN matching: the request's TIN (dashes removed) is a taxpayer's TIN and the IRS
  name control (first four letters of the surname, accents removed, upper case)
  agrees. The TIN's last known address is then disclosed whenever the request's
  address field holds something shaped like a ZIP code (five digits anywhere in
  street, unit, city, state and ZIP joined by spaces), with no check that the address
  supplied matches anything on file. These are the definitions the synthetic ground
  truth uses (`tin_name_match`, `address_zip_shaped`), so the two can be compared.
  A record whose TIN and name agree but whose address field fails the filter is not
  disclosed and does not fall through to the other route.
* Address matching: otherwise, the request's name (first and last, compared exactly
  after upper-casing and removing accents and punctuation) and its address (street,
  unit and five-digit ZIP, compared exactly the same way) equal a name and address on
  file under one TIN, any tax year, including W-2 rows filed under that TIN in
  another worker's name. Exactly one TIN must match (an assumption: the record does
  not say what the script did with two); its last known address is disclosed.
  Exact comparison is why the Inspector General found the criteria missed true
  matches on slight variations.

The letter is not examined at all: the 2025 process disclosed on a letter that
named one officer for more than a million investigations.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ftigate.audit.reference import (
    DISCLOSED_ADDRESS,
    EXACT_KEYS,
    Reference,
    exact_address_keys,
    last_known_addresses,
    name_control,
    name_words,
    read_reference,
    read_requests,
    tin_digits,
)
from ftigate.intake.letter import read_letter
from ftigate.intake.requests import ReadOptions
from ftigate.outputs import OutputFile, write_csv

BASELINE_COLUMNS = ("request_id", "route", "street", "unit", "city", "state", "zip")
ROUTE_TIN = "tin_matching"
ROUTE_ADDRESS = "address_matching"


def zip_shaped(requests: pl.DataFrame) -> pl.Series:
    """The 2025 filter on the address field: five digits anywhere in it."""
    return requests.select(
        pl.concat_str(["street", "unit", "city", "state", "zip"], separator=" ")
        .fill_null("")
        .str.contains(r"\d{5}")
    ).to_series()


def tin_name_matches(requests: pl.DataFrame, taxpayers: pl.DataFrame) -> pl.DataFrame:
    """request_id and the taxpayer TIN for every request whose TIN and name control agree."""
    wanted = requests.select(
        "request_id",
        tin_digits(pl.col("tin")).alias("tin"),
        name_control(pl.col("last_name")).alias("control"),
    ).filter(pl.col("tin").is_not_null() & (pl.col("control") != ""))
    on_file = taxpayers.select("tin", name_control(pl.col("last_name")).alias("control"))
    return wanted.join(on_file, on=["tin", "control"], how="inner").select("request_id", "tin")


def address_name_matches(requests: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """request_id and TIN where exactly one TIN has the request's exact name at its exact address."""
    full_name = name_words(pl.col("first_name")) + " " + name_words(pl.col("last_name"))
    wanted = requests.select("request_id", full_name.alias("name"), *exact_address_keys()).filter(
        (pl.col("a_zip5") != "") & (pl.col("a_street") != "")
    )
    names = reference.taxpayers.select("tin", full_name.alias("taxpayer_name"))
    rows = (
        reference.addresses.join(names, on="tin", how="left")
        .select(
            "tin",
            pl.when(pl.col("name_on_return").is_not_null())
            .then(name_words(pl.col("name_on_return")))
            .otherwise(pl.col("taxpayer_name"))
            .alias("name"),
            *exact_address_keys(),
        )
        .unique()
    )
    hits = wanted.join(rows, on=["name", *EXACT_KEYS], how="inner")
    unique_hits = (
        hits.group_by("request_id").agg(pl.col("tin").unique()).filter(pl.col("tin").list.len() == 1)
    )
    return unique_hits.select("request_id", pl.col("tin").list.first())


def irs_2025_disclosures(requests: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """What the 2025 process would have disclosed: one row per disclosure, in request order.

    Pure: `requests` holds the request columns (String), `reference` the taxpayer file.
    Returns request_id, route, and the disclosed last known address."""
    tin_hits = tin_name_matches(requests, reference.taxpayers)
    tin_route = (
        requests.select("request_id", zip_shaped(requests).alias("zip_shaped"))
        .join(tin_hits, on="request_id", how="inner")
        .filter("zip_shaped")
        .select("request_id", "tin", pl.lit(ROUTE_TIN).alias("route"))
    )
    remaining = requests.join(tin_hits.select("request_id"), on="request_id", how="anti")
    address_route = address_name_matches(remaining, reference).with_columns(
        pl.lit(ROUTE_ADDRESS).alias("route")
    )
    disclosed = pl.concat([tin_route, address_route]).join(
        last_known_addresses(reference.addresses), on="tin", how="inner"
    )
    order = requests.select("request_id").with_row_index("_order")
    return disclosed.join(order, on="request_id", how="left").sort("_order").select(*BASELINE_COLUMNS)


def write_baseline(
    letter: Path,
    requests: Path,
    reference: Path,
    out: Path,
    *,
    force: bool = True,
    read: ReadOptions | None = None,
) -> pl.DataFrame:
    """Read the inputs, run the replica, write `out` (CSV or Parquet) atomically."""
    disclosed = baseline_disclosures(letter, requests, reference, read=read)
    write_frame_atomically(disclosed, out, force=force)
    return disclosed


def baseline_disclosures(
    letter: Path, requests: Path, reference: Path, *, read: ReadOptions | None = None
) -> pl.DataFrame:
    """Read the inputs and run the replica (writes nothing)."""
    read_letter(letter)  # the 2025 process ignored the letter's content; it must still be one
    return irs_2025_disclosures(read_requests(requests, read), read_reference(reference))


def write_frame_atomically(frame: pl.DataFrame, out: Path, *, force: bool = True) -> None:
    """Write CSV (the one safe writer) or Parquet (by extension) as every single-file
    output is written: staged beside `out`, 0600, renamed into place."""
    with OutputFile(out, force=force) as target:
        if out.suffix.lower() in {".parquet", ".pq"}:
            frame.write_parquet(target.staging)
        else:
            with target.staging.open("wb") as stream:
                write_csv(frame, stream)
        target.commit()


__all__ = [
    "BASELINE_COLUMNS",
    "DISCLOSED_ADDRESS",
    "ROUTE_ADDRESS",
    "ROUTE_TIN",
    "irs_2025_disclosures",
    "write_baseline",
]
