"""`ftigate process` (screen, resolve, decide, respond), `ftigate model train|show` and
`ftigate reference prepare`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from ftigate.cli.common import (
    DiscloseProbabilityOption,
    EncodingOption,
    ForceOption,
    JsonOption,
    MarginBitsOption,
    QuietOption,
    ReviewFloorOption,
    check_database_url,
    deprecated_spelling,
    err,
    fail,
    guarded,
    new_app,
    out,
    print_json,
    progress_bar,
    read_options,
    renamed_option,
)
from ftigate.decide.gates import ThresholdOverrides, Thresholds, ThresholdsRefused
from ftigate.decide.record import (
    RESPONSE_FILE,
    BatchFiles,
    BatchRecorder,
    check_letter_recordable,
    not_recorded,
)
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import read_letter
from ftigate.law.loader import load_law
from ftigate.ledger.checkpoint import Signer
from ftigate.outputs import (
    OutputError,
    check_output_file,
    check_output_folder,
    output_file,
    settle_output_folder,
)
from ftigate.pipeline.provenance import Sources
from ftigate.pipeline.recording import (
    UnfinishedRelease,
    decide_and_respond,
    earlier_batch,
    open_recorder,
    record_release,
)
from ftigate.pipeline.respond import write_outputs
from ftigate.pipeline.run import ProcessOptions, run_process
from ftigate.resolve.model import ModelArtefact, default_model_path, load_model, m_u_table
from ftigate.resolve.reference import check_reference_folder
from ftigate.resolve.score import ScoringOptions
from ftigate.store.api import Store
from ftigate.store.db import resolve_url

model_app = new_app(
    name="model", help="The identity model: train it, show its m/u table.", no_args_is_help=True
)
reference_app = new_app(
    name="reference", help="The taxpayer file, prepared for matching ahead of batches.", no_args_is_help=True
)


@reference_app.command("prepare")
def reference_prepare(
    reference: Annotated[Path, typer.Option(help="Folder holding taxpayers and addresses (CSV or Parquet).")],
    reference_cache: Annotated[
        Path | None,
        typer.Option(
            "--reference-cache",
            help="Folder to keep the prepared file in, the --reference-cache that `ftigate process` then "
            "reads (required); it holds taxpayer data: keep it on the reference's protected storage.",
        ),
    ] = None,
    old_cache: Annotated[Path | None, deprecated_spelling("--cache", "--reference-cache")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Prepare the taxpayer file for matching once, so that batches start from it."""
    from ftigate.resolve.reference import check_reference_folder, is_prepared, prepared_reference

    # One name for the cache on the command that fills it and on the one that reads it;
    # `--cache`, its first spelling here, still works.
    cache = guarded(lambda: renamed_option("--reference-cache", reference_cache, "--cache", old_cache))
    guarded(lambda: check_reference_folder(reference))
    reused = is_prepared(reference, cache)
    started = time.perf_counter()
    if not (as_json or quiet) and not reused:
        err.print(f"preparing {reference} (about 4 s per million taxpayers)")
    prepared = guarded(lambda: prepared_reference(reference, cache))
    result = {
        "taxpayers": prepared.size,
        "cache": str(cache),
        "reused": reused,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if as_json:
        print_json(result)
        return
    state = "already prepared for this version of the file" if reused else "prepared"
    out.print(f"{prepared.size:,} taxpayers {state} in {cache} ({result['seconds']} s)")


def process(
    letter: Annotated[Path, typer.Option(help="The written request: YAML or JSON.")],
    requests: Annotated[Path, typer.Option(help="The request file: CSV or Parquet.")],
    reference: Annotated[Path, typer.Option(help="Folder holding taxpayers and addresses (CSV or Parquet).")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for decisions, response, explanations, summary.")
    ],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="YAML file overriding law parameters.")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="A model artefact (default: the packaged one).")] = None,
    disclose_probability: DiscloseProbabilityOption = None,
    review_floor: ReviewFloorOption = None,
    margin_bits: MarginBitsOption = None,
    reference_cache: Annotated[
        Path | None,
        typer.Option(
            help="Folder to keep the taxpayer file prepared for matching, reused while the file is "
            "unchanged (it holds taxpayer data: keep it on the reference's protected storage)."
        ),
    ] = None,
    encoding: EncodingOption = "utf-8",
    work_dir: Annotated[
        Path | None, typer.Option(help="Folder for a file-backed DuckDB database (large batches).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help="Store URL to record the batch in (default: $FTIGATE_DB, else the SQLite store "
            "ftigate.db in the working folder)."
        ),
    ] = None,
    no_ledger: Annotated[
        bool,
        typer.Option(
            "--no-ledger",
            help="Process without recording anything (tests and trials on synthetic data only: "
            "6103(p)(3)(A) asks for a record of every disclosure).",
        ),
    ] = False,
    supersede: Annotated[
        str | None,
        typer.Option(
            help="Process again a letter and request file whose batch BATCH was released; the "
            "new batch supersedes it and each disclosure counts once across the two."
        ),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Screen every request, resolve identity for sufficient ones, decide, and write the response.

    Every step is recorded in the ledger as it happens (README: "What the ledger records of a
    batch"); `--no-ledger` processes without a record and says so."""
    if no_ledger and (db or supersede):
        fail("--no-ledger records nothing: it takes neither --db nor --supersede")
    # Where the outputs go is checked first: a batch must not be recorded and then fail to
    # write its response. A killed run's outputs are first made one whole set (its commit
    # finished, or its staging removed); a folder holding a response may then be a killed
    # run's, whose release is recorded below.
    guarded(lambda: settle_output_folder(out_dir))
    output_problem = _output_problem(out_dir, force)
    if output_problem is not None and (no_ledger or not (out_dir / RESPONSE_FILE).is_file()):
        guarded(lambda: _raise(output_problem))
    shipped = guarded(lambda: load_law(policy))
    parsed_letter = guarded(lambda: read_letter(letter))
    # The law, thresholds included, as it stood on the letter's date.
    law = guarded(lambda: shipped.at(parsed_letter.date))
    in_force = Thresholds.of(law.parameters)
    try:
        thresholds = ThresholdOverrides(disclose_probability, review_floor, margin_bits).over(in_force)
    except ThresholdsRefused as refused:
        fail(str(refused))
    artefact = guarded(lambda: _load_model(model))
    guarded(lambda: check_reference_folder(reference))
    # Open the store and the keys, and look for earlier batches of these files, before
    # touching any taxpayer record: a batch that cannot be recorded must not be processed
    # (6103(p)(3)(A)), and the same requests are never answered twice unawares.
    recorder: BatchRecorder | None = None
    if no_ledger:
        err.print(
            "[bold yellow]warning:[/] --no-ledger: nothing of this batch is recorded (no inspection, "
            "decision or disclosure); its summary.json says so"
        )
    else:
        guarded(lambda: check_letter_recordable(parsed_letter, letter))
        store, pseudonyms, signer = guarded(lambda: open_recorder(check_database_url(resolve_url(db))))
        files = guarded(lambda: BatchFiles.read(letter, requests))
        try:
            # (any other failure reaches the one error path through the command group)
            supersedes = earlier_batch(store, files, supersede, out_dir)
        except UnfinishedRelease as unfinished:
            _finish_release(store, unfinished.batch_id, signer, as_json)
        recorder = BatchRecorder(
            store, parsed_letter, files, law, artefact.digest, pseudonyms, signer, supersedes=supersedes
        )
    if output_problem is not None:
        guarded(lambda: _raise(output_problem))
    options = ProcessOptions(
        thresholds=thresholds,
        scoring=ScoringOptions(work_dir=work_dir),
        reference_cache=reference_cache,
        read=read_options(encoding),
        sources=Sources(letter=letter, model=model or default_model_path(), policy=policy),
    )
    quiet = quiet or as_json
    with progress_bar("screening", parsed_letter.record_count or None, enabled=not quiet) as advance:
        result = guarded(
            lambda: run_process(
                parsed_letter, requests, reference, law, artefact, options,
                progress=advance, stage=None if quiet else _stage_line,
                scoring=None if quiet else _scoring_line, recording=recorder,
            )
        )  # fmt: skip
    if recorder is None:
        result.summary["ledger"] = not_recorded("processed with --no-ledger")
        guarded(lambda: write_outputs(result, out_dir, force=force))
    else:
        active = recorder
        try:
            recorded = guarded(
                lambda: decide_and_respond(active, result, out_dir, force=force, command="process")
            )
        finally:
            active.store.close()
        result.summary["ledger"] = {
            "batch_id": recorded.batch_id,
            "recorded": True,
            "events": recorded.events,
            "tree_size": recorded.tree_size,
            "checkpoint_signed": recorded.checkpoint is not None,
            "supersedes": active.supersedes,
        }
    if as_json:
        out.print_json(json.dumps(result.summary))
        return
    _print_summary(result.summary)
    err.print(f"wrote {out_dir}/decisions.csv, response.csv, explanations.parquet, summary.json")
    if recorder is not None:
        err.print(f"recorded batch {result.summary['ledger']['batch_id']} ({recorder.events:,} events)")


def _output_problem(out_dir: Path, force: bool) -> OutputError | None:
    try:
        check_output_folder(out_dir, force=force)
    except OutputError as problem:
        return problem
    return None


def _raise(error: Exception) -> NoReturn:
    raise error


def _finish_release(store: Store, batch_id: str, signer: Signer, as_json: bool) -> NoReturn:
    """An earlier run put its response in place and was killed before recording its
    release: record it, say so, and process nothing again."""
    try:
        guarded(lambda: record_release(store, batch_id, signer))
    finally:
        store.close()
    message = {"batch_id": batch_id, "resumed": True, "recorded": "response_released"}
    if as_json:
        out.print_json(json.dumps(message))
    else:
        err.print(
            f"batch {batch_id}: its response was already in place with the recorded digest; "
            "recorded its release (nothing processed again)"
        )
    raise typer.Exit(0)


def _load_model(path: Path | None) -> ModelArtefact:

    source = path or default_model_path()
    try:
        return load_model(source)
    except (OSError, ValueError, KeyError):
        raise IntakeError(source, "not a readable ftigate model artefact") from None


def _stage_line(name: str) -> None:
    err.print(f"[dim]done: {name}[/]")


def _scoring_line(scored: int, total: int) -> None:
    err.print(f"[dim]scored {scored:,} of {total:,} requests[/]")


def _print_summary(summary: dict[str, object]) -> None:
    table = Table(title=f"Decisions ({summary['records']:,} requests)")
    table.add_column("decision")
    table.add_column("count", justify="right")
    decisions = summary["decisions"]
    assert isinstance(decisions, dict)
    for name, count in decisions.items():
        table.add_row(str(name), f"{int(count):,}")
    out.print(table)
    reasons = summary["reasons"]
    assert isinstance(reasons, dict)
    by_reason = Table(title="Reasons")
    by_reason.add_column("code")
    by_reason.add_column("records", justify="right")
    for code, count in reasons.items():
        by_reason.add_row(str(code), f"{int(count):,}")
    out.print(by_reason)
    out.print(
        f"Model's own estimate of wrong disclosures: {float(str(summary['expected_wrong_disclosures'])):.4f} "
        f"(sum of 1 - match probability over disclosures); model {summary['model_version']}"
    )


@model_app.command("train")
def train(
    people: Annotated[int, typer.Option(min=1000, help="Synthetic taxpayers to train against.")] = 300_000,
    requests: Annotated[
        int, typer.Option(min=100, help="Synthetic requests (adversarial profile).")
    ] = 40_000,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic data and u sampling.")] = 20250807,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Where to write the artefact (default: the packaged one).")
    ] = None,
    allow_unobserved: Annotated[
        bool,
        typer.Option(
            help="Save the model even when training observed no example of some level (they are floored)."
        ),
    ] = False,
    as_json: JsonOption = False,
    force: ForceOption = False,
) -> None:
    """Retrain the identity model on synthetic data, save the artefact and print its m/u table."""
    from ftigate.training.identity import TrainingError, TrainingPlan, train_model

    target = out_path or default_model_path()
    guarded(lambda: check_output_file(target, force=force))
    if not as_json:
        err.print(f"training on {people:,} synthetic people and {requests:,} requests, seed {seed}")
    plan = TrainingPlan(people=people, requests=requests, seed=seed, allow_unobserved=allow_unobserved)
    try:
        with output_file(target, force=force) as staging:
            settings = train_model(plan, staging)
    except TrainingError as exc:
        fail(f"model not saved: {exc}")
    if as_json:
        print_json({"out": str(target), "version": load_model(target).version, "levels": m_u_table(settings)})
        return
    _print_m_u(settings)
    err.print(f"wrote {target} ({load_model(target).version})")


@model_app.command("show")
def show(
    model: Annotated[Path | None, typer.Option(help="A model artefact (default: the packaged one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the model's version and m/u table."""
    artefact = guarded(lambda: load_model(model or default_model_path()))
    if as_json:
        print_json(
            {
                "version": artefact.version,
                "splink_version": artefact.metadata.get("splink_version"),
                "levels": m_u_table(artefact.settings),
            }
        )
        return
    out.print(f"{artefact.version}  (Splink {artefact.metadata.get('splink_version')})")
    _print_m_u(artefact.settings)


def _print_m_u(settings: dict[str, Any]) -> None:
    table = Table(title="m/u by comparison level")
    for column in ("field", "level", "meaning", "m", "u", "weight (bits)"):
        table.add_column(column, justify="right" if column in {"m", "u", "weight (bits)"} else "left")
    for row in m_u_table(settings):
        weight = row["weight"]
        table.add_row(
            row["field"], row["level"], row["label"], f"{row['m']:.4g}", f"{row['u']:.4g}",
            "" if weight is None else f"{weight:+.2f}",
        )  # fmt: skip
    out.print(table)
