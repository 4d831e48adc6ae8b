"""`ftigate report transparency`: the public report for a period.

It joins the `ftigate report` group that the ledger's CLI defines (next to `jct`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from ftigate.cli.common import err, fail, guarded, out
from ftigate.cli.ledger import report_app
from ftigate.intake.errors import IntakeError
from ftigate.law.loader import load_law
from ftigate.report.render import ReportError
from ftigate.report.suppression import DEFAULT_THRESHOLD
from ftigate.report.transparency import records_from_decision_files, records_from_store, write_transparency


def transparency(
    period: Annotated[int, typer.Option("--period", help="Calendar year of the letters to report.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the HTML, CSV and CSV schema.")] = Path(
        "transparency"
    ),
    decisions: Annotated[
        list[Path] | None,
        typer.Option(
            "--decisions", help="Decision file (request_id, decision, reasons); repeat, one per --letter."
        ),
    ] = None,
    letters: Annotated[
        list[Path] | None,
        typer.Option("--letter", help="The letter of each --decisions file, in the same order."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Store to read when no --decisions are given (default: $FTIGATE_DB)."),
    ] = None,
    threshold: Annotated[
        int, typer.Option(min=2, help="Smallest count published; smaller non-zero counts are hidden.")
    ] = DEFAULT_THRESHOLD,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The 'accurate as of' date, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
) -> None:
    """Publish the aggregate picture of 6103(i)(2) requests for a period, small cells hidden."""
    decision_files = decisions or []
    letter_files = letters or []
    if len(decision_files) != len(letter_files):
        fail("give one --letter for each --decisions file, in the same order")
    try:
        accurate_as_of = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail("--as-of must be a date, YYYY-MM-DD")
    law = guarded(load_law)
    if decision_files:
        records = guarded(
            lambda: records_from_decision_files(list(zip(letter_files, decision_files, strict=True)), period)
        )
        source = f"{len(decision_files)} decision file(s) with their letters"
    else:
        try:
            records = records_from_store(db, period)
        except IntakeError as exc:
            fail(str(exc))
        source = "the ftigate store"
    code_info = {code: {"message": rc.message, "citation": rc.citation} for code, rc in law.codes.items()}
    try:
        written = write_transparency(
            records,
            out_dir,
            period=period,
            as_of=accurate_as_of,
            threshold=threshold,
            source=source,
            code_info=code_info,
        )
    except ReportError as exc:
        fail(f"{exc}; nothing was written")
    out.print(
        f"transparency {period}: {records.height:,} records from {records['agency'].n_unique()} agencies"
    )
    err.print("wrote " + ", ".join(str(p) for p in written))


report_app.command("transparency")(transparency)
