"""The audit's identity findings on hand-built households: WRONG_PERSON_DISCLOSED needs
positive evidence that someone else's address went out; IDENTITY_NOT_ESTABLISHED is the
audit saying it could not tell; addresses are compared in USPS standard form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from audit_fixtures import GARCIA_HOUSE, JR_NOW, LATTIMORE_HOUSE, LETTER, MARIA_NOW, OFFICERS, HandBatch

from ftigate.audit.identity import NameWords, _names_of_pairs, name_evidence
from ftigate.audit.run import AuditResult, audit_batch
from ftigate.law.loader import load_law
from ftigate_testkit import merge, record, write_letter, write_requests

KEY = b"k" * 32
NO_ID = {"tin": "", "date_of_birth": ""}


def audit(
    batch: HandBatch,
    tmp_path: Path,
    cases: list[tuple[dict[str, str], dict[str, str]]],
    policy: dict[str, Any] | None = None,
) -> AuditResult:
    """Audit one disclosure per case: (request overrides, address released)."""
    requests = write_requests(
        tmp_path / "identity.csv", [record(i, OFFICERS, **over) for i, (over, _) in enumerate(cases, 1)]
    )
    letter = write_letter(tmp_path / "identity.yaml", merge(LETTER, {"record_count": len(cases)}))
    disclosed = batch.disclosed(
        [{"request_id": f"R{i:06d}", **released} for i, (_, released) in enumerate(cases, 1)],
        "identity-out.csv",
    )
    law = load_law() if policy is None else load_law().with_policy(policy, "test policy")
    return audit_batch(
        letter,
        requests,
        disclosed,
        law,
        reference_path=batch.reference,
        example_key=KEY,
        key_note="test",
        workers=1,
    )


def lattimore(first: str, **over: str) -> dict[str, str]:
    """A request at the Lattimores' house as an agency writes it ("Street" in full)."""
    return {
        "first_name": first,
        "last_name": "Lattimore",
        "street": "6241 Maple Street",
        "unit": "",
        "city": "Springfield",
        "state": "IL",
        "zip": "62704",
        **NO_ID,
        **over,
    }


def findings(result: AuditResult) -> list[tuple[list[str], list[str]]]:
    """(reasons, identity notes) per disclosure (screening warnings left out)."""
    identity = {"IDENTITY_NOT_ESTABLISHED", "AMBIGUOUS_IDENTITY"}
    return [
        (r["reasons"], [n for n in r["notes"] if n in identity])
        for r in result.findings.iter_rows(named=True)
    ]


def test_street_and_st_are_one_address(hand_batch: HandBatch, tmp_path: Path) -> None:
    """'6241 Maple Street' requested, '6241 MAPLE ST' on file: corroborated, the right person
    (the audit before USPS standardisation charged this as the wrong person). With her date
    of birth: a name and an address alone leave the identity not established."""
    result = audit(
        hand_batch, tmp_path, [(lattimore("Madeline", date_of_birth="1979-06-01"), LATTIMORE_HOUSE)]
    )
    assert findings(result) == [([], [])]
    alone = audit(hand_batch, tmp_path, [(lattimore("Madeline"), LATTIMORE_HOUSE)])
    assert findings(alone) == [([], ["IDENTITY_NOT_ESTABLISHED"])]
    # a date of birth field that gives no date gives nothing, as the gates read it
    # (facts.identifiers): before, any text there was taken as a date of birth supplied
    for no_date in ("Unknown", "NA", "01/06/1979"):
        unknown = audit(hand_batch, tmp_path, [(lattimore("Madeline", date_of_birth=no_date), LATTIMORE_HOUSE)])
        assert findings(unknown) == [([], ["IDENTITY_NOT_ESTABLISHED"])], no_date


