"""One registry of reason codes: every code the source emits is declared in a rule file,
every declared code names a function that emits it, and every code has a case table.

The source is read as Python (its string constants), so a code built into a message or a
column by a new module is found wherever it is written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ftigate
from ftigate.facts.address import Tolerance
from ftigate.law.loader import LawError, build_law, case_tables, default_law, implementation_problem
from ftigate.law.loader import parse_provisions as parse

SOURCE = Path(ftigate.__file__).parent
CODE_SHAPED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _code_shaped(text: str) -> bool:
    return "_" in text and text[0].isalpha() and set(text) <= CODE_SHAPED and not text.endswith("_")


def _source_strings() -> tuple[dict[str, set[str]], set[str]]:
    """Every code-shaped string constant in the package, by module, and every Python name the
    package assigns (a string that is a name, as in `__all__`, refers to it, not to a code)."""
    strings: dict[str, set[str]] = {}
    names: set[str] = set()
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _code_shaped(node.value):
                strings.setdefault(node.value, set()).add(str(path.relative_to(SOURCE)))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return strings, names


# Code-shaped strings that are not reason codes: the corroboration tolerances (named in
# explanations, not decisions) and environment variables.
NOT_CODES = {t.value for t in Tolerance}


def test_every_code_in_the_source_is_declared_and_every_declared_code_is_used() -> None:
    codes = set(default_law().codes)
    strings, names = _source_strings()
    undeclared = {
        text: sorted(where)
        for text, where in strings.items()
        if text not in codes and text not in names and text not in NOT_CODES and not text.startswith("FTIGATE_")
    }
    assert undeclared == {}, "code strings in the source with no rule-file declaration"
    assert codes - set(strings) == set(), "declared codes no module emits"


def test_every_code_names_an_implementation_that_emits_it() -> None:
    for rc in default_law().codes.values():
        for path in rc.implemented_by:
            assert implementation_problem(path, rc.code) is None, rc.code


def test_every_code_has_a_case_table() -> None:
    missing = sorted(code for code in default_law().codes if not case_tables(code))
    assert missing == []


RULE = """
citation: 26 U.S.C. 6103(i)(2)(B)(i)
title: t
text: x
source: {title: s, href: "https://example.org"}
last_checked: 2026-11-25
rules:
  - {code: NAME_MISSING, scope: record, effect: refuse, message: m, implemented_by: IMPLEMENTATION}
"""


@pytest.mark.parametrize(
    ("implementation", "message"),
    [
        ("ftigate.screen.record.no_such_function", "no function no_such_function"),
        ("ftigate.screen.no_such_module.f", "no function no_such_module in ftigate.screen"),
        ("ftigate.screen.letter.letter_codes", "never names NAME_MISSING"),
    ],
)
def test_a_rule_whose_implementation_cannot_emit_it_is_refused(implementation: str, message: str) -> None:
    provisions = parse([("a.yaml", RULE.replace("IMPLEMENTATION", implementation))])
    with pytest.raises(LawError, match=message):
        build_law(provisions)


def test_a_rule_without_an_implementation_is_refused() -> None:
    with pytest.raises(LawError, match="implemented_by"):
        parse([("a.yaml", RULE.replace(", implemented_by: IMPLEMENTATION", ""))])


def test_codes_piped_are_tab_separated_and_never_cut() -> None:
    from typer.testing import CliRunner

    from ftigate.cli.main import app

    result = CliRunner().invoke(app, ["codes"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["code", "scope", "effect", "citation", "implemented_by"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 5 for row in rows)
    assert {row[0] for row in rows} == set(default_law().codes)


def test_explain_names_the_function_and_the_case_tables() -> None:
    import json

    from typer.testing import CliRunner

    from ftigate.cli.main import app

    runner = CliRunner()
    shown = runner.invoke(app, ["explain", "address_not_corroborated", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["implemented_by"] == [
        "ftigate.decide.gates.decide_identities",
        "ftigate.audit.identity.identity_findings",
    ]
    assert set(data["case_tables"]) == {"identity", "audit"}
    assert data["case_tables"]["audit"]["fires"]
    text = runner.invoke(app, ["explain", "REASON_BOILERPLATE"])
    assert "Decided by: ftigate.screen.run._finish" in text.stdout
    assert "ftigate/law/cases/screen/REASON_BOILERPLATE.yaml" in text.stdout
    policy_refuses = runner.invoke(app, ["explain", "REASON_BOILERPLATE", "--json"])
    assert json.loads(policy_refuses.stdout)["effect"] == "warn"
