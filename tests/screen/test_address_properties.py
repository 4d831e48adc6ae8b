"""Properties of the address checker: it never crashes, and valid forms always pass.

Seeds are printed by Hypothesis on failure (`--hypothesis-seed` replays them).
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftigate.law.loader import default_law
from ftigate.screen.address import ADDRESS_CODES, ADDRESS_COLUMNS, check_address, classify_addresses

PARAMS = default_law().parameters
FIELD = st.text(max_size=120) | st.sampled_from(
    ["", " ", "00000", "PO Box", "#", "1/2", "Ñ", "\u0301", "\x00"]
)
REAL = [
    ("Austin", "TX", "78701"),
    ("Boston", "MA", "02134"),
    ("San Juan", "PR", "00901"),
    ("Taos", "NM", "87571"),
]
NAMES = [
    "Oak",
    "Maple",
    "Peñasco",
    "Álamo",
    "Martin Luther King Jr",
    "Del Mar",
    "Santa Rosa",
    "O'Brien",
    "5th",
    "Elm",
]
SUFFIXES = ["St", "Street", "Ave", "Avenue", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pkwy", "Cir", "Trl"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FIELD, FIELD, FIELD, FIELD, FIELD)
def test_never_crashes_and_answers_a_known_code(
    street: str, unit: str, city: str, state: str, zip_code: str
) -> None:
    code = check_address(street, unit, city, state, zip_code, PARAMS)
    assert code is None or code in ADDRESS_CODES


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(FIELD, FIELD, FIELD, FIELD, FIELD), min_size=1, max_size=40))
def test_batch_answer_equals_one_by_one(rows: list[tuple[str, str, str, str, str]]) -> None:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(ADDRESS_COLUMNS, pl.String), orient="row")
    batch = classify_addresses(frame, PARAMS)["address_code"].to_list()
    single = [check_address(*row, PARAMS) for row in rows]
    assert batch == single


@st.composite
def valid_street_address(draw: st.DrawFn) -> tuple[str, str, str, str, str]:
    city, state, zip5 = draw(st.sampled_from(REAL))
    form = draw(st.sampled_from(["street", "box", "rural"]))
    if form == "street":
        number = draw(st.integers(1, 99999))
        direction = draw(st.sampled_from(["", "N ", "S ", "East ", "SW "]))
        street = f"{number} {direction}{draw(st.sampled_from(NAMES))} {draw(st.sampled_from(SUFFIXES))}"
    elif form == "box":
        street = f"{draw(st.sampled_from(['PO Box', 'P.O. Box', 'Post Office Box']))} {draw(st.integers(1, 99999))}"
    else:
        street = f"{draw(st.sampled_from(['RR', 'Rural Route', 'HC']))} {draw(st.integers(1, 99))} Box {draw(st.integers(1, 999))}"
    unit = draw(st.sampled_from(["", "Apt 4B", "Unit 12", "# 3", "Ste 200", "Lot 7"]))
    zip_code = zip5 + draw(st.sampled_from(["", "-1234"]))
    state = draw(
        st.sampled_from(
            [
                state,
                state.lower(),
                {"TX": "Texas", "MA": "Massachusetts", "PR": "Puerto Rico", "NM": "New Mexico"}[state],
            ]
        )
    )
    if draw(st.booleans()):
        street = street.upper()
    return street, unit, city, state, zip_code


@settings(max_examples=300, deadline=None)
@given(valid_street_address())
def test_valid_forms_always_pass(address: tuple[str, str, str, str, str]) -> None:
    assert check_address(*address, PARAMS) is None


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        ["Failed to Provide", "Unknown Address", "NA NA", "N/A", "TBD", "none", "Homeless", "Unknown"]
    ),
    st.sampled_from(["", " 12345", " 00000"]),
    st.sampled_from([*REAL, ("", "", "")]),
)
def test_placeholders_never_pass(text: str, digits: str, locality: tuple[str, str, str]) -> None:
    code = check_address(text + digits, "", *locality, PARAMS)
    assert code == "ADDRESS_PLACEHOLDER"


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(REAL), st.booleans())
def test_a_zip_code_is_not_an_address(locality: tuple[str, str, str], with_city: bool) -> None:
    city, state, zip5 = locality
    code = check_address("", "", city if with_city else "", state if with_city else "", zip5, PARAMS)
    assert code == "ADDRESS_ZIP_ONLY"
