"""What a TIN is, for every stage: nine digits, written with or without separators.

An SSN or ITIN field may separate its groups with dashes or spaces ("123-45-6789",
"123 45 6789"); those are removed. Anything else in the field (a letter, a dot, a slash,
a word such as "SSN") means the field does not hold a TIN, and the TIN is NULL: a
matcher must not guess which digits were meant, and screening warns that it is
malformed. Before this rule the stages disagreed: screening kept other characters,
resolution dropped every non-digit ("SSN 123.45.6789" became a TIN), and the audit removed
dashes only ("123 45 6789" was no TIN).
"""

from __future__ import annotations

import re

import polars as pl

from ftigate.facts.text import fixed_width_slip, one_keying_slip

_SEPARATORS = r"[\s-]"
_TIN = re.compile(r"\d{9}")


def tin_digits(expr: pl.Expr) -> pl.Expr:
    """The nine digits of a TIN field, else NULL (blank, too short or long, or any
    character other than digits, spaces and dashes)."""
    digits = expr.cast(pl.String).fill_null("").str.replace_all(_SEPARATORS, "")
    return pl.when(digits.str.contains(r"^\d{9}$")).then(digits).otherwise(pl.lit(None, dtype=pl.String))


def tin_text_digits(text: str | None) -> str | None:
    """`tin_digits` for one value."""
    digits = re.sub(_SEPARATORS, "", text or "")
    return digits if _TIN.fullmatch(digits) else None


def tin_given(expr: pl.Expr) -> pl.Expr:
    """Whether the field holds anything at all (a malformed TIN is given, a blank one is not)."""
    return expr.cast(pl.String).fill_null("").str.replace_all(_SEPARATORS, "") != ""


def tin_digits_sql(column: str) -> str:
    """`tin_digits` in DuckDB SQL over `column` (the program's own column name, never a
    value from a file). The regular expression runs only on values that are not already
    nine plain digits, the common case in a national file."""
    text = f"coalesce(CAST({column} AS VARCHAR), '')"
    plain = f"regexp_full_match({text}, '[0-9]{{9}}')"
    stripped = f"regexp_replace({text}, '[\\s-]', '', 'g')"
    return (
        f"CASE WHEN {plain} THEN {text} WHEN regexp_full_match({stripped}, '[0-9]{{9}}') THEN {stripped} END"
    )


def tin_relation(requested: str | None, tin: str | None, prior_itin: str | None) -> str:
    """SAME (the TIN or the prior ITIN), SLIP (one digit or two neighbours off), OTHER or
    MISSING (the request gives no TIN)."""
    if not requested:
        return "MISSING"
    if requested in (tin, prior_itin):
        return "SAME"
    if any(t and one_keying_slip(requested, t) for t in (tin, prior_itin)):
        return "SLIP"
    return "OTHER"


def tin_relation_expr(requested: pl.Expr, tin: pl.Expr, prior_itin: pl.Expr) -> pl.Expr:
    """`tin_relation` over columns."""
    slip = fixed_width_slip(requested, tin, 9) | (
        prior_itin.is_not_null() & fixed_width_slip(requested, prior_itin, 9)
    )
    return (
        pl.when(requested.is_null() | (requested == ""))
        .then(pl.lit("MISSING"))
        .when((requested == tin) | (requested == prior_itin).fill_null(False))
        .then(pl.lit("SAME"))
        .when(slip.fill_null(False))
        .then(pl.lit("SLIP"))
        .otherwise(pl.lit("OTHER"))
    )