def test_a_relative_not_in_the_file_is_the_wrong_person(hand_batch: HandBatch, tmp_path: Path) -> None:
    """Melvin Lattimore is not in the file: Madeline's address went out to a request naming
    another first name at her home. Bobby lives there too: he is excluded as well. (The
    address is on file for the people it went to, so it is not ADDRESS_NOT_CORROBORATED.)"""
    result = audit(hand_batch, tmp_path, [(lattimore("Melvin"), LATTIMORE_HOUSE)])
    assert findings(result) == [(["WRONG_PERSON_DISCLOSED"], [])]


def test_an_initial_alone_is_not_established_and_not_unlawful(hand_batch: HandBatch, tmp_path: Path) -> None:
    """'M. Lattimore' at the house, no TIN or date of birth: Madeline may be meant (nothing
    excludes her) but nothing establishes her: a note with its own count."""
    result = audit(hand_batch, tmp_path, [(lattimore("M."), LATTIMORE_HOUSE)])
    assert findings(result) == [([], ["IDENTITY_NOT_ESTABLISHED"])]
    assert result.summary["identity_not_established"] == {"disclosures": 1, "counted_as_unlawful": False}
    assert result.summary["totals"]["unlawful"] == 0
    counted = audit(
        hand_batch, tmp_path, [(lattimore("M."), LATTIMORE_HOUSE)], {"audit_unestablished_effect": "refuse"}
    )
    assert findings(counted) == [(["IDENTITY_NOT_ESTABLISHED"], [])]
    assert counted.summary["identity_not_established"]["counted_as_unlawful"] is True
    assert counted.summary["totals"]["unlawful"] == 1


def test_a_date_of_birth_establishes_an_initial(hand_batch: HandBatch, tmp_path: Path) -> None:
    result = audit(hand_batch, tmp_path, [(lattimore("M.", date_of_birth="1979-06-01"), LATTIMORE_HOUSE)])
    assert findings(result) == [([], [])]


def test_a_date_of_birth_that_conflicts_is_the_wrong_person(hand_batch: HandBatch, tmp_path: Path) -> None:
    result = audit(hand_batch, tmp_path, [(lattimore("M.", date_of_birth="2001-11-30"), LATTIMORE_HOUSE)])
    assert findings(result)[0][0][0] == "WRONG_PERSON_DISCLOSED"


