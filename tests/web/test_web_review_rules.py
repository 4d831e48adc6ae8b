"""Two-person review as a table: who may vote, and what the votes decide (issue 14;
NIST SP 800-53 AC-3(2) dual authorization, AC-5 separation of duties)."""

from __future__ import annotations

import pytest

from ftigate.web.review import (
    ReviewRefused,
    Vote,
    check_vote,
    household_matters,
    letter_waiver,
    masked_resident,
    outcome,
    visible_votes,
)

D, P = "disclosure_officer", "privacy_officer"

# (name, reviewer, roles, action, votes already cast, resolved, letter pending, expected or refusal)
CASES = [
    ("first approval leaves it pending", "a", {D}, "approve", [], True, False, "review"),
    (
        "second approval by another officer discloses",
        "b",
        {D},
        "approve",
        [("a", "approve")],
        True,
        False,
        "disclose",
    ),
    ("one refusal refuses", "a", {D}, "refuse", [], True, False, "refuse"),
    ("a refusal after an approval refuses", "b", {D}, "refuse", [("a", "approve")], True, False, "refuse"),
    (
        "the same officer twice",
        "a",
        {D},
        "approve",
        [("a", "approve")],
        True,
        False,
        "voted on this request already",
    ),
    (
        "a privacy officer never approves",
        "p",
        {D, P},
        "approve",
        [],
        True,
        False,
        "privacy officer does not approve",
    ),
    ("a privacy officer who is also an officer may refuse", "p", {D, P}, "refuse", [], True, False, "refuse"),
    ("not an officer", "x", {"auditor"}, "refuse", [], True, False, "only a disclosure officer"),
    ("the submitter", "sub", {D}, "approve", [], True, False, "submitted or configured"),
    ("the letter's reviewer", "cfg", {D}, "refuse", [], True, False, "submitted or configured"),
    ("nothing to disclose", "a", {D}, "approve", [], False, False, "can only be refused"),
    ("unresolved may be refused", "a", {D}, "refuse", [], False, False, "refuse"),
    ("letter first", "a", {D}, "refuse", [], True, True, "awaits the privacy officer"),
    (
        "decided already",
        "c",
        {D},
        "approve",
        [("a", "approve"), ("b", "approve")],
        True,
        False,
        "has been decided",
    ),
    ("an unknown action", "a", {D}, "escalate", [], True, False, "must be one of"),
]


@pytest.mark.parametrize(
    ("reviewer", "roles", "action", "votes", "resolved", "letter", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_check_vote(
    reviewer: str, roles: set[str], action: str, votes: list[tuple[str, str]], resolved: bool, letter: bool,
    expected: str,
) -> None:  # fmt: skip
    cast = [Vote(*v) for v in votes]
    call = dict(reviewer=reviewer, roles=roles, action=action, votes=cast, submitted_by="sub",
                configured_by={"cfg"}, resolved=resolved, letter_pending=letter)  # fmt: skip
    if expected in ("review", "disclose", "refuse"):
        assert check_vote(**call) == expected  # type: ignore[arg-type]
    else:
        with pytest.raises(ReviewRefused, match=expected):
            check_vote(**call)  # type: ignore[arg-type]


def test_two_approvals_by_one_person_are_one() -> None:
    assert outcome([Vote("a", "approve"), Vote("a", "approve")]) == "review"


def test_blind_votes_show_only_ones_own() -> None:
    votes = [Vote("a", "approve"), Vote("b", "refuse")]
    assert visible_votes(votes, "b") == [Vote("b", "refuse")]
    assert visible_votes(votes, "b", blind=False) == votes


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["LETTER_OFFICERS_IMPLAUSIBLE"], {"cases_per_officer_ceiling": 10**12}),
        (["LETTER_RECIPIENT_SAFEGUARDS"], {"agencies_with_unresolved_safeguard_findings": []}),
        (["LETTER_SIGNER_NOT_AUTHORIZED"], "cannot be approved"),
        (["LETTER_STATUTE_NOT_CRIMINAL"], "cannot be approved"),
    ],
)
def test_what_approving_a_letter_lifts(codes: list[str], expected: object) -> None:
    if isinstance(expected, dict):
        assert letter_waiver(codes) == expected
    else:
        with pytest.raises(ReviewRefused, match=str(expected)):
            letter_waiver(codes)


@pytest.mark.parametrize(
    ("gate", "reasons", "candidates", "residents", "shown"),
    [
        ("GIVEN_NAME_CONFLICT", [], ["Smith"], [], True),
        ("AMBIGUOUS_IDENTITY", [], ["Smith"], ["Jones"], True),
        (None, ["LOW_CONFIDENCE"], [], [], True),
        ("ADDRESS_UNIT_OMITTED", [], ["Smith"], [], True),
        # another gate: only when a candidate's surname is shared there
        ("TIN_CONFLICT", [], ["Garcia-Lopez"], ["Jones", "Lopez"], True),
        ("TIN_CONFLICT", [], ["O'Neil Jr."], ["ONEIL"], True),
        ("TIN_CONFLICT", [], ["Smith"], ["Jones"], False),
        ("TIN_CONFLICT", [], [], ["Jones"], False),
        (None, ["INSUFFICIENT_IDENTIFIERS"], ["Smith"], [], False),
    ],
)
def test_when_the_household_is_shown(
    gate: str | None, reasons: list[str], candidates: list[str], residents: list[str], shown: bool
) -> None:
    assert household_matters(gate, reasons, candidates, residents) is shown


def test_a_resident_is_masked() -> None:
    masked = masked_resident(
        {"tin": "123456789", "first_name": "MARIA", "last_name": "Garcia", "date_of_birth": "1980-02-03",
         "unit": "4B", "tax_year": 2024}
    )  # fmt: skip
    assert masked == {
        "given_name": "Maria", "surname_initial": "G.", "birth_year": "1980", "tin_last4": "6789",
        "unit": "4B", "tax_year": "2024",
    }  # fmt: skip
    assert "123456789" not in str(masked) and "Garcia" not in str(masked) and "02-03" not in str(masked)
