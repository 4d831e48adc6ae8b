"""Synthetic taxpayer files and 6103(i)(2) request batches with ground truth.

All data is synthetic. Typical use (pure, in memory; see `ftigate.synth.io` to write):

    from ftigate.synth import PROFILES, generate_population, generate_requests
    population = generate_population(5_000, seed=7)
    batch = generate_requests(population, 300, PROFILES["court-2025"], seed=7)
    batch.letter, batch.requests, batch.truth
"""

from ftigate.synth.population import (
    Population,
    PopulationParams,
    address_chunks,
    address_table,
    generate_population,
)
from ftigate.synth.profiles import (
    DEFICIENCY_CODES,
    HARD_CASE_LABELS,
    PROFILES,
    Profile,
    get_profile,
)
from ftigate.synth.requests import RequestBatch, generate_requests

__all__ = [
    "DEFICIENCY_CODES",
    "HARD_CASE_LABELS",
    "PROFILES",
    "Population",
    "PopulationParams",
    "Profile",
    "RequestBatch",
    "address_chunks",
    "address_table",
    "generate_population",
    "generate_requests",
    "get_profile",
]
