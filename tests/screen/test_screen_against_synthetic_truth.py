"""Screening agrees with the generator's ground truth, class by class, on hard batches."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ftigate.intake.letter import Letter
from ftigate.law.loader import default_law
from ftigate.screen.run import screen_files
from ftigate.synth import PROFILES, generate_population, generate_requests


@pytest.mark.parametrize(("profile", "seed"), [("adversarial", 11), ("court-2025", 12)])
def test_record_codes_match_the_deficiency_each_record_was_built_with(
    tmp_path: Path, profile: str, seed: int
) -> None:
    population = generate_population(20_000, seed=seed)
    batch = generate_requests(population, 4_000, PROFILES[profile], seed=seed, profile_name=profile)
    requests = tmp_path / "requests.csv"
    batch.requests.write_csv(requests)
    out = tmp_path / "screened.parquet"
    screen_files(Letter.model_validate(batch.letter), requests, out, default_law(), workers=1)

    screened = pl.read_parquet(out).join(batch.truth.select("request_id", "deficiency"), on="request_id")
    record_codes = screened.with_columns(
        pl.col("reasons")
        .list.eval(pl.element().filter(~pl.element().str.starts_with("LETTER_")))
        .alias("record_codes")
    )
    sufficient = record_codes.filter(pl.col("deficiency").is_null())
    wrongly_refused = sufficient.filter(pl.col("record_codes").list.len() > 0)
    assert wrongly_refused.height == 0, wrongly_refused.select("request_id", "record_codes").head(5)
    deficient = record_codes.filter(pl.col("deficiency").is_not_null())
    missed = deficient.filter(~pl.col("record_codes").list.contains(pl.col("deficiency")))
    assert missed.height == 0, missed.select("request_id", "deficiency", "record_codes").head(5)
    assert deficient.height > 50 and set(deficient["deficiency"].unique()) >= {
        "ADDRESS_PLACEHOLDER",
        "ADDRESS_ZIP_ONLY",
        "ADDRESS_INCOMPLETE",
        "ADDRESS_FACILITY_NO_LOCATION",
    }
