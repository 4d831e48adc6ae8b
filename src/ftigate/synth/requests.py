"""Synthetic 6103(i)(2) request batches with ground truth, drawn from a Population.

`generate_requests(population, count, profile, seed)` is pure: it returns the letter,
the request table (the data contract of DESIGN.md section 4) and a truth table with
one row per request saying who the person really is and what a lawful answer is.
All choices are vectorised over requests and seeded by `seed`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from ftigate.facts.address import directional_full_words, suffix_full_words
from ftigate.facts.names import best_given_relation, given_words, nickname_pairs
from ftigate.synth import reference as ref
from ftigate.synth.population import Population, _first_names, weighted_draw
from ftigate.synth.profiles import (
    ADDRESS_DEFICIENCIES,
    DEFICIENCY_CODES,
    HARD_CASE_LABELS,
    IDENTITY_SCENARIOS,
    Profile,
)
from ftigate.synth.textops import digit_typo, keystroke, name_control, strip_accents, typo
from ftigate.synth.tins import (
    ITIN_SPACE,
    SSN_SPACE,
    itin_from_index,
    ssn_from_index,
    tin_strings,
)

StepHook = Callable[[str], None]

REQUEST_STEPS: tuple[str, ...] = (
    "people",
    "identities",
    "addresses",
    "variations",
    "deficiencies",
    "truth",
)

REQUEST_COLUMNS: tuple[str, ...] = (
    "request_id", "first_name", "middle_name", "last_name", "date_of_birth", "tin", "street",
    "unit", "city", "state", "zip", "taxable_periods", "statute", "reason", "case_number",
    "officer",
)  # fmt: skip
EXPECTED_ADDRESS_COLUMNS: tuple[str, ...] = (
    "expected_street", "expected_unit", "expected_city", "expected_state", "expected_zip",
)  # fmt: skip

CRIMINAL_STATUTE = "8 U.S.C. 1253(a)(1)"
CIVIL_STATUTES = ("8 U.S.C. 1227(a)(1)(B)", "8 U.S.C. 1182", "8 U.S.C. 1229a", "8 U.S.C. 1231")
TAX_STATUTES = ("26 U.S.C. 7201", "26 U.S.C. 7203", "26 U.S.C. 7206(1)", "26 U.S.C. 7212(a)")
INVALID_PERIODS = ("2031", "1965", "20XX", "2023;2031", "N/A", "1899", "2099", "FY", "TBD")
BOILERPLATE_REASON = "The subject is under criminal investigation for violation of 8 U.S.C. 1253(a)(1)."

ORDINARY = len(IDENTITY_SCENARIOS)  # scenario code for people drawn at random from the file
_SCENARIO = {name: code for code, name in enumerate(IDENTITY_SCENARIOS)}
_NO_DEFICIENCY = len(DEFICIENCY_CODES)


@dataclass(frozen=True)
class RequestBatch:
    seed: int
    profile_name: str
    letter: dict[str, Any]
    requests: pl.DataFrame
    truth: pl.DataFrame


def _noop(_: str) -> None:
    return None


def _series(values: np.ndarray | list[Any], dtype: Any = None) -> pl.Series:
    return pl.Series(values, dtype=dtype) if dtype is not None else pl.Series(values)


def _choose(rng: np.random.Generator, options: tuple[str, ...], count: int) -> pl.Series:
    return pl.Series(options).gather(rng.integers(0, len(options), count))


def _draw_from_pools(
    rng: np.random.Generator,
    scenario: np.ndarray,
    taken: np.ndarray,
    pools: dict[str, np.ndarray],
    into: np.ndarray,
) -> None:
    """For each scenario, draw a distinct person from its pool (people not yet taken) into
    `into` for every request of that scenario; requests a pool cannot serve become ORDINARY."""
    for name, mask in pools.items():
        rows = np.flatnonzero(scenario == _SCENARIO[name])
        pool = np.flatnonzero(mask & ~taken)
        if len(rows) > len(pool):
            scenario[rows[len(pool) :]] = ORDINARY
            rows = rows[: len(pool)]
        picked = rng.choice(pool, len(rows), replace=False) if len(rows) else rows
        into[rows] = picked
        taken[picked] = True


def _assign_targets(
    rng: np.random.Generator, scenario: np.ndarray, population: Population
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person row (or -1), borrower row (or -1) and anchor row (or -1: the relative or
    housemate in the file behind a request for someone who is not) for each request;
    shortages become ordinary."""
    people = population.people
    n_people = len(people)
    count = len(scenario)
    target = np.full(count, -1, dtype=np.int64)
    borrower = np.full(count, -1, dtype=np.int64)
    taken = np.zeros(n_people, dtype=bool)

    rows = np.flatnonzero(scenario == _SCENARIO["borrowed_ssn"])
    available = len(population.borrowers)
    if len(rows) > available:
        scenario[rows[available:]] = ORDINARY
        rows = rows[:available]
    borrower[rows] = rng.choice(available, len(rows), replace=False) if len(rows) else rows
    own_tin = population.borrowers["own_tin"].gather(borrower[rows])
    target[rows] = _rows_of_tins(population, own_tin)
    taken[target[rows][target[rows] >= 0]] = True

    pools = {
        "itin_to_ssn": population.taxpayers["prior_itin"].is_not_null().to_numpy(),
        "namesake_household": people["namesake"].to_numpy(),
        "shared_address": people["shared_house"].to_numpy(),
        "common_name_same_building": people["common_name_same_building"].to_numpy(),
    }
    _draw_from_pools(rng, scenario, taken, pools, target)
    anchor = np.full(count, -1, dtype=np.int64)
    anchor_pools = {
        "relative_bait": ~people["shared_house"].to_numpy(),
        "housemate_ssn": (people["adults_at_address"].to_numpy() >= 2)
        & (population.taxpayers["tin_type"] == "SSN").to_numpy(),
        # A filer who is not already one of a Jr./Sr. pair on file, at a home of one family.
        "namesake_nonfiler": ~people["shared_house"].to_numpy() & ~people["namesake"].to_numpy(),
    }
    _draw_from_pools(rng, scenario, taken, anchor_pools, anchor)
    rows = np.flatnonzero(scenario == ORDINARY)
    pool = np.flatnonzero(~taken)
    if len(rows) <= len(pool):
        target[rows] = rng.choice(pool, len(rows), replace=False)
    else:  # more requests than people: some people are requested twice
        target[rows] = rng.integers(0, n_people, len(rows))
    return target, borrower, anchor


def _tin_numbers(tins: pl.Series) -> np.ndarray:
    return tins.cast(pl.Int64, strict=False).fill_null(-1).to_numpy()


def _rows_of_tins(population: Population, tins: pl.Series) -> np.ndarray:
    """Row of each TIN in the (TIN-sorted) taxpayer table, or -1 when absent or null."""
    reference = _tin_numbers(population.taxpayers["tin"])
    wanted = _tin_numbers(tins)
    position = np.clip(np.searchsorted(reference, wanted), 0, max(len(reference) - 1, 0))
    found = (wanted >= 0) & (reference[position] == wanted)
    return np.where(found, position, -1)


def _fresh_tins(rng: np.random.Generator, population: Population, count: int) -> pl.Series:
    """Structurally valid TINs assigned to nobody in the file (not even as a prior ITIN)."""
    is_itin = rng.random(count) < 0.3
    numbers = np.where(
        is_itin,
        itin_from_index(rng.integers(0, ITIN_SPACE, count)),
        ssn_from_index(rng.integers(0, SSN_SPACE, count)),
    )
    # Sorted arrays and binary search: np.isin on 10M values is far slower.
    used = np.sort(
        np.concatenate(
            [
                _tin_numbers(population.taxpayers["tin"]),
                _tin_numbers(population.taxpayers["prior_itin"].drop_nulls()),
            ]
        )
    )

    def clashes(values: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(used, values), 0, max(len(used) - 1, 0))
        return used[at] == values if len(used) else np.zeros(len(values), dtype=bool)

    clash = clashes(numbers)
    # A clash is rare (the spaces are far larger than any population); redraw SSNs for them.
    while clash.any():
        numbers[clash] = ssn_from_index(rng.integers(0, SSN_SPACE, int(clash.sum())))
        clash = clashes(numbers)
    return tin_strings(numbers)


