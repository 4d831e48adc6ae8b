"""R2, the heart of screening: does a record set forth a real address?

26 U.S.C. 6103(i)(2)(B)(i) requires the request to set forth the taxpayer's
address. The 2025 process accepted anything that was not blank or that held
something shaped like a ZIP code; the court found about 42,695 disclosures
made on such entries unlawful. This module decides, for each distinct address,
which ADDRESS_* code (if any) applies.

It works in two tiers, because the common shapes are easy and the rare ones
are not:

* a vectorised pre-classifier (Polars expressions, Rust regexes on both cores)
  settles placeholders, facilities, boxes, rural routes, "number + name +
  suffix" streets, streets without numbers and bare numbers;
* whatever it cannot settle goes to usaddress (a CRF parser, about 6,000
  addresses a second per core), in worker processes when there are many.

The vocabularies come from the rule files (placeholder and facility words)
and from usaddress-scourgify's USPS Publication 28 tables (street suffixes,
directionals, unit designators, state names); ZIP existence and the ZIP's
state come from the `zipcodes` package (`ftigate.facts.zips`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache

import polars as pl
import usaddress
from scourgify import address_constants as pub28

from ftigate.facts.address import zip5
from ftigate.facts.zips import zip_table
from ftigate.law.model import Parameters
from ftigate.screen.distinct import per_distinct, per_distinct_rows

ADDRESS_COLUMNS = ("street", "unit", "city", "state", "zip")

MISSING = "ADDRESS_MISSING"
PLACEHOLDER = "ADDRESS_PLACEHOLDER"
ZIP_ONLY = "ADDRESS_ZIP_ONLY"
INCOMPLETE = "ADDRESS_INCOMPLETE"
FACILITY = "ADDRESS_FACILITY_NO_LOCATION"
ZIP_INVALID = "ADDRESS_ZIP_INVALID"
ADDRESS_CODES = (MISSING, PLACEHOLDER, ZIP_ONLY, INCOMPLETE, FACILITY, ZIP_INVALID)

# Street verdicts before the locality (city/state/ZIP) is checked.
_OK = "OK"
_SLOW = "SLOW"

# Below this many undecided addresses the parser runs in-process: starting
# workers costs more than it saves.
PARALLEL_MIN_ADDRESSES = 2000

_TERRITORY_NAMES = {
    "DISTRICT OF COLUMBIA": "DC",
    "PUERTO RICO": "PR",
    "GUAM": "GU",
    "VIRGIN ISLANDS": "VI",
    "US VIRGIN ISLANDS": "VI",
    "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP",
    "MARSHALL ISLANDS": "MH",
    "FEDERATED STATES OF MICRONESIA": "FM",
    "PALAU": "PW",
    "ARMED FORCES AMERICAS": "AA",
    "ARMED FORCES EUROPE": "AE",
    "ARMED FORCES PACIFIC": "AP",
}

# Street-name pre-types (the type word comes before the name): Spanish street
# names and numbered highways, which carry no suffix after the name.
_PRE_TYPES = (
    "CALLE",
    "AVENIDA",
    "AVE",
    "AVENUE",
    "CAMINO",
    "CAMINITO",
    "PASEO",
    "VIA",
    "VISTA",
    "CALLEJON",
    "CARRETERA",
    "CARR",
    "PLAZA",
    "CIRCULO",
    "CALZADA",
    "ALAMEDA",
    "RUE",
    "HWY",
    "HIGHWAY",
    "STATE HIGHWAY",
    "STATE HWY",
    "STATE ROUTE",
    "STATE RD",
    "STATE ROAD",
    "COUNTY ROAD",
    "COUNTY RD",
    "CO RD",
    "CR",
    "SR",
    "FM",
    "RANCH ROAD",
    "RR",
    "US HIGHWAY",
    "US HWY",
    "US ROUTE",
    "US",
    "INTERSTATE",
    "ROUTE",
    "RTE",
    "RT",
    "FARM TO MARKET ROAD",
    "FARM ROAD",
)


@dataclass(frozen=True)
class AddressVocabulary:
    """Regular expressions built once from the law's parameters and Pub. 28 tables."""

    placeholder: str
    facility: str
    box: str
    street: str
    pre_type_street: str
    number_last_street: str
    nameless_street: str
    bare_number: str
    facility_words: tuple[str, ...]
    placeholder_words: frozenset[str]


