"""One standard form for names, dates, TINs and addresses on both sides of a match.

Requests and the taxpayer reference go through the same functions, so "José
García-López", "JOSE GARCIA LOPEZ" and "Garcia" reach the comparisons in
comparable shapes. Everything is a Polars expression or works on the distinct
values of a column (surname tokens, street lines), so 10 million reference rows
cost a few seconds, not a Python loop per row.

Output columns shared by both sides (the model's input contract):
  first_name, first_canon, middle_initial, last_name, last_fused, surname_tokens,
  dob, tin, prior_itin, addr_keys, near_keys, street_keys, zips, block_name_zip,
  block_addr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources

import jellyfish
import polars as pl
from scourgify.address_constants import (
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from ftigate.screen.address import normalise

# Words a unit designator starts with ("APT 4B", "UNIT 301", "# 12", "STE 200").
_UNIT_WORDS = sorted(
    {*OCCUPANCY_TYPE_ABBREVIATIONS, *OCCUPANCY_TYPE_ABBREVIATIONS.values(), "#", "NO", "NUMBER"},
    key=len,
    reverse=True,
)
_UNIT_PREFIX = r"^(?:(?:" + "|".join(w.replace("#", r"\#") for w in _UNIT_WORDS) + r")\b\s*|#\s*)+"

# Name words that say nothing about who someone is.
_NAME_NOISE = r"\b(?:JR|SR|II|III|IV|MR|MRS|MS|DR)\b"


def on_distinct(frame: pl.DataFrame, key: str, build: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Columns computed once per distinct value of `key` and joined back in row order.

    Names, street lines and units repeat across millions of rows (a surname per family, a
    building's line per resident and year): `build` receives a frame with the distinct
    values in column `key` and returns it with the new columns; nulls are a value too."""
    distinct = build(frame.select(pl.col(key).unique()))
    return frame.join(distinct, on=key, how="left", nulls_equal=True, maintain_order="left")


@cache
def nickname_table() -> pl.DataFrame:
    """nickname -> formal first name (the resolver's own list, ASCII upper case)."""
    text = resources.files("ftigate.resolve").joinpath("data/nicknames.json").read_text("utf-8")
    pairs = json.loads(text)
    return pl.DataFrame({"nickname": [p[1] for p in pairs], "formal": [p[0] for p in pairs]}).unique(
        "nickname", keep="first", maintain_order=True
    )


