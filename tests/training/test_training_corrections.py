"""The corrections training applies before it saves a model: weights that fall as
similarity falls, the household surname weighed among households, no unobserved level
saved silently, and an artefact whose levels are not this version's refused."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ftigate.intake.errors import IntakeError
from ftigate.resolve.model import (
    COMPARISONS,
    base_settings,
    check_declaration,
    load_model,
    make_monotone,
    monotone_violations,
)
from ftigate.resolve.reference import Reference
from ftigate.training.identity import (
    MIN_DISAGREEMENT_M,
    bounded_levels,
    condition_household_surname,
    floor_disagreement,
    household_surname_u,
    unobserved_levels,
)


def _settings_with(weights: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Base settings with u = 0.01 and m chosen to give each named level its weight."""
    settings = base_settings()
    for comparison in settings["comparisons"]:
        field = comparison["output_column_name"]
        names = [lv.name for lv in COMPARISONS[field]] + ["else"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for name, level in zip(names, levels, strict=True):
            weight = weights.get(field, {}).get(
                name, -5.0 if name == "else" else 5.0 - names.index(name) * 0.5
            )
            level["u_probability"] = 0.01
            level["m_probability"] = 0.01 * 2.0**weight
    return settings


def _weight(settings: dict[str, Any], field: str, name: str) -> float:
    comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == field)
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    names = [lv.name for lv in COMPARISONS[field]] + ["else"]
    level = levels[names.index(name)]
    return math.log2(level["m_probability"] / level["u_probability"])


def test_a_keying_slip_never_outweighs_an_exact_agreement() -> None:
    settings = _settings_with({"tin": {"exact": 17.86, "former_itin": 16.7, "keying_slip": 18.19},
                               "address": {"building": 3.04, "zip": 8.57}})  # fmt: skip
    assert any("tin: keying_slip" in v for v in monotone_violations(settings))
    assert any("address: zip" in v for v in monotone_violations(settings))
    changed = make_monotone(settings)
    assert monotone_violations(settings) == []
    assert _weight(settings, "tin", "keying_slip") < _weight(settings, "tin", "exact")
    assert _weight(settings, "address", "zip") < _weight(settings, "address", "building")
    assert _weight(settings, "tin", "exact") == pytest.approx(17.86)
    assert changed


def test_a_sound_model_is_left_alone() -> None:
    settings = _settings_with({})
    before = copy.deepcopy(settings)
    assert make_monotone(settings) == []
    assert settings == before


def test_the_household_surname_is_weighed_among_people_who_share_an_address() -> None:
    people = pl.DataFrame(
        {"unique_id": ["1", "2", "3", "4", "5"],
         "last_name": ["LATTIMORE", "LATTIMORE", "LATTIMORE", "OKAFOR", "OKAFOR"],
         "last_fused": ["LATTIMORE", "LATTIMORE", "LATTIMORE", "OKAFOR", "OKAFOR"],
         "surname_tokens": [["LATTIMORE"]] * 3 + [["OKAFOR"]] * 2,
         "addr_keys": [[1], [1], [1, 2], [2], [9]]}
    )  # fmt: skip
    reference = Reference(
        people=people, source=Path("."), lent_returns=pl.DataFrame(), names_per_tin=pl.DataFrame()
    )
    u, pairs = household_surname_u(reference)
    # pairs sharing an address: (1,2), (1,3), (2,3) at 1, all Lattimore; (3,4) at 2, not
    assert (u, pairs) == (pytest.approx(3 / 4), 4)
    settings = _settings_with({"last_name": {"household": 9.0, "exact": 10.0}})
    condition_household_surname(settings, u)
    assert _weight(settings, "last_name", "household") < 1.0 < _weight(settings, "last_name", "exact")


def test_an_outright_disagreement_keeps_at_least_the_floor() -> None:
    settings = _settings_with({"dob": {"else": -20.0}})
    floor_disagreement(settings)
    comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == "dob")
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    assert levels[-1]["m_probability"] == MIN_DISAGREEMENT_M


def test_levels_training_never_saw_are_listed() -> None:
    settings = _settings_with({})
    comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == "first_name")
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    levels[1]["m_probability"] = None
    assert unobserved_levels(settings) == ["first_name: fused (m)"]


def test_a_level_a_rule_bounds_is_recorded_not_refused() -> None:
    """The else level's m (the disagreement floor sets it) and the u of a level true
    matches reached but no sampled random pair did (at most one in the sample) need no
    estimate; a level neither true matches nor random pairs reached does."""
    settings = _settings_with({})
    levels = {
        c["output_column_name"]: [lv for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        for c in settings["comparisons"]
    }
    levels["dob"][-1]["m_probability"] = 0
    levels["first_name"][1]["u_probability"] = None
    assert unobserved_levels(settings) == []
    assert bounded_levels(settings) == ["first_name: fused (u)", "dob: else (m)"]
    levels["first_name"][1]["m_probability"] = None
    assert unobserved_levels(settings) == ["first_name: fused (m)", "first_name: fused (u)"]
    assert bounded_levels(settings) == ["dob: else (m)"]


def test_an_artefact_with_other_levels_is_refused(tmp_path: Path) -> None:
    settings = copy.deepcopy(load_model().settings)
    check_declaration(settings)
    settings["comparisons"][0]["comparison_levels"].pop(2)
    with pytest.raises(IntakeError, match="comparison levels"):
        check_declaration(settings)
    (tmp_path / "m.json").write_text(json.dumps({"ftigate_model": {}, "splink_settings": settings}))
    with pytest.raises(IntakeError):
        load_model(tmp_path / "m.json")
