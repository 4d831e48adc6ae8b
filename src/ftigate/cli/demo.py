"""`ftigate demo`: the one command a newcomer runs.

It builds a small synthetic taxpayer file and a request batch shaped like the
one in the court record, screens the batch and compares screening with the
ground truth the generator kept; then it answers the batch with ftigate and
with a replica of the 2025 process, audits both the way a court would, and
prints the two verdicts side by side.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from ftigate.audit.baseline import baseline_disclosures
from ftigate.audit.run import AuditResult, audit_batch
from ftigate.cli.common import ForceOption, JsonOption, QuietOption, err, fail, guarded, out, print_json
from ftigate.cli.views import print_screen_summary
from ftigate.decide.gates import Thresholds
from ftigate.decide.record import not_recorded
from ftigate.intake.letter import Letter, read_letter
from ftigate.law.loader import Law, load_law
from ftigate.outputs import (
    OutputError,
    OutputFolder,
    check_output_file,
    check_output_folder,
    make_private_dirs,
    restore,
)
from ftigate.pipeline.provenance import policy_facts, provenance
from ftigate.pipeline.respond import write_outputs
from ftigate.pipeline.run import run_process
from ftigate.report.audit_report import write_audit_outputs
from ftigate.report.provenance import override_sentence
from ftigate.resolve.model import load_model
from ftigate.screen.run import screen_files
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's files.")] = Path(
        "ftigate-demo"
    ),
    people: Annotated[int, typer.Option(min=100, help="Synthetic taxpayers to generate.")] = 20_000,
    requests: Annotated[int, typer.Option(min=10, help="Requests in the batch.")] = 2_000,
    profile: Annotated[
        str, typer.Option(help="Request profile: clean, court-2025 or adversarial.")
    ] = "court-2025",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then start `ftigate serve` on 127.0.0.1 with the demo batch queued and demo users "
            "(keys and store of its own in OUT/service).",
        ),
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --serve.")] = 8000,
) -> None:
    """Generate a synthetic batch, screen it, and compare with the ground truth."""
    step = _silent if quiet or as_json else _say
    if serve and (out_dir / "service").exists():
        fail(f"{out_dir / 'service'} holds an earlier demo service (never replaced); give a new --out")
    if as_json:
        # The tour's tables are the result in words; --json gives the same figures instead.
        with out.capture():
            result = _tour(out_dir, people, requests, profile, seed, step, force=force)
        print_json(result)
    else:
        _tour(out_dir, people, requests, profile, seed, step, force=force)
    if serve:
        from ftigate.cli.serve import serve_demo

        serve_demo(out_dir, port)


def _say(heading: str) -> None:
    err.print(heading)


def _silent(_heading: str) -> None:
    pass


def _tour(
    out_dir: Path,
    people: int,
    requests: int,
    profile: str,
    seed: int,
    step: Callable[[str], None],
    *,
    force: bool,
) -> dict[str, Any]:
    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; choose one of {', '.join(sorted(PROFILES))}")
    # Every output is checked before the first is written: a refused --out is left untouched.
    guarded(lambda: check_demo_folder(out_dir, force=force))
    started = time.perf_counter()
    step(f"[bold]1. Synthetic data[/] (seed {seed}; all of it invented)")
    population = generate_population(people, seed=seed)
    batch = generate_requests(population, requests, PROFILES[profile], seed=seed, profile_name=profile)
    guarded(lambda: make_private_dirs(out_dir))
    guarded(lambda: synth_io.write_population(population, out_dir / "population", force=force))
    guarded(lambda: synth_io.write_request_batch(batch, out_dir / "batch", PROFILES[profile], force=force))
    letter_path = out_dir / "batch" / "letter.yaml"
    requests_path = out_dir / "batch" / "requests.csv"
    out.print(
        f"   {people:,} taxpayers in {out_dir / 'population'}; {requests:,} requests in {out_dir / 'batch'}"
    )

    step("[bold]2. Screening under 26 U.S.C. 6103(i)(2)[/] (no taxpayer record is touched)")
    law = load_law()
    letter = guarded(lambda: read_letter(letter_path))
    screened_path = out_dir / "screened.csv"
    summary = guarded(lambda: screen_files(letter, requests_path, screened_path, law, force=force))
    print_screen_summary(summary, law)

    step("[bold]3. Screening against the ground truth[/]")
    screened = restore(pl.read_csv(screened_path, infer_schema=False))
    truth = pl.read_parquet(out_dir / "batch" / "truth.parquet")
    joined = screened.join(truth.select("request_id", "deficiency"), on="request_id")
    record_codes = joined.with_columns(
        pl.col("reasons")
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().filter(~pl.element().str.starts_with("LETTER_") & (pl.element() != "")))
        .alias("record_codes")
    )
    table = Table(title="Deficiency the record was built with vs. what screening found")
    table.add_column("built with")
    table.add_column("records", justify="right")
    table.add_column("caught", justify="right")
    by_class = (
        record_codes.with_columns(
            pl.col("deficiency").fill_null("(sufficient)").alias("built"),
            pl.when(pl.col("deficiency").is_null())
            .then(pl.col("record_codes").list.len() == 0)
            .otherwise(pl.col("record_codes").list.contains(pl.col("deficiency")))
            .alias("agrees"),
        )
        .group_by("built")
        .agg(pl.len().alias("n"), pl.col("agrees").sum().alias("ok"))
        .sort("built")
    )
    for row in by_class.iter_rows(named=True):
        table.add_row(row["built"], f"{row['n']:,}", f"{row['ok']:,}")
    out.print(table)
    agree = int(by_class["ok"].sum())
    out.print(f"Screening agreed with the ground truth on {agree:,} of {joined.height:,} records.")
    if summary.letter_codes:
        out.print(
            "The letter itself is deficient ("
            + ", ".join(summary.letter_codes)
            + "): in the court record one official was named for over a million investigations. "
            "As the letter stands, nothing is disclosed."
        )

    verdicts = compare_with_2025(out_dir, letter, law, summary.letter_codes, step, force=force)
    out.print(f"Files are in {out_dir}/ ({time.perf_counter() - started:.1f}s).")
    return {
        "out": str(out_dir),
        "seed": seed,
        "screening": summary.as_dict(),
        "screening_agrees_with_truth": {"records": joined.height, "agree": agree},
        "two_processes": verdicts,
    }


DEMO_FOLDERS = ("population", "batch", "ftigate", "irs-2025")
DEMO_FILES = ("screened.csv",)
AUDIT_FOLDERS = ("ftigate", "2025 replica")
LIFTED_CEILING_NOTE = (
    "the demo, which lifted the cases-per-officer ceiling to show what identity resolution "
    "adds; under the law as shipped the letter itself is refused (LETTER_OFFICERS_IMPLAUSIBLE)"
)


def check_demo_folder(out_dir: Path, *, force: bool) -> None:
    """The demo's --out holds only the demo's own outputs (each one an ftigate output
    folder or file) or is new or empty; checked before anything is written."""
    # "service": `demo --serve`'s store and keys, which a later demo never replaces.
    check_output_folder_shape(out_dir, (*DEMO_FOLDERS, *DEMO_FILES, "audit", "service"), force=force)
    for name in DEMO_FOLDERS:
        check_output_folder(out_dir / name, force=force)
    for name in DEMO_FILES:
        check_output_file(out_dir / name, force=force)
    check_output_folder_shape(out_dir / "audit", AUDIT_FOLDERS, force=force)
    for name in AUDIT_FOLDERS:
        check_output_folder(out_dir / "audit" / name, force=force)


def check_output_folder_shape(folder: Path, allowed: tuple[str, ...], *, force: bool) -> None:
    if folder.is_symlink():
        raise OutputError(folder, "the output folder is a symbolic link; links are never followed")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(folder, "exists and is not a folder")
    present = sorted(p.name for p in folder.iterdir())
    if present and not force:
        raise OutputError(
            folder, "the output folder is not empty; give a new or empty folder, or --force to "
            "replace the demo's own earlier outputs there"
        )  # fmt: skip
    foreign = [name for name in present if name not in allowed]
    if foreign:
        raise OutputError(folder, f"holds {foreign[0]!r}, which the demo did not write; nothing was touched")


def compare_with_2025(
    out_dir: Path,
    letter: Letter,
    law: Law,
    letter_codes: list[str],
    step: Callable[[str], None] = _say,
    *,
    force: bool = False,
) -> dict[str, dict[str, int]]:
    """Run ftigate and the 2025 replica on the same batch, audit both, show them side by side."""
    batch_dir, population_dir = out_dir / "batch", out_dir / "population"
    requests_path = batch_dir / "requests.csv"
    note = None
    if "LETTER_OFFICERS_IMPLAUSIBLE" in letter_codes:
        # To show what identity resolution adds, judge the records as if the letter had named
        # enough officers; every other rule stays as the law has it. The reports say so.
        law = law.with_policy({"cases_per_officer_ceiling": 10**9}, "demo: officers ceiling lifted")
        note = LIFTED_CEILING_NOTE
        step("[bold]4. Identity resolution[/] (as if the letter had named enough officers)")
    else:
        step("[bold]4. Identity resolution[/]")
    artefact = load_model()
    result = guarded(lambda: run_process(letter, requests_path, population_dir, law, artefact))
    policy = policy_facts(
        law, note=note, thresholds=Thresholds().as_dict(), default_thresholds=Thresholds().as_dict()
    )
    inputs = {"letter": batch_dir / "letter.yaml", "requests": requests_path, "reference": population_dir}
    result.summary["provenance"] = guarded(lambda: provenance(inputs, policy))
    # The demo answers a synthetic batch as `process --no-ledger` would, and says so.
    result.summary["ledger"] = not_recorded("the demo, on synthetic data")
    err.print("[dim]the demo records nothing in a ledger (synthetic data; as `process --no-ledger`)[/]")
    guarded(lambda: write_outputs(result, out_dir / "ftigate", force=force))
    if sentence := override_sentence(policy):
        err.print(sentence, markup=False)

    step("[bold]5. The 2025 process, replicated[/] (TIN + name match, ZIP-shaped address field)")
    replica_path = out_dir / "irs-2025" / "disclosed.csv"
    replica = guarded(lambda: baseline_disclosures(batch_dir / "letter.yaml", requests_path, population_dir))
    guarded(lambda: _write_replica(replica, out_dir / "irs-2025", force=force))

    step("[bold]6. Auditing both the way a court would[/]")
    key = os.urandom(32)
    verdicts: dict[str, AuditResult] = {}
    answers = {"ftigate": out_dir / "ftigate" / "response.csv", "2025 replica": replica_path}
    guarded(lambda: make_private_dirs(out_dir / "audit"))
    for name, disclosed in answers.items():
        judge = partial(
            audit_batch, batch_dir / "letter.yaml", requests_path, disclosed, law,
            reference_path=population_dir, example_key=key, key_note="demo: one-time key",
            policy_note=note,
        )  # fmt: skip
        verdicts[name] = guarded(judge)
        guarded(partial(write_audit_outputs, verdicts[name], out_dir / "audit" / name, force=force))

    truth = pl.read_parquet(batch_dir / "truth.parquet")
    lawful_total = int(truth["lawful_disclosure"].sum())
    table = Table(title="The same batch, two processes")
    table.add_column("")
    table.add_column("ftigate", justify="right")
    table.add_column("2025 replica", justify="right")
    figures: dict[str, dict[str, int]] = {}
    rows: dict[str, list[str]] = {
        "disclosed": [],
        "unlawful (audit)": [],
        "unlawful (ground truth)": [],
        "wrong person (audit)": [],
        f"lawful answers given (of {lawful_total})": [],
        "damages exposure, 7431 estimate": [],
    }
    for name, audited in verdicts.items():
        released = audited.findings.select("request_id")
        joined = released.join(truth, on="request_id", how="left")
        unlawful_truth = int((~joined["lawful_disclosure"].fill_null(False)).sum())
        wrong_person = sum(
            int(r["count"])
            for r in audited.summary["by_primary_reason"]
            if r["code"] == "WRONG_PERSON_DISCLOSED"
        )
        totals = audited.summary["totals"]
        rows["disclosed"].append(f"{totals['disclosures']:,}")
        rows["unlawful (audit)"].append(f"{totals['unlawful']:,}")
        rows["unlawful (ground truth)"].append(f"{unlawful_truth:,}")
        rows["wrong person (audit)"].append(f"{wrong_person:,}")
        lawful_given = int(joined["lawful_disclosure"].fill_null(False).sum())
        rows[f"lawful answers given (of {lawful_total})"].append(f"{lawful_given:,}")
        damages = audited.summary["damages_7431"]["statutory_minimum_usd"]
        rows["damages exposure, 7431 estimate"].append(f"${damages:,}")
        figures[name] = {
            "disclosed": totals["disclosures"],
            "unlawful_audit": totals["unlawful"],
            "unlawful_truth": unlawful_truth,
            "wrong_person_audit": wrong_person,
            "lawful_answers_given": lawful_given,
            "lawful_answers_in_truth": lawful_total,
        }
    for label, values in rows.items():
        table.add_row(label, *values)
    out.print(table)
    out.print(
        f"Audit reports: {out_dir}/audit/ftigate/report.html and {out_dir}/audit/2025 replica/report.html"
    )
    if note:
        out.print(
            "Both audits ran with the cases-per-officer ceiling lifted (the reports say so): "
            "as the letter stands, the law refuses the whole batch."
        )
    return figures


def _write_replica(replica: pl.DataFrame, folder_path: Path, *, force: bool) -> None:
    with OutputFolder(folder_path, force=force, command="demo baseline irs-2025") as folder:
        folder.write_csv("disclosed.csv", replica)
        folder.prepare()
        folder.commit()