def name_text(expr: pl.Expr) -> pl.Expr:
    """Upper case, accents stripped, letters and single spaces only, suffixes dropped."""
    return (
        normalise(expr)
        .str.replace_all(r"[^A-Z -]", " ")
        .str.replace_all("-", " ")
        .str.replace_all(_NAME_NOISE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr).otherwise(None)


def soundex_of(values: pl.Series) -> pl.Series:
    """Soundex per value as a number (letter A-Z as 1-26, then its three digits: "G620" ->
    7620), computed once per distinct value (surnames repeat a lot)."""
    distinct = values.drop_nulls().unique()
    lookup = {v: _soundex_number(jellyfish.soundex(v)) if v else None for v in distinct.to_list()}
    return values.replace_strict(lookup, default=None, return_dtype=pl.Int32)


def _soundex_number(code: str) -> int | None:
    if len(code) != 4 or not ("A" <= code[0] <= "Z") or not code[1:].isdigit():
        return None
    return (ord(code[0]) - 64) * 1000 + int(code[1:])


KEY_SEED = 0x6674_6967_6174_6531
"""fixed seed of the key hash (Polars guarantees its hash only within one version: the
prepared reference records the version and is rebuilt when it changes)"""


def key_code(expr: pl.Expr) -> pl.Expr:
    """A key string as a 64-bit code (NULL stays NULL).

    Address keys are compared for equality millions of times (blocking, and the array
    intersections of the address comparison); as integers they take an eighth of the
    memory and join several times faster. Two distinct keys share a code with probability
    2^-64 per pair: with some 20 million distinct keys in a national file, the chance that
    any two collide at all is about 1 in 100,000, and a collision would still have to fall
    on a request and one of its candidates to matter."""
    return pl.when(expr.is_not_null()).then(expr.hash(KEY_SEED).reinterpret(signed=True))


def name_zip_code(soundex: pl.Expr, zip_code: pl.Expr) -> pl.Expr:
    """The surname-Soundex x ZIP blocking key as one exact integer: Soundex number x 100,000
    + ZIP (both sides of a match build it here)."""
    return soundex.cast(pl.Int64) * 100_000 + zip_code


def zip_number(expr: pl.Expr) -> pl.Expr:
    """A five-digit ZIP as an integer (exact: no code is shared)."""
    return expr.cast(pl.Int32, strict=False)


def tin_digits(expr: pl.Expr) -> pl.Expr:
    digits = expr.fill_null("").str.replace_all(r"[^0-9]", "")
    return pl.when(digits.str.len_chars() == 9).then(digits).otherwise(None)


def zip5(expr: pl.Expr) -> pl.Expr:
    digits = expr.fill_null("").str.extract(r"^\s*(\d{5})", 1)
    return digits


def street_standard(streets: pl.Series) -> pl.Series:
    """USPS Pub. 28 forms: suffixes and directionals abbreviated, punctuation gone.

    Works on distinct lines and maps back, since a building's line repeats for every
    resident and year."""
    lines = streets.fill_null("").rename("raw")
    standard = _street_lines(lines.unique().to_frame())
    mapped = lines.to_frame().join(standard, on="raw", how="left", maintain_order="left")
    return mapped["std"].rename(streets.name)


def _street_lines(words: pl.DataFrame) -> pl.DataFrame:
    """raw, std for distinct raw street lines."""
    # Abbreviate only where the word plays its part: the street type is the last word (of
    # three or more) and a directional the second word (of four or more, after the
    # number). "Orchard St" and "North Rd" keep their names (ORCHARD and NORTH are also a
    # type and a directional in Pub. 28). Words are cut with anchored patterns rather than
    # split into lists: a national file has millions of distinct lines.
    types, directions = STREET_TYPE_ABBREVIATIONS, DIRECTIONAL_REPLACEMENTS
    clean = (
        normalise(pl.col("raw"))
        .str.replace_all(r"[#/-]", " ")
        .str.replace_all(" +", " ")
        .str.strip_chars(" ")
    )
    lines = words.with_columns(_clean=clean).with_columns(
        _words=pl.when(pl.col("_clean") == "").then(0).otherwise(pl.col("_clean").str.count_matches(" ") + 1),
        _four=pl.col("_clean").str.extract_groups(r"^([^ ]+) ([^ ]+) (.*) ([^ ]+)$"),
        _three=pl.col("_clean").str.extract_groups(r"^([^ ]+) ([^ ]+) ([^ ]+)$"),
    )
    four, three = pl.col("_four").struct, pl.col("_three").struct
    return lines.select(
        "raw",
        std=pl.when(pl.col("_words") >= 4)
        .then(
            pl.concat_str(
                [
                    four.field("1"),
                    four.field("2").replace(directions),
                    four.field("3"),
                    four.field("4").replace(types),
                ],
                separator=" ",
            )
        )
        .when(pl.col("_words") == 3)
        .then(
            pl.concat_str(
                [three.field("1"), three.field("2"), three.field("3").replace(types)], separator=" "
            )
        )
        .otherwise(pl.col("_clean")),
    )


def unit_standard(expr: pl.Expr) -> pl.Expr:
    """The unit identifier alone: "Apt 4B" -> "4B", "# 1202" -> "1202", "" -> ""."""
    text = normalise(expr).str.replace_all(_UNIT_PREFIX, "").str.replace_all(r"[^A-Z0-9]", "")
    return text.fill_null("")


def _street_parts(distinct: pl.DataFrame) -> pl.DataFrame:
    lines = distinct.with_columns(street_std=street_standard(distinct["street"]))
    return lines.with_columns(
        house=pl.col("street_std").str.extract(r"^(\d+[A-Z]?)\b", 1),
        # The name part of the line without the number and a leading directional: a
        # single typo leaves either its first three letters or its last four intact.
        name_part=pl.col("street_std")
        .str.replace(r"^\d+[A-Z]?\s+", "")
        .str.replace(r"^(?:N|S|E|W|NE|NW|SE|SW)\s+", ""),
    )


def address_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """street_std, house, unit_std, zip5 and the typo-tolerant street fragments (each computed
    once per distinct street line, unit and ZIP)."""
    out = on_distinct(frame, "street", _street_parts)
    out = on_distinct(out, "unit", lambda d: d.with_columns(unit_std=unit_standard(pl.col("unit"))))
    return on_distinct(out, "zip", lambda d: d.with_columns(zip5=zip5(pl.col("zip"))))


def address_keys(parts: pl.DataFrame) -> pl.DataFrame:
    """Per address row: its exact key, two near keys, its building key and its ZIP (text)."""
    zip_ok = pl.col("zip5").is_not_null() & (pl.col("street_std").str.len_chars() > 0)
    base = pl.concat_str([pl.col("house"), pl.col("unit_std"), pl.col("zip5")], separator="|")
    return parts.select(
        *[c for c in parts.columns if c not in {"street_std", "unit_std", "zip5", "house", "name_part"}],
        pl.when(zip_ok)
        .then(pl.concat_str([pl.col("street_std"), pl.col("unit_std"), pl.col("zip5")], separator="|"))
        .alias("addr_key"),
        pl.when(zip_ok & pl.col("house").is_not_null())
        .then(base + "|<" + pl.col("name_part").str.slice(0, 3))
        .alias("near_a"),
        pl.when(zip_ok & pl.col("house").is_not_null())
        .then(base + "|>" + pl.col("name_part").str.slice(-4))
        .alias("near_b"),
        pl.when(zip_ok)
        .then(pl.concat_str([pl.col("street_std"), pl.col("zip5")], separator="|"))
        .alias("street_key"),
        pl.col("zip5"),
        pl.when(zip_ok & pl.col("house").is_not_null()).then(base).alias("house_key"),
    )


CODED_KEYS = ("addr_key", "near_a", "near_b", "street_key")


def address_codes(keyed: pl.DataFrame) -> pl.DataFrame:
    """`address_keys`' output with the matching keys as codes (`key_code`) and the ZIP as a
    number; `house_key` stays text (it is compared with lent returns, a small table)."""
    return keyed.with_columns(*[key_code(pl.col(c)).alias(c) for c in CODED_KEYS], zip_number(pl.col("zip5")))


def _first_forms(distinct: pl.DataFrame) -> pl.DataFrame:
    nick = nickname_table()
    first = distinct.with_columns(
        _first=_blank_to_null(name_text(pl.col("first_name")).str.split(" ").list.first())
    )
    return first.with_columns(
        _canon=pl.col("_first").replace_strict(nick["nickname"], nick["formal"], default=pl.col("_first"))
    )


def _last_forms(distinct: pl.DataFrame) -> pl.DataFrame:
    last = distinct.with_columns(_last=_blank_to_null(name_text(pl.col("last_name"))))
    return last.with_columns(
        _fused=pl.col("_last").str.replace_all(" ", ""),
        _tokens=pl.col("_last")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 1)),
    )


