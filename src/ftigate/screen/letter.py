"""L1-L4: is the written request, as a whole, one the statute allows? Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ftigate.intake.letter import Letter
from ftigate.law.model import Parameters
from ftigate.law.statutes import StatuteClass, classify


def _norm(text: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("&", " and "))
    return " ".join(w for w in text.split() if w not in {"the", "u", "s", "us"})


def signer_is_authorized(letter: Letter, params: Parameters) -> bool:
    """L1. The title must be one the statute names for this agency or department.

    "Acting" is ignored, and so is the agency's own name written into the title:
    "Director, U.S. Immigration and Customs Enforcement" is "Director" of ICE.
    """
    officials = params.officials
    accepted = list(officials.any_agency)
    for department, titles in officials.by_department.items():
        if _norm(department) == _norm(letter.department):
            accepted.extend(titles)
    for agency, titles in officials.by_agency.items():
        if _norm(agency) == _norm(letter.requesting_agency):
            accepted.extend(titles)
    title = _norm(letter.signer.title)
    title = re.sub(r"^acting ", "", title)
    candidates = {title}
    for body in (letter.requesting_agency, letter.department):
        body_norm = _norm(body)
        if body_norm and body_norm in title:
            stripped = " ".join(title.replace(body_norm, " ").split())
            candidates.add(re.sub(r" (of|for)$", "", stripped))
    return any(_norm(a) in candidates for a in accepted)


def letter_statute_code(letter: Letter, params: Parameters) -> str | None:
    """L2. The designated statute must be criminal and not involve tax administration."""
    verdict = classify(letter.statute, params.statutes)
    return {
        StatuteClass.CRIMINAL: None,
        StatuteClass.CIVIL: "LETTER_STATUTE_NOT_CRIMINAL",
        StatuteClass.TAX: "LETTER_STATUTE_TAX",
        StatuteClass.UNKNOWN: "LETTER_STATUTE_UNRECOGNIZED",
        StatuteClass.MISSING: "LETTER_STATUTE_UNRECOGNIZED",
    }[verdict]


def officers_implausible(
    record_count: int, officer_count: int, max_cases_one_officer: int, params: Parameters
) -> bool:
    """L3. Too many investigations for the officers named to be personally engaged in all."""
    ceiling = params.cases_per_officer_ceiling
    if officer_count == 0:
        return record_count > 0
    return record_count / officer_count > ceiling or max_cases_one_officer > ceiling


def recipient_lacks_safeguards(letter: Letter, params: Parameters) -> bool:
    """L4. The requesting agency has open 6103(p)(4) safeguard findings."""
    flagged = {_norm(a) for a in params.agencies_with_unresolved_safeguard_findings}
    return _norm(letter.requesting_agency) in flagged or _norm(letter.department) in flagged


@dataclass(frozen=True)
class BatchFacts:
    """What only the whole request file can tell: counts the letter is checked against."""

    records: int
    max_cases_one_officer: int


def letter_codes(letter: Letter, params: Parameters, facts: BatchFacts) -> list[str]:
    """Every letter-level code that applies; they apply to every record of the batch."""
    codes: list[str] = []
    if not signer_is_authorized(letter, params):
        codes.append("LETTER_SIGNER_NOT_AUTHORIZED")
    statute = letter_statute_code(letter, params)
    if statute:
        codes.append(statute)
    distinct_officers = len({_norm(o) for o in letter.officers if o.strip()})
    if officers_implausible(
        max(letter.record_count, facts.records), distinct_officers, facts.max_cases_one_officer, params
    ):
        codes.append("LETTER_OFFICERS_IMPLAUSIBLE")
    if recipient_lacks_safeguards(letter, params):
        codes.append("LETTER_RECIPIENT_SAFEGUARDS")
    return codes


def letter_warnings(letter: Letter, facts: BatchFacts) -> list[str]:
    return ["LETTER_RECORD_COUNT_MISMATCH"] if letter.record_count != facts.records else []


def normalise_officer(name: str) -> str:
    return _norm(name)
