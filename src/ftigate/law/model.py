"""Typed shapes of the law as data: provisions, the rules they carry, and parameters."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Scope(StrEnum):
    """Where a rule applies: the letter (batch), one record, identity resolution, or a warning."""

    LETTER = "letter"
    RECORD = "record"
    IDENTITY = "identity"
    WARNING = "warning"


class Effect(StrEnum):
    """What a rule does to a record it fires on. Order matters: refuse outranks review."""

    REFUSE = "refuse"
    REVIEW = "review"
    WARN = "warn"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str
    href: str


class Reference(_Strict):
    """What grounds one dated value: the citation, a link, and for a fact (a safeguard review,
    an agreement) the document that establishes it."""

    citation: str
    href: str = Field(pattern=r"^https://")
    document: str | None = None


IMPLEMENTATION = r"^ftigate(\.[a-z_][a-z0-9_]*)+(\.[A-Za-z_][A-Za-z0-9_]*)?$"


class RuleSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    scope: Scope
    effect: Effect
    message: str
    implemented_by: list[Annotated[str, Field(pattern=IMPLEMENTATION)]] = Field(min_length=1)
    """dotted path of each function that decides whether the code fires (the gate's and the
    audit's, for a code both use)"""

    @field_validator("implemented_by", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class DatedValue(_Strict):
    value: Any
    reference: Reference


class ParameterSpec(_Strict):
    """A parameter as OpenFisca and PolicyEngine write one: values keyed by the date each
    took effect, each with its reference. A value is in force from its date until the next."""

    description: str
    values: dict[date, DatedValue] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _dates_only(cls, values: Any) -> Any:
        # pydantic would read "2025" or a datetime as a date; the files give days.
        if isinstance(values, dict):
            for key in values:
                if not isinstance(key, date) or isinstance(key, datetime):
                    raise ValueError(f"{key!r} is not a date (YYYY-MM-DD)")
        return values

    def first_date(self) -> date:
        return min(self.values)


class Provision(_Strict):
    """One file under law/rules: a provision of law, its text, and what enforces it."""

    citation: str
    title: str
    text: str
    source: Source
    last_checked: date
    rules: list[RuleSpec] = Field(default_factory=list)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)


class ReasonCode(_Strict):
    """A reason code as users see it: the rule plus the provision that grounds it."""

    code: str
    scope: Scope
    effect: Effect
    message: str
    citation: str
    provision_title: str
    provision_text: str
    source: Source
    rule_file: str
    implemented_by: list[str]


class Officials(_Strict):
    any_agency: list[str]
    by_department: dict[str, list[str]]
    by_agency: dict[str, list[str]]


class StatuteTable(_Strict):
    criminal: list[str]
    civil: list[str]
    criminal_titles: list[int]
    tax_titles: list[int]
    ina_sections: dict[str, str]


class EvidenceWeights(_Strict):
    """How much each piece of evidence counts, in the audit, towards a candidate being the
    person a request means (`ftigate.audit.identity.score_expr`)."""

    tin_same: float = Field(ge=0)
    tin_slip: float = Field(ge=0)
    dob_same: float = Field(ge=0)
    dob_slip: float = Field(ge=0)
    address_on_file: float = Field(ge=0)
    given_same: float = Field(ge=0)
    given_slip: float = Field(ge=0)
    given_nickname: float = Field(ge=0)
    given_initial: float = Field(ge=0)
    fit_score: float = Field(gt=0)
    """the least score at which a candidate fits the request"""


class Parameters(_Strict):
    """Every configurable value the rules read, as in force on one date (`Law.at`).

    The rule files give each a dated timeline; a policy file overrides any of these by
    name, undated or dated; unknown names are an error.
    """

    officials: Officials
    statutes: StatuteTable
    cases_per_officer_ceiling: int = Field(gt=0)
    agencies_with_unresolved_safeguard_findings: list[str]
    name_placeholders: list[str]
    address_placeholder_words: list[str]
    facility_words: list[str]
    earliest_tax_year: int = Field(ge=1900, le=2100)
    reason_placeholders: list[str]
    boilerplate_min_records: int = Field(ge=2)
    boilerplate_effect: Effect
    audit_unestablished_effect: Effect
    name_unique_at_address_effect: Effect
    audit_evidence_weights: EvidenceWeights
    itin_group_ranges: list[tuple[int, int]]
    disclose_probability: float = Field(ge=0.0, le=1.0)
    review_floor: float = Field(ge=0.0, le=1.0)
    margin_bits: float = Field(ge=0.0)
    damages_per_act_usd: int = Field(gt=0)