def _fresh_identities(
    rng: np.random.Generator, count: int, hispanic_share: float, n_locations: int
) -> pl.DataFrame:
    surnames = ref.surname_table()
    hispanic = rng.random(count) < hispanic_share
    male = rng.random(count) < 0.6
    accent = hispanic & (rng.random(count) < 0.2)
    first = _first_names(rng, male, hispanic, accent)
    base = surnames.names.gather(
        np.where(
            hispanic,
            weighted_draw(rng, surnames.weight_hispanic, count),
            weighted_draw(rng, surnames.weight_all, count),
        )
    )
    second = surnames.names.gather(weighted_draw(rng, surnames.weight_hispanic, count))
    two = hispanic & (rng.random(count) < 0.3)
    middle_draw = _first_names(rng, male, hispanic, accent)
    age_days = ((18 + rng.beta(1.6, 2.6, count) * 60) * 365.25).astype(np.int64)
    birth = (date(2025, 1, 1) - date(1970, 1, 1)).days - age_days
    frame = pl.DataFrame(
        {
            "first_name": first,
            "middle_name": middle_draw,
            "base": base,
            "second": second,
            "two": two,
            "use_middle": rng.random(count) < 0.4,
            "date_of_birth": pl.Series(birth, dtype=pl.Int32).cast(pl.Date),
            "location_id": rng.integers(0, n_locations, count).astype(np.int32),
        }
    )
    return frame.select(
        "first_name",
        pl.when("use_middle").then("middle_name").otherwise(pl.lit("")).alias("middle_name"),
        pl.when("two").then(pl.col("base") + " " + pl.col("second")).otherwise("base").alias("last_name"),
        "date_of_birth",
        "location_id",
    )


NICKNAME_SIBLING = 0.1
"""share of nickname requests, for a name with such forms, using another nickname of the
same formal name (Will for Bill) rather than a direct form"""
SPACE_IN_GIVEN_NAME = 0.15
"""share of given-name typos (names of six letters or more) that are a space typed inside"""
NAME_CANDIDATES = 16
"""given names drawn per anchored request, the first that fits is used"""
UNUSUAL_GIVEN_NAMES = ("ZEBEDEE", "THADDEUS", "PERPETUA", "OCTAVIUS", "QUENTINA", "BARNABY")
"""last resort when every drawn name is too close to a name on file at the address"""
RELATIVE_SAME_INITIAL = 0.3
"""share of relative-bait requests whose given name starts as the relative's does"""
RELATIVE_NICKNAME = 0.25
"""share of relative-bait requests naming a nickname of the relative's name (or another
nickname of the formal name the relative's is one of: Joey for Joe)"""
RELATIVE_DOB = (0.35, 0.35)
"""shares of relative-bait requests with no date of birth, and with one in the relative's
birth year (another month and day); the rest carry another date"""
HOUSEMATE_SURNAME = 0.5
"""share of housemate-SSN requests carrying the holder's surname (a relative)"""
HOUSEMATE_NO_DOB = 0.5
"""share of housemate-SSN requests without a date of birth"""
NAMESAKE_NO_DOB = 0.7
"""share of namesake non-filer requests without a date of birth (the rest carry the
non-filer's own, which is not the filer's)"""
NAMESAKE_JUNIOR = 0.2
"""share of namesake non-filer requests that write the Jr. after the family name"""


@cache
def _nickname_options() -> pl.DataFrame:
    """name -> its direct nickname forms (the shared list) and its sibling forms (other
    nicknames of a formal name it is a nickname of: WILL for BILL, through WILLIAM)."""
    pairs = nickname_pairs()
    direct: dict[str, set[str]] = {}
    for formal, nickname in pairs:
        direct.setdefault(formal, set()).add(nickname)
        direct.setdefault(nickname, set()).add(formal)
    siblings: dict[str, set[str]] = {}
    for formal, nickname in pairs:
        others = {n for f, n in pairs if f == formal and n != nickname}
        siblings.setdefault(nickname, set()).update(others - direct.get(nickname, set()))
    names = sorted(direct)
    return pl.DataFrame(
        {
            "name": names,
            "direct": [sorted(direct[n]) for n in names],
            "siblings": [sorted(siblings.get(n, set())) for n in names],
        }
    )


def _pick_from_lists(lists: pl.Series, draw: np.ndarray) -> pl.Series:
    """One element of each list (NULL for an empty or NULL list), chosen by a uniform draw."""
    return (
        pl.DataFrame({"l": lists, "d": draw})
        .select(
            pl.col("l").list.get(
                (pl.col("d") * pl.col("l").list.len()).floor().cast(pl.Int64), null_on_oob=True
            )
        )
        .to_series()
    )


def _names_on_file(population: Population, location: np.ndarray) -> pl.DataFrame:
    """location_id, given: every given name on file at each of `location` (residents now
    and before, and names on W-2s filed there under a lent SSN). Read from the ground truth
    of where people live and lived, which a population read back from disk keeps too."""
    wanted = pl.Series(np.unique(location)).cast(pl.Int64).implode()
    people = population.people.select(
        pl.col("location_id", "prior_location_id", "older_location_id").cast(pl.Int64),
        given=population.taxpayers["first_name"],
    )
    lived = pl.concat(
        [
            people.select(pl.col(column).alias("location_id"), "given")
            for column in ("location_id", "prior_location_id", "older_location_id")
        ]
    )
    lent = population.borrowers.select(pl.col("location_id").cast(pl.Int64), given=pl.col("first_name"))
    return pl.concat([lived, lent]).filter(pl.col("location_id").is_in(wanted)).unique()


def _related_given(name: str, other: str) -> str:
    """How a drawn given name relates to one on file: facts.names' relation (fused forms
    count as the same name)."""
    return best_given_relation(given_words(name), given_words(other)).value


def _unrelated_given_names(
    candidates: pl.DataFrame, population: Population, location: np.ndarray, allow_nickname: np.ndarray
) -> pl.Series:
    """For each row, the best-ranked candidate (`row`, `rank`, `given`) that is a different
    name from every given name on file at its location: not the same (nor the same but for a
    space), not an initial of it, not one keying slip from it, and not a nickname of it
    unless `allow_nickname` (a nickname alone never identifies anyone)."""
    rows = len(location)
    fallback = pl.DataFrame(
        {
            "row": np.repeat(np.arange(rows), len(UNUSUAL_GIVEN_NAMES)),
            "rank": np.tile(np.arange(len(UNUSUAL_GIVEN_NAMES)) + 10_000, rows),
            "given": np.tile(np.array(UNUSUAL_GIVEN_NAMES, dtype=object), rows),
        },
        schema={"row": pl.Int64, "rank": pl.Int64, "given": pl.String},
    )
    pool = pl.concat([candidates.select("row", "rank", "given"), fallback]).drop_nulls("given")
    pool = pool.with_columns(
        location_id=pl.lit(_series(location)).gather(pl.col("row")),
        allow=pl.lit(_series(allow_nickname)).gather(pl.col("row")),
    )
    on_file = _names_on_file(population, location)
    pairs = pool.join(on_file.rename({"given": "other"}), on="location_id", how="inner")
    distinct = pairs.select("given", "other").unique()
    relation = distinct.with_columns(
        relation=pl.Series([_related_given(a, b) for a, b in distinct.iter_rows()], dtype=pl.String)
    )
    close = pairs.join(relation, on=["given", "other"], how="left").filter(
        pl.col("relation").is_in(["SAME", "SLIP", "INITIAL"])
        | ((pl.col("relation") == "NICKNAME") & ~pl.col("allow"))
    )
    chosen = (
        pool.join(close.select("row", "rank").unique(), on=["row", "rank"], how="anti")
        .sort("row", "rank")
        .group_by("row", maintain_order=True)
        .first()
    )
    if chosen.height != rows:
        raise RuntimeError("no unrelated given name for an anchored request")  # pragma: no cover
    return chosen.sort("row")["given"]


