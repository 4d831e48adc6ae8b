"""Train the identity model on synthetic data and save it as the package's artefact.

Training data are generated, never real: a population and an `adversarial` request
batch (every hard case at high rates) from `ftigate.synth`, with fixed seeds. The u
probabilities come from random request-taxpayer pairs (`estimate_u_using_random_sampling`,
seeded); the m probabilities from the synthetic ground truth (`estimate_m_from_label_column`
on the true TIN), which the generator knows exactly. The prior is not trained: it is set
at scoring time from the reference size (`score.settings_for`).
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

from ftigate.resolve.model import SIZE_SCALED_LEVELS, artefact_bytes, base_settings
from ftigate.resolve.reference import load_reference, term_frequencies
from ftigate.resolve.score import TF_COLUMNS, model_input
from ftigate.resolve.standardise import standard_requests


@dataclass(frozen=True)
class TrainingPlan:
    people: int = 200_000
    requests: int = 40_000
    profile: str = "adversarial"
    seed: int = 20250807
    u_max_pairs: float = 5e6


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
        trained = floor_unobserved(linker.misc.save_model_to_json(), 1.0 / plan.u_max_pairs)
    finally:
        con.close()
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
        "m": "from synthetic ground truth (label column: true TIN); unobserved levels floored",
        "reference_size": reference.size,
        "size_scaled_levels": [list(level) for level in SIZE_SCALED_LEVELS],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_suffix(".json.partial")
    staging.write_bytes(artefact_bytes(trained, metadata))
    staging.replace(out)
    return trained


UNOBSERVED_M = 1e-3
"""m for a level no true match showed in training (e.g. a wholly different date of birth):
real files do hold such errors, so the level must not become impossible for a match"""


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