def _alt(words: Iterable[str]) -> str:
    # Longest first so "STATE ROUTE" wins over "STATE".
    unique = sorted({w.strip().upper() for w in words if w.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in unique) + ")"


@cache
def _vocabulary(placeholder_words: tuple[str, ...], facility_words: tuple[str, ...]) -> AddressVocabulary:
    suffixes = set(pub28.STREET_TYPE_ABBREVIATIONS) | set(pub28.STREET_TYPE_ABBREVIATIONS.values())
    directions = set(pub28.DIRECTIONAL_REPLACEMENTS) | set(pub28.DIRECTIONAL_REPLACEMENTS.values())
    units = (
        set(pub28.OCCUPANCY_TYPE_ABBREVIATIONS)
        | set(pub28.OCCUPANCY_TYPE_ABBREVIATIONS.values())
        | {
            "APT",
            "UNIT",
            "STE",
            "SUITE",
            "RM",
            "ROOM",
            "FL",
            "FLOOR",
            "BLDG",
            "LOT",
            "SPC",
            "SPACE",
            "TRLR",
            "DEPT",
            "PH",
            "BSMT",
            "REAR",
            "FRNT",
            "UPPR",
            "LOWR",
            "SIDE",
        }
    )
    number = r"\d+[A-Z]?(?:\s*[-/]\s*\d+[A-Z]?)?(?:\s+1/2)?"
    direction = _alt(directions)
    suffix = _alt(suffixes)
    unit = rf"(?:\s+(?:{_alt(units)}\s*#?\s*[A-Z0-9-]*|#\s*[A-Z0-9-]+))?"
    name_words = r"(?:[A-Z0-9][A-Z0-9/-]*\s+)+"
    tail = rf"(?:\s+{direction})?{unit}$"
    return AddressVocabulary(
        placeholder=rf"^(?:{_alt(placeholder_words)}(?:\s+|$))+$",
        facility=rf"\b{_alt(facility_words)}\b",
        box=(
            r"^(?:(?:P\s*O|POST\s+OFFICE|POST)\s*(?:BOX|BX|B)|BOX|POB|CALLER|DRAWER|LOCKBOX)\s*#?\s*\d+"
            r"|^(?:RR|R\s+R|RURAL\s+ROUTE|RURAL\s+RTE|RFD|HC|HCR|HIGHWAY\s+CONTRACT|HWY\s+CONTRACT"
            r"|STAR\s+ROUTE|STAR\s+RTE)\s*#?\s*\d+\s+(?:BOX|BX)\s*#?\s*\d+"
            r"|^(?:PSC|CMR|UNIT)\s+\d+\s+(?:BOX|BX)\s+\d+"
            r"|^GENERAL\s+DELIVERY$"
        ),
        street=rf"^{number}\s+(?:{direction}\s+)?{name_words}{suffix}{tail}",
        pre_type_street=rf"^{number}\s+(?:{direction}\s+)?{_alt(_PRE_TYPES)}\s+[A-Z0-9]",
        number_last_street=rf"^(?:CALLE|AVENIDA|AVE|CARR|CARRETERA|PASEO|CAMINO)\s+.+\s+#?\s*\d+[A-Z]?{unit}$",
        nameless_street=(
            rf"^(?:{direction}\s+)?(?:(?:{name_words}{suffix})|(?:{_alt(_PRE_TYPES)}\s+[A-Z][A-Z ]*))"
            rf"(?:\s+{direction})?$"
        ),
        bare_number=r"^\d+[A-Z]?(?:\s*-\s*\d+)?$",
        facility_words=tuple(w.upper() for w in facility_words),
        placeholder_words=frozenset(w.upper() for w in placeholder_words),
    )


def vocabulary_for(params: Parameters) -> AddressVocabulary:
    return _vocabulary(tuple(params.address_placeholder_words), tuple(params.facility_words))


@cache
def zip_states() -> pl.DataFrame:
    """Every ZIP code the `zipcodes` package knows, with its state (one state per ZIP)."""
    table = zip_table()
    return table.select(pl.col("zip_code").alias("zip5"), pl.col("state").alias("zip_state")).unique("zip5")


@cache
def zip_cities() -> pl.DataFrame:
    """zip5, city (normalised): every city name the `zipcodes` package accepts for a ZIP."""
    table = zip_table()
    pairs = table.select(pl.col("zip_code").alias("zip5"), pl.col("cities").alias("city")).explode("city")
    return pairs.select("zip5", normalise(pl.col("city")).alias("city")).unique()


@cache
def state_names() -> pl.DataFrame:
    """Accepted ways of writing a state, mapped to its two-letter code."""
    codes = set(zip_states()["zip_state"].to_list())
    names: dict[str, str] = {c: c for c in codes}
    for name, code in pub28.STATE_ABBREVIATIONS.items():
        names.setdefault(name.upper(), code)
    for name, code in _TERRITORY_NAMES.items():
        names.setdefault(name, code)
    return pl.DataFrame({"state_norm": list(names), "state_code": list(names.values())})


def normalise(expr: pl.Expr) -> pl.Expr:
    """Upper-case, strip accents, drop apostrophes, turn other punctuation into spaces
    (one space for a run of them, and of spaces)."""
    # The last pass rewrites only what is not already a single space between words: a run
    # of two or more other characters, or one that is not a space (as `reason_text` does).
    return (
        expr.fill_null("")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z0-9#/-]{2,}|[^A-Z0-9#/ -]", " ")
        .str.strip_chars(" -")
    )


def _with_real_city(work: pl.DataFrame) -> pl.DataFrame:
    """`_real_city`: the city field is a name the ZIP database accepts for the ZIP given."""
    known = zip_cities().select(
        pl.col("zip5").alias("_zip5"), pl.col("city").alias("_c"), pl.lit(True).alias("_real_city")
    )

    def real_city(places: pl.DataFrame) -> pl.DataFrame:
        keyed = places.with_columns(zip5(pl.col("_z")).alias("_zip5"))
        joined = keyed.join(known, on=["_zip5", "_c"], how="left", maintain_order="left")
        return joined.with_columns(pl.col("_real_city").fill_null(False)).drop("_zip5")

    # Many addresses share a ZIP and city: each pair is looked up once.
    return per_distinct_rows(work, ["_z", "_c"], real_city)


def _street_verdict(work: pl.DataFrame, vocab: AddressVocabulary) -> pl.DataFrame:
    """`work` with `_verdict`: an ADDRESS_* code, _OK, or _SLOW (for usaddress)."""
    s = pl.col("_s")
    u = pl.col("_u")
    # `_s` is `normalise`d: its only white space is single spaces, so only the runs of two
    # or more that taking out numbers and signs leaves need closing up.
    residual = (
        s.str.replace_all(r"[/#]", " ")
        .str.replace_all(r"\b\d+\b", " ")
        .str.replace_all(r" {2,}", " ")
        .str.strip_chars()
    )
    city_residual = pl.col("_c").str.replace_all(r"\b\d+\b", " ").str.strip_chars()
    # "Street, MD 21154" is a town: a city field that names the ZIP's own city is no placeholder
    city_placeholder = city_residual.str.contains(vocab.placeholder) & ~pl.col("_real_city")
    # Each test once, as a column: the verdict below reads several of them more than once.
    tests = {
        "_locality_empty": (pl.col("_c") == "") & (pl.col("_st") == "") & (pl.col("_z") == ""),
        "_is_placeholder": (
            ((residual != "") & residual.str.contains(vocab.placeholder))
            | ((s != "") & s.str.contains(r"^[0\s-]+$"))
            | ((s != "") & s.str.contains(r"^[X#?*\s-]+$"))
            | ((s == "") & (city_residual != "") & city_placeholder)
        ),
        "_has_facility": s.str.contains(vocab.facility),
        "_is_box": s.str.contains(vocab.box),
        "_is_street": (
            s.str.contains(vocab.street)
            | s.str.contains(vocab.pre_type_street)
            | s.str.contains(vocab.number_last_street)
        ),
        "_has_digit": s.str.contains(r"\d"),
        # A house-number-like token; ordinals ("5th Way") are street names, not numbers.
        "_has_number": s.str.contains(r"\b\d+(?:[A-Z]|-\d+)?\b"),
        "_zip_like": s.str.contains(r"^\d{5}(?:\s*-?\s*\d{4})?$"),
        "_bare_number": s.str.contains(vocab.bare_number),
        "_nameless_street": s.str.contains(vocab.nameless_street),
    }
    locality_empty, is_placeholder, has_facility, is_box, is_street = (
        pl.col(c) for c in ("_locality_empty", "_is_placeholder", "_has_facility", "_is_box", "_is_street")
    )
    has_digit, has_number, zip_like = pl.col("_has_digit"), pl.col("_has_number"), pl.col("_zip_like")
    everything_empty = (s == "") & (u == "") & locality_empty
    verdict = (
        pl.when(everything_empty)
        .then(pl.lit(MISSING))
        .when(has_facility & ~is_box & ~is_street & ~has_digit)
        .then(pl.lit(FACILITY))
        .when(has_facility & ~is_box & ~is_street)
        .then(pl.lit(_SLOW))
        .when(is_placeholder)
        .then(pl.lit(PLACEHOLDER))
        .when((s == "") & (u == ""))
        .then(pl.lit(ZIP_ONLY))
        .when(s == "")
        .then(pl.lit(INCOMPLETE))
        # A single-line address crammed into the street field: the parser finds
        # the locality inside it.
        .when(locality_empty & ~zip_like)
        .then(pl.lit(_SLOW))
        .when(is_box | is_street)
        .then(pl.lit(_OK))
        .when(zip_like & ((pl.col("_z") == "") | (s.str.slice(0, 5) == pl.col("_z").str.slice(0, 5))))
        .then(pl.lit(ZIP_ONLY))
        .when(pl.col("_bare_number"))
        .then(pl.lit(INCOMPLETE))
        .when(~has_number & pl.col("_nameless_street"))
        .then(pl.lit(INCOMPLETE))
        .otherwise(pl.lit(_SLOW))
    )
    judged = work.with_columns(**tests).with_columns(verdict.alias("_verdict"))
    return judged.drop(list(tests))


@dataclass(frozen=True)
class ParsedStreet:
    """What the slow path learned from one address: the street verdict and any locality."""

    verdict: str
    city: str = ""
    state: str = ""
    zip: str = ""


def parse_with_usaddress(text: str, facility_words: Sequence[str]) -> ParsedStreet:
    """Classify one address string with usaddress. Pure: same text, same answer."""
    if not text.strip():
        return ParsedStreet(ZIP_ONLY)
    try:
        tags, _ = usaddress.tag(text)
        labels = {label: value for label, value in tags.items()}
    except usaddress.RepeatedLabelError as exc:
        labels = {}
        for token, label in exc.parsed_string:
            labels[label] = (labels.get(label, "") + " " + token).strip()
    except Exception:
        return ParsedStreet(INCOMPLETE)
    has_number = "AddressNumber" in labels
    has_name = "StreetName" in labels or "StreetNamePreType" in labels
    has_box = "USPSBoxID" in labels or {"USPSBoxGroupType", "USPSBoxGroupID"} <= set(labels)
    if "LandmarkName" in labels and "GENERAL DELIVERY" in labels["LandmarkName"].upper():
        has_box = True
    locality = {
        "city": labels.get("PlaceName", ""),
        "state": labels.get("StateName", ""),
        "zip": labels.get("ZipCode", ""),
    }
    upper = text.upper()
    if (has_number and has_name) or has_box:
        return ParsedStreet(_OK, **locality)
    if any(re.search(rf"\b{re.escape(w)}\b", upper) for w in facility_words):
        return ParsedStreet(FACILITY, **locality)
    if has_number or has_name or "OccupancyIdentifier" in labels:
        return ParsedStreet(INCOMPLETE, **locality)
    street_labels = set(labels) - {"PlaceName", "StateName", "ZipCode", "CountryName"}
    if not street_labels:
        return ParsedStreet(ZIP_ONLY, **locality)
    return ParsedStreet(INCOMPLETE, **locality)


def _parse_many(texts: list[str], facility_words: tuple[str, ...]) -> list[ParsedStreet]:
    return [parse_with_usaddress(t, facility_words) for t in texts]


def _slow_path(
    texts: list[str], facility_words: tuple[str, ...], pool: ProcessPoolExecutor | None
) -> list[ParsedStreet]:
    if pool is None or len(texts) < PARALLEL_MIN_ADDRESSES:
        return _parse_many(texts, facility_words)
    workers = int(getattr(pool, "_max_workers", 2))
    size = -(-len(texts) // (workers * 4))
    parts = [texts[i : i + size] for i in range(0, len(texts), size)]
    results = pool.map(_parse_many, parts, [facility_words] * len(parts))
    return [r for part in results for r in part]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parser_pool(workers: int | None = None) -> ProcessPoolExecutor | None:
    """Worker processes for the address parser, or None when one process is asked for.

    Spawned, not forked: forking a process that runs Polars' thread pool can deadlock.
    Create one per batch and pass it to every `classify_addresses` call."""
    count = workers or default_workers()
    if count <= 1:
        return None
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))


