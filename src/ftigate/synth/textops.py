"""Vectorised string edits (typos, transpositions, normalisation) as Polars expressions."""

from __future__ import annotations

import polars as pl

_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWY"


def strip_accents(text: pl.Expr) -> pl.Expr:
    return text.str.normalize("NFKD").str.replace_all(r"\p{M}", "")


def name_key(text: pl.Expr) -> pl.Expr:
    """Upper case, accents stripped, hyphens as spaces, single spaces."""
    return (
        strip_accents(text)
        .str.to_uppercase()
        .str.replace_all(r"[-.,']", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def name_control(last_name: pl.Expr) -> pl.Expr:
    """IRS-style name control: the first four letters of the surname, accents stripped."""
    return strip_accents(last_name).str.to_uppercase().str.replace_all(r"[^A-Z]", "").str.slice(0, 4)


def typo(text: pl.Expr, draw: pl.Expr, kind: pl.Expr, letter_draw: pl.Expr) -> pl.Expr:
    """One keyboard error in `text`, always a real change for strings of length >= 2.

    `draw` and `letter_draw` are uniform [0, 1) columns; `kind` is 0 (transpose two
    adjacent characters), 1 (substitute a letter, same case) or 2 (delete a character). A
    transposition of equal letters or a substitution by the same letter (ignoring case and
    accents) would change nothing, so such rows fall back to a deletion.
    """
    length = text.str.len_chars()
    position = (draw * (length - 1).clip(lower_bound=1)).floor().cast(pl.Int64)
    head = text.str.slice(0, position)
    here = text.str.slice(position, 1)
    after = text.str.slice(position + 1, 1)
    rest = text.str.slice(position + 2)
    letters = pl.lit(pl.Series(list(_LETTERS)))
    upper_letter = letters.gather((letter_draw * len(_LETTERS)).floor().cast(pl.Int64))
    letter = (
        pl.when(here == here.str.to_uppercase())
        .then(upper_letter)
        .otherwise(upper_letter.str.to_lowercase())
    )
    transposed = head + after + here + rest
    substituted = head + letter + text.str.slice(position + 1)
    deleted = head + text.str.slice(position + 1)
    edited = (
        pl.when(kind == 0).then(transposed).when(kind == 1).then(substituted).otherwise(deleted)
    )
    # Compare as a matcher would (case and accents ignored) so every typo is a real one.
    unchanged = strip_accents(edited).str.to_uppercase() == strip_accents(text).str.to_uppercase()
    return pl.when(unchanged).then(deleted).otherwise(edited)


def digit_typo(digits: pl.Expr, draw: pl.Expr) -> pl.Expr:
    """Transpose two adjacent digits of a 9-digit string, or bump one digit if they are equal."""
    position = (draw * 8).floor().cast(pl.Int64)
    head = digits.str.slice(0, position)
    here = digits.str.slice(position, 1)
    after = digits.str.slice(position + 1, 1)
    rest = digits.str.slice(position + 2)
    bumped = ((here.cast(pl.Int64, strict=False) + 1) % 10).cast(pl.String)
    return pl.when(here != after).then(head + after + here + rest).otherwise(
        head + bumped + after + rest
    )


def keystroke(text: pl.Expr, draw: pl.Expr, kind: pl.Expr, letter_draw: pl.Expr, keep: int = 2) -> pl.Expr:
    """One keystroke wrong in `text` after its first `keep` characters: an adjacent pair
    swapped, a letter changed or dropped (`typo`'s kinds 0-2), or a letter typed twice or
    a stray one typed in (kind 3: "Setreet" for Street). The first letters are kept because
    a slip there makes a short word another word ("Gark" for Park), which no reader, and no
    lawful matcher, takes for the same street. `text` needs `keep` + 2 characters."""
    head = text.str.slice(0, keep)
    tail = text.str.slice(keep)
    length = tail.str.len_chars()
    position = (draw * length).floor().cast(pl.Int64)
    letters = pl.lit(pl.Series(list(_LETTERS)))
    stray = letters.gather((letter_draw * len(_LETTERS)).floor().cast(pl.Int64)).str.to_lowercase()
    here = tail.str.slice(position, 1)
    inserted = (
        tail.str.slice(0, position + 1)
        + pl.when(letter_draw < 0.5).then(here.str.to_lowercase()).otherwise(stray)
        + tail.str.slice(position + 1)
    )
    return head + pl.when(kind == 3).then(inserted).otherwise(typo(tail, draw, kind, letter_draw))
