"""Typed shapes of the law as data: provisions, the rules they carry, and parameters."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class RuleSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    scope: Scope
    effect: Effect
    message: str


class ParameterSpec(_Strict):
    description: str
    value: Any


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


class Parameters(_Strict):
    """Every configurable value the rules read, with the default the rule files give.

    A policy file overrides any of these by name; unknown names are an error.
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
    itin_group_ranges: list[tuple[int, int]]
