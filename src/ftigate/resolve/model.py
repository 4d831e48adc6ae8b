"""The Fellegi-Sunter identity model: comparisons declared as named levels, blocking rules
and the saved artefact.

Each comparison is declared once (`COMPARISONS`) as named levels, strongest first; the
Splink comparison, the level numbers the gates read (`gamma`) and the labels of an
explanation are all derived from that declaration, so nothing refers to a level by its
number. Comparisons use only functions Splink's Spark backend also has (equality,
Jaro-Winkler, Damerau-Levenshtein, substr/cast, array intersection), so `--engine spark`
can load the same artefact.

Households break Fellegi-Sunter's independence: relatives share a surname *and* an
address, so adding both weights counts one fact twice. The surname comparison therefore
has a level of its own for "the surname agrees and so does the address", whose weight is
measured among people who share an address (`HOUSEHOLD_SURNAME`): there a shared surname
says little more than "same household", and it is the given name, the date of birth or
the TIN that has to identify the person.

The artefact is a JSON file under `ftigate/resolve/models/`: Splink's own settings
(`linker.misc.save_model_to_json`) inside a small envelope that records the model
version, the Splink version, the training data and when it was trained. Every decision
records `model_version` (name + the artefact's SHA-256 prefix).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on

from ftigate.intake.errors import IntakeError

MODEL_NAME = "identity-v2"
MODEL_FILE = f"{MODEL_NAME}.json"


@dataclass(frozen=True)
class Level:
    """One named level of a comparison: what it means, how Splink tests it."""

    name: str
    label: str
    condition: Any
    """a Splink comparison-level creator (from `splink.comparison_level_library`)"""
    tf: bool = False
    """adjust the weight for how common the value is in the reference"""


def _slip_sql(left: str, right: str) -> str:
    """SQL: `left` and `right` (columns of at least three characters) one keying slip apart.

    Damerau-Levenshtein costs microseconds a pair and runs on most of the millions of pairs a
    batch scores, though few are near: it is asked only of pairs that pass two tests one slip
    always passes (in strings of three or more characters one edit leaves the first or the
    last character in place, and changes the length by at most one). The level is the same,
    at a sixth of the cost."""
    return (
        f"(substr({left}, 1, 1) = substr({right}, 1, 1)"
        f" OR substr({left}, length({left}), 1) = substr({right}, length({right}), 1))"
        f" AND abs(length({left}) - length({right})) <= 1"
        f" AND damerau_levenshtein({left}, {right}) <= 1"
    )


def _dob_slip() -> Any:
    """A keying slip in the date of birth: one character, day/month swapped, year or day off by one."""
    return cll.CustomLevel(f"{DOB_SLIP_GUARD} AND ({dob_slip_sql()})")


def dob_slip_sql() -> str:
    """SQL of `_dob_slip` without its guard (`DOB_SLIP_GUARD`)."""
    year_l, year_r = "CAST(substr(dob_l, 1, 4) AS INT)", "CAST(substr(dob_r, 1, 4) AS INT)"
    day_l, day_r = "CAST(substr(dob_l, 9, 2) AS INT)", "CAST(substr(dob_r, 9, 2) AS INT)"
    sql = (
        "("
        f"(substr(dob_l, 6, 5) = substr(dob_r, 6, 5) AND abs({year_l} - {year_r}) <= 1)"
        f" OR (substr(dob_l, 1, 7) = substr(dob_r, 1, 7) AND abs({day_l} - {day_r}) <= 1)"
        " OR (substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2)"
        " AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2))"
        ")"
    )
    return f"({_slip_sql('dob_l', 'dob_r')}) OR {sql}"


DOB_SLIP_GUARD = (
    "(substr(dob_l, 1, 4) = substr(dob_r, 1, 4) OR substr(dob_l, 6, 5) = substr(dob_r, 6, 5)"
    " OR length(dob_l) <> 10 OR length(dob_r) <> 10)"
)
"""Every branch of the date-of-birth slip keeps the year or the month and day of two
ten-character dates (one edit or swap of neighbours touches one side of the dash at most),
and the first and last characters of dates almost always agree, so without this test
Damerau-Levenshtein ran on nearly every pair; the level is the same."""


def _address_agrees() -> Any:
    """The requested address is one on file, a tolerated variant of one, or one misspelt."""
    return cll.Or(*(cll.ArrayIntersectLevel(c, 1) for c in ("addr_keys", "variant_keys", "near_keys")))


def _reversed_slip(left: str, right: str) -> Any:
    """`left` of the request one keying slip from `right` of the candidate (names swapped and
    one of them mistyped). DuckDB SQL; Splink's Spark backend registers the same function."""
    return cll.CustomLevel(
        f"{left}_l <> {right}_r AND length({left}_l) >= 3 AND length({right}_r) >= 3"
        f" AND {_slip_sql(left + '_l', right + '_r')}"
    )


