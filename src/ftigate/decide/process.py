"""`ftigate process`: screen, resolve, decide and write the response, in that order.

Records that fail screening are refused (or sent to review) with their codes and never
reach the taxpayer file: only records that passed R1-R5 under a letter that passed
L1-L4 are inspected. The outputs are staged inside `out` and renamed into place only when all of them are
complete and durable (`ftigate.outputs.OutputFolder`).

Outputs (DESIGN.md section 4):
  decisions.csv         request_id, decision, reasons, match_probability, model_version,
                        street, unit, city, state, zip (the address only where disclosed)
  response.csv          the disclosed rows only: request_id and the address
  explanations.parquet  internal: per resolved request, the candidates considered, their
                        per-field match weights and levels, and the gate that decided
  summary.json          counts by decision and reason, the model's own estimate of wrong
                        disclosures, thresholds, model version, the rules that decided
                        (`rules`: law, policy, thresholds and model digests) and stage timings
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from ftigate.decide.gates import (
    DISCLOSE,
    REFUSE,
    REVIEW,
    Thresholds,
    decide_identities,
    plausible_best,
    rank_candidates,
)
from ftigate.decide.rules import BatchRules
from ftigate.intake.letter import Letter
from ftigate.intake.requests import ReadOptions, read_request_chunks
from ftigate.law.loader import Law
from ftigate.law.model import Scope
from ftigate.outputs import OutputFolder
from ftigate.resolve.model import FIELDS, ModelArtefact
from ftigate.resolve.reference import (
    DISCLOSED_COLUMNS,
    Reference,
    check_reference_folder,
    last_known_from,
    load_reference,
    own_address_parts,
    prepared_reference,
)
from ftigate.resolve.score import InspectionLog, ScoringOptions, empty_candidates, score_candidates
from ftigate.resolve.standardise import standard_requests
from ftigate.screen.run import screen_files

DECISION_COLUMNS = (
    "request_id",
    "decision",
    "reasons",
    "match_probability",
    "model_version",
    *DISCLOSED_COLUMNS,
)
RESPONSE_COLUMNS = ("request_id", *DISCLOSED_COLUMNS)
REQUEST_FIELDS = ("request_id", "first_name", "middle_name", "last_name", "date_of_birth", "tin",
                  "street", "unit", "city", "state", "zip")  # fmt: skip
EXPLAINED_CANDIDATES = 5

Stage = Callable[[str], None]
Progress = Callable[[int], None]


class Recording(InspectionLog, Protocol):
    """What `run_process` tells a recorder, each before the next step starts: the rules
    the batch is decided by, the screening (before any taxpayer record is read), then the
    inspections."""

    def decided_under(self, rules: BatchRules) -> None: ...

    def screened(self, screened: pl.DataFrame) -> None: ...


@dataclass
class ProcessResult:
    summary: dict[str, Any]
    decisions: pl.DataFrame = field(repr=False)
    disclosures: pl.DataFrame = field(repr=False)
    explanations: pl.DataFrame = field(repr=False)
    inspected: pl.DataFrame = field(repr=False)
    """request_id, tin of every taxpayer record inspected (a candidate scored)"""


@dataclass(frozen=True)
class ProcessOptions:
    thresholds: Thresholds | None = None
    """None: the thresholds of the law in force on the letter's date"""
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    read: ReadOptions = field(default_factory=ReadOptions)
    workers: int | None = None
    reference_cache: Path | None = None
    """folder for the reference prepared once per version of the taxpayer file (see
    `resolve.reference.prepared_reference`); None: prepare it for every batch"""


def _read_requests(path: Path, options: ReadOptions) -> pl.DataFrame:
    chunks = [
        chunk.select([c for c in REQUEST_FIELDS if c in chunk.columns])
        for chunk in read_request_chunks(path, options)
    ]
    if not chunks:
        return pl.DataFrame({c: [] for c in REQUEST_FIELDS}, schema={c: pl.String for c in REQUEST_FIELDS})
    frame = pl.concat(chunks, how="diagonal_relaxed")
    missing = [c for c in REQUEST_FIELDS if c not in frame.columns]
    return frame.with_columns([pl.lit("").alias(c) for c in missing]).select(REQUEST_FIELDS)


