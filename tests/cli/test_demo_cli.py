"""`ftigate demo` runs the whole pipeline and shows ftigate beside the 2025 replica."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ftigate.cli.main import app


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--people", "8000", "--requests", "1500", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "The same batch, two processes" in result.output
    for path in (
        "population/taxpayers.parquet",
        "batch/truth.parquet",
        "screened.csv",
        "ftigate/response.csv",
        "irs-2025/disclosed.csv",
        "audit/ftigate/report.html",
        "audit/2025 replica/report.html",
    ):
        assert (out / path).exists(), path
    ours = json.loads((out / "audit" / "ftigate" / "summary.json").read_text())
    theirs = json.loads((out / "audit" / "2025 replica" / "summary.json").read_text())
    assert ours["totals"]["unlawful"] == 0
    assert theirs["totals"]["unlawful"] > 5 * max(1, theirs["totals"]["lawful"]) // 2
    # The demo lifts the cases-per-officer ceiling for its audits: the reports say a policy
    # was overridden, and by whom, rather than "no finding".
    for summary, name in ((ours, "ftigate"), (theirs, "2025 replica")):
        policy = summary["provenance"]["policy"]
        assert policy["overridden"] and policy["overrides"][0]["setting"] == "cases_per_officer_ceiling"
        assert "demo" in policy["note"]
        page = (out / "audit" / name / "report.html").read_text()
        assert "Policy overridden by the demo" in page and "Under an overridden policy" in page
    process = json.loads((out / "ftigate" / "summary.json").read_text())
    assert process["provenance"]["policy"]["overridden"] is True
    # Running the demo again into the same folder needs --force, and then replaces only its own outputs.
    again = CliRunner().invoke(app, ["demo", "--out", str(out), "--people", "8000", "--requests", "1500"])
    assert again.exit_code == 2 and "--force" in again.output


def test_demo_rejects_an_unknown_profile(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--profile", "nope"])
    assert result.exit_code == 2
    assert "unknown profile" in result.output


def test_demo_runs_at_the_smallest_population_its_help_allows(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path / "d"), "--people", "200", "--requests", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "The same batch, two processes" in result.output
