"""Fixtures for the process tests: one CLI run over the hand-built hard cases."""

from __future__ import annotations

import pytest
from process_cases import CASES, Case, ProcessRun, cli_app, write_reference
from typer.testing import CliRunner

from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests


@pytest.fixture(scope="session")
def hard_case_run(tmp_path_factory: pytest.TempPathFactory) -> ProcessRun:
    root = tmp_path_factory.mktemp("process")
    reference = root / "reference"
    write_reference(reference)
    officers = ["A100", "A101", "A102", "A103", "A104"]
    rows = []
    cases: dict[str, Case] = {}
    for index, case in enumerate(CASES, start=1):
        row = record(index, officers, **case.request)
        rows.append(row)
        cases[row["request_id"]] = case
    requests = write_requests(root / "requests.csv", rows)
    letter = write_letter(root / "letter.yaml", merge(BASE_LETTER, {"record_count": len(rows)}))
    out = root / "out"
    result = CliRunner().invoke(
        cli_app(),
        ["process", "--letter", str(letter), "--requests", str(requests), "--reference", str(reference),
         "--out", str(out), "--no-ledger"],
    )  # fmt: skip
    return ProcessRun(result.exit_code, result.output, out, requests, cases)
