"""The README documents every reason code, policy setting and command (as Datasette's test_docs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.main import get_command

from ftigate.cli.main import app
from ftigate.law.loader import default_law
from ftigate.law.model import Parameters

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(default_law().codes))
def test_reason_code_documented(code: str) -> None:
    assert f"| {code} |" in README


@pytest.mark.parametrize("setting", sorted(Parameters.model_fields))
def test_policy_setting_documented(setting: str) -> None:
    assert f"| `{setting}` |" in README


def _command_paths(typer_app: typer.Typer) -> list[str]:
    root = get_command(typer_app)
    paths = []
    for name, command in getattr(root, "commands", {}).items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            paths.extend(f"{name} {sub}" for sub in subcommands)
        else:
            paths.append(name)
    return sorted(paths)


@pytest.mark.parametrize("path", _command_paths(app))
def test_command_documented(path: str) -> None:
    group, _, sub = path.partition(" ")
    assert f"ftigate {path}" in README or (sub and f"ftigate {group}" in README and f"`{sub}`" in README), path
