"""What agencies really send is accepted, and read the same whichever reader takes it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.intake.requests import REQUEST_COLUMNS, ReadOptions, read_request_chunks
from ftigate_testkit import BASE_LETTER, merge, record, write_letter

runner = CliRunner()
OFFICERS = list(BASE_LETTER["officers"])


def _rows(n: int = 5) -> list[dict[str, str]]:
    return [record(i, OFFICERS) for i in range(n)]


def _encode(rows: list[dict[str, str]], *, newline: str = "\n", header: list[str] | None = None) -> str:
    names = header or list(REQUEST_COLUMNS)
    out = [",".join(names)]
    for r in rows:
        out.append(",".join('"' + r[c].replace('"', '""') + '"' for c in REQUEST_COLUMNS))
    return newline.join(out) + newline


def _screen(tmp: Path, requests: Path, *extra: str, count: int = 5) -> pl.DataFrame:
    letter = write_letter(tmp / "letter.yaml", merge(BASE_LETTER, {"record_count": count}))
    out = tmp / "screened.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out), "--force", *extra]
    )
    assert result.exit_code == 0, result.output
    return pl.read_csv(out, infer_schema=False)


@pytest.mark.parametrize(
    "variant",
    [
        "bom",
        "crlf",
        "blank_lines",
        "embedded_newline",
        "extra_columns",
        "header_spelling",
        "short_rows",
        "only_commas",
    ],
)
def test_accepted(tmp_path: Path, variant: str) -> None:
    rows = _rows()
    rows[2]["reason"] = 'He said "leave"; case C2'
    header = None
    if variant == "embedded_newline":
        rows[1]["reason"] = "line one\nline two, with a comma"
    text = _encode(rows, header=header)
    if variant == "bom":
        text = "\ufeff" + text
    if variant == "crlf":
        text = _encode(rows, newline="\r\n")
    if variant == "blank_lines":
        lines = text.split("\n")
        text = "\n".join([lines[0], "", *lines[1:3], "", "", *lines[3:]])
    if variant == "extra_columns":
        lines = text.rstrip("\n").split("\n")
        text = (
            "\n".join(
                [lines[0] + ",agency_note,alien_number"] + [line + ',"kept",A123' for line in lines[1:]]
            )
            + "\n"
        )
    if variant == "header_spelling":
        lines = text.split("\n")
        lines[0] = lines[0].replace("request_id", "Request ID").replace("last_name", " LAST_NAME ")
        text = "\n".join(lines)
    if variant == "short_rows":
        lines = text.rstrip("\n").split("\n")
        # A trailing optional column left off entirely: officer is last.
        text = "\n".join([lines[0]] + [line.rsplit(",", 1)[0] for line in lines[1:]]) + "\n"
    if variant == "only_commas":
        lines = text.split("\n")
        text = "\n".join([*lines[:3], "," * 15, *lines[3:]])
    path = tmp_path / "requests.csv"
    path.write_text(text, encoding="utf-8", newline="")
    out = _screen(tmp_path, path)
    assert out["request_id"].to_list() == [r["request_id"] for r in rows]
    assert out["sufficient"].to_list() == ["true"] * 5, out


def test_latin1_needs_and_takes_encoding(tmp_path: Path) -> None:
    rows = _rows()
    rows[0]["last_name"] = "Peña Núñez"
    rows[1]["street"] = "12 Camino del Álamo"
    path = tmp_path / "requests.csv"
    path.write_bytes(_encode(rows).encode("cp1252"))
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(path), "--out", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "--encoding cp1252" in " ".join(result.output.split())
    for encoding in ("cp1252", "latin-1"):
        out = _screen(tmp_path, path, "--encoding", encoding)
        assert out["sufficient"].to_list() == ["true"] * 5


def test_parquet_in_and_out(tmp_path: Path) -> None:
    path = tmp_path / "requests.parquet"
    frame = pl.DataFrame(_rows()).with_columns(pl.col("date_of_birth").str.to_date())
    frame.with_columns(pl.lit(7).alias("extra")).write_parquet(path)
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    out = tmp_path / "screened.parquet"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    screened = pl.read_parquet(out)
    assert screened["sufficient"].to_list() == [True] * 5
    assert screened.schema["reasons"] == pl.List(pl.String)


def test_fast_and_precise_readers_agree(tmp_path: Path) -> None:
    """The precise reader takes over mid-file; records are neither lost nor repeated."""
    rows = [record(i, OFFICERS) for i in range(50)]
    text = _encode(rows)
    lines = text.rstrip("\n").split("\n")
    lines[40] = lines[40].rsplit(",", 1)[0]  # a short row: Arrow refuses it, the precise reader pads it
    path = tmp_path / "requests.csv"
    path.write_text("\n".join(lines) + "\n")
    chunks = list(read_request_chunks(path, ReadOptions(chunk_rows=7)))
    frame = pl.concat(chunks)
    assert frame["request_id"].to_list() == [r["request_id"] for r in rows]
    assert frame["_line"].to_list() == list(range(1, 51))
    assert frame["officer"][39] == ""


def test_many_chunks_give_the_same_answer(tmp_path: Path) -> None:
    rows = [record(i, OFFICERS) for i in range(30)]
    rows[7]["street"] = "Failed to Provide"
    rows[20]["zip"] = "99999"
    path = tmp_path / "requests.csv"
    path.write_text(_encode(rows))
    one = _screen(tmp_path, path, count=30)
    many = _screen(tmp_path, path, "--chunk-rows", "4", count=30)
    assert one.equals(many)
    assert one.filter(pl.col("sufficient") == "false")["request_id"].to_list() == ["R000007", "R000020"]


def test_duplicates_across_chunks_are_found(tmp_path: Path) -> None:
    rows = [record(i, OFFICERS) for i in range(30)]
    rows[25]["request_id"] = rows[2]["request_id"]
    path = tmp_path / "requests.csv"
    path.write_text(_encode(rows))
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app,
        ["screen", "--letter", str(letter), "--requests", str(path), "--out", str(out), "--chunk-rows", "4"],
    )
    assert result.exit_code == 2
    assert "row 26" in result.output and "first at row 3" in result.output
    assert not out.exists()