FIRST_NAME_LEVELS = (
    Level("exact", "same given name", cll.ExactMatchLevel("first_name"), tf=True),
    Level(
        "fused", "same given name but for a space (Isab elle, Mary Ann)", cll.ExactMatchLevel("first_fused")
    ),
    Level(
        "swapped",
        "the given name written as the family name",
        cll.ColumnsReversedLevel("first_name", "last_name"),
    ),
    Level(
        "swapped_slip",
        "the given name written as the family name, one keying slip apart",
        _reversed_slip("first_name", "last_name"),
    ),
    Level(
        "nickname",
        "one is a nickname of the other (Bill / William, Tony / Antonio)",
        cll.CustomLevel(
            "first_canon_l = first_name_r OR first_name_l = first_canon_r"
            " OR list_contains(first_forms_r, first_name_l) OR list_contains(first_forms_l, first_name_r)"
        ),
    ),
    Level(
        "keying_slip",
        "one keying slip apart (one letter added, dropped, changed or two swapped)",
        cll.CustomLevel(
            "length(first_name_l) >= 3 AND length(first_name_r) >= 3 AND "
            + _slip_sql("first_name_l", "first_name_r")
        ),
    ),
    Level(
        "initial",
        "an initial of the other",
        cll.CustomLevel(
            "(length(first_name_l) = 1 OR length(first_name_r) = 1)"
            " AND substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1)"
        ),
    ),
    Level(
        "same_formal_name",
        "nicknames of one name, not of one another (Joey / Jose through Joseph)",
        cll.ExactMatchLevel("first_canon"),
    ),
    Level("similar", "similar spelling (Jaro-Winkler >= 0.92)", cll.JaroWinklerLevel("first_name", 0.92)),
    Level("resembling", "some resemblance (Jaro-Winkler >= 0.80)", cll.JaroWinklerLevel("first_name", 0.80)),
)
LAST_NAME_LEVELS = (
    Level(
        "household",
        "same surname (or one of two) at an address they share: weighed among people who share an address",
        cll.And(
            cll.Or(
                cll.ExactMatchLevel("last_name"),
                cll.ExactMatchLevel("last_fused"),
                cll.ArrayIntersectLevel("surname_tokens", 1),
            ),
            _address_agrees(),
        ),
    ),
    Level("exact", "same surname", cll.ExactMatchLevel("last_name"), tf=True),
    Level(
        "swapped",
        "the family name written as the given name",
        cll.ColumnsReversedLevel("last_name", "first_name"),
    ),
    Level(
        "swapped_slip",
        "the family name written as the given name, one keying slip apart",
        _reversed_slip("last_name", "first_name"),
    ),
    Level(
        "one_of_two",
        "one surname of two, or joined differently",
        cll.Or(cll.ExactMatchLevel("last_fused"), cll.ArrayIntersectLevel("surname_tokens", 1)),
    ),
    Level("similar", "similar spelling (Jaro-Winkler >= 0.92)", cll.JaroWinklerLevel("last_name", 0.92)),
    Level("resembling", "some resemblance (Jaro-Winkler >= 0.80)", cll.JaroWinklerLevel("last_name", 0.80)),
)
DOB_LEVELS = (
    Level("exact", "same date of birth", cll.ExactMatchLevel("dob")),
    Level("keying_slip", "keying slip (one character, day and month swapped, off by one)", _dob_slip()),
)
TIN_LEVELS = (
    Level("exact", "same TIN", cll.ExactMatchLevel("tin")),
    Level("former_itin", "a former ITIN", cll.CustomLevel("tin_l = prior_itin_r OR prior_itin_l = tin_r")),
    Level("keying_slip", "one digit slipped", cll.CustomLevel(_slip_sql("tin_l", "tin_r"))),
)
ADDRESS_LEVELS = (
    Level(
        "on_file",
        "an address on file (standard form of street, unit, ZIP)",
        cll.ArrayIntersectLevel("addr_keys", 1),
    ),
    Level(
        "variant",
        "an address on file with another suffix or directional, or the ZIP one keystroke off",
        cll.ArrayIntersectLevel("variant_keys", 1),
    ),
    Level(
        "misspelt", "same number, unit and ZIP; the street misspelt", cll.ArrayIntersectLevel("near_keys", 1)
    ),
    Level(
        "building",
        "same building (number, street, ZIP), another or no unit",
        cll.ArrayIntersectLevel("building_keys", 1),
    ),
    Level("zip", "same ZIP", cll.ArrayIntersectLevel("zips", 1)),
)

