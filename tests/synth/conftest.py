"""Shared synthetic data for the synth tests: generated once per session, small sizes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ftigate.synth import io
from ftigate.synth.population import Population, address_table, generate_population
from ftigate.synth.profiles import PROFILES
from ftigate.synth.requests import RequestBatch, generate_requests

POPULATION_PEOPLE = 120_000
POPULATION_SEED = 11


@pytest.fixture(scope="session")
def population() -> Population:
    return generate_population(POPULATION_PEOPLE, POPULATION_SEED)


@pytest.fixture(scope="session")
def addresses(population: Population) -> pl.DataFrame:
    return address_table(population)


@pytest.fixture(scope="session")
def population_dir(population: Population, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "pop"
    io.write_population(population, out)
    return out


@pytest.fixture(scope="session")
def court_batch(population: Population) -> RequestBatch:
    return generate_requests(population, 80_000, PROFILES["court-2025"], 3, "court-2025")


@pytest.fixture(scope="session")
def clean_batch(population: Population) -> RequestBatch:
    return generate_requests(population, 20_000, PROFILES["clean"], 3, "clean")


@pytest.fixture(scope="session")
def adversarial_batch(population: Population) -> RequestBatch:
    return generate_requests(population, 20_000, PROFILES["adversarial"], 3, "adversarial")


@pytest.fixture(scope="session")
def all_batches(
    court_batch: RequestBatch, clean_batch: RequestBatch, adversarial_batch: RequestBatch
) -> dict[str, RequestBatch]:
    return {"court-2025": court_batch, "clean": clean_batch, "adversarial": adversarial_batch}
