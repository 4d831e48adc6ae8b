"""The one rule that turns reason codes into an outcome, for every stage.

A refusing code outranks a reviewing one, and a reviewing one outranks a pass; a warning
decides nothing. A code the law does not declare refuses: a rule that is not known is a
rule not met (fail closed), never a silent pass. Screening, the identity gates and the
audit all read their outcomes here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import polars as pl

from ftigate.law.model import Effect


class Outcome(StrEnum):
    REFUSE = "refuse"
    REVIEW = "review"
    PASS = "pass"


def effect_of(code: str, effects: Mapping[str, Effect | str]) -> Effect:
    """A code's effect; an undeclared code refuses."""
    return Effect(effects.get(code, Effect.REFUSE))


def outcome_of(codes: Iterable[str], effects: Mapping[str, Effect | str]) -> Outcome:
    found = {effect_of(code, effects) for code in codes}
    if Effect.REFUSE in found:
        return Outcome.REFUSE
    if Effect.REVIEW in found:
        return Outcome.REVIEW
    return Outcome.PASS


_SEPARATOR = "\x1f"


def outcomes(reasons: pl.Series, effects: Mapping[str, Effect | str]) -> pl.Series:
    """`outcome_of` for each list of codes in `reasons` (a list-of-strings column). A batch
    holds a few hundred distinct code lists at most, so each is judged once and mapped back."""
    keys = reasons.list.join(_SEPARATOR).fill_null("")
    verdicts = {
        key: outcome_of(key.split(_SEPARATOR) if key else [], effects).value
        for key in keys.unique().to_list()
    }
    return keys.replace_strict(verdicts, return_dtype=pl.String)


def refusing(codes: Iterable[str], effects: Mapping[str, Effect | str]) -> list[str]:
    """The codes among `codes` that refuse on their own (undeclared ones included)."""
    return [code for code in codes if effect_of(code, effects) == Effect.REFUSE]
