"""A lint over the law: every rule file loads strictly, and bad files fail with all their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftigate.law.loader import LawError, build_law, default_law, load_law, parse_provisions
from ftigate.law.model import Effect, Scope

DESIGN_CODES = {
    "LETTER_SIGNER_NOT_AUTHORIZED",
    "LETTER_STATUTE_NOT_CRIMINAL",
    "LETTER_STATUTE_TAX",
    "LETTER_OFFICERS_IMPLAUSIBLE",
    "LETTER_RECIPIENT_SAFEGUARDS",
    "NAME_MISSING",
    "ADDRESS_MISSING",
    "ADDRESS_PLACEHOLDER",
    "ADDRESS_ZIP_ONLY",
    "ADDRESS_INCOMPLETE",
    "ADDRESS_FACILITY_NO_LOCATION",
    "ADDRESS_ZIP_INVALID",
    "PERIOD_MISSING",
    "PERIOD_INVALID",
    "STATUTE_MISSING",
    "STATUTE_NOT_CRIMINAL",
    "STATUTE_TAX",
    "REASON_MISSING",
    "REASON_BOILERPLATE",
    "NO_MATCH",
    "ADDRESS_NOT_CORROBORATED",
    "AMBIGUOUS_IDENTITY",
    "TIN_CONFLICT",
    "DOB_CONFLICT",
    "LOW_CONFIDENCE",
}


def test_every_design_code_is_defined_with_a_citation() -> None:
    law = default_law()
    assert set(law.codes) >= DESIGN_CODES
    for rc in law.codes.values():
        assert rc.citation and rc.message and rc.provision_text, rc.code
        assert rc.source.href.startswith("https://"), rc.code


def test_effects_match_classes() -> None:
    for rc in default_law().codes.values():
        if rc.scope == Scope.WARNING:
            assert rc.effect == Effect.WARN, rc.code
        else:
            assert rc.effect in (Effect.REFUSE, Effect.REVIEW), rc.code


def test_rule_files_sit_under_their_citation() -> None:
    law = default_law()
    for rel, provision in law.provisions.items():
        if rel.startswith("usc26/"):
            section = rel.split("/")[1]
            assert section in provision.citation, (rel, provision.citation)


GOOD = """
citation: 26 U.S.C. 6103(i)(2)(B)(i)
title: t
text: x
source: {title: s, href: "https://example.org"}
last_checked: 2026-11-25
rules:
  - {code: SOME_CODE, scope: record, effect: refuse, message: m, implemented_by: ftigate.screen.record.screen_chunk}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("title: t", "title: t\ntitle: u"), "duplicate key 'title'"),
        (GOOD.replace("effect: refuse", "effect: maybe"), "rules.0.effect"),
        (GOOD + "surprise: 1\n", "surprise"),
        (GOOD.replace("citation: 26 U.S.C. 6103(i)(2)(B)(i)\n", ""), "citation"),
        (GOOD.replace("SOME_CODE", "lower_case"), "rules.0.code"),
        ("citation: [unclosed", "a.yaml"),
    ],
)
def test_bad_rule_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(LawError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_provisions([("a.yaml", text)])


def test_all_errors_are_collected_in_one_run() -> None:
    with pytest.raises(LawError) as info:
        parse_provisions([("a.yaml", GOOD + "x: 1\n"), ("b.yaml", GOOD + "y: 2\n")])
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


def test_duplicate_codes_across_files_are_refused() -> None:
    provisions = parse_provisions([("a.yaml", GOOD), ("b.yaml", GOOD)])
    with pytest.raises(LawError, match="already defined"):
        build_law(provisions)


def test_policy_overrides_and_rejects(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text("cases_per_officer_ceiling: 10\nboilerplate_effect: refuse\n")
    law = load_law(good)
    assert law.parameters.cases_per_officer_ceiling == 10
    assert law.parameters.boilerplate_effect == Effect.REFUSE
    for text, message in [
        ("no_such_setting: 1\n", "unknown policy setting"),
        ("cases_per_officer_ceiling: -3\n", "cases_per_officer_ceiling"),
        ("cases_per_officer_ceiling: 1\ncases_per_officer_ceiling: 2\n", "duplicate key"),
        ("- a list\n", "mapping"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(LawError, match=message):
            load_law(bad)
    with pytest.raises(LawError, match="cannot read"):
        load_law(tmp_path / "missing.yaml")


def test_the_name_unique_at_address_code_takes_the_effect_the_office_sets(tmp_path: Path) -> None:
    """A name and an address alone go to a reviewer unless a policy makes the code warn."""
    assert load_law().effects()["NAME_UNIQUE_AT_ADDRESS"] == Effect.REVIEW
    policy = tmp_path / "policy.yaml"
    policy.write_text("name_unique_at_address_effect: warn\n")
    assert load_law(policy).effects()["NAME_UNIQUE_AT_ADDRESS"] == Effect.WARN
    policy.write_text("name_unique_at_address_effect: disclose\n")
    with pytest.raises(LawError, match="name_unique_at_address_effect"):
        load_law(policy)
