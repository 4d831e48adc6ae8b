"""One standard form for names, dates, TINs and addresses on both sides of a match.

Requests and the taxpayer reference go through the same functions, so "José
García-López", "JOSE GARCIA LOPEZ" and "Garcia" reach the comparisons in
comparable shapes. Everything is a Polars expression or works on the distinct
values of a column (surname tokens, street lines), so 10 million reference rows
cost a few seconds, not a Python loop per row.

Output columns shared by both sides (the model's input contract):
  first_name, first_fused, first_canon, first_forms, middle_initial, last_name, last_fused,
  surname_tokens, dob, tin, prior_itin, addr_keys, near_keys, street_keys, zips, block_name_zip,
  block_addr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources

import jellyfish
import polars as pl

from ftigate.facts.address import COMPARED_COLUMNS, address_parts
from ftigate.facts.dates import dob_text
from ftigate.facts.names import nickname_pairs
from ftigate.facts.text import plain_upper
from ftigate.facts.tin import tin_digits

# Name words that say nothing about who someone is.
_NAME_NOISE = r"\b(?:JR|SR|II|III|IV|MR|MRS|MS|DR)\b"
GENERATION_SUFFIX = r"\b(?:JR|SR|II|III|IV)\b"
"""name words that say a namesake exists (Jr./Sr., a numeral): dropped from the names
compared, but kept as a fact of the request (`name_suffix`)"""


def on_distinct(frame: pl.DataFrame, key: str, build: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Columns computed once per distinct value of `key` and joined back in row order.

    Names, street lines and units repeat across millions of rows (a surname per family, a
    building's line per resident and year): `build` receives a frame with the distinct
    values in column `key` and returns it with the new columns; nulls are a value too."""
    distinct = build(frame.select(pl.col(key).unique()))
    return frame.join(distinct, on=key, how="left", nulls_equal=True, maintain_order="left")


@cache
def nickname_table() -> pl.DataFrame:
    """nickname -> formal first name (the shared list, `facts/data/nicknames.json`)."""
    text = resources.files("ftigate.facts").joinpath("data/nicknames.json").read_text("utf-8")
    pairs = json.loads(text)
    return pl.DataFrame({"nickname": [p[1] for p in pairs], "formal": [p[0] for p in pairs]}).unique(
        "nickname", keep="first", maintain_order=True
    )


