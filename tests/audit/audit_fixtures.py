"""Fixtures for the audit tests: a small court-2025 batch on disk, a hand-built
reference for the finding categories, and a CLI app carrying the audit commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer

from ftigate.cli import audit as audit_cli
from ftigate.synth import io
from ftigate.synth.population import generate_population
from ftigate.synth.profiles import PROFILES
from ftigate.synth.requests import generate_requests
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

PEOPLE = 5_000
REQUESTS = 3_000
SEED = 7


@dataclass(frozen=True)
class CourtBatch:
    population: Path
    letter: Path
    requests: Path
    truth: Path


@pytest.fixture(scope="session")
def court_batch(tmp_path_factory: pytest.TempPathFactory) -> CourtBatch:
    """A court-2025 batch of 3,000 requests against 5,000 synthetic taxpayers."""
    root = tmp_path_factory.mktemp("court")
    population = generate_population(PEOPLE, SEED)
    io.write_population(population, root / "pop")
    profile = PROFILES["court-2025"]
    batch = generate_requests(population, REQUESTS, profile, SEED, "court-2025")
    io.write_request_batch(batch, root / "req", profile)
    return CourtBatch(
        root / "pop",
        root / "req" / "letter.yaml",
        root / "req" / "requests.csv",
        root / "req" / "truth.parquet",
    )


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    """The audit commands on an app of their own (main.py registers them for users)."""
    app = typer.Typer()
    app.command("audit")(audit_cli.audit)
    app.add_typer(audit_cli.baseline_app, name="baseline")
    return app


# --- a hand-built reference: one household per finding category --------------------------

TAXPAYERS: list[dict[str, Any]] = [
    # tin, first, last, dob
    {"tin": "100000001", "first_name": "MARIA", "last_name": "GARCIA LOPEZ", "date_of_birth": "1984-03-02"},
    {
        "tin": "100000002",
        "first_name": "JOSE",
        "last_name": "GARCIA",
        "date_of_birth": "1960-01-15",
    },  # namesake Sr.
    {
        "tin": "100000003",
        "first_name": "JOSE",
        "last_name": "GARCIA",
        "date_of_birth": "1990-07-20",
    },  # namesake Jr.
    {
        "tin": "100000004",
        "first_name": "ANNA",
        "last_name": "SMITH",
        "date_of_birth": "1970-05-05",
    },  # SSN lender
    {
        "tin": "100000005",
        "first_name": "PEDRO",
        "last_name": "SMITHERS",
        "date_of_birth": "1988-09-09",
    },  # borrower, files
    {
        "tin": "100000006",
        "first_name": "LUIS",
        "last_name": "PEREZ",
        "date_of_birth": "1955-02-02",
    },  # namesake Sr.
    {
        "tin": "100000007",
        "first_name": "LUIS",
        "last_name": "PEREZ",
        "date_of_birth": "1985-03-03",
    },  # namesake Jr.
    {
        "tin": "100000008",
        "first_name": "MADELINE",
        "last_name": "LATTIMORE",
        "date_of_birth": "1979-06-01",
    },  # lives with Bobby; Melvin, a relative, is not in the file
    {
        "tin": "100000009",
        "first_name": "BOBBY",
        "last_name": "LATTIMORE",
        "date_of_birth": "1981-02-14",
    },
]
ADDRESSES: list[dict[str, Any]] = [
    # Maria moved: prior 1234 N Oak St Apt 4B (2022), now 77 Elm Ave (2024)
    {
        "tin": "100000001",
        "street": "1234 N Oak St",
        "unit": "Apt 4B",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "tax_year": 2022,
    },
    {
        "tin": "100000001",
        "street": "77 Elm Ave",
        "unit": "",
        "city": "Austin",
        "state": "TX",
        "zip": "78702",
        "tax_year": 2024,
    },
    # the Garcias share one house
    {
        "tin": "100000002",
        "street": "500 Pine Rd",
        "unit": "",
        "city": "El Paso",
        "state": "TX",
        "zip": "79901",
        "tax_year": 2024,
    },
    # Jr. has moved out: the house is his prior address
    {
        "tin": "100000003",
        "street": "500 Pine Rd",
        "unit": "",
        "city": "El Paso",
        "state": "TX",
        "zip": "79901",
        "tax_year": 2022,
    },
    {
        "tin": "100000003",
        "street": "12 Mesa St",
        "unit": "",
        "city": "El Paso",
        "state": "TX",
        "zip": "79902",
        "tax_year": 2024,
    },
    # the Perez namesakes both live at one address now
    {
        "tin": "100000006",
        "street": "700 Oak Ln",
        "unit": "",
        "city": "Laredo",
        "state": "TX",
        "zip": "78040",
        "tax_year": 2024,
    },
    {
        "tin": "100000007",
        "street": "700 Oak Ln",
        "unit": "",
        "city": "Laredo",
        "state": "TX",
        "zip": "78040",
        "tax_year": 2024,
    },
    # the lender, and a W-2 filed under her SSN by the borrower at his address
    {
        "tin": "100000004",
        "street": "9 Lake Dr",
        "unit": "",
        "city": "Dallas",
        "state": "TX",
        "zip": "75201",
        "tax_year": 2024,
    },
    {
        "tin": "100000004",
        "street": "31 Hill St",
        "unit": "",
        "city": "Houston",
        "state": "TX",
        "zip": "77002",
        "tax_year": 2023,
        "name_on_return": "PEDRO SMITHERS",
    },
    # a W-2 under her SSN by a worker who files nothing himself
    {
        "tin": "100000004",
        "street": "8 Bay St",
        "unit": "",
        "city": "Houston",
        "state": "TX",
        "zip": "77003",
        "tax_year": 2022,
        "name_on_return": "LUIS SMALL",
    },
    # the Lattimores' house, as their returns write it
    {
        "tin": "100000008",
        "street": "6241 MAPLE ST",
        "unit": "",
        "city": "Springfield",
        "state": "IL",
        "zip": "62704",
        "tax_year": 2024,
    },
    {
        "tin": "100000009",
        "street": "6241 MAPLE ST",
        "unit": "",
        "city": "Springfield",
        "state": "IL",
        "zip": "62704",
        "tax_year": 2024,
    },
    {
        "tin": "100000005",
        "street": "31 Hill St",
        "unit": "",
        "city": "Houston",
        "state": "TX",
        "zip": "77002",
        "tax_year": 2024,
    },
]


def write_reference(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        [{**t, "tin_type": "SSN", "middle_name": "", "suffix": "", "prior_itin": None} for t in TAXPAYERS],
        schema_overrides={"prior_itin": pl.String},
    ).with_columns(pl.col("date_of_birth").str.to_date()).write_parquet(directory / "taxpayers.parquet")
    pl.DataFrame(
        [{"name_on_return": None, "source": "1040", **a} for a in ADDRESSES],
        schema_overrides={"name_on_return": pl.String, "tax_year": pl.Int16},
    ).write_parquet(directory / "addresses.parquet")
    return directory


@dataclass(frozen=True)
class HandBatch:
    root: Path
    letter: Path
    requests: Path
    reference: Path

    def disclosed(self, rows: list[dict[str, str]], name: str = "disclosed.csv") -> Path:
        path = self.root / name
        pl.DataFrame(
            rows, schema=dict.fromkeys(("request_id", "street", "unit", "city", "state", "zip"), pl.String)
        ).write_csv(path)
        return path


LETTER = merge(BASE_LETTER, {"officers": ["A100", "A101", "A102", "A103", "A104"]})
OFFICERS = list(LETTER["officers"])

# request index -> overrides; one request per category
HAND_REQUESTS: dict[int, dict[str, str]] = {
    # lawful: Maria by her prior address (she moved), TIN and DOB agree
    1: {"tin": "100-00-0001"},
    # a typo in the street line still corroborates
    2: {"tin": "", "street": "1234 N Oka St"},
    # ADDRESS_NOT_CORROBORATED: name and TIN agree, the address is not one on file
    3: {"tin": "100000001", "street": "42 Nowhere Blvd", "unit": "", "zip": "78703"},
    # AMBIGUOUS_IDENTITY: "Jose Garcia" at the house (Sr.'s home, Jr.'s prior address), no TIN or DOB
    4: {
        "first_name": "Jose",
        "last_name": "Garcia",
        "tin": "",
        "date_of_birth": "",
        "street": "500 Pine Rd",
        "unit": "",
        "city": "El Paso",
        "zip": "79901",
    },
    # WRONG_PERSON_DISCLOSED: the borrower, with the lender's SSN (name control SMIT agrees)
    5: {
        "first_name": "Pedro",
        "last_name": "Smithers",
        "tin": "100000004",
        "date_of_birth": "1988-09-09",
        "street": "31 Hill St",
        "unit": "",
        "city": "Houston",
        "zip": "77002",
    },
    # namesakes sharing the address released: a note, not a finding
    7: {
        "first_name": "Luis",
        "last_name": "Perez",
        "tin": "",
        "date_of_birth": "",
        "street": "700 Oak Ln",
        "unit": "",
        "city": "Laredo",
        "zip": "78040",
    },
    # a screening code: a placeholder address that passes the 2025 ZIP-shape filter
    6: {"tin": "100000001", "street": "Don't Care 12345", "unit": "", "city": "", "state": "", "zip": ""},
}


@pytest.fixture
def hand_batch(tmp_path: Path) -> HandBatch:
    rows = [record(i, OFFICERS, **over) for i, over in HAND_REQUESTS.items()]
    letter = write_letter(tmp_path / "letter.yaml", merge(LETTER, {"record_count": len(rows)}))
    requests = write_requests(tmp_path / "requests.csv", rows)
    return HandBatch(tmp_path, letter, requests, write_reference(tmp_path / "reference"))


MARIA_NOW = {"street": "77 Elm Ave", "unit": "", "city": "Austin", "state": "TX", "zip": "78702"}
PEREZ_HOUSE = {"street": "700 Oak Ln", "unit": "", "city": "Laredo", "state": "TX", "zip": "78040"}
GARCIA_HOUSE = {"street": "500 Pine Rd", "unit": "", "city": "El Paso", "state": "TX", "zip": "79901"}
LENDER_HOME = {"street": "9 Lake Dr", "unit": "", "city": "Dallas", "state": "TX", "zip": "75201"}
BORROWER_HOME = {"street": "31 Hill St", "unit": "", "city": "Houston", "state": "TX", "zip": "77002"}
LATTIMORE_HOUSE = {"street": "6241 MAPLE ST", "unit": "", "city": "Springfield", "state": "IL", "zip": "62704"}
JR_NOW = {"street": "12 Mesa St", "unit": "", "city": "El Paso", "state": "TX", "zip": "79902"}
