"""The fast screening path decides exactly what the reference (screening before issue 15's
speed work, frozen in `tests/screen_reference`) decides: every output column, row for row, on
adversarial and court-shaped synthetic batches, on a file of hostile and odd addresses, and
on random records; and it refuses the same bad files with the same message.

Seeds are fixed and printed in each test's id; Hypothesis prints its own on failure.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter
from ftigate.intake.requests import REQUEST_COLUMNS
from ftigate.law.loader import default_law
from ftigate.screen import address, record, run
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate_testkit import BASE_LETTER, BASE_RECORD
from hostile.hostile_cases import CASES
from screen_reference import address as reference_address
from screen_reference import record as reference_record
from screen_reference import run as reference_run

LAW = default_law()
PARAMS = LAW.at(Letter.model_validate(BASE_LETTER).date).parameters

# Street shapes from every corner of the checker: the pre-classifier's shapes, the ones it
# leaves to usaddress, placeholders, facilities, boxes, single-line addresses, non-ASCII.
STREETS = [
    "1234 N Oak St",
    "1234 n. oak street apt 4",
    "55 Peñasco Rd",
    "12 Álamo Ave",
    "900 Martin Luther King Jr Blvd",
    "7 O'Brien Ct",
    "18 5th Way",
    "123 Broadway",
    "123 BROADWAY UNIT 5",
    "N123W456 Main St",
    "Urb Las Gladiolas 150 Calle A",
    "One Infinite Loop",
    "1600 Pennsylvania Avenue Northwest",
    "22-14 Steinway",
    "22 - 14 Steinway St",
    "45 Avenue of the Americas",
    "150 Calle Sol",
    "Calle Sol 150",
    "4500 State Route 7",
    "12 County Road 44",
    "PO Box 123",
    "P.O. Box 77",
    "Post Office Box 9",
    "RR 2 Box 14",
    "HC 1 Box 9",
    "PSC 3 Box 12",
    "General Delivery",
    "Failed to Provide",
    "Unknown Address",
    "NA NA",
    "Don't Care 12345",
    "00000",
    "N/A",
    "TBD",
    "None",
    "Homeless",
    "XXXX",
    "###",
    "",
    " ",
    "Oak St",
    "N Main Street",
    "1234",
    "12A",
    "12-3",
    "78701",
    "78701-1234",
    "Harris County Jail",
    "Otay Mesa Detention Center",
    "4 Jail Rd",
    "1234 Oak St, Austin, TX 78701",
    "1234 Oak St Austin TX",
    "Broadway",
    "123",
    "1/2 Oak St",
    "12 1/2 Oak St",
    "12 Oak St #5",
    "12 Oak St Apt",
    "Ñ",
    "\u0301",
    "１２３ Oak St",
    "12 Oak\tSt",
    "12  Oak   St  ",
    "12 Oak St NE",
    "12 NE Oak",
    "Zyxwquartz",
]
UNITS = ["", "Apt 4B", "# 3", "Unknown", "Ste 200"]
LOCALITIES = [
    ("Austin", "TX", "78701"),
    ("austin", "texas", "78701-1234"),
    ("Boston", "MA", "2134"),
    ("San Juan", "PR", "00901"),
    ("Austin", "MA", "78701"),
    ("Street", "MD", "21154"),
    ("Unknown", "", ""),
    ("", "", ""),
    ("", "TX", ""),
    ("Austin", "TX", ""),
    ("", "", "78701"),
    ("Austin", "ZZ", "99999"),
    ("Taos", "NM", "87571"),
]


def _letter(records: int, officers: list[str] | None = None) -> Letter:
    letter = dict(BASE_LETTER, record_count=records)
    if officers is not None:
        letter["officers"] = officers
    return Letter.model_validate(letter)


def _screen_both(letter: Letter, requests: Path, tmp: Path, suffix: str, **kwargs: Any) -> None:
    """Screen with the reference and the fast path; every output byte and the summary agree."""
    old_out, new_out = tmp / f"reference{suffix}", tmp / f"fast{suffix}"
    old = reference_run.screen_files(letter, requests, old_out, LAW, **kwargs)
    new = run.screen_files(letter, requests, new_out, LAW, **kwargs)
    assert new.as_dict() == old.as_dict()
    if suffix == ".csv":
        assert new_out.read_bytes() == old_out.read_bytes()
    else:
        assert pl.read_parquet(new_out).equals(pl.read_parquet(old_out))


def _address_rows() -> list[dict[str, str]]:
    rows = []
    for index, (street, unit, (city, state, zip_code)) in enumerate(
        itertools.product(STREETS, UNITS, LOCALITIES), start=1
    ):
        # every few records also a hostile name, TIN, date or period, so the other rules vary too
        extra = [
            {},
            {"first_name": "J.", "tin": "000-12-3456"},
            {"last_name": "", "date_of_birth": "2031-01-01"},
            {"first_name": "FNU", "taxable_periods": "2019-2022"},
            {"tin": "9xx", "statute": "26 U.S.C. 7201", "taxable_periods": "202212"},
        ][index % 5]
        rows.append(
            {
                **{c: "" for c in REQUEST_COLUMNS},
                **BASE_RECORD,
                "request_id": f"H{index:06d}",
                "street": street,
                "unit": unit,
                "city": city,
                "state": state,
                "zip": zip_code,
                "reason": ["Final order of removal; did not depart", "n/a", "", f"case {index}"][index % 4],
                "case_number": f"C{index % 700}",
                "officer": ["A100", "A101", "the A102", "Z9", ""][index % 5],
                **extra,
            }
        )
    return rows


@pytest.mark.parametrize(("profile", "seed"), [("adversarial", 151), ("court-2025", 152), ("clean", 153)])
def test_synthetic_batches_screen_identically(tmp_path: Path, profile: str, seed: int) -> None:
    population = generate_population(20_000, seed=seed)
    batch = generate_requests(population, 6_000, PROFILES[profile], seed=seed, profile_name=profile)
    requests = tmp_path / "requests.csv"
    batch.requests.write_csv(requests)
    letter = Letter.model_validate(batch.letter)
    _screen_both(letter, requests, tmp_path, ".csv", workers=1)
    _screen_both(letter, requests, tmp_path, ".parquet", workers=1)


def test_hostile_and_odd_addresses_screen_identically(tmp_path: Path) -> None:
    rows = _address_rows()
    # each address again, thousands of rows later: in another chunk, where the fast path
    # answers from what it parsed before
    rows += [{**row, "request_id": "again-" + row["request_id"]} for row in rows]
    requests = tmp_path / "requests.csv"
    pl.DataFrame(rows, schema=dict.fromkeys(REQUEST_COLUMNS, pl.String)).write_csv(requests)
    letter = _letter(len(rows), ["A100", "A101", "A102"])
    _screen_both(letter, requests, tmp_path, ".csv", workers=1)
    # small chunks: every whole-batch question spans many spilled parts
    from ftigate.intake.requests import ReadOptions

    _screen_both(letter, requests, tmp_path, ".parquet", workers=1, read=ReadOptions(chunk_rows=997))


def _screen_case_requests(build: Callable[[Path], list[str]], tmp: Path) -> Path | None:
    args = build(tmp)
    if not args or args[0] != "screen":
        return None
    return Path(args[args.index("--requests") + 1])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_request_files_are_refused_identically(case: Any, tmp_path: Path) -> None:
    requests = _screen_case_requests(case.build, tmp_path)
    if requests is None:
        pytest.skip("not a screening case")
    letter = _letter(3, ["A100", "A101", "A102"])
    outcomes: list[str] = []
    for screen_files, name in ((reference_run.screen_files, "reference"), (run.screen_files, "fast")):
        try:
            summary = screen_files(letter, requests, tmp_path / f"{name}.csv", LAW, workers=1)
            outcomes.append(repr(summary.as_dict()))
        except IntakeError as exc:
            outcomes.append(f"refused: {exc}")
    assert outcomes[0] == outcomes[1]


FIELD = st.text(max_size=40) | st.sampled_from(
    ["", " ", "00000", "PO Box", "#", "1/2", "Ñ", "\u0301", "Unknown", "Jail", "Apt", "N", "St"]
)
STREET = (
    FIELD
    | st.sampled_from(STREETS)
    | st.builds(
        lambda n, words: f"{n} {words}",
        st.integers(0, 99999),
        st.lists(
            st.sampled_from(["Oak", "N", "St", "Ave", "Calle", "Box", "Apt", "#5", "Jr", "Route", "12"]),
            max_size=4,
        ).map(" ".join),
    )
)
LOCALITY = st.sampled_from(LOCALITIES) | st.tuples(FIELD, FIELD, FIELD)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(STREET, FIELD, LOCALITY), min_size=1, max_size=60))
def test_random_addresses_are_judged_identically(rows: list[tuple[str, str, tuple[str, str, str]]]) -> None:
    frame = pl.DataFrame(
        [(street, unit, *locality) for street, unit, locality in rows],
        schema=dict.fromkeys(address.ADDRESS_COLUMNS, pl.String),
        orient="row",
    ).unique(maintain_order=True)
    new = address.classify_addresses(frame, PARAMS)
    old = reference_address.classify_addresses(frame, PARAMS)
    assert new.equals(old)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({c: FIELD for c in REQUEST_COLUMNS}), min_size=1, max_size=40))
def test_random_records_are_judged_identically(records: list[dict[str, str]]) -> None:
    chunk = pl.DataFrame(records, schema=dict.fromkeys(REQUEST_COLUMNS, pl.String)).with_columns(
        pl.int_range(1, len(records) + 1, dtype=pl.Int64).alias("_line")
    )
    letter = _letter(len(records))
    officers = frozenset(reference_run.normalise_officer(o) for o in letter.officers)
    shared = {"params": PARAMS, "letter_year": 2025, "letter_date": letter.date, "letter_officers": officers}
    new = record.screen_chunk(chunk, record.ScreenContext(**shared))
    old = reference_record.screen_chunk(chunk, reference_record.ScreenContext(**shared))
    assert new.equals(old)


REASON_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30) | st.text(
    alphabet=" \t\n\u00a0\u2003\u200baZ9é.-_'", max_size=20
)


@settings(max_examples=300, deadline=None)
@given(st.lists(REASON_TEXT, min_size=1, max_size=30))
def test_reason_text_is_the_reference(reasons: list[str]) -> None:
    """One regex pass gives the reference's two-pass text (boilerplate keys hash it)."""
    column = pl.DataFrame({"reason": reasons}, schema={"reason": pl.String})
    fast = column.select(record.reason_text(pl.col("reason")))["reason"].to_list()
    reference = column.select(reference_record.reason_text(pl.col("reason")))["reason"].to_list()
    assert fast == reference


@settings(max_examples=300, deadline=None)
@given(st.lists(REASON_TEXT | st.sampled_from(STREETS), min_size=1, max_size=30))
def test_address_text_is_the_reference(texts: list[str]) -> None:
    """The one-pass punctuation and spacing rule gives the reference's address text."""
    column = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    fast = column.select(address.normalise(pl.col("text")))["text"].to_list()
    reference = column.select(reference_address.normalise(pl.col("text")))["text"].to_list()
    assert fast == reference
