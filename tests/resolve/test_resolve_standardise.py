"""Standard forms: the same person written differently reaches the comparisons alike."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.facts.address import address_parts, unit_standard
from ftigate.resolve.standardise import standard_requests
from ftigate_testkit import key_codes


def _standard_lines(lines: list[str]) -> list[str]:
    parts = address_parts(
        pl.DataFrame({"street": lines, "unit": [""] * len(lines), "zip": [""] * len(lines)})
    )
    return parts["street_std"].to_list()


def test_street_types_and_directionals_are_abbreviated_only_in_their_place() -> None:
    lines = [
        "12 North Main Street",
        "3477 Orchard St",
        "1470 North Rd",
        "77 Calle del Sol",
        "300 Main St West",
    ]
    assert _standard_lines(lines) == [
        "12 N MAIN ST",
        "3477 ORCHARD ST",
        "1470 NORTH RD",
        "77 CALLE DEL SOL",
        "300 MAIN ST W",
    ]


def test_unit_designators_reduce_to_the_identifier() -> None:
    units = pl.DataFrame({"u": ["Apt 4B", "Unit 301", "# 12", "", "APARTMENT 7"]})
    assert units.select(unit_standard(pl.col("u")))["u"].to_list() == ["4B", "301", "12", "", "7"]


def test_names_lose_accents_hyphens_and_nicknames() -> None:
    requests = pl.DataFrame(
        {"request_id": ["a", "b"], "first_name": ["José", "Bill"], "middle_name": ["", ""],
         "last_name": ["García-López", "Hart Jr."], "date_of_birth": ["1980-01-02", "bad"],
         "tin": ["123-45-6789", "12"], "street": ["1 Oak St", "2 Elm Ave"], "unit": ["", "Apt 3"],
         "city": ["", ""], "state": ["", ""], "zip": ["78701-1234", "10001"]}
    )  # fmt: skip
    out = standard_requests(requests)
    assert out["first_name"].to_list() == ["JOSE", "BILL"]
    assert out["first_canon"].to_list() == ["JOSE", "WILLIAM"]
    # every name a nickname stands for, not only the first one listed
    assert out["first_forms"].to_list() == [["CHEPE", "PEPE"], ["WILLIAM"]]
    tony = standard_requests(requests.with_columns(first_name=pl.lit("Tony")))
    assert set(tony["first_forms"][0]) == {"ANTHONY", "ANTONIO"}
    assert out["last_name"].to_list() == ["GARCIA LOPEZ", "HART"]
    assert out["surname_tokens"].to_list() == [["GARCIA", "LOPEZ"], ["HART"]]
    assert out["dob"].to_list() == ["1980-01-02", None]
    assert out["tin"].to_list() == ["123456789", None]
    assert out["addr_keys"].to_list() == [key_codes("1 OAK ST||78701"), key_codes("2 ELM AVE|3|10001")]


_STREET_WORDS = st.sampled_from(
    ["12", "4B", "North", "N", "Main", "Street", "St", "Avenue", "Orchard", "Road", "SW", "Calle", "del",
     "Sol", "#", "-", "/", "Apt", "Boulevard", "East", "Ct", "Way", "José", "O'Neil", "setreet", "W."]
)  # fmt: skip


@given(st.lists(_STREET_WORDS, max_size=7), st.sampled_from([" ", "  ", " - ", "/"]))
@settings(max_examples=300, deadline=None)
def test_the_standard_line_is_its_own_standard_form(words: list[str], gap: str) -> None:
    """Standardising a standard line changes nothing (every form reaches one fixed point)."""
    [once] = _standard_lines([gap.join(words)])
    assert _standard_lines([once]) == [once]


@settings(deadline=None)  # no timed assertions: the machine is shared
@given(
    st.sampled_from(["Street", "St", "St.", "STREET", "street"]), st.sampled_from(["West", "W", "W.", "west"])
)
def test_written_forms_of_one_street_reach_one_standard_line(suffix: str, direction: str) -> None:
    assert _standard_lines([f"12 {direction} Maple {suffix}"]) == ["12 W MAPLE ST"]


def test_the_house_initials_key_meets_swapped_names_and_not_a_housemate_of_another_initial() -> None:
    """House number x ZIP x both initials in either order: a swap still meets its record,
    a same-surname housemate with another given initial does not (it is found, if at all,
    by a rule that reads the names), and a missing given name gives no key."""
    from ftigate.resolve.standardise import house_initial_code

    frame = pl.DataFrame(
        {
            "house_zip": [7, 7, 7, 8, 7],
            "first": ["MELVIN", "LATTIMORE", "BOBBY", "MELVIN", None],
            "last": ["LATTIMORE", "MELVIN", "LATTIMORE", "LATTIMORE", "LATTIMORE"],
        }
    )
    codes = frame.select(house_initial_code(pl.col("house_zip"), pl.col("first"), pl.col("last")))
    melvin, swapped, bobby, elsewhere, unnamed = codes.to_series().to_list()
    assert melvin == swapped
    assert bobby != melvin
    assert elsewhere != melvin
    assert unnamed is None
