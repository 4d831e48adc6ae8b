"""One bad input per failure mode: a one-line error naming file, row (or header) and column,
exit code 2, no traceback, no output left behind, and no field value in the message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.intake.requests import REQUEST_COLUMNS
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

runner = CliRunner()
SECRET = "SECRETVALUE"  # planted in bad fields: must never appear in an error


def _rows(n: int = 5) -> list[dict[str, str]]:
    return [record(i, list(BASE_LETTER["officers"])) for i in range(n)]


def _csv(rows: list[dict[str, str]]) -> bytes:
    header = ",".join(REQUEST_COLUMNS)
    lines = [",".join(f'"{r[c]}"' for c in REQUEST_COLUMNS) for r in rows]
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def missing_column(tmp: Path) -> Path:
    path = tmp / "r.csv"
    pl.DataFrame(_rows()).drop("zip").write_csv(path)
    return path


def duplicate_ids(tmp: Path) -> Path:
    rows = _rows()
    rows[3]["request_id"] = rows[1]["request_id"]
    return write_requests(tmp / "r.csv", rows)


def empty_request_id(tmp: Path) -> Path:
    rows = _rows()
    rows[2]["request_id"] = ""
    return write_requests(tmp / "r.csv", rows)


def not_csv(tmp: Path) -> Path:
    path = tmp / "r.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    return path


def zip_renamed_csv(tmp: Path) -> Path:
    path = tmp / "r.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    return path


def undecodable(tmp: Path) -> Path:
    rows = _rows()
    rows[2]["last_name"] = "PLACEHOLDER"
    data = _csv(rows).replace(b"PLACEHOLDER", b"Pe\xf1a" + SECRET.encode())  # a raw Latin-1 byte
    path = tmp / "r.csv"
    path.write_bytes(data)
    return path


def huge_field(tmp: Path) -> Path:
    rows = _rows()
    rows[1]["reason"] = SECRET + "x" * (2 << 20)
    return write_requests(tmp / "r.csv", rows)


def huge_field_100mb(tmp: Path) -> Path:
    path = tmp / "r.csv"
    rows = _rows(2)
    with path.open("wb") as fh:
        fh.write(_csv(rows))
        fh.write(b"R9,Ann,,Lee,,,1 Main St,,Austin,TX,78701,2022,8 USC 1326,")
        chunk = b"y" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b",C9,A100\n")
    return path


def empty_file(tmp: Path) -> Path:
    path = tmp / "r.csv"
    path.write_bytes(b"")
    return path


def too_many_fields(tmp: Path) -> Path:
    data = _csv(_rows(3)).replace(b'"A101"\n', b'"A101",surplus,' + SECRET.encode() + b"\n")
    path = tmp / "r.csv"
    path.write_bytes(data)
    return path


def unclosed_quote(tmp: Path) -> Path:
    data = _csv(_rows(3)) + b'R9,"Ann,Lee\n'
    path = tmp / "r.csv"
    path.write_bytes(data)
    return path


def bad_parquet(tmp: Path) -> Path:
    path = tmp / "r.parquet"
    path.write_bytes(b"PAR1garbagegarbage")
    return path


def parquet_missing_column(tmp: Path) -> Path:
    path = tmp / "r.parquet"
    pl.DataFrame(_rows()).drop("statute").write_parquet(path)
    return path


def parquet_duplicate_ids(tmp: Path) -> Path:
    rows = _rows()
    rows[4]["request_id"] = rows[0]["request_id"]
    path = tmp / "r.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return path


def nul_bytes(tmp: Path) -> Path:
    path = tmp / "r.csv"
    path.write_bytes(_csv(_rows(2)) + b"R7,\x00\x00\x00\n")
    return path


def undecodable_after_a_multiline_record(tmp: Path) -> Path:
    # Row 1 spans three lines and a blank line follows it: the bad byte is on line 6 of
    # the file and in its row 2, which is what the error names (README: "Conventions").
    rows = _rows(3)
    rows[0]["reason"] = "first line\nsecond line\nthird line"
    rows[1]["last_name"] = "PLACEHOLDER"
    data = _csv(rows).replace(b"PLACEHOLDER", b"Pe\xf1a" + SECRET.encode())
    first_end = data.index(b"third line")
    first_end = data.index(b"\n", first_end) + 1
    path = tmp / "r.csv"
    path.write_bytes(data[:first_end] + b"\n" + data[first_end:])
    return path


def duplicate_header_column(tmp: Path) -> Path:
    path = tmp / "r.csv"
    path.write_bytes(_csv(_rows(2)).replace(b"request_id,", b"zip,", 1).replace(b"request_id", b"zip"))
    return path


BAD_REQUESTS: list[tuple[Callable[[Path], Path], list[str]]] = [
    (undecodable_after_a_multiline_record, ["not valid utf-8", "row 2,", "'last_name'"]),
    (duplicate_header_column, ["header", "column 'zip'", "appears twice"]),
    (missing_column, ["missing required column", "zip"]),
    (duplicate_ids, ["duplicate request_id", "row 4", "'request_id'"]),
    (empty_request_id, ["request_id is empty", "row 3"]),
    (not_csv, ["must be CSV"]),
    (zip_renamed_csv, ["ZIP archive", "not a CSV"]),
    (undecodable, ["not valid utf-8", "row 3", "'last_name'", "--encoding"]),
    (huge_field, ["row 2", "'reason'", "bytes"]),
    (huge_field_100mb, ["row 3", "longer than"]),
    (empty_file, ["empty"]),
    (too_many_fields, ["fields but the header has", "row 2"]),
    (unclosed_quote, ["malformed CSV"]),
    (bad_parquet, ["Parquet"]),
    (parquet_missing_column, ["missing required column", "statute"]),
    (parquet_duplicate_ids, ["duplicate request_id", "row 5"]),
    (nul_bytes, ["NUL", "row 3"]),
]


@pytest.mark.parametrize(("make", "expected"), BAD_REQUESTS, ids=[m.__name__ for m, _ in BAD_REQUESTS])
def test_bad_request_file(tmp_path: Path, make: Callable[[Path], Path], expected: list[str]) -> None:
    requests = make(tmp_path)
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    out = tmp_path / "out" / "screened.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "Traceback" not in message
    assert len(message.splitlines()) <= 3  # one logical line; the console may wrap it
    flat = " ".join(message.split())
    assert requests.name in flat
    for part in expected:
        assert part.lower() in flat.lower(), flat
    assert ", line " not in flat, "a request file is a table: its positions are rows"
    assert SECRET not in flat
    assert not out.exists()
    assert not list(out.parent.glob("*")) if out.parent.exists() else True


BAD_LETTERS: list[tuple[str, str, list[str]]] = [
    ("missing.yaml", yaml_text := "requesting_agency: ICE\n", ["'department'", "missing"]),
    ("wrong_type.yaml", "", ["'record_count'"]),
    ("bad.json", "{not json", ["not valid JSON", "line 1"]),
    ("dup.yaml", "", ["duplicate key"]),
    ("letter.txt", "x", ["must be a .yaml"]),
    ("list.yaml", "- a\n- b\n", ["mapping"]),
    ("bad_date.yaml", "", ["'date'"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_LETTERS, ids=[n for n, _, _ in BAD_LETTERS])
def test_bad_letter(tmp_path: Path, name: str, text: str, expected: list[str]) -> None:
    import yaml

    if name == "wrong_type.yaml":
        text = yaml.safe_dump(merge(BASE_LETTER, {"record_count": "many"}))
    if name == "dup.yaml":
        text = yaml.safe_dump(BASE_LETTER) + "statute: 8 USC 1326\n"
    if name == "bad_date.yaml":
        text = yaml.safe_dump(merge(BASE_LETTER, {"date": "June 27"}))
    letter = tmp_path / name
    letter.write_text(text)
    requests = write_requests(tmp_path / "r.csv", _rows())
    out = tmp_path / "screened.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert name in flat
    for part in expected:
        assert part in flat, flat
    assert not out.exists()


def test_letter_as_json(tmp_path: Path) -> None:
    letter = tmp_path / "letter.json"
    letter.write_text(json.dumps(BASE_LETTER))
    requests = write_requests(tmp_path / "r.csv", _rows())
    out = tmp_path / "screened.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["sufficient"].to_list() == [True] * 5


def test_missing_input_file(tmp_path: Path) -> None:
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    result = runner.invoke(
        app,
        [
            "screen",
            "--letter",
            str(letter),
            "--requests",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "file not found" in result.output
