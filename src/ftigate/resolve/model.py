"""The Fellegi-Sunter identity model: comparisons, blocking rules and the saved artefact.

Comparisons use only functions Splink's Spark backend also has (equality, Jaro-Winkler,
Damerau-Levenshtein, substr/cast, array intersection), so `--engine spark` can load the
same artefact. The artefact is a JSON file under `ftigate/resolve/models/`: Splink's own
settings (`linker.misc.save_model_to_json`) inside a small envelope that records the
model version, the Splink version, the training data and when it was trained. Every
decision records `model_version` (name + the artefact's SHA-256 prefix).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on

MODEL_NAME = "identity-v1"
MODEL_FILE = f"{MODEL_NAME}.json"

# Field comparisons, in the order they appear in the model (and in explanations).
FIELDS = ("first_name", "last_name", "dob", "tin", "address")


def _dob_near() -> cll.Or:
    """A keying slip in the date of birth: one character, day/month swapped, year or day off by one."""
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
    level = cll.Or(cll.DamerauLevenshteinLevel("dob", 1), cll.CustomLevel(sql))
    level.configure(label_for_charts="keying slip (one character, swap, off by one)")
    return level


def comparisons() -> list[Any]:
    # Splink's comparison base classes live in splink.internals; the list holds its
    # public comparison objects (typed Any so nothing private is imported).
    first = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
            cll.ExactMatchLevel("first_canon").configure(label_for_charts="nickname of one another"),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1)"
                " AND substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1)",
                label_for_charts="initial agrees",
            ),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.JaroWinklerLevel("first_name", 0.80),
            cll.ElseLevel(),
        ],
    )
    last = cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name").configure(tf_adjustment_column="last_name"),
            cll.Or(cll.ExactMatchLevel("last_fused"), cll.ArrayIntersectLevel("surname_tokens", 1)).configure(
                label_for_charts="one surname of two, or joined differently"
            ),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.JaroWinklerLevel("last_name", 0.80),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            _dob_near(),
            cll.ElseLevel(),
        ],
    )
    tin = cl.CustomComparison(
        output_column_name="tin",
        comparison_levels=[
            cll.NullLevel("tin"),
            cll.ExactMatchLevel("tin"),
            cll.CustomLevel("tin_l = prior_itin_r OR prior_itin_l = tin_r", label_for_charts="a former ITIN"),
            cll.DamerauLevenshteinLevel("tin", 1),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("addr_keys"),
            cll.ArrayIntersectLevel("addr_keys", 1).configure(
                label_for_charts="an address on file (street, unit, ZIP)"
            ),
            cll.ArrayIntersectLevel("near_keys", 1).configure(
                label_for_charts="same number, unit and ZIP; street misspelt"
            ),
            cll.ArrayIntersectLevel("street_keys", 1).configure(
                label_for_charts="same building, another or no unit"
            ),
            cll.ArrayIntersectLevel("zips", 1).configure(label_for_charts="same ZIP"),
            cll.ElseLevel(),
        ],
    )
    return [first, last, dob, tin, address]


# Levels of each comparison (gamma values) that the hard gates read. Splink numbers
# levels from the bottom: else = 0, and the null level is -1.
ADDRESS_CORROBORATING_LEVELS = (4, 3)  # exact address on file; street misspelt only
TIN_AGREEING_LEVELS = (3, 2, 1)  # same TIN, a former ITIN, one keying slip
DOB_AGREEING_LEVELS = (2, 1)  # same date, a keying slip
NAME_ELSE_LEVEL = 0


# Levels whose chance agreement is about one household or one person (an address on
# file, a TIN): their u falls as the reference grows (u ~ 1 / size), unlike names, dates
# and ZIPs, whose u is set by their own distributions. Trained u for these levels is
# rescaled to the reference the model scores against (`scaled_settings`).
SIZE_SCALED_LEVELS: tuple[tuple[str, int], ...] = (
    ("address", 4),
    ("address", 3),
    ("address", 2),
    ("tin", 3),
    ("tin", 2),
    ("tin", 1),
)


def blocking_rules() -> list[Any]:
    """Every plausible taxpayer for a request, and nothing else."""
    return [
        block_on("tin"),
        "l.tin = r.prior_itin",
        block_on("first_name", "dob"),
        block_on("name_zip_keys", arrays_to_explode=["name_zip_keys"]),
        block_on("addr_keys", arrays_to_explode=["addr_keys"]),
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
    raw = source.read_bytes()
    document = json.loads(raw)
    return ModelArtefact(
        settings=document["splink_settings"],
        metadata=document["ftigate_model"],
        digest=hashlib.sha256(raw).hexdigest(),
    )


def artefact_bytes(settings: dict[str, Any], metadata: dict[str, Any]) -> bytes:
    document = {
        "ftigate_model": {**metadata, "name": MODEL_NAME, "splink_version": splink.__version__},
        "splink_settings": settings,
    }
    return (json.dumps(document, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def m_u_table(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison level: field, level label, m, u and the match weight."""
    import math

    rows: list[dict[str, Any]] = []
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "field": comparison["output_column_name"],
                    "level": level.get("label_for_charts", level["sql_condition"]),
                    "m": m,
                    "u": u,
                    "weight": weight,
                }
            )
    return rows


def scaled_settings(settings: dict[str, Any], trained_size: int, reference_size: int) -> dict[str, Any]:
    """`settings` with the size-dependent u probabilities moved from the training reference's
    size to `reference_size` (the else level takes up the difference)."""
    import copy

    out = copy.deepcopy(settings)
    factor = trained_size / max(reference_size, 1)
    scaled = set(SIZE_SCALED_LEVELS)
    for comparison in out["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        count = len(levels)
        for position, level in enumerate(levels):
            gamma = count - 1 - position
            if (name, gamma) in scaled and level.get("u_probability"):
                level["u_probability"] = float(level["u_probability"]) * factor
        if levels and any((name, g) in scaled for g in range(count)):
            others = sum(float(lv["u_probability"]) for lv in levels[:-1])
            levels[-1]["u_probability"] = max(1.0 - others, 1e-9)
    return out