def _other_date_in_year(rng: np.random.Generator, dob: pl.Series) -> pl.Series:
    """A date in the year of each `dob` that no keying slip makes it: another month, another
    day, and not the day and month swapped."""
    count = len(dob)
    year = dob.dt.year().to_numpy()
    month = dob.dt.month().to_numpy().astype(np.int64)
    day = dob.dt.day().to_numpy().astype(np.int64)
    new_month = (month - 1 + rng.integers(2, 11, count)) % 12 + 1
    new_day = rng.integers(1, 29, count)
    for _ in range(2):
        clash = (new_day == day) | ((new_month == day) & (new_day == month))
        new_day = np.where(clash, new_day % 28 + 1, new_day)
    return pl.select(
        pl.date(pl.lit(_series(year)), pl.lit(_series(new_month)), pl.lit(_series(new_day)))
    ).to_series()


def _anchored_identities(
    rng: np.random.Generator,
    population: Population,
    anchor: np.ndarray,
    relative: np.ndarray,
    namesake: np.ndarray,
) -> pl.DataFrame:
    """Requests for people who are not in the file, made at the home of `anchor` (a row of
    the taxpayer table): a relative named with the anchor's surname where `relative`, a
    non-filer bearing the anchor's own full name where `namesake`, else a housemate carrying
    the anchor's SSN. A relative's or housemate's given name is never the name of anyone on
    file at that home (`_unrelated_given_names`)."""
    count = len(anchor)
    people = population.people
    holders = population.taxpayers[anchor]
    location = people["location_id"].gather(anchor).cast(pl.Int64).to_numpy()
    hispanic = people["hispanic_origin"].gather(anchor).to_numpy()
    male = rng.random(count) < 0.5
    no_accent = np.zeros(count, dtype=bool)
    draws = [_first_names(rng, male, hispanic, no_accent) for _ in range(NAME_CANDIDATES)]
    holder_first = holders.select(strip_accents(pl.col("first_name")).str.to_uppercase()).to_series()
    same_initial = relative & (rng.random(count) < RELATIVE_SAME_INITIAL)
    nickname = relative & (rng.random(count) < RELATIVE_NICKNAME)
    forms = (
        pl.DataFrame({"name": holder_first})
        .join(_nickname_options(), on="name", how="left", maintain_order="left")
        .select(pl.concat_list(pl.col("direct").fill_null([]), pl.col("siblings").fill_null([])))
        .to_series()
    )
    nickname_name = _pick_from_lists(forms, rng.random(count))
    initial = holder_first.str.slice(0, 1)
    candidates = pl.concat(
        [
            pl.DataFrame({"row": np.arange(count), "rank": np.full(count, k), "given": names})
            for k, names in enumerate(draws)
        ]
        + [pl.DataFrame({"row": np.arange(count), "rank": np.full(count, -1), "given": nickname_name})]
    ).with_columns(pl.col("row").cast(pl.Int64), pl.col("rank").cast(pl.Int64))
    wants_initial = pl.lit(_series(same_initial)).gather(pl.col("row"))
    wants_nickname = pl.lit(_series(nickname)).gather(pl.col("row"))
    starts_alike = strip_accents(pl.col("given")).str.slice(0, 1) == pl.lit(initial).gather(pl.col("row"))
    candidates = candidates.filter((pl.col("rank") >= 0) | wants_nickname).with_columns(
        rank=pl.col("rank")
        + pl.when(wants_initial & ~starts_alike & (pl.col("rank") >= 0)).then(100).otherwise(0)
    )
    given = _unrelated_given_names(candidates, population, location, nickname)

    surnames = ref.surname_table()
    other_surname = surnames.names.gather(
        np.where(
            hispanic,
            weighted_draw(rng, surnames.weight_hispanic, count),
            weighted_draw(rng, surnames.weight_all, count),
        )
    )
    keeps_surname = relative | (rng.random(count) < HOUSEMATE_SURNAME)
    age_days = ((18 + rng.beta(1.6, 2.6, count) * 60) * 365.25).astype(np.int64)
    other_date = pl.Series((date(2025, 1, 1) - date(1970, 1, 1)).days - age_days, dtype=pl.Int32).cast(
        pl.Date
    )
    same_year = _other_date_in_year(rng, holders["date_of_birth"])
    dob_draw = rng.random(count)
    no_dob = np.where(relative, dob_draw < RELATIVE_DOB[0], dob_draw < HOUSEMATE_NO_DOB)
    no_dob = np.where(namesake, dob_draw < NAMESAKE_NO_DOB, no_dob)
    in_year = relative & ~no_dob & (dob_draw < RELATIVE_DOB[0] + RELATIVE_DOB[1])
    # Drawn from the DOB draw's unused part, so a batch without namesakes draws as before.
    junior = namesake & ~no_dob & (dob_draw < NAMESAKE_NO_DOB + (1 - NAMESAKE_NO_DOB) * NAMESAKE_JUNIOR)
    junior |= namesake & no_dob & (dob_draw < NAMESAKE_NO_DOB * NAMESAKE_JUNIOR)
    frame = pl.DataFrame(
        {
            "first_name": given,
            "holder_first": holders["first_name"],
            "namesake": namesake,
            "junior": junior,
            "holder_last": holders["last_name"],
            "other_last": other_surname,
            "keeps": keeps_surname,
            "no_dob": no_dob,
            "in_year": in_year,
            "same_year": same_year,
            "other_date": other_date,
            "relative": relative,
            "holder_tin": holders["tin"],
        }
    )
    return frame.select(
        pl.when("namesake").then("holder_first").otherwise("first_name").alias("first_name"),
        pl.lit("").alias("middle_name"),
        pl.when("namesake")
        .then(pl.when("junior").then(pl.col("holder_last") + " JR").otherwise("holder_last"))
        .when("keeps")
        .then("holder_last")
        .otherwise("other_last")
        .alias("last_name"),
        pl.when("no_dob")
        .then(None)
        .when("in_year")
        .then("same_year")
        .otherwise("other_date")
        .alias("date_of_birth"),
        pl.when(pl.col("relative") | pl.col("namesake"))
        .then(pl.lit(""))
        .otherwise("holder_tin")
        .alias("tin"),
        pl.lit(_series(location)).cast(pl.Int32).alias("location_id"),
    )


