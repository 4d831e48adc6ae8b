"""Train the identity model on synthetic data and save it as the package's artefact.

Training data are generated, never real: a population and an `adversarial` request
batch (every hard case at high rates) from `ftigate.synth`, with fixed seeds. The u
probabilities come from random request-taxpayer pairs (`estimate_u_using_random_sampling`,
seeded); the m probabilities from the synthetic ground truth (`estimate_m_from_label_column`
on the true TIN), which the generator knows exactly. The prior is not trained: it is set
at scoring time from the reference size (`score.settings_for`).

Two corrections follow, each recorded in the artefact:
- the household surname level (`model.HOUSEHOLD_SURNAME`) is weighed conditionally on the
  address agreeing (the chain rule P(surname, address) = P(address) P(surname | address)):
  its u is the share of pairs of different taxpayers sharing an address whose surnames
  agree, measured on the training reference, and the surname levels' m are the shares
  among true matches with and without an agreeing address;
- weights must fall as similarity falls (`model.make_monotone`): a keying slip never weighs
  more than an exact agreement.
A level training never observed (no true match, or no random pair, fell in it) makes
training fail unless `allow_unobserved` is set, in which case it is floored and listed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from splink import DuckDBAPI, Linker

from ftigate.resolve.model import (
    HOUSEHOLD_SURNAME,
    SIZE_SCALED_LEVELS,
    artefact_bytes,
    base_settings,
    make_monotone,
    monotone_violations,
)
from ftigate.resolve.reference import Reference, load_reference, term_frequencies
from ftigate.resolve.score import TF_COLUMNS, model_input
from ftigate.resolve.standardise import standard_requests

ADDRESS_AGREES = ("on_file", "variant", "misspelt")
"""the address levels under which the household surname level applies"""
SURNAME_WITHOUT_ADDRESS = ("exact", "one_of_two")
"""surname levels that, given the household level above them, occur only when the address does not agree"""


class TrainingError(Exception):
    """Training that would save a model not fit to decide."""


@dataclass(frozen=True)
class TrainingPlan:
    people: int = 300_000
    requests: int = 40_000
    profile: str = "adversarial"
    seed: int = 20250807
    u_max_pairs: float = 5e6
    allow_unobserved: bool = False


def train_model(plan: TrainingPlan, out: Path) -> dict[str, Any]:
    """Generate training data, fit the model, write the artefact to `out`; return its settings."""
    from ftigate.synth import generate_population, generate_requests
    from ftigate.synth.io import write_population
    from ftigate.synth.profiles import get_profile

    population = generate_population(plan.people, plan.seed)
    batch = generate_requests(
        population, plan.requests, get_profile(plan.profile), plan.seed + 1, profile_name=plan.profile
    )
    with tempfile.TemporaryDirectory(prefix="ftigate-train-") as work:
        folder = Path(work) / "population"
        write_population(population, folder)
        reference = load_reference(folder)
    del population
    requests = standard_requests(batch.requests).join(
        batch.truth.select(pl.col("request_id").alias("unique_id"), pl.col("true_tin").alias("person")),
        on="unique_id",
        how="left",
    )
    trained = fit(requests, reference, plan)
    unobserved = unobserved_levels(trained)
    bounded = bounded_levels(trained)
    if unobserved and not plan.allow_unobserved:
        raise TrainingError(
            "training observed no true match or no random pair in: "
            + ", ".join(unobserved)
            + " (more or harder training data, or allow unobserved levels to be floored)"
        )
    trained = floor_unobserved(trained, 1.0 / plan.u_max_pairs)
    floor_disagreement(trained)
    household_u, household_pairs = household_surname_u(reference)
    condition_household_surname(trained, household_u)
    monotone = make_monotone(trained)
    assert not monotone_violations(trained)
    metadata = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": {
            "generator": "ftigate.synth",
            "people": plan.people,
            "requests": plan.requests,
            "profile": plan.profile,
            "seed": plan.seed,
        },
        "u": f"random sampling, max_pairs={plan.u_max_pairs:g}, seed={plan.seed}",
        "m": "from synthetic ground truth (label column: true TIN)",
        "unobserved_levels_floored": unobserved,
        "unobserved_levels_bounded": bounded,
        "household_surname": {
            "u": household_u,
            "pairs_sharing_an_address": household_pairs,
            "rule": "u = share of pairs of different taxpayers sharing an address whose surnames agree; "
            "m = share of true matches with an agreeing address whose surnames agree",
        },
        "made_monotone": monotone,
        "disagreement_m_floor": MIN_DISAGREEMENT_M,
        "reference_size": reference.size,
        "size_scaled_levels": [list(level) for level in SIZE_SCALED_LEVELS],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_suffix(".json.partial")
    staging.write_bytes(artefact_bytes(trained, metadata))
    staging.replace(out)
    return trained


def fit(requests: pl.DataFrame, reference: Reference, plan: TrainingPlan) -> dict[str, Any]:
    """Splink's u (random sampling) and m (the `person` label) for the model's comparisons."""
    people = reference.people.with_columns(person=pl.col("unique_id"))
    con = duckdb.connect()
    try:
        db_api = DuckDBAPI(connection=con)
        left = db_api.register(
            model_input(requests).with_columns(requests["person"]).to_arrow(), table_name="requests"
        )
        right = db_api.register(
            model_input(people).with_columns(people["person"]).to_arrow(), table_name="taxpayers"
        )
        settings = base_settings()
        settings["probability_two_random_records_match"] = 0.5 / max(reference.size, 1)
        linker = Linker([left, right], settings)
        for column in TF_COLUMNS:
            tf = db_api.register(
                term_frequencies(reference.people, column).to_arrow(), table_name=f"tf_lookup_{column}"
            )
            linker.table_management.register_term_frequency_lookup(tf, column)
        linker.training.estimate_u_using_random_sampling(max_pairs=plan.u_max_pairs, seed=plan.seed)
        linker.training.estimate_m_from_label_column("person")
        trained: dict[str, Any] = linker.misc.save_model_to_json()
        return trained
    finally:
        con.close()


def _levels(settings: dict[str, Any], field: str) -> dict[str, dict[str, Any]]:
    from ftigate.resolve.model import COMPARISONS

    comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == field)
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    names = [lv.name for lv in COMPARISONS[field]] + ["else"]
    return dict(zip(names, levels, strict=True))


def _missing(settings: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(field, level, "m" or "u", bounded) for each level with no m or no u after training.
    `bounded`: a rule sets the value without the estimate, so none is needed: the else
    level's m (`floor_disagreement` sets it whenever it falls under MIN_DISAGREEMENT_M, as
    an unobserved one does), and the u of a level true matches did reach but no random
    pair in the sample did (a rare agreement: fewer than one in `u_max_pairs`, floored at
    that bound, which can only understate its weight)."""
    from ftigate.resolve.model import COMPARISONS

    missing = []
    for field in COMPARISONS:
        levels = _levels(settings, field)
        for name, level in levels.items():
            if (field, name) == HOUSEHOLD_SURNAME:
                continue  # its u is measured among households, not among random pairs
            m_seen = level.get("m_probability") not in (None, 0)
            if not m_seen:
                missing.append((field, name, "m", name == "else"))
            if level.get("u_probability") in (None, 0):
                missing.append((field, name, "u", m_seen and name != "else"))
    return missing