# Parsed texts a batch remembers across its chunks (about 200 bytes each); beyond this
# many, new texts are parsed without being remembered, so memory stays bounded.
PARSED_CACHE_MAX = 500_000


def classify_addresses(
    frame: pl.DataFrame,
    params: Parameters,
    *,
    pool: ProcessPoolExecutor | None = None,
    parsed_cache: dict[str, ParsedStreet] | None = None,
) -> pl.DataFrame:
    """Add `address_code` (an ADDRESS_* code, or null when the address suffices).

    `frame` must hold the string columns street, unit, city, state, zip; rows
    should be distinct (callers deduplicate so each address is judged once).
    Each distinct text the parser is given is parsed once: distinct addresses can clean
    to one text, and `parsed_cache` (one dict per batch) carries the answers from chunk to
    chunk. The parser is pure, so a remembered answer is the answer.
    """
    vocab = vocabulary_for(params)
    # Distinct addresses still share their unit, city, state and ZIP: each is cleaned once.
    work = frame.with_columns(
        per_distinct(frame["street"], normalise).alias("_s"),
        per_distinct(frame["unit"], normalise).alias("_u"),
        per_distinct(frame["city"], normalise).alias("_c"),
        per_distinct(frame["state"], normalise).alias("_st"),
        per_distinct(frame["zip"], lambda z: z.fill_null("").str.replace_all(r"[\s-]", "")).alias("_z"),
    )
    work = _street_verdict(_with_real_city(work), vocab)

    slow_mask = work["_verdict"] == _SLOW
    if slow_mask.any():
        idx = slow_mask.arg_true()
        slow = work[idx]
        texts = [
            ", ".join(p for p in parts if p)
            for parts in zip(slow["_s"], slow["_u"], slow["_c"], slow["_st"], slow["_z"], strict=True)
        ]
        known = parsed_cache if parsed_cache is not None else {}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        fresh = dict(zip(todo, _slow_path(todo, vocab.facility_words, pool), strict=True))
        if parsed_cache is not None:
            room = max(0, PARSED_CACHE_MAX - len(parsed_cache))
            parsed_cache.update(itertools.islice(fresh.items(), room))
        parsed = [fresh[t] if t in fresh else known[t] for t in texts]
        blank = pl.Series([""] * work.height, dtype=pl.String)
        found = {
            "_verdict": work["_verdict"].scatter(idx, [p.verdict for p in parsed]),
            "_p_c": blank.clone().scatter(idx, [p.city for p in parsed]),
            "_p_st": blank.clone().scatter(idx, [p.state for p in parsed]),
            "_p_z": blank.clone().scatter(idx, [re.sub(r"[\s-]", "", p.zip) for p in parsed]),
        }
        work = work.with_columns(
            found["_verdict"].alias("_verdict"),
            *(
                pl.when(pl.col(col) == "")
                .then(normalise(pl.lit(found["_p" + col])))
                .otherwise(pl.col(col))
                .alias(col)
                for col in ("_c", "_st")
            ),
            pl.when(pl.col("_z") == "").then(pl.lit(found["_p_z"])).otherwise(pl.col("_z")).alias("_z"),
        )

    work = _check_locality(work)
    return work.select(
        *frame.columns,
        pl.when(pl.col("_verdict") == _OK)
        .then(pl.col("_locality_code"))
        .otherwise(pl.col("_verdict"))
        .alias("address_code"),
    )


