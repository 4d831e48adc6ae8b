"""Text as every comparison sees it: upper case, accents removed."""

from __future__ import annotations

import unicodedata

import polars as pl


def plain_upper(expr: pl.Expr) -> pl.Expr:
    """Upper case with accents removed ('Núñez' -> 'NUNEZ'); NULL becomes ''."""
    return expr.fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_uppercase()


def plain_upper_text(text: str) -> str:
    """`plain_upper` for one string."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
