"""ftigate tried on a population and batch it did not write (issue 11).

One run of the outside tester's pipeline (`bench/independent/`, written without reading
`src/ftigate/synth/`): 20,000 people in households, flats and shared houses, their
taxpayer file as a folder of CSV files, 1,000 requests with their truth; `ftigate
process`, `ftigate audit --reference` and `ftigate baseline irs-2025` run as
subprocesses, exactly as a user runs them. The run is shared by every test here (and
by both xdist workers, through a lock): about a minute on a quiet 2-core machine.

The audit's wrong-person count and the readers' agreement were marked xfail(strict) when
this test was written (243 false WRONG_PERSON_DISCLOSED charges in 562 disclosures; the
CSV reference refused by `audit` and `baseline`); they hold since the audit weighs
identity on the shared definitions (`ftigate.facts`) and every command reads the
reference through `facts.reference`.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

import pytest

SEED = 20251
PEOPLE = 20_000
REQUESTS = 1_000
RECALL_FLOOR = 0.88  # measured 0.912 on main at the time of writing (0.844 before issue 11's gates)

pytestmark = pytest.mark.slow  # one pipeline run: about a minute on a quiet 2-core machine, more when shared


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Any]:
    from independent.pipeline import run_pipeline

    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # one folder for all workers of this session
    folder = shared / "independent-population"
    done = shared / "independent-population.json"
    with (shared / "independent-population.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            run = run_pipeline(folder, people=PEOPLE, count=REQUESTS, seed=SEED, reference_format="csv",
                               compare_formats=False, audit_baseline=False)  # fmt: skip
            partial = done.with_suffix(".partial")
            partial.write_text(json.dumps(run.report, default=str), "utf-8")
            os.replace(partial, done)
    return json.loads(done.read_text("utf-8"))  # type: ignore[no-any-return]


def _seed(report: dict[str, Any]) -> str:
    return f"seed {report['seed']}, {report['people']:,} people, {report['requests']:,} requests"


# --- the audit and the readers -----------------------------------------------------------------------


def test_audit_wrong_person_count_equals_the_truth(report: dict[str, Any]) -> None:
    audit = report["audit_of_ftigate"]
    assert "audit_wrong_person" in audit, audit
    assert (audit["audit_wrong_person"], audit["false_wrong_person_charges"], audit["wrong_person_missed"]) == (
        audit["true_wrong_person"], 0, 0
    ), f"{_seed(report)}: {({k: v for k, v in audit.items() if k != 'false_charge_ids'})}"


def test_audit_and_process_read_the_csv_reference_alike(report: dict[str, Any]) -> None:
    readings = report["readings"]
    problems = []
    if not readings["audit_accepts_it"]:
        problems.append(f"audit refuses the CSV reference: {readings['audit_refusal']}")
    if not readings["baseline_accepts_it"]:
        problems.append("baseline refuses the CSV reference")
    if readings.get("audit_same_findings_csv_and_parquet") is False:
        problems.append("the audit's findings differ between the CSV and the Parquet copy")
    for reader in ("process", "baseline"):
        if readings.get(f"{reader}_last_known_disagreements"):
            problems.append(f"{reader}: {readings[f'{reader}_last_known_disagreements']} last known addresses "
                            "differ from the newest 1040")  # fmt: skip
    assert not problems, f"{_seed(report)}: {problems}"


# --- what holds on main today -------------------------------------------------------------------------


def test_no_wrong_person_disclosure(report: dict[str, Any]) -> None:
    """No relative's, housemate's or SSN holder's address for someone the file does not
    hold (10 such disclosures in 534 before the household-aware gates of issue 11)."""
    ftigate = report["ftigate"]
    assert ftigate["wrong_person"] == 0, (
        f"{ftigate['wrong_person']} wrong-person disclosures in {ftigate['disclosed']} ({_seed(report)}): "
        f"{report['ftigate_wrong_person_examples']}"
    )


def test_no_disclosure_without_a_lawful_answer(report: dict[str, Any]) -> None:
    """Not even the right person's address when the request does not identify them (a
    nickname with no DOB or TIN, a unit left out with neither)."""
    ftigate = report["ftigate"]
    unlawful = {k: v["disclosed_without_lawful_answer"] for k, v in ftigate["by_kind"].items() if v["disclosed_without_lawful_answer"]}
    assert ftigate["disclosed_without_lawful_answer"] == 0, f"{_seed(report)}: {unlawful}"


def test_recall_among_requests_with_a_lawful_answer(report: dict[str, Any]) -> None:
    ftigate = report["ftigate"]
    assert ftigate["recall"] >= RECALL_FLOOR, f"{_seed(report)}: recall {ftigate['recall']}; {ftigate['lawful_not_disclosed_reasons']}"


@pytest.mark.parametrize(
    "kind",
    ["deficient_placeholder", "deficient_zip_only", "not_in_file", "stranger_at_home", "address_not_on_file",
     "borrowed_ssn_elsewhere", "borrowed_ssn_at_home", "non_filer_at_home", "bait_one_letter",
     "bait_different_name", "bait_same_initial", "bait_nickname"],
)  # fmt: skip
def test_nothing_disclosed_without_a_lawful_answer_for(report: dict[str, Any], kind: str) -> None:
    row = report["ftigate"]["by_kind"][kind]
    assert row["requests"] > 0, f"the batch holds no {kind} request ({_seed(report)})"
    assert row["disclosed"] == 0, f"{kind}: {row} ({_seed(report)})"


def test_screening_agrees_with_the_truth_on_every_record(report: dict[str, Any]) -> None:
    assert report["ftigate"]["screening_vs_truth"] == {}, _seed(report)


def test_process_discloses_the_newest_1040_address(report: dict[str, Any]) -> None:
    assert report["readings"]["process_last_known_disagreements"] == 0, _seed(report)


def test_the_batch_has_the_2025_shape(report: dict[str, Any]) -> None:
    """The replica of the 2025 process discloses on deficient records (TIN and name agree,
    the address field holds a ZIP): the batch exercises what the court found unlawful."""
    baseline = report["baseline"]
    deficient = baseline["by_kind"]["deficient_placeholder"]["disclosed"] + baseline["by_kind"]["deficient_zip_only"]["disclosed"]
    assert deficient > 0, _seed(report)
    assert baseline["disclosed_without_lawful_answer"] > report["ftigate"]["disclosed_without_lawful_answer"], _seed(report)
