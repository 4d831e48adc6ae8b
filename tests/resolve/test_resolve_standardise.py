"""Standard forms: the same person written differently reaches the comparisons alike."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.resolve.standardise import standard_requests, street_standard, unit_standard
from ftigate_testkit import key_codes


def test_street_types_and_directionals_are_abbreviated_only_in_their_place() -> None:
    lines = pl.Series(["12 North Main Street", "3477 Orchard St", "1470 North Rd", "77 Calle del Sol"])
    assert street_standard(lines).to_list() == [
        "12 N MAIN ST",
        "3477 ORCHARD ST",
        "1470 NORTH RD",
        "77 CALLE DEL SOL",
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
    assert out["last_name"].to_list() == ["GARCIA LOPEZ", "HART"]
    assert out["surname_tokens"].to_list() == [["GARCIA", "LOPEZ"], ["HART"]]
    assert out["dob"].to_list() == ["1980-01-02", None]
    assert out["tin"].to_list() == ["123456789", None]
    assert out["addr_keys"].to_list() == [key_codes("1 OAK ST||78701"), key_codes("2 ELM AVE|3|10001")]


def _street_by_words(raw: str) -> str:
    """The rule word by word, as written in Pub. 28 terms (the reference for the vectorised form)."""
    from scourgify.address_constants import DIRECTIONAL_REPLACEMENTS, STREET_TYPE_ABBREVIATIONS

    from ftigate.screen.address import normalise

    text = pl.select(normalise(pl.lit(raw, dtype=pl.String))).item()
    words = [w for w in text.replace("#", " ").replace("/", " ").replace("-", " ").split(" ") if w]
    out = []
    for position, word in enumerate(words):
        if position == len(words) - 1 and len(words) >= 3:
            word = STREET_TYPE_ABBREVIATIONS.get(word, word)
        elif position in (1, len(words) - 1) and len(words) >= 4:
            word = DIRECTIONAL_REPLACEMENTS.get(word, word)
        out.append(word)
    return " ".join(out)


_STREET_WORDS = st.sampled_from(
    ["12", "4B", "North", "N", "Main", "Street", "St", "Avenue", "Orchard", "Road", "SW", "Calle", "del",
     "Sol", "#", "-", "/", "Apt", "Boulevard", "East", "Ct", "Way", "José", "O'Neil"]
)  # fmt: skip


@given(st.lists(_STREET_WORDS, max_size=7), st.sampled_from([" ", "  ", " - ", "/"]))
@settings(max_examples=300, deadline=None)
def test_vectorised_street_standard_agrees_with_the_rule_word_by_word(words: list[str], gap: str) -> None:
    raw = gap.join(words)
    assert street_standard(pl.Series([raw])).to_list() == [_street_by_words(raw)]