def test_a_tin_that_agrees_never_excuses_a_given_name_that_conflicts(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    """'Melvin Lattimore' with Bobby's SSN: Bobby's address is not Melvin's."""
    result = audit(hand_batch, tmp_path, [(lattimore("Melvin", tin="100-00-0009"), LATTIMORE_HOUSE)])
    assert findings(result)[0][0][0] == "WRONG_PERSON_DISCLOSED"


def test_a_tin_with_a_date_one_slip_off_never_excuses_another_given_name(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    """'Melvin Lattimore' with Bobby's SSN and a date of birth one keystroke from Bobby's
    (02-17 for 02-14): a worker under a relative's SSN, not Bobby."""
    result = audit(
        hand_batch,
        tmp_path,
        [(lattimore("Melvin", tin="100000009", date_of_birth="1981-02-17"), LATTIMORE_HOUSE)],
    )
    assert findings(result)[0][0][0] == "WRONG_PERSON_DISCLOSED"


def test_a_tin_and_date_of_birth_that_agree_keep_an_unknown_name_from_excluding(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    """'Mady' is in no nickname list: with Madeline's TIN and date of birth the audit cannot
    say someone else was meant, nor that she was; with her TIN alone it can."""
    both = lattimore("Mady", tin="100000008", date_of_birth="1979-06-01")
    tin_only = lattimore("Mady", tin="100000008")
    result = audit(hand_batch, tmp_path, [(both, LATTIMORE_HOUSE), (tin_only, LATTIMORE_HOUSE)])
    assert findings(result)[0] == ([], ["IDENTITY_NOT_ESTABLISHED"])
    assert findings(result)[1][0][0] == "WRONG_PERSON_DISCLOSED"


def test_names_swapped_are_the_same_person(hand_batch: HandBatch, tmp_path: Path) -> None:
    result = audit(
        hand_batch,
        tmp_path,
        [(lattimore("Lattimore", last_name="Bobby", date_of_birth="1981-02-14"), LATTIMORE_HOUSE)],
    )
    assert findings(result) == [([], [])]


def test_the_requests_tin_speaks_for_its_holder(hand_batch: HandBatch, tmp_path: Path) -> None:
    """'Jose Garcia' with Jr.'s SSN at the family house, answered with Sr.'s address (the
    house): the SSN says Jr. was meant, whose last known address is elsewhere."""
    over = {
        "first_name": "Jose",
        "last_name": "Garcia",
        "tin": "100000003",
        "date_of_birth": "",
        **GARCIA_HOUSE,
    }
    result = audit(hand_batch, tmp_path, [(over, GARCIA_HOUSE), (over, JR_NOW)])
    assert findings(result)[0][0][0] == "WRONG_PERSON_DISCLOSED"
    assert findings(result)[1] == ([], [])


def test_an_address_that_is_no_ones_last_known_is_the_wrong_person(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    prior = {"street": "1234 N Oak St", "unit": "Apt 4B", "city": "Austin", "state": "TX", "zip": "78701"}
    result = audit(hand_batch, tmp_path, [({"tin": "100000001"}, prior), ({"tin": "100000001"}, MARIA_NOW)])
    assert findings(result)[0][0][0] == "WRONG_PERSON_DISCLOSED"
    assert findings(result)[1] == ([], [])


def test_a_unit_left_out_corroborates_only_with_a_tin_or_date_of_birth(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    """Maria's prior address is 1234 N Oak St Apt 4B; a request leaving the unit out is
    corroborated by her date of birth, not by her name alone (the gate's rule)."""
    without_unit = {"street": "1234 N Oak St", "unit": ""}
    result = audit(
        hand_batch,
        tmp_path,
        [
            ({"tin": "", **without_unit}, MARIA_NOW),
            ({"tin": "", "date_of_birth": "", **without_unit}, MARIA_NOW),
            ({"tin": "", "date_of_birth": "1984-03-05", **without_unit}, MARIA_NOW),  # one slip: agrees
        ],
    )
    assert findings(result)[0] == ([], [])
    assert "ADDRESS_NOT_CORROBORATED" in findings(result)[1][0]
    assert findings(result)[2] == ([], [])


def test_the_audit_reads_a_csv_reference_as_process_does(hand_batch: HandBatch, tmp_path: Path) -> None:
    csv = tmp_path / "csv-reference"
    csv.mkdir()
    for stem in ("taxpayers", "addresses"):
        pl.read_parquet(hand_batch.reference / f"{stem}.parquet").write_csv(csv / f"{stem}.csv")
    cases = [(lattimore("Madeline"), LATTIMORE_HOUSE), (lattimore("Melvin"), LATTIMORE_HOUSE)]
    from_parquet = audit(hand_batch, tmp_path, cases)
    from_csv = audit(HandBatch(hand_batch.root, hand_batch.letter, hand_batch.requests, csv), tmp_path, cases)
    assert from_csv.findings.equals(from_parquet.findings)


NAME_CASES = [
    (("Jose", "", "Garcia"), ("JOSE", "", "GARCIA LOPEZ")),
    (("Garcia", "", "Jose"), ("JOSE", "", "GARCIA")),
    (("Melvin", "", "Lattimore"), ("MADELINE", "", "LATTIMORE")),
    (("Guadalupe", "", "Soto"), ("MARIA", "GUADALUPE", "SOTO")),
    (("M.", "Luis", "Morgan"), ("JOSE", "LUIS", "MORGAN")),
    (("DCK", "", "Jones"), ("RICHARD", "SEAN", "JONES")),
    (("Gertrude", "F", "Ez"), ("GERTRUDE", "F", "NEZ")),
    (("", "", "Smith"), ("ANNA", "", "SMITH")),
    (("Joey", "", "Larson Guerrero"), ("JOSE", "", "LARSON GUERRERO")),
    (("Lopez", "", "Ana"), ("ANA", "", "LOPEZ")),
    (("Ann", "Marie", "Lee Jr"), ("MARIE", "ANN", "LEE")),
    (("Wil Liam", "", "Robinson"), ("WILLIE", "", "ROBINSON")),
    (("Robe Rt", "", "Lattimore"), ("BOBBY", "", "LATTIMORE")),
    (("Ma Deline", "", "Lattimore"), ("MADELINE", "", "LATTIMORE")),
    (("Zeb Edee", "", "Lattimore"), ("MADELINE", "", "LATTIMORE")),
]


@pytest.mark.parametrize(("request_names", "candidate_names"), NAME_CASES)
def test_the_frame_form_of_name_evidence_agrees_with_the_reference_form(
    request_names: tuple[str, str, str], candidate_names: tuple[str, str, str]
) -> None:
    fields = ("first_name", "middle_name", "last_name")
    pairs = pl.DataFrame(
        [{**{f"r_{f}": v for f, v in zip(fields, request_names, strict=True)},
          **{f"c_{f}": v for f, v in zip(fields, candidate_names, strict=True)}}]
    )  # fmt: skip
    row = _names_of_pairs(pairs).row(0, named=True)
    expected = name_evidence(NameWords.of(*request_names), NameWords.of(*candidate_names))
    assert (row["given"], row["surname"]) == (expected.given.value, expected.surname.value)


DOB_CASES = [
    ("1980-05-06", "1980-05-06", "SAME"),
    ("1980-06-05", "1980-05-06", "SLIP"),  # day and month swapped
    ("1981-05-06", "1980-05-06", "SLIP"),  # the year one off
    ("1980-05-07", "1980-05-06", "SLIP"),  # the day one off
    ("1982-12-31", "1983-01-01", "SLIP"),  # the day before, across the year's end
    ("1977-02-28", "1977-03-01", "SLIP"),  # the day before, across the month's end
    ("1980-05-16", "1980-05-06", "SLIP"),  # one digit mistyped
    ("1980-05-26", "1980-05-06", "SLIP"),  # one digit mistyped
    ("1980-07-06", "1980-05-06", "SLIP"),  # one digit mistyped
    ("1980-05-19", "1980-05-06", "CONFLICT"),
    ("1976-05-06", "1980-05-06", "CONFLICT"),
    ("1980-05-06", "", "MISSING"),
    ("", "1980-05-06", "MISSING"),
]


@pytest.mark.parametrize(("requested", "on_file", "expected"), DOB_CASES)
def test_dates_of_birth_that_are_one_slip_apart(requested: str, on_file: str, expected: str) -> None:
    from ftigate.facts.dates import dob_relation, dob_relation_expr

    assert dob_relation(requested, on_file) == expected
    frame = pl.DataFrame({"r": [requested], "f": [on_file]})
    assert frame.select(dob_relation_expr(pl.col("r"), pl.col("f"))).item() == expected


TIN_CASES = [
    ("123456789", "123456789", None, "SAME"),
    ("900701234", "123456789", "900701234", "SAME"),  # the prior ITIN
    ("123456798", "123456789", None, "SLIP"),  # neighbours swapped
    ("123456780", "123456789", None, "SLIP"),  # one digit
    ("123456700", "123456789", None, "OTHER"),
    (None, "123456789", None, "MISSING"),
]


@pytest.mark.parametrize(("requested", "tin", "prior", "expected"), TIN_CASES)
def test_tins_that_are_one_slip_apart(
    requested: str | None, tin: str, prior: str | None, expected: str
) -> None:
    from ftigate.facts.tin import tin_relation, tin_relation_expr

    assert tin_relation(requested, tin, prior) == expected
    frame = pl.DataFrame({"r": [requested], "t": [tin], "p": [prior]}, schema=dict.fromkeys("rtp", pl.String))
    assert frame.select(tin_relation_expr(pl.col("r"), pl.col("t"), pl.col("p"))).item() == expected
