"""The taxpayer reference folder, for every command that reads it, and the one rule for a
taxpayer's last known address.

A reference folder holds two tables, each `.parquet`, `.pq` or `.csv` (CSV is read as
text, so a TIN or ZIP keeps its leading zeros):

  taxpayers  tin, first_name, middle_name, last_name, date_of_birth (optional: prior_itin,
             tin_type)
  addresses  tin, street, unit, city, state, zip, tax_year (optional: source, the form
             the address came from, e.g. 1040, W-2, 1099-NEC; name_on_return, the name on
             a return filed under the TIN in another person's name)

Only these two are read: a synthetic population's `synth_*` ground-truth files sit beside
them and must never inform a decision or an audit.

The last known address of a taxpayer is the address on their most recent return filed
under their own name: a W-2 or 1099 filed under the TIN in another person's name
(`name_on_return` not blank) is never the taxpayer's address. The newest tax year comes
first; on a tie, a 1040 before an information return; then the lexically first address,
so the choice never depends on the order of the file. `process`, `reference prepare`,
`audit` and `baseline irs-2025` all read through this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ftigate.facts.tin import tin_digits
from ftigate.intake.errors import IntakeError

TAXPAYER_COLUMNS = ("tin", "first_name", "middle_name", "last_name", "date_of_birth")
TAXPAYER_OPTIONAL = ("prior_itin", "tin_type")
ADDRESS_COLUMNS = ("tin", "street", "unit", "city", "state", "zip", "tax_year")
ADDRESS_OPTIONAL = ("source", "name_on_return")
DISCLOSED_COLUMNS = ("street", "unit", "city", "state", "zip")
"""the last known address, the only thing ever disclosed"""
TABLE_SUFFIXES = (".parquet", ".pq", ".csv")
OWN_RETURN_SOURCE = "1040"
"""the form filed by the taxpayer themselves; preferred over information returns on a tie"""


def check_reference_folder(folder: Path) -> None:
    """Raise IntakeError unless `folder` holds a taxpayers and an addresses table."""
    if not folder.is_dir():
        raise IntakeError(folder, "reference must be a folder holding taxpayers and addresses")
    for stem in ("taxpayers", "addresses"):
        find_table(folder, stem)


def find_table(folder: Path, stem: str) -> Path:
    """`folder`/`stem` with the first of TABLE_SUFFIXES that exists."""
    for suffix in TABLE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise IntakeError(folder, f"no {stem}.parquet or {stem}.csv in the reference folder")


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def scan_table(path: Path, required: tuple[str, ...]) -> pl.LazyFrame:
    """A reference table, lazily; CSV as text. Raises IntakeError naming the file and the
    missing columns (never a value)."""
    try:
        frame = (
            pl.scan_csv(path, infer_schema=False, encoding="utf8") if _is_csv(path) else pl.scan_parquet(path)
        )
        columns = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError):
        kind = "CSV" if _is_csv(path) else "Parquet"
        raise IntakeError(path, f"cannot read the reference file as {kind}") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise IntakeError(path, f"missing required column(s): {', '.join(missing)}", column=missing[0])
    return frame


def source_sql(path: Path) -> str:
    """A reference table as a DuckDB table function (CSV as text)."""
    quoted = "'" + str(path).replace("'", "''") + "'"
    if _is_csv(path):
        return f"read_csv({quoted}, all_varchar = true, header = true)"
    return f"read_parquet({quoted})"


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null("")


def _optional(columns: list[str], name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name in columns else pl.lit(None, dtype=pl.String)


def own_return(name_on_return: pl.Expr) -> pl.Expr:
    """A return filed under the taxpayer's own name: no other name on it."""
    return name_on_return.cast(pl.String).fill_null("").str.strip_chars() == ""


def tax_year(expr: pl.Expr) -> pl.Expr:
    """A tax year as an integer (text or number); NULL when it is not one."""
    return expr.cast(pl.String).str.strip_chars().cast(pl.Int32, strict=False)


def address_view(addresses: pl.LazyFrame) -> pl.LazyFrame:
    """The addresses table as every stage reads it: tin (`facts.tin`; rows without one
    dropped), the address columns as text, tax_year (Int32), source, name_on_return (NULL
    when blank) and `own` (filed under the taxpayer's own name)."""
    columns = addresses.collect_schema().names()
    name = _optional(columns, "name_on_return")
    return addresses.select(
        tin_digits(pl.col("tin")).alias("tin"),
        *(_text(c) for c in DISCLOSED_COLUMNS),
        tax_year(pl.col("tax_year")).alias("tax_year"),
        _optional(columns, "source").alias("source"),
        pl.when(own_return(name)).then(pl.lit(None, dtype=pl.String)).otherwise(name).alias("name_on_return"),
        own_return(name).alias("own"),
    ).filter(pl.col("tin").is_not_null())


