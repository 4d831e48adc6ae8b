"""Text as every comparison sees it: upper case, accents removed."""

from __future__ import annotations

import unicodedata

import jellyfish
import polars as pl


def plain_upper(expr: pl.Expr) -> pl.Expr:
    """Upper case with accents removed ('Núñez' -> 'NUNEZ'); NULL becomes ''."""
    return expr.fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_uppercase()


def plain_upper_text(text: str) -> str:
    """`plain_upper` for one string."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def one_keying_slip(a: str, b: str) -> bool:
    """Two strings of one length, or one apart, within one keying slip."""
    return a != b and jellyfish.damerau_levenshtein_distance(a, b) == 1


def fixed_width_slip(a: pl.Expr, b: pl.Expr, length: int) -> pl.Expr:
    """Two strings of `length` characters one keying slip apart: one character different,
    or two neighbours swapped (`one_keying_slip` for fixed-width fields such as TINs and ISO
    dates)."""
    differs = [a.str.slice(i, 1) != b.str.slice(i, 1) for i in range(length)]
    count = pl.sum_horizontal(differs)
    swapped = pl.any_horizontal(
        [
            differs[i]
            & differs[i + 1]
            & (a.str.slice(i, 1) == b.str.slice(i + 1, 1))
            & (a.str.slice(i + 1, 1) == b.str.slice(i, 1))
            for i in range(length - 1)
        ]
    )
    same_length = (a.str.len_chars() == length) & (b.str.len_chars() == length)
    return same_length & ((count == 1) | ((count == 2) & swapped))
