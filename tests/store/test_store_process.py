"""`ftigate process --db` records every step in the store and the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.store.api import Store
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io

runner = CliRunner()


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recorded")
    population = generate_population(3_000, seed=21)
    batch = generate_requests(population, 300, PROFILES["adversarial"], seed=21, profile_name="adversarial")
    synth_io.write_population(population, root / "pop")
    synth_io.write_request_batch(batch, root / "batch", PROFILES["adversarial"])
    return root


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "keys" / "signing.key"))
    assert runner.invoke(app, ["ledger", "keygen"]).exit_code == 0


def _args(root: Path, out: Path, db_url: str, *extra: str) -> list[str]:
    return ["process", "--letter", str(root / "batch" / "letter.yaml"), "--requests",
            str(root / "batch" / "requests.csv"), "--reference", str(root / "pop"), "--out", str(out),
            "--db", db_url, "--json", *extra]  # fmt: skip


def _process(root: Path, out: Path, db_url: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, _args(root, out, db_url, *extra))
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_every_step_is_recorded_and_verifies(
    small_batch: Path, keys: None, db_url: str, tmp_path: Path
) -> None:
    summary = _process(small_batch, tmp_path / "out", db_url)
    ledger = summary["ledger"]
    assert isinstance(ledger, dict) and ledger["checkpoint_signed"]

    decisions = pl.read_csv(tmp_path / "out" / "decisions.csv", infer_schema=False)
    response = pl.read_csv(tmp_path / "out" / "response.csv", infer_schema=False)
    with Store.open(db_url) as store, store.engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM ledger_leaves GROUP BY kind")).all())
        assert kinds["batch_received"] == 1 and kinds["response_sent"] == 1 == kinds["response_released"]
        # One leaf commits to every request's screening, one to every decision; the
        # committed rows are the tables (`ledger verify` rehashes them against the roots).
        assert kinds["batch_screened"] == 1 == kinds["batch_decided"]
        assert "record_screened" not in kinds and "decision" not in kinds
        committed = {
            event["kind"]: event
            for leaf in store.leaves()
            if leaf.kind in ("batch_screened", "batch_decided")
            for event in [json.loads(leaf.entry)["event"]]
        }
        assert {kind: e["records"] for kind, e in committed.items()} == {
            "batch_screened": decisions.height, "batch_decided": decisions.height,
        }  # fmt: skip
        for table in ("screening_results", "decisions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == decisions.height
        assert kinds["disclosure"] == response.height > 0
        assert kinds["records_inspected"] == summary["records_resolved"]
        stored = conn.execute(text("SELECT count(*) FROM disclosures")).scalar_one()
        assert stored == response.height
        entries = b"".join(row[0] for row in conn.execute(text("SELECT entry FROM ledger_leaves")))
        tables = {"batch_screened": "screening_results", "batch_decided": "decisions"}
        items = [
            store.committed_items(tables[kind], event["batch_id"], event["event_id"])
            for kind, event in committed.items()
        ]
        entries += b"".join(item.canonical() for part in items for item in part)
    # No clear TIN or street of a disclosed address is in the log.
    taxpayers = pl.read_parquet(small_batch / "pop" / "taxpayers.parquet")
    for tin in taxpayers["tin"].head(500):
        assert tin.encode() not in entries
    for street in response["street"].drop_nulls().head(50):
        assert street.encode() not in entries

    verify = runner.invoke(app, ["ledger", "verify", "--db", db_url])
    assert verify.exit_code == 0, verify.output

    # `batch show` names the committing leaves; any request's result is proved from them.
    batch_id = summary["ledger"]["batch_id"]
    shown = json.loads(runner.invoke(app, ["batch", "show", batch_id, "--db", db_url, "--json"]).stdout)
    assert shown["committed"]["screened"]["event"]["records"] == decisions.height == shown["screened"]
    assert shown["committed"]["decided"]["event"]["records"] == decisions.height == shown["decisions"]
    request_id, decision = decisions["request_id"][-1], decisions["decision"][-1]
    proof = tmp_path / "record.json"
    proved = runner.invoke(
        app, ["ledger", "prove-record", batch_id, request_id, "--what", "decision", "--db", db_url, "--out", str(proof)]
    )
    assert proved.exit_code == 0, proved.output
    checked = runner.invoke(app, ["ledger", "check-proof", str(proof)])
    assert checked.exit_code == 0, checked.output
    assert f"request {request_id} of batch {batch_id} was decided {decision}" in checked.stdout


def test_processing_again_is_refused_unless_it_supersedes(
    small_batch: Path, keys: None, db_url: str, tmp_path: Path
) -> None:
    first = _process(small_batch, tmp_path / "one", db_url)["ledger"]
    assert isinstance(first, dict)
    again = runner.invoke(app, [*_args(small_batch, tmp_path / "two", db_url)])
    assert again.exit_code == 2
    assert f"--supersede {first['batch_id']}" in " ".join(again.output.split())
    assert not (tmp_path / "two").exists()
    second = _process(small_batch, tmp_path / "two", db_url, "--supersede", first["batch_id"])["ledger"]
    assert isinstance(second, dict) and second["supersedes"] == first["batch_id"]
    assert first["batch_id"] != second["batch_id"]
    with Store.open(db_url) as store:
        assert store.batch(first["batch_id"])["status"] == "superseded"  # type: ignore[index]
        assert store.batch(second["batch_id"])["supersedes"] == first["batch_id"]  # type: ignore[index]


def test_without_keys_nothing_is_processed(
    small_batch: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "missing.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "missing-signing.key"))
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["process", "--letter", str(small_batch / "batch" / "letter.yaml"), "--requests",
         str(small_batch / "batch" / "requests.csv"), "--reference", str(small_batch / "pop"), "--out", str(out),
         "--db", db_url],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "ftigate ledger keygen" in result.output
    assert not out.exists()
