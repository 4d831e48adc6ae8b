"""The law as it stood: dated values, resolved at the letter's date, loaded strictly."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.law.loader import LawError, build_law, default_law, load_law, parse_provisions
from ftigate.law.timeline import law_diff
from ftigate_testkit import BASE_LETTER, ScreenBatch, merge, record

ICE = "U.S. Immigration and Customs Enforcement"
AGREEMENT = date(2025, 4, 7)
runner = CliRunner()


@pytest.mark.parametrize(
    ("when", "ice_director", "ice_findings_open", "itin_groups"),
    [
        (date(2011, 4, 11), False, False, [(70, 88)]),
        (date(2016, 8, 15), False, False, [(50, 65), (70, 88), (90, 92), (94, 99)]),
        (date(2023, 10, 31), False, False, [(50, 65), (70, 88), (90, 92), (94, 99)]),
        (date(2025, 4, 6), False, True, [(50, 65), (70, 88), (90, 92), (94, 99)]),
        (AGREEMENT, True, True, [(50, 65), (70, 88), (90, 92), (94, 99)]),
        (date(2025, 4, 8), True, False, [(50, 65), (70, 88), (90, 92), (94, 99)]),
    ],
)
def test_values_are_in_force_from_their_dates(
    when: date, ice_director: bool, ice_findings_open: bool, itin_groups: list[tuple[int, int]]
) -> None:
    parameters = default_law().at(when).parameters
    assert (ICE in parameters.officials.by_agency) is ice_director
    assert (ICE in parameters.agencies_with_unresolved_safeguard_findings) is ice_findings_open
    assert parameters.itin_group_ranges == itin_groups


def test_every_value_has_a_reference() -> None:
    for name, spec in default_law().parameter_docs.items():
        for day, dated in spec.values.items():
            assert dated.reference.citation and dated.reference.href.startswith("https://"), (name, day)
    findings = default_law().parameter_docs["agencies_with_unresolved_safeguard_findings"].values
    assert "November 2023" in (findings[date(2023, 11, 1)].reference.document or "")


def test_a_date_before_the_law_is_known_raises() -> None:
    with pytest.raises(LawError, match="damages_per_act_usd"):
        default_law().at(date(1982, 9, 3))
    assert default_law().at(date(1982, 9, 4)).parameters.damages_per_act_usd == 1000


def _rule(values: str) -> list[tuple[str, str]]:
    text = f"""
citation: 26 U.S.C. 7431(c)
title: t
text: x
source: {{title: s, href: "https://example.org"}}
last_checked: 2026-11-25
parameters:
  damages_per_act_usd:
    description: d
    values:
{values}
"""
    return [("a.yaml", text)]


REF = 'reference: {citation: c, href: "https://example.org"}'


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (f"      1982-09-04: {{value: 1, {REF}}}\n      1982-09-04: {{value: 2, {REF}}}", "duplicate key"),
        (f"      1982-09-04: {{value: 1, {REF}, surprise: 3}}", "surprise"),
        ("      1982-09-04: {value: 1}", "reference"),
        (f"      '1982': {{value: 1, {REF}}}", "not a date"),
        ("      1982-09-04: {value: 1, reference: {citation: c, href: 'http://example.org'}}", "href"),
        ("      {}", "values"),
    ],
)
def test_bad_dated_values_are_refused(values: str, message: str) -> None:
    with pytest.raises(LawError, match=message):
        parse_provisions(_rule(values))


def test_a_bad_value_on_any_date_is_refused_at_load() -> None:
    """A value that is wrong in 2011 must not wait for a 2011 letter to be found."""
    provisions = dict(default_law().provisions)
    rel = "usc26/7431/c_damages.yaml"
    text = (Path(__file__).parents[2] / "src/ftigate/law/rules" / rel).read_text(encoding="utf-8")
    bad = text.replace("        value: 1000\n", f"        value: 1000\n      2011-01-01: {{value: -5, {REF}}}\n")
    provisions[rel] = parse_provisions([(rel, bad)])[rel]
    with pytest.raises(LawError, match="on 2011-01-01: damages_per_act_usd"):
        build_law(provisions)


def test_an_undated_policy_value_holds_on_every_date_a_dated_one_from_its_date(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "cases_per_officer_ceiling: 10\n"
        "damages_per_act_usd: {values: {2026-01-01: 2000}}\n"
        "agencies_with_unresolved_safeguard_findings: {values: {2026-06-01: [U.S. Immigration and Customs Enforcement]}}\n"
    )
    law = load_law(policy)
    assert law.at(AGREEMENT).parameters.cases_per_officer_ceiling == 10
    assert law.at(AGREEMENT).parameters.damages_per_act_usd == 1000
    assert law.at(date(2026, 1, 1)).parameters.damages_per_act_usd == 2000
    assert law.at(date(2026, 5, 31)).parameters.agencies_with_unresolved_safeguard_findings == []
    assert law.at(date(2026, 6, 1)).parameters.agencies_with_unresolved_safeguard_findings == [ICE]
    for text, message in [
        ("damages_per_act_usd: {values: {2026-01-01: -1}}\n", "damages_per_act_usd"),
        ("damages_per_act_usd: {values: {'2026': 5}}\n", "not a date"),
        ("damages_per_act_usd: {values: {}}\n", "dated setting"),
    ]:
        policy.write_text(text)
        with pytest.raises(LawError, match=message):
            load_law(policy)


def test_the_diff_is_what_the_dated_files_say() -> None:
    changed = law_diff(default_law(), date(2025, 4, 6), date(2025, 4, 8))
    assert {p["parameter"] for p in changed["parameters"]} == {
        "officials",
        "agencies_with_unresolved_safeguard_findings",
    }
    officials = next(p for p in changed["parameters"] if p["parameter"] == "officials")
    assert officials["changes"] == [
        {"parameter": "officials", "path": f"by_agency/{ICE}", "change": "added", "before": None, "after": ["Director"]}
    ]
    assert law_diff(default_law(), date(2025, 4, 8), date.today())["parameters"] == []


def test_screening_one_batch_under_the_law_of_the_agreement_and_of_today(screen_batch: ScreenBatch) -> None:
    """The same ICE batch, its letter dated the day of the agreement and today: the dated
    files say ICE's safeguard findings were open on the first day and are not listed now, so
    the first batch goes to review on LETTER_RECIPIENT_SAFEGUARDS and the second passes; a
    letter from the day before the agreement, signed by ICE's Director, is refused."""
    rows = [record(i, list(BASE_LETTER["officers"])) for i in range(5)]
    outcomes = {}
    for when in (date(2025, 4, 6), AGREEMENT, date.today()):
        frame = screen_batch(rows, merge(BASE_LETTER, {"date": when.isoformat()}))
        outcomes[when] = {(r["outcome"], tuple(r["reasons"])) for r in frame.iter_rows(named=True)}
    assert outcomes[date.today()] == {("pass", ())}
    assert outcomes[AGREEMENT] == {("review", ("LETTER_RECIPIENT_SAFEGUARDS",))}
    assert outcomes[date(2025, 4, 6)] == {
        ("refuse", ("LETTER_SIGNER_NOT_AUTHORIZED", "LETTER_RECIPIENT_SAFEGUARDS"))
    }


