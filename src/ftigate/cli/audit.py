"""`ftigate audit` (judge a past batch's disclosures) and `ftigate baseline irs-2025`
(the 2025 process, replicated for measurement only).

Register in main.py with:
    app.command("audit")(audit_cli.audit)
    app.add_typer(audit_cli.baseline_app, name="baseline")
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from ftigate.audit.baseline import write_baseline
from ftigate.audit.run import audit_batch
from ftigate.cli.common import (
    EncodingOption,
    ForceOption,
    JsonOption,
    QuietOption,
    err,
    fail,
    guarded,
    new_app,
    out,
    print_json,
    progress_bar,
    read_options,
)
from ftigate.law.loader import load_law
from ftigate.ledger.keys import KeyFileError, load_pseudonymizer, read_secret_file
from ftigate.outputs import check_output_file, check_output_folder
from ftigate.report.audit_report import write_audit_outputs
from ftigate.report.render import ReportError

baseline_app = new_app(
    name="baseline",
    help="Replicas of past disclosure processes, for measurement only (never for disclosure).",
    no_args_is_help=True,
)


def _example_key(path: Path | None) -> tuple[bytes, str]:
    """The key for pseudonymised examples: a given key file, the ledger's pseudonym key,
    or (when neither exists) a one-time random key, said so in the report."""
    try:
        if path is not None:
            return bytes.fromhex(read_secret_file(path)), f"key file {path.name}"
        return load_pseudonymizer().key, "the ledger's pseudonym key"
    except (KeyFileError, ValueError, OSError):
        if path is not None:
            fail(f"{path}: cannot read a hex pseudonym key (mode 600 required)")
        return secrets.token_bytes(32), "a one-time key: pseudonyms here link to nothing else"


def audit(
    letter: Annotated[Path, typer.Option(help="The written request of the batch: YAML or JSON.")],
    requests: Annotated[Path, typer.Option(help="The request file: CSV or Parquet.")],
    disclosed: Annotated[
        Path,
        typer.Option(
            help="What was disclosed: request_id and the address released (CSV or Parquet), or the "
            "--out folder of `ftigate process` (its response.csv, read once the folder is one whole set)."
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for findings.csv, summary.json, report.html.")
    ],
    reference: Annotated[
        Path | None,
        typer.Option(
            help="Taxpayer reference folder (taxpayers and addresses, CSV or Parquet): checks identity."
        ),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also write report.pdf (headless Chromium, offline).")
    ] = False,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="YAML file overriding law parameters.")
    ] = None,
    pseudonym_key: Annotated[
        Path | None, typer.Option(help="Hex key file for the report's pseudonymised examples.")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes for the address parser.")] = None,
    encoding: EncodingOption = "utf-8",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Say, disclosure by disclosure, which disclosures of a past batch were lawful."""
    # Refused before any work: an --out holding the batch's own files is never replaced.
    guarded(lambda: check_output_folder(out_dir, force=force))
    law = guarded(lambda: load_law(policy))
    key, key_note = _example_key(pseudonym_key)
    quiet = quiet or as_json
    with progress_bar("screening", None, enabled=not quiet) as advance:
        result = guarded(
            lambda: audit_batch(
                letter,
                requests,
                disclosed,
                law,
                reference_path=reference,
                example_key=key,
                key_note=key_note,
                workers=workers,
                policy_file=policy,
                read=read_options(encoding),
                progress=advance,
            )
        )
    try:
        written = guarded(lambda: write_audit_outputs(result, out_dir, pdf=pdf, force=force))
    except ReportError as exc:
        fail(f"{exc}; nothing was written")
    if as_json:
        print_json(result.summary)
        return
    totals = result.summary["totals"]
    out.print(
        f"{totals['disclosures']:,} disclosures audited: {totals['unlawful']:,} unlawful, "
        f"{totals['lawful']:,} lawful"
    )
    for row in result.summary["by_primary_reason"]:
        out.print(f"  {row['code']}: {row['count']:,}")
    if not quiet:
        err.print("wrote " + ", ".join(str(p) for p in written))


@baseline_app.callback()
def baseline_group() -> None:
    """Replicas of past disclosure processes, for measurement only."""


@baseline_app.command("irs-2025")
def baseline_irs_2025(
    letter: Annotated[
        Path, typer.Option(help="The written request: YAML or JSON (not examined, as in 2025).")
    ],
    requests: Annotated[Path, typer.Option(help="The request file: CSV or Parquet.")],
    reference: Annotated[
        Path, typer.Option(help="Taxpayer reference folder (taxpayers and addresses, CSV or Parquet).")
    ],
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write the disclosures (.csv or .parquet).")
    ],
    encoding: EncodingOption = "utf-8",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """BASELINE ONLY: what the unlawful August 2025 process would have disclosed."""
    guarded(lambda: check_output_file(out_path, force=force))
    quiet = quiet or as_json
    # The replica reads the whole request file and the reference at once: no count to show.
    with progress_bar("replicating the 2025 process", None, enabled=not quiet):
        disclosed = guarded(
            lambda: write_baseline(
                letter, requests, reference, out_path, force=force, read=read_options(encoding)
            )
        )
    routes = disclosed.group_by("route").len().sort("route")
    by_route = {str(route): int(n) for route, n in routes.iter_rows()}
    if as_json:
        print_json({"disclosures": disclosed.height, "by_route": by_route, "out": str(out_path)})
        return
    detail = ", ".join(f"{r}: {n:,}" for r, n in by_route.items())
    out.print(f"baseline irs-2025: {disclosed.height:,} disclosures ({detail or 'none'})")
    # A warning, not progress: it shows under --quiet too.
    err.print(f"wrote {out_path} (a measurement baseline; never send it to anyone)")
