"""Hostile input never crashes: one line naming the file, row and column, exit code 2,
nothing written, no value echoed (issue 12, finding 7). Every fixture goes through the
installed entry point in a real process; a few also through CliRunner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_cases import CASES, SECRET, Case
from typer.testing import CliRunner

from ftigate.cli.main import app

FTIGATE = Path(sys.executable).with_name("ftigate")


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _check(case: Case, tmp: Path, before: set[str], code: int, stdout: str, stderr: str) -> None:
    expected = case.code if isinstance(case.code, tuple) else (case.code,)
    assert code in expected, (code, stdout, stderr)
    output = stdout + stderr
    assert "Traceback" not in output
    assert SECRET not in output, "a hostile value was echoed"
    assert "2025-13-45" not in output
    if code != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        joined = " ".join(" ".join(lines).split())
        assert lines and lines[0].startswith("error:"), stderr
        for fragment in case.says:
            assert fragment in joined, (fragment, joined)
    else:
        for fragment in case.says:
            assert fragment in output, (fragment, output)
    created = _tree(tmp) - before
    allowed = {c for c in created if any(c == w or c.startswith(w + "/") for w in case.writes)}
    assert created == allowed, f"written on refusal: {sorted(created - allowed)}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_through_the_installed_command(case: Case, tmp_path: Path) -> None:
    args = case.build(tmp_path)
    before = _tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "FTIGATE_DEBUG"} | case.env(tmp_path)
    done = subprocess.run(
        [str(FTIGATE), *args], capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp_path
    )
    _check(case, tmp_path, before, done.returncode, done.stdout, done.stderr)


IN_PROCESS = ["nul-in-csv-field", "parquet-list-column", "letter-bad-date", "letter-json-nested-deep",
              "audit-route-mathtext", "db-mysql"]  # fmt: skip


@pytest.mark.parametrize("case", [c for c in CASES if c.id in IN_PROCESS], ids=IN_PROCESS)
def test_hostile_input_through_cli_runner(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTIGATE_DEBUG", raising=False)
    for name, value in case.env(tmp_path).items():
        monkeypatch.setenv(name, value)
    args = case.build(tmp_path)
    before = _tree(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    _check(case, tmp_path, before, result.exit_code, result.stdout, result.stderr)


def test_the_mathtext_route_is_shown_as_written(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "audit-route-mathtext")
    result = CliRunner().invoke(app, case.build(tmp_path))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "audit" / "report.html").read_text()
    assert "$\\frac{$" in page  # the data table and the chart's text, escaped as text
