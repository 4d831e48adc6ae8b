"""Each finding category on a hand-built reference, through `audit_batch`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from audit_fixtures import BORROWER_HOME, GARCIA_HOUSE, LENDER_HOME, LETTER, MARIA_NOW, PEREZ_HOUSE, HandBatch

from ftigate.audit.run import AuditResult, audit_batch
from ftigate.law.loader import load_law
from ftigate_testkit import merge, write_letter

KEY = b"k" * 32


def run(
    batch: HandBatch,
    rows: list[dict[str, str]],
    *,
    reference: bool = True,
    letter: Path | None = None,
    policy: dict[str, Any] | None = None,
) -> AuditResult:
    law = load_law()
    if policy:
        law = law.with_policy(policy, "test policy")
    return audit_batch(
        letter or batch.letter,
        batch.requests,
        batch.disclosed(rows),
        law,
        reference_path=batch.reference if reference else None,
        example_key=KEY,
        key_note="test key",
        workers=1,
    )


def reasons_of(result: AuditResult) -> dict[str, list[str]]:
    return {r["request_id"]: r["reasons"] for r in result.findings.iter_rows(named=True)}


def test_lawful_disclosures_have_no_reasons(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000001", **MARIA_NOW}, {"request_id": "R000002", **MARIA_NOW}])
    assert reasons_of(result) == {"R000001": [], "R000002": []}
    assert result.findings["lawful"].to_list() == [True, True]
    assert result.summary["totals"]["unlawful"] == 0


def test_address_not_on_file_is_not_corroborated(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000003", **MARIA_NOW}])
    assert reasons_of(result) == {"R000003": ["ADDRESS_NOT_CORROBORATED"]}
    assert result.findings["lawful"].to_list() == [False]


def test_two_people_fitting_equally_is_ambiguous(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000004", **GARCIA_HOUSE}])
    assert reasons_of(result) == {"R000004": ["AMBIGUOUS_IDENTITY"]}


def test_namesakes_sharing_the_released_address_are_a_note(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000007", **PEREZ_HOUSE}])
    row = result.findings.row(0, named=True)
    assert row["lawful"] is True and row["reasons"] == []
    assert "AMBIGUOUS_IDENTITY" in row["notes"]


def test_borrowed_ssn_releases_the_wrong_person(hand_batch: HandBatch) -> None:
    wrong = run(hand_batch, [{"request_id": "R000005", **LENDER_HOME}])
    assert reasons_of(wrong) == {"R000005": ["WRONG_PERSON_DISCLOSED", "ADDRESS_NOT_CORROBORATED"]}
    assert wrong.findings["primary_reason"].to_list() == ["WRONG_PERSON_DISCLOSED"]
    # The borrower's own address, released to a request that names him, is lawful.
    right = run(hand_batch, [{"request_id": "R000005", **BORROWER_HOME}])
    assert reasons_of(right) == {"R000005": []}


def test_an_address_that_is_nobodys_last_known_is_the_wrong_person(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000001", **LENDER_HOME}])
    assert "WRONG_PERSON_DISCLOSED" in reasons_of(result)["R000001"]


def test_screening_codes_make_a_disclosure_unlawful(hand_batch: HandBatch) -> None:
    result = run(hand_batch, [{"request_id": "R000006", **MARIA_NOW}])
    reasons = reasons_of(result)["R000006"]
    assert reasons[0] == "ADDRESS_PLACEHOLDER"
    assert "ADDRESS_NOT_CORROBORATED" in reasons
    citations = result.findings["citations"].to_list()[0]
    assert "26 U.S.C. 6103(i)(2)(B)(i)" in citations


def test_without_reference_identity_is_not_checked(hand_batch: HandBatch) -> None:
    result = run(
        hand_batch,
        [{"request_id": "R000003", **MARIA_NOW}, {"request_id": "R000006", **MARIA_NOW}],
        reference=False,
    )
    assert reasons_of(result) == {"R000003": [], "R000006": ["ADDRESS_PLACEHOLDER"]}
    assert result.summary["identity_checked"] is False


def test_unauthorised_signer_makes_every_disclosure_unlawful(hand_batch: HandBatch, tmp_path: Path) -> None:
    letter = write_letter(
        tmp_path / "bad-letter.yaml",
        merge(
            LETTER,
            {"record_count": 7, "signer": {"name": "X", "title": "Assistant Director, Field Operations"}},
        ),
    )
    result = run(hand_batch, [{"request_id": "R000001", **MARIA_NOW}], letter=letter)
    assert reasons_of(result) == {"R000001": ["LETTER_SIGNER_NOT_AUTHORIZED"]}
    signer = next(b for b in result.summary["batch_findings"] if b["element"].startswith("signer"))
    assert signer["finding"] == "unlawful"


def test_review_findings_are_notes_and_batch_questions_not_unlawful(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    letter = write_letter(
        tmp_path / "one-officer.yaml", merge(LETTER, {"record_count": 7, "officers": ["A100"]})
    )
    result = run(
        hand_batch,
        [{"request_id": "R000001", **MARIA_NOW}],
        letter=letter,
        policy={"cases_per_officer_ceiling": 1},
    )
    row = result.findings.row(0, named=True)
    assert row["lawful"] is True
    assert "LETTER_OFFICERS_IMPLAUSIBLE" in row["notes"]
    officers = next(b for b in result.summary["batch_findings"] if b["element"].startswith("officers"))
    assert officers["finding"] == "question"


def test_summary_counts_shares_and_damages(hand_batch: HandBatch) -> None:
    rows = [
        {"request_id": "R000001", **MARIA_NOW},
        {"request_id": "R000003", **MARIA_NOW},
        {"request_id": "R000004", **GARCIA_HOUSE},
        {"request_id": "R000005", **LENDER_HOME},
    ]
    summary = run(hand_batch, rows).summary
    assert summary["totals"] == {
        "requests": 7,
        "disclosures": 4,
        "lawful": 1,
        "unlawful": 3,
        "share_unlawful": 0.75,
    }
    primary = {r["code"]: r["count"] for r in summary["by_primary_reason"]}
    assert primary == {"ADDRESS_NOT_CORROBORATED": 1, "AMBIGUOUS_IDENTITY": 1, "WRONG_PERSON_DISCLOSED": 1}
    assert sum(primary.values()) == summary["totals"]["unlawful"]
    every = {r["code"]: r["count"] for r in summary["by_any_reason"]}
    assert every["ADDRESS_NOT_CORROBORATED"] == 2
    assert summary["damages_7431"]["statutory_minimum_usd"] == 3_000
    assert "7431(b)" in summary["damages_7431"]["note"] and summary["damages_7431"]["label"] == "estimate"


def test_examples_are_pseudonymised(hand_batch: HandBatch) -> None:
    result = run(
        hand_batch, [{"request_id": "R000005", **LENDER_HOME}, {"request_id": "R000001", **MARIA_NOW}]
    )
    text = repr(result.examples)
    assert "R000005" not in text and "Hill" not in text and "Smithers" not in text.title()
    assert set(result.examples) == {"LAWFUL", "WRONG_PERSON_DISCLOSED"}
    example = result.examples["WRONG_PERSON_DISCLOSED"][0]
    assert (
        example["pseudonym"].startswith("P-")
        and example["requested_address_shape"] == "99 xxxx xx xxxxxxx xx 99999"
    )


@pytest.mark.parametrize("code", ["WRONG_PERSON_DISCLOSED", "AMBIGUOUS_IDENTITY", "ADDRESS_NOT_CORROBORATED"])
def test_identity_codes_are_in_the_law_with_citations(code: str) -> None:
    rc = load_law().code(code)
    assert rc.effect.value in {"refuse", "review"} and "6103(a)" in rc.citation


def test_findings_keep_the_disclosure_file_order(hand_batch: HandBatch) -> None:
    rows = [{"request_id": "R000005", **LENDER_HOME}, {"request_id": "R000001", **MARIA_NOW}]
    result = run(hand_batch, rows)
    assert result.findings["request_id"].to_list() == ["R000005", "R000001"]
    assert isinstance(result.findings_csv(), pl.DataFrame)


def test_a_w2_under_a_lent_ssn_does_not_corroborate_the_lender(hand_batch: HandBatch, tmp_path: Path) -> None:
    """The 2025 address route released the lender's address to a request naming the worker
    whose W-2 was filed under her SSN: the audit finds the wrong person."""
    from audit_fixtures import OFFICERS

    from ftigate_testkit import record, write_requests

    requests = write_requests(
        tmp_path / "w2.csv",
        [
            record(
                1,
                OFFICERS,
                first_name="Luis",
                last_name="Small",
                tin="",
                street="8 Bay St",
                unit="",
                city="Houston",
                zip="77003",
            )
        ],
    )
    letter = write_letter(tmp_path / "w2.yaml", merge(LETTER, {"record_count": 1}))
    disclosed = hand_batch.disclosed([{"request_id": "R000001", **LENDER_HOME}], "w2-disclosed.csv")
    result = audit_batch(
        letter,
        requests,
        disclosed,
        load_law(),
        reference_path=hand_batch.reference,
        example_key=KEY,
        key_note="test",
        workers=1,
    )
    assert reasons_of(result) == {"R000001": ["WRONG_PERSON_DISCLOSED", "ADDRESS_NOT_CORROBORATED"]}
