"""What a date of birth is, for the stages that compare dates outside the model: when two
ISO dates can be one person's date keyed with one slip (the audit's reading; the model's
`keying_slip` level reads the same slips in SQL)."""

from __future__ import annotations

from datetime import date

import polars as pl

from ftigate.facts.text import fixed_width_slip, one_keying_slip


def dob_text(expr: pl.Expr) -> pl.Expr:
    """The date of birth a field gives: an ISO date (YYYY-MM-DD, spaces around it
    dropped), else NULL (blank, "NA", "Unknown", another layout). What every stage reads
    as a date of birth supplied: the model's input, the gates and the audit."""
    text = expr.cast(pl.String).fill_null("").str.strip_chars()
    return pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(text).otherwise(None)


def dob_relation(requested: str | None, on_file: str | None) -> str:
    """SAME, SLIP (day and month swapped, the year or the day one off, both at once, the day
    before or after across a month's end, or one character of the ISO date mistyped),
    CONFLICT or MISSING."""
    if not requested or not on_file or len(requested) != 10 or len(on_file) != 10:
        return "MISSING"
    if requested == on_file:
        return "SAME"
    if one_keying_slip(requested, on_file):
        return "SLIP"
    try:
        ry, rm, rd = (int(p) for p in requested.split("-"))
        fy, fm, fd = (int(p) for p in on_file.split("-"))
    except ValueError:
        return "MISSING"
    swapped = ry == fy and rm == fd and rd == fm
    near = abs(ry - fy) <= 1 and rm == fm and abs(rd - fd) <= 1
    try:
        next_day = abs((date(ry, rm, rd) - date(fy, fm, fd)).days) == 1
    except ValueError:
        next_day = False
    return "SLIP" if swapped or near or next_day else "CONFLICT"


def dob_relation_expr(requested: pl.Expr, on_file: pl.Expr) -> pl.Expr:
    """`dob_relation` over columns."""
    r = requested.str.to_date("%Y-%m-%d", strict=False)
    f = on_file.str.to_date("%Y-%m-%d", strict=False)
    both = (requested.str.len_chars() == 10) & (on_file.str.len_chars() == 10)
    swapped = (r.dt.year() == f.dt.year()) & (r.dt.month() == f.dt.day()) & (r.dt.day() == f.dt.month())
    near = (
        ((r.dt.year().cast(pl.Int32) - f.dt.year().cast(pl.Int32)).abs() <= 1)
        & (r.dt.month() == f.dt.month())
        & ((r.dt.day().cast(pl.Int32) - f.dt.day().cast(pl.Int32)).abs() <= 1)
    )
    next_day = (r - f).dt.total_days().abs() == 1
    return (
        pl.when(~both.fill_null(False))
        .then(pl.lit("MISSING"))
        .when(requested == on_file)
        .then(pl.lit("SAME"))
        .when(fixed_width_slip(requested, on_file, 10))
        .then(pl.lit("SLIP"))
        .when(r.is_null() | f.is_null())
        .then(pl.lit("MISSING"))
        .when((swapped | near | next_day).fill_null(False))
        .then(pl.lit("SLIP"))
        .otherwise(pl.lit("CONFLICT"))
    )
