"""facts.names: when two given names or two surnames can be one person's, as tables, and
the name control the replica and the synthetic truth share."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.facts.names import (
    GivenRelation,
    SurnameRelation,
    best_given_relation,
    given_relation,
    given_word_list,
    given_words,
    name_control,
    name_words,
    surname_relation,
    surname_word_list,
    surname_words,
)
from ftigate.synth.textops import name_control as truth_name_control

G = GivenRelation
GIVEN = [
    ("MARIA", "MARIA", G.SAME),
    ("JHON", "JOHN", G.SLIP),
    ("JON", "JOHN", G.SLIP),
    ("PEPE", "JOSE", G.NICKNAME),
    ("JOSE", "PEPE", G.NICKNAME),
    ("BILL", "WILLIAM", G.NICKNAME),
    ("DAVE", "DAVID", G.NICKNAME),
    # a nickname with a keying slip in it (synthetic requests make these)
    ("DCK", "RICHARD", G.NICKNAME),
    ("TM", "TIMOTHY", G.NICKNAME),
    ("J", "JOHN", G.INITIAL),
    ("JOHN", "J", G.INITIAL),
    ("M", "JOHN", G.CONFLICT),
    # a nickname chain is not a nickname: JOEY -> JOSEPH, JOSE is another name
    ("JOEY", "JOSE", G.CONFLICT),
    # a relative at the same home, another first name with the same initial
    ("MELVIN", "MADELINE", G.CONFLICT),
    ("AL", "AJ", G.CONFLICT),
    # two nicknames of one formal name: neither a fit alone nor evidence of another person
    ("LIZ", "BETTY", G.ONE_NAME),
    ("WILL", "WILLIE", G.ONE_NAME),
    ("TED", "EDDIE", G.ONE_NAME),
    ("JOHNNY", "JACK", G.ONE_NAME),
    # two formal names that share a nickname (BETO): two names, as twins are given
    ("ALBERTO", "ROBERTO", G.FORMAL),
    ("", "JOHN", G.MISSING),
]


@pytest.mark.parametrize(("a", "b", "expected"), GIVEN)
def test_given_relation(a: str, b: str, expected: GivenRelation) -> None:
    assert given_relation(a, b) == expected


def test_the_best_relation_of_compound_given_names() -> None:
    assert best_given_relation(["MARIA", "GUADALUPE"], ["GUADALUPE"]) == G.SAME
    assert best_given_relation(["J"], ["JUAN", "CARLOS"]) == G.INITIAL
    assert best_given_relation([], ["JUAN"]) == G.MISSING


S = SurnameRelation
SURNAMES = [
    ("GARCIA LOPEZ", "GARCIA", S.SAME),
    ("Garcia-Lopez", "GARCIA LOPEZ", S.SAME),
    ("LOPEZ", "GARCIA LOPEZ", S.SAME),
    ("DELACERDA", "DE LA CERDA", S.SAME),
    ("SMITHERS", "SMITH", S.SAME),  # the same name control (SMIT): not told apart by surname alone
    ("NEZ", "EZ", S.SLIP),
    ("SOAS", "SOSA", S.SLIP),
    ("MORGAN", "MOGAN", S.SLIP),
    ("LATTIMORE", "LARSON", S.CONFLICT),
    ("LI", "LE", S.CONFLICT),
    ("", "SMITH", S.MISSING),
]


@pytest.mark.parametrize(("a", "b", "expected"), SURNAMES)
def test_surname_relation(a: str, b: str, expected: SurnameRelation) -> None:
    assert surname_relation(surname_words(a), surname_words(b)) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [("O'Brien-Núñez", "OBRIEN NUNEZ"), ("  josé  luis ", "JOSE LUIS"), ("J.", "J"), (None, "")],
)
def test_name_words(text: str | None, words: str) -> None:
    assert pl.select(name_words(pl.lit(text, dtype=pl.String))).item() == words


def test_noise_words_and_initials() -> None:
    assert given_words("Dr. José Jr.") == ["JOSE"]
    assert surname_words("García Jr. y") == ["GARCIA"]


names = st.text(alphabet="abcdeÁÉñü'- .JRSjr", max_size=16)


@settings(max_examples=200, deadline=None)
@given(names)
def test_word_lists_agree_with_the_python_forms(text: str) -> None:
    frame = pl.DataFrame({"n": [text]})
    assert frame.select(given_word_list(pl.col("n"))).item().to_list() == given_words(text)
    assert frame.select(surname_word_list(pl.col("n"))).item().to_list() == surname_words(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghÁÉñüç'- .", max_size=12))
def test_name_control_is_the_truths(last_name: str) -> None:
    """The 2025 replica's name control and the synthetic truth's are one definition."""
    frame = pl.DataFrame({"last": [last_name]})
    assert (
        frame.select(name_control(pl.col("last"))).item()
        == frame.select(truth_name_control(pl.col("last"))).item()
    )
