"""Positions in a request file's errors are rows, whatever the physical layout of the file:
row 1 is the first record after the header, blank lines are not counted, a record whose
quoted field runs over several lines is one row (README: "Conventions")."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.intake.errors import IntakeError
from ftigate.intake.requests import REQUEST_COLUMNS, ReadOptions, read_request_chunks
from ftigate_testkit import record

BAD = b"Pe\xf1a"  # a Latin-1 byte: not UTF-8


def _layout(lines_per_reason: list[int], blanks_before: list[int], bad: int, crlf: bool) -> bytes:
    newline = b"\r\n" if crlf else b"\n"
    out = [",".join(REQUEST_COLUMNS).encode()]
    for index, (lines, blanks) in enumerate(zip(lines_per_reason, blanks_before, strict=True)):
        row = record(index, ["A100"], reason="\n".join(f"part {n}" for n in range(lines)))
        fields = [f'"{row[c]}"'.encode() for c in REQUEST_COLUMNS]
        if index == bad:
            fields[REQUEST_COLUMNS.index("last_name")] = b'"' + BAD + b'"'
        out.extend([b""] * blanks)
        out.append(b",".join(fields))
    return newline.join(out) + newline


@settings(max_examples=60, deadline=None)
@given(
    shape=st.integers(min_value=1, max_value=6).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(min_value=1, max_value=4), min_size=n, max_size=n),
            st.lists(st.integers(min_value=0, max_value=2), min_size=n, max_size=n),
            st.integers(min_value=0, max_value=n - 1),
        )
    ),
    crlf=st.booleans(),
)
def test_an_undecodable_byte_is_named_by_its_row(shape: tuple[list[int], list[int], int], crlf: bool) -> None:
    lines_per_reason, blanks_before, bad = shape
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "requests.csv"
        path.write_bytes(_layout(lines_per_reason, blanks_before, bad, crlf))
        with pytest.raises(IntakeError) as raised:
            for _chunk in read_request_chunks(path, ReadOptions()):
                pass
    error = raised.value
    assert (error.row, error.line, error.column) == (bad + 1, None, "last_name"), str(error)
    assert f"requests.csv, row {bad + 1}, column 'last_name'" in str(error)


def test_a_problem_in_the_header_is_named_as_the_header(tmp_path: Path) -> None:
    path = tmp_path / "requests.csv"
    header = ",".join(REQUEST_COLUMNS).replace("last_name", "last_" + BAD.decode("latin-1")).encode("latin-1")
    path.write_bytes(header + b"\n")
    with pytest.raises(IntakeError) as raised:
        list(read_request_chunks(path, ReadOptions()))
    assert raised.value.header and raised.value.row is None and raised.value.line is None
    assert "requests.csv, header" in str(raised.value)


def test_a_row_and_a_line_together_is_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        IntakeError("f.csv", "message", row=1, line=2)
