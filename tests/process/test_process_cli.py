"""End to end through the CLI: exact decisions per hard case, and a response that carries
the address and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from process_cases import CASES, PEOPLE, ProcessRun, cli_app
from typer.testing import CliRunner

ADDRESS = ["street", "unit", "city", "state", "zip"]


def _decisions(run: ProcessRun) -> pl.DataFrame:
    return pl.read_csv(run.out / "decisions.csv", infer_schema=False).with_columns(pl.all().fill_null(""))


def test_the_run_succeeds(hard_case_run: ProcessRun) -> None:
    assert hard_case_run.exit_code == 0, hard_case_run.output


@pytest.mark.parametrize("request_id", [f"R{i:06d}" for i in range(1, len(CASES) + 1)])
def test_exact_decision_per_hard_case(hard_case_run: ProcessRun, request_id: str) -> None:
    case = hard_case_run.cases[request_id]
    row = _decisions(hard_case_run).filter(pl.col("request_id") == request_id).row(0, named=True)
    reasons = tuple(r for r in row["reasons"].split(";") if r)
    assert (row["decision"], reasons) == (case.decision, case.reasons), f"{case.label}: {case.note}"
    assert row["street"] == case.street, case.label


def test_every_synthetic_hard_case_label_is_covered() -> None:
    from ftigate.synth.profiles import HARD_CASE_LABELS

    assert set(HARD_CASE_LABELS) <= {c.label for c in CASES}


def test_response_carries_only_the_request_id_and_the_address(hard_case_run: ProcessRun) -> None:
    response = pl.read_csv(hard_case_run.out / "response.csv", infer_schema=False)
    assert response.columns == ["request_id", *ADDRESS]
    disclosed = _decisions(hard_case_run).filter(pl.col("decision") == "disclose")
    assert sorted(response["request_id"]) == sorted(disclosed["request_id"])
    assert response.height == sum(c.decision == "disclose" for c in CASES)


def test_no_tin_or_birth_date_leaves_the_agency(hard_case_run: ProcessRun) -> None:
    decisions = _decisions(hard_case_run)
    assert decisions.columns == [
        "request_id", "decision", "reasons", "match_probability", "model_version", *ADDRESS
    ]  # fmt: skip
    text = (hard_case_run.out / "decisions.csv").read_text() + (
        hard_case_run.out / "response.csv"
    ).read_text()
    tins = {p["tin"] for p in PEOPLE} | {p.get("prior_itin") for p in PEOPLE if p.get("prior_itin")}
    dobs = {p["dob"] for p in PEOPLE}
    assert not re.search(r"\b\d{3}-?\d{2}-?\d{4}\b", text)
    assert not any(t in text for t in tins if t)
    assert not any(d in text for d in dobs)


def test_refused_and_reviewed_rows_carry_no_address(hard_case_run: ProcessRun) -> None:
    others = _decisions(hard_case_run).filter(pl.col("decision") != "disclose")
    assert others.select(pl.concat_str(ADDRESS)).to_series().str.len_chars().max() == 0


def test_decisions_record_the_model_version(hard_case_run: ProcessRun) -> None:
    from ftigate.resolve.model import load_model

    decisions = _decisions(hard_case_run)
    resolved = decisions.filter(pl.col("reasons") != "ADDRESS_PLACEHOLDER")
    assert set(resolved["model_version"]) == {load_model().version}
    explanations = pl.read_parquet(hard_case_run.out / "explanations.parquet")
    assert set(explanations["model_version"]) == {load_model().version}
    assert {"gate", "candidate_tin", "w_first_name", "w_address"} <= set(explanations.columns)


def test_screened_out_records_are_never_inspected(hard_case_run: ProcessRun) -> None:
    explanations = pl.read_parquet(hard_case_run.out / "explanations.parquet")
    placeholder = [rid for rid, c in hard_case_run.cases.items() if c.label == "deficient_address"]
    assert not set(placeholder) & set(explanations["request_id"])


def test_summary_matches_the_decisions(hard_case_run: ProcessRun) -> None:
    summary = json.loads((hard_case_run.out / "summary.json").read_text())
    counts = _decisions(hard_case_run).group_by("decision").len()
    assert summary["decisions"] == {**{"disclose": 0, "refuse": 0, "review": 0}, **dict(counts.iter_rows())}
    disclosed = _decisions(hard_case_run).filter(pl.col("decision") == "disclose")
    expected = float((1 - disclosed["match_probability"].cast(pl.Float64)).sum())
    assert summary["expected_wrong_disclosures"] == pytest.approx(expected, abs=1e-4)


def test_a_missing_reference_is_a_one_line_error(
    hard_case_run: ProcessRun, tmp_path: pytest.TempPathFactory
) -> None:
    out = hard_case_run.out.parent / "never"
    result = CliRunner().invoke(
        cli_app(),
        ["process", "--letter", str(hard_case_run.out.parent / "letter.yaml"), "--requests",
         str(hard_case_run.requests), "--reference", str(hard_case_run.out.parent / "nowhere"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "reference" in result.output
    assert not out.exists()


def test_reference_prepared_ahead_gives_the_same_decisions(hard_case_run: ProcessRun, tmp_path: Path) -> None:
    root = hard_case_run.out.parent
    cache = tmp_path / "prepared"
    prepare = ["reference", "prepare", "--reference", str(root / "reference"), "--reference-cache", str(cache), "--json"]
    first = CliRunner().invoke(cli_app(), prepare)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["reused"] is False and json.loads(first.output)["taxpayers"] > 0
    again = CliRunner().invoke(cli_app(), prepare)
    assert json.loads(again.output)["reused"] is True
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli_app(),
        ["process", "--letter", str(root / "letter.yaml"), "--requests", str(hard_case_run.requests),
         "--reference", str(root / "reference"), "--reference-cache", str(cache), "--out", str(out),
         "--no-ledger"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "decisions.csv").read_bytes() == (hard_case_run.out / "decisions.csv").read_bytes()


def test_preparing_a_missing_reference_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app(), ["reference", "prepare", "--reference", str(tmp_path / "nowhere"), "--reference-cache", str(tmp_path / "c")]
    )
    assert result.exit_code == 2
    assert "reference" in result.output
    assert not (tmp_path / "c").exists()


def test_the_run_reports_its_stages_and_scoring_progress(hard_case_run: ProcessRun) -> None:
    assert "done: screen" in hard_case_run.output
    assert re.search(r"scored [\d,]+ of [\d,]+ requests", hard_case_run.output)


@pytest.mark.parametrize(
    ("label", "tolerances"),
    [("ordinary", []), ("zip_slip", ["ZIP_SLIP"]), ("street_run_together", ["STREET_RUN_TOGETHER"]),
     ("suffix_form", []), ("directional_form", [])],
)  # fmt: skip
def test_explanations_say_which_tolerance_corroborated_the_address(
    hard_case_run: ProcessRun, label: str, tolerances: list[str]
) -> None:
    explanations = pl.read_parquet(hard_case_run.out / "explanations.parquet")
    request_id = next(rid for rid, case in hard_case_run.cases.items() if case.label == label)
    best = explanations.filter((pl.col("request_id") == request_id) & (pl.col("candidate_rank") == 1))
    assert best["chosen"].to_list() == [True]
    assert best["address_tolerances"].to_list() == [tolerances]


def test_chosen_marks_only_the_disclosed_candidate_of_a_disclosed_request(hard_case_run: ProcessRun) -> None:
    # README, "How to read an explanation": `chosen` is the candidate whose address was
    # disclosed, false on every refused or reviewed request (even on its best candidate).
    explanations = pl.read_parquet(hard_case_run.out / "explanations.parquet")
    chosen = explanations.filter(pl.col("chosen"))
    disclosed = _decisions(hard_case_run).filter(pl.col("decision") == "disclose")["request_id"]
    assert sorted(chosen["request_id"]) == sorted(disclosed)
    assert set(chosen["decision"]) == {"disclose"}
    assert chosen["candidate_rank"].to_list() == [1] * chosen.height
    not_disclosed = explanations.filter(pl.col("decision") != "disclose")
    assert not_disclosed.filter(pl.col("candidate_rank") == 1).height > 0
    assert not not_disclosed["chosen"].any()
