"""Reading request files (CSV or Parquet) in bounded memory, as agencies really send them.

Accepted as they come: a UTF-8 byte-order mark, Windows line endings, blank
lines, quoted fields with embedded newlines, header names in any case or
spacing ("Request ID"), and columns beyond the schema (kept out of the way and
ignored). Refused with one line naming the file, row and column: a file
that is not CSV or Parquet, missing required columns, duplicate columns, an
undecodable byte (with a hint at the likely encoding), a NUL byte, a field over the
size limit, an empty request_id, a Parquet column of lists, structs or maps.

Each chunk is a Polars frame of String columns (empty string for a missing
value) plus `_line`: the record's row (1 for the first record after the header,
blank lines not counted), so later errors can point at it as every error does
(`ftigate.intake.errors`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ftigate.intake.errors import IntakeError

REQUIRED_COLUMNS = (
    "request_id",
    "first_name",
    "last_name",
    "street",
    "city",
    "state",
    "zip",
    "taxable_periods",
    "statute",
    "reason",
)
OPTIONAL_COLUMNS = ("middle_name", "date_of_birth", "tin", "unit", "case_number", "officer")
REQUEST_COLUMNS = (
    "request_id",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "tin",
    "street",
    "unit",
    "city",
    "state",
    "zip",
    "taxable_periods",
    "statute",
    "reason",
    "case_number",
    "officer",
)

DEFAULT_CHUNK_ROWS = 200_000
DEFAULT_MAX_FIELD_BYTES = 64 * 1024
MAX_REQUEST_ID_CHARS = 128

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 or other OLE document",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip-compressed file",
    b"PAR1": "a Parquet file",
    b"SQLite format 3": "a SQLite database",
}


@dataclass(frozen=True)
class ReadOptions:
    encoding: str = "utf-8"
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES


def canonical_column(name: str) -> str:
    """ "Request ID" and "request_id" are one column."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise IntakeError(path, "a request file must be CSV (.csv) or Parquet (.parquet)")


def read_request_chunks(path: Path, options: ReadOptions | None = None) -> Iterator[pl.DataFrame]:
    """Yield the request file as chunks of at most `chunk_rows` records.

    `_line` in each chunk is the record's row number: 1 for the first record
    after the header, blank lines not counted."""
    options = options or ReadOptions()
    kind = file_kind(path)
    if not path.exists():
        raise IntakeError(path, "file not found")
    if path.is_dir():
        raise IntakeError(path, "is a directory, not a request file")
    if kind == "csv":
        yield from _csv_chunks(path, options)
    else:
        yield from _parquet_chunks(path, options)


