"""Reports a court can rely on (issue 12, finding 8, presentation): every report names
the ftigate version, the SHA-256 of each input, the policy (file and digest), the
thresholds, and every override of the shipped law; a finding made under an override
says so instead of "no finding"."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ftigate import __version__
from ftigate.audit.run import audit_batch
from ftigate.cli.main import app
from ftigate.law.loader import load_law
from ftigate.report.audit_report import write_audit_outputs
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

runner = CliRunner()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    rows = [record(i, ["A100", "A101"]) for i in range(1, 4)]
    requests = write_requests(tmp_path / "requests.csv", rows)
    letter = write_letter(tmp_path / "letter.yaml", merge(BASE_LETTER, {"record_count": 3}))
    disclosed = tmp_path / "disclosed.csv"
    pl.DataFrame(
        [{"request_id": rows[0]["request_id"], "street": "1 Main St", "unit": "", "city": "Austin",
          "state": "TX", "zip": "78701"}]
    ).write_csv(disclosed)  # fmt: skip
    return {"letter": letter, "requests": requests, "disclosed": disclosed}


def _audit(batch: dict[str, Path], out: Path, *extra: str) -> dict[str, object]:
    args = ["audit", "--letter", str(batch["letter"]), "--requests", str(batch["requests"]),
            "--disclosed", str(batch["disclosed"]), "--out", str(out), "--workers", "1", *extra]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert isinstance(summary, dict)
    return summary


def test_the_audit_names_its_version_inputs_and_policy(batch: dict[str, Path], tmp_path: Path) -> None:
    summary = _audit(batch, tmp_path / "audit")
    provenance = summary["provenance"]
    assert isinstance(provenance, dict)
    assert provenance["ftigate_version"] == __version__
    for role in ("letter", "requests", "disclosed"):
        item = provenance["inputs"][role]
        assert item["file"] == batch[role].name and item["sha256"] == _sha(batch[role])
    assert provenance["inputs"]["reference"] is None
    policy = provenance["policy"]
    assert policy["file"] is None and policy["overridden"] is False and policy["overrides"] == []
    assert policy["parameters"]["cases_per_officer_ceiling"] == load_law().parameters.cases_per_officer_ceiling
    page = (tmp_path / "audit" / "report.html").read_text()
    assert f"ftigate {__version__}" in page
    assert _sha(batch["requests"]) in page and "No setting overridden" in page
    assert "Policy overridden" not in page


def test_a_policy_file_is_named_with_its_digest_and_overrides(batch: dict[str, Path], tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("cases_per_officer_ceiling: 7\n")
    summary = _audit(batch, tmp_path / "audit", "--policy", str(policy_file))
    policy = summary["provenance"]["policy"]  # type: ignore[index]
    assert policy["file"]["sha256"] == _sha(policy_file)
    assert policy["overridden"] is True
    shipped = load_law().parameters.cases_per_officer_ceiling
    assert policy["overrides"] == [{"setting": "cases_per_officer_ceiling", "shipped": shipped, "in_force": 7}]
    page = (tmp_path / "audit" / "report.html").read_text()
    assert "Policy overridden" in page and "cases_per_officer_ceiling = 7" in page


def test_no_finding_under_a_lifted_ceiling_says_a_policy_was_overridden(batch: dict[str, Path], tmp_path: Path) -> None:
    law = load_law().with_policy({"cases_per_officer_ceiling": 10**9}, "test: ceiling lifted")
    result = audit_batch(
        batch["letter"], batch["requests"], batch["disclosed"], law,
        example_key=b"k" * 32, key_note="test key", workers=1, policy_note="the test, lifting the ceiling",
    )  # fmt: skip
    officers = next(i for i in result.summary["batch_findings"] if i["element"].startswith("officers"))
    assert officers["finding"] == "ok"
    assert "cases_per_officer_ceiling set to 1000000000" in officers["policy_override"]
    assert "the test, lifting the ceiling" in officers["policy_override"]
    write_audit_outputs(result, tmp_path / "audit")
    page = (tmp_path / "audit" / "report.html").read_text()
    assert 'id="policy-override"' in page and "Under an overridden policy" in page


def test_transparency_names_its_version_and_inputs(batch: dict[str, Path], tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("request_id,decision,reasons\nR1,refuse,ADDRESS_MISSING\nR2,disclose,\n")
    out = tmp_path / "public"
    result = runner.invoke(
        app, ["report", "transparency", "--year", "2025", "--decisions", str(decisions),
              "--letter", str(batch["letter"]), "--out", str(out), "--threshold", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (out / "transparency-2025.html").read_text()
    assert f"Produced by ftigate {__version__}" in page and _sha(decisions) in page
    schema = json.loads((out / "transparency-2025.schema.json").read_text())
    inputs = schema["provenance"]["inputs"]
    assert inputs["decisions 1"]["sha256"] == _sha(decisions)
    assert inputs["letter 1"]["sha256"] == _sha(batch["letter"])
    policy = schema["provenance"]["policy"]
    assert policy["thresholds"] == {"suppression_threshold": 3} and policy["overridden"] is True
