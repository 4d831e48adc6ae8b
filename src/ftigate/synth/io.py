"""Reading and writing synthetic data: the only module here that touches files.

Writes go through `ftigate.outputs.OutputFolder`: the output folder is new or empty (or,
with `force`, holds only ftigate's own earlier outputs), files are staged inside it
(0600; the folder 0700: a synthetic population is shaped like taxpayer data and is
treated like it) and renamed into place only when complete, so a failed or interrupted
run leaves no half-written output. Parquet writer options are fixed (zstd level 3, fixed
row groups, statistics on) so the same seed gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ftigate.outputs import OutputFolder
from ftigate.synth.population import Population, PopulationParams, address_chunks
from ftigate.synth.profiles import Profile
from ftigate.synth.requests import RequestBatch

GENERATOR_VERSION = "1"
ROW_GROUP_ROWS = 1_000_000
TAXPAYERS_FILE = "taxpayers.parquet"
ADDRESSES_FILE = "addresses.parquet"
# Generator ground truth (not reference data): what request generation needs to know.
PEOPLE_FILE = "synth_people.parquet"
LOCATIONS_FILE = "synth_locations.parquet"
BORROWERS_FILE = "synth_borrowers.parquet"
MANIFEST_FILE = "synth.json"

StepHook = Callable[[str], None]
ADDRESS_ROWS_SCHEMA = {
    "person": pl.Int32,
    "location_id": pl.Int32,
    "tax_year": pl.Int16,
    "source_code": pl.Int8,
    "borrower": pl.Int32,
}


def _arrow(frame: pl.DataFrame) -> pa.Table:
    # Plain (large) strings rather than string views: readable by every Parquet reader.
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def write_parquet(path: Path, frames: Iterable[pl.DataFrame]) -> int:
    """Write frames (same schema) as one Parquet file with deterministic settings."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for frame in frames:
            table = _arrow(frame)
            if writer is None:
                writer = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression="zstd",
                    compression_level=3,
                    use_dictionary=True,
                    write_statistics=True,
                    version="2.6",
                )
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            rows += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _manifest(**fields: Any) -> str:
    payload = {"generator_version": GENERATOR_VERSION, **fields}
    return json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"


def write_population(
    population: Population,
    out_dir: Path,
    params: PopulationParams | None = None,
    on_step: StepHook | None = None,
    *,
    force: bool = False,
) -> dict[str, int]:
    """Write the reference file and the generator's ground truth; returns row counts."""
    step = on_step or (lambda _: None)
    counts: dict[str, int] = {}
    with OutputFolder(out_dir, force=force, command="synth population") as folder:
        counts["taxpayers"] = write_parquet(
            folder.path(TAXPAYERS_FILE),
            (population.taxpayers.slice(s, ROW_GROUP_ROWS)
             for s in range(0, len(population.taxpayers), ROW_GROUP_ROWS)),
        )  # fmt: skip
        step("write taxpayers")
        counts["addresses"] = write_parquet(
            folder.path(ADDRESSES_FILE), address_chunks(population, ROW_GROUP_ROWS)
        )
        step("write addresses")
        write_parquet(folder.path(PEOPLE_FILE), [population.people])
        write_parquet(folder.path(LOCATIONS_FILE), [population.locations])
        write_parquet(folder.path(BORROWERS_FILE), [population.borrowers])
        folder.write_text(
            MANIFEST_FILE,
            _manifest(
                kind="population",
                seed=population.seed,
                people=len(population.taxpayers),
                address_rows=counts["addresses"],
                params=asdict(params or PopulationParams()),
            ),
        )
        step("write ground truth")
        folder.prepare()
        folder.commit()
    return counts


def read_population(directory: Path) -> Population:
    """Load a population written by `write_population` (without the address table,
    which request generation does not need; read addresses.parquet directly for it)."""
    directory = Path(directory)
    needed = [TAXPAYERS_FILE, PEOPLE_FILE, LOCATIONS_FILE, BORROWERS_FILE, MANIFEST_FILE]
    if not directory.is_dir():
        raise FileNotFoundError(f"population directory not found: {directory}")
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not a synthetic population (missing {', '.join(missing)})"
        )
    manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    return Population(
        seed=int(manifest["seed"]),
        taxpayers=pl.read_parquet(directory / TAXPAYERS_FILE),
        address_rows=pl.DataFrame(schema=ADDRESS_ROWS_SCHEMA),
        people=pl.read_parquet(directory / PEOPLE_FILE),
        locations=pl.read_parquet(directory / LOCATIONS_FILE),
        borrowers=pl.read_parquet(directory / BORROWERS_FILE),
    )


def letter_yaml(letter: dict[str, Any]) -> str:
    """The letter in the documented shape (signer inline, officers as a flow list)."""
    return yaml.safe_dump(
        letter, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )


def write_request_batch(
    batch: RequestBatch,
    out_dir: Path,
    profile: Profile,
    population_dir: Path | None = None,
    *,
    force: bool = False,
) -> None:
    with OutputFolder(out_dir, force=force, command="synth requests") as folder:
        folder.write_text("letter.yaml", letter_yaml(batch.letter))
        folder.write_csv("requests.csv", batch.requests)
        write_parquet(folder.path("truth.parquet"), [batch.truth])
        folder.write_text(
            MANIFEST_FILE,
            _manifest(
                kind="requests",
                seed=batch.seed,
                count=len(batch.requests),
                profile=batch.profile_name,
                rates=asdict(profile),
                population=str(population_dir) if population_dir else None,
            ),
        )
        folder.prepare()
        folder.commit()