def _header_map(path: Path, header: list[str], *, csv_header: bool) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = canonical_column(raw)
        if not name:
            continue
        if name in positions:
            raise IntakeError(path, f"column {name!r} appears twice", header=csv_header, column=name)
        positions[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise IntakeError(
            path,
            f"missing required column(s): {', '.join(missing)}",
            header=csv_header,
            hint="expected columns: " + ", ".join(REQUEST_COLUMNS),
        )
    return positions


class _LineSource:
    """Decoded lines of a binary file, with the physical line number and a length cap.

    A line it refuses is named by the row of the record it belongs to (`next_row`, which
    the reader sets before each record) or as the header: a record may span lines."""

    def __init__(self, path: Path, stream: BinaryIO, options: ReadOptions) -> None:
        self.path = path
        self.stream = stream
        self.encoding = options.encoding
        self.max_line = max(options.max_field_bytes * 4, 1 << 20)
        self.line_no = 0
        self.next_row = 0
        self.header: list[str] = []

    def _position(self) -> dict[str, Any]:
        return {"row": self.next_row} if self.header else {"header": True}

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.stream.readline(self.max_line + 1)
        if not raw:
            raise StopIteration
        self.line_no += 1
        if len(raw) > self.max_line and not raw.endswith(b"\n"):
            raise IntakeError(
                self.path,
                f"line is longer than {self.max_line} bytes; no request field is that large",
                **self._position(),
                column=self._column_at(raw),
            )
        if self.line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if b"\x00" in raw:
            raise IntakeError(
                self.path,
                "contains a NUL byte; refused (a request is evidence: ftigate does not alter it)",
                **self._position(),
                column=self._column_at(raw, b"\x00"),
            )
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            raise IntakeError(
                self.path,
                f"bytes that are not valid {self.encoding}",
                **self._position(),
                column=self._column_at(raw),
                hint=_encoding_hint(raw, self.encoding),
            ) from None
        except LookupError:
            raise IntakeError(self.path, f"unknown encoding {self.encoding!r}") from None

    def _column_at(self, raw: bytes, marker: bytes | None = None) -> str | None:
        """Name the column holding the trouble, by parsing the line leniently."""
        if not self.header:
            return None
        text = raw.decode(self.encoding, errors="replace")
        try:
            fields = next(csv.reader([text.rstrip("\r\n").replace("\x00", "\ufffe")]))
        except (csv.Error, StopIteration):
            return None
        for index, value in enumerate(fields):
            bad = "\ufffe" in value if marker == b"\x00" else "\ufffd" in value
            if bad or (marker is None and len(value.encode("utf-8")) > self.max_line // 4):
                return self.header[index] if index < len(self.header) else f"#{index + 1}"
        if marker is not None:
            return None
        if len(fields) <= len(self.header):
            return self.header[len(fields) - 1]
        return None


def _encoding_hint(raw: bytes, tried: str) -> str:
    for candidate in ("cp1252", "latin-1"):
        if candidate == tried:
            continue
        try:
            raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        return f"the file looks like Windows-1252 or Latin-1: run again with --encoding {candidate}"
    return "check the file's encoding and pass it with --encoding"


def _sniff_binary(path: Path, head: bytes) -> None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise IntakeError(path, f"this is {what}, not a CSV file")


def _csv_chunks(path: Path, options: ReadOptions) -> Iterator[pl.DataFrame]:
    """Arrow's multi-threaded CSV reader for the common case; on any trouble, the precise
    reader takes over from the first record not yet delivered and names the line and
    column of the problem (Arrow's own messages quote the data, so they are never shown)."""
    delivered = 0
    try:
        for chunk in _arrow_csv_chunks(path, options):
            delivered += chunk.height
            yield chunk
        return
    except (pa.ArrowException, UnicodeDecodeError, _NeedsPreciseReader):
        pass
    yield from _precise_csv_chunks(path, options, skip=delivered)


class _NeedsPreciseReader(Exception):
    """The fast reader met something only the precise reader can judge or explain."""


def _arrow_csv_chunks(path: Path, options: ReadOptions) -> Iterator[pl.DataFrame]:
    header = _read_header(path, options)
    if not header or any(not canonical_column(h) for h in header):
        raise _NeedsPreciseReader
    positions = _header_map(path, header, csv_header=True)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding=options.encoding, block_size=max(8 << 20, options.max_field_bytes * 8), use_threads=True
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        ),
    )
    if reader.schema.names != header:
        raise _NeedsPreciseReader
    names = {c: header[i] for c, i in positions.items()}
    pending: list[pl.DataFrame] = []
    pending_rows = 0
    row = 0
    for batch in reader:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        # Lines of nothing but separators are formatting, not records (as in the precise reader).
        # Only rows without a request_id can be such lines, so only those are examined.
        no_id = frame[names["request_id"]].str.strip_chars() == ""
        if no_id.any():
            blank = (
                no_id
                & frame.select(pl.all_horizontal([pl.col(h).str.strip_chars() == "" for h in header]))[:, 0]
            )
            frame = frame.filter(~blank)
        frame = frame.select(
            [
                pl.col(names[c]).str.strip_chars().alias(c)
                if c in names
                else pl.lit("", dtype=pl.String).alias(c)
                for c in REQUEST_COLUMNS
            ]
        )
        pending.append(frame)
        pending_rows += frame.height
        while pending_rows >= options.chunk_rows:
            joined = pl.concat(pending)
            out, rest = joined.head(options.chunk_rows), joined.slice(options.chunk_rows)
            yield _numbered(path, out, row, options)
            row += out.height
            pending, pending_rows = [rest], rest.height
    if pending_rows:
        yield _numbered(path, pl.concat(pending), row, options)


def _numbered(path: Path, frame: pl.DataFrame, start: int, options: ReadOptions) -> pl.DataFrame:
    frame = frame.with_columns(
        pl.int_range(start + 1, start + 1 + frame.height, dtype=pl.Int64).alias("_line")
    )
    _check_fields(path, frame, options)
    return frame


