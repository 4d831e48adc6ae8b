"""Hand-built hard cases for the process tests: a small reference file with one hand-built taxpayer (or group) per hard case, padded
with a synthetic population so term frequencies and the prior are realistic, and one
request per case with the exact decision a lawful process must reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import typer

from ftigate.synth import generate_population
from ftigate.synth.io import write_population

PADDING_PEOPLE = 3000
PADDING_SEED = 41


def cli_app() -> typer.Typer:
    """The ftigate command line as users run it."""
    from ftigate.cli.main import app

    return app


# Hand-built taxpayers: tin, first, middle, last, dob, prior_itin, and address rows
# (street, unit, city, state, zip, year, source, name_on_return).
PEOPLE: list[dict[str, Any]] = [
    {"tin": "101010101", "first": "Ana", "last": "Torres", "dob": "1981-04-12",
     "addresses": [("4410 Quillfeather Ln", "", "Austin", "TX", "78701", 2024)]},
    {"tin": "101010102", "first": "Peter", "last": "Walsh", "dob": "1975-09-30",
     "addresses": [("88 Marrowbone Ct", "", "Dayton", "OH", "45402", 2021),
                   ("88 Marrowbone Ct", "", "Dayton", "OH", "45402", 2022),
                   ("902 Lanternfly Way", "", "Columbus", "OH", "43215", 2024)]},
    {"tin": "101010103", "first": "Linda", "last": "Park", "dob": "1990-02-02",
     "addresses": [("17 Thistledown Rd", "", "Denver", "CO", "80202", 2024)]},
    {"tin": "101010104", "first": "Gary", "last": "Olson", "dob": "1960-07-07",
     "addresses": [("5 Juniperhollow Dr", "", "Boise", "ID", "83702", 2023),
                   ("5 Juniperhollow Dr", "", "Boise", "ID", "83702", 2024),
                   ("31 Saltmarsh Ave", "Apt 3C", "Phoenix", "AZ", "85004", 2022, "W-2", "ROSA RAMIREZ"),
                   ("640 Cobblecreek Blvd", "", "Tucson", "AZ", "85701", 2022, "W-2", "LUIS PENA")]},
    {"tin": "900701234", "first": "Rosa", "last": "Ramirez", "dob": "1992-11-21",
     "addresses": [("31 Saltmarsh Ave", "Apt 3C", "Phoenix", "AZ", "85004", 2024)]},
    {"tin": "101010106", "first": "Jorge", "last": "Castillo", "dob": "1988-03-15", "prior_itin": "900711111",
     "addresses": [("73 Birchwhistle Pl", "", "Fresno", "CA", "93721", 2024)]},
    {"tin": "101010107", "first": "Robert", "last": "Miller", "suffix": "SR", "dob": "1950-05-05",
     "addresses": [("260 Oldmill Run Rd", "", "Macon", "GA", "31201", 2024)]},
    {"tin": "101010108", "first": "Robert", "last": "Miller", "suffix": "JR", "dob": "1980-08-08",
     "addresses": [("260 Oldmill Run Rd", "", "Macon", "GA", "31201", 2024)]},
    *[
        {"tin": f"10101020{k}", "first": first, "last": last, "dob": f"198{k}-01-1{k}",
         "addresses": [("1500 Harborlight St", "", "Oakland", "CA", "94607", 2024)]}
        for k, (first, last) in enumerate(
            [("Chen", "Wei"), ("Dmitri", "Volkov"), ("Amara", "Okafor"), ("Tomas", "Reyes"), ("Priya", "Nair")]
        )
    ],
    {"tin": "101010301", "first": "Maria", "last": "Garcia", "dob": "1979-12-01",
     "addresses": [("100 Sunflowerfield Ave", "Apt 1A", "Houston", "TX", "77002", 2024)]},
    {"tin": "101010302", "first": "Maria", "last": "Garcia", "dob": "1985-06-19",
     "addresses": [("100 Sunflowerfield Ave", "Apt 2B", "Houston", "TX", "77002", 2024)]},
    {"tin": "101010401", "first": "Samuel", "last": "Torres", "dob": "1970-10-10",
     "addresses": [("12 Glimmerstone Ct", "", "Tampa", "FL", "33602", 2024)]},
    {"tin": "101010402", "first": "Helen", "last": "Brandt", "dob": "1966-03-21",
     "addresses": [("3390 Foxgloveridge Rd", "", "Omaha", "NE", "68102", 2024)]},
    {"tin": "101010403", "first": "Oscar", "last": "Lindqvist", "dob": "1959-01-30",
     "addresses": [("71 Pebblebrook Ln", "", "Madison", "WI", "53703", 2024)]},
    {"tin": "101010404", "first": "Nora", "last": "Fitzgerald", "dob": "1995-07-04",
     "addresses": [("8 Hill Pl", "", "Lansing", "MI", "48933", 2024)]},
    {"tin": "101010405", "first": "José", "last": "Núñez", "dob": "1983-09-09",
     "addresses": [("45 Calle Mariposa", "", "El Paso", "TX", "79901", 2024)]},
    {"tin": "101010406", "first": "Elena", "last": "Garcia Lopez", "dob": "1991-01-25",
     "addresses": [("909 Windmere Crossing Dr", "", "Reno", "NV", "89501", 2024)]},
    {"tin": "101010407", "first": "William", "last": "Hartigan", "dob": "1972-12-12",
     "addresses": [("61 Ravenscroft Ave", "", "Salem", "OR", "97301", 2024)]},
    {"tin": "101010408", "first": "Kevin", "last": "Brookshire", "dob": "1987-02-14",
     "addresses": [("2201 Tamarack Bend Rd", "", "Duluth", "MN", "55802", 2024)]},
    {"tin": "101010409", "first": "Grace", "last": "Whitcombe", "dob": "1969-06-06",
     "addresses": [("14 Larkspur Hollow Ln", "", "Albany", "NY", "12207", 2024)]},
    {"tin": "101010410", "first": "Felix", "last": "Ambrose", "dob": "1977-04-04",
     "addresses": [("530 Copperleaf Ct", "", "Billings", "MT", "59101", 2024)]},
    {"tin": "101010411", "first": "Irene", "last": "Castellanos", "dob": "1958-08-18",
     "addresses": [("76 Driftwood Pointe Dr", "", "Mobile", "AL", "36602", 2024)]},
    # A household of relatives as filers write it (Street in full); Melvin, named in a
    # request at their home, files nothing.
    *[
        {"tin": tin, "first": first, "last": "Lattimore", "dob": dob,
         "addresses": [("6241 Maple Street", "", "Saint Paul", "MN", "55104", 2024)]}
        for tin, first, dob in (("101010501", "Madeline", "1968-02-11"), ("101010502", "Misty", "1994-05-23"),
                                ("101010503", "Bobby", "1997-10-30"))
    ],
    {"tin": "101010504", "first": "Jose", "last": "Larson Guerrero", "dob": "1972-03-03",
     "addresses": [("8436 S Cypress Rd", "", "Tucson", "AZ", "85705", 2024)]},
    {"tin": "101010505", "first": "Luis", "last": "Ortega", "dob": "1984-12-24",
     "addresses": [("77 Calle del Sol", "Apt 4", "San Antonio", "TX", "78205", 2024)]},
    {"tin": "101010506", "first": "Dolores", "last": "Whitfield", "dob": "1963-06-30",
     "addresses": [("12 Pearson St", "", "Savannah", "GA", "31401", 2024)]},
    {"tin": "101010507", "first": "Hannah", "last": "Kowalczyk", "dob": "1989-09-01",
     "addresses": [("2142 Willow Blvd", "Apt 1B", "Miami", "FL", "33130", 2024)]},
    {"tin": "101010508", "first": "Marcus", "last": "Abernathy", "dob": "1979-11-11",
     "addresses": [("19 Priddle Street", "", "Fargo", "ND", "58102", 2024)]},
    {"tin": "101010509", "first": "Antonio", "last": "Bellweather", "dob": "1961-05-17",
     "addresses": [("308 Quarry Hill Rd", "", "Keene", "NH", "03431", 2024)]},
    # A Sr. who files; his son of the same name, if there is one, does not.
    {"tin": "101010510", "first": "Walter", "last": "Pryce", "suffix": "SR", "dob": "1949-03-08",
     "addresses": [("415 Hollyberry Ln", "", "Akron", "OH", "44308", 2024)]},
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    label: str
    request: dict[str, str]
    decision: str
    reasons: tuple[str, ...] = ()
    street: str = ""
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _req(
    first: str, last: str, dob: str, tin: str, street: str, unit: str, city: str, state: str, zip_: str
) -> dict[str, str]:
    return {"first_name": first, "last_name": last, "date_of_birth": dob, "tin": tin, "street": street,
            "unit": unit, "city": city, "state": state, "zip": zip_}  # fmt: skip


CASES: list[Case] = [
    Case("ordinary", _req("Ana", "Torres", "1981-04-12", "101-01-0101", "4410 Quillfeather Ln", "", "Austin", "TX", "78701"),
         "disclose", street="4410 Quillfeather Ln"),
    Case("moved_prior_address", _req("Peter", "Walsh", "1975-09-30", "101010102", "88 Marrowbone Ct", "", "Dayton", "OH", "45402"),
         "disclose", street="902 Lanternfly Way", note="a prior address corroborates; the newest is disclosed"),
    Case("address_not_on_file", _req("Linda", "Park", "1990-02-02", "101010103", "4410 Quillfeather Ln", "", "Austin", "TX", "78701"),
         "refuse", ("ADDRESS_NOT_CORROBORATED",), note="name, TIN and DOB match: the 2025 script would have disclosed"),
    Case("not_in_file", _req("Zebulon", "Quartermaine", "1999-09-09", "", "17 Thistledown Rd", "", "Denver", "CO", "80202"),
         "refuse", ("NO_MATCH",)),
    Case("borrowed_ssn", _req("Rosa", "Ramirez", "1992-11-21", "101010104", "31 Saltmarsh Ave", "Apt 3C", "Phoenix", "AZ", "85004"),
         "disclose", street="31 Saltmarsh Ave", note="the lent SSN is explained by a W-2 in her name at her address"),
    Case("borrowed_ssn", _req("Luis", "Pena", "1990-01-01", "101010104", "640 Cobblecreek Blvd", "", "Tucson", "AZ", "85701"),
         "refuse", ("TIN_CONFLICT",), note="not a filer: the SSN's holder must not be disclosed"),
    Case("itin_to_ssn", _req("Jorge", "Castillo", "1988-03-15", "900-71-1111", "73 Birchwhistle Pl", "", "Fresno", "CA", "93721"),
         "disclose", street="73 Birchwhistle Pl"),
    Case("namesake_household", _req("Robert", "Miller", "1980-08-08", "", "260 Oldmill Run Rd", "", "Macon", "GA", "31201"),
         "disclose", street="260 Oldmill Run Rd", note="the date of birth tells Jr. from Sr."),
    Case("namesake_household", _req("Robert", "Miller", "", "", "260 Oldmill Run Rd", "", "Macon", "GA", "31201"),
         "review", ("AMBIGUOUS_IDENTITY", "LOW_CONFIDENCE"), note="Sr. or Jr.: too close to call"),
    Case("shared_address", _req("Tomas", "Reyes", "", "101010203", "1500 Harborlight St", "", "Oakland", "CA", "94607"),
         "disclose", street="1500 Harborlight St"),
    Case("common_name_same_building", _req("Maria", "Garcia", "1985-06-19", "", "100 Sunflowerfield Ave", "Apt 2B", "Houston", "TX", "77002"),
         "disclose", street="100 Sunflowerfield Ave"),
    Case("common_name_same_building", _req("Maria", "Garcia", "", "", "100 Sunflowerfield Ave", "", "Houston", "TX", "77002"),
         "review", ("ADDRESS_UNIT_OMITTED", "AMBIGUOUS_IDENTITY", "LOW_CONFIDENCE"),
         note="no unit, DOB or TIN: a common name in a building identifies no one (two of them live there), "
              "and a request that leaves out the unit goes to review"),
    Case("typo_name", _req("Samuel", "Torres", "1970-10-10", "101010401", "12 Glimmerstone Ct", "", "Tampa", "FL", "33602")
         | {"last_name": "Torrse"}, "disclose", street="12 Glimmerstone Ct"),
    Case("typo_dob", _req("Helen", "Brandt", "1966-03-22", "101010402", "3390 Foxgloveridge Rd", "", "Omaha", "NE", "68102"),
         "disclose", street="3390 Foxgloveridge Rd"),
    Case("typo_tin", _req("Oscar", "Lindqvist", "1959-01-30", "101010430", "71 Pebblebrook Ln", "", "Madison", "WI", "53703"),
         "disclose", street="71 Pebblebrook Ln"),
    Case("typo_address", _req("Nora", "Fitzgerald", "1995-07-04", "101010404", "8 Hil Pl", "", "Lansing", "MI", "48933"),
         "disclose", street="8 Hill Pl"),
    Case("accent", _req("JOSE", "NUNEZ", "1983-09-09", "", "45 Calle Mariposa", "", "El Paso", "TX", "79901"),
         "disclose", street="45 Calle Mariposa"),
    Case("two_surnames", _req("Elena", "Garcia", "1991-01-25", "", "909 Windmere Crossing Dr", "", "Reno", "NV", "89501"),
         "disclose", street="909 Windmere Crossing Dr"),
    Case("nickname", _req("Bill", "Hartigan", "1972-12-12", "", "61 Ravenscroft Ave", "", "Salem", "OR", "97301"),
         "disclose", street="61 Ravenscroft Ave"),
    Case("nickname", _req("Tony", "Bellweather", "1961-05-17", "", "308 Quarry Hill Rd", "", "Keene", "NH", "03431"),
         "disclose", street="308 Quarry Hill Rd",
         note="Tony is a nickname of Antonio as of Anthony: the list's first formal name is not its only one"),
    Case("initial", _req("K.", "Brookshire", "1987-02-14", "101010408", "2201 Tamarack Bend Rd", "", "Duluth", "MN", "55802"),
         "disclose", street="2201 Tamarack Bend Rd"),
    Case("missing_dob", _req("Grace", "Whitcombe", "", "101010409", "14 Larkspur Hollow Ln", "", "Albany", "NY", "12207"),
         "disclose", street="14 Larkspur Hollow Ln"),
    Case("missing_tin", _req("Felix", "Ambrose", "1977-04-04", "", "530 Copperleaf Ct", "", "Billings", "MT", "59101"),
         "disclose", street="530 Copperleaf Ct"),
    Case("dob_conflict", _req("Irene", "Castellanos", "2001-02-03", "101010411", "76 Driftwood Pointe Dr", "", "Mobile", "AL", "36602"),
         "refuse", ("DOB_CONFLICT",)),
    Case("relative_bait", _req("Melvin", "Lattimore", "", "", "6241 Maple St", "", "St. Paul", "MN", "55104"),
         "refuse", ("NO_MATCH",),
         note="a stranger named at a relative's home is not the relative (Madeline: same surname and home)"),
    Case("relative_bait", _req("Joey", "Larson Guerrero", "", "", "8436 South Cypress Road", "", "Tucson", "AZ", "85705"),
         "refuse", ("NO_MATCH",), note="Joey is not Jose: a shared surname and home weigh as one household"),
    Case("missing_dob", _req("Madeline", "Lattimore", "", "", "6241 Maple St", "", "St. Paul", "MN", "55104"),
         "review", ("NAME_UNIQUE_AT_ADDRESS",),
         note="name and address only: the only Madeline on file at her home (Misty and Bobby are not her); "
              "a reviewer decides unless the office's policy makes the code warn"),
    Case("missing_dob", _req("Walter", "Pryce", "", "", "415 Hollyberry Ln", "", "Akron", "OH", "44308"),
         "review", ("NAME_UNIQUE_AT_ADDRESS",),
         note="the only Walter Pryce on file there (a son of his name who does not file would look the same)"),
    Case("namesake_household", _req("Walter", "Pryce Jr", "", "", "415 Hollyberry Ln", "", "Akron", "OH", "44308"),
         "review", ("LOW_CONFIDENCE",),
         note="the request names a Jr.: a namesake exists, and the one on file may be the Sr."),
    Case("namesake_nonfiler", _req("Walter", "Pryce", "1979-10-21", "", "415 Hollyberry Ln", "", "Akron", "OH", "44308"),
         "refuse", ("DOB_CONFLICT",),
         note="the son named for his father, who does not file, with his own date of birth: not the Sr. on file"),
    Case("housemate_ssn", _req("Carlos", "Mendez", "", "101-01-0505", "77 Calle del Sol", "Apt 4", "San Antonio", "TX", "78205"),
         "refuse", ("TIN_CONFLICT",),
         note="the SSN and the home are Luis Ortega's; the request names someone the file does not hold"),
    Case("suffix_form", _req("Madeline", "Lattimore", "1968-02-11", "", "6241 Maple St", "", "St Paul", "MN", "55104"),
         "disclose", street="6241 Maple Street", note="St is Street, St Paul is Saint Paul"),
    Case("directional_form", _req("Jose", "Larson Guerrero", "1972-03-03", "", "8436 South Cypress Road", "", "Tucson", "AZ", "85705"),
         "disclose", street="8436 S Cypress Rd"),
    Case("street_run_together", _req("Dolores", "Whitfield", "1963-06-30", "", "12 pearsonstreet", "", "Savannah", "GA", "31401"),
         "disclose", street="12 Pearson St"),
    Case("street_misspelt", _req("Marcus", "Abernathy", "1979-11-11", "", "19 priddle treet", "", "Fargo", "ND", "58102"),
         "disclose", street="19 Priddle Street"),
    Case("zip_slip", _req("Marcus", "Abernathy", "1979-11-11", "", "19 Priddle St", "", "Fargo", "ND", "58103"),
         "disclose", street="19 Priddle Street", note="58103 for 58102: the street, number and city agree"),
    Case("unit_omitted", _req("Hannah", "Kowalczyk", "1989-09-01", "", "2142 Willow Blvd", "", "Miami", "FL", "33130"),
         "disclose", street="2142 Willow Blvd", note="the building is right and the date of birth confirms her"),
    Case("unit_omitted", _req("Hannah", "Kowalczyk", "", "", "2142 Willow Blvd", "", "Miami", "FL", "33130"),
         "review", ("ADDRESS_UNIT_OMITTED", "LOW_CONFIDENCE"), note="the building, not the home, and nothing else confirms her"),
    Case("different_unit", _req("Hannah", "Kowalczyk", "1989-09-01", "", "2142 Willow Blvd", "Apt 2B", "Miami", "FL", "33130"),
         "refuse", ("ADDRESS_NOT_CORROBORATED",), note="another unit is another home"),
    Case("swapped_names", _req("Whitfield", "Dolores", "1963-06-30", "", "12 Pearson St", "", "Savannah", "GA", "31401"),
         "disclose", street="12 Pearson St"),
    Case("deficient_address", _req("Ana", "Torres", "1981-04-12", "101010101", "Failed to Provide", "", "", "", ""),
         "refuse", ("ADDRESS_PLACEHOLDER",), note="screened out: the taxpayer file is never touched"),
]  # fmt: skip


def write_reference(folder: Path) -> None:
    population = generate_population(PADDING_PEOPLE, PADDING_SEED)
    write_population(population, folder)
    taxpayers = pl.read_parquet(folder / "taxpayers.parquet")
    addresses = pl.read_parquet(folder / "addresses.parquet")
    hand_tins = {p["tin"] for p in PEOPLE}
    assert not hand_tins & set(taxpayers["tin"].to_list()), "padding population reuses a hand-built TIN"
    extra_people = pl.DataFrame(
        {
            "tin": [p["tin"] for p in PEOPLE],
            "tin_type": ["ITIN" if p["tin"].startswith("9") else "SSN" for p in PEOPLE],
            "first_name": [p["first"].upper() for p in PEOPLE],
            "middle_name": ["" for _ in PEOPLE],
            "last_name": [p["last"].upper() for p in PEOPLE],
            "suffix": [p.get("suffix", "") for p in PEOPLE],
            "date_of_birth": pl.Series([p["dob"] for p in PEOPLE]).str.to_date(),
            "prior_itin": [p.get("prior_itin") for p in PEOPLE],
        }
    )
    rows = []
    for person in PEOPLE:
        for address in person["addresses"]:
            street, unit, city, state, zip_, year, *rest = address
            source = rest[0] if rest else "1040"
            name = rest[1] if len(rest) > 1 else None
            rows.append((person["tin"], street, unit, city, state, zip_, year, source, name))
    extra_addresses = pl.DataFrame(rows, schema=list(addresses.columns), orient="row").cast(
        dict(addresses.schema)
    )  # type: ignore[arg-type]
    pl.concat([taxpayers, extra_people.cast(dict(taxpayers.schema))]).write_parquet(
        folder / "taxpayers.parquet"
    )  # type: ignore[arg-type]
    pl.concat([addresses, extra_addresses]).write_parquet(folder / "addresses.parquet")


@dataclass(frozen=True)
class ProcessRun:
    exit_code: int
    output: str
    out: Path
    requests: Path
    cases: dict[str, Case]
