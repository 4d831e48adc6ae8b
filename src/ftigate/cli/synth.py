"""`ftigate synth`: generate a synthetic taxpayer file and request batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ftigate.cli.common import ForceOption, JsonOption, QuietOption, err, fail, new_app, print_json
from ftigate.outputs import check_output_folder
from ftigate.synth import io
from ftigate.synth.population import POPULATION_STEPS, PopulationParams, generate_population
from ftigate.synth.profiles import (
    PROFILES,
    Profile,
    get_profile,
    load_profile_file,
    parse_overrides,
)
from ftigate.synth.requests import REQUEST_STEPS, generate_requests

app = new_app(
    name="synth",
    help="Generate synthetic (never real) taxpayer files and 6103(i)(2) request batches.",
    no_args_is_help=True,
)

@contextmanager
def _progress(title: str, steps: tuple[str, ...], quiet: bool) -> Iterator[Callable[[str], None]]:
    """A Rich progress bar on stderr advanced once per named step (no bar when quiet)."""
    if quiet:
        yield lambda _: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=len(steps), step="")

        def advance(step: str) -> None:
            progress.update(task, advance=1, step=step)

        yield advance


@app.command()
def population(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder: new or empty (or --force); written all at once.")
    ],
    people: Annotated[int, typer.Option(help="Number of taxpayers.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 7,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a population rate: name=value (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Generate a taxpayer reference file (taxpayers.parquet, addresses.parquet)."""
    if people <= 0:
        fail(f"--people must be positive, got {people}")
    check_output_folder(out_dir, force=force)
    try:
        params = PopulationParams().with_overrides(parse_overrides(set_ or []))
    except ValueError as error:
        fail(str(error))
    quiet = quiet or as_json
    if not quiet:
        err.print(f"synth population: {people:,} people, seed {seed}", highlight=False)
    started = time.perf_counter()
    steps = (*POPULATION_STEPS, "write taxpayers", "write addresses", "write ground truth")
    with _progress("population", steps, quiet) as advance:
        generated = generate_population(people, seed, params, on_step=advance)
        counts = io.write_population(generated, out_dir, params, on_step=advance, force=force)
    seconds = round(time.perf_counter() - started, 1)
    if as_json:
        print_json({"out": str(out_dir), **counts, "seed": seed, "seconds": seconds})
        return
    typer.echo(
        f"wrote {out_dir}: {counts['taxpayers']:,} taxpayers, {counts['addresses']:,} address "
        f"rows (seed {seed}) in {seconds:.1f}s"
    )


@app.command()
def requests(
    population: Annotated[Path, typer.Option(help="Directory written by `synth population`.")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder: new or empty (or --force); written all at once.")
    ],
    count: Annotated[int, typer.Option(help="Number of requests.")] = 10_000,
    profile: Annotated[
        str, typer.Option(help=f"Built-in profile: {', '.join(PROFILES)}.")
    ] = "court-2025",
    profile_file: Annotated[
        Path | None,
        typer.Option(help="YAML file of rate: value pairs (optional `base: <profile>`)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a rate: name=value (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 7,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Generate a request batch (letter.yaml, requests.csv) and its truth.parquet."""
    if count <= 0:
        fail(f"--count must be positive, got {count}")
    check_output_folder(out_dir, force=force)
    try:
        chosen: Profile = (
            load_profile_file(profile_file, profile) if profile_file else get_profile(profile)
        )
        chosen = chosen.with_overrides(parse_overrides(set_ or []))
    except ValueError as error:
        fail(str(error))
    if not population.is_dir():
        fail(f"population directory not found: {population}")
    quiet = quiet or as_json
    if not quiet:
        err.print(
            f"synth requests: {count:,} requests, profile {profile}, seed {seed}", highlight=False
        )
    started = time.perf_counter()
    with _progress("requests", ("load population", *REQUEST_STEPS, "write"), quiet) as advance:
        try:
            reference = io.read_population(population)
        except FileNotFoundError as error:
            fail(str(error))
        advance("load population")
        batch = generate_requests(
            reference, count, chosen, seed, profile_name=profile, on_step=advance
        )
        io.write_request_batch(batch, out_dir, chosen, population_dir=population, force=force)
        advance("write")
    lawful = int(batch.truth["lawful_disclosure"].sum())
    seconds = round(time.perf_counter() - started, 1)
    if as_json:
        print_json(
            {"out": str(out_dir), "requests": count, "lawful_disclosures_in_truth": lawful,
             "profile": profile, "seed": seed, "seconds": seconds}
        )  # fmt: skip
        return
    typer.echo(
        f"wrote {out_dir}: {count:,} requests ({lawful:,} lawful disclosures in truth), "
        f"profile {profile}, seed {seed}, in {seconds:.1f}s"
    )


@app.command()
def rates(as_json: JsonOption = False) -> None:
    """List every rate a profile sets, with its meaning and built-in values."""
    docs = Profile.field_docs()
    names = list(PROFILES)
    if as_json:
        print_json(
            {
                "profile_rates": {
                    field: {"meaning": doc, **{n: getattr(PROFILES[n], field) for n in names}}
                    for field, doc in docs.items()
                },
                "population_rates": {
                    field: {"meaning": doc, "value": getattr(PopulationParams(), field)}
                    for field, doc in PopulationParams.field_docs().items()
                },
            }
        )
        return
    typer.echo("rate\t" + "\t".join(names) + "\tmeaning")
    for field, doc in docs.items():
        values = "\t".join(str(getattr(PROFILES[n], field)) for n in names)
        typer.echo(f"{field}\t{values}\t{doc}")
    typer.echo("\npopulation rates (synth population --set):")
    for field, doc in PopulationParams.field_docs().items():
        typer.echo(f"{field}\t{getattr(PopulationParams(), field)}\t{doc}")