def unobserved_levels(settings: dict[str, Any]) -> list[str]:
    """`field: level (m|u)` for each probability training did not measure and no rule
    bounds (`_missing`): a level that may not work as declared, so training fails on it
    unless `allow_unobserved`."""
    return [f"{field}: {name} ({p})" for field, name, p, bounded in _missing(settings) if not bounded]


def bounded_levels(settings: dict[str, Any]) -> list[str]:
    """`field: level (m|u)` for each probability training did not measure that a rule sets
    instead (`_missing`): recorded in the artefact, never a reason to fail."""
    return [f"{field}: {name} ({p})" for field, name, p, bounded in _missing(settings) if bounded]


UNOBSERVED_M = 1e-3
"""m for a level no true match showed in training (allowed only when asked for)"""


def floor_unobserved(settings: dict[str, Any], u_floor: float) -> dict[str, Any]:
    """Give levels training never saw a small probability instead of none: m for a level no
    true match showed, u (at most one in the sampled pairs) for one no random pair showed."""
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels:
            if level.get("u_probability") in (None, 0):
                level["u_probability"] = u_floor
        for level in levels:
            if level.get("m_probability") in (None, 0):
                level["m_probability"] = UNOBSERVED_M
        total = sum(float(lv["m_probability"]) for lv in levels)
        for level in levels:
            level["m_probability"] = float(level["m_probability"]) / total
    return settings


