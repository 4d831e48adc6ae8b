"""The service's summary.json names its inputs and policy as `ftigate process` does: one
definition (`ftigate.pipeline.provenance`), made by the pipeline both of them run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web_helpers import AGENCY, Service

from ftigate.cli.main import app
from ftigate.web.jobs import OUT, job_dir


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_released_summary_has_the_provenance_process_writes(service: Service, tmp_path: Path) -> None:
    root = service.synthetic / "court"
    job = service.submit(service.tokens[AGENCY], root / "letter.yaml", root / "requests.csv")
    assert service.runner.run_until_idle() == 1
    job_id = str(job["job_id"])
    # The letter names too few officers: refused at letter level, then released as refusals.
    privacy = service.sign_in("privacy-1")
    decided = privacy.post(
        f"/api/batches/{job_id}/letter-review",
        json={"action": "refuse", "reason": "three officers cannot be engaged in every case"},
        headers={"X-CSRF-Token": service.csrf(privacy)},
    )
    assert decided.status_code == 200, decided.text
    assert service.runner.run_until_idle() == 1
    released = json.loads((job_dir(service.settings, job_id) / OUT / "summary.json").read_text())

    out = tmp_path / "processed"
    ran = CliRunner().invoke(
        app,
        ["process", "--letter", str(root / "letter.yaml"), "--requests", str(root / "requests.csv"),
         "--reference", str(service.settings.reference), "--out", str(out), "--no-ledger", "-q"],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    processed = json.loads((out / "summary.json").read_text())
    # The job's copies are called letter.yaml and requests.csv, as the originals are.
    assert released["provenance"] == processed["provenance"]
    assert set(released["provenance"]["inputs"]) == {"letter", "requests", "reference", "model"}