def _check_locality(work: pl.DataFrame) -> pl.DataFrame:
    """ZIP existence and ZIP/state agreement, for addresses whose street part is sound."""
    z = pl.col("_z")
    # the one ZIP rule (facts.address.zip5): a ZIP+4, or leading zeros a spreadsheet dropped
    work = work.with_columns(zip5(z).alias("_zip5"), pl.col("_st").alias("_state_norm"))
    # Rows keep their order: callers lay the codes beside their own rows.
    work = work.join(zip_states(), left_on="_zip5", right_on="zip5", how="left", maintain_order="left")
    work = work.join(
        state_names(), left_on="_state_norm", right_on="state_norm", how="left", maintain_order="left"
    )
    has_zip_text = z != ""
    state_given = pl.col("_st") != ""
    code = (
        pl.when(state_given & pl.col("state_code").is_null())
        .then(pl.lit(ZIP_INVALID))
        .when(has_zip_text & pl.col("_zip5").is_null())
        .then(pl.lit(ZIP_INVALID))
        .when(has_zip_text & pl.col("zip_state").is_null())
        .then(pl.lit(ZIP_INVALID))
        .when(has_zip_text & state_given & (pl.col("zip_state") != pl.col("state_code")))
        .then(pl.lit(ZIP_INVALID))
        .when(~has_zip_text & ~(state_given & (pl.col("_c") != "")))
        .then(pl.lit(INCOMPLETE))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return work.with_columns(code.alias("_locality_code"))


def check_address(
    street: str | None,
    unit: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    params: Parameters,
) -> str | None:
    """One address's code (None when it suffices). For tests and single lookups."""
    frame = pl.DataFrame(
        {"street": [street], "unit": [unit], "city": [city], "state": [state], "zip": [zip_code]},
        schema=dict.fromkeys(ADDRESS_COLUMNS, pl.String),
    )
    code = classify_addresses(frame, params)["address_code"][0]
    return None if code is None else str(code)
