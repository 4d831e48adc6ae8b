"""`ftigate demo`: the one command a newcomer runs.

It builds a small synthetic taxpayer file and a request batch shaped like the
one in the court record, screens the batch, and shows how screening's verdict
compares with the ground truth the generator kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from ftigate.cli.common import err, fail, guarded, out
from ftigate.cli.views import print_screen_summary
from ftigate.intake.letter import read_letter
from ftigate.law.loader import load_law
from ftigate.screen.run import screen_files
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's files.")] = Path(
        "ftigate-demo"
    ),
    people: Annotated[int, typer.Option(min=100, help="Synthetic taxpayers to generate.")] = 5_000,
    requests: Annotated[int, typer.Option(min=10, help="Requests in the batch.")] = 400,
    profile: Annotated[
        str, typer.Option(help="Request profile: clean, court-2025 or adversarial.")
    ] = "court-2025",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
) -> None:
    """Generate a synthetic batch, screen it, and compare with the ground truth."""
    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; choose one of {', '.join(sorted(PROFILES))}")
    started = time.perf_counter()
    err.print(f"[bold]1. Synthetic data[/] (seed {seed}; all of it invented)")
    population = generate_population(people, seed=seed)
    batch = generate_requests(population, requests, PROFILES[profile], seed=seed, profile_name=profile)
    synth_io.write_population(population, out_dir / "population")
    synth_io.write_request_batch(batch, out_dir / "batch", PROFILES[profile])
    letter_path = out_dir / "batch" / "letter.yaml"
    requests_path = out_dir / "batch" / "requests.csv"
    out.print(
        f"   {people:,} taxpayers in {out_dir / 'population'}; {requests:,} requests in {out_dir / 'batch'}"
    )

    err.print("[bold]2. Screening under 26 U.S.C. 6103(i)(2)[/] (no taxpayer record is touched)")
    law = load_law()
    letter = guarded(lambda: read_letter(letter_path))
    screened_path = out_dir / "screened.csv"
    summary = guarded(lambda: screen_files(letter, requests_path, screened_path, law))
    print_screen_summary(summary, law)

    err.print("[bold]3. Screening against the ground truth[/]")
    screened = pl.read_csv(screened_path, infer_schema=False)
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
    out.print(
        f"Screening agreed with the ground truth on {agree:,} of {joined.height:,} records. "
        f"Files are in {out_dir}/ ({time.perf_counter() - started:.1f}s)."
    )
    if summary.letter_codes:
        out.print(
            "The letter itself is deficient ("
            + ", ".join(summary.letter_codes)
            + "): in the court record one official was named for over a million investigations."
        )
