"""R1-R5 and the TIN/DOB warnings, for a chunk of records at once.

Each rule is a small pure function or Polars expression returning its code;
`screen_chunk` applies all of them. Fields with few distinct values (periods,
statutes) are judged once per distinct value; addresses are judged once per
distinct address by `ftigate.screen.address`.
"""

from __future__ import annotations

import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from ftigate.facts.tin import tin_digits, tin_given
from ftigate.law.model import Parameters
from ftigate.law.statutes import StatuteClass, classify
from ftigate.screen.address import ADDRESS_COLUMNS, ParsedStreet, classify_addresses, normalise
from ftigate.screen.distinct import per_distinct, per_distinct_rows

_PERIOD_TOKEN = re.compile(
    r"^(?:(?:TY|CY|FY|TAX\s*YEAR)\s*)?(?P<first>\d{4})(?:\s*-\s*(?P<last>\d{4}))?(?:\s*-\s*(?:0[1-9]|1[0-2]))?$"
    r"|^(?P<period>\d{4})(?:0[1-9]|1[0-2])$"
)


def period_code(text: str, earliest: int, latest: int) -> str | None:
    """R3. Years ("2022"), lists ("2022;2023"), ranges ("2019-2022"), tax periods ("202212")."""
    tokens = [t.strip() for t in re.split(r"[;,/|]|\s{2,}|\s+(?=\d{4}\b)", text.upper()) if t.strip()]
    if not tokens:
        return "PERIOD_MISSING"
    for token in tokens:
        m = _PERIOD_TOKEN.match(token)
        if not m:
            return "PERIOD_INVALID"
        first = int(m["first"] or m["period"])
        last = int(m["last"]) if m["last"] else first
        if last < first or first < earliest or last > latest:
            return "PERIOD_INVALID"
    return None


_STATUTE_CODES = {
    StatuteClass.CRIMINAL: None,
    StatuteClass.CIVIL: "STATUTE_NOT_CRIMINAL",
    StatuteClass.TAX: "STATUTE_TAX",
    StatuteClass.UNKNOWN: "STATUTE_UNRECOGNIZED",
    StatuteClass.MISSING: "STATUTE_MISSING",
}


def statute_code(text: str, params: Parameters) -> str | None:
    """R4, record by record."""
    return _STATUTE_CODES[classify(text, params.statutes)]


def _in_ranges(group: pl.Expr, ranges: list[tuple[int, int]]) -> pl.Expr:
    inside = pl.lit(False)
    for low, high in ranges:
        inside = inside | group.is_between(low, high)
    return inside


