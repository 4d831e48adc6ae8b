"""`ftigate report transparency`: the public report for a period.

It joins the `ftigate report` group that the ledger's CLI defines (next to `jct`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ftigate import __version__
from ftigate.cli.common import (
    ForceOption,
    JsonOption,
    check_database_url,
    deprecated_spelling,
    err,
    fail,
    guarded,
    out,
    print_json,
    renamed_option,
)
from ftigate.cli.ledger import LogKeyOption, report_app, require_verified_store
from ftigate.intake.errors import IntakeError
from ftigate.law.loader import load_law
from ftigate.outputs import check_output_folder
from ftigate.pipeline.provenance import input_digests, policy_facts
from ftigate.report.render import ReportError
from ftigate.report.suppression import DEFAULT_THRESHOLD
from ftigate.report.transparency import records_from_decision_files, records_from_store, write_transparency


def transparency(
    year: Annotated[
        int | None, typer.Option("--year", help="Calendar year of the letters to report (required).")
    ] = None,
    old_period: Annotated[int | None, deprecated_spelling("--period", "--year")] = None,
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
    log_key: LogKeyOption = None,
    as_json: JsonOption = False,
    force: ForceOption = False,
) -> None:
    """Publish the aggregate picture of 6103(i)(2) requests for a year, small cells hidden."""
    # `--year` as in `report jct` (a "period" is a taxable period everywhere else in ftigate);
    # `--period`, its first spelling here, still works.
    period = guarded(lambda: renamed_option("--year", year, "--period", old_period))
    decision_files = decisions or []
    letter_files = letters or []
    if len(decision_files) != len(letter_files):
        fail("give one --letter for each --decisions file, in the same order")
    try:
        accurate_as_of = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail("--as-of must be a date, YYYY-MM-DD")
    guarded(lambda: check_output_folder(out_dir, force=force))
    law = guarded(load_law)
    if decision_files:
        pairs = list(zip(letter_files, decision_files, strict=True))
        records = guarded(lambda: records_from_decision_files(pairs, period))
        source = f"{len(decision_files)} decision file(s) with their letters"
        inputs: dict[str, Any] = guarded(
            lambda: input_digests(
                {
                    f"{role} {number}": path
                    for number, (letter, decided) in enumerate(pairs, start=1)
                    for role, path in (("letter", letter), ("decisions", decided))
                }
            )
        )
    else:
        url = guarded(lambda: check_database_url(db))
        # The tables are published only from a log that verifies (seals, pins, signed
        # heads, and the tables rebuilt from it): an edited row is never published.
        guarded(lambda: require_verified_store(url, log_key, "the transparency report"))
        try:
            records = records_from_store(url, period)
        except IntakeError as exc:
            fail(str(exc))
        source = "the ftigate store"
        inputs = {"store": guarded(lambda: store_description(url))}
    code_info = {code: {"message": rc.message, "citation": rc.citation} for code, rc in law.codes.items()}
    provenance = {
        "ftigate_version": __version__,
        "inputs": inputs,
        "policy": policy_facts(
            law,
            thresholds={"suppression_threshold": threshold},
            default_thresholds={"suppression_threshold": DEFAULT_THRESHOLD},
        ),
    }
    try:
        written = guarded(
            lambda: write_transparency(
                records,
                out_dir,
                period=period,
                as_of=accurate_as_of,
                threshold=threshold,
                source=source,
                code_info=code_info,
                provenance=provenance,
                force=force,
            )
        )
    except ReportError as exc:
        fail(f"{exc}; nothing was written")
    agencies = records["agency"].n_unique()
    if as_json:
        wrote = [str(p) for p in written]
        print_json({"year": period, "records": records.height, "agencies": agencies, "wrote": wrote})
        return
    out.print(f"transparency {period}: {records.height:,} records from {agencies} agencies")
    err.print("wrote " + ", ".join(str(p) for p in written))


def store_description(url: str) -> dict[str, Any]:
    """What a report read from the store: the database kind, and the ledger's tree head at
    the time (a report can be tied to a signed checkpoint of that size)."""
    import base64

    from ftigate.store.api import Store

    store = Store.open(url, run_migrations=False)
    try:
        head = store.latest_tree_head()
    finally:
        store.close()
    return {
        "database": url.split("://", 1)[0],
        "ledger_size": head.size,
        "ledger_root": base64.b64encode(head.root_hash).decode(),
    }


report_app.command("transparency")(transparency)
