"""`ftigate synth` through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from ftigate.cli.synth import app

runner = CliRunner()

def mean(series: pl.Series) -> float:
    """Mean of a numeric or boolean series as a float (typed for mypy)."""
    return float(cast(float, series.cast(pl.Float64).mean()))



@pytest.fixture(scope="module")
def small_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "pop"
    result = runner.invoke(
        app, ["population", "--people", "5000", "--seed", "3", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_population_and_requests_end_to_end(small_population: Path, tmp_path: Path) -> None:
    assert (small_population / "taxpayers.parquet").is_file()
    assert (small_population / "addresses.parquet").is_file()
    out = tmp_path / "batch"
    result = runner.invoke(
        app,
        ["requests", "--population", str(small_population), "--count", "400",
         "--profile", "adversarial", "--seed", "3", "--out", str(out),
         "--set", "typo_name=0.5", "--set", "single_officer=true"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "seed 3" in result.output
    letter = yaml.safe_load((out / "letter.yaml").read_text())
    assert letter["record_count"] == 400 and len(letter["officers"]) == 1
    truth = pl.read_parquet(out / "truth.parquet")
    typo_share = mean(truth["hard_cases"].list.contains("typo_name"))
    assert typo_share is not None and typo_share > 0.3
    assert len(pl.read_csv(out / "requests.csv")) == 400


def test_profile_file(small_population: Path, tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("base: clean\nnot_in_file: 0.5\n")
    out = tmp_path / "batch"
    result = runner.invoke(
        app,
        ["requests", "--population", str(small_population), "--count", "300",
         "--profile-file", str(profile), "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    truth = pl.read_parquet(out / "truth.parquet")
    assert 0.35 <= mean(truth["in_file"]) <= 0.65


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "unknown profile"),
        (["--count", "0"], "--count must be positive"),
        (["--count", "-5"], "--count must be positive"),
        (["--set", "no_such_rate=1"], "unknown rate"),
        (["--set", "typo_name=2"], "between 0 and 1"),
        (["--set", "typo_name"], "name=value"),
    ],
)
def test_bad_request_arguments_fail_with_one_line(
    small_population: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app,
        ["requests", "--population", str(small_population), "--out", str(tmp_path / "b"), *args],
    )
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert not (tmp_path / "b").exists()


def test_missing_population_dir(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["requests", "--population", str(tmp_path / "none"), "--out", str(tmp_path / "b")]
    )
    assert result.exit_code == 2
    assert "error: population directory not found" in result.output


def test_bad_population_arguments(tmp_path: Path) -> None:
    result = runner.invoke(app, ["population", "--people", "0", "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "error: --people must be positive" in result.output
    result = runner.invoke(
        app, ["population", "--people", "10", "--out", str(tmp_path / "p"), "--set", "x=1"]
    )
    assert result.exit_code == 2 and "unknown rate" in result.output


def test_rates_lists_every_profile_rate() -> None:
    result = runner.invoke(app, ["rates"])
    assert result.exit_code == 0
    assert "address_placeholder" in result.output and "court-2025" in result.output


@pytest.mark.parametrize("people", [1, 2, 200])
def test_a_small_population_lends_no_ssn_and_still_writes(people: int, tmp_path: Path) -> None:
    # 200 people lend no SSN at all; the address table once gathered a borrower's name from
    # the empty list of borrowers and crashed with a Polars traceback.
    out = tmp_path / "pop"
    result = runner.invoke(app, ["population", "--people", str(people), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    taxpayers = pl.read_parquet(out / "taxpayers.parquet")
    addresses = pl.read_parquet(out / "addresses.parquet")
    assert taxpayers.height == people
    assert addresses["tin"].is_in(taxpayers["tin"].implode()).all()
    batch = tmp_path / "batch"
    requested = runner.invoke(
        app, ["requests", "--population", str(out), "--count", "20", "--out", str(batch), "--quiet"]
    )
    assert requested.exit_code == 0, requested.output
    assert pl.read_csv(batch / "requests.csv").height == 20
