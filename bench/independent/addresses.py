"""Homes, and the many ways one home is written.

A home is a structured thing (house number, directional, street name, suffix, unit,
ZIP); filers, employers and agencies each write it their own way (Street/St/St.,
North/N, "Apt 4B"/"#4B"/"Unit 4B"/"4B", upper or mixed case, ZIP+4 sometimes). The
tester's truth never depends on parsing those writings: every request and return is
rendered from a known home. `usps_key` parses them back, with this module's own USPS
Publication 28 subset, only to score what ftigate released.

Street names are this tester's own (built from word lists below); ZIP codes, cities and
states are real, from the `zipcodes` package (offline), so screening's ZIP checks see
real ZIPs in their own states.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

import zipcodes

# canonical USPS suffix -> the ways people write it (the first is the full word)
SUFFIX_FORMS: dict[str, tuple[str, ...]] = {
    "ST": ("Street", "St", "St.", "Str"),
    "AVE": ("Avenue", "Ave", "Ave.", "Av"),
    "RD": ("Road", "Rd", "Rd."),
    "DR": ("Drive", "Dr", "Dr."),
    "LN": ("Lane", "Ln"),
    "BLVD": ("Boulevard", "Blvd", "Blvd."),
    "CT": ("Court", "Ct"),
    "PL": ("Place", "Pl"),
    "WAY": ("Way",),
    "CIR": ("Circle", "Cir"),
    "TER": ("Terrace", "Ter"),
    "PKWY": ("Parkway", "Pkwy"),
    "TRL": ("Trail", "Trl"),
}
SUFFIX_SHARE = {"ST": 30, "AVE": 18, "RD": 12, "DR": 12, "LN": 6, "BLVD": 4, "CT": 5, "PL": 3,
                "WAY": 4, "CIR": 2, "TER": 2, "PKWY": 1, "TRL": 1}  # fmt: skip
DIRECTION_FORMS: dict[str, tuple[str, ...]] = {
    "N": ("North", "N", "N."),
    "S": ("South", "S", "S."),
    "E": ("East", "E", "E."),
    "W": ("West", "W", "W."),
    "NE": ("Northeast", "NE"),
    "NW": ("Northwest", "NW"),
    "SE": ("Southeast", "SE"),
    "SW": ("Southwest", "SW"),
}
UNIT_FORMS = ("Apt {u}", "APT {u}", "Apt. {u}", "#{u}", "# {u}", "Unit {u}", "{u}", "Apartment {u}")

_BASES = ["Maple", "Cypress", "Willow", "Pearson", "Laurel", "Juniper", "Sycamore", "Hawthorne", "Magnolia", "Alder", "Birch", "Chestnut", "Dogwood", "Elm", "Fair", "Glen", "Harmon", "Ingram", "Jasper", "Kestrel", "Larkspur", "Merriweather", "Nightingale", "Orchard", "Pemberton", "Quarry", "Redwood", "Saddle", "Tamarack", "Upland", "Verbena", "Wexford", "Yarrow", "Zinnia", "Bramble", "Cobble", "Drift", "Ember", "Foxglove", "Grey", "Heron", "Iron", "Ash", "Oak", "Cedar", "Pine", "Spruce", "Aspen", "Hazel", "Linden", "Rowan", "Sumac", "Calloway", "Brenner", "Whitlock", "Ostrander", "Delacroix", "Fenwick", "Galloway", "Halvorsen", "Kimball", "Lowry", "Marchetti", "Norcross", "Pritchard", "Quimby", "Rutledge", "Stanhope", "Thornbury", "Vickery", "Winslow", "Ackerly", "Beaumont", "Carrow", "Dunmore", "Eastbrook", "Fairhaven", "Granger", "Holloway", "Islington", "Jessup", "Kingsley", "Lockhart", "Montclair"]
_ENDINGS = ("", "", "", "wood", "field", "dale", "view", "ridge", "brook", "crest", "ton")


def ordinal(n: int) -> str:
    """1 -> '1st', 12 -> '12th', 23 -> '23rd'."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def street_names() -> list[str]:
    """This tester's street names: word lists combined, plus numbered streets."""
    names = sorted({base + ending for base in _BASES for ending in _ENDINGS})
    return names + [ordinal(n) for n in range(1, 60)]


