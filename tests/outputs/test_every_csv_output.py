"""Formula cells through every command that writes CSV (issue 12, finding 5).

Request ids such as `=HYPERLINK(...)` (and `\\t=1+1`, whose tab intake strips), an agency
name beginning with `=` and a filed return's street beginning with `=` go in; every cell
of every CSV that comes out is read back and none may start like a formula. Parquet
keeps the values as they were, and the response digest in the ledger is the digest of
the bytes written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from process_cases import CASES, write_reference
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

FORMULA_IDS = ['=HYPERLINK("http://x.example","click")', "\t=1+1", "+1+1", "-2+3", "@SUM(A1:A9)", "\r=9"]
AGENCY = "=U.S. Immigration and Customs Enforcement"
RETURN_STREET = '=HYPERLINK("http://return.example","home")'
MOVED_TIN = "101010102"  # the hand-built case whose requested address is a prior one


@dataclass(frozen=True)
class World:
    root: Path
    env: dict[str, str]
    csvs: dict[str, Path]
    response: Path
    explanations: Path
    db: Path


def _run(args: list[str], env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, (args[0], result.output)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("formulas")
    reference = root / "reference"
    write_reference(reference)
    addresses = pl.read_parquet(reference / "addresses.parquet")
    newest = addresses.filter(pl.col("tin") == MOVED_TIN).sort("tax_year").tail(1)
    moved = newest.with_columns(street=pl.lit(RETURN_STREET), tax_year=pl.col("tax_year") + 1)
    pl.concat([addresses, moved]).write_parquet(reference / "addresses.parquet")

    officers = ["A100", "A101", "A102", "A103", "A104"]
    rows = [record(index, officers, **case.request) for index, case in enumerate(CASES, start=1)]
    disclosed_cases = [i for i, case in enumerate(CASES) if case.decision == "disclose"]
    for slot, index in enumerate(disclosed_cases[: len(FORMULA_IDS)]):
        rows[index]["request_id"] = FORMULA_IDS[slot]
    requests = write_requests(root / "requests.csv", rows)
    letter = write_letter(
        root / "letter.yaml",
        merge(BASE_LETTER, {"record_count": len(rows), "requesting_agency": AGENCY,
                            "purpose": "-Investigation of wilful failure to depart"}),
    )  # fmt: skip
    db = root / "ledger.db"
    env = {
        "FTIGATE_SIGNING_KEY_FILE": str(root / "signing.key"),
        "FTIGATE_PSEUDONYM_KEY_FILE": str(root / "pseudonym.key"),
        "FTIGATE_DEBUG": "",
    }
    _run(["ledger", "keygen", "--origin", "ftigate.test/formulas"], env)
    common = ["--letter", str(letter), "--requests", str(requests)]
    _run(["screen", *common, "--out", str(root / "screened.csv")], env)
    _run(["process", *common, "--reference", str(reference), "--out", str(root / "out"), "--db", str(db)], env)
    _run(["audit", *common, "--disclosed", str(root / "out" / "response.csv"), "--reference", str(reference),
          "--out", str(root / "audit"), "--workers", "1"], env)  # fmt: skip
    _run(["baseline", "irs-2025", *common, "--reference", str(reference), "--out", str(root / "replica.csv")], env)
    _run(["report", "transparency", "--period", "2025", "--decisions", str(root / "out" / "decisions.csv"),
          "--letter", str(letter), "--out", str(root / "transparency"), "--threshold", "2"], env)  # fmt: skip
    year = datetime.now(UTC).year
    _run(["report", "jct", "--year", str(year), "--db", str(db), "--out", str(root / "jct")], env)
    csvs = {
        "screened": root / "screened.csv",
        "decisions": root / "out" / "decisions.csv",
        "response": root / "out" / "response.csv",
        "findings": root / "audit" / "findings.csv",
        "replica": root / "replica.csv",
        "transparency": root / "transparency" / "transparency-2025.csv",
        "jct": root / "jct" / f"jct-{year}.csv",
    }
    return World(root, env, csvs, root / "out" / "response.csv", root / "out" / "explanations.parquet", db)


def _cells(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


@pytest.mark.parametrize("name", ["screened", "decisions", "response", "findings", "replica", "transparency", "jct"])
def test_no_cell_of_any_csv_output_starts_a_formula(world: World, name: str) -> None:
    cells = _cells(world.csvs[name])
    assert cells, name
    dangerous = [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert dangerous == [], (name, dangerous[:3])


@pytest.mark.parametrize(
    ("name", "neutralised"),
    [
        ("screened", "'=HYPERLINK(\"http://x.example\",\"click\")"),
        ("decisions", "'=1+1"),  # intake stripped the tab; the formula is still neutralised
        ("response", "'-2+3"),
        ("response", "'" + RETURN_STREET),  # an address from a filed return
        ("findings", "'@SUM(A1:A9)"),
        ("transparency", "'" + AGENCY),
        ("jct", "'" + AGENCY),
    ],
)
def test_formula_cells_arrive_quoted_not_dropped(world: World, name: str, neutralised: str) -> None:
    assert neutralised in _cells(world.csvs[name])


def test_parquet_keeps_the_values_unchanged(world: World) -> None:
    explained = pl.read_parquet(world.explanations)
    assert '=HYPERLINK("http://x.example","click")' in explained["request_id"].to_list()


def test_the_recorded_response_digest_is_the_digest_of_the_file_written(world: World) -> None:
    from ftigate.store.api import Store

    with Store.open(f"sqlite:///{world.db}", run_migrations=False) as store:
        entries = [json.loads(leaf.entry) for leaf in store.leaves("response_sent")]
    assert len(entries) == 1
    assert entries[0]["event"]["response_digest"] == hashlib.sha256(world.response.read_bytes()).hexdigest()
