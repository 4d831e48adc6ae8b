"""The taxpayer reference file, read once and shaped for matching.

A reference folder holds `taxpayers` and `addresses` (CSV or Parquet). Only those two
files are read: a synthetic population's `synth_*` ground-truth files sit beside them
and must never inform a decision.

From them this module builds, per taxpayer (one row per TIN):
  - the model's input columns (`standardise`), with the taxpayer's own addresses,
    current and prior, as lists of key codes;
  - the last known address (the newest tax year's address, a 1040 preferred on ties),
    the only thing ever disclosed; it is read from the source file only for the TINs a
    batch discloses (`Reference.last_known_of`);
and, separately, the returns filed under a TIN in another person's name (W-2s under a
lent SSN): those addresses are not the TIN holder's and never corroborate them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from ftigate.facts.address import COMPARED_COLUMNS, address_parts, same_building, zip5
from ftigate.facts.dates import dob_text
from ftigate.facts.reference import (
    ADDRESS_COLUMNS,
    DISCLOSED_COLUMNS,
    TAXPAYER_COLUMNS,
    address_view,
    addresses_filed_under,
    check_reference_folder,
    find_table,
    scan_table,
    source_sql,
)
from ftigate.facts.reference import last_known_addresses as last_known_rule
from ftigate.facts.tin import tin_digits, tin_digits_sql
from ftigate.intake.errors import IntakeError
from ftigate.outputs import OutputFolder
from ftigate.resolve.standardise import (
    CODED_KEYS,
    address_codes,
    address_keys,
    house_initial_code,
    name_zip_code,
    on_distinct,
    standard_names,
    surname_soundex,
)

__all__ = ["ADDRESS_COLUMNS", "DISCLOSED_COLUMNS", "TAXPAYER_COLUMNS", "check_reference_folder", "find_table"]


@dataclass(frozen=True)
class Reference:
    """The reference file in matching shape."""

    people: pl.DataFrame
    """one row per taxpayer: the model's input columns (unique_id is the TIN)"""
    source: Path
    """the reference folder (the last known addresses are read from its addresses file)"""
    lent_returns: pl.DataFrame
    """tin, addr_key (house number|unit|ZIP) of returns filed under the TIN in another person's name"""
    names_per_tin: pl.DataFrame
    """tin, other_names: how many other names have filed under the TIN"""

    @property
    def size(self) -> int:
        return self.people.height

    def last_known_of(self, tins: pl.Series) -> pl.DataFrame:
        """tin, street, unit, city, state, zip: the last known address of each TIN in `tins`
        (and of no other taxpayer), read from the source file when a batch discloses."""
        return last_known_addresses(self.source, tins)

    def address_rows_of(self, tins: pl.Series) -> pl.DataFrame:
        """Every address row filed under the TINs in `tins` (`address_rows`)."""
        return address_rows(self.source, tins)

    def names_of(self, tins: pl.Series) -> pl.DataFrame:
        """tin, first_name, last_name, middle_initial (standard forms) and prior_itin of each
        TIN in `tins`."""
        return self.people.filter(pl.col("unique_id").is_in(tins.implode())).select(
            pl.col("unique_id").alias("tin"), "first_name", "last_name", "middle_initial", "prior_itin"
        )


# The reading of the folder is `facts.reference`'s, shared with the audit and the replica.
_scan = scan_table
_source_sql = source_sql
_digits9 = tin_digits_sql


BUILD_MEMORY_LIMIT = "3GB"
"""DuckDB's ceiling while reducing the address history (it spills to disk beyond it)"""


