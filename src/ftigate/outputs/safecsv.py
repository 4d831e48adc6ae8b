"""One CSV writer for every CSV ftigate produces, safe to open in a spreadsheet.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (`=HYPERLINK(...)` sends the reader
somewhere; DDE formulas run commands). Request ids, names and addresses come from
other agencies' files and from filed returns, so any of them may carry one. OWASP's
rule (CSV Injection) is applied to every text cell: such a cell is prefixed with a
single quote, which spreadsheets show as text and never evaluate.

Only text cells are touched: a negative number in a numeric column stays a number.
Parquet outputs keep values unchanged (no spreadsheet opens Parquet).

The rule is reversible, so that a program reading the file (ftigate's own audit reading a
response, the requesting agency matching its request ids) gets the value back: a cell is
prefixed when it matches `'*[=+-@\t\r]` (any leading quotes, then a formula character),
so a cell read back that matches `'+[=+-@\t\r]` lost nothing but its one added quote
(`restore_cell`, `restore`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO, Any

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
_FORMULA_PATTERN = r"^'*[=+\-@\t\r]"
_NEUTRALISED_PATTERN = r"^'+[=+\-@\t\r]"


def _needs_prefix(value: str) -> bool:
    return value.lstrip(PREFIX).startswith(FORMULA_START)


def neutralise_cell(value: str) -> str:
    """The OWASP rule for one text cell (reversible: see the module docstring)."""
    return PREFIX + value if _needs_prefix(value) else value


def restore_cell(value: str) -> str:
    """The value a neutralised cell stood for."""
    return value[1:] if value.startswith(PREFIX) and _needs_prefix(value) else value


def restore(frame: pl.DataFrame) -> pl.DataFrame:
    """A CSV that ftigate wrote, read back with String columns, as the values it held."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_NEUTRALISED_PATTERN))
        .then(pl.col(name).str.slice(1))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def _text_like(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text cell that a spreadsheet would evaluate made inert."""
    text = [name for name, dtype in frame.schema.items() if _text_like(dtype)]
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if nested:
        # polars cannot write lists or structs to CSV; callers join them first.
        raise TypeError(f"columns {nested} must be flattened before writing CSV")
    if not text:
        return frame
    # One scan finds the columns holding any such cell; only those are rebuilt (a column
    # of ordinary text, the usual case, costs the scan alone).
    found = frame.select(
        pl.col(name).cast(pl.String).str.contains(_FORMULA_PATTERN).any().alias(name) for name in text
    ).row(0)
    touched = [name for name, hit in zip(text, found, strict=True) if hit]
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(_FORMULA_PATTERN))
        .then(pl.lit(PREFIX) + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in touched
    )


def write_csv(frame: pl.DataFrame, target: IO[bytes] | IO[str], *, include_header: bool = True) -> None:
    """Write `frame` as CSV (UTF-8, `\\n` line ends) with formula cells neutralised."""
    neutralise(frame).write_csv(target, include_header=include_header)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """Exactly the bytes `write_csv` writes: what a digest of a CSV output must cover."""
    return neutralise(frame).write_csv().encode("utf-8")


class SafeWriter:
    """`csv.writer` with the same rule, for writers that build rows one by one."""

    def __init__(self, stream: IO[str], **options: Any) -> None:
        options.setdefault("lineterminator", "\n")
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([neutralise_cell(v) if isinstance(v, str) else v for v in row])

    def writerows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.writerow(row)


def rows_csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A small CSV built row by row (e.g. the JCT table), neutralised like every other."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(list(header))
    writer.writerows(rows)
    return buffer.getvalue()