NULL_COLUMNS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "dob": "dob",
    "tin": "tin",
    "address": "addr_keys",
}
COMPARISONS: dict[str, tuple[Level, ...]] = {
    "first_name": FIRST_NAME_LEVELS,
    "last_name": LAST_NAME_LEVELS,
    "dob": DOB_LEVELS,
    "tin": TIN_LEVELS,
    "address": ADDRESS_LEVELS,
}
FIELDS = tuple(COMPARISONS)
"""field comparisons, in the order they appear in the model and in explanations"""

NULL_GAMMA, ELSE_GAMMA = -1, 0


def gamma(field: str, name: str) -> int:
    """The level number Splink gives the named level of `field` (else 0, null -1)."""
    levels = COMPARISONS[field]
    names = [level.name for level in levels]
    if name == "else":
        return ELSE_GAMMA
    if name == "null":
        return NULL_GAMMA
    return len(levels) - names.index(name)


def gammas(field: str, *names: str) -> tuple[int, ...]:
    return tuple(gamma(field, n) for n in names)


def level_name(field: str, value: int | None) -> str:
    """The name of level number `value` of `field` ("null" and "else" included)."""
    if value is None or value == NULL_GAMMA:
        return "null"
    if value == ELSE_GAMMA:
        return "else"
    levels = COMPARISONS[field]
    return levels[len(levels) - value].name


def comparisons() -> list[Any]:
    # Splink's comparison base classes live in splink.internals; the list holds its
    # public comparison objects (typed Any so nothing private is imported).
    out = []
    for field, levels in COMPARISONS.items():
        built: list[Any] = [cll.NullLevel(NULL_COLUMNS[field])]
        for level in levels:
            options: dict[str, Any] = {"label_for_charts": f"{level.name}: {level.label}"}
            if level.tf:
                options["tf_adjustment_column"] = field
            built.append(level.condition.configure(**options))
        built.append(cll.ElseLevel())
        out.append(cl.CustomComparison(output_column_name=field, comparison_levels=built))
    return out


# Levels whose chance agreement is about one household or one person (an address on
# file, a TIN): their u falls as the reference grows (u ~ 1 / size), unlike names, dates
# and ZIPs, whose u is set by their own distributions. Trained u for these levels is
# rescaled to the reference the model scores against (`scaled_settings`).
SIZE_SCALED_LEVELS: tuple[tuple[str, str], ...] = (
    ("address", "on_file"),
    ("address", "variant"),
    ("address", "misspelt"),
    ("address", "building"),
    ("tin", "exact"),
    ("tin", "former_itin"),
    ("tin", "keying_slip"),
)

HOUSEHOLD_SURNAME = ("last_name", "household")
"""the level whose u is measured among people who share an address, not among random pairs"""


