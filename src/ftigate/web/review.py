"""Two-person review, as pure rules (issue 14; NIST SP 800-53 AC-3(2), AC-5).

A `review` decision becomes a disclosure only when two different disclosure officers
approve it; one refusal refuses it. Nobody reviews a batch they submitted or configured
(decided its letter-level review); a privacy officer never approves a disclosure, even one
who also holds the disclosure officer's role. A request that was never resolved to a
taxpayer (sent to review by screening) has nothing to disclose: it can only be refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ftigate.decide.gates import DISCLOSE, REFUSE, REVIEW
from ftigate.facts.names import surname_words
from ftigate.web.roles import DISCLOSURE_OFFICER, PRIVACY_OFFICER

# What approving a letter-level review lifts, per code: the privacy officer's decision
# stands in for the parameter the letter failed (6103(i)(2)(A): the officers; 6103(p)(4):
# the recipient's safeguards), for this letter and request file only. A letter-level code
# not listed here cannot be approved.
LETTER_WAIVERS: dict[str, dict[str, object]] = {
    "LETTER_OFFICERS_IMPLAUSIBLE": {"cases_per_officer_ceiling": 10**12},
    "LETTER_RECIPIENT_SAFEGUARDS": {"agencies_with_unresolved_safeguard_findings": []},
}

APPROVE = "approve"
REFUSE_ACTION = "refuse"
ACTIONS = (APPROVE, REFUSE_ACTION)
APPROVALS_NEEDED = 2


class ReviewRefused(Exception):
    """This vote may not be cast; the message says why (never taxpayer data)."""


@dataclass(frozen=True)
class Vote:
    reviewer: str
    action: str


def outcome(votes: Iterable[Vote]) -> str:
    """What the votes cast so far decide: refuse, disclose, or still review."""
    approvers: set[str] = set()
    for vote in votes:
        if vote.action == REFUSE_ACTION:
            return REFUSE
        if vote.action == APPROVE:
            approvers.add(vote.reviewer)
    return DISCLOSE if len(approvers) >= APPROVALS_NEEDED else REVIEW


def check_vote(
    *,
    reviewer: str,
    roles: Iterable[str],
    action: str,
    votes: Iterable[Vote],
    submitted_by: str,
    configured_by: Iterable[str] = (),
    resolved: bool,
    letter_pending: bool = False,
) -> str:
    """Refuse (ReviewRefused) a vote the rules forbid; return what the item's decision is
    once it is cast."""
    held = set(roles)
    cast = list(votes)
    if action not in ACTIONS:
        raise ReviewRefused(f"the action must be one of {', '.join(ACTIONS)}")
    if DISCLOSURE_OFFICER not in held:
        raise ReviewRefused("only a disclosure officer reviews requests")
    if action == APPROVE and PRIVACY_OFFICER in held:
        raise ReviewRefused("a privacy officer does not approve disclosures")
    if reviewer == submitted_by or reviewer in set(configured_by):
        raise ReviewRefused("nobody reviews a batch they submitted or configured")
    if letter_pending:
        raise ReviewRefused("the letter itself awaits the privacy officer's review")
    if outcome(cast) != REVIEW:
        raise ReviewRefused("this request has been decided")
    if any(v.reviewer == reviewer for v in cast):
        raise ReviewRefused("you have voted on this request already; a second officer decides")
    if action == APPROVE and not resolved:
        raise ReviewRefused("this request was not resolved to a taxpayer: it can only be refused")
    return outcome([*cast, Vote(reviewer, action)])


def visible_votes(votes: Iterable[Vote], viewer: str, *, blind: bool = True) -> list[Vote]:
    """The votes a reviewer may see: only their own while the review is blind."""
    return [v for v in votes if not blind or v.reviewer == viewer]


def decided(items: Mapping[str, Iterable[Vote]]) -> bool:
    """Whether nothing of a batch is pending: its response may then be released."""
    return all(outcome(votes) != REVIEW for votes in items.values())


def letter_waiver(codes: Iterable[str]) -> dict[str, object]:
    """The policy overrides an approval of these letter-level codes stands for; refuses
    (ReviewRefused) a code no approval can lift."""
    overrides: dict[str, object] = {}
    for code in sorted(set(codes)):
        if code not in LETTER_WAIVERS:
            raise ReviewRefused(f"{code} cannot be approved: the letter must be corrected")
        overrides.update(LETTER_WAIVERS[code])
    return overrides


# --- the household at the requested address ------------------------------------------------

# Where who else lives at the address decides the item: a given name that is not the
# candidate's (a relative's?), two candidates close together, a weak match, or a unit left
# out (which home in the building?).
HOUSEHOLD_GATES = frozenset(
    {
        "GIVEN_NAME_CONFLICT",
        "AMBIGUOUS_IDENTITY",
        "LOW_CONFIDENCE",
        "ADDRESS_UNIT_OMITTED",
        "NAME_UNIQUE_AT_ADDRESS",
        "NAME_AND_ADDRESS_ONLY",
    }
)


def household_matters(
    gate: str | None,
    reasons: Iterable[str],
    candidate_surnames: Iterable[str],
    resident_surnames: Iterable[str],
) -> bool:
    """Whether the review item shows the other taxpayers at the requested address: for the
    household gates, or when a candidate's surname is shared by another taxpayer there
    (surnames compared by their significant words, `facts.names.surname_words`)."""
    if gate in HOUSEHOLD_GATES or HOUSEHOLD_GATES & set(reasons):
        return True
    words = {w for s in candidate_surnames for w in surname_words(s)}
    return any(words & set(surname_words(s)) for s in resident_surnames)


def masked_resident(resident: Mapping[str, object]) -> dict[str, str]:
    """One taxpayer at the address as the reviewer sees them: given name, surname initial,
    year of birth, last four digits of the TIN, unit and latest tax year there; never the
    whole TIN, surname or date of birth."""
    surname = str(resident.get("last_name") or "").strip()
    born = str(resident.get("date_of_birth") or "")
    return {
        "given_name": str(resident.get("first_name") or "").strip().title(),
        "surname_initial": f"{surname[:1].upper()}." if surname else "",
        "birth_year": born[:4] if born[:4].isdigit() else "",
        "tin_last4": str(resident.get("tin") or "")[-4:],
        "unit": str(resident.get("unit") or ""),
        "tax_year": str(resident.get("tax_year") or ""),
    }
