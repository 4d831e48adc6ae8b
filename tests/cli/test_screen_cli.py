"""The command line end to end: screen, explain, codes, and the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

runner = CliRunner()
OFFICERS = list(BASE_LETTER["officers"])


def _batch(tmp: Path) -> tuple[Path, Path]:
    rows = [record(i, OFFICERS) for i in range(6)]
    rows[1]["street"] = "Failed to Provide"
    rows[2]["street"], rows[2]["unit"], rows[2]["city"], rows[2]["state"] = "", "", "", ""
    rows[3]["statute"] = "8 U.S.C. 1253"
    rows[4]["tin"] = "666-12-3456"
    rows[5]["taxable_periods"] = ""
    letter = write_letter(tmp / "letter.yaml", merge(BASE_LETTER, {"record_count": 6}))
    return letter, write_requests(tmp / "requests.csv", rows)


def test_screen_writes_one_row_per_request_and_prints_a_summary(tmp_path: Path) -> None:
    letter, requests = _batch(tmp_path)
    out = tmp_path / "screened.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "sufficient" in result.output and "ADDRESS_PLACEHOLDER" in result.output
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns == ["request_id", "sufficient", "outcome", "reasons", "warnings"]
    got = {
        r["request_id"]: (r["sufficient"], r["outcome"], r["reasons"] or "", r["warnings"] or "")
        for r in frame.iter_rows(named=True)
    }
    assert got == {
        "R000000": ("true", "pass", "", ""),
        "R000001": ("false", "refuse", "ADDRESS_PLACEHOLDER", ""),
        "R000002": ("false", "refuse", "ADDRESS_ZIP_ONLY", ""),
        "R000003": ("false", "review", "STATUTE_UNRECOGNIZED", ""),
        "R000004": ("true", "pass", "", "TIN_SSN_INVALID"),
        "R000005": ("false", "refuse", "PERIOD_MISSING", ""),
    }


def test_screen_json_summary(tmp_path: Path) -> None:
    letter, requests = _batch(tmp_path)
    result = runner.invoke(
        app,
        [
            "screen",
            "--letter",
            str(letter),
            "--requests",
            str(requests),
            "--out",
            str(tmp_path / "o.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == 6 and summary["sufficient"] == 2
    assert summary["refused"] == 3 and summary["review"] == 1
    assert summary["reasons"]["ADDRESS_PLACEHOLDER"] == 1
    assert summary["warnings"] == {"TIN_SSN_INVALID": 1}


def test_letter_failures_apply_to_every_record(tmp_path: Path) -> None:
    rows = [record(i, OFFICERS) for i in range(5)]
    letter = write_letter(
        tmp_path / "letter.yaml",
        merge(BASE_LETTER, {"signer": {"title": "Assistant Director"}, "statute": "8 U.S.C. 1227"}),
    )
    requests = write_requests(tmp_path / "r.csv", rows)
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(out)]
    )
    assert result.exit_code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert set(frame["reasons"]) == {"LETTER_SIGNER_NOT_AUTHORIZED;LETTER_STATUTE_NOT_CRIMINAL"}


def test_policy_can_make_boilerplate_a_refusal(tmp_path: Path) -> None:
    rows = [record(i, OFFICERS, reason="Subject is removable") for i in range(30)]
    letter = write_letter(
        tmp_path / "letter.yaml", merge(BASE_LETTER, {"officers": ["A100", "A101"], "record_count": 30})
    )
    requests = write_requests(tmp_path / "r.csv", [dict(r, officer="A100") for r in rows])
    policy = tmp_path / "policy.yaml"
    policy.write_text("boilerplate_effect: refuse\n")
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app,
        [
            "screen",
            "--letter",
            str(letter),
            "--requests",
            str(requests),
            "--out",
            str(out),
            "--policy",
            str(policy),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reasons"] == {"REASON_BOILERPLATE": 30}


def test_explain_cites_the_statute() -> None:
    result = runner.invoke(app, ["explain", "ADDRESS_ZIP_ONLY"])
    assert result.exit_code == 0
    assert "6103(i)(2)(B)(i)" in result.output and "zip code is not an address" in result.output.lower()
    lower = runner.invoke(app, ["explain", "letter_statute_tax"])
    assert lower.exit_code == 0 and "Title 26" in lower.output


def test_explain_unknown_code() -> None:
    result = runner.invoke(app, ["explain", "NOT_A_CODE"])
    assert result.exit_code == 2
    assert "unknown reason code" in result.output


def test_codes_lists_everything() -> None:
    result = runner.invoke(app, ["codes", "--json"])
    assert result.exit_code == 0
    listed = {c["code"] for c in json.loads(result.stdout)}
    assert {"ADDRESS_PLACEHOLDER", "LETTER_SIGNER_NOT_AUTHORIZED", "NO_MATCH"} <= listed


def test_installed_entry_point(tmp_path: Path) -> None:
    letter, requests = _batch(tmp_path)
    ftigate = Path(sys.executable).parent / "ftigate"
    done = subprocess.run(
        [
            str(ftigate),
            "screen",
            "--letter",
            str(letter),
            "--requests",
            str(requests),
            "--out",
            str(tmp_path / "o.csv"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"] == 6
    bad = subprocess.run(
        [
            str(ftigate),
            "screen",
            "--letter",
            str(letter),
            "--requests",
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "file not found" in bad.stderr


def test_an_internal_error_shows_no_traceback_and_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ftigate.cli.main as cli_main

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("Maria Garcia Lopez 123-45-6789")

    monkeypatch.setattr(cli_main, "screen_files", broken)
    letter, requests = _batch(tmp_path)
    result = runner.invoke(app, ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 3  # internal error: never 1, which means "does not verify"
    assert "internal error (ValueError)" in result.output
    assert "Garcia" not in result.output and "Traceback" not in result.output
