"""`run_process`: the stages in order, screen -> resolve -> decide -> respond.

Records that fail screening are refused (or sent to review) with their codes and never
reach the taxpayer file: only records that passed R1-R5 under a letter that passed
L1-L4 are inspected. The request file is read once (`pipeline.intake`); the result is
pure of output files (`pipeline.respond.write_outputs` or `pipeline.recording` write it).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from ftigate.decide.gates import Thresholds
from ftigate.decide.rules import BatchRules
from ftigate.intake.letter import Letter
from ftigate.intake.requests import ReadOptions
from ftigate.law.loader import Law
from ftigate.pipeline.decide import decide
from ftigate.pipeline.intake import RequestSpill
from ftigate.pipeline.provenance import BackgroundProvenance, Sources, policy_facts
from ftigate.pipeline.resolve import ReferencePreparation, score
from ftigate.pipeline.respond import ProcessResult, assemble, summarise
from ftigate.pipeline.screen import passing, screen_batch
from ftigate.resolve.model import ModelArtefact
from ftigate.resolve.reference import Reference
from ftigate.resolve.score import InspectionLog, ScoringOptions
from ftigate.resolve.standardise import standard_requests

Stage = Callable[[str], None]
Progress = Callable[[int], None]


class Recording(InspectionLog, Protocol):
    """What `run_process` tells a recorder, each before the next step starts: the rules
    the batch is decided by, the screening (before any taxpayer record is read), then the
    inspections."""

    def decided_under(self, rules: BatchRules) -> None: ...

    def screened(self, screened: pl.DataFrame) -> None: ...


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
    sources: Sources | None = None
    """the letter, model and policy files, for summary.json's `provenance` (with the
    request file and the taxpayer folder); None: the summary carries none"""


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
    the wait for it afterwards; "collect requests" reads back the sufficient records'
    fields that screening kept; with a `recording`, the screening is recorded while they
    are read back and standardised, and "record screening" is the wait for it after.
    `progress` receives screened record counts, `scoring` (requests scored so far,
    requests to score) after each chunk of scoring."""
    options = options or ProcessOptions()
    law = law.at(letter.date)
    in_force = Thresholds.of(law.parameters)
    thresholds = options.thresholds or in_force
    rules = BatchRules.of(law, thresholds, artefact)
    if recording is not None:
        recording.decided_under(rules)
    # The inputs' digests are computed beside the stages, on a second thread.
    with _provenance(options.sources, requests_path, reference_dir, law, thresholds, in_force) as provenance:
        timings: dict[str, float] = {}
        mark = time.perf_counter()

        def done(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            timings[name] = round(now - mark, 3)
            mark = now
            if stage:
                stage(name)

        with (
            ReferencePreparation(reference_dir, options.reference_cache, reference) as preparing,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-record") as recorder,
        ):
            work = Path(tempfile.mkdtemp(prefix="ftigate-process-"))
            try:
                spill = RequestSpill(work)
                screened, screen_summary = screen_batch(
                    letter, requests_path, law, spill, work,
                    read=options.read, workers=options.workers, progress=progress,
                )  # fmt: skip
                done("screen")
                # The screening is committed to the ledger (its Merkle root, the items, one
                # transaction) while the passing records are read back and standardised,
                # which touch no taxpayer record; scoring waits for the commitment.
                recorded = recorder.submit(recording.screened, screened) if recording is not None else None
                to_resolve = spill.rows_of(passing(screened))
                done("collect requests")
            finally:
                # `work` is this run's own mkdtemp folder (the screening spill), never a user path.
                shutil.rmtree(work, ignore_errors=True)
            standard = standard_requests(to_resolve)
            done("standardise")
            if recorded is not None:
                recorded.result()
                done("record screening")
            reference = preparing.result()
            done("read reference")

        candidates = score(
            standard, reference, artefact, options.scoring, scoring=scoring, inspections=recording
        )
        done("score")
        decided = decide(candidates, standard, reference, law, thresholds)
        done("decide")
        outputs = assemble(screened, decided, artefact.version)
        done("assemble")

        summary = summarise(
            outputs.decisions, decided.identity, screen_summary.as_dict(), artefact, thresholds, timings
        )
        summary["law_as_of"] = law.as_of.isoformat()
        summary["rules"] = rules.as_dict()
        summary["records_resolved"] = standard.height
        summary["taxpayer_records_inspected"] = outputs.inspected.height
        if provenance is not None:
            summary["provenance"] = provenance.result()
        return ProcessResult(
            summary, outputs.decisions, outputs.disclosures, outputs.explanations, outputs.inspected
        )


@contextmanager
def _provenance(
    sources: Sources | None,
    requests_path: Path,
    reference_dir: Path,
    law: Law,
    thresholds: Thresholds,
    in_force: Thresholds,
) -> Iterator[BackgroundProvenance | None]:
    """summary.json's `provenance`: the inputs by role with their digests, and the policy
    with every override of the shipped law and of the law's own thresholds."""
    if sources is None:
        yield None
        return
    inputs = {
        "letter": sources.letter,
        "requests": requests_path,
        "reference": reference_dir,
        "model": sources.model,
    }
    policy = policy_facts(
        law, sources.policy, thresholds=thresholds.as_dict(), default_thresholds=in_force.as_dict()
    )
    with BackgroundProvenance(inputs, policy) as provenance:
        yield provenance