def name_text(expr: pl.Expr) -> pl.Expr:
    """Upper case, accents stripped, letters and single spaces only, suffixes dropped."""
    return (
        plain_upper(expr)
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z -]", " ")
        .str.replace_all("-", " ")
        .str.replace_all(_NAME_NOISE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def has_generation_suffix(*names: pl.Expr) -> pl.Expr:
    """Whether any of `names` (text as written) carries a Jr., Sr. or numeral suffix."""
    words = [plain_upper(n.fill_null("")).str.replace_all(r"[^A-Z]", " ") for n in names]
    return pl.any_horizontal([w.str.contains(GENERATION_SUFFIX) for w in words])


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


def address_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Per address row (street, unit, zip, city): the matching keys as text.

      addr_key      the address in standard form: street line | unit | ZIP
      form_key      number | street name | unit | ZIP: the suffix or a directional left out
                    or written differently
      city_key      number | street name | unit | city: the ZIP slipped
      near_a/b      number | unit | ZIP | the name's first three or last four letters: the
                    street misspelt or run together with its suffix
      building_key  number | street name | ZIP: the same building, another or no unit
      house_zip     number | ZIP (blocking, with the given initial)
      house_key     number | unit | ZIP (returns filed under a TIN in another name)
      zip5

    The keys only find candidates and grade them for the model; whether a requested address
    is one on file is decided by `facts.address.corroborate` on the text."""
    parts = address_parts(frame)
    has_street = pl.col("zip5").is_not_null() & (pl.col("street_std").fill_null("") != "")
    numbered = has_street & pl.col("house").is_not_null()
    name = pl.col("name_fused").fill_null("")

    def join(*columns: pl.Expr) -> pl.Expr:
        return pl.concat_str([c.fill_null("") for c in columns], separator="|")

    house, unit, zip_code = pl.col("house"), pl.col("unit_std"), pl.col("zip5")
    return parts.select(
        *frame.columns,
        pl.when(has_street).then(join(pl.col("street_std"), unit, zip_code)).alias("addr_key"),
        pl.when(numbered & (name != "")).then(join(house, name, unit, zip_code)).alias("form_key"),
        pl.when(numbered & (name != "") & (pl.col("city_std") != ""))
        .then(join(house, name, unit, pl.col("city_std")))
        .alias("city_key"),
        pl.when(numbered).then(join(house, unit, zip_code) + "|<" + name.str.slice(0, 3)).alias("near_a"),
        pl.when(numbered).then(join(house, unit, zip_code) + "|>" + name.str.slice(-4)).alias("near_b"),
        pl.when(numbered & (name != "")).then(join(house, name, zip_code)).alias("building_key"),
        pl.when(numbered).then(join(house, zip_code)).alias("house_zip"),
        pl.when(numbered).then(join(house, unit, zip_code)).alias("house_key"),
        zip_code,
    )


CODED_KEYS = ("addr_key", "form_key", "city_key", "near_a", "near_b", "building_key", "house_zip")


def address_codes(keyed: pl.DataFrame) -> pl.DataFrame:
    """`address_keys`' output with the matching keys as codes (`key_code`) and the ZIP as a
    number; `house_key` stays text (it is compared with lent returns, a small table)."""
    return keyed.with_columns(*[key_code(pl.col(c)).alias(c) for c in CODED_KEYS], zip_number(pl.col("zip5")))


def house_initial_code(house_zip: pl.Expr, first_name: pl.Expr, last_name: pl.Expr) -> pl.Expr:
    """The house-number x ZIP x both-initials blocking key (both sides build it here).

    The two initials go in sorted, so given and family names swapped still meet. Both,
    not either: one initial at a house and ZIP pairs a request with every member of a
    household sharing its surname, a third of all candidate pairs for no recall that the
    name and ZIP rules do not already give."""
    first = first_name.str.slice(0, 1)
    last = last_name.str.slice(0, 1)
    return pl.when(house_zip.is_not_null() & (first.str.len_chars() == 1) & (last.str.len_chars() == 1)).then(
        pl.concat_str(
            [house_zip.cast(pl.String), pl.min_horizontal(first, last), pl.max_horizontal(first, last)],
            separator="|",
        )
        .hash(KEY_SEED)
        .reinterpret(signed=True)
    )


@cache
def nickname_forms_table() -> pl.DataFrame:
    """name -> every name the shared list pairs it with directly (its nicknames, and the
    formal names it is a nickname of: TONY -> ANTHONY, ANTONIO), since one nickname can
    stand for several names and `first_canon` keeps only one of them."""
    forms: dict[str, set[str]] = {}
    for formal, nickname in nickname_pairs():
        forms.setdefault(formal, set()).add(nickname)
        forms.setdefault(nickname, set()).add(formal)
    names = sorted(forms)
    return pl.DataFrame(
        {"_first": names, "_forms": [sorted(forms[n]) for n in names]},
        schema={"_first": pl.String, "_forms": pl.List(pl.String)},
    )


def _first_forms(distinct: pl.DataFrame) -> pl.DataFrame:
    nick = nickname_table()
    text = name_text(pl.col("first_name"))
    first = distinct.with_columns(
        _first=_blank_to_null(text.str.split(" ").list.first()),
        # "ISAB ELLE", "MARY ANN": the given name with its spaces taken out
        _first_fused=_blank_to_null(text.str.replace_all(" ", "")),
    )
    return (
        first.with_columns(
            _canon=pl.col("_first").replace_strict(nick["nickname"], nick["formal"], default=pl.col("_first"))
        )
        .join(nickname_forms_table(), on="_first", how="left", maintain_order="left")
        .with_columns(pl.col("_forms").fill_null(pl.lit([], dtype=pl.List(pl.String))))
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
            first_canon=pl.col("_canon"),
            first_forms=pl.col("_forms"),
            first_fused=pl.col("_first_fused"),
            last_fused=pl.col("_fused"),
            surname_tokens=pl.col("_tokens"),
        )
        .drop("_first", "_first_fused", "_middle", "_last", "_canon", "_forms", "_fused", "_tokens")
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


REQUEST_ADDRESS_PREFIX = "r_"
"""prefix of the request's address parts in `standard_requests`' output (for the gates)"""


def standard_requests(requests: pl.DataFrame) -> pl.DataFrame:
    """Requests (the data contract's columns, text) -> the model's input columns, plus the
    request's address parts (`facts.address.COMPARED_COLUMNS`, prefixed `r_`) that the
    gates compare with the candidates' addresses on file."""
    frame = requests.select(
        pl.col("request_id").alias("unique_id"),
        "first_name", "middle_name", "last_name",
        dob_text(pl.col("date_of_birth")).alias("dob"),
        tin_digits(pl.col("tin")).alias("tin"),
        pl.lit(None, dtype=pl.String).alias("prior_itin"),
        "street", "unit", "zip",
        (pl.col("city") if "city" in requests.columns else pl.lit("")).alias("city"),
        has_generation_suffix(pl.col("first_name"), pl.col("middle_name"), pl.col("last_name")).alias(
            "name_suffix"
        ),
    )  # fmt: skip
    frame = surname_soundex(standard_names(frame))
    parts = address_parts(frame.select("street", "unit", "zip", "city").unique())
    keyed = address_codes(address_keys(parts.select("street", "unit", "zip", "city")))
    located = parts.select(
        "street",
        "unit",
        "zip",
        "city",
        *[pl.col(c).alias(REQUEST_ADDRESS_PREFIX + c) for c in COMPARED_COLUMNS],
    ).join(keyed, on=["street", "unit", "zip", "city"], how="left", nulls_equal=True)
    frame = frame.join(
        located, on=["street", "unit", "zip", "city"], how="left", nulls_equal=True, maintain_order="left"
    )
    return frame.select(
        "unique_id", "first_name", "first_fused", "first_canon", "first_forms", "middle_initial", "last_name",
        "last_fused", "surname_tokens", "dob", "tin", "prior_itin", "name_suffix",
        pl.concat_list(pl.col("addr_key")).list.drop_nulls().alias("addr_keys"),
        pl.concat_list("form_key", "city_key").list.drop_nulls().alias("variant_keys"),
        pl.concat_list("near_a", "near_b").list.drop_nulls().alias("near_keys"),
        pl.concat_list(pl.col("building_key")).list.drop_nulls().alias("building_keys"),
        pl.concat_list(pl.col("zip5")).list.drop_nulls().alias("zips"),
        pl.concat_list(house_initial_code(pl.col("house_zip"), pl.col("first_name"), pl.col("last_name")))
        .list.drop_nulls()
        .alias("house_initial_keys"),
        "sx_tokens",
        pl.col("house_key").alias("request_addr_key"),
        *[REQUEST_ADDRESS_PREFIX + c for c in COMPARED_COLUMNS],
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