def _check_fields(path: Path, frame: pl.DataFrame, options: ReadOptions) -> None:
    _check_field_sizes(path, frame, options.max_field_bytes)
    _check_nul_bytes(path, frame)
    _check_request_ids(path, frame)


def _check_nul_bytes(path: Path, frame: pl.DataFrame) -> None:
    """A NUL byte in a field is refused, not stripped: the request file is evidence, and
    ftigate does not alter what an agency sent (nor pass a NUL on to its outputs)."""
    has_nul = frame.select(pl.col(c).str.contains("\x00", literal=True).any() for c in REQUEST_COLUMNS).row(0)
    for column, found in zip(REQUEST_COLUMNS, has_nul, strict=True):
        if found:
            first = frame.filter(pl.col(column).str.contains("\x00", literal=True))
            raise IntakeError(
                path,
                "field contains a NUL byte; refused (a request is evidence: ftigate does not alter it)",
                row=int(first["_line"][0]),
                column=column,
            )


def _read_header(path: Path, options: ReadOptions) -> list[str]:
    with path.open("rb") as stream:
        _sniff_binary(path, stream.read(16))
        stream.seek(0)
        first = stream.readline(1 << 20)
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode(options.encoding)
    except (UnicodeDecodeError, LookupError):
        raise _NeedsPreciseReader from None
    try:
        return next(csv.reader([text.rstrip("\r\n")]))
    except (csv.Error, StopIteration):
        raise _NeedsPreciseReader from None


def _precise_csv_chunks(path: Path, options: ReadOptions, skip: int = 0) -> Iterator[pl.DataFrame]:
    csv.field_size_limit(options.max_field_bytes)
    with path.open("rb") as stream:
        _sniff_binary(path, stream.read(16))
        stream.seek(0)
        source = _LineSource(path, stream, options)
        reader = csv.reader(source, strict=True)
        header: list[str] | None = None
        try:
            for fields in reader:
                if fields and any(f.strip() for f in fields):
                    header = fields
                    break
        except csv.Error as exc:
            raise IntakeError(path, f"malformed CSV ({_csv_problem(exc)})", header=True) from None
        if header is None:
            raise IntakeError(path, "the file is empty: no header row")
        positions = _header_map(path, header, csv_header=True)
        source.header = [canonical_column(h) or f"#{i + 1}" for i, h in enumerate(header)]
        wanted = [(c, positions.get(c)) for c in REQUEST_COLUMNS]
        width = len(header)

        columns: dict[str, list[str]] = {c: [] for c in REQUEST_COLUMNS}
        held = 0
        row = 0
        first_row = 1
        while True:
            source.next_row = row + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise IntakeError(
                    path,
                    f"malformed CSV ({_csv_problem(exc)})",
                    row=row + 1,
                    hint="a quoted field may not be closed, or a field exceeds "
                    f"{options.max_field_bytes} bytes",
                ) from None
            if not fields or not any(f.strip() for f in fields):
                continue  # blank lines are formatting, not records
            row += 1
            if len(fields) > width and any(f.strip() for f in fields[width:]):
                raise IntakeError(
                    path,
                    f"row has {len(fields)} fields but the header has {width}",
                    row=row,
                    hint="an unquoted comma inside a field?",
                )
            if row <= skip:
                first_row = row + 1
                continue
            for name, index in wanted:
                columns[name].append(
                    fields[index].strip() if index is not None and index < len(fields) else ""
                )
            held += 1
            if held >= options.chunk_rows:
                yield _frame(path, columns, first_row, options)
                columns = {c: [] for c in REQUEST_COLUMNS}
                held = 0
                first_row = row + 1
        if held:
            yield _frame(path, columns, first_row, options)


def _csv_problem(exc: csv.Error) -> str:
    # The csv module's messages name limits and characters, never field contents.
    return str(exc).split(":")[0]


def _frame(path: Path, columns: dict[str, list[str]], first_row: int, options: ReadOptions) -> pl.DataFrame:
    frame = pl.DataFrame(columns, schema=dict.fromkeys(REQUEST_COLUMNS, pl.String))
    return _numbered(path, frame, first_row - 1, options)


