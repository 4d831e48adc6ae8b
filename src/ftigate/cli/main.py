"""The ftigate command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ftigate",
    help="Screen, resolve, disclose and account for 6103(i)(2) requests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()