def test_law_show_with_a_policy_marks_its_settings(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("margin_bits: 8\n")
    shown = runner.invoke(app, ["law", "show", "--policy", str(policy), "--json"])
    assert shown.exit_code == 0, shown.output
    margin = json.loads(shown.stdout)["parameters"]["margin_bits"]
    assert (margin["value"], margin["since"], margin["origin"]) == (8, None, str(policy))
    diff = runner.invoke(app, ["law", "diff", "2025-04-08", "2026-01-01", "--policy", str(policy)])
    assert diff.exit_code == 0 and "No parameter differs" in diff.stdout


def test_law_show_and_diff_commands() -> None:
    shown = runner.invoke(app, ["law", "show", "--at", "2025-04-07", "--json"])
    assert shown.exit_code == 0, shown.output
    parameters = json.loads(shown.stdout)["parameters"]
    assert parameters["agencies_with_unresolved_safeguard_findings"]["value"] == [ICE]
    assert parameters["agencies_with_unresolved_safeguard_findings"]["since"] == "2023-11-01"
    assert parameters["damages_per_act_usd"]["reference"]["citation"] == "26 U.S.C. 7431(c)(1)(A)"
    text = runner.invoke(app, ["law", "show", "--at", "2025-04-07"])
    assert (text.exit_code == 0 and "TIGTA" not in text.stdout) or "Inspector General" in text.stdout
    diff = runner.invoke(app, ["law", "diff", "2025-04-06", "2025-04-07"])
    assert diff.exit_code == 0, diff.output
    assert f"+ by_agency/{ICE}" in diff.stdout
    for args in (["law", "show", "--at", "1980-01-01"], ["law", "show", "--at", "2025-13-01"]):
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2, bad.output
        assert "Traceback" not in bad.output


def test_the_law_digest_names_the_rules_not_the_date(tmp_path: Path) -> None:
    from ftigate.law.timeline import law_digest

    law = default_law()
    assert law_digest(law.at(date(2025, 6, 27))) == law_digest(law.at(date.today()))
    assert law_digest(law.at(AGREEMENT)) != law_digest(law.at(date(2025, 4, 8)))
    policy = tmp_path / "policy.yaml"
    policy.write_text("margin_bits: 8\n")
    assert law_digest(load_law(policy)) != law_digest(law)


def test_a_policy_that_makes_boilerplate_refuse_refuses_the_record(screen_batch: ScreenBatch) -> None:
    """One outcome rule for every stage: REASON_BOILERPLATE among a record's reasons (the
    policy put it there) refuses it; before, the rule file's `warn` let the record pass."""
    letter = merge(BASE_LETTER, {"record_count": 25, "officers": [f"A{100 + i}" for i in range(5)]})
    rows = [record(i, list(letter["officers"]), reason="Same reason") for i in range(25)]
    frame = screen_batch(rows, letter, {"boilerplate_effect": "refuse"})
    assert set(frame["outcome"]) == {"refuse"}
    assert all("REASON_BOILERPLATE" in r for r in frame["reasons"])
    assert set(screen_batch(rows, letter)["outcome"]) == {"pass"}