def generate_requests(
    population: Population,
    count: int,
    profile: Profile,
    seed: int,
    profile_name: str = "custom",
    on_step: StepHook | None = None,
) -> RequestBatch:
    """Generate `count` requests against `population` shaped by `profile`."""
    if count <= 0:
        raise ValueError("count must be positive")
    profile.validate()
    step = on_step or _noop
    # A stream separate from the population's, so one seed can drive both.
    rng = np.random.default_rng([seed, 0x52455155])
    taxpayers = population.taxpayers
    people = population.people
    locations = population.locations
    n_locations = len(locations)

    # --- who is requested ---------------------------------------------------------------
    identity_rates = list(profile.identity_rates().values())
    scenario = rng.choice(ORDINARY + 1, count, p=[*identity_rates, max(0.0, 1.0 - sum(identity_rates))])
    target, borrower, anchor = _assign_targets(rng, scenario, population)
    step("people")

    # --- base identity ------------------------------------------------------------------
    in_file_target = (target >= 0) & (borrower < 0)
    rows_person = np.flatnonzero(in_file_target)
    rows_borrowed = np.flatnonzero(borrower >= 0)
    rows_fresh = np.flatnonzero(scenario == _SCENARIO["not_in_file"])
    rows_anchored = np.flatnonzero(anchor >= 0)
    person = target[rows_person]
    from_people = taxpayers[person].select(
        "first_name", "middle_name", "last_name", "date_of_birth",
        pl.when(pl.lit(_series(scenario[rows_person] == _SCENARIO["itin_to_ssn"])))
        .then("prior_itin").otherwise("tin").alias("tin"),
    ).with_columns(
        location_id=people["location_id"].gather(person),
        row=_series(rows_person),
    )  # fmt: skip
    from_borrowers = population.borrowers[borrower[rows_borrowed]].select(
        "first_name", "middle_name", "last_name", "date_of_birth",
        pl.col("borrowed_tin").alias("tin"), "location_id", row=_series(rows_borrowed),
    )  # fmt: skip
    fresh = _fresh_identities(rng, len(rows_fresh), profile.not_in_file_hispanic, n_locations)
    carries_tin = rng.random(len(rows_fresh)) < profile.not_in_file_with_tin
    fresh_tins = _fresh_tins(rng, population, len(rows_fresh))
    fresh = fresh.with_columns(
        tin=pl.when(pl.lit(_series(carries_tin))).then(pl.lit(fresh_tins)).otherwise(pl.lit("")),
        row=_series(rows_fresh),
    )
    anchored = _anchored_identities(
        rng,
        population,
        anchor[rows_anchored],
        scenario[rows_anchored] == _SCENARIO["relative_bait"],
        scenario[rows_anchored] == _SCENARIO["namesake_nonfiler"],
    ).with_columns(row=_series(rows_anchored))
    base = (
        pl.concat(
            [
                frame.select(
                    "row",
                    "first_name",
                    "middle_name",
                    "last_name",
                    "date_of_birth",
                    pl.col("tin").cast(pl.String),
                    pl.col("location_id").cast(pl.Int32),
                )
                for frame in (from_people, from_borrowers, fresh, anchored)
            ]
        )
        .sort("row")
        .drop("row")
    )
    del from_people, from_borrowers, fresh, anchored
    step("identities")

    # --- deficiency per record (at most one), then which address the request carries ----
    deficiency_rates = list(profile.deficiency_rates().values())
    deficiency = rng.choice(
        _NO_DEFICIENCY + 1, count, p=[*deficiency_rates, max(0.0, 1.0 - sum(deficiency_rates))]
    )
    address_codes = [DEFICIENCY_CODES.index(c) for c in ADDRESS_DEFICIENCIES]
    address_deficient = np.isin(deficiency, address_codes)
    name_deficient = deficiency == DEFICIENCY_CODES.index("NAME_MISSING")

    location = base["location_id"].to_numpy().copy()
    safe_target = np.maximum(target, 0)
    current = people["location_id"].to_numpy()[safe_target]
    prior = people["prior_location_id"].to_numpy()[safe_target]
    older = people["older_location_id"].to_numpy()[safe_target]
    own_address_request = in_file_target & ~address_deficient
    moved = own_address_request & (prior >= 0) & (rng.random(count) < profile.moved_prior_address)
    use_older = moved & (older >= 0) & (rng.random(count) < 0.3)
    location = np.where(moved, np.where(use_older, older, prior), location)
    not_on_file = own_address_request & ~moved & (rng.random(count) < profile.address_not_on_file)
    elsewhere = rng.integers(0, n_locations, count)
    # Step past the person's own addresses so "not on file" is never accidentally on file.
    for _ in range(3):
        clash = (elsewhere == current) | (elsewhere == prior) | (elsewhere == older)
        elsewhere = np.where(clash, (elsewhere + 1) % n_locations, elsewhere)
    location = np.where(not_on_file, elsewhere, location)
    borrowed = borrower >= 0
    borrower_filer = borrowed & (target >= 0)
    in_file = target >= 0
    address_on_file = (
        ~address_deficient & ((in_file_target & ~not_on_file) | borrower_filer) & (n_locations > 1)
    )
    req = base.drop("location_id").with_columns(
        locations["street"].gather(location).alias("street"),
        locations["unit"].gather(location).alias("unit"),
        locations["city"].gather(location).alias("city"),
        locations["state"].gather(location).alias("state"),
        locations["zip"].gather(location).alias("zip"),
    )
    step("addresses")

    # --- variations ---------------------------------------------------------------------
    # A request for someone not in the file made at a relative's or housemate's home keeps
    # the name, date of birth and TIN it was given: a slip there could make it the name of
    # someone on file at that home, which no process could tell from the person.
    names_varied = ~name_deficient & (anchor < 0)
    req, labels = _apply_variations(
        rng, req, profile, scenario, in_file_target, ~names_varied, address_deficient
    )
    req, address_labels = _apply_address_forms(
        rng, req, profile, own_address_request & ~not_on_file, labels["typo_address"]
    )
    labels.update(address_labels)
    labels["moved_prior_address"] = moved
    labels["address_not_on_file"] = not_on_file
    for name in IDENTITY_SCENARIOS:
        labels[name] = scenario == _SCENARIO[name]
    person_flags = people[safe_target]
    labels["namesake_household"] |= in_file & person_flags["namesake"].to_numpy()
    labels["common_name_same_building"] |= in_file & person_flags["common_name_same_building"].to_numpy()
    labels["shared_address"] |= in_file & person_flags["shared_house"].to_numpy()
    step("variations")

    # --- record contents and deficiencies -------------------------------------------------
    req = _add_record_fields(rng, req, profile, count)
    req = _apply_deficiencies(rng, req, deficiency)
    req = _format(rng, req, profile, address_deficient)
    width = max(7, len(str(count)))
    request_id = pl.Series("request_id", np.arange(1, count + 1)).cast(pl.String).str.zfill(width)
    req = req.with_columns(request_id=pl.lit("R") + pl.lit(request_id)).select(REQUEST_COLUMNS)
    step("deficiencies")

    truth = _truth(
        population, req, target, scenario, deficiency, labels, in_file, address_on_file,
        base["last_name"], person_flags, current, borrower,
    )  # fmt: skip
    letter = _letter(rng, profile, req)
    step("truth")
    return RequestBatch(seed=seed, profile_name=profile_name, letter=letter, requests=req, truth=truth)