def run_process(
    letter: Letter,
    requests_path: Path,
    reference_dir: Path,
    law: Law,
    artefact: ModelArtefact,
    options: ProcessOptions | None = None,
    *,
    reference: Reference | None = None,
    progress: Progress | None = None,
    stage: Stage | None = None,
    scoring: Callable[[int, int], None] | None = None,
    recording: Recording | None = None,
) -> ProcessResult:
    """Decide every request; return the frames to write (pure of output files).

    Stage timings: the reference is prepared on a second thread while screening runs, so
    "screen" is screening's wall time with that work beside it and "read reference" only
    the wait for it afterwards. `progress` receives screened record counts, `scoring`
    (requests scored so far, requests to score) after each chunk of scoring."""
    options = options or ProcessOptions()
    law = law.at(letter.date)
    thresholds = options.thresholds or Thresholds.of(law.parameters)
    rules = BatchRules.of(law, thresholds, artefact)
    if recording is not None:
        recording.decided_under(rules)
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def done(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 3)
        mark = now
        if stage:
            stage(name)

    # The taxpayer file is prepared (read, standardised, keyed) while the batch is
    # screened: preparing it inspects no one, and screening leaves a core idle much of
    # the time. Which of its taxpayers are compared with which request still waits for
    # screening's verdicts below.
    preparing: Future[Reference] | None = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-reference")
    if reference is None:
        # A reference that is not there fails now, not after the whole batch is screened.
        check_reference_folder(reference_dir)
        cache = options.reference_cache
        preparing = (
            pool.submit(load_reference, reference_dir)
            if cache is None
            else pool.submit(prepared_reference, reference_dir, cache)
        )
    work = Path(tempfile.mkdtemp(prefix="ftigate-process-"))
    try:
        screened_path = work / "screened.parquet"
        screen_summary = screen_files(
            letter,
            requests_path,
            screened_path,
            law,
            read=options.read,
            workers=options.workers,
            progress=progress,
        )
        screened = pl.read_parquet(screened_path)
        done("screen")
        if recording is not None:
            recording.screened(screened)
        requests = _read_requests(requests_path, options.read)
        done("read requests")
        if preparing is not None:
            reference = preparing.result()
        done("read reference")
    finally:
        if preparing is not None:
            preparing.cancel()
        pool.shutdown(wait=True)
        # `work` is this run's own mkdtemp folder (the screening spill), never a user path.
        shutil.rmtree(work, ignore_errors=True)
    assert reference is not None

    passing = screened.filter(pl.col("outcome") == "pass").select("request_id")
    to_resolve = requests.join(passing, on="request_id", how="semi")
    standard = standard_requests(to_resolve)
    done("standardise")
    if standard.height:
        scored = 0

        def advance(count: int) -> None:
            nonlocal scored
            scored += count
            if scoring:
                scoring(scored, standard.height)

        candidates = score_candidates(
            standard, reference, artefact, options.scoring, progress=advance, inspections=recording
        )
    else:
        candidates = empty_candidates()
    done("score")
    effects = {
        code: effect.value for code, effect in law.effects().items() if law.code(code).scope == Scope.IDENTITY
    }
    candidates = rank_candidates(candidates)
    # The addresses on file of each request's best plausible candidate, read once: the gates
    # compare them with the requested address, and the disclosed ones' last known address
    # comes from the same rows.
    best_tins = plausible_best(candidates, thresholds)["tin"]
    rows = reference.address_rows_of(best_tins)
    identity = decide_identities(
        candidates, standard, reference.lent_returns, effects, thresholds, own_address_parts(rows),
        reference.names_of(best_tins),
    )  # fmt: skip
    version = artefact.version
    disclosed = identity.filter(pl.col("decision") == DISCLOSE)
    disclosed = disclosed.join(last_known_from(rows), on="tin", how="left")
    done("decide")

    screen_rows = screened.filter(pl.col("outcome") != "pass").select(
        "request_id",
        pl.when(pl.col("outcome") == "review")
        .then(pl.lit(REVIEW))
        .otherwise(pl.lit(REFUSE))
        .alias("decision"),
        pl.col("reasons"),
        pl.lit(None, dtype=pl.Float64).alias("match_probability"),
        pl.lit(None, dtype=pl.String).alias("model_version"),
    )
    identity_rows = identity.select(
        "request_id",
        "decision",
        "reasons",
        "match_probability",
        pl.lit(version).alias("model_version"),
    )
    address = disclosed.select("request_id", *DISCLOSED_COLUMNS)
    decisions = (
        pl.concat([screen_rows, identity_rows], how="vertical_relaxed")
        .join(address, on="request_id", how="left")
        .join(
            requests.select("request_id", pl.int_range(pl.len()).alias("_order")), on="request_id", how="left"
        )
        .sort("_order")
        .drop("_order")
        .select(DECISION_COLUMNS)
    )
    disclosures = decisions.filter(pl.col("decision") == DISCLOSE).select(RESPONSE_COLUMNS)

    # Ranked as the gates ranked them (ties broken by TIN), so the explanation shows what decided.
    top = candidates.with_columns(candidate_rank=pl.col("rank") + 1)
    explanations = (
        identity.select(
            "request_id", "decision", "gate", "reasons", "address_tolerances",
            pl.col("tin").alias("chosen_tin"),
        )
        .join(top.filter(pl.col("candidate_rank") <= EXPLAINED_CANDIDATES), on="request_id", how="left")
        .with_columns(model_version=pl.lit(version))
        .select(
            "request_id", "decision", "gate", "reasons", "model_version", "candidate_rank",
            pl.col("tin").alias("candidate_tin"), "match_weight", "match_probability",
            *[f"w_{f}" for f in FIELDS], *[f"gamma_{f}" for f in FIELDS],
            ((pl.col("decision") == DISCLOSE) & (pl.col("tin") == pl.col("chosen_tin")))
            .fill_null(False)
            .alias("chosen"),
            # the corroboration tolerances the best candidate's address needed (empty: the
            # address on file in standard form; null: not corroborated)
            pl.when(pl.col("tin") == pl.col("chosen_tin")).then(pl.col("address_tolerances")).alias(
                "address_tolerances"
            ),
        )
    )  # fmt: skip
    inspected = candidates.select("request_id", "tin").unique()
    done("assemble")

    summary = summarise(decisions, identity, screen_summary.as_dict(), artefact, thresholds, timings)
    summary["law_as_of"] = law.as_of.isoformat()
    summary["rules"] = rules.as_dict()
    summary["records_resolved"] = standard.height
    summary["taxpayer_records_inspected"] = inspected.height
    return ProcessResult(summary, decisions, disclosures, explanations, inspected)