@dataclass(frozen=True, slots=True)
class Home:
    hid: int
    number: str
    predir: str  # canonical USPS directional or ""
    name: str  # street name in Title case
    suffix: str  # canonical USPS suffix
    postdir: str
    unit: str  # unit identifier ("4B") or "" for a house
    zip5: str
    plus4: str
    city: str
    state: str

    @property
    def line(self) -> tuple[str, str, str, str, str, str]:
        """The street line: what every unit of one building shares."""
        return (self.number, self.predir, self.name.upper(), self.suffix, self.postdir, self.zip5)

    @property
    def key(self) -> tuple[str, ...]:
        return (*self.line, self.unit.upper())


@dataclass(frozen=True, slots=True)
class Style:
    """How one writer writes an address."""

    case: str  # "title" | "upper" | "lower"
    suffix_form: int  # index into SUFFIX_FORMS[...] (clamped)
    direction_form: int
    unit_form: int
    zip_plus4: bool
    unit_in_street: bool = False


def _style_table() -> tuple[list[Style], list[float]]:
    """Every filer style with its weight (case, suffix form, directional form, unit form, ZIP+4)."""
    styles, weights = [], []
    for case, wc in (("title", 70), ("upper", 27), ("lower", 3)):
        for suffix_form, ws in enumerate((40, 45, 12, 3)):
            for direction_form, wd in enumerate((35, 55, 10)):
                for unit_form in range(len(UNIT_FORMS)):
                    for plus4, wz in ((False, 80), (True, 20)):
                        styles.append(Style(case, suffix_form, direction_form, unit_form, plus4))
                        weights.append(wc * ws * wd * wz)
    total, running, cumulative = sum(weights), 0.0, []
    for w in weights:
        running += w / total
        cumulative.append(running)
    return styles, cumulative


_FILER_STYLES, _FILER_CUMULATIVE = _style_table()
_PAYROLL_STYLES = [Style("upper", 1, 1, unit, plus4) for unit in (1, 3, 5) for plus4 in (False, True)]


def random_style(rng: random.Random, *, formal: bool = False) -> Style:
    """A filer's (or, `formal`, an employer's payroll system's) way of writing."""
    if formal:
        return rng.choice(_PAYROLL_STYLES)
    return rng.choices(_FILER_STYLES, cum_weights=_FILER_CUMULATIVE)[0]


def _cased(text: str, case: str) -> str:
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    return text


def suffix_text(suffix: str, form: int) -> str:
    forms = SUFFIX_FORMS[suffix]
    return forms[min(form, len(forms) - 1)]


def direction_text(direction: str, form: int) -> str:
    forms = DIRECTION_FORMS[direction]
    return forms[min(form, len(forms) - 1)]


def street_line(home: Home, style: Style, *, name: str | None = None, suffix: str | None = None) -> str:
    """The street line as `style` writes it; `name`/`suffix` replace the street name or the
    written suffix (misspelt, run together, left out)."""
    parts = [home.number]
    if home.predir:
        parts.append(direction_text(home.predir, style.direction_form))
    parts.append(home.name if name is None else name)
    written_suffix = suffix_text(home.suffix, style.suffix_form) if suffix is None else suffix
    if written_suffix:
        parts.append(written_suffix)
    if home.postdir:
        parts.append(direction_text(home.postdir, style.direction_form))
    return _cased(" ".join(parts), style.case)


def unit_text(home: Home, style: Style) -> str:
    return _cased(UNIT_FORMS[style.unit_form].format(u=home.unit), style.case) if home.unit else ""