def standard_names(frame: pl.DataFrame) -> pl.DataFrame:
    """first_name, first_canon, middle_initial, last_name, last_fused, surname_tokens.

    Computed once per distinct first, middle and last name (10 million taxpayers carry a
    few hundred thousand distinct names)."""
    out = on_distinct(frame, "first_name", _first_forms)
    out = on_distinct(
        out,
        "middle_name",
        lambda d: d.with_columns(_middle=_blank_to_null(name_text(pl.col("middle_name")).str.slice(0, 1))),
    )
    out = on_distinct(out, "last_name", _last_forms)
    return (
        out.with_columns(
            first_name=pl.col("_first"), middle_initial=pl.col("_middle"), last_name=pl.col("_last")
        )
        .with_columns(
            first_canon=pl.col("_canon"), last_fused=pl.col("_fused"), surname_tokens=pl.col("_tokens")
        )
        .drop("_first", "_middle", "_last", "_canon", "_fused", "_tokens")
    )


def _soundex_tokens(distinct: pl.DataFrame) -> pl.DataFrame:
    """last_name, sx_tokens: the sorted distinct Soundex codes of a surname's tokens."""
    tokens = distinct.with_columns(
        surname_tokens=pl.col("last_name")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 1))
    )
    exploded = tokens.select(pl.int_range(pl.len()).alias("_row"), "surname_tokens").explode("surname_tokens")
    exploded = exploded.with_columns(sx=soundex_of(exploded["surname_tokens"]))
    grouped = exploded.group_by("_row").agg(pl.col("sx").drop_nulls().unique().sort())
    codes = (
        pl.DataFrame({"_row": pl.int_range(0, tokens.height, eager=True)})
        .join(grouped, on="_row", how="left")
        .sort("_row")["sx"]
    )
    return distinct.with_columns(sx_tokens=codes)


