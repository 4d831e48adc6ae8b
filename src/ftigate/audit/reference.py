"""The taxpayer reference file as the audit and the 2025 replica read it, and the
normalisations both use to compare request fields with it.

Only the reference proper is read: `taxpayers.parquet` and `addresses.parquet`
(DESIGN section 4). A synthetic population directory also holds generator ground
truth (`synth_*.parquet`); it is never opened here, so the audit judges a batch with
exactly what a real auditor would hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ftigate.intake.errors import IntakeError
from ftigate.intake.requests import REQUEST_COLUMNS, read_request_chunks

TAXPAYER_COLUMNS = ("tin", "first_name", "middle_name", "last_name", "date_of_birth")
ADDRESS_COLUMNS = ("tin", "street", "unit", "city", "state", "zip", "tax_year")
DISCLOSED_ADDRESS = ("street", "unit", "city", "state", "zip")


@dataclass(frozen=True)
class Reference:
    """Taxpayers (one row per TIN) and their address history (one row per TIN and year)."""

    taxpayers: pl.DataFrame
    addresses: pl.DataFrame


# --- normalisation (Polars expressions, shared by the replica and the audit) -------------


def plain_upper(expr: pl.Expr) -> pl.Expr:
    """Upper case with accents removed: 'Núñez' -> 'NUNEZ'."""
    return expr.fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_uppercase()


def name_key(expr: pl.Expr) -> pl.Expr:
    """A name as a comparable key: upper case, no accents, punctuation and hyphens as spaces."""
    return plain_upper(expr).str.replace_all(r"[^A-Z ]", " ").str.replace_all(r"\s+", " ").str.strip_chars()


def name_control(last_name: pl.Expr) -> pl.Expr:
    """The IRS "name control": the first four letters of the surname, accents removed,
    upper case (the same definition the synthetic ground truth uses)."""
    return plain_upper(last_name).str.replace_all(r"[^A-Z]", "").str.slice(0, 4)


def tin_digits(expr: pl.Expr) -> pl.Expr:
    """A TIN as nine digits, or null when the field does not hold one."""
    digits = expr.fill_null("").str.replace_all("-", "").str.strip_chars()
    return pl.when(digits.str.contains(r"^\d{9}$")).then(digits).otherwise(None)


def address_text(expr: pl.Expr) -> pl.Expr:
    """Upper case, no accents, punctuation as spaces, single spaces."""
    return (
        plain_upper(expr)
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z0-9 ]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def zip5(expr: pl.Expr) -> pl.Expr:
    """The five-digit ZIP at the start of a ZIP or ZIP+4 field ('' when there is none)."""
    return expr.fill_null("").str.strip_chars().str.extract(r"^(\d{5})(?:-?\d{4})?$", 1).fill_null("")


def address_keys(prefix: str = "") -> list[pl.Expr]:
    """Comparable parts of an address: ZIP5, house number, the rest of the street, unit.

    The state is left out on purpose: the ZIP fixes it, and requests write states in
    full ('California') as often as in USPS form."""
    street = address_text(pl.col(f"{prefix}street"))
    return [
        zip5(pl.col(f"{prefix}zip")).alias("a_zip5"),
        street.str.extract(r"^(\d+)\s", 1).fill_null("").alias("a_number"),
        street.str.replace(r"^\d+\s+", "").alias("a_street"),
        address_text(pl.col(f"{prefix}unit")).alias("a_unit"),
    ]


# --- reading -------------------------------------------------------------------------------


def _read_parquet(path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> pl.DataFrame:
    if not path.is_file():
        raise IntakeError(path, "reference file not found")
    try:
        schema = pl.read_parquet_schema(path)
    except Exception:  # polars raises several types for a file that is not Parquet
        raise IntakeError(path, "cannot read the reference file as Parquet") from None
    missing = [c for c in columns if c not in schema]
    if missing:
        raise IntakeError(path, f"missing required column(s): {', '.join(missing)}")
    wanted = [*columns, *(c for c in optional if c in schema)]
    frame = pl.read_parquet(path, columns=wanted)
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in optional if c not in schema)


def read_reference(directory: Path) -> Reference:
    """Read `taxpayers.parquet` and `addresses.parquet` from a reference directory."""
    if not directory.is_dir():
        raise IntakeError(directory, "the reference must be a directory holding taxpayers.parquet")
    taxpayers = _read_parquet(directory / "taxpayers.parquet", TAXPAYER_COLUMNS, ("prior_itin",))
    addresses = _read_parquet(directory / "addresses.parquet", ADDRESS_COLUMNS, ("name_on_return",))
    taxpayers = taxpayers.select(
        pl.col("tin").cast(pl.String),
        pl.col("prior_itin").cast(pl.String),
        *(pl.col(c).cast(pl.String).fill_null("") for c in ("first_name", "middle_name", "last_name")),
        pl.col("date_of_birth").cast(pl.String).fill_null(""),
    )
    addresses = addresses.select(
        pl.col("tin").cast(pl.String),
        *(pl.col(c).cast(pl.String).fill_null("") for c in DISCLOSED_ADDRESS),
        pl.col("tax_year").cast(pl.Int32),
        pl.col("name_on_return").cast(pl.String),
    )
    return Reference(taxpayers=taxpayers, addresses=addresses)


def read_requests(path: Path) -> pl.DataFrame:
    """The whole request file as String columns ('' for missing), with `_line`."""
    chunks = list(read_request_chunks(path))
    if not chunks:
        return pl.DataFrame(
            {c: pl.Series([], dtype=pl.String) for c in REQUEST_COLUMNS}
            | {"_line": pl.Series([], dtype=pl.Int64)}
        )
    frame = pl.concat([c.select(*REQUEST_COLUMNS, pl.col("_line").cast(pl.Int64)) for c in chunks])
    duplicated = frame.filter(pl.col("request_id").is_duplicated())
    if duplicated.height:
        raise IntakeError(path, "duplicate request_id", row=int(duplicated["_line"][0]), column="request_id")
    return frame


# --- derived views -------------------------------------------------------------------------


def last_known_addresses(addresses: pl.DataFrame) -> pl.DataFrame:
    """One row per TIN: the address of its newest tax year.

    Ties within a year (rare) go to a return filed under the taxpayer's own name, then
    to the lexically first address, so the choice never depends on row order."""
    return (
        addresses.sort(
            ["tin", "tax_year", pl.col("name_on_return").is_null(), "street", "unit", "zip"],
            descending=[False, True, True, False, False, False],
        )
        .unique("tin", keep="first", maintain_order=True)
        .select("tin", *DISCLOSED_ADDRESS)
    )


def own_addresses(reference: Reference) -> pl.DataFrame:
    """Every address on file for each taxpayer under their own name (any tax year).

    Rows filed under the TIN by someone else (a W-2 in another worker's name, the
    borrowed-SSN case) are not the taxpayer's address and do not corroborate one."""
    return (
        reference.addresses.filter(pl.col("name_on_return").is_null()).select("tin", *address_keys()).unique()
    )