def tin_warning(params: Parameters, tin: pl.Expr, given: pl.Expr) -> pl.Expr:
    """SSN/ITIN structure: a warning, never a refusal (the statute does not require a TIN).

    `tin` is `facts.tin.tin_digits` of the field (NULL when it holds no TIN), `given`
    whether the field holds anything (`facts.tin.tin_given`)."""
    area = tin.str.slice(0, 3)
    group = tin.str.slice(3, 2)
    serial = tin.str.slice(5, 4)
    itin_group_ok = _in_ranges(group.cast(pl.Int32, strict=False), params.itin_group_ranges)
    return (
        pl.when(~given)
        .then(pl.lit(None, dtype=pl.String))
        .when(tin.is_null())
        .then(pl.lit("TIN_MALFORMED"))
        .when(area.str.starts_with("9") & ~itin_group_ok)
        .then(pl.lit("TIN_ITIN_INVALID"))
        .when(area.str.starts_with("9"))
        .then(pl.lit(None, dtype=pl.String))
        .when((area == "000") | (area == "666") | (group == "00") | (serial == "0000"))
        .then(pl.lit("TIN_SSN_INVALID"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def dob_warning(as_of: date) -> pl.Expr:
    dob = pl.col("date_of_birth")
    parsed = dob.str.to_date("%Y-%m-%d", strict=False)
    bad = (dob != "") & (parsed.is_null() | (parsed > as_of) | (parsed < date(1880, 1, 1)))
    return pl.when(bad).then(pl.lit("DOB_INVALID")).otherwise(pl.lit(None, dtype=pl.String))


def _placeholder_set(words: list[str]) -> list[str]:
    return sorted({" ".join(re.sub(r"[^A-Z0-9 ]", " ", w.upper()).split()) for w in words})


def name_text(expr: pl.Expr) -> pl.Expr:
    """A name part reduced to letters, digits and single spaces, upper-case, accents removed."""
    return normalise(expr).str.replace_all(r"[^A-Z0-9 ]+", " ").str.replace_all(r"\s+", " ").str.strip_chars()


def name_usable(params: Parameters, name: pl.Expr) -> pl.Expr:
    """A real name: not empty, not a placeholder, not a lone initial. `name` is `name_text`."""
    placeholders = _placeholder_set(params.name_placeholders)
    letters = name.str.replace_all(r"[^A-Z]", "")
    return (name != "") & ~name.is_in(placeholders) & (letters.str.len_chars() >= 2)


def name_initial(params: Parameters, name: pl.Expr) -> pl.Expr:
    """A given name written as its initial ("J.", "J"). `name` is `name_text`."""
    placeholders = _placeholder_set(params.name_placeholders)
    return ~name.is_in(placeholders) & (name.str.replace_all(r"[^A-Z]", "").str.len_chars() == 1)


# What one name field holds, for R1: a real name, a lone initial, or neither.
NAME, INITIAL, NO_NAME = "name", "initial", "none"


def name_kind(params: Parameters, name: pl.Expr) -> pl.Expr:
    """NAME, INITIAL or NO_NAME for one name field. `name` is `name_text`."""
    return (
        pl.when(name_usable(params, name))
        .then(pl.lit(NAME))
        .when(name_initial(params, name))
        .then(pl.lit(INITIAL))
        .otherwise(pl.lit(NO_NAME))
    )


def reason_text(expr: pl.Expr) -> pl.Expr:
    """Reason text compared ignoring case, spacing and punctuation: its runs of letters
    and digits, upper-cased, one space between each.

    One pass that rewrites only what is not already a single space between words (a run
    of two or more other characters, or one that is not a space): reasons are sentences,
    and replacing every space with itself costs more than all the rest."""
    gaps = r"[^\p{L}\p{N}]{2,}|[^\p{L}\p{N} ]"
    return expr.str.to_uppercase().str.replace_all(gaps, " ").str.strip_chars(" ")


@dataclass
class ScreenContext:
    """What every chunk of one batch shares: the parameters, the letter's facts, and caches."""

    params: Parameters
    letter_year: int
    letter_date: date
    letter_officers: frozenset[str]
    pool: ProcessPoolExecutor | None = None
    _periods: dict[str, str | None] = field(default_factory=dict)
    _statutes: dict[str, str | None] = field(default_factory=dict)
    parsed_addresses: dict[str, ParsedStreet] = field(default_factory=dict)

    def period_codes(self, values: list[str]) -> dict[str, str | None]:
        for v in values:
            if v not in self._periods:
                self._periods[v] = period_code(v, self.params.earliest_tax_year, self.letter_year)
        return {v: self._periods[v] for v in values}

    def statute_codes(self, values: list[str]) -> dict[str, str | None]:
        for v in values:
            if v not in self._statutes:
                self._statutes[v] = statute_code(v, self.params)
        return {v: self._statutes[v] for v in values}


def _lookup(column: str, mapping: dict[str, str | None]) -> pl.Expr:
    return pl.col(column).replace_strict(
        list(mapping), list(mapping.values()), default=None, return_dtype=pl.String
    )


def name_code(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """R1 from the `name_kind` of the given and family names: NAME_MISSING (refuse) when
    neither is a real name (both empty, placeholders or initials); NAME_INCOMPLETE
    (review) when some name is given but not both a family name and a given name (an
    initial counts for the given name): "Maria" alone, or "Garcia" alone, names no one."""
    missing = (first != NAME) & (last != NAME)
    complete = (first != NO_NAME) & (last == NAME)
    return (
        pl.when(missing)
        .then(pl.lit("NAME_MISSING"))
        .when(~complete)
        .then(pl.lit("NAME_INCOMPLETE"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def officer_key(officer: pl.Expr) -> pl.Expr:
    """An officer as the letter's list is compared (`letter.normalise_officer`, in Polars)."""
    return (
        officer.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^a-z0-9 ]+", " ")
        .str.replace_all(r"\b(the|u|s|us)\b", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _reason_codes(reasons: pl.DataFrame, params: Parameters) -> pl.DataFrame:
    placeholders = _placeholder_set(params.reason_placeholders)
    text = reasons.with_columns(reason_text(pl.col("reason")).alias("_reason"))
    reason = pl.col("_reason")
    return text.select(
        "reason",
        pl.when((reason == "") | reason.is_in(placeholders))
        .then(pl.lit("REASON_MISSING"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("_reason_code"),
        pl.when(reason == "")
        .then(pl.lit(None, dtype=pl.UInt64))
        .otherwise(reason.hash(seed=6103))
        .alias("_reason_key"),
    )


def _officer_codes(officers: pl.DataFrame, named: frozenset[str]) -> pl.DataFrame:
    keyed = officers.with_columns(officer_key(pl.col("officer")).alias("_officer_key"))
    key = pl.col("_officer_key")
    return keyed.with_columns(
        pl.when((key != "") & ~key.is_in(sorted(named)))
        .then(pl.lit("OFFICER_NOT_NAMED"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("_officer_code")
    )


def screen_chunk(chunk: pl.DataFrame, ctx: ScreenContext) -> pl.DataFrame:
    """Record-level codes for one chunk: `codes` (refuse/review) and `warnings`, as lists.

    Also returns the keys the batch-level checks need: `reason_key` (for
    boilerplate), `officer_key` and `case_number` (for L3).

    Every rule reads one record's own fields, so each is computed once per distinct value
    of the fields it reads (`ftigate.screen.distinct`): a batch names few officers, few
    given names, few reasons when they are boilerplate.
    """
    params = ctx.params
    frame = per_distinct_rows(
        chunk,
        ADDRESS_COLUMNS,
        lambda addresses: classify_addresses(
            addresses, params, pool=ctx.pool, parsed_cache=ctx.parsed_addresses
        ),
    )

    periods = ctx.period_codes(frame["taxable_periods"].unique().to_list())
    statutes = ctx.statute_codes(frame["statute"].unique().to_list())
    # Each name field is judged once per distinct value: a batch repeats given names and
    # surnames far more than it repeats whole names.
    frame = frame.with_columns(
        per_distinct(frame["first_name"], lambda name: name_kind(params, name_text(name))).alias("_first"),
        per_distinct(frame["last_name"], lambda name: name_kind(params, name_text(name))).alias("_last"),
    ).with_columns(name_code(pl.col("_first"), pl.col("_last")).alias("_name_code"))
    frame = per_distinct_rows(frame, ["reason"], lambda reasons: _reason_codes(reasons, params))
    frame = per_distinct_rows(
        frame, ["officer"], lambda officers: _officer_codes(officers, ctx.letter_officers)
    )
    frame = per_distinct_rows(
        frame,
        ["date_of_birth"],
        lambda dobs: dobs.with_columns(dob_warning(ctx.letter_date).alias("_dob_warning")),
    )
    # TINs are nearly all distinct: judged row by row, the digits once for the four tests.
    frame = frame.with_columns(
        tin_digits(pl.col("tin")).alias("_tin"), tin_given(pl.col("tin")).alias("_tin_given")
    )
    frame = frame.with_columns(
        tin_warning(params, pl.col("_tin"), pl.col("_tin_given")).alias("_tin_warning")
    )
    frame = frame.with_columns(
        _lookup("taxable_periods", periods).alias("_period_code"),
        _lookup("statute", statutes).alias("_statute_code"),
    )
    # A batch holds few combinations of codes: each combination's list is built once.
    frame = per_distinct_rows(
        frame, RECORD_CODE_COLUMNS, lambda codes: _code_list(codes, RECORD_CODE_COLUMNS, "codes")
    )
    frame = per_distinct_rows(
        frame, WARNING_COLUMNS, lambda codes: _code_list(codes, WARNING_COLUMNS, "warnings")
    )
    return frame.select(
        "request_id",
        "_line",
        "codes",
        "warnings",
        pl.col("_reason_key").alias("reason_key"),
        pl.col("_officer_key").alias("officer_key"),
        pl.col("case_number"),
    )


# The order in which a record's codes are listed: R1 name, R2 address, R3 periods, R4
# statute, R5 reason, then the officer.
RECORD_CODE_COLUMNS = (
    "_name_code",
    "address_code",
    "_period_code",
    "_statute_code",
    "_reason_code",
    "_officer_code",
)
WARNING_COLUMNS = ("_tin_warning", "_dob_warning")


def _code_list(codes: pl.DataFrame, columns: tuple[str, ...], name: str) -> pl.DataFrame:
    listed = pl.concat_list([pl.col(c).cast(pl.String) for c in columns]).list.drop_nulls()
    return codes.with_columns(listed.alias(name))
