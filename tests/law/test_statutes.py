"""Statute citations as agencies write them (table-driven), and the classification table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftigate.law.loader import default_law
from ftigate.law.statutes import StatuteClass, classify, parse_citation

TABLE = default_law().parameters.statutes
INA = dict(TABLE.ina_sections)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("8 USC 1253(a)(1)", "8 U.S.C. 1253(a)(1)"),
        ("8 U.S.C. § 1253(a)(1)", "8 U.S.C. 1253(a)(1)"),
        ("8 U.S.C. §1253(a)(1)", "8 U.S.C. 1253(a)(1)"),
        ("8 U.S.C. Sec. 1253(a)(1)", "8 U.S.C. 1253(a)(1)"),
        ("INA 243(a)", "8 U.S.C. 1253(a)"),
        ("INA § 243(a)(1)", "8 U.S.C. 1253(a)(1)"),
        ("Section 243(a)(1) of the INA", "8 U.S.C. 1253(a)(1)"),
        ("Title 8, United States Code, Section 1326", "8 U.S.C. 1326"),
        ("8 usc 1229A", "8 U.S.C. 1229a"),
        ("INA 274A", "8 U.S.C. 1324a"),
        ("IRC § 7201", "26 U.S.C. 7201"),
        ("I.R.C. 7206(1)", "26 U.S.C. 7206(1)"),
        ("8 U.S.C. 1227(a)(1)(B)", "8 U.S.C. 1227(a)(1)(B)"),
    ],
)
def test_citations_normalise(written: str, canonical: str) -> None:
    cite = parse_citation(written, INA)
    assert cite is not None
    assert str(cite) == canonical


@pytest.mark.parametrize("written", ["", "gibberish", "INA 999", "the immigration laws", "USC"])
def test_unreadable_citations(written: str) -> None:
    assert parse_citation(written, INA) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("8 U.S.C. 1253(a)(1)", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1306", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1324(a)(1)(A)(iv)", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1325", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1326(a)", StatuteClass.CRIMINAL),
        ("18 U.S.C. 1546", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1182(a)(6)", StatuteClass.CIVIL),
        ("8 U.S.C. 1227", StatuteClass.CIVIL),
        ("8 U.S.C. 1229a", StatuteClass.CIVIL),
        ("8 U.S.C. 1231", StatuteClass.CIVIL),
        ("8 U.S.C. 1253(c)", StatuteClass.CIVIL),
        ("26 U.S.C. 7201", StatuteClass.TAX),
        ("26 U.S.C. 6103", StatuteClass.TAX),
        ("8 U.S.C. 1253", StatuteClass.UNKNOWN),
        ("42 U.S.C. 408", StatuteClass.UNKNOWN),
        ("", StatuteClass.MISSING),
        ("8 U.S.C. 1253(a)(1); 8 U.S.C. 1227", StatuteClass.CRIMINAL),
        ("8 U.S.C. 1253(a)(1) and 26 U.S.C. 7201", StatuteClass.TAX),
        ("8 U.S.C. 1227; 8 U.S.C. 1231", StatuteClass.CIVIL),
        ("8 U.S.C. 1227; nonsense", StatuteClass.UNKNOWN),
    ],
)
def test_classification(written: str, expected: StatuteClass) -> None:
    assert classify(written, TABLE) == expected


def test_a_policy_can_reclassify() -> None:
    law = default_law().with_policy(
        {"statutes": {**TABLE.model_dump(), "criminal": [*TABLE.criminal, "42 U.S.C. 408"]}}, "test"
    )
    assert classify("42 U.S.C. 408(a)(7)", law.parameters.statutes) == StatuteClass.CRIMINAL
    assert classify("42 U.S.C. 408(a)(7)", TABLE) == StatuteClass.UNKNOWN


@given(st.text(max_size=200))
def test_classify_never_crashes(text: str) -> None:
    assert classify(text, TABLE) in set(StatuteClass)
