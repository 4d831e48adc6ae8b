"""`ftigate audit` and `ftigate baseline irs-2025` end to end, and their refusals of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
import typer
from audit_fixtures import LENDER_HOME, MARIA_NOW, CourtBatch, HandBatch
from typer.testing import CliRunner

from ftigate.report.render import CHROMIUM

runner = CliRunner()


def _audit_args(batch: HandBatch, disclosed: Path, out: Path) -> list[str]:
    return [
        "audit",
        "--letter",
        str(batch.letter),
        "--requests",
        str(batch.requests),
        "--disclosed",
        str(disclosed),
        "--reference",
        str(batch.reference),
        "--out",
        str(out),
    ]


def test_audit_writes_findings_summary_and_report(
    cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path
) -> None:
    disclosed = hand_batch.disclosed(
        [{"request_id": "R000001", **MARIA_NOW}, {"request_id": "R000005", **LENDER_HOME}]
    )
    out = tmp_path / "audit"
    result = runner.invoke(cli_app, _audit_args(hand_batch, disclosed, out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".ftigate-manifest.json", "findings.csv", "report.html", "summary.json",
    ]  # fmt: skip
    findings = pl.read_csv(out / "findings.csv", infer_schema=False)
    assert findings.columns[:4] == ["request_id", "lawful", "reasons", "citations"]
    assert findings["lawful"].to_list() == ["true", "false"]
    assert findings["reasons"].to_list()[1] == "WRONG_PERSON_DISCLOSED;ADDRESS_NOT_CORROBORATED"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["unlawful"] == 1 and "examples" in summary
    # Running again into the same folder needs --force, and replaces ftigate's own outputs.
    fewer = hand_batch.disclosed([{"request_id": "R000001", **MARIA_NOW}])
    refused = runner.invoke(cli_app, _audit_args(hand_batch, fewer, out))
    assert refused.exit_code == 2 and "--force" in refused.output
    again = runner.invoke(cli_app, [*_audit_args(hand_batch, fewer, out), "--force"])
    assert again.exit_code == 0, again.output
    assert pl.read_csv(out / "findings.csv").height == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".ftigate-staging")]


def _bad(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "missing.csv",
            "request_id,street,city\nR000001,77 Elm Ave,Austin\n",
            "missing required column(s): state, zip",
        ),
        (
            "unknown.csv",
            "request_id,street,unit,city,state,zip\nR999999,77 Elm Ave,,Austin,TX,78702\n",
            "1 request_id(s) are not in the request file",
        ),
        (
            "dupes.csv",
            "request_id,street,unit,city,state,zip\nR000001,77 Elm Ave,,Austin,TX,78702\n"
            "R000001,77 Elm Ave,,Austin,TX,78702\n",
            "appear more than once",
        ),
        ("garbage.parquet", "this is not parquet", "cannot read the disclosure file"),
        (
            "blank.csv",
            "request_id,street,unit,city,state,zip\n,77 Elm Ave,,Austin,TX,78702\n",
            "empty request_id",
        ),
        ("notes.txt.docx", "x", "must be .csv or .parquet"),
    ],
)
def test_bad_disclosure_files_exit_2_with_one_line_and_no_output(
    cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    out = tmp_path / "audit"
    result = runner.invoke(cli_app, _audit_args(hand_batch, _bad(tmp_path, name, content), out))
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert expected in message
    assert "Elm" not in message and "R000001" not in message and "R999999" not in message
    assert len(result.output.strip().splitlines()) <= 2  # one line (Rich may wrap a long path)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".audit")]


def test_bad_reference_and_letter_exit_2(cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path) -> None:
    disclosed = hand_batch.disclosed([{"request_id": "R000001", **MARIA_NOW}])
    args = _audit_args(hand_batch, disclosed, tmp_path / "audit")
    no_ref = runner.invoke(
        cli_app, [*args[:-4], "--reference", str(tmp_path / "nowhere"), "--out", str(tmp_path / "audit")]
    )
    assert no_ref.exit_code == 2 and "reference" in no_ref.output
    broken = _bad(tmp_path, "letter.yaml", "signer: [unclosed")
    bad_letter = runner.invoke(cli_app, ["audit", "--letter", str(broken), *args[3:]])
    assert bad_letter.exit_code == 2
    assert not (tmp_path / "audit").exists()


def test_baseline_command_writes_the_replica(
    cli_app: typer.Typer, court_batch: CourtBatch, tmp_path: Path
) -> None:
    out = tmp_path / "baseline.csv"
    result = runner.invoke(
        cli_app,
        [
            "baseline",
            "irs-2025",
            "--letter",
            str(court_batch.letter),
            "--requests",
            str(court_batch.requests),
            "--reference",
            str(court_batch.population),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns == ["request_id", "route", "street", "unit", "city", "state", "zip"]
    assert set(frame["route"].to_list()) == {"tin_matching", "address_matching"}


def test_baseline_refuses_a_missing_reference(
    cli_app: typer.Typer, court_batch: CourtBatch, tmp_path: Path
) -> None:
    out = tmp_path / "baseline.csv"
    result = runner.invoke(
        cli_app,
        [
            "baseline",
            "irs-2025",
            "--letter",
            str(court_batch.letter),
            "--requests",
            str(court_batch.requests),
            "--reference",
            str(tmp_path),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2 and "taxpayers.parquet" in result.output
    assert not out.exists()


def test_pdf_report(cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: the PDF renderer cannot run")
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); PDF test skipped")
    disclosed = hand_batch.disclosed([{"request_id": "R000005", **LENDER_HOME}])
    out = tmp_path / "audit"
    result = runner.invoke(cli_app, [*_audit_args(hand_batch, disclosed, out), "--pdf"])
    assert result.exit_code == 0, result.output
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    # Every page carries the running header and "Page N of M" (CSS @page margin boxes).
    from pypdf import PdfReader

    pages = [page.extract_text() for page in PdfReader(out / "report.pdf").pages]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"Page {number} of {len(pages)}" in flat, flat[-200:]
        assert "Audit of disclosures under 26 U.S.C. 6103(i)(2)" in flat
        assert "ftigate " in flat
