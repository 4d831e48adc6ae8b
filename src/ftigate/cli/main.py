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
from ftigate.cli import law as law_cli
from ftigate.cli import ledger as ledger_cli
from ftigate.cli import report as report_cli  # noqa: F401 - adds `transparency` to `report`
from ftigate.cli import serve as serve_cli
from ftigate.cli import synth as synth_cli
from ftigate.cli.common import (
    EncodingOption,
    ForceOption,
    JsonOption,
    QuietOption,
    err,
    fail,
    guarded,
    handle_error,
    new_app,
    out,
    print_json,
    progress_bar,
    read_options,
)
from ftigate.cli.demo import demo
from ftigate.cli.process import model_app, process, reference_app
from ftigate.cli.views import print_screen_summary
from ftigate.intake.letter import read_letter
from ftigate.intake.requests import DEFAULT_CHUNK_ROWS, DEFAULT_MAX_FIELD_BYTES
from ftigate.law.loader import case_tables, load_law
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
app.add_typer(law_cli.app, name="law")
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
    encoding: EncodingOption = "utf-8",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
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
    options = read_options(encoding, chunk_rows=chunk_rows, max_field_bytes=max_field_bytes)
    quiet = quiet or as_json
    with progress_bar("screening", parsed_letter.record_count or None, enabled=not quiet) as advance:
        summary = guarded(
            lambda: screen_files(
                parsed_letter, requests, out_path, law, read=options, workers=workers, progress=advance,
                force=force,
            )
        )  # fmt: skip
    if as_json:
        print_json(summary.as_dict())
        return
    print_screen_summary(summary, law)
    if not quiet:
        err.print(f"wrote {out_path}")


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="A reason code, e.g. ADDRESS_PLACEHOLDER.")],
    policy: PolicyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON, case tables included.")] = False,
) -> None:
    """Print what a reason code means, the law it cites, the function that decides it and
    the case table that tests it."""
    law = guarded(lambda: load_law(policy))
    rc = law.codes.get(code.strip().upper())
    if rc is None:
        fail(f"unknown reason code {code!r}; `ftigate codes` lists them all")
    tables = guarded(lambda: case_tables(rc.code))
    effect = law.effects()[rc.code]
    if as_json:
        shown = rc.model_dump(mode="json") | {
            "effect": effect.value,
            "case_tables": {
                stage: {"file": f"ftigate/law/cases/{stage}/{rc.code}.yaml", **table}
                for stage, table in tables.items()
            },
        }
        out.print_json(json.dumps(shown))
        return
    out.print(f"[bold]{rc.code}[/]  ({rc.scope.value}, {effect.value})")
    out.print(rc.message)
    out.print(f"\n[bold]Cites:[/] {rc.citation} - {rc.provision_title}")
    out.print(f"[italic]{rc.provision_text}[/]")
    out.print(f"\nSource: {rc.source.title} <{rc.source.href}>")
    out.print(f"Rule file: ftigate/law/rules/{rc.rule_file}")
    out.print("Decided by: " + ", ".join(rc.implemented_by), markup=False)
    for stage, table in tables.items():
        out.print(
            f"Case table: ftigate/law/cases/{stage}/{rc.code}.yaml "
            f"({len(table.get('fires', []))} cases that fire it, {len(table.get('clears', []))} that do not)",
            markup=False,
        )
    if not tables:
        out.print("Case table: none", markup=False)


CODE_COLUMNS = ("code", "scope", "effect", "citation", "implemented_by")


@app.command()
def codes(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List every reason code with its class, effect, citation and the function deciding it
    (a table on a terminal; tab-separated lines, never cut, when piped or redirected)."""
    law = load_law()
    if as_json:
        out.print_json(json.dumps([rc.model_dump(mode="json") for rc in law.codes.values()]))
        return
    ordered = sorted(law.codes.values(), key=lambda r: (r.scope.value, r.code))
    rows = [
        (rc.code, rc.scope.value, rc.effect.value, rc.citation, ",".join(rc.implemented_by)) for rc in ordered
    ]
    if not sys.stdout.isatty():
        # A table fitted to no terminal truncates codes; a file or a pipe gets every field.
        typer.echo("\t".join(CODE_COLUMNS))
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table(title="Reason codes")
    for col in CODE_COLUMNS[:4]:
        table.add_column(col, no_wrap=col == "code")
    for row in rows:
        table.add_row(*row[:4])
    out.print(table)


def main() -> None:
    try:
        app()
    except Exception as error:  # raised outside any command (GuardedGroup covers those)
        try:
            handle_error(error)
        except typer.Exit as done:
            sys.exit(done.exit_code)