def _connect(threads: int | None, spill: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{BUILD_MEMORY_LIMIT}'")
    con.execute("SET temp_directory = '" + str(spill).replace("'", "''") + "'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def load_reference(folder: Path, *, threads: int | None = None) -> Reference:
    """Read `folder`/taxpayers and `folder`/addresses and shape them for matching.

    The address history (three or more rows per taxpayer) is reduced in DuckDB straight
    from the file to the distinct addresses per taxpayer; their standard forms and key
    codes are computed in Polars once per distinct street line, unit and ZIP, names once
    per distinct name, and each taxpayer's key lists cut from sorted (TIN, code) frames.
    The last known address is not built here (`last_known_addresses`, for disclosed TINs)."""
    if not folder.is_dir():
        raise IntakeError(folder, "reference must be a folder holding taxpayers and addresses")
    taxpayers_path = find_table(folder, "taxpayers")
    addresses_path = find_table(folder, "addresses")
    taxpayers = _scan(taxpayers_path, TAXPAYER_COLUMNS)
    ad_columns = _scan(addresses_path, ADDRESS_COLUMNS).collect_schema().names()
    tp_columns = taxpayers.collect_schema().names()

    people = (
        taxpayers.select(
            tin_digits(pl.col("tin").cast(pl.String)).alias("tin"),
            *[pl.col(c).cast(pl.String).fill_null("") for c in ("first_name", "middle_name", "last_name")],
            pl.col("date_of_birth"),
            (
                tin_digits(pl.col("prior_itin").cast(pl.String))
                if "prior_itin" in tp_columns
                else pl.lit(None, dtype=pl.String)
            ).alias("prior_itin"),
        )
        .filter(pl.col("tin").is_not_null())
        .unique("tin", keep="first", maintain_order=True)
        .collect()
    )
    # dates repeat (one per day of a century): their text form once per distinct date
    people = on_distinct(
        people, "date_of_birth", lambda d: d.with_columns(dob=dob_text(pl.col("date_of_birth")))
    )
    people = people.drop("date_of_birth")

    rows = _address_rows_sql(addresses_path, ad_columns)
    spill = Path(tempfile.mkdtemp(prefix="ftigate-reference-"))
    con = _connect(threads, spill)
    try:
        con.execute(
            "CREATE TEMP TABLE distinct_rows AS SELECT DISTINCT tin, street, unit, zip, city, other_name "
            f"FROM ({rows})"
        )
        lines = _fetch(con, "SELECT DISTINCT street, unit, zip, city FROM distinct_rows")
        keyed_lines = address_codes(address_keys(lines))
        con.register("keyed_lines", keyed_lines.to_arrow())
        del lines, keyed_lines
        codes = ", ".join(f"k.{c}" for c in (*CODED_KEYS, "zip5", "house_key"))
        con.execute(
            f"CREATE TEMP TABLE keyed AS SELECT d.tin, d.other_name, {codes} FROM distinct_rows d "
            "JOIN keyed_lines k ON d.street = k.street AND d.unit = k.unit AND d.zip = k.zip "
            "AND d.city = k.city"
        )
        con.unregister("keyed_lines")
        con.execute("DROP TABLE distinct_rows")
        lent_returns = _fetch(
            con,
            "SELECT DISTINCT tin, house_key AS addr_key FROM keyed "
            "WHERE other_name AND house_key IS NOT NULL",
        )
        # TINs are nine digits: as integers they group and join several times faster
        own = _fetch(
            con,
            f"SELECT CAST(tin AS UINTEGER) AS tin_n, {', '.join(CODED_KEYS)}, zip5 "
            "FROM keyed WHERE NOT other_name",
        )
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)  # this call's own mkdtemp spill folder
    names_per_tin = lent_returns.group_by("tin").agg(pl.len().cast(pl.Int32).alias("other_names"))

    named = (
        surname_soundex(standard_names(people))
        .with_columns(tin_n=pl.col("tin").cast(pl.UInt32))
        .sort("tin_n")
    )
    del people
    lists = key_lists(own, named.select("tin_n", "sx_tokens", "first_name", "last_name"))
    del own
    reference_people = pl.concat(
        [
            named.select(
                pl.col("tin").alias("unique_id"),
                "first_name", "first_fused", "first_canon", "first_forms", "middle_initial", "last_name",
                "last_fused", "surname_tokens", "dob", "tin", "prior_itin",
            ),
            lists,
        ],
        how="horizontal",
    )  # fmt: skip
    del named
    return Reference(
        people=reference_people,
        source=folder,
        lent_returns=lent_returns,
        names_per_tin=names_per_tin,
    )


def _address_rows_sql(addresses_path: Path, columns: list[str]) -> str:
    """The address file's rows as matching reads them: tin (nine digits), street, unit and
    zip as text, and other_name (a return filed in another person's name)."""
    other_name = (
        r"length(regexp_replace(coalesce(CAST(name_on_return AS VARCHAR), ''), '\s', '', 'g')) > 0"
        if "name_on_return" in columns
        else "false"
    )
    text = ", ".join(
        f"coalesce(CAST({c} AS VARCHAR), '') AS {c}" if c in columns else f"'' AS {c}"
        for c in ("street", "unit", "zip", "city")
    )
    return (
        f"SELECT _tin9 AS tin, {text}, {other_name} AS other_name "
        f"FROM (SELECT *, {_digits9('tin')} AS _tin9 FROM {_source_sql(addresses_path)}) "
        "WHERE _tin9 IS NOT NULL"
    )


def address_rows(folder: Path, tins: pl.Series) -> pl.DataFrame:
    """Every row of the addresses file filed under a TIN in `tins`: tin (nine digits),
    street, unit, city, state, zip (text), tax_year (integer, 0 when unreadable), source,
    other_name (the return was filed in another person's name), read as
    `facts.reference.address_view` reads the file.

    The file is filtered on its TIN column first (`facts.reference.addresses_filed_under`)."""
    return (
        addresses_filed_under(folder, tins)
        .select(
            "tin",
            *DISCLOSED_COLUMNS,
            pl.col("tax_year").fill_null(0),
            "source",
            (~pl.col("own")).alias("other_name"),
        )
        .collect()
    )


RESIDENT_COLUMNS = ("tin", "first_name", "last_name", "date_of_birth", "unit", "tax_year")


def residents_at(folder: Path, requested: pl.DataFrame) -> pl.DataFrame:
    """tin, first_name, last_name, date_of_birth (text), unit and tax_year (the latest there)
    of every taxpayer with a return filed in their own name at the building of the one-row
    `requested` (street, unit, city, zip; `facts.address.same_building`), read from the
    reference folder. Only the rows of the requested ZIP are standardised."""
    wanted = requested.select(zip5(pl.col("zip").cast(pl.String))).item()
    if not wanted:
        return pl.DataFrame(schema={c: pl.String for c in RESIDENT_COLUMNS[:-1]} | {"tax_year": pl.Int32})
    view = address_view(scan_table(find_table(folder, "addresses"), ADDRESS_COLUMNS))
    rows = (
        view.filter(pl.col("own") & (zip5(pl.col("zip")) == wanted))
        .select("tin", "street", "unit", "zip", "city", pl.col("tax_year").fill_null(0))
        .collect()
    )
    here = same_building(requested, rows)
    newest_first = here.sort(["tax_year", "unit"], descending=[True, False])
    latest = newest_first.unique("tin", keep="first", maintain_order=True)
    people = (
        scan_table(find_table(folder, "taxpayers"), TAXPAYER_COLUMNS)
        .select(
            tin_digits(pl.col("tin")).alias("tin"),
            *(pl.col(c).cast(pl.String) for c in ("first_name", "last_name", "date_of_birth")),
        )
        .filter(pl.col("tin").is_in(latest["tin"].implode()))
        .collect()
    )
    return latest.join(people, on="tin", how="inner").select(RESIDENT_COLUMNS).sort("last_name", "first_name")


def last_known_from(rows: pl.DataFrame) -> pl.DataFrame:
    """tin, street, unit, city, state, zip: the last known address of each TIN of `rows`
    (`address_rows`), by the one rule of `facts.reference.last_known_addresses`: the
    newest return filed under the taxpayer's own name, a 1040 before an information return
    on a tie, then the lexically first address."""
    return last_known_rule(rows.with_columns(own=~pl.col("other_name")))


def last_known_addresses(folder: Path, tins: pl.Series) -> pl.DataFrame:
    """tin, street, unit, city, state, zip: the last known address (`last_known_from`) of
    each TIN in `tins`, read from the reference folder."""
    return last_known_from(address_rows(folder, tins))


def own_address_parts(rows: pl.DataFrame, prefix: str = "f_") -> pl.DataFrame:
    """tin and the standard parts (`facts.address.COMPARED_COLUMNS`, prefixed) of each
    distinct address filed under the TIN in the taxpayer's own name (a W-2 under the TIN in
    another person's name is not the taxpayer's address and corroborates nothing)."""
    own = rows.filter(~pl.col("other_name")).select("tin", "street", "unit", "zip", "city").unique()
    parts = address_parts(own)
    return parts.select("tin", *[pl.col(c).alias(prefix + c) for c in COMPARED_COLUMNS]).unique()


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """A query's whole result as Polars (fetched to the end, so the connection is free)."""
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def key_lists(own: pl.DataFrame, taxpayers: pl.DataFrame) -> pl.DataFrame:
    """addr_keys, variant_keys, near_keys, building_keys, zips, name_zip_keys,
    house_initial_keys: one row per row of `taxpayers` (tin_n sorted ascending, sx_tokens,
    first_name), each a sorted list of distinct codes.

    `own`: one row per distinct address a taxpayer filed from (tin_n and the codes of
    `standardise.address_keys`). Each list column is built from a long (tin, code) frame,
    sorted and de-duplicated once, and cut at each taxpayer's offset: no grouping of
    millions of small lists and no join back to the taxpayers."""
    tins = taxpayers["tin_n"]
    # addresses filed under a TIN the taxpayers table does not hold belong to no one here
    own = own.join(taxpayers.select("tin_n"), on="tin_n", how="semi")
    zips = own.select("tin_n", pl.col("zip5").alias("code"))
    sx = taxpayers.select("tin_n", pl.col("sx_tokens").alias("sx")).explode("sx")
    name_zip = sx.join(zips.drop_nulls().unique(), on="tin_n").select(
        "tin_n", name_zip_code(pl.col("sx"), pl.col("code")).alias("code")
    )
    houses = own.select("tin_n", "house_zip").join(
        taxpayers.select("tin_n", "first_name", "last_name"), on="tin_n"
    )
    code = house_initial_code(pl.col("house_zip"), pl.col("first_name"), pl.col("last_name"))
    house_initial = houses.select("tin_n", code.alias("code"))

    def long(*columns: str) -> pl.DataFrame:
        return pl.concat([own.select("tin_n", pl.col(c).alias("code")) for c in columns])

    longs = {
        "addr_keys": long("addr_key"),
        "variant_keys": long("form_key", "city_key"),
        "near_keys": long("near_a", "near_b"),
        "building_keys": long("building_key"),
        "zips": zips,
        "name_zip_keys": name_zip,
        "house_initial_keys": house_initial,
    }
    return pl.DataFrame([_cut_by_tin(tins, frame).alias(name) for name, frame in longs.items()])


def _cut_by_tin(tins: pl.Series, long: pl.DataFrame) -> pl.Series:
    """One list per TIN in `tins` (sorted) of the distinct codes `long` holds for it (each
    TIN in `long` is in `tins`)."""
    codes = long.drop_nulls().sort("tin_n", "code")
    # sorted: a repeat sits right after its first occurrence
    repeat = (pl.col("tin_n") == pl.col("tin_n").shift(1)) & (pl.col("code") == pl.col("code").shift(1))
    codes = codes.filter(~repeat.fill_null(False))
    starts = np.searchsorted(codes["tin_n"].to_numpy(), tins.to_numpy(), side="left")
    offsets = np.append(starts, codes.height).astype(np.int64)
    array = pa.LargeListArray.from_arrays(pa.array(offsets), codes["code"].to_arrow())
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series


def term_frequencies(people: pl.DataFrame, column: str) -> pl.DataFrame:
    """`column`, tf_`column`: each value's share of the reference (not of the request batch)."""
    counts = people.select(pl.col(column)).drop_nulls().group_by(column).agg(pl.len().alias("n"))
    total = max(int(counts["n"].sum()), 1)
    return counts.select(column, (pl.col("n") / total).alias(f"tf_{column}"))


PREPARED_FORMAT = 5
"""bump when the prepared frames change shape or meaning (standard forms, keys)"""
PREPARED_FRAMES = ("people", "lent_returns", "names_per_tin")


def _fingerprint(folder: Path) -> dict[str, object]:
    files = {}
    for stem in ("taxpayers", "addresses"):
        path = find_table(folder, stem)
        stat = path.stat()
        files[stem] = {"file": path.name, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    # key codes are Polars hashes, stable only within one Polars version
    return {
        "format": PREPARED_FORMAT,
        "polars": pl.__version__,
        "source": str(folder.resolve()),
        "files": files,
    }


def is_prepared(folder: Path, cache: Path) -> bool:
    """Whether `cache` holds `folder` prepared from the files as they are now."""
    manifest = cache / "manifest.json"
    if not manifest.is_file() or not all((cache / f"{n}.parquet").is_file() for n in PREPARED_FRAMES):
        return False
    try:
        stored = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stored == _fingerprint(folder))


def prepared_reference(folder: Path, cache: Path) -> Reference:
    """The reference in matching shape, prepared once per version of the taxpayer file.

    `cache` holds the prepared frames as Parquet with a manifest of the source files
    (name, size, modification time) they came from; when the manifest matches, they are
    read back (seconds) instead of prepared again (minutes at 10 million taxpayers).
    The frames are taxpayer data: `cache` belongs on the same protected storage as the
    reference itself. Writes are staged and renamed into place."""
    expected = _fingerprint(folder)
    if is_prepared(folder, cache):
        frames = {n: pl.read_parquet(cache / f"{n}.parquet") for n in PREPARED_FRAMES}
        return Reference(**frames, source=folder)
    reference = load_reference(folder)
    # Written as every output folder is (0700, files 0600, staged inside, renamed): the
    # frames are taxpayer data, and only a cache ftigate wrote is ever replaced.
    with OutputFolder(cache, force=True, command="reference prepare") as staged:
        for name in PREPARED_FRAMES:
            staged.write_parquet(f"{name}.parquet", getattr(reference, name), compression="lz4")
        staged.write_text("manifest.json", json.dumps(expected, sort_keys=True))
        staged.prepare()
        staged.commit()
    return reference