def surname_soundex(frame: pl.DataFrame) -> pl.DataFrame:
    """sx_tokens: the Soundex code of each surname token (for blocking), per distinct
    standard surname (`last_name` as `standard_names` leaves it)."""
    return on_distinct(frame, "last_name", _soundex_tokens)


def dob_text(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).fill_null("").str.strip_chars()
    return pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(text).otherwise(None)


def standard_requests(requests: pl.DataFrame) -> pl.DataFrame:
    """Requests (the data contract's columns, text) -> the model's input columns."""
    frame = requests.select(
        pl.col("request_id").alias("unique_id"),
        "first_name", "middle_name", "last_name",
        dob_text(pl.col("date_of_birth")).alias("dob"),
        tin_digits(pl.col("tin")).alias("tin"),
        pl.lit(None, dtype=pl.String).alias("prior_itin"),
        "street", "unit", "zip",
    )  # fmt: skip
    frame = surname_soundex(standard_names(frame))
    keyed = address_codes(address_keys(address_parts(frame)))
    return keyed.select(
        "unique_id", "first_name", "first_canon", "middle_initial", "last_name", "last_fused",
        "surname_tokens", "dob", "tin", "prior_itin",
        pl.concat_list(pl.col("addr_key")).list.drop_nulls().alias("addr_keys"),
        pl.concat_list("near_a", "near_b").list.drop_nulls().alias("near_keys"),
        pl.concat_list(pl.col("street_key")).list.drop_nulls().alias("street_keys"),
        pl.concat_list(pl.col("zip5")).list.drop_nulls().alias("zips"),
        "sx_tokens",
        pl.col("house_key").alias("request_addr_key"),
    ).pipe(blocking_keys)  # fmt: skip


def blocking_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Soundex-of-surname-token x ZIP keys (Soundex number x 100,000 + ZIP), one sorted list
    per record (exploded by blocking)."""
    pairs = (
        frame.select(pl.int_range(pl.len()).alias("_row"), "sx_tokens", "zips")
        .explode("sx_tokens")
        .explode("zips")
        .filter(pl.col("sx_tokens").is_not_null() & pl.col("zips").is_not_null())
        .group_by("_row")
        .agg(name_zip_code(pl.col("sx_tokens"), pl.col("zips")).unique().sort().alias("name_zip_keys"))
    )
    keys = (
        pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True)})
        .join(pairs, on="_row", how="left")
        .sort("_row")["name_zip_keys"]
        .fill_null([])
    )
    return frame.with_columns(name_zip_keys=keys).drop("sx_tokens")
