"""What `ftigate serve` is started with reaches the pages and the jobs: the witnesses'
cosigned checkpoints on the ledger page, and the thresholds set over the law's."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import AGENCY, PASSWORD, Service

from ftigate.decide.gates import ThresholdOverrides, Thresholds
from ftigate.intake.letter import read_letter
from ftigate.ledger.checkpoint import COSIGNATURE_V1, Signer, cosign, open_checkpoint
from ftigate.web.app import create_app
from ftigate.web.jobs import RESULT, job_dir


def _signed_in(app: object, user_id: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")  # type: ignore[arg-type]
    answer = client.post("/login", data={"user_id": user_id, "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def test_the_ledger_page_lists_the_witnesses_cosignatures(service: Service, tmp_path: Path) -> None:
    store, signer = service.runner.store, service.runner.signer
    cosigned_dir = tmp_path / "cosigned"
    cosigned_dir.mkdir()
    w1 = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    w2 = Signer.generate("witness.example/w2", COSIGNATURE_V1)
    app = create_app(
        replace(service.settings, cosigned_dir=cosigned_dir, witness_keys=(w1.verifier,)), service.runner
    )
    auditor = _signed_in(app, "auditor-1")
    assert auditor.get("/api/ledger").json()["cosignatures"] == []
    assert "No cosigned checkpoint is kept" in auditor.get("/ledger").text

    first = open_checkpoint(store.sign_checkpoint(signer).serialize(), signer.verifier)
    (cosigned_dir / "head-1.cosigned").write_text(cosign(first, w1, timestamp=1_790_000_000).serialize())
    (cosigned_dir / "head-1.w2").write_text(cosign(first, w2, timestamp=1_790_000_060).serialize())
    state = auditor.get("/api/ledger").json()
    assert state["cosigned_size"] == first.checkpoint.size
    assert [(c["witness"], c["key_id"], c["time"], c["verified"]) for c in state["cosignatures"]] == [
        ("witness.example/w1", w1.key_id.hex(), "2026-09-21T14:13:20+00:00", True),
        ("witness.example/w2", w2.key_id.hex(), "2026-09-21T14:14:20+00:00", None),
    ]
    page = auditor.get("/ledger").text
    assert "witness.example/w1" in page and "verifies" in page and "no key given" in page

    # A newer checkpoint no witness has seen yet: the older cosignatures, said to be older.
    service.submit(service.tokens[AGENCY])
    service.runner.run_until_idle()
    newer = auditor.get("/api/ledger").json()
    assert newer["size"] > first.checkpoint.size and newer["cosigned_size"] == first.checkpoint.size
    assert "The latest checkpoint is not cosigned yet" in auditor.get("/ledger").text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_thresholds_set_over_the_law_are_the_ones_a_job_runs_with(service: Service) -> None:
    overrides = ThresholdOverrides(disclose_probability=0.97, margin_bits=3.5)
    service.runner.settings = replace(service.settings, thresholds=overrides)
    job = service.submit(service.tokens[AGENCY])
    service.runner.run_until_idle()
    summary = json.loads(
        (job_dir(service.settings, str(job["job_id"])) / RESULT / "summary.json").read_text()
    )
    letter = read_letter(service.synthetic / "batch" / "letter.yaml")
    in_force = Thresholds.of(service.runner.law.at(letter.date).parameters)
    assert summary["thresholds"] == {
        "disclose_probability": 0.97, "review_floor": in_force.review_floor, "margin_bits": 3.5,
    }  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_thresholds_that_cannot_stand_together_fail_the_job_before_any_inspection(service: Service) -> None:
    service.runner.settings = replace(
        service.settings, thresholds=ThresholdOverrides(disclose_probability=0.2, review_floor=0.9)
    )
    job = service.submit(service.tokens[AGENCY])
    service.runner.run_until_idle()
    failed = service.runner.service.job(str(job["job_id"]))
    assert failed is not None and failed["state"] == "failed"
    assert "--review-floor must not exceed --disclose-probability (0.9 > 0.2)" in str(failed["error"])
    assert service.runner.store.batches() == []
