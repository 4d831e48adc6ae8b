"""`ftigate process` refuses a bad reference, model or option before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate_testkit import BASE_LETTER, record, write_letter, write_requests


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path]:
    letter = write_letter(tmp_path / "letter.yaml", BASE_LETTER)
    requests = write_requests(tmp_path / "requests.csv", [record(i, list(BASE_LETTER["officers"])) for i in range(5)])
    return letter, requests


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("missing", [], "reference must be a folder"),
        ("no_addresses", [], "no addresses.parquet or addresses.csv"),
        ("ok", ["--model", "nothing.json"], "not a readable ftigate model artefact"),
        ("ok", ["--review-floor", "0.9", "--disclose-probability", "0.5"], "--review-floor must not exceed"),
    ],
)
def test_refused_with_one_line_and_nothing_written(
    tmp_path: Path, batch: tuple[Path, Path], setup: str, extra: list[str], message: str
) -> None:
    letter, requests = batch
    reference = tmp_path / "reference"
    if setup != "missing":
        reference.mkdir()
        (reference / "taxpayers.csv").write_text("tin,first_name,middle_name,last_name,date_of_birth\n")
    if setup == "ok":
        (reference / "addresses.csv").write_text("tin,street,unit,city,state,zip,tax_year\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["process", "--letter", str(letter), "--requests", str(requests), "--reference", str(reference),
         "--out", str(out), *extra],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "screen" not in result.output  # refused before screening started
    assert not out.exists()
