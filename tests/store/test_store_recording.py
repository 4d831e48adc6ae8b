"""Recording that matches reality (issue 12, findings 2, 3 and 8), on SQLite and PostgreSQL.

Nothing recorded that did not happen: no disclosure without a written response, none
when `--out` cannot be written. Nothing done unrecorded: the ledger is on by default,
inspections are in the log before the taxpayer file is read, a run killed at any stage
leaves a batch the next run finishes or refuses until it is abandoned, and every
disclosure counts once.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.store.api import Store
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io
from killed_commit import kill_when_paused

runner = CliRunner()
STARTUP_LIMIT_SECONDS = 600  # how long a child may take to reach its pause point (not an assertion)


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recording")
    population = generate_population(2_000, seed=12)
    batch = generate_requests(population, 200, PROFILES["adversarial"], seed=12, profile_name="adversarial")
    synth_io.write_population(population, root / "pop")
    synth_io.write_request_batch(batch, root / "batch", PROFILES["adversarial"])
    return root


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "FTIGATE_PSEUDONYM_KEY_FILE": str(tmp_path / "keys" / "pseudonym.key"),
        "FTIGATE_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FTIGATE_DB", raising=False)
    assert runner.invoke(app, ["ledger", "keygen"]).exit_code == 0
    return env


def _args(letter: Path, requests: Path, reference: Path, out: Path, *extra: str) -> list[str]:
    return ["process", "--letter", str(letter), "--requests", str(requests), "--reference", str(reference),
            "--out", str(out), *extra]  # fmt: skip


def _batch_args(root: Path, out: Path, *extra: str) -> list[str]:
    return _args(root / "batch" / "letter.yaml", root / "batch" / "requests.csv", root / "pop", out, *extra)


def _kinds(db_url: str) -> dict[str, int]:
    with Store.open(db_url) as store, store.engine.connect() as conn:
        return dict(conn.execute(text("SELECT kind, count(*) FROM ledger_leaves GROUP BY kind")).all())  # type: ignore[arg-type]


def _batches(db_url: str) -> list[dict[str, object]]:
    with Store.open(db_url) as store:
        return store.batches()


def _jct(db_url: str, tmp: Path, name: str) -> dict[str, str]:
    folder = tmp / name
    result = runner.invoke(app, ["report", "jct", "--year", "2025", "--db", db_url, "--out", str(folder)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((folder / "jct-2025.csv").read_text())))
    assert len(rows) == 1, rows
    return rows[0]


# --- the ledger is on by default ------------------------------------------------------------


def test_without_db_the_batch_is_recorded_in_the_default_store(
    small_batch: Path, keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ledger"]["recorded"] is True
    default = f"sqlite:///{tmp_path / 'ftigate.db'}"
    assert [b["status"] for b in _batches(default)] == ["released"]
    kinds = _kinds(default)
    assert kinds["disclosure"] == pl.read_csv(tmp_path / "out" / "response.csv").height
    assert kinds["response_released"] == 1


def test_no_ledger_says_nothing_is_recorded(
    small_batch: Path, keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 0, result.output
    assert "nothing of this batch is recorded" in " ".join(result.stderr.split())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ledger"]["recorded"] is False
    assert not (tmp_path / "ftigate.db").exists()
    both = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "two"), "--no-ledger", "--db", "x.db"])
    assert both.exit_code == 2 and not (tmp_path / "x.db").exists()


# --- nothing recorded before it is done -------------------------------------------------------


@pytest.mark.parametrize("blocked", ["a file", "a folder holding another file"])
def test_an_unwritable_out_records_nothing(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path, blocked: str
) -> None:
    out = tmp_path / "out"
    if blocked == "a file":
        out.write_text("not a folder")
    else:
        out.mkdir()
        (out / "theirs.txt").write_text("keep")
    result = runner.invoke(app, [*_batch_args(small_batch, out), "--db", db_url])
    assert result.exit_code == 2, result.output
    assert _batches(db_url) == [] and "disclosure" not in _kinds(db_url)


@pytest.mark.parametrize(
    ("where", "expected"),
    [("purpose", "column 'purpose'"), ("request_id", "row 3, column 'request_id'")],
)
def test_a_tin_shaped_string_is_refused_before_any_taxpayer_record_is_read(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path, where: str, expected: str
) -> None:
    """Finding 3: it failed with "internal error (EntryError)" after scoring, leaving a batch."""
    letter_data = yaml.safe_load((small_batch / "batch" / "letter.yaml").read_text())
    requests = pl.read_csv(small_batch / "batch" / "requests.csv", infer_schema=False)
    if where == "purpose":
        letter_data["purpose"] = "Removal proceedings of 123-45-6789"
    else:
        requests = requests.with_columns(
            pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("REQ 123456789")).otherwise(pl.col("request_id"))
            .alias("request_id")
        )  # fmt: skip
    letter = tmp_path / "letter.yaml"
    letter.write_text(yaml.safe_dump(letter_data))
    requests.write_csv(tmp_path / "requests.csv")
    out = tmp_path / "out"
    result = runner.invoke(
        app, [*_args(letter, tmp_path / "requests.csv", small_batch / "pop", out), "--db", db_url]
    )
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert expected in message and "shaped like a TIN" in message
    assert "6789" not in message  # the value is never echoed
    assert _batches(db_url) == [] and _kinds(db_url) == {}
    assert not out.exists()


# --- killed runs ---------------------------------------------------------------------------------

CHILD = "import sys; from ftigate.cli.main import main; sys.argv = ['ftigate', *sys.argv[1:]]; main()"


def _killed_at(stage: str, args: list[str], env: dict[str, str], tmp: Path) -> None:
    """Run `ftigate` in a real process, wait until it reaches `stage`, SIGKILL it."""
    command = [sys.executable, "-c", CHILD, *args]
    kill_when_paused(command, env, stage, tmp / f"paused-{stage}", limit=STARTUP_LIMIT_SECONDS, poll=0.2)


def _inspections_started(db_url: str) -> set[str]:
    with Store.open(db_url) as store:
        started: set[str] = set()
        for entry in store.entries_of_kinds(["inspection_started"]):
            started.update(json.loads(entry)["event"]["request_ids"])
        return started


def _abandon(db_url: str, batch_id: object) -> None:
    result = runner.invoke(app, ["batch", "abandon", str(batch_id), "--reason", "killed", "--db", db_url])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("stage", ["scoring", "disclosures_recorded"])
def test_a_run_killed_before_its_response_is_in_place_is_refused_until_abandoned(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path, stage: str
) -> None:
    out = tmp_path / "out"
    args = [*_batch_args(small_batch, out), "--db", db_url]
    _killed_at(stage, args, keys, tmp_path)

    (killed,) = _batches(db_url)
    kinds = _kinds(db_url)
    assert killed["status"] == ("inspecting" if stage == "scoring" else "responding")
    screened = pl.read_csv(small_batch / "batch" / "requests.csv", infer_schema=False).height
    # one leaf commits to every request's screening result: the batch's rows
    assert kinds["batch_screened"] == 1 and "record_screened" not in kinds
    with Store.open(db_url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM screening_results")).scalar_one() == screened
    # Every inspection that started is in the log, before any of them read a taxpayer record.
    assert kinds["inspection_started"] >= 1 and _inspections_started(db_url)
    if stage == "scoring":
        assert "records_inspected" not in kinds and "disclosure" not in kinds
    else:
        assert kinds["disclosure"] > 0 and kinds["response_sent"] == 1
    # No response in place: nothing was released, so nothing counts as disclosed.
    assert not (out / "response.csv").exists() and "response_released" not in kinds
    # The killed run's leaves were sealed as they were appended, so the log key signs them;
    # until it does, the JCT report refuses the log (leaves beyond the last signed head).
    signed = runner.invoke(app, ["ledger", "checkpoint", "--db", db_url, "--out", str(tmp_path / "head.txt")])
    assert signed.exit_code == 0, signed.output
    assert _jct(db_url, tmp_path, "jct-killed")["disclosures"] == "0"

    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert f"ftigate batch abandon {killed['id']}" in " ".join(again.output.split())
    assert len(_batches(db_url)) == 1

    _abandon(db_url, killed["id"])
    rerun = runner.invoke(app, [*args, "--json"])
    assert rerun.exit_code == 0, rerun.output
    response = pl.read_csv(out / "response.csv", infer_schema=False)
    row = _jct(db_url, tmp_path, "jct-after")
    assert row["disclosures"] == str(response.height) and row["requests"] == str(screened)
    statuses = sorted(str(b["status"]) for b in _batches(db_url))
    assert statuses == ["abandoned", "released"]


def test_a_run_killed_after_its_response_is_in_place_is_finished_by_the_next(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = [*_batch_args(small_batch, out), "--db", db_url]
    _killed_at("committed", args, keys, tmp_path)
    (killed,) = _batches(db_url)
    assert killed["status"] == "responding" and (out / "response.csv").is_file()
    response = pl.read_csv(out / "response.csv", infer_schema=False)

    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "recorded its release" in " ".join(resumed.output.split())
    (batch,) = _batches(db_url)
    assert batch["status"] == "released"
    kinds = _kinds(db_url)
    assert kinds["disclosure"] == response.height and kinds["response_released"] == 1
    assert _jct(db_url, tmp_path, "jct")["disclosures"] == str(response.height)

    # The same files again: refused unless it supersedes, and then counted once.
    refused = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "two"), "--db", db_url])
    assert refused.exit_code == 2 and f"--supersede {batch['id']}" in " ".join(refused.output.split())
    again = runner.invoke(
        app, [*_batch_args(small_batch, tmp_path / "two"), "--db", db_url, "--supersede", str(batch["id"])]
    )
    assert again.exit_code == 0, again.output
    assert _kinds(db_url)["disclosure"] == 2 * response.height
    assert _jct(db_url, tmp_path, "jct-superseded")["disclosures"] == str(response.height)


def test_a_run_killed_while_putting_its_outputs_in_place_is_rolled_forward_by_the_next(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    """Killed after the output folder's commit point, between two renames: decisions.csv
    is in place, response.csv still staged. The next run completes the set (never a mix
    of two runs' files), finds the recorded response in place and records its release."""
    out = tmp_path / "out"
    args = [*_batch_args(small_batch, out), "--db", db_url]
    _killed_at("output:placed:decisions.csv", args, keys, tmp_path)
    (killed,) = _batches(db_url)
    assert killed["status"] == "responding"
    assert (out / "decisions.csv").is_file() and not (out / "response.csv").exists()
    assert "committing" in json.loads((out / ".ftigate-manifest.json").read_text())

    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "recorded its release" in " ".join(resumed.output.split())
    assert sorted(p.name for p in out.iterdir()) == [
        ".ftigate-manifest.json", "decisions.csv", "explanations.parquet", "response.csv", "summary.json",
    ]  # fmt: skip
    manifest = json.loads((out / ".ftigate-manifest.json").read_text())
    assert "committing" not in manifest
    (batch,) = _batches(db_url)
    assert batch["status"] == "released"
    response = pl.read_csv(out / "response.csv", infer_schema=False)
    assert _kinds(db_url)["response_released"] == 1
    assert _jct(db_url, tmp_path, "jct")["disclosures"] == str(response.height)


def test_batch_commands_show_abandon_and_void_by_appending(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "out"), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    batch_id = json.loads(result.stdout)["ledger"]["batch_id"]
    size = _kinds(db_url)

    abandon = runner.invoke(app, ["batch", "abandon", batch_id, "--reason", "x", "--db", db_url])
    assert abandon.exit_code == 2 and "batch void" in abandon.output  # released: void it instead
    tin_reason = runner.invoke(
        app, ["batch", "void", batch_id, "--reason", "for 123-45-6789", "--db", db_url]
    )
    assert tin_reason.exit_code == 2 and "6789" not in tin_reason.output
    assert _kinds(db_url) == size  # refusals append nothing

    void = runner.invoke(
        app, ["batch", "void", batch_id, "--reason", "wrong office", "--by", "A100", "--db", db_url]
    )
    assert void.exit_code == 0, void.output
    listed = json.loads(runner.invoke(app, ["batch", "list", "--db", db_url, "--json"]).stdout)
    assert [(b["batch_id"], b["status"], b["disclosures_count"]) for b in listed] == [
        (batch_id, "voided", True)
    ]
    shown = json.loads(runner.invoke(app, ["batch", "show", batch_id, "--db", db_url, "--json"]).stdout)
    assert [e["kind"] for e in shown["events"]] == ["response_sent", "response_released", "batch_voided"]
    assert shown["events"][-1]["reason"] == "wrong office"
    assert shown["disclosures_recorded"] == pl.read_csv(tmp_path / "out" / "response.csv").height
    # A voided batch's disclosures were made: they still count, once.
    assert _jct(db_url, tmp_path, "jct")["disclosures"] == str(shown["disclosures_recorded"])
    again = runner.invoke(app, ["batch", "void", batch_id, "--reason", "again", "--db", db_url])
    assert again.exit_code == 2
    assert runner.invoke(app, ["batch", "show", "nope", "--db", db_url]).exit_code == 2


def test_a_second_run_of_the_same_files_started_meanwhile_records_nothing(
    small_batch: Path, db_url: str, tmp_path: Path
) -> None:
    from ftigate.decide.record import BatchFiles, BatchRecorder
    from ftigate.intake.errors import IntakeError
    from ftigate.intake.letter import read_letter
    from ftigate.law.loader import load_law
    from ftigate.ledger.events import Pseudonymizer

    letter_path, requests_path = small_batch / "batch" / "letter.yaml", small_batch / "batch" / "requests.csv"
    files = BatchFiles.read(letter_path, requests_path)
    screened = pl.DataFrame(
        {"request_id": ["R1", "R2"], "outcome": ["pass", "refuse"], "reasons": [[], ["X"]]}
    )
    with Store.open(db_url) as store:
        both = [
            BatchRecorder(
                store, read_letter(letter_path), files, load_law(), "0" * 64, Pseudonymizer(b"k" * 32), None
            )
            for _ in range(2)
        ]
        both[0].screened(screened)  # the first run got there first
        before = _kinds(db_url)
        with pytest.raises(IntakeError, match="started meanwhile"):
            both[1].screened(screened)
        assert [b["id"] for b in store.batches()] == [both[0].batch_id]
    assert _kinds(db_url) == before


# --- the decisions recorded while the outputs are staged -----------------------------------


def test_the_decisions_are_recorded_before_any_disclosure(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, [*_batch_args(small_batch, tmp_path / "out"), "--db", db_url])
    assert result.exit_code == 0, result.output
    with Store.open(db_url) as store, store.engine.connect() as conn:
        order = [kind for (kind,) in conn.execute(text("SELECT kind FROM ledger_leaves ORDER BY leaf_index"))]
    decided = order.index("batch_decided")
    assert "disclosure" in order and decided < order.index("disclosure")
    assert "records_inspected" not in order[decided:]


@pytest.mark.parametrize("failing", ["the decisions' record", "the outputs' staging"])
def test_a_failure_while_deciding_and_staging_discloses_nothing_and_leaves_no_output(
    small_batch: Path, keys: dict[str, str], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    import ftigate.decide.record as record

    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device (test)")

    monkeypatch.setattr(record, "commit_decisions" if failing == "the decisions' record" else "stage_outputs", fail)
    out = tmp_path / "out"
    result = runner.invoke(app, [*_batch_args(small_batch, out), "--db", db_url])
    assert result.exit_code != 0, result.output
    kinds = _kinds(db_url)
    assert "disclosure" not in kinds and "response_sent" not in kinds
    assert ("batch_decided" in kinds) is (failing == "the outputs' staging")  # waited for, then the error
    assert not out.exists() or list(out.iterdir()) == []