def blocking_rules() -> list[Any]:
    """Every plausible taxpayer for a request, and nothing else (`score.blocked_pairs` finds
    the same pairs with joins)."""
    return [
        block_on("tin"),
        "l.tin = r.prior_itin",
        block_on("first_name", "dob"),
        block_on("name_zip_keys", arrays_to_explode=["name_zip_keys"]),
        block_on("addr_keys", arrays_to_explode=["addr_keys"]),
        # given and family names swapped
        "l.first_name = r.last_name AND l.last_name = r.first_name",
        # the given name and the ZIP mistyped, the surname and date of birth kept
        block_on("last_name", "dob"),
        # the ZIP slipped or mistyped: number, street name, unit and city kept
        block_on("variant_keys", arrays_to_explode=["variant_keys"]),
        # a date of birth and a ZIP: names misspelt or changed, the address written anew
        block_on("dob", "zips", arrays_to_explode=["zips"]),
        # house number, ZIP and both initials (in either order): the street name misspelt
        # or run together, the names mistyped or swapped
        block_on("house_initial_keys", arrays_to_explode=["house_initial_keys"]),
        # house number, unit, ZIP and the first three or last four letters of the street
        # name (one home, whoever is named): a misspelt street with names and a date of
        # birth that no other key keeps (a surname slip that changes its Soundex, another
        # given name, no TIN)
        block_on("near_keys", arrays_to_explode=["near_keys"]),
    ]


def base_settings() -> dict[str, Any]:
    from splink import SettingsCreator

    creator = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )
    return creator.get_settings("duckdb").as_dict()


@dataclass(frozen=True)
class ModelArtefact:
    """A trained model as saved: Splink settings plus provenance."""

    settings: dict[str, Any]
    metadata: dict[str, Any]
    digest: str

    @property
    def version(self) -> str:
        return f"{self.metadata.get('name', MODEL_NAME)}+{self.digest[:12]}"


def default_model_path() -> Path:
    return Path(str(resources.files("ftigate.resolve").joinpath("models", MODEL_FILE)))


def load_model(path: Path | None = None) -> ModelArtefact:
    source = path or default_model_path()
    try:
        raw = source.read_bytes()
        document = json.loads(raw)
        settings, metadata = document["splink_settings"], document["ftigate_model"]
    except (OSError, ValueError, KeyError, TypeError):
        raise IntakeError(source, "not a readable ftigate model artefact") from None
    check_declaration(settings, source)
    return ModelArtefact(settings=settings, metadata=metadata, digest=hashlib.sha256(raw).hexdigest())


def check_declaration(settings: dict[str, Any], source: Path | str = "model") -> None:
    """Raise IntakeError unless `settings` has exactly the comparisons and named levels that
    `COMPARISONS` declares (level numbers are derived from the declaration)."""
    found = {
        c.get("output_column_name"): [
            str(lv.get("label_for_charts", "")).split(":", 1)[0]
            for lv in c.get("comparison_levels", [])
            if not lv.get("is_null_level")
        ]
        for c in settings.get("comparisons", [])
    }
    expected = {
        field: [lv.name for lv in levels] + ["All other comparisons"] for field, levels in COMPARISONS.items()
    }
    if list(found) != list(expected) or any(found[f][:-1] != expected[f][:-1] for f in expected):
        raise IntakeError(source, "its comparison levels are not the ones this version of ftigate declares")


