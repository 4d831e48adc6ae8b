"""The taxpayer reference and the request file as the audit and the 2025 replica read them.

The reference is read by `ftigate.facts.reference` (the one reader every command uses:
CSV or Parquet, only `taxpayers` and `addresses`, never a synthetic population's
`synth_*` ground truth), and the last known address is its one rule. Names, TINs and
ZIPs are `ftigate.facts`' definitions. What stays here is the replica's own exactness:
the 2025 script compared street lines as text, without USPS standardisation
(`exact_address_keys`), which is why the Inspector General found it missed true matches.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ftigate.facts.address import zip5
from ftigate.facts.names import name_control, name_words
from ftigate.facts.reference import DISCLOSED_COLUMNS, last_known_addresses, read_reference
from ftigate.facts.reference import ReferenceTables as Reference
from ftigate.facts.text import plain_upper
from ftigate.facts.tin import tin_digits
from ftigate.intake.errors import IntakeError
from ftigate.intake.requests import REQUEST_COLUMNS, ReadOptions, read_request_chunks

DISCLOSED_ADDRESS = DISCLOSED_COLUMNS


def address_text(expr: pl.Expr) -> pl.Expr:
    """Upper case, no accents, punctuation as spaces, single spaces (no abbreviation)."""
    return (
        plain_upper(expr)
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z0-9 ]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


EXACT_KEYS = ("a_zip5", "a_number", "a_street", "a_unit")


def exact_address_keys(prefix: str = "") -> list[pl.Expr]:
    """The 2025 script's comparison of addresses: five-digit ZIP, house number, the rest of
    the street line and the unit, each as plain text ("6241 MAPLE STREET" is not "6241
    MAPLE ST"). The state is left out: the ZIP fixes it."""
    street = address_text(pl.col(f"{prefix}street"))
    return [
        zip5(pl.col(f"{prefix}zip")).fill_null("").alias("a_zip5"),
        street.str.extract(r"^(\d+)\s", 1).fill_null("").alias("a_number"),
        street.str.replace(r"^\d+\s+", "").alias("a_street"),
        address_text(pl.col(f"{prefix}unit")).alias("a_unit"),
    ]


def read_requests(path: Path, options: ReadOptions | None = None) -> pl.DataFrame:
    """The whole request file as String columns ('' for missing), with `_line`."""
    chunks = list(read_request_chunks(path, options))
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


__all__ = [
    "DISCLOSED_ADDRESS",
    "EXACT_KEYS",
    "Reference",
    "address_text",
    "exact_address_keys",
    "last_known_addresses",
    "name_control",
    "name_words",
    "read_reference",
    "read_requests",
    "tin_digits",
]
