"""`ftigate audit --disclosed` of an output folder whose commit a kill interrupted: the folder
is settled first (`ftigate.outputs.settle_output_folder`), as `process` and the service
settle theirs, so the audit judges one whole set of files, the completed new one, never
the earlier run's response or none at all."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import polars as pl
import pytest
import typer
from audit_fixtures import LENDER_HOME, MARIA_NOW, HandBatch
from typer.testing import CliRunner

from ftigate.outputs import MANIFEST, OutputFolder
from killed_commit import killed_at

runner = CliRunner()


def _response(rows: list[dict[str, str]]) -> str:
    buffer = io.BytesIO()
    pl.DataFrame(rows).write_csv(buffer)
    return buffer.getvalue().decode()


EARLIER = {
    "response.csv": _response([{"request_id": "R000001", **MARIA_NOW}]),
    "summary.json": json.dumps({"run": "earlier"}) + "\n",
}
NEW = {
    "response.csv": _response([{"request_id": "R000001", **MARIA_NOW}, {"request_id": "R000005", **LENDER_HOME}]),
    "summary.json": json.dumps({"run": "new"}) + "\n",
}


def _interrupted(tmp_path: Path, step: str) -> Path:
    """A process --out holding the earlier run's set, and a later run's commit of the new
    set killed at `step`."""
    out = tmp_path / "processed"
    with OutputFolder(out, command="process") as folder:
        for name, content in EARLIER.items():
            folder.write_text(name, content)
        folder.prepare()
        folder.commit()
    killed_at(step, out, NEW, tmp_path, force=True)
    return out


def _audit(cli_app: typer.Typer, batch: HandBatch, disclosed: Path, out: Path) -> tuple[int, str]:
    result = runner.invoke(
        cli_app,
        ["audit", "--letter", str(batch.letter), "--requests", str(batch.requests),
         "--disclosed", str(disclosed), "--out", str(out), "--workers", "1", "-q"],
    )  # fmt: skip
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ("output:committing", "file"),  # the earlier response.csv still in place
        ("output:replaced:response.csv", "file"),  # no response.csv in place at all
        ("output:committing", "folder"),
    ],
)
def test_an_interrupted_folder_is_audited_as_the_completed_new_set(
    cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path, step: str, named: str
) -> None:
    processed = _interrupted(tmp_path, step)
    # What a plain reader finds meanwhile: the earlier response, or none.
    plain = processed / "response.csv"
    assert (plain.read_text() if plain.exists() else None) in (EARLIER["response.csv"], None)

    disclosed = processed / "response.csv" if named == "file" else processed
    code, output = _audit(cli_app, hand_batch, disclosed, tmp_path / "audit")
    assert code == 0, output

    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    assert summary["totals"]["disclosures"] == 2  # the new set's two disclosures, not the earlier one
    new_digest = hashlib.sha256(NEW["response.csv"].encode()).hexdigest()
    assert summary["provenance"]["inputs"]["disclosed"]["sha256"] == new_digest
    # And the folder is one whole set again: the new one, its commit finished.
    assert {name: (processed / name).read_text() for name in NEW} == NEW
    assert "committing" not in json.loads((processed / MANIFEST).read_text())


def test_a_folder_without_a_response_is_refused(cli_app: typer.Typer, hand_batch: HandBatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = _audit(cli_app, hand_batch, empty, tmp_path / "audit")
    assert code == 2
    assert "holds no response.csv" in output
    assert not (tmp_path / "audit").exists()