def render(home: Home, style: Style) -> dict[str, str]:
    """street, unit, city, state, zip as one writer writes this home."""
    street = street_line(home, style)
    unit = unit_text(home, style)
    if unit and style.unit_in_street:
        street, unit = f"{street} {unit}", ""
    return {
        "street": street,
        "unit": unit,
        "city": _cased(home.city, style.case),
        "state": home.state,
        "zip": f"{home.zip5}-{home.plus4}" if style.zip_plus4 else home.zip5,
    }


# --- parsing back (scoring only) ------------------------------------------------------------------

_SUFFIX_OF = {form.upper().rstrip("."): canon for canon, forms in SUFFIX_FORMS.items() for form in forms}
_SUFFIX_OF.update({canon: canon for canon in SUFFIX_FORMS})
_DIRECTION_OF = {form.upper().replace(".", ""): canon for canon, forms in DIRECTION_FORMS.items() for form in forms}
_UNIT_WORDS = {"APT", "APARTMENT", "UNIT", "#", "STE", "SUITE"}


def usps_key(street: str, unit: str, zip_code: str) -> tuple[str, ...]:
    """(number, predir, name, suffix, postdir, zip5, unit) of an address this module wrote,
    in canonical USPS form: the same tuple as `Home.key` for every rendering of one home."""
    text = re.sub(r"[.,]", " ", (street or "").upper()).replace("#", " # ")
    tokens = text.split()
    unit_id = ""
    for i, token in enumerate(tokens):
        if token in _UNIT_WORDS and i + 1 < len(tokens) and i > 1:
            unit_id = tokens[i + 1]
            tokens = tokens[:i]
            break
    unit_tokens = re.sub(r"[.,]", " ", (unit or "").upper()).replace("#", " # ").split()
    unit_tokens = [t for t in unit_tokens if t not in _UNIT_WORDS]
    if unit_tokens:
        unit_id = unit_tokens[-1]
    number = tokens[0] if tokens and tokens[0].isdigit() else ""
    rest = tokens[1:] if number else tokens
    predir = postdir = suffix = ""
    if len(rest) > 1 and rest[-1] in _DIRECTION_OF and rest[-2] in _SUFFIX_OF:
        postdir = _DIRECTION_OF[rest[-1]]
        rest = rest[:-1]
    if len(rest) > 1 and rest[-1] in _SUFFIX_OF:
        suffix = _SUFFIX_OF[rest[-1]]
        rest = rest[:-1]
    if len(rest) > 1 and rest[0] in _DIRECTION_OF:
        predir = _DIRECTION_OF[rest[0]]
        rest = rest[1:]
    zip5 = (zip_code or "").strip()[:5]
    return (number, predir, " ".join(rest), suffix, postdir, zip5, unit_id)


# --- ZIP codes -------------------------------------------------------------------------------------

STATES = frozenset(
    ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"]
)
STATE_NAMES = {
    "CA": "California", "TX": "Texas", "FL": "Florida", "NY": "New York", "IL": "Illinois",
    "AZ": "Arizona", "GA": "Georgia", "NC": "North Carolina", "NJ": "New Jersey", "WA": "Washington",
    "CO": "Colorado", "NV": "Nevada", "MN": "Minnesota", "OR": "Oregon", "PA": "Pennsylvania",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Zip:
    zip5: str
    city: str
    state: str


@cache
def all_zips() -> dict[str, Zip]:
    """Every active ZIP code in the 50 states and DC (any type), by code."""
    out = {}
    for row in zipcodes.list_all():
        if row.get("active") and row["state"] in STATES:
            out[row["zip_code"]] = Zip(row["zip_code"], row["city"], row["state"])
    return out


@cache
def standard_zips() -> list[Zip]:
    """Active street-delivery ZIP codes (not PO box, military or single-organisation)."""
    return sorted(
        (Zip(r["zip_code"], r["city"], r["state"]) for r in zipcodes.list_all()
         if r.get("active") and r["state"] in STATES and r["zip_code_type"] == "STANDARD"),
        key=lambda z: z.zip5,
    )  # fmt: skip