def summarise(
    decisions: pl.DataFrame,
    identity: pl.DataFrame,
    screen: dict[str, Any],
    artefact: ModelArtefact,
    thresholds: Thresholds,
    timings: dict[str, float],
) -> dict[str, Any]:
    by_decision = {d: 0 for d in (DISCLOSE, REFUSE, REVIEW)}
    for row in decisions.group_by("decision").len().iter_rows():
        by_decision[str(row[0])] = int(row[1])
    reasons = (
        decisions.select(pl.col("reasons").explode().drop_nulls())
        .group_by("reasons")
        .len()
        .sort(["len", "reasons"], descending=[True, False])
    )
    by_reason_decision = (
        decisions.select("decision", "reasons")
        .explode("reasons")
        .drop_nulls()
        .group_by("decision", "reasons")
        .len()
        .sort(["decision", "len"], descending=[False, True])
    )
    disclosed_p = identity.filter(pl.col("decision") == DISCLOSE)["match_probability"]
    expected_wrong = float((1.0 - disclosed_p).sum()) if disclosed_p.len() else 0.0
    return {
        "records": decisions.height,
        "decisions": by_decision,
        "reasons": {str(r): int(n) for r, n in reasons.iter_rows()},
        "reasons_by_decision": {
            d: {str(r): int(n) for dd, r, n in by_reason_decision.iter_rows() if dd == d}
            for d in (REFUSE, REVIEW)
        },
        "expected_wrong_disclosures": round(expected_wrong, 6),
        "model_version": artefact.version,
        "model": {
            k: artefact.metadata.get(k) for k in ("name", "splink_version", "trained_at", "training_data")
        },
        "thresholds": thresholds.as_dict(),
        "screen": screen,
        "timings_seconds": timings,
    }


OUTPUT_FILES = ("decisions.csv", "response.csv", "explanations.parquet", "summary.json")


def stage_outputs(result: ProcessResult, folder: OutputFolder) -> None:
    """Write the four outputs into an open output folder's staging area (not yet in place).

    For callers that record between writing and committing:

        with OutputFolder(out, force=force, command="process") as folder:
            stage_outputs(result, folder)
            digests = folder.prepare()   # digests["response.csv"]: the bytes sent
            ...record...
            folder.commit()
    """
    folder.write_csv("decisions.csv", _csv(result.decisions))
    folder.write_csv("response.csv", result.disclosures)
    folder.write_parquet("explanations.parquet", result.explanations)
    folder.write_text("summary.json", json.dumps(result.summary, indent=2, sort_keys=True) + "\n")


def write_outputs(result: ProcessResult, out: Path, *, force: bool = False) -> list[Path]:
    """Write the four outputs into `out` all at once (`ftigate.outputs.OutputFolder`: a new or
    empty folder, or with `force` one holding only ftigate's own earlier outputs)."""
    with OutputFolder(out, force=force, command="process") as folder:
        stage_outputs(result, folder)
        folder.prepare()
        return folder.commit()


def _csv(decisions: pl.DataFrame) -> pl.DataFrame:
    return decisions.with_columns(
        pl.col("reasons").list.join(";"),
        pl.col("match_probability").round(6),
    )
