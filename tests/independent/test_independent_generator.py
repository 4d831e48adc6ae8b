"""The outside tester's own parts: its address writer and parser, its identity rule, its
truth and its scorer. If these are wrong, the figures of the pipeline test are wrong."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from independent.addresses import (
    DIRECTION_FORMS,
    SUFFIX_FORMS,
    UNIT_FORMS,
    Home,
    Style,
    render,
    street_names,
    usps_key,
)
from independent.batch import CASES_PER_OFFICER, build_batch, consistent, dob_slip, evidence
from independent.names import given_names_compatible, surnames_compatible
from independent.pipeline import score
from independent.population import build_population

# --- the address writer and its parser -----------------------------------------------------------

homes = st.builds(
    Home,
    hid=st.just(0),
    number=st.integers(1, 9899).map(str),
    predir=st.sampled_from(["", *DIRECTION_FORMS]),
    name=st.sampled_from(street_names()),
    suffix=st.sampled_from(sorted(SUFFIX_FORMS)),
    postdir=st.sampled_from(["", "NE", "NW", "SE", "SW"]),
    unit=st.sampled_from(["", "4B", "12", "203", "C", "1A"]),
    zip5=st.from_regex(r"[0-9]{5}", fullmatch=True),
    plus4=st.from_regex(r"[0-9]{4}", fullmatch=True),
    city=st.just("Springfield"),
    state=st.just("IL"),
)
styles = st.builds(
    Style,
    case=st.sampled_from(["title", "upper", "lower"]),
    suffix_form=st.integers(0, 3),
    direction_form=st.integers(0, 2),
    unit_form=st.integers(0, len(UNIT_FORMS) - 1),
    zip_plus4=st.booleans(),
    unit_in_street=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(homes, styles)
def test_every_writing_of_a_home_parses_back_to_that_home(home: Home, style: Style) -> None:
    if style.unit_in_street and home.unit and UNIT_FORMS[style.unit_form] == "{u}":
        style = Style(style.case, style.suffix_form, style.direction_form, 0, style.zip_plus4, True)  # a bare unit is never run into the street
    row = render(home, style)
    assert usps_key(row["street"], row["unit"], row["zip"]) == home.key, row


@pytest.mark.parametrize(
    ("street", "unit", "zip_code", "key"),
    [
        ("6241 Maple Street", "", "60601", ("6241", "", "MAPLE", "ST", "", "60601", "")),
        ("6241 MAPLE ST.", "", "60601-1234", ("6241", "", "MAPLE", "ST", "", "60601", "")),
        ("8436 South Cypress Road", "Apt 4B", "60601", ("8436", "S", "CYPRESS", "RD", "", "60601", "4B")),
        ("8436 S. Cypress Rd #4B", "", "60601", ("8436", "S", "CYPRESS", "RD", "", "60601", "4B")),
        ("12 N 1st Ave NW", "Unit 3", "60601", ("12", "N", "1ST", "AVE", "NW", "60601", "3")),
    ],
)
def test_usps_key_reads_real_forms(street: str, unit: str, zip_code: str, key: tuple[str, ...]) -> None:
    assert usps_key(street, unit, zip_code) == key


# --- the identity rule (issue 11's wording) -------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "on_file", "corroborated", "compatible"),
    [
        ("Maria", "MARIA", False, True),
        ("Mario", "Maria", False, True),  # one keying slip: a typo, unless a DOB says otherwise
        ("J", "Joseph", False, True),  # an initial
        ("Melvin", "Madeline", False, False),  # same initial, a different name
        ("Bill", "William", False, False),  # a nickname alone is never enough
        ("Bill", "William", True, True),  # ... with a DOB or TIN that agrees it is
        ("Joey", "Jose", True, False),  # a nickname chain (Joey -> Joseph -> Jose) never is
        ("José", "JOSE", False, True),
    ],
)
def test_given_names(requested: str, on_file: str, corroborated: bool, compatible: bool) -> None:
    assert given_names_compatible(requested, on_file, corroborated=corroborated) is compatible


@pytest.mark.parametrize(
    ("requested", "on_file", "compatible"),
    [
        ("Garcia", "Garcia Lopez", True),
        ("Garcia-Lopez", "GARCIA LOPEZ", True),
        ("GarciaLopez", "Garcia Lopez", True),
        ("Smith Jr", "Smith", True),
        ("Lattimore", "Larson", False),
        ("Nunez", "Núñez", True),
    ],
)
def test_surnames(requested: str, on_file: str, compatible: bool) -> None:
    assert surnames_compatible(requested, on_file) is compatible


@pytest.mark.parametrize(
    ("a", "b", "slip"),
    [
        (date(1980, 3, 4), date(1980, 4, 3), True),
        (date(1980, 3, 4), date(1980, 3, 5), True),
        (date(1980, 3, 4), date(1981, 3, 4), True),
        (date(1980, 3, 4), date(1989, 3, 4), True),  # one digit of the year
        (date(1980, 3, 4), date(1975, 11, 20), False),
        (date(1980, 3, 4), date(1980, 3, 4), False),
    ],
)
def test_date_of_birth_slips(a: date, b: date, slip: bool) -> None:
    assert dob_slip(a, b) is slip


# --- the world and its truth ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> tuple:
    world = build_population(4000, 5)
    requests, truths, letter = build_batch(world, 400, 5)
    return world, requests, truths, letter


def test_same_seed_same_files() -> None:
    a, b = build_population(1500, 9), build_population(1500, 9)
    assert a.taxpayers == b.taxpayers and a.addresses == b.addresses
    assert build_batch(a, 120, 9) == build_batch(b, 120, 9)
    assert build_population(1500, 10).taxpayers != a.taxpayers


def test_truth_of_every_request_holds_in_the_world(small: tuple) -> None:
    world, requests, truths, letter = small
    assert letter["record_count"] == len(requests) == len(truths)
    per_officer = pl.DataFrame(requests).group_by("officer").len()
    assert per_officer["len"].max() <= CASES_PER_OFFICER and set(per_officer["officer"]) <= set(letter["officers"])
    for request, truth in zip(requests, truths, strict=True):
        pid = truth["true_pid"]
        if truth["lawful_answer"]:
            person = world.people[pid]
            assert truth["in_file"] and truth["sufficient"]
            assert truth["supplied_home"] in world.own_homes(pid)
            assert truth["expected_home"] == world.last_known[pid]
            assert consistent(evidence(request), person), request
        if not truth["in_file"]:
            assert not truth["lawful_answer"] and pid == -1
            # the request always carries what separates the absent person from every filer there
            for q in world.filers_at.get(truth["supplied_home"], ()):
                assert not consistent(evidence(request), world.people[q]), (request, truth["labels"])


def test_the_batch_holds_every_kind(small: tuple) -> None:
    _, _, truths, _ = small
    kinds = {t["kind"] for t in truths}
    assert {"bait_nickname", "borrowed_ssn_at_home", "prior_address", "deficient_placeholder", "not_in_file"} <= kinds


# --- the scorer can see a wrong disclosure ----------------------------------------------------------------


def test_scorer_counts_a_relatives_address_as_wrong_person(small: tuple) -> None:
    world, _requests, truths, _ = small
    bait = next(t for t in truths if t["kind"].startswith("bait_"))
    genuine = next(t for t in truths if t["lawful_answer"] and len(world.own_homes(t["true_pid"])) > 1)
    prior = next(iter(world.own_homes(genuine["true_pid"]) - {genuine["expected_home"]}))

    def written(home_id: int) -> dict[str, str]:
        row = render(world.homes[home_id], Style("upper", 1, 1, 0, False))
        return {k: row[k] for k in ("street", "unit", "zip")}

    answers = pl.DataFrame(
        [
            {"request_id": bait["request_id"], "decision": "disclose", "reasons": "", **written(bait["supplied_home"])},
            {"request_id": genuine["request_id"], "decision": "disclose", "reasons": "", **written(prior)},
        ]
    )
    scored = score(world, truths, answers)
    assert scored.overall.wrong_person == 2
    assert scored.wrong_person_kinds == {"no_true_person": 1, "person_not_last_known": 1}
    right = answers.with_columns(
        **{k: pl.lit(v) for k, v in written(genuine["expected_home"]).items()}
    ).filter(pl.col("request_id") == genuine["request_id"])
    assert score(world, truths, right).overall.correct_lawful == 1