def _check_request_ids(path: Path, frame: pl.DataFrame) -> None:
    ids = frame["request_id"]
    bad = frame.filter((ids == "") | (ids.str.len_chars() > MAX_REQUEST_ID_CHARS))
    if bad.height:
        first = bad.row(0, named=True)
        problem = (
            "is empty" if first["request_id"] == "" else f"is longer than {MAX_REQUEST_ID_CHARS} characters"
        )
        raise IntakeError(path, f"request_id {problem}", column="request_id", row=int(first["_line"]))


def _parquet_chunks(path: Path, options: ReadOptions) -> Iterator[pl.DataFrame]:
    with path.open("rb") as probe:
        head = probe.read(4)
    if head != b"PAR1":
        raise IntakeError(path, "not a Parquet file (no PAR1 magic number)")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise IntakeError(path, f"unreadable Parquet file ({exc.__class__.__name__})") from None
    names = parquet.schema_arrow.names
    positions = _header_map(path, names, csv_header=False)
    source_names = {c: names[i] for c, i in positions.items()}
    present = [c for c in REQUEST_COLUMNS if c in source_names]
    for c in present:
        _check_parquet_type(path, c, parquet.schema_arrow.field(source_names[c]).type)
    row = 0
    try:
        batches = parquet.iter_batches(
            batch_size=options.chunk_rows, columns=[source_names[c] for c in present]
        )
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.rename({source_names[c]: c for c in present})
            cast: list[pl.Expr | pl.Series] = []
            for c in REQUEST_COLUMNS:
                if c in present:
                    cast.append(_as_text(path, c, frame[c], row).fill_null("").str.strip_chars().alias(c))
                else:
                    cast.append(pl.lit("", dtype=pl.String).alias(c))
            frame = frame.select(cast).with_columns(
                pl.int_range(row + 1, row + 1 + frame.height, dtype=pl.Int64).alias("_line")
            )
            _check_fields(path, frame, options)
            row += frame.height
            yield frame
    except IntakeError:
        raise
    except (pa.ArrowException, OSError, pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        # Arrow's and Polars' messages may quote values: only the type is shown.
        raise IntakeError(path, f"unreadable Parquet data ({exc.__class__.__name__})", row=row + 1) from None


def _check_parquet_type(path: Path, column: str, kind: pa.DataType) -> None:
    """A request field is one value: text, a number or a date. Lists, structs and maps
    cannot be one field of a request, whatever they hold."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_nested(kind):
        what = (
            "a struct" if pa.types.is_struct(kind) else "a map" if pa.types.is_map(kind)
            else "a union" if pa.types.is_union(kind) else "a list"
        )  # fmt: skip
        raise IntakeError(
            path,
            f"column holds {what} in each row; a request field must be text, a number or a date",
            column=column,
        )


def _as_text(path: Path, column: str, series: pl.Series, offset: int) -> pl.Series:
    if series.dtype == pl.String:
        return series
    if series.dtype == pl.Date:
        return series.dt.strftime("%Y-%m-%d")
    if series.dtype == pl.Binary:
        # Decoded value by value (binary request columns are rare): bytes that are not
        # UTF-8 are refused with their row, never blanked or replaced.
        decoded: list[str | None] = []
        for index, value in enumerate(series.to_list()):
            try:
                decoded.append(None if value is None else value.decode("utf-8"))
            except UnicodeDecodeError:
                raise IntakeError(
                    path, "bytes that are not valid UTF-8", row=offset + 1 + index, column=column
                ) from None
        return pl.Series(series.name, decoded, dtype=pl.String)
    try:
        return series.cast(pl.String)
    except pl.exceptions.PolarsError:
        raise IntakeError(
            path, f"a column of type {series.dtype} cannot be read as text", column=column
        ) from None


def _check_field_sizes(path: Path, frame: pl.DataFrame, limit: int) -> None:
    longest = frame.select(pl.col(c).str.len_bytes().max() for c in REQUEST_COLUMNS).row(0)
    for column, size in zip(REQUEST_COLUMNS, longest, strict=True):
        if size is not None and size > limit:
            too_big = frame.filter(pl.col(column).str.len_bytes() > limit)
            raise IntakeError(
                path,
                f"field is larger than {limit} bytes",
                row=int(too_big["_line"][0]),
                column=column,
            )
