"""The ftigate command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ftigate import __version__
from ftigate.cli import audit as audit_cli
from ftigate.cli import batch as batch_cli
from ftigate.cli import ledger as ledger_cli
from ftigate.cli import report as report_cli  # noqa: F401 - adds `transparency` to `report`
from ftigate.cli import serve as serve_cli
from ftigate.cli import synth as synth_cli
from ftigate.cli.common import ForceOption, err, fail, guarded, handle_error, new_app, out, progress_bar
from ftigate.cli.demo import demo
from ftigate.cli.process import model_app, process, reference_app
from ftigate.cli.views import print_screen_summary
from ftigate.intake.letter import read_letter
from ftigate.intake.requests import DEFAULT_CHUNK_ROWS, DEFAULT_MAX_FIELD_BYTES, ReadOptions
from ftigate.law.loader import load_law
from ftigate.outputs import check_output_file
from ftigate.screen.run import screen_files

app = new_app(
    name="ftigate",
    help="Screen, resolve, disclose and account for 26 U.S.C. 6103(i)(2) requests.",
    no_args_is_help=True,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ftigate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print ftigate's version."),
    ] = False,
) -> None:
    pass


app.add_typer(synth_cli.app, name="synth")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(ledger_cli.witness_app, name="witness")
app.add_typer(ledger_cli.accounting_app, name="accounting")
app.add_typer(ledger_cli.report_app, name="report")
app.command("audit")(audit_cli.audit)
app.add_typer(audit_cli.baseline_app, name="baseline")
app.command()(demo)
app.command()(process)
app.add_typer(batch_cli.app, name="batch")
app.add_typer(model_app, name="model")
app.add_typer(reference_app, name="reference")
app.command()(serve_cli.serve)
app.add_typer(serve_cli.users_app, name="users")
app.add_typer(serve_cli.token_app, name="token")

PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="YAML file overriding law parameters (see README: Policy settings)."),
]


@app.command()
def screen(
    letter: Annotated[Path, typer.Option(help="The written request: YAML or JSON.")],
    requests: Annotated[Path, typer.Option(help="The request file: CSV or Parquet.")],
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write one row per request (.csv or .parquet).")
    ],
    policy: PolicyOption = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of a CSV request file (utf-8, cp1252, latin-1).")
    ] = "utf-8",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Records held in memory at once.")
    ] = DEFAULT_CHUNK_ROWS,
    max_field_bytes: Annotated[
        int, typer.Option(min=256, help="Largest field accepted, in bytes.")
    ] = DEFAULT_MAX_FIELD_BYTES,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes for the address parser (default: all cores).")
    ] = None,
    force: ForceOption = False,
) -> None:
    """Check every request against 6103(i)(2) before any taxpayer record is touched."""
    law = guarded(lambda: load_law(policy))
    guarded(lambda: check_output_file(out_path, force=force))
    parsed_letter = guarded(lambda: read_letter(letter))
    options = ReadOptions(encoding=encoding, chunk_rows=chunk_rows, max_field_bytes=max_field_bytes)
    with progress_bar("screening", parsed_letter.record_count or None, enabled=not as_json) as advance:
        summary = guarded(
            lambda: screen_files(
                parsed_letter, requests, out_path, law, read=options, workers=workers, progress=advance,
                force=force,
            )
        )  # fmt: skip
    if as_json:
        out.print_json(json.dumps(summary.as_dict()))
    else:
        print_screen_summary(summary, law)
        err.print(f"wrote {out_path}")


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="A reason code, e.g. ADDRESS_PLACEHOLDER.")],
    policy: PolicyOption = None,
) -> None:
    """Print what a reason code means and the law it cites."""
    law = guarded(lambda: load_law(policy))
    rc = law.codes.get(code.strip().upper())
    if rc is None:
        fail(f"unknown reason code {code!r}; `ftigate codes` lists them all")
    out.print(f"[bold]{rc.code}[/]  ({rc.scope.value}, {rc.effect.value})")
    out.print(rc.message)
    out.print(f"\n[bold]Cites:[/] {rc.citation} - {rc.provision_title}")
    out.print(f"[italic]{rc.provision_text}[/]")
    out.print(f"\nSource: {rc.source.title} <{rc.source.href}>")
    out.print(f"Rule file: ftigate/law/rules/{rc.rule_file}")


@app.command()
def codes(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List every reason code with its class, effect and citation."""
    law = load_law()
    if as_json:
        out.print_json(json.dumps([rc.model_dump(mode="json") for rc in law.codes.values()]))
        return
    table = Table(title="Reason codes")
    for col in ("code", "scope", "effect", "citation"):
        table.add_column(col)
    for rc in sorted(law.codes.values(), key=lambda r: (r.scope.value, r.code)):
        table.add_row(rc.code, rc.scope.value, rc.effect.value, rc.citation)
    out.print(table)


def main() -> None:
    try:
        app()
    except Exception as error:  # raised outside any command (GuardedGroup covers those)
        try:
            handle_error(error)
        except typer.Exit as done:
            sys.exit(done.exit_code)
