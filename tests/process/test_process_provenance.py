"""summary.json's `provenance`, made by the pipeline (`ftigate.pipeline.provenance`, one
definition) rather than by the CLI: the same block as before the move, every input by
role with its size and SHA-256, and the policy with every override of the shipped law
and of the law's own thresholds (README: "What `process` writes")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from process_cases import ProcessRun, cli_app
from typer.testing import CliRunner

from ftigate import __version__
from ftigate.decide.gates import Thresholds
from ftigate.intake.letter import read_letter
from ftigate.law.loader import load_law
from ftigate.law.timeline import law_digest
from ftigate.resolve.model import default_model_path


def _described(path: Path) -> dict[str, Any]:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_process_names_every_input_and_the_policy_as_it_did_from_the_cli(
    hard_case_run: ProcessRun, tmp_path: Path
) -> None:
    root = hard_case_run.out.parent
    letter, reference = root / "letter.yaml", root / "reference"
    policy = tmp_path / "policy.yaml"
    policy.write_text("cases_per_officer_ceiling: 900\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli_app(),
        ["process", "--letter", str(letter), "--requests", str(hard_case_run.requests),
         "--reference", str(reference), "--policy", str(policy), "--margin-bits", "3",
         "--out", str(out), "--no-ledger", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())

    # What the block said when the CLI made it, written out here by hand.
    law = load_law(policy).at(read_letter(letter).date)
    in_force = Thresholds.of(law.parameters)
    thresholds = {**in_force.as_dict(), "margin_bits": 3.0}
    shipped_ceiling = load_law().at(law.as_of).parameters.cases_per_officer_ceiling
    tables = sorted(p for p in reference.iterdir() if p.suffix in (".parquet", ".csv"))
    assert summary["provenance"] == {
        "ftigate_version": __version__,
        "inputs": {
            "letter": _described(letter),
            "requests": _described(hard_case_run.requests),
            "reference": {"folder": reference.name, "files": [_described(p) for p in tables]},
            "model": _described(default_model_path()),
        },
        "policy": {
            "file": _described(policy),
            "law_as_of": law.as_of.isoformat(),
            "law_sha256": law_digest(law),
            "policy_sha256": law.policy_sha256,
            "parameters": law.parameters.model_dump(mode="json"),
            "overridden": True,
            "overrides": [
                {"setting": "cases_per_officer_ceiling", "shipped": shipped_ceiling, "in_force": 900},
                {"setting": "threshold margin_bits", "shipped": in_force.margin_bits, "in_force": 3.0},
            ],
            "note": None,
            "thresholds": thresholds,
        },
    }
    assert summary["thresholds"] == thresholds


def test_a_run_without_sources_carries_no_provenance(hard_case_run: ProcessRun) -> None:
    """`run_process` writes the block only when told the files (a caller such as the demo
    that writes its own is not overridden)."""
    from ftigate.pipeline.run import ProcessOptions, run_process
    from ftigate.resolve.model import load_model

    root = hard_case_run.out.parent
    letter = read_letter(root / "letter.yaml")
    result = run_process(
        letter, hard_case_run.requests, root / "reference", load_law(), load_model(), ProcessOptions()
    )
    assert "provenance" not in result.summary
    summary = json.loads((hard_case_run.out / "summary.json").read_text())
    assert summary["provenance"]["inputs"]["requests"] == _described(hard_case_run.requests)