def _apply_variations(
    rng: np.random.Generator,
    req: pl.DataFrame,
    profile: Profile,
    scenario: np.ndarray,
    in_file_target: np.ndarray,
    names_kept: np.ndarray,
    address_deficient: np.ndarray,
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Name, date-of-birth, TIN and street variations; `names_kept` rows keep their names,
    date of birth and TIN as drawn."""
    count = len(req)
    labels: dict[str, np.ndarray] = {}

    def draw(rate: float) -> np.ndarray:
        return rng.random(count) < rate

    names_ok = ~names_kept

    # Two surnames or a particle name, given with only one part (or fused).
    last = req["last_name"]
    two_part = last.str.contains(r"[ -]").to_numpy()
    two = names_ok & two_part & draw(profile.two_surnames)
    how = rng.random(count)
    particle = last.str.contains(r"^DE(L|LA|LOS|LAS)? ").to_numpy()
    tokens = last.str.split_exact(" ", 1)
    one_part = (
        pl.DataFrame({"last": last, "how": how, "particle": particle})
        .select(
            pl.when(pl.col("particle"))
            .then(
                pl.when(pl.col("how") < 0.6)
                .then(pl.col("last").str.split(" ").list.last())
                .otherwise(pl.col("last").str.replace_all(" ", ""))
            )
            .when(pl.col("how") < 0.6)
            .then(pl.col("last").str.split(r"-").list.first().str.split(" ").list.first())
            .when(pl.col("how") < 0.85)
            .then(pl.col("last").str.replace_all("-", " ").str.split(" ").list.last())
            .otherwise(
                pl.when(pl.col("last").str.contains("-"))
                .then(pl.col("last").str.replace_all("-", " "))
                .otherwise(pl.col("last").str.replace_all(" ", "-"))
            )
        )
        .to_series()
    )
    del tokens
    req = req.with_columns(
        last_name=pl.when(pl.lit(_series(two))).then(pl.lit(one_part)).otherwise("last_name")
    )
    labels["two_surnames"] = two

    # Nicknames (William -> Bill, Bill -> William; now and then another nickname of the
    # same name, Will for Bill, which the gates rightly hold to be no nickname of it) and
    # initials (J.).
    plain_first = req.select(strip_accents(pl.col("first_name")).str.to_uppercase()).to_series()
    forms = pl.DataFrame({"name": plain_first}).join(
        _nickname_options(), on="name", how="left", maintain_order="left"
    )
    use_sibling = (rng.random(count) < NICKNAME_SIBLING) & (forms["siblings"].list.len() > 0).fill_null(
        False
    ).to_numpy()
    joined = pl.select(
        pl.when(pl.lit(_series(use_sibling)))
        .then(pl.lit(_pick_from_lists(forms["siblings"], rng.random(count))))
        .otherwise(pl.lit(_pick_from_lists(forms["direct"], rng.random(count))))
    ).to_series()
    has_nickname = joined.is_not_null().to_numpy()
    nickname = names_ok & has_nickname & draw(profile.nickname)
    initial_eligible = names_ok & ~nickname & (req["first_name"].str.len_chars() > 1).to_numpy()
    initial = initial_eligible & draw(profile.initial)
    with_period = draw(0.5)
    req = req.with_columns(
        first_name=pl.when(pl.lit(_series(nickname)))
        .then(pl.lit(joined))
        .when(pl.lit(_series(initial)))
        .then(
            pl.col("first_name").str.slice(0, 1)
            + pl.when(pl.lit(_series(with_period))).then(pl.lit(".")).otherwise(pl.lit(""))
        )
        .otherwise("first_name")
    )
    labels["nickname"] = nickname
    labels["initial"] = initial

    # Accents added to or stripped from names that have an accented spelling.
    accent_maps = {**ref.ACCENTED_SURNAMES, **ref.ACCENTED_FIRST_NAMES}
    accented_forms = {v for v in accent_maps.values() if v != strip_accents_text(v)}
    changed_first = _accent_flip(req["first_name"], ref.ACCENTED_FIRST_NAMES, accented_forms)
    changed_last = _accent_flip(req["last_name"], ref.ACCENTED_SURNAMES, accented_forms)
    can_first = (changed_first != req["first_name"]).to_numpy()
    can_last = (changed_last != req["last_name"]).to_numpy()
    accent = names_ok & ~initial & (can_first | can_last) & draw(profile.accent)
    req = req.with_columns(
        first_name=pl.when(pl.lit(_series(accent & can_first)))
        .then(pl.lit(changed_first))
        .otherwise("first_name"),
        last_name=pl.when(pl.lit(_series(accent & can_last)))
        .then(pl.lit(changed_last))
        .otherwise("last_name"),
    )
    labels["accent"] = accent

    # Typos.
    long_last = (req["last_name"].str.len_chars() >= 3).to_numpy()
    long_first = (req["first_name"].str.len_chars() >= 3).to_numpy()
    typo_name = names_ok & (long_last | long_first) & draw(profile.typo_name)
    in_first = typo_name & long_first & (~long_last | draw(0.4))
    in_last = typo_name & ~in_first
    kinds = _series(rng.integers(0, 3, count))
    positions = _series(rng.random(count))
    letters = _series(rng.random(count))
    # Some slips in a given name are a space typed inside it ("ISAB ELLE").
    spaced = in_first & (req["first_name"].str.len_chars() >= 6).to_numpy() & draw(SPACE_IN_GIVEN_NAME)
    space_at = pl.lit(_series(2 + (rng.random(count) * 3).astype(np.int64)))
    req = req.with_columns(
        first_name=pl.when(pl.lit(_series(spaced)))
        .then(pl.col("first_name").str.slice(0, space_at) + " " + pl.col("first_name").str.slice(space_at))
        .when(pl.lit(_series(in_first)))
        .then(typo(pl.col("first_name"), pl.lit(positions), pl.lit(kinds), pl.lit(letters)))
        .otherwise("first_name"),
        last_name=pl.when(pl.lit(_series(in_last)))
        .then(typo(pl.col("last_name"), pl.lit(positions), pl.lit(kinds), pl.lit(letters)))
        .otherwise("last_name"),
    )
    labels["typo_name"] = typo_name

    # Given and family names swapped (each keyed into the other's field), everything else as
    # the person's: after any typo so a swapped name can also be mistyped, but never with
    # another form of either name (a nickname, one surname of two, an initial, a space).
    swapped = (
        names_ok
        & in_file_target
        & ~initial
        & ~nickname
        & ~two
        & ~spaced
        & (req["last_name"].str.len_chars() > 1).to_numpy()
        & draw(profile.swapped_names)
    )
    req = req.with_columns(
        first_name=pl.when(pl.lit(_series(swapped))).then("last_name").otherwise("first_name"),
        last_name=pl.when(pl.lit(_series(swapped))).then("first_name").otherwise("last_name"),
    )
    labels["swapped_names"] = swapped

    has_dob = req["date_of_birth"].is_not_null().to_numpy()
    typo_dob = has_dob & names_ok & draw(profile.typo_dob)
    req = req.with_columns(
        date_of_birth=pl.when(pl.lit(_series(typo_dob)))
        .then(_dob_typo(pl.col("date_of_birth"), pl.lit(_series(rng.integers(0, 3, count)))))
        .otherwise("date_of_birth")
    )
    labels["typo_dob"] = typo_dob

    has_tin = (req["tin"].str.len_chars() == 9).to_numpy()
    typo_tin = has_tin & names_ok & draw(profile.typo_tin)
    req = req.with_columns(
        tin=pl.when(pl.lit(_series(typo_tin)))
        .then(digit_typo(pl.col("tin"), pl.lit(_series(rng.random(count)))))
        .otherwise("tin")
    )
    labels["typo_tin"] = typo_tin

    # A typo in the first long word of the street name, never in the number or spacing,
    # so the line stays a complete address.
    parts = req["street"].str.extract_groups(r"^(\d+ (?:[NSEW]{1,2} )?)(\p{L}{4,})(.*)$")
    word = parts.struct.field("2")
    street_typo_ok = ~address_deficient & word.is_not_null().to_numpy()
    typo_address = street_typo_ok & draw(profile.typo_address)
    edited_street = (
        pl.DataFrame({"p": parts})
        .select(
            pl.col("p").struct.field("1")
            + typo(pl.col("p").struct.field("2"), pl.lit(positions), pl.lit(kinds), pl.lit(letters))
            + pl.col("p").struct.field("3")
        )
        .to_series()
    )
    req = req.with_columns(
        street=pl.when(pl.lit(_series(typo_address))).then(pl.lit(edited_street)).otherwise("street")
    )
    labels["typo_address"] = typo_address

    # Optional fields left out. A borrowed or stale TIN is the point of those cases.
    keeps_tin = (scenario == _SCENARIO["borrowed_ssn"]) | (scenario == _SCENARIO["itin_to_ssn"])
    missing_tin = in_file_target & has_tin & ~typo_tin & ~keeps_tin & draw(profile.missing_tin)
    missing_dob = has_dob & ~typo_dob & draw(profile.missing_dob)
    req = req.with_columns(
        tin=pl.when(pl.lit(_series(missing_tin))).then(pl.lit("")).otherwise("tin"),
        date_of_birth=pl.when(pl.lit(_series(missing_dob))).then(None).otherwise("date_of_birth"),
    )
    labels["missing_tin"] = missing_tin
    # Not-in-file people without a TIN are "missing" it too, as far as a matcher knows.
    labels["missing_tin"] |= (req["tin"] == "").to_numpy() & ~in_file_target & ~keeps_tin
    labels["missing_dob"] = missing_dob
    return req, labels


ZIP_SLIP_TRIES = 6
"""one-keystroke ZIPs drawn per request; the first that is a ZIP of the same state is used"""
SUFFIX_MISSPELT = 0.4
"""share of misspelt streets whose suffix, written in full, takes the slip ("Light Setreet")"""
RUN_TOGETHER_FULL = 0.6
"""share of run-together streets whose suffix is written in full ("Pearsonstreet", not "Pearsonst")"""
DIRECTIONAL_TWO_WORDS = 0.5
"""share of two-letter directionals written in full as two words ("North East", not "Northeast")"""


def _zip_slips(rng: np.random.Generator, zips: pl.Series, states: pl.Series) -> pl.Series:
    """A ZIP one keystroke from each of `zips` (a digit changed, or two neighbours swapped)
    that is a ZIP of the same state, else NULL."""
    count = len(zips)
    known = ref.zip_table().zip_state
    table = pl.DataFrame({"candidate": list(known), "candidate_state": list(known.values())})
    found = pl.Series("slip", [None] * count, dtype=pl.String)
    for _ in range(ZIP_SLIP_TRIES):
        position = pl.lit(_series(rng.integers(0, 5, count)))
        swap_at = pl.lit(_series(rng.integers(0, 4, count)))
        bump = pl.lit(_series(rng.integers(1, 10, count)))
        z = pl.col("zip")
        digit = z.str.slice(position, 1).cast(pl.Int64, strict=False)
        changed = z.str.slice(0, position) + ((digit + bump) % 10).cast(pl.String) + z.str.slice(position + 1)
        swapped = (
            z.str.slice(0, swap_at)
            + z.str.slice(swap_at + 1, 1)
            + z.str.slice(swap_at, 1)
            + z.str.slice(swap_at + 2)
        )
        kind = pl.lit(_series(rng.random(count) < 0.7))
        frame = pl.DataFrame({"zip": zips, "state": states}).select(
            "state", pl.when(kind).then(changed).otherwise(swapped).alias("candidate"), "zip"
        )
        checked = frame.join(table, on="candidate", how="left", maintain_order="left").select(
            pl.when((pl.col("candidate_state") == pl.col("state")) & (pl.col("candidate") != pl.col("zip")))
            .then("candidate")
            .otherwise(None)
        )
        found = found.fill_null(checked.to_series())
    return found


def _apply_address_forms(
    rng: np.random.Generator,
    req: pl.DataFrame,
    profile: Profile,
    eligible: np.ndarray,
    typo_address: np.ndarray,
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """The person's own address on file written another way (`Profile`'s address forms),
    for `eligible` requests; the forms come from facts.address's USPS tables."""
    count = len(req)

    def draw(rate: float) -> np.ndarray:
        return rng.random(count) < rate

    suffix_words = suffix_full_words()
    suffix_full = {
        s: suffix_words[s.upper()].title()
        for s in ref.STREET_SUFFIXES
        if suffix_words.get(s.upper(), s.upper()) != s.upper()
    }
    direction_full = {d: w.title() for d, w in directional_full_words().items()}
    two_words = {
        d: w[:5].title() + " " + w[5:].title() for d, w in directional_full_words().items() if len(d) == 2
    }
    suffix_alt = "|".join(sorted(ref.STREET_SUFFIXES, key=len, reverse=True))
    direction_alt = "|".join(sorted(ref.STREET_DIRECTIONS, key=len, reverse=True))
    parts = req["street"].str.extract_groups(rf"^(\d+) (?:({direction_alt}) )?(.+) ({suffix_alt})$")
    number, direction, name, suffix = (parts.struct.field(str(k)) for k in range(1, 5))
    english = number.is_not_null().to_numpy()
    has_direction = direction.is_not_null().to_numpy()
    can_expand = suffix.is_in(list(suffix_full)).fill_null(False).to_numpy()
    word = name.str.extract_groups(r"^(.*?)(\p{L}{4,})(.*)$")
    other = req["street"].str.extract_groups(r"^(\d+ )(\p{L}{4,})(.*)$")
    ok = eligible & ~typo_address

    suffix_form = ok & english & can_expand & draw(profile.suffix_form)
    directional_form = ok & has_direction & draw(profile.directional_form)
    name_word = word.struct.field("2").is_not_null().to_numpy()
    misspelt_ok = (english & name_word) | (~english & other.struct.field("2").is_not_null().to_numpy())
    misspelt = ok & misspelt_ok & draw(profile.street_misspelt)
    in_suffix = misspelt & english & suffix_form & draw(SUFFIX_MISSPELT)
    run_together = ok & english & ~misspelt & ~suffix_form & draw(profile.street_run_together)
    slips = _zip_slips(rng, req["zip"], req["state"])
    # A box number is the home itself: no tolerance applies to a PO box or rural route box.
    numbered = req["street"].str.contains(r"^\d+ \S").to_numpy()
    zip_slip = (
        ok & numbered & ~misspelt & ~run_together & slips.is_not_null().to_numpy() & draw(profile.zip_slip)
    )
    unit_omitted = ok & (req["unit"] != "").to_numpy() & ~misspelt & ~zip_slip & draw(profile.unit_omitted)

    kinds = pl.lit(_series(rng.integers(0, 4, count)))
    positions = pl.lit(_series(rng.random(count)))
    letters = pl.lit(_series(rng.random(count)))
    full_run = pl.lit(_series(draw(RUN_TOGETHER_FULL)))
    split = pl.lit(_series(draw(DIRECTIONAL_TWO_WORDS)))

    def flag(values: np.ndarray) -> pl.Expr:
        return pl.lit(_series(values))

    frame = pl.DataFrame(
        {
            "number": number,
            "direction": direction,
            "name": name,
            "suffix": suffix,
            "word": word,
            "other": other,
        }
    )
    suffix_text = (
        pl.when(flag(suffix_form))
        .then(pl.col("suffix").replace_strict(suffix_full, default=pl.col("suffix")))
        .otherwise("suffix")
    )
    suffix_text = (
        pl.when(flag(in_suffix))
        .then(keystroke(suffix_text, positions, kinds, letters))
        .otherwise(suffix_text)
    )
    direction_text = (
        pl.when(flag(directional_form))
        .then(
            pl.when(split & pl.col("direction").is_in(list(two_words)))
            .then(pl.col("direction").replace_strict(two_words, default=pl.col("direction")))
            .otherwise(pl.col("direction").replace_strict(direction_full, default=pl.col("direction")))
        )
        .otherwise("direction")
    )
    misspelt_name = (
        pl.col("word").struct.field("1")
        + keystroke(pl.col("word").struct.field("2"), positions, kinds, letters)
        + pl.col("word").struct.field("3")
    )
    name_text = pl.when(flag(misspelt & ~in_suffix)).then(misspelt_name).otherwise("name")
    glued = (
        pl.when(full_run & pl.col("suffix").is_in(list(suffix_full)))
        .then(pl.col("suffix").replace_strict(suffix_full, default=pl.col("suffix")))
        .otherwise("suffix")
        .str.to_lowercase()
    )
    english_line = pl.concat_str(
        [
            pl.col("number"),
            direction_text,
            pl.when(flag(run_together)).then(name_text + glued).otherwise(name_text + " " + suffix_text),
        ],
        separator=" ",
        ignore_nulls=True,
    )
    other_line = (
        pl.col("other").struct.field("1")
        + keystroke(pl.col("other").struct.field("2"), positions, kinds, letters)
        + pl.col("other").struct.field("3")
    )
    changed = suffix_form | directional_form | misspelt | run_together
    street = frame.select(
        pl.when(flag(changed & english)).then(english_line).when(flag(misspelt & ~english)).then(other_line)
    ).to_series()
    req = req.with_columns(
        street=pl.when(flag(changed)).then(pl.lit(street)).otherwise("street"),
        zip=pl.when(flag(zip_slip)).then(pl.lit(slips)).otherwise("zip"),
        unit=pl.when(flag(unit_omitted)).then(pl.lit("")).otherwise("unit"),
    )
    labels = {
        "street_misspelt": misspelt,
        "street_run_together": run_together,
        "suffix_form": suffix_form,
        "directional_form": directional_form,
        "unit_omitted": unit_omitted,
        "zip_slip": zip_slip,
    }
    return req, labels


