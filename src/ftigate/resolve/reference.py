"""The taxpayer reference file, read once and shaped for matching.

A reference folder holds `taxpayers` and `addresses` (CSV or Parquet). Only those two
files are read: a synthetic population's `synth_*` ground-truth files sit beside them
and must never inform a decision.

From them this module builds, per taxpayer (one row per TIN):
  - the model's input columns (`standardise`), with the taxpayer's own addresses,
    current and prior, as lists of keys;
  - the last known address (the newest tax year's address, a 1040 preferred on ties),
    the only thing ever disclosed;
and, separately, the returns filed under a TIN in another person's name (W-2s under a
lent SSN): those addresses are not the TIN holder's and never corroborate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ftigate.intake.errors import IntakeError
from ftigate.resolve.standardise import (
    address_keys,
    address_parts,
    blocking_keys,
    dob_text,
    standard_names,
    surname_soundex,
    tin_digits,
)

TAXPAYER_COLUMNS = ("tin", "first_name", "middle_name", "last_name", "date_of_birth")
ADDRESS_COLUMNS = ("tin", "street", "unit", "city", "state", "zip", "tax_year")
DISCLOSED_COLUMNS = ("street", "unit", "city", "state", "zip")
SOURCE_PREFERENCE = {"1040": 0, "1099-NEC": 1, "W-2": 2}


@dataclass(frozen=True)
class Reference:
    """The reference file in matching shape."""

    people: pl.DataFrame
    """one row per taxpayer: the model's input columns (unique_id is the TIN)"""
    last_known: pl.DataFrame
    """tin, street, unit, city, state, zip: the newest address on file"""
    lent_returns: pl.DataFrame
    """tin, addr_key (house number|unit|ZIP) of returns filed under the TIN in another person's name"""
    names_per_tin: pl.DataFrame
    """tin, other_names: how many other names have filed under the TIN"""

    @property
    def size(self) -> int:
        return self.people.height


def find_table(folder: Path, stem: str) -> Path:
    for suffix in (".parquet", ".pq", ".csv"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise IntakeError(folder, f"no {stem}.parquet or {stem}.csv in the reference folder")


def _scan(path: Path, required: tuple[str, ...]) -> pl.LazyFrame:
    try:
        frame = pl.scan_csv(path, infer_schema=False) if path.suffix == ".csv" else pl.scan_parquet(path)
        columns = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as error:
        raise IntakeError(path, f"cannot read: {type(error).__name__}") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise IntakeError(path, f"missing column(s): {', '.join(missing)}")
    return frame


def load_reference(folder: Path) -> Reference:
    """Read `folder`/taxpayers and `folder`/addresses and shape them for matching."""
    if not folder.is_dir():
        raise IntakeError(folder, "reference must be a folder holding taxpayers and addresses")
    taxpayers = _scan(find_table(folder, "taxpayers"), TAXPAYER_COLUMNS)
    addresses = _scan(find_table(folder, "addresses"), ADDRESS_COLUMNS)
    tp_columns = taxpayers.collect_schema().names()
    ad_columns = addresses.collect_schema().names()

    people = (
        taxpayers.select(
            tin_digits(pl.col("tin").cast(pl.String)).alias("tin"),
            *[pl.col(c).cast(pl.String).fill_null("") for c in ("first_name", "middle_name", "last_name")],
            dob_text(pl.col("date_of_birth")).alias("dob"),
            (
                tin_digits(pl.col("prior_itin").cast(pl.String))
                if "prior_itin" in tp_columns
                else pl.lit(None, dtype=pl.String)
            ).alias("prior_itin"),
        )
        .filter(pl.col("tin").is_not_null())
        .unique("tin", keep="first")
        .collect()
    )

    other_name = (
        pl.col("name_on_return").cast(pl.String).fill_null("").str.strip_chars().str.len_chars() > 0
        if "name_on_return" in ad_columns
        else pl.lit(False)
    )
    source_rank = (
        pl.col("source").cast(pl.String).replace_strict(SOURCE_PREFERENCE, default=9, return_dtype=pl.Int8)
        if "source" in ad_columns
        else pl.lit(0, dtype=pl.Int8)
    )
    rows = (
        addresses.select(
            tin_digits(pl.col("tin").cast(pl.String)).alias("tin"),
            *[pl.col(c).cast(pl.String).fill_null("") for c in DISCLOSED_COLUMNS],
            pl.col("tax_year").cast(pl.Int32, strict=False).fill_null(0).alias("tax_year"),
            source_rank.alias("source_rank"),
            other_name.alias("other_name"),
        )
        .filter(pl.col("tin").is_not_null())
        .collect()
    )
    own = rows.filter(~pl.col("other_name"))
    last_known = (
        own.sort(["tin", "tax_year", "source_rank"], descending=[False, True, False])
        .unique("tin", keep="first", maintain_order=True)
        .select("tin", *DISCLOSED_COLUMNS)
    )
    distinct = rows.unique(["tin", "street", "unit", "zip", "other_name"]).select(
        "tin", "street", "unit", "zip", "other_name"
    )
    del rows, own
    keyed = address_keys(address_parts(distinct))
    lent_returns = (
        keyed.filter(pl.col("other_name"))
        .select("tin", pl.col("house_key").alias("addr_key"))
        .drop_nulls()
        .unique()
    )
    per_tin = (
        keyed.filter(~pl.col("other_name"))
        .group_by("tin")
        .agg(
            pl.col("addr_key").drop_nulls().unique().sort().alias("addr_keys"),
            pl.concat_list("near_a", "near_b")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("near_keys"),
            pl.col("street_key").drop_nulls().unique().sort().alias("street_keys"),
            pl.col("zip5").drop_nulls().unique().sort().alias("zips"),
        )
    )
    names_per_tin = lent_returns.group_by("tin").agg(pl.len().cast(pl.Int32).alias("other_names"))
    del keyed, distinct

    named = surname_soundex(standard_names(people))
    joined = named.join(per_tin, on="tin", how="left")
    empty = pl.lit([], dtype=pl.List(pl.String))
    reference_people = joined.select(
        pl.col("tin").alias("unique_id"),
        "first_name", "first_canon", "middle_initial", "last_name", "last_fused", "surname_tokens",
        "dob", "tin", "prior_itin",
        *[pl.col(c).fill_null(empty) for c in ("addr_keys", "near_keys", "street_keys", "zips")],
        "sx_tokens",
        pl.lit(None, dtype=pl.String).alias("request_addr_key"),
    ).pipe(blocking_keys)  # fmt: skip
    return Reference(
        people=reference_people,
        last_known=last_known,
        lent_returns=lent_returns,
        names_per_tin=names_per_tin,
    )


def term_frequencies(people: pl.DataFrame, column: str) -> pl.DataFrame:
    """`column`, tf_`column`: each value's share of the reference (not of the request batch)."""
    counts = people.select(pl.col(column)).drop_nulls().group_by(column).agg(pl.len().alias("n"))
    total = max(int(counts["n"].sum()), 1)
    return counts.select(column, (pl.col("n") / total).alias(f"tf_{column}"))
