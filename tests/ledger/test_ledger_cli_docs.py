"""Every ledger CLI command and option is documented (as Datasette's test_docs does)."""

from __future__ import annotations

import typer
from typer.main import get_command

from ftigate.cli import ledger as cli

APPS = {
    "ledger": cli.app,
    "witness": cli.witness_app,
    "accounting": cli.accounting_app,
    "report": cli.report_app,
}


def _commands(app: typer.Typer) -> dict[str, object]:
    command = get_command(app)
    return dict(getattr(command, "commands", {})) or {command.name or "": command}


def test_every_command_and_option_has_help() -> None:
    missing = []
    for app_name, app in APPS.items():
        for name, command in _commands(app).items():
            if not (getattr(command, "help", None) or "").strip():
                missing.append(f"{app_name} {name}")
            for param in getattr(command, "params", []):
                if param.param_type_name == "option" and not (param.help or "").strip():
                    missing.append(f"{app_name} {name} {param.opts[0]}")
    assert missing == []


def test_the_commands_the_brief_names_exist() -> None:
    assert set(_commands(cli.app)) == {
        "keygen",
        "checkpoint",
        "verify",
        "prove",
        "prove-record",
        "check-proof",
        "witness-request",
    }
    assert set(_commands(cli.witness_app)) == {"init", "cosign", "add-checkpoint", "serve"}
    assert {"jct"} <= set(_commands(cli.report_app))  # other stages add their reports
