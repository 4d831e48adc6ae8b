"""Every command that writes, run once on one hostile synthetic batch (issue 12).

Finding 5: request ids such as `=HYPERLINK(...)` (and `\\t=1+1`, whose tab intake
strips), an agency name beginning with `=` and a filed return's street beginning with `=`
go in; every cell of every CSV that comes out is read back and none may start like a
formula. Parquet keeps the values as they were, and the response digest in the ledger
is the digest of the bytes written.
Finding 6: every file these commands create is 0600 and every folder 0700 (the SQLite
database and its WAL file included).
Finding 8: the process summary and the JCT report name the version, inputs and policy."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from process_cases import CASES, write_reference
from typer.testing import CliRunner

from ftigate import __version__
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
    year: int
    inputs: dict[str, Path]


WRITTEN = ["screened.csv", "out", "cache", "audit", "replica.csv", "transparency", "jct", "checkpoint.txt",
           "pop", "batch", "ledger.db"]  # fmt: skip


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
    _run(["process", *common, "--reference", str(reference), "--out", str(root / "out"), "--db", str(db),
          "--reference-cache", str(root / "cache")], env)  # fmt: skip
    _run(["audit", *common, "--disclosed", str(root / "out" / "response.csv"), "--reference", str(reference),
          "--out", str(root / "audit"), "--workers", "1"], env)  # fmt: skip
    _run(["baseline", "irs-2025", *common, "--reference", str(reference), "--out", str(root / "replica.csv")], env)
    _run(["report", "transparency", "--year", "2025", "--decisions", str(root / "out" / "decisions.csv"),
          "--letter", str(letter), "--out", str(root / "transparency"), "--threshold", "2"], env)  # fmt: skip
    year = 2025  # the letter's year: the JCT report counts a batch under its letter's date
    _run(["report", "jct", "--year", str(year), "--db", str(db), "--out", str(root / "jct")], env)
    _run(["ledger", "checkpoint", "--db", str(db), "--out", str(root / "checkpoint.txt")], env)
    _run(["synth", "population", "--people", "300", "--seed", "2", "--quiet", "--out", str(root / "pop")], env)
    _run(["synth", "requests", "--population", str(root / "pop"), "--count", "40", "--quiet",
          "--out", str(root / "batch")], env)  # fmt: skip
    csvs = {
        "screened": root / "screened.csv",
        "decisions": root / "out" / "decisions.csv",
        "response": root / "out" / "response.csv",
        "findings": root / "audit" / "findings.csv",
        "replica": root / "replica.csv",
        "transparency": root / "transparency" / "transparency-2025.csv",
        "jct": root / "jct" / f"jct-{year}.csv",
    }
    inputs = {"letter": letter, "requests": requests}
    return World(
        root, env, csvs, root / "out" / "response.csv", root / "out" / "explanations.parquet", db, year, inputs
    )


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


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("name", WRITTEN)
def test_every_file_written_is_private(world: World, name: str) -> None:
    top = world.root / name
    paths = [top, *top.rglob("*")] if top.is_dir() else [top]
    for path in paths:
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, (str(path.relative_to(world.root)), oct(_mode(path)))


def test_the_sqlite_journal_takes_the_database_files_mode(world: World) -> None:
    from ftigate.ledger.events import RecordScreened
    from ftigate.store.api import Store

    with Store.open(f"sqlite:///{world.db}") as store:
        batch = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
        store.append_events([RecordScreened(batch_id=batch, request_id="R-mode", outcome="sufficient")])
        journals = [p for p in world.db.parent.iterdir() if p.name.startswith(world.db.name + "-")]
        assert journals  # WAL mode: ledger.db-wal and -shm exist while the store is open
        for path in journals:
            assert _mode(path) == 0o600, path.name


def test_the_process_summary_names_version_inputs_and_policy(world: World) -> None:
    summary = json.loads((world.root / "out" / "summary.json").read_text())
    provenance = summary["provenance"]
    assert provenance["ftigate_version"] == __version__
    for role, path in world.inputs.items():
        assert provenance["inputs"][role]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    reference_files = {f["file"] for f in provenance["inputs"]["reference"]["files"]}
    assert {"taxpayers.parquet", "addresses.parquet"} <= reference_files
    assert provenance["inputs"]["model"]["sha256"]
    policy = provenance["policy"]
    assert policy["overridden"] is False and policy["thresholds"] == summary["thresholds"]


def test_the_jct_report_names_its_version_and_ledger_head(world: World) -> None:
    document = json.loads((world.root / "jct" / f"jct-{world.year}.json").read_text())
    assert document["provenance"]["ftigate_version"] == __version__
    assert document["provenance"]["inputs"]["store"]["ledger_size"] > 0
    page = (world.root / "jct" / f"jct-{world.year}.html").read_text()
    assert f"produced by ftigate {__version__}" in page