MIN_DISAGREEMENT_M = 0.05
"""least share of true matches whose field disagrees outright (the else level): real files
hold wrong dates of birth, names keyed into the wrong field, values copied from another
person's record, which a generator that makes only the errors it was told to make does
not show (it leaves about 1 % in the else level of names and dates of birth). 5 % is the
per-field error rate Winkler works with for administrative lists (US Census Bureau,
Research Report RRS2005/02); measured rates run from 0.11 % (sex and date of birth wrong
or missing in English hospital records against the national register) to 53 % (their
postcodes: Hagger-Johnson et al., BMC Med Res Methodol 2017,
doi:10.1186/s12874-017-0306-8), so the
floor is a bound that keeps the model robust on files noisier than its training data, not
an estimate of one file's rate. A disagreement is still evidence against (about -4.3 bits
for a date of birth instead of -6.6 at a 1 % floor) and the gates still refuse a
conflicting date of birth or given name; the floor keeps one or two corrupted fields from
outweighing all the others that agree. Against 1 % it changed no wrong-person count on the
adversarial threshold sweep (bench/accuracy.py --sweep, 500k people, 50k requests)."""


def floor_disagreement(settings: dict[str, Any]) -> None:
    """Raise each comparison's else-level m to at least MIN_DISAGREEMENT_M (in place),
    scaling its other levels' m down to keep the sum."""
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        last = levels[-1]
        old = float(last["m_probability"])
        if old >= MIN_DISAGREEMENT_M:
            continue
        scale = (1.0 - MIN_DISAGREEMENT_M) / max(1.0 - old, 1e-12)
        for level in levels[:-1]:
            level["m_probability"] = float(level["m_probability"]) * scale
        last["m_probability"] = MIN_DISAGREEMENT_M


def household_surname_u(reference: Reference) -> tuple[float, int]:
    """P(surnames agree | two different taxpayers share an address on file), and the number
    of such pairs it was measured on. Surnames agree as the household level says: the same
    surname, one of two, or joined differently."""
    keys = (
        reference.people.select("unique_id", pl.col("addr_keys").alias("key"))
        .explode("key")
        .drop_nulls("key")
        .unique()
    )
    pairs = (
        keys.join(keys, on="key", suffix="_b")
        .filter(pl.col("unique_id") < pl.col("unique_id_b"))
        .select("unique_id", "unique_id_b")
        .unique()
    )
    names = reference.people.select("unique_id", "last_name", "last_fused", "surname_tokens")
    joined = pairs.join(names, on="unique_id").join(
        names.rename(lambda c: c if c == "unique_id" else f"{c}_b").rename({"unique_id": "unique_id_b"}),
        on="unique_id_b",
    )
    agree = (
        (pl.col("last_name") == pl.col("last_name_b"))
        | (pl.col("last_fused") == pl.col("last_fused_b"))
        | (pl.col("surname_tokens").list.set_intersection("surname_tokens_b").list.len() > 0)
    ).fill_null(False)
    if joined.height == 0:
        raise TrainingError("the training reference has no two taxpayers sharing an address")
    return float(joined.select(agree.mean()).item()), joined.height


def condition_household_surname(settings: dict[str, Any], household_u: float) -> None:
    """Make the surname comparison's weights conditional on the address (in place): the
    household level's m is P(surname agrees | address agrees, match) and its u the measured
    P(surname agrees | address agrees, non-match); the levels that only occur when the
    address does not agree get m given that."""
    address = _levels(settings, "address")
    surname = _levels(settings, "last_name")
    agreeing = sum(float(address[name]["m_probability"]) for name in ADDRESS_AGREES)
    _, name = HOUSEHOLD_SURNAME
    household = surname[name]
    household["m_probability"] = min(float(household["m_probability"]) / agreeing, 1.0)
    household["u_probability"] = household_u
    household["fix_u_probability"] = True
    household["fix_m_probability"] = True
    for other in SURNAME_WITHOUT_ADDRESS:
        level = surname[other]
        level["m_probability"] = min(float(level["m_probability"]) / max(1.0 - agreeing, 1e-9), 1.0)