def last_known_addresses(addresses: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """tin and DISCLOSED_COLUMNS: each taxpayer's last known address (see the module's
    doc), one row per TIN that has a return under their own name. `addresses` is
    `address_view`'s shape."""
    frame = addresses.lazy() if isinstance(addresses, pl.DataFrame) else addresses
    source = pl.col("source").fill_null("").str.strip_chars().str.to_uppercase()
    return (
        frame.filter(pl.col("own"))
        .with_columns(_from_own_return=(source != OWN_RETURN_SOURCE).cast(pl.Int8))
        .sort(
            ["tin", "tax_year", "_from_own_return", *DISCLOSED_COLUMNS],
            descending=[False, True, False, False, False, False, False, False],
            nulls_last=True,
        )
        .unique("tin", keep="first", maintain_order=True)
        .select("tin", *DISCLOSED_COLUMNS)
        .collect()
    )


def last_known_of(folder: Path, tins: pl.Series) -> pl.DataFrame:
    """tin and DISCLOSED_COLUMNS: the last known address of each TIN in `tins` (and of no
    other taxpayer), read from `folder`'s addresses table.

    The file is filtered on its TIN column first (`addresses_filed_under`)."""
    return last_known_addresses(addresses_filed_under(folder, tins))


def addresses_filed_under(folder: Path, tins: pl.Series) -> pl.LazyFrame:
    """`address_view` of `folder`'s addresses table, only the rows filed under a TIN in
    `tins`: only the wanted taxpayers' rows are read whole.

    A TIN field of nine bytes is either nine digits, its own `facts.tin.tin_digits`, or no
    TIN at all (fewer than nine digits once separators go), so it is looked up as it
    stands; only fields of other lengths (dashes, spaces) are cleaned before the lookup.
    Cleaning every field of a national file first took most of the time (seconds per
    batch at thirty million rows), and the rows kept are the same."""
    wanted = tins.cast(pl.String).drop_nulls().unique().implode()
    raw = scan_table(find_table(folder, "addresses"), ADDRESS_COLUMNS)
    field = pl.col("tin").cast(pl.String)
    raw = raw.filter(field.is_in(wanted) | (field.str.len_bytes() != 9))
    return address_view(raw).filter(pl.col("tin").is_in(wanted))


@dataclass(frozen=True)
class ReferenceTables:
    """The reference folder read whole: taxpayers (one row per TIN; tin, prior_itin,
    tin_type, first_name, middle_name, last_name, date_of_birth as text 'YYYY-MM-DD' or '')
    and addresses (`address_view`)."""

    taxpayers: pl.DataFrame
    addresses: pl.DataFrame
    _last_known: list[pl.DataFrame] = field(default_factory=list, init=False, repr=False, compare=False)

    def last_known(self) -> pl.DataFrame:
        """`last_known_addresses` of the whole table (computed once)."""
        if not self._last_known:
            self._last_known.append(last_known_addresses(self.addresses))
        return self._last_known[0]


def _date_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_temporal():
        return expr.cast(pl.Date).dt.strftime("%Y-%m-%d").fill_null("")
    return expr.cast(pl.String).fill_null("").str.strip_chars()


def read_reference(folder: Path) -> ReferenceTables:
    """Read `folder`'s taxpayers and addresses tables whole (the audit and the replica).
    Raises IntakeError on a missing folder, table or column."""
    check_reference_folder(folder)
    taxpayers = scan_table(find_table(folder, "taxpayers"), TAXPAYER_COLUMNS)
    addresses = scan_table(find_table(folder, "addresses"), ADDRESS_COLUMNS)
    schema = taxpayers.collect_schema()
    columns = schema.names()
    try:
        people = (
            taxpayers.select(
                tin_digits(pl.col("tin")).alias("tin"),
                tin_digits(_optional(columns, "prior_itin")).alias("prior_itin"),
                _optional(columns, "tin_type").alias("tin_type"),
                *(_text(c) for c in ("first_name", "middle_name", "last_name")),
                _date_text(pl.col("date_of_birth"), schema["date_of_birth"]).alias("date_of_birth"),
            )
            .filter(pl.col("tin").is_not_null())
            .unique("tin", keep="first", maintain_order=True)
            .collect()
        )
        rows = address_view(addresses).collect()
    except pl.exceptions.PolarsError:
        raise IntakeError(folder, "cannot read the reference tables") from None
    return ReferenceTables(taxpayers=people, addresses=rows)