def strip_accents_text(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _accent_flip(names: pl.Series, accent_map: dict[str, str], accented: set[str]) -> pl.Series:
    """Strip accents where present; add them where the name has an accented spelling."""
    has_accent = names.str.contains(r"[^\x00-\x7F]")
    stripped = names.str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    added = names.replace(accent_map)
    return pl.select(pl.when(pl.lit(has_accent)).then(pl.lit(stripped)).otherwise(pl.lit(added))).to_series()


def _dob_typo(dob: pl.Expr, kind: pl.Expr) -> pl.Expr:
    year, month, day = dob.dt.year(), dob.dt.month(), dob.dt.day()
    swap_ok = (day <= 12) & (day != month)
    swapped = pl.date(year, day, month)
    safe_day = pl.when((month == 2) & (day == 29)).then(28).otherwise(day)
    year_off = pl.date(year + pl.when(year % 2 == 0).then(1).otherwise(-1), month, safe_day)
    day_off = pl.date(year, month, pl.when(day > 1).then(day - 1).otherwise(day + 1))
    return pl.when((kind == 0) & swap_ok).then(swapped).when(kind == 1).then(year_off).otherwise(day_off)


def _add_record_fields(
    rng: np.random.Generator, req: pl.DataFrame, profile: Profile, count: int
) -> pl.DataFrame:
    last_period = rng.integers(2021, 2025, count)
    span = rng.integers(1, 4, count)
    years = [
        pl.when(pl.lit(_series(span > k)))
        .then(pl.lit(_series(last_period - (span - 1) + k)).cast(pl.String))
        .otherwise(None)
        for k in range(3)
    ]
    case_numbers = rng.permutation(count) + rng.integers(1_000_000, 5_000_000)
    order_day = rng.integers(
        (date(2012, 1, 1) - date(1970, 1, 1)).days,
        (date(2024, 12, 31) - date(1970, 1, 1)).days,
        count,
    )
    boilerplate = rng.random(count) < profile.boilerplate_reason
    officers = 1 if profile.single_officer else max(1, math.ceil(count / profile.cases_per_officer))
    officer_index = (rng.permutation(count) % officers) + 1
    return (
        req.with_columns(
            taxable_periods=pl.concat_list(years).list.drop_nulls().list.join(";"),
            statute=pl.lit(CRIMINAL_STATUTE),
            case_number=pl.lit("ERO-") + pl.lit(_series(case_numbers)).cast(pl.String).str.zfill(8),
            removal_order=pl.lit(_series(order_day, pl.Int32)).cast(pl.Date),
            boilerplate=pl.lit(_series(boilerplate)),
            officer=pl.lit("ICE-OFC-") + pl.lit(_series(officer_index)).cast(pl.String).str.zfill(5),
        )
        .with_columns(
            reason=pl.when("boilerplate")
            .then(pl.lit(BOILERPLATE_REASON))
            .otherwise(
                pl.lit("Case ")
                + pl.col("case_number")
                + ": "
                + pl.col("first_name")
                + " "
                + pl.col("last_name")
                + " was ordered removed on "
                + pl.col("removal_order").dt.to_string("%Y-%m-%d")
                + " and did not depart within 90 days (8 U.S.C. 1253(a)(1)); the last known"
                + " address is needed to locate and interview the subject."
            )
        )
        .drop("removal_order", "boilerplate")
    )


def _apply_deficiencies(rng: np.random.Generator, req: pl.DataFrame, deficiency: np.ndarray) -> pl.DataFrame:
    count = len(req)
    code = pl.lit(_series(deficiency))

    def is_(name: str) -> pl.Expr:
        return code == DEFICIENCY_CODES.index(name)

    form = pl.lit(_series(rng.integers(0, 4, count)))
    coin = pl.lit(_series(rng.random(count)))
    coin2 = pl.lit(_series(rng.random(count)))
    placeholder = pl.lit(_choose(rng, ref.PLACEHOLDER_STREETS, count))
    facilities = ref.valid_facilities()
    facility_pick = rng.integers(0, len(facilities), count)
    facility = [pl.lit(pl.Series([f[i] for f in facilities]).gather(facility_pick)) for i in range(4)]
    english = pl.lit(_choose(rng, ref.ENGLISH_STREET_NAMES, count))
    suffix = pl.lit(_choose(rng, ref.STREET_SUFFIXES, count))
    house_number = pl.lit(_series(rng.integers(1, 9999, count))).cast(pl.String)
    zips = ref.zip_table()
    other_zip_pick = rng.integers(0, len(zips.zip), count)
    other_zip = pl.lit(pl.Series(zips.zip[other_zip_pick]))
    other_state = pl.lit(pl.Series(zips.state[other_zip_pick]))
    bad_zip = pl.lit(_choose(rng, ref.nonexistent_zips(), count))
    civil = pl.lit(_choose(rng, CIVIL_STATUTES, count))
    tax = pl.lit(_choose(rng, TAX_STATUTES, count))
    invalid_period = pl.lit(_choose(rng, INVALID_PERIODS, count))

    first, last = pl.col("first_name"), pl.col("last_name")
    name_missing = is_("NAME_MISSING")
    street_without_number = pl.col("street").str.replace(r"^\d+\s+", "")
    leading_number = pl.col("street").str.extract(r"^(\d+)\s", 1)
    # Deficient addresses are the only deficiency of their record, so their fields are
    # built from scratch per class.
    new_street = (
        pl.when(is_("ADDRESS_MISSING"))
        .then(pl.lit(""))
        .when(is_("ADDRESS_PLACEHOLDER"))
        .then(placeholder)
        .when(is_("ADDRESS_ZIP_ONLY"))
        .then(pl.when(coin < 0.7).then(pl.lit("")).otherwise(pl.col("zip")))
        .when(is_("ADDRESS_INCOMPLETE"))
        .then(
            pl.when(coin < 0.5)
            .then(
                pl.when(pl.col("street").str.contains(r"^\d+\s+\S"))
                .then(street_without_number)
                .otherwise(english + " " + suffix)
            )
            .otherwise(leading_number.fill_null(house_number))
        )
        .when(is_("ADDRESS_FACILITY_NO_LOCATION"))
        .then(facility[0])
        .otherwise(pl.col("street"))
    )
    clears_unit = (
        is_("ADDRESS_MISSING")
        | is_("ADDRESS_PLACEHOLDER")
        | is_("ADDRESS_ZIP_ONLY")
        | is_("ADDRESS_FACILITY_NO_LOCATION")
        | (is_("ADDRESS_INCOMPLETE") & (coin >= 0.5))
    )
    keeps_city = (is_("ADDRESS_PLACEHOLDER") & (coin2 < 0.7)) | (is_("ADDRESS_ZIP_ONLY") & (coin2 < 0.5))
    new_city = (
        pl.when(is_("ADDRESS_MISSING")).then(pl.lit(""))
        .when(is_("ADDRESS_PLACEHOLDER") | is_("ADDRESS_ZIP_ONLY"))
        .then(pl.when(keeps_city).then(pl.col("city")).otherwise(pl.lit("")))
        .when(is_("ADDRESS_FACILITY_NO_LOCATION"))
        .then(pl.when(coin2 < 0.6).then(facility[1]).otherwise(pl.lit("")))
        .otherwise(pl.col("city"))
    )  # fmt: skip
    new_state = (
        pl.when(is_("ADDRESS_MISSING")).then(pl.lit(""))
        .when(is_("ADDRESS_PLACEHOLDER") | is_("ADDRESS_ZIP_ONLY"))
        .then(pl.when(keeps_city).then(pl.col("state")).otherwise(pl.lit("")))
        .when(is_("ADDRESS_FACILITY_NO_LOCATION"))
        .then(pl.when(coin2 < 0.6).then(facility[2]).otherwise(pl.lit("")))
        .otherwise(pl.col("state"))
    )  # fmt: skip
    new_zip = (
        pl.when(is_("ADDRESS_MISSING")).then(pl.lit(""))
        .when(is_("ADDRESS_PLACEHOLDER"))
        .then(pl.when(coin < 0.85).then(pl.col("zip")).otherwise(pl.lit("")))
        .when(is_("ADDRESS_FACILITY_NO_LOCATION"))
        .then(pl.when(coin2 < 0.6).then(facility[3]).otherwise(pl.lit("")))
        .when(is_("ADDRESS_ZIP_INVALID"))
        .then(
            pl.when((coin < 0.5) & (other_state != pl.col("state")))
            .then(other_zip)
            .otherwise(bad_zip)
        )
        .otherwise(pl.col("zip"))
    )  # fmt: skip
    return req.with_columns(
        first_name=pl.when(name_missing)
        .then(
            pl.when(form == 0).then(pl.lit(""))
            .when(form == 1).then(pl.lit("UNKNOWN"))
            .when(form == 2).then(pl.lit("N/A"))
            .otherwise(first.str.slice(0, 1))
        )
        .otherwise(first),
        middle_name=pl.when(name_missing).then(pl.lit("")).otherwise("middle_name"),
        last_name=pl.when(name_missing)
        .then(
            pl.when(form == 0).then(pl.lit(""))
            .when(form == 1).then(pl.lit("UNKNOWN"))
            .when(form == 2).then(pl.lit("N/A"))
            .otherwise(last.str.slice(0, 1) + ".")
        )
        .otherwise(last),
        street=new_street,
        unit=pl.when(clears_unit).then(pl.lit("")).otherwise("unit"),
        city=new_city,
        state=new_state,
        zip=new_zip,
        taxable_periods=pl.when(is_("PERIOD_MISSING")).then(pl.lit(""))
        .when(is_("PERIOD_INVALID")).then(invalid_period)
        .otherwise("taxable_periods"),
        statute=pl.when(is_("STATUTE_MISSING")).then(pl.lit(""))
        .when(is_("STATUTE_NOT_CRIMINAL")).then(civil)
        .when(is_("STATUTE_TAX")).then(tax)
        .otherwise("statute"),
        reason=pl.when(is_("REASON_MISSING")).then(pl.lit("")).otherwise("reason"),
    )  # fmt: skip


def _format(
    rng: np.random.Generator, req: pl.DataFrame, profile: Profile, address_deficient: np.ndarray
) -> pl.DataFrame:
    """Presentation variants that do not change meaning: case, dashes, ZIP+4, state names."""
    count = len(req)

    def draw(rate: float) -> pl.Expr:
        return pl.lit(_series(rng.random(count) < rate))

    valid_address = pl.lit(_series(~address_deficient))
    title = draw(profile.title_case_names)
    states = pl.Series(list(ref.STATE_NAMES))
    full_names = pl.Series(list(ref.STATE_NAMES.values()))
    plus4 = pl.lit(_series(rng.integers(1, 9999, count))).cast(pl.String).str.zfill(4)

    def cased(column: str) -> pl.Expr:
        return pl.when(title).then(pl.col(column).str.to_titlecase()).otherwise(pl.col(column))

    return req.with_columns(
        first_name=cased("first_name"),
        middle_name=cased("middle_name"),
        last_name=cased("last_name"),
        date_of_birth=pl.col("date_of_birth").dt.to_string("%Y-%m-%d").fill_null(""),
        tin=pl.when(draw(profile.tin_with_dashes) & (pl.col("tin").str.len_chars() == 9))
        .then(
            pl.col("tin").str.slice(0, 3)
            + "-"
            + pl.col("tin").str.slice(3, 2)
            + "-"
            + pl.col("tin").str.slice(5, 4)
        )
        .otherwise("tin"),
        zip=pl.when(valid_address & draw(profile.zip_plus4) & pl.col("zip").str.contains(r"^\d{5}$"))
        .then(pl.col("zip") + "-" + plus4)
        .otherwise("zip"),
        state=pl.when(valid_address & draw(profile.full_state_name))
        .then(pl.col("state").replace_strict(states, full_names, default=pl.col("state")))
        .otherwise("state"),
    )


def _truth(
    population: Population,
    req: pl.DataFrame,
    target: np.ndarray,
    scenario: np.ndarray,
    deficiency: np.ndarray,
    labels: dict[str, np.ndarray],
    in_file: np.ndarray,
    address_on_file: np.ndarray,
    true_last_name: pl.Series,
    person_flags: pl.DataFrame,
    current_location: np.ndarray,
    borrower: np.ndarray,
) -> pl.DataFrame:
    taxpayers = population.taxpayers
    locations = population.locations
    safe = np.maximum(target, 0)
    sufficient = deficiency == _NO_DEFICIENCY
    lawful = sufficient & in_file & address_on_file
    codes = pl.Series([*DEFICIENCY_CODES, None], dtype=pl.String)

    # TIN matching as the 2025 script did it: the request's TIN is a taxpayer's TIN and
    # the name controls (first four letters of the surname) agree.
    request_tin = req["tin"].str.replace_all("-", "")
    tin_row = _rows_of_tins(population, request_tin.replace("", None))
    reference_last = taxpayers["last_name"].gather(np.maximum(tin_row, 0))
    control = (
        pl.DataFrame({"req": req["last_name"], "ref": reference_last})
        .select(
            (name_control(pl.col("req")) == name_control(pl.col("ref")))
            & (name_control(pl.col("req")).str.len_chars() > 0)
        )
        .to_series()
        .to_numpy()
    )
    tin_name_match = (tin_row >= 0) & control
    zip_shaped = (
        req.select(
            pl.concat_str(["street", "unit", "city", "state", "zip"], separator=" ").str.contains(r"\d{5}")
        )
        .to_series()
        .to_numpy()
    )

    label_columns = [
        pl.when(pl.lit(_series(labels[name]))).then(pl.lit(name)).otherwise(None) for name in HARD_CASE_LABELS
    ]
    surname_lookup = ref.surname_hispanic_lookup()
    surname_key = pl.DataFrame({"last": true_last_name}).select(
        strip_accents(pl.col("last")).str.to_uppercase().alias("full"),
        strip_accents(pl.col("last"))
        .str.to_uppercase()
        .str.replace_all("-", " ")
        .str.split(" ")
        .list.first()
        .alias("first_token"),
    )
    p_full = surname_key.join(
        surname_lookup, left_on="full", right_on="surname_key", how="left", maintain_order="left"
    )["p_hispanic"]
    p_token = surname_key.join(
        surname_lookup,
        left_on="first_token",
        right_on="surname_key",
        how="left",
        maintain_order="left",
    )["p_hispanic"]
    p_surname = p_full.fill_null(p_token)
    lawful_s = pl.lit(_series(lawful))
    expected_location = current_location

    def expected(column: str) -> pl.Expr:
        return (
            pl.when(lawful_s)
            .then(pl.lit(locations[column].gather(expected_location)))
            .otherwise(None)
            .alias(f"expected_{column}")
        )

    return pl.DataFrame({"request_id": req["request_id"], "p_hispanic": p_surname}).select(
        "request_id",
        pl.when(pl.lit(_series(in_file)))
        .then(pl.lit(taxpayers["tin"].gather(safe)))
        .otherwise(None)
        .alias("true_tin"),
        pl.lit(codes.gather(deficiency)).alias("deficiency"),
        pl.concat_list(label_columns).list.drop_nulls().alias("hard_cases"),
        pl.when(pl.col("p_hispanic").is_null())
        .then(pl.lit("unknown"))
        .when(pl.col("p_hispanic") >= 0.75)
        .then(pl.lit("hispanic_high"))
        .when(pl.col("p_hispanic") >= 0.25)
        .then(pl.lit("hispanic_mid"))
        .otherwise(pl.lit("other"))
        .alias("surname_band"),
        pl.when(pl.lit(_series(in_file)))
        .then(pl.lit(taxpayers["tin_type"].gather(safe)))
        .otherwise(None)
        .alias("tin_type_true"),
        pl.when(pl.lit(_series(in_file)))
        .then(pl.lit(person_flags["adults_at_address"]))
        .otherwise(None)
        .alias("adults_at_address"),
        pl.when(pl.lit(_series(in_file)))
        .then(pl.lit(person_flags["adults_in_building"]))
        .otherwise(None)
        .alias("adults_in_building"),
        pl.lit(_series(in_file)).alias("in_file"),
        pl.lit(_series(address_on_file)).alias("address_on_file"),
        pl.lit(_series(sufficient)).alias("record_sufficient"),
        lawful_s.alias("lawful_disclosure"),
        *[expected(c) for c in ("street", "unit", "city", "state", "zip")],
        pl.lit(_series(tin_name_match)).alias("tin_name_match"),
        pl.lit(_series(zip_shaped)).alias("address_zip_shaped"),
        pl.lit(_series(tin_name_match & zip_shaped)).alias("tin_route_would_disclose"),
    )


def _letter(rng: np.random.Generator, profile: Profile, req: pl.DataFrame) -> dict[str, Any]:
    surnames = ref.surname_table()
    first = ref.first_name_table("M" if rng.random() < 0.5 else "F")
    signer_first = str(first.names[int(weighted_draw(rng, first.weight_all, 1)[0])]).title()
    signer_last = str(surnames.names[int(weighted_draw(rng, surnames.weight_all, 1)[0])]).title()
    middle = chr(ord("A") + int(rng.integers(0, 26)))
    officers = req["officer"].unique().sort().to_list()
    return {
        "requesting_agency": "U.S. Immigration and Customs Enforcement",
        "department": "Department of Homeland Security",
        "signer": {
            "name": f"{signer_first} {middle}. {signer_last}",
            "title": "Director, U.S. Immigration and Customs Enforcement",
        },
        "date": date.fromisoformat(profile.letter_date),
        "statute": CRIMINAL_STATUTE,
        "purpose": "Investigation of wilful failure to depart after a final order of removal",
        "officers": officers,
        "record_count": len(req),
    }