def artefact_bytes(settings: dict[str, Any], metadata: dict[str, Any]) -> bytes:
    document = {
        "ftigate_model": {**metadata, "name": MODEL_NAME, "splink_version": splink.__version__},
        "splink_settings": settings,
    }
    return (json.dumps(document, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def _named_levels(comparison: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    field = comparison["output_column_name"]
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    names = [lv.name for lv in COMPARISONS[field]] + ["else"]
    return list(zip(names, levels, strict=True))


def level_weight(level: dict[str, Any]) -> float:
    return math.log2(float(level["m_probability"]) / float(level["u_probability"]))


def m_u_table(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison level: field, level name and label, m, u and the match weight."""
    rows: list[dict[str, Any]] = []
    for comparison in settings["comparisons"]:
        for name, level in _named_levels(comparison):
            m, u = level.get("m_probability"), level.get("u_probability")
            rows.append(
                {
                    "field": comparison["output_column_name"],
                    "level": name,
                    "label": str(level.get("label_for_charts", "")).split(": ", 1)[-1],
                    "m": m,
                    "u": u,
                    "weight": math.log2(m / u) if m and u else None,
                }
            )
    return rows


MONOTONE_STEP = 0.01
"""bits by which a weaker level's weight must stay below a stronger one's (distinct weights
also let `score.with_levels` tell levels apart from their weights)"""

WEAKER_CHAINS: dict[str, tuple[tuple[str, ...], ...]] = {
    "first_name": (
        ("exact", "fused", "keying_slip", "similar", "resembling", "else"),
        ("exact", "swapped", "swapped_slip", "else"),
        ("exact", "nickname", "same_formal_name", "else"),
        ("exact", "initial", "else"),
    ),
    "last_name": (
        ("exact", "one_of_two", "else"),
        ("exact", "similar", "resembling", "else"),
        ("exact", "swapped", "swapped_slip", "else"),
    ),
    "dob": (("exact", "keying_slip", "else"),),
    "tin": (("exact", "former_itin", "else"), ("exact", "keying_slip", "else")),
    "address": (("on_file", "variant", "misspelt", "building", "zip", "else"),),
}
"""Per field, chains of levels each weaker than the one before it: weights must fall along
every chain (a keying slip never outweighs an exact agreement, the same building never
weighs less than the same ZIP). Levels of different kinds (a swap, a nickname) sit on
separate chains; the household surname, which conditions on the address, on none."""


def _chain_levels(settings: dict[str, Any]) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    out = []
    for comparison in settings["comparisons"]:
        field = comparison["output_column_name"]
        named = dict(_named_levels(comparison))
        for chain in WEAKER_CHAINS.get(field, ()):
            out.append((field, [(name, named[name]) for name in chain]))
    return out


def monotone_violations(settings: dict[str, Any]) -> list[str]:
    """Places where a weaker level weighs as much as or more than a stronger one (a keying
    slip above an exact agreement): empty for a sound model."""
    found = []
    for field, chain in _chain_levels(settings):
        for (upper, u_level), (lower, l_level) in itertools.pairwise(chain):
            w_upper, w_lower = level_weight(u_level), level_weight(l_level)
            if w_lower > w_upper - MONOTONE_STEP / 2:
                found.append(f"{field}: {lower} ({w_lower:+.2f} bits) >= {upper} ({w_upper:+.2f} bits)")
    return sorted(set(found))


def make_monotone(settings: dict[str, Any]) -> list[str]:
    """Lower, in place, the m of each level that outweighs a stronger one on its chain
    (`WEAKER_CHAINS`) to just below it; return what was changed.

    A level weighs log2(m / u); when training gives a weaker level a higher weight (a keying
    slip in a TIN seen too rarely among random pairs to estimate its u), the honest value
    is at most the stronger level's."""
    changed: dict[str, str] = {}
    for _ in range(len(WEAKER_CHAINS) * 4):
        moved = False
        for field, chain in _chain_levels(settings):
            ceiling = math.inf
            for name, level in chain:
                weight = level_weight(level)
                if weight > ceiling - MONOTONE_STEP / 2:
                    target = ceiling - MONOTONE_STEP
                    level["m_probability"] = float(level["u_probability"]) * 2.0**target
                    key = f"{field}: {name}"
                    first = changed.get(key, f"{key} {weight:+.2f}").split(" -> ")[0]
                    changed[key] = f"{first} -> {target:+.2f} bits"
                    weight, moved = target, True
                ceiling = weight
        if not moved:
            break
    return list(changed.values())


def scaled_settings(settings: dict[str, Any], trained_size: int, reference_size: int) -> dict[str, Any]:
    """`settings` with the size-dependent u probabilities moved from the training reference's
    size to `reference_size` (the else level takes up the difference)."""
    import copy

    out = copy.deepcopy(settings)
    factor = trained_size / max(reference_size, 1)
    scaled = set(SIZE_SCALED_LEVELS)
    for comparison in out["comparisons"]:
        field = comparison["output_column_name"]
        named = _named_levels(comparison)
        touched = False
        for name, level in named:
            if (field, name) in scaled and level.get("u_probability"):
                level["u_probability"] = float(level["u_probability"]) * factor
                touched = True
        if touched:
            others = sum(float(lv["u_probability"]) for _, lv in named[:-1])
            named[-1][1]["u_probability"] = max(1.0 - others, 1e-9)
    return out
