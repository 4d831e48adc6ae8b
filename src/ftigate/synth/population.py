"""Synthetic taxpayer reference file: people, households, buildings and address history.

Pure generation: `generate_population(people, seed)` returns in-memory frames and
touches no files (see `ftigate.synth.io` for writing). Every random choice comes
from one `numpy.random.Generator` seeded by `seed`, and every step is vectorised
over people (no per-person Python loop), so 10 million people fit in minutes.

Model, in the order it is built:
  households (families, and shared houses of unrelated adults) -> buildings
  (single houses, or apartment complexes holding many households) -> a real
  STANDARD ZIP per building -> names drawn by Census frequency (Hispanic-weighted
  for ITIN households and in proportion to the state's Hispanic share otherwise)
  -> TINs -> tax years and moves -> one address row per person per tax year,
  plus W-2 rows filed under a lent SSN in another worker's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, cast

import numpy as np
import polars as pl

from ftigate.synth import reference as ref
from ftigate.synth.tins import (
    ITIN_SPACE,
    SSN_SPACE,
    draw_unique_indices,
    itin_from_index,
    ssn_from_index,
    tin_strings,
)

StepHook = Callable[[str], None]

POPULATION_STEPS: tuple[str, ...] = (
    "households",
    "buildings",
    "names",
    "tins",
    "address history",
    "borrowed SSNs",
    "taxpayers",
    "addresses",
    "ground truth",
)

REFERENCE_DATE = date(2025, 1, 1)
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class PopulationParams:
    """Rates that shape the reference population (all shares are probabilities)."""

    itin_household_rate: float = 0.035
    """national share of households that file with ITINs (scaled by the state's Hispanic share)"""
    itin_member_share: float = 0.75
    """share of members of an ITIN household who hold an ITIN (the rest hold SSNs)"""
    itin_to_ssn_rate: float = 0.6
    """share of SSN holders in ITIN households who held an ITIN before their SSN"""
    shared_house_rate: float = 0.03
    """share of households that are shared houses of 4-12 unrelated adults"""
    complex_share: float = 0.30
    """share of family households that live in apartment complexes"""
    partner_own_surname_rate: float = 0.25
    """share of non-first family members who carry their own surname"""
    namesake_rate: float = 0.04
    """share of family households of 2+ adults holding a Sr./Jr. pair with one first name"""
    common_name_complex_rate: float = 0.10
    """share of apartment complexes where two unrelated residents share a first and last name"""
    mover_rate: float = 0.35
    """share of households with more than one tax year that moved at least once"""
    second_move_rate: float = 0.08
    """share of households that moved twice"""
    lender_rate: float = 0.005
    """share of SSN holders whose SSN other workers use (W-2s under other names)"""
    borrower_itin_share: float = 0.5
    """share of borrowers who also file under their own ITIN"""
    two_surname_rate: float = 0.30
    """share of Hispanic-origin people with two surnames"""
    hyphen_share: float = 0.25
    """share of two-surname names written with a hyphen"""
    accent_rate: float = 0.25
    """share of people with an accentable name whose reference record carries the accent"""
    po_box_rate: float = 0.015
    """share of single houses whose address is a PO box"""
    rural_route_rate: float = 0.007
    """share of single houses whose address is a rural route box"""
    latest_tax_year: int = 2024
    """newest tax year in the file"""

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        return _field_docs(cls)

    def with_overrides(self, overrides: dict[str, str]) -> PopulationParams:
        return cast(PopulationParams, _with_overrides(self, overrides))


def _field_docs(cls: type) -> dict[str, str]:
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    docs: dict[str, str] = {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, following in zip(body, [*body[1:], None], strict=True):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
        ):
            docs[node.target.id] = str(following.value.value)
    return docs


def _with_overrides(obj: Any, overrides: dict[str, str]) -> object:
    from dataclasses import replace

    known = {f.name: f for f in fields(obj)}
    changes: dict[str, object] = {}
    for name, raw in overrides.items():
        if name not in known:
            raise ValueError(f"unknown rate {name!r}; known: {', '.join(sorted(known))}")
        current = getattr(obj, name)
        changes[name] = parse_value(name, raw, current)
    return replace(obj, **changes)


def parse_value(name: str, raw: object, current: object) -> object:
    """Parse `raw` (text from --set or a YAML value) to the type of `current`."""
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if isinstance(current, int):
            return int(str(raw))
        if isinstance(current, float):
            value = float(str(raw))
            if not 0.0 <= value <= 1.0 and not name.endswith("_per_officer"):
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
            return value
        return str(raw)
    except ValueError as error:
        raise ValueError(f"bad value for {name}: {raw!r} ({error})") from None


@dataclass(frozen=True)
class Population:
    """A synthetic taxpayer reference file and the generator's ground truth about it.

    `taxpayers` and the address table (`address_chunks`, built from `address_rows` and
    `locations`) are the reference file a screener resolves against. Rows of
    `taxpayers` and `people` are aligned (sorted by TIN).
    `people`, `locations` and `borrowers` are ground truth for generating requests
    and measuring accuracy; they are not reference data.
    """

    seed: int
    taxpayers: pl.DataFrame
    address_rows: pl.DataFrame
    """compact address history: person (row of `taxpayers`), location_id, tax_year,
    source_code, borrower (row of `borrowers`, or -1); see `address_chunks`"""
    people: pl.DataFrame
    locations: pl.DataFrame
    borrowers: pl.DataFrame


def _noop(_: str) -> None:
    return None


def weighted_draw(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    """Indices drawn with replacement in proportion to `weights` (inverse CDF)."""
    cdf = np.cumsum(weights, dtype=np.float64)
    picks = np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right")
    return np.minimum(picks, len(weights) - 1)


def _draw_household_sizes(
    rng: np.random.Generator, people: int, params: PopulationParams
) -> tuple[np.ndarray, np.ndarray]:
    """Household sizes summing to exactly `people`, and whether each is a shared house."""
    estimate = people // 2 + 64
    while True:
        shared = rng.random(estimate) < params.shared_house_rate
        family = rng.choice(
            np.arange(1, 7), estimate, p=[0.30, 0.36, 0.16, 0.11, 0.05, 0.02]
        )
        shared_size = np.minimum(4 + rng.geometric(0.3, estimate) - 1, 12)
        sizes = np.where(shared, shared_size, family).astype(np.int64)
        total = np.cumsum(sizes)
        if total[-1] >= people:
            break
        estimate *= 2
    households = int(np.searchsorted(total, people) + 1)
    sizes = sizes[:households].copy()
    sizes[-1] -= int(total[households - 1] - people)
    return sizes, shared[:households]


def _street_frame(
    rng: np.random.Generator,
    count: int,
    hispanic_share: np.ndarray,
    single_house: np.ndarray,
    params: PopulationParams,
) -> pl.Series:
    """Street lines such as "1234 N Oak St", "77 Calle del Sol", "PO Box 1234", "RR 2 Box 152"."""
    number = np.minimum(np.exp(rng.normal(6.3, 1.4, count)).astype(np.int64) + 1, 29999)
    english = pl.Series(ref.ENGLISH_STREET_NAMES)
    spanish = pl.Series(ref.SPANISH_STREET_NAMES)
    suffix = pl.Series(ref.STREET_SUFFIXES)
    direction = pl.Series(ref.STREET_DIRECTIONS)
    use_spanish = rng.random(count) < (0.03 + 0.25 * hispanic_share)
    has_direction = rng.random(count) < 0.15
    kind_draw = rng.random(count)
    po_box = single_house & (kind_draw < params.po_box_rate)
    rural = single_house & ~po_box & (kind_draw < params.po_box_rate + params.rural_route_rate)
    box_number = rng.integers(1, 9999, count)
    route = rng.integers(1, 12, count)
    frame = pl.DataFrame(
        {
            "number": number,
            "english": english.gather(rng.integers(0, len(english), count)),
            "spanish": spanish.gather(rng.integers(0, len(spanish), count)),
            "suffix": suffix.gather(rng.integers(0, len(suffix), count)),
            "direction": direction.gather(rng.integers(0, len(direction), count)),
            "use_spanish": use_spanish,
            "has_direction": has_direction,
            "po_box": po_box,
            "rural": rural,
            "box": box_number,
            "route": route,
        }
    )
    number_text = pl.col("number").cast(pl.String)
    english_line = pl.concat_str(
        [
            number_text,
            pl.when(pl.col("has_direction")).then(pl.col("direction") + " ").otherwise(
                pl.lit("")
            ),
            pl.col("english"),
            pl.col("suffix"),
        ],
        separator=" ",
    ).str.replace("  ", " ", literal=True)
    line = (
        pl.when(pl.col("po_box"))
        .then(pl.lit("PO Box ") + pl.col("box").cast(pl.String))
        .when(pl.col("rural"))
        .then(
            pl.lit("RR ") + pl.col("route").cast(pl.String) + " Box " + pl.col("box").cast(pl.String)
        )
        .when(pl.col("use_spanish"))
        .then(number_text + " " + pl.col("spanish"))
        .otherwise(english_line)
    )
    return frame.select(line.alias("street")).to_series()


def _unit_labels(rng: np.random.Generator, complex_id: np.ndarray, position: np.ndarray) -> pl.Series:
    """Unit designators for households in complexes ("Apt 4B", "Unit 301", "# 12")."""
    style = (complex_id * 2654435761 % 4).astype(np.int64)  # one style per complex
    floor = position // 8 + 1
    door = position % 8
    frame = pl.DataFrame({"style": style, "floor": floor, "door": door, "pos": position + 1})
    letter = pl.Series(list("ABCDEFGH"))
    frame = frame.with_columns(letter=letter.gather(frame["door"].to_numpy()))
    number = (pl.col("floor") * 100 + pl.col("door") + 1).cast(pl.String)
    label = (
        pl.when(pl.col("style") == 0)
        .then(pl.lit("Apt ") + pl.col("floor").cast(pl.String) + pl.col("letter"))
        .when(pl.col("style") == 1)
        .then(pl.lit("Apt ") + number)
        .when(pl.col("style") == 2)
        .then(pl.lit("Unit ") + pl.col("pos").cast(pl.String))
        .otherwise(pl.lit("# ") + number)
    )
    return frame.select(label.alias("unit")).to_series()


def _draw_names(
    rng: np.random.Generator, table: ref.NameTable, hispanic: np.ndarray
) -> np.ndarray:
    """Name indices: Hispanic-weighted where `hispanic`, otherwise non-Hispanic-weighted."""
    out = np.empty(len(hispanic), dtype=np.int64)
    h = np.flatnonzero(hispanic)
    o = np.flatnonzero(~hispanic)
    out[h] = weighted_draw(rng, table.weight_hispanic, len(h))
    out[o] = weighted_draw(rng, table.weight_other, len(o))
    return out


def _pick(plain: pl.Series, accented: pl.Series, index: np.ndarray, accent: np.ndarray) -> pl.Series:
    frame = pl.DataFrame(
        {"plain": plain.gather(index), "accented": accented.gather(index), "accent": accent}
    )
    return frame.select(
        pl.when(pl.col("accent")).then(pl.col("accented")).otherwise(pl.col("plain"))
    ).to_series()


def _first_names(
    rng: np.random.Generator, male: np.ndarray, hispanic: np.ndarray, accent: np.ndarray
) -> pl.Series:
    """First (or middle) names by sex and origin, Census-weighted."""
    result = pl.Series("name", [""] * 0, dtype=pl.String)
    parts: list[tuple[np.ndarray, pl.Series]] = []
    for sex, mask in (("M", male), ("F", ~male)):
        table = ref.first_name_table(sex)
        rows = np.flatnonzero(mask)
        index = _draw_names(rng, table, hispanic[rows])
        parts.append((rows, _pick(table.names, table.accented, index, accent[rows])))
    result = pl.Series("name", np.empty(len(male), dtype=object), dtype=pl.String)
    for rows, values in parts:
        result = result.scatter(rows, values)
    return result


def generate_population(
    people: int,
    seed: int,
    params: PopulationParams | None = None,
    on_step: StepHook | None = None,
) -> Population:
    """Generate `people` synthetic taxpayers with `seed` (same seed, same data)."""
    if people <= 0:
        raise ValueError("people must be positive")
    params = params or PopulationParams()
    step = on_step or _noop
    rng = np.random.default_rng(seed)
    zips = ref.zip_table()

    # --- households -------------------------------------------------------------------
    sizes, shared_house = _draw_household_sizes(rng, people, params)
    households = len(sizes)
    household_of = np.repeat(np.arange(households), sizes)
    household_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(people) - household_start[household_of]
    step("households")

    # --- buildings: single houses, or complexes of many households --------------------
    in_complex = ~shared_house & (rng.random(households) < params.complex_share)
    complex_members = np.flatnonzero(in_complex)
    complex_sizes = np.minimum(8 + rng.geometric(1 / 30, len(complex_members) + 1), 240)
    complex_of_member = np.repeat(np.arange(len(complex_sizes)), complex_sizes)[
        : len(complex_members)
    ]
    complexes = int(complex_of_member.max()) + 1 if len(complex_members) else 0
    complex_starts = np.searchsorted(complex_of_member, np.arange(complexes))
    unit_position = np.arange(len(complex_members)) - complex_starts[complex_of_member]
    # Building ids: complexes first, then one building per other household.
    building_of_household = np.empty(households, dtype=np.int64)
    building_of_household[complex_members] = complex_of_member
    singles = np.flatnonzero(~in_complex)
    building_of_household[singles] = complexes + np.arange(len(singles))
    buildings = complexes + len(singles)
    is_single_building = np.ones(buildings, dtype=bool)
    is_single_building[:complexes] = False

    zip_noise = np.exp(rng.normal(0.0, 0.8, len(zips.zip)))
    building_zip = weighted_draw(rng, zips.weight * zip_noise, buildings)
    building_hispanic = zips.hispanic_share[building_zip]
    building_street = _street_frame(
        rng, buildings, building_hispanic, is_single_building, params
    )
    unit = pl.Series("unit", [""] * households, dtype=pl.String)
    if len(complex_members):
        unit = unit.scatter(complex_members, _unit_labels(rng, complex_of_member, unit_position))
    household_zip = building_zip[building_of_household]
    locations = pl.DataFrame(
        {
            "location_id": np.arange(households, dtype=np.int64),
            "building_id": building_of_household,
            "street": building_street.gather(building_of_household),
            "unit": unit,
            "city": zips.city[household_zip],
            "state": zips.state[household_zip],
            "zip": zips.zip[household_zip],
        }
    )
    step("buildings")

    # --- origin and names -------------------------------------------------------------
    surnames = ref.surname_table()
    household_hispanic_share = zips.hispanic_share[household_zip]
    mean_share = float(np.average(household_hispanic_share, weights=sizes))
    itin_household = rng.random(households) < np.clip(
        params.itin_household_rate * household_hispanic_share / mean_share, 0, 0.9
    )
    # Non-ITIN households are Hispanic-named in proportion to the state's Hispanic share,
    # scaled so the national mixture reproduces the Census surname frequencies.
    hispanic_household = itin_household | (
        rng.random(households)
        < np.clip(surnames.hispanic_share * household_hispanic_share / mean_share, 0, 0.95)
    )
    household_surname = _draw_names(rng, surnames, hispanic_household)
    own_surname_hispanic = hispanic_household[household_of] | (rng.random(people) < 0.05)
    own_surname = _draw_names(rng, surnames, own_surname_hispanic)
    takes_own_surname = shared_house[household_of] | (
        (position > 0) & (rng.random(people) < params.partner_own_surname_rate)
    )
    surname_index = np.where(takes_own_surname, own_surname, household_surname[household_of])
    surname_p = np.nan_to_num(surnames.p_hispanic[surname_index], nan=0.02)
    hispanic_person = itin_household[household_of] | (rng.random(people) < surname_p)
    male = rng.random(people) < 0.5
    accent = hispanic_person & (rng.random(people) < params.accent_rate)
    first_name = _first_names(rng, male, hispanic_person, accent)
    middle_kind = rng.random(people)
    middle_full = _first_names(rng, male, hispanic_person, accent)
    middle_name = pl.select(
        pl.when(pl.lit(pl.Series(middle_kind < 0.55)))
        .then(pl.lit(middle_full))
        .when(pl.lit(pl.Series(middle_kind < 0.70)))
        .then(pl.lit(middle_full).str.slice(0, 1))
        .otherwise(pl.lit(""))
    ).to_series()
    has_second = hispanic_person & (rng.random(people) < params.two_surname_rate)
    second_index = weighted_draw(rng, surnames.weight_hispanic, people)
    hyphen = rng.random(people) < params.hyphen_share
    base_last = _pick(surnames.names, surnames.accented, surname_index, accent)
    second_last = _pick(surnames.names, surnames.accented, second_index, accent)
    last_name = pl.DataFrame(
        {"base": base_last, "second": second_last, "two": has_second, "hyphen": hyphen}
    ).select(
        pl.when(pl.col("two"))
        .then(
            pl.col("base")
            + pl.when(pl.col("hyphen")).then(pl.lit("-")).otherwise(pl.lit(" "))
            + pl.col("second")
        )
        .otherwise(pl.col("base"))
    ).to_series()

    # Ages 18-90 at the reference date, skewed toward working ages.
    age_days = ((18 + rng.beta(1.6, 2.6, people) * 72) * 365.25).astype(np.int64)
    reference_day = (REFERENCE_DATE - _EPOCH).days
    birth_day = reference_day - age_days

    # Sr./Jr. namesakes: the first two members of chosen family households.
    family_pair = ~shared_house & (sizes >= 2) & (rng.random(households) < params.namesake_rate)
    senior = household_start[family_pair]
    junior = senior + 1
    male[senior] = True
    male[junior] = True
    first_name = first_name.scatter(junior, first_name.gather(senior))
    last_name = last_name.scatter(junior, last_name.gather(senior))
    junior_age = ((18 + rng.random(len(junior)) * 30) * 365.25).astype(np.int64)
    gap = ((20 + rng.random(len(junior)) * 15) * 365.25).astype(np.int64)
    birth_day[junior] = reference_day - junior_age
    birth_day[senior] = reference_day - junior_age - gap
    suffix = pl.Series("suffix", [""] * people, dtype=pl.String)
    # Reference records often omit the generational suffix; only some carry it.
    with_suffix = rng.random(len(senior)) < 0.6
    suffix = suffix.scatter(senior[with_suffix], "SR").scatter(junior[with_suffix], "JR")
    namesake = np.zeros(people, dtype=bool)
    namesake[senior] = True
    namesake[junior] = True

    # Common name in one complex: copy one resident's name onto an unrelated neighbour.
    if complexes:
        chosen = np.flatnonzero(
            (complex_sizes[:complexes] >= 2) & (rng.random(complexes) < params.common_name_complex_rate)
        )
        first_household = complex_members[complex_starts[chosen]]
        second_household = complex_members[complex_starts[chosen] + 1]
        source = household_start[first_household]
        target = household_start[second_household]
        keep = ~namesake[target] & ~namesake[source]
        source, target = source[keep], target[keep]
        first_name = first_name.scatter(target, first_name.gather(source))
        last_name = last_name.scatter(target, last_name.gather(source))
        male[target] = male[source]
    step("names")

    # --- TINs -------------------------------------------------------------------------
    itin_person = itin_household[household_of] & (rng.random(people) < params.itin_member_share)
    had_itin = (
        itin_household[household_of] & ~itin_person & (rng.random(people) < params.itin_to_ssn_rate)
    )
    itin_rows = np.flatnonzero(itin_person)
    prior_rows = np.flatnonzero(had_itin)
    ssn_rows = np.flatnonzero(~itin_person)
    itins = itin_from_index(draw_unique_indices(rng, ITIN_SPACE, len(itin_rows) + len(prior_rows)))
    ssns = ssn_from_index(draw_unique_indices(rng, SSN_SPACE, len(ssn_rows)))
    tin_int = np.empty(people, dtype=np.int64)
    tin_int[itin_rows] = itins[: len(itin_rows)]
    tin_int[ssn_rows] = ssns
    prior_itin_int = np.full(people, -1, dtype=np.int64)
    prior_itin_int[prior_rows] = itins[len(itin_rows) :]
    step("tins")

    # --- tax years and moves (per household) -------------------------------------------
    latest = params.latest_tax_year
    last_year = latest - rng.choice(6, households, p=[0.82, 0.08, 0.04, 0.03, 0.02, 0.01])
    year_count = rng.choice(np.arange(1, 7), households, p=[0.15, 0.20, 0.25, 0.20, 0.12, 0.08])
    first_year = np.maximum(last_year - year_count + 1, latest - 9)
    year_count = last_year - first_year + 1
    mover = (year_count >= 2) & (rng.random(households) < params.mover_rate)
    move_year = np.where(
        mover, first_year + 1 + (rng.random(households) * (year_count - 1)).astype(np.int64), 9999
    )
    move_year = np.where(mover, move_year, -1)
    second_mover = (
        mover
        & (move_year - first_year >= 2)
        & (rng.random(households) < params.second_move_rate / max(params.mover_rate, 1e-9))
    )
    second_move_year = np.where(
        second_mover,
        first_year + 1 + (rng.random(households) * (move_year - first_year - 1)).astype(np.int64),
        -1,
    )

    def other_location(count: int) -> np.ndarray:
        draw = rng.integers(0, households, count)
        own = np.arange(count)
        return np.where(draw == own, (draw + 1) % households, draw)

    prior_location = np.where(mover, other_location(households), -1)
    older_location = np.where(second_mover, other_location(households), -1)
    step("address history")

    # --- rows: one per person per tax year, in TIN order --------------------------------
    order = np.argsort(tin_int, kind="stable")
    person_household = household_of[order].astype(np.int32)
    rows_per_person = year_count[person_household]
    row_person = np.repeat(np.arange(people, dtype=np.int32), rows_per_person)  # sorted rank
    row_start = np.concatenate([[0], np.cumsum(rows_per_person)[:-1]])
    row_year = (
        np.arange(len(row_person), dtype=np.int64) - np.repeat(row_start, rows_per_person)
    ).astype(np.int32)
    del row_start
    row_household = person_household[row_person]
    row_year += first_year[row_household].astype(np.int32)
    row_location = np.where(
        row_year < second_move_year[row_household],
        older_location[row_household],
        np.where(row_year < move_year[row_household], prior_location[row_household], row_household),
    ).astype(np.int32)
    del row_household
    sorted_itin = itin_person[order]
    source_draw = rng.random(len(row_person), dtype=np.float32)
    source_code = np.where(
        sorted_itin[row_person],
        0,
        np.where(source_draw < 0.82, 0, np.where(source_draw < 0.96, 1, 2)),
    ).astype(np.int8)
    del source_draw, sorted_itin

    # --- lent SSNs: W-2s filed under someone else's SSN -------------------------------
    lender = (
        ~itin_person
        & ~itin_household[household_of]
        & (year_count[household_of] >= 2)
        & (rng.random(people) < params.lender_rate)
    )
    lender_rows = np.flatnonzero(lender)
    borrowers_per_lender = 1 + (rng.random(len(lender_rows)) < 0.4) + (
        rng.random(len(lender_rows)) < 0.15
    )
    borrowed_from = np.repeat(lender_rows, borrowers_per_lender)
    borrower_count = len(borrowed_from)
    itin_candidates = rng.permutation(itin_rows)
    wanted_itin = int(borrower_count * params.borrower_itin_share)
    filer_borrowers = itin_candidates[: min(wanted_itin, len(itin_candidates))]
    is_filer = np.zeros(borrower_count, dtype=bool)
    is_filer[rng.permutation(borrower_count)[: len(filer_borrowers)]] = True
    filer_slot = np.flatnonzero(is_filer)
    fresh_slot = np.flatnonzero(~is_filer)
    fresh_male = rng.random(len(fresh_slot)) < 0.6
    fresh_hispanic = np.ones(len(fresh_slot), dtype=bool)
    fresh_first = _first_names(rng, fresh_male, fresh_hispanic, np.zeros(len(fresh_slot), bool))
    fresh_last = surnames.names.gather(weighted_draw(rng, surnames.weight_hispanic, len(fresh_slot)))
    fresh_birth = reference_day - (
        (18 + rng.beta(1.6, 2.6, len(fresh_slot)) * 50) * 365.25
    ).astype(np.int64)
    fresh_location = rng.integers(0, households, len(fresh_slot))
    borrower_person = np.full(borrower_count, -1, dtype=np.int64)
    borrower_person[filer_slot] = filer_borrowers
    b_first = pl.Series("first", np.empty(borrower_count, dtype=object), dtype=pl.String)
    b_last = b_first.clone()
    b_middle = pl.Series("middle", [""] * borrower_count, dtype=pl.String)
    b_first = b_first.scatter(filer_slot, first_name.gather(filer_borrowers)).scatter(
        fresh_slot, fresh_first
    )
    b_last = b_last.scatter(filer_slot, last_name.gather(filer_borrowers)).scatter(
        fresh_slot, fresh_last
    )
    b_middle = b_middle.scatter(filer_slot, middle_name.gather(filer_borrowers))
    b_birth = np.empty(borrower_count, dtype=np.int64)
    b_birth[filer_slot] = birth_day[filer_borrowers]
    b_birth[fresh_slot] = fresh_birth
    b_location = np.empty(borrower_count, dtype=np.int64)
    b_location[filer_slot] = household_of[filer_borrowers]
    b_location[fresh_slot] = fresh_location
    lender_household = household_of[borrowed_from]
    # Borrowed W-2s fall in years before the lender's newest year, so the newest year
    # stays the lender's own last known address.
    w2_year = np.maximum(
        last_year[lender_household] - 1 - rng.integers(0, 3, borrower_count),
        first_year[lender_household] - 1,
    )
    step("borrowed SSNs")

    # --- assemble frames ----------------------------------------------------------------
    tin_text = tin_strings(tin_int)
    prior_itin_text = pl.select(
        pl.when(pl.lit(pl.Series(prior_itin_int >= 0)))
        .then(pl.lit(tin_strings(np.maximum(prior_itin_int, 0))))
        .otherwise(None)
    ).to_series()
    birth_date = pl.Series("date_of_birth", birth_day, dtype=pl.Int32).cast(pl.Date)
    taxpayers = pl.DataFrame(
        {
            "tin": tin_text.gather(order),
            "tin_type": pl.Series(np.where(itin_person[order], "ITIN", "SSN")),
            "first_name": first_name.gather(order),
            "middle_name": middle_name.gather(order),
            "last_name": last_name.gather(order),
            "suffix": suffix.gather(order),
            "date_of_birth": birth_date.gather(order),
            "prior_itin": prior_itin_text.gather(order),
        }
    )
    del prior_itin_text, birth_date, middle_kind, middle_full
    step("taxpayers")

    rank_of_person = np.empty(people, dtype=np.int32)
    rank_of_person[order] = np.arange(people, dtype=np.int32)
    borrowed_order = np.lexsort((w2_year, rank_of_person[borrowed_from]))
    borrowed_rows = pl.DataFrame(
        {
            "person": rank_of_person[borrowed_from][borrowed_order],
            "location_id": b_location[borrowed_order].astype(np.int32),
            "tax_year": w2_year[borrowed_order].astype(np.int16),
            "source_code": np.full(borrower_count, 1, dtype=np.int8),
            "borrower": borrowed_order.astype(np.int32),
        }
    )
    own_rows = pl.DataFrame(
        {
            "person": row_person,
            "location_id": row_location,
            "tax_year": row_year.astype(np.int16),
            "source_code": source_code,
            "borrower": np.full(len(row_person), -1, dtype=np.int32),
        }
    )
    del row_person, row_location, row_year, source_code
    # Own rows are already in (person, year) order; a merge keeps it without a full sort.
    address_rows = own_rows.merge_sorted(borrowed_rows, key="person")
    del own_rows, borrowed_rows
    step("addresses")

    adults_at_location = np.bincount(household_of, minlength=households).astype(np.int32)
    person_building = building_of_household[household_of]
    adults_in_building = np.bincount(person_building, minlength=buildings).astype(np.int32)
    # Common names in one building: only buildings with several adults can have them.
    crowded = np.flatnonzero(adults_in_building[person_building] > 1)
    name_key = pl.DataFrame(
        {
            "building": person_building[crowded],
            "first": first_name.gather(crowded),
            "last": last_name.gather(crowded),
        }
    ).with_columns(
        pl.col("first").str.normalize("NFKD").str.replace_all(r"\p{M}", ""),
        pl.col("last").str.normalize("NFKD").str.replace_all(r"\p{M}", ""),
    )
    same_name_in_building = np.zeros(people, dtype=bool)
    same_name_in_building[crowded] = (
        name_key.select(pl.len().over(["building", "first", "last"]) > 1).to_series().to_numpy()
    )
    del name_key, first_name, middle_name, last_name, suffix
    people_frame = pl.DataFrame(
        {
            "tin": tin_text.gather(order),
            "sex": pl.Series(np.where(male[order], "M", "F")),
            "household_id": household_of[order].astype(np.int32),
            "location_id": household_of[order].astype(np.int32),
            "building_id": person_building[order].astype(np.int32),
            "prior_location_id": prior_location[person_household].astype(np.int32),
            "older_location_id": older_location[person_household].astype(np.int32),
            "adults_at_address": adults_at_location[person_household],
            "adults_in_building": adults_in_building[person_building[order]],
            "itin_household": itin_household[person_household],
            "shared_house": shared_house[person_household],
            "hispanic_origin": hispanic_person[order],
            "namesake": namesake[order],
            "common_name_same_building": same_name_in_building[order],
            "lent_ssn": lender[order],
            "last_tax_year": last_year[person_household].astype(np.int16),
            "first_tax_year": first_year[person_household].astype(np.int16),
        }
    )
    borrowers = pl.DataFrame(
        {
            "borrowed_tin": tin_text.gather(borrowed_from),
            "first_name": b_first,
            "middle_name": b_middle,
            "last_name": b_last,
            "date_of_birth": pl.Series(b_birth, dtype=pl.Int32).cast(pl.Date),
            "own_tin": pl.select(
                pl.when(pl.lit(pl.Series(borrower_person >= 0)))
                .then(pl.lit(tin_text.gather(np.maximum(borrower_person, 0))))
                .otherwise(None)
            ).to_series(),
            "location_id": b_location.astype(np.int32),
            "w2_tax_year": w2_year.astype(np.int16),
        }
    )
    step("ground truth")
    return Population(
        seed=seed,
        taxpayers=taxpayers,
        address_rows=address_rows,
        people=people_frame,
        locations=locations,
        borrowers=borrowers,
    )


SOURCE_NAMES: tuple[str, ...] = ("1040", "W-2", "1099-NEC")


def address_chunks(population: Population, chunk_rows: int = 2_000_000) -> Iterator[pl.DataFrame]:
    """The reference address table (tin, street, unit, city, state, zip, tax_year,
    source, name_on_return) in slices, so 30+ million rows never sit in memory at once."""
    rows = population.address_rows
    locations = population.locations
    borrowers = population.borrowers
    borrower_name = borrowers["first_name"] + " " + borrowers["last_name"]
    sources = pl.Series(SOURCE_NAMES)
    for start in range(0, max(len(rows), 1), chunk_rows):
        chunk = rows.slice(start, chunk_rows)
        location = chunk["location_id"].to_numpy()
        borrower = chunk["borrower"].to_numpy()
        if borrower_name.is_empty():
            # A small population may lend no SSN at all: no index can point into the empty
            # list, and every return carries its filer's own name (null here).
            name = pl.Series(values=[None] * len(chunk), dtype=pl.String)
        else:
            name = pl.select(
                pl.when(pl.lit(pl.Series(borrower >= 0)))
                .then(pl.lit(borrower_name.gather(np.maximum(borrower, 0))))
                .otherwise(None)
            ).to_series()
        yield pl.DataFrame(
            {
                "tin": population.taxpayers["tin"].gather(chunk["person"].to_numpy()),
                "street": locations["street"].gather(location),
                "unit": locations["unit"].gather(location),
                "city": locations["city"].gather(location),
                "state": locations["state"].gather(location),
                "zip": locations["zip"].gather(location),
                "tax_year": chunk["tax_year"],
                "source": sources.gather(chunk["source_code"].to_numpy()),
                "name_on_return": name,
            }
        )


def address_table(population: Population) -> pl.DataFrame:
    """The whole reference address table in memory (for small populations and tests)."""
    return pl.concat(list(address_chunks(population)))
