"""The service's worker: processes a submitted batch outside any request, and releases
it once its review is done.

A job lives in the store (`jobs`), so it outlives the server. One worker claims it with a
conditional UPDATE; while it works it beats (`heartbeat`). Processing records every
step through the same `BatchRecorder` as `ftigate process` (README: "What the ledger
records of a batch"). A batch with `review` decisions waits, recorded as decided, with
its working result kept beside its uploads; once every item is decided (two approvals,
or one refusal) a worker writes the response with the approved items in it and records
their disclosures then, after the file exists and before it is released.

A job whose worker died (no heartbeat for `stale_after_seconds`) is recovered, never left
half-recorded: a batch that had not reached its decisions is recorded as abandoned (what
it inspected stays in the ledger) and the job starts again as a new batch; one that was
decided goes back to review or release; one whose response was renamed into place with
the digest the ledger recorded gets its release recorded, as `ftigate process` does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ftigate.decide.gates import DISCLOSE, REFUSE, REVIEW, Thresholds, ThresholdsRefused
from ftigate.decide.record import BatchFiles, BatchRecorder
from ftigate.facts.reference import last_known_of
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter, read_letter
from ftigate.law.loader import Law, LawError
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import (
    BatchAbandoned,
    LetterReviewed,
    Pseudonymizer,
    ReleaseRetried,
    ReviewAction,
)
from ftigate.outputs import OutputError
from ftigate.pipeline.provenance import Sources
from ftigate.pipeline.recording import record_release, respond, response_in_place
from ftigate.pipeline.respond import RESPONSE_COLUMNS, ProcessResult
from ftigate.pipeline.run import ProcessOptions, run_process
from ftigate.resolve.model import ModelArtefact, default_model_path
from ftigate.resolve.reference import DISCLOSED_COLUMNS
from ftigate.resolve.score import ScoringOptions
from ftigate.store.api import FINISHED_STATUSES, Store, StoreError
from ftigate.store.service import ServiceStore
from ftigate.web.review import Vote, letter_waiver, outcome
from ftigate.web.settings import ServiceSettings

log = logging.getLogger("ftigate.serve")

RESULT = "result"
OUT = "out"
DECIDED_STATUSES = ("decided", "responding")
"""a batch whose decisions are all recorded: its job waits for review or release"""
SERVICE_ACTOR = "service"


def job_dir(settings: ServiceSettings, job_id: str) -> Path:
    return settings.data_dir / "jobs" / job_id


def letter_scope_codes(law: Law) -> frozenset[str]:
    return frozenset(code for code, rc in law.codes.items() if rc.scope.value == "letter")


def save_result(result: ProcessResult, folder: Path) -> None:
    """The decided frames a reviewed batch is released from (internal, taxpayer data)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in ("decisions", "disclosures", "explanations"):
        getattr(result, name).write_parquet(folder / f"{name}.parquet.part")
        (folder / f"{name}.parquet.part").replace(folder / f"{name}.parquet")
    (folder / "summary.json.part").write_text(json.dumps(result.summary, sort_keys=True))
    (folder / "summary.json.part").replace(folder / "summary.json")  # last: marks the set complete


def load_result(folder: Path) -> ProcessResult | None:
    if not (folder / "summary.json").is_file():
        return None
    frames = {
        n: pl.read_parquet(folder / f"{n}.parquet") for n in ("decisions", "disclosures", "explanations")
    }
    summary = json.loads((folder / "summary.json").read_text())
    return ProcessResult(
        summary,
        frames["decisions"],
        frames["disclosures"],
        frames["explanations"],
        pl.DataFrame({"request_id": [], "tin": []}, schema={"request_id": pl.String, "tin": pl.String}),
    )


def apply_reviews(result: ProcessResult, final: dict[str, str], addresses: pl.DataFrame) -> ProcessResult:
    """The result with each reviewed request's final decision: an approved one disclosed
    (its best candidate's last known address, `addresses`: tin + DISCLOSED_COLUMNS), a
    refused one refused. Pure."""
    approved = [rid for rid, d in final.items() if d == DISCLOSE]
    refused = [rid for rid, d in final.items() if d == REFUSE]
    best = best_candidates(result.explanations, approved)
    rows = best.join(addresses, left_on="candidate_tin", right_on="tin", how="inner").select(
        "request_id", *DISCLOSED_COLUMNS
    )
    updated = result.decisions.join(rows, on="request_id", how="left", suffix="_approved")
    is_approved = pl.col("request_id").is_in(rows["request_id"].implode())
    decisions = updated.with_columns(
        pl.when(is_approved)
        .then(pl.lit(DISCLOSE))
        .when(pl.col("request_id").is_in(pl.Series(refused, dtype=pl.String).implode()))
        .then(pl.lit(REFUSE))
        .otherwise(pl.col("decision"))
        .alias("decision"),
        *[
            pl.when(is_approved).then(pl.col(f"{c}_approved")).otherwise(pl.col(c)).alias(c)
            for c in DISCLOSED_COLUMNS
        ],
    ).select(result.decisions.columns)
    chosen = pl.struct("request_id", "candidate_tin").is_in(
        best.filter(pl.col("request_id").is_in(rows["request_id"].implode())).to_struct().implode()
    )
    explanations = result.explanations.with_columns(
        (pl.col("chosen") | chosen.fill_null(False)).alias("chosen")
    )
    summary = dict(result.summary)
    summary["decisions"] = {d: int(n) for d, n in decisions.group_by("decision").len().iter_rows()} | {
        d: 0 for d in (DISCLOSE, REFUSE, REVIEW) if d not in set(decisions["decision"])
    }
    summary["reviewed"] = {"approved": len(rows), "refused": len(refused)}
    disclosures = decisions.filter(pl.col("decision") == DISCLOSE).select(RESPONSE_COLUMNS)
    return ProcessResult(summary, decisions, disclosures, explanations, result.inspected)


def best_candidates(explanations: pl.DataFrame, request_ids: list[str]) -> pl.DataFrame:
    """request_id, candidate_tin of the best-ranked candidate of each request."""
    return (
        explanations.filter(pl.col("request_id").is_in(pl.Series(request_ids, dtype=pl.String).implode()))
        .filter(pl.col("candidate_rank") == 1)
        .select("request_id", "candidate_tin")
        .unique("request_id")
    )


@dataclass
class JobRunner:
    """Claims and runs jobs; one per worker thread or process."""

    settings: ServiceSettings
    service: ServiceStore
    law: Law
    artefact: ModelArtefact
    signer: Signer
    pseudonyms: Pseudonymizer
    worker_id: str = field(default_factory=lambda: f"worker-{uuid.uuid4().hex[:12]}")

    @property
    def store(self) -> Store:
        return self.service.store

    # --- the loop ---------------------------------------------------------------------

    def run_once(self) -> bool:
        """Recover dead workers' jobs, then run one claimable job; False when none."""
        self.recover(timedelta(seconds=self.settings.stale_after_seconds))
        job = self.service.claim(self.worker_id)
        if job is None:
            return False
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job["id"], beating), daemon=True)
        beat.start()
        try:
            if job["stage"] == "releasing":
                self.release(job)
            else:
                self.process(job)
        except (IntakeError, LawError, OutputError, StoreError, ThresholdsRefused) as problem:
            self._fail(job, str(problem))
        except Exception as problem:  # a bug: its message may quote data, so only its type
            log.exception("job %s failed", job["id"])
            self._fail(job, f"internal error ({problem.__class__.__name__})")
        finally:
            beating.set()
            beat.join()
        return True

    def _beat(self, job_id: str, done: threading.Event) -> None:
        """Beat while the job runs, whatever step it is in (one step can take minutes)."""
        every = max(self.settings.stale_after_seconds / 4, 0.5)
        while not done.wait(every):
            self.service.update_job(job_id, self.worker_id)

    def run_until_idle(self) -> int:
        ran = 0
        while self.run_once():
            ran += 1
        return ran

    def loop(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        while not stop.is_set():
            if not self.run_once():
                stop.wait(poll_seconds)

    def _fail(self, job: dict[str, Any], message: str) -> None:
        batch_id = job.get("batch_id") or (self.service.job(job["id"]) or {}).get("batch_id")
        if batch_id:
            batch = self.store.batch(batch_id)
            if batch is not None and batch["status"] not in (*FINISHED_STATUSES, *DECIDED_STATUSES):
                self._abandon(batch_id, "the service could not finish processing it")
        self.service.set_state(job["id"], ("running",), "failed", stage="failed", error=message[:2000])

    def _abandon(self, batch_id: str, reason: str) -> None:
        self.store.append_events([BatchAbandoned(batch_id=batch_id, reason=reason, actor=SERVICE_ACTOR)])
        self.store.sign_checkpoint(self.signer)

    # --- processing -------------------------------------------------------------------------

    def _files(self, job: dict[str, Any]) -> tuple[Letter, BatchFiles]:
        folder = job_dir(self.settings, job["id"])
        letter_path, requests_path = folder / job["letter_name"], folder / job["requests_name"]
        return read_letter(letter_path), BatchFiles.read(letter_path, requests_path)

    def _recorder(
        self, job: dict[str, Any], letter: Letter, files: BatchFiles, law: Law | None = None
    ) -> BatchRecorder:
        return BatchRecorder(
            self.store,
            letter,
            files,
            law or self.law,
            self.artefact.digest,
            self.pseudonyms,
            self.signer,
            actor=f"{SERVICE_ACTOR}:{job['submitted_by']}",
        )

    def law_for(self, files_key: str) -> Law:
        """The law, with what an approved letter-level review of these files lifts."""
        approved = [e for e in self.letter_reviews(files_key) if e.action == "approve"]
        if not approved:
            return self.law
        codes = {code for event in approved for code in event.reasons}
        origin = f"letter-level review approved by {approved[-1].reviewer}"
        return self.law.with_policy(letter_waiver(codes), origin)

    def process(self, job: dict[str, Any]) -> None:
        letter, files = self._files(job)
        law = self.law_for(job["files_key"])
        recorder = _JobRecorder(**self._recorder(job, letter, files, law).__dict__)
        recorder.job_hook = lambda batch_id: self.service.update_job(
            job["id"], self.worker_id, batch_id=batch_id
        )
        total = max(letter.record_count or 1, 1)
        progress = _Progress(self, job["id"], total)
        # The law's thresholds on the letter's date, with what the operator set over them
        # (a pair that cannot stand together fails the job before anything is inspected).
        thresholds = self.settings.thresholds.over(Thresholds.of(law.at(letter.date).parameters))
        # summary.json's provenance as `ftigate process` writes it: the same files, the same block.
        model = self.settings.model or default_model_path()
        sources = Sources(letter=files.letter, model=model, policy=self.settings.policy)
        options = ProcessOptions(
            thresholds=thresholds,
            scoring=ScoringOptions(),
            reference_cache=self.settings.reference_cache,
            sources=sources,
        )
        result = run_process(
            letter,
            files.requests,
            self.settings.reference,
            law,
            self.artefact,
            options,
            progress=progress.screened,
            scoring=progress.scored,
            recording=recorder,
        )
        recorder.decided(result)
        save_result(result, job_dir(self.settings, job["id"]) / RESULT)
        pending = int(result.decisions.filter(pl.col("decision") == REVIEW).height)
        if pending:
            # Signed now: the batch may wait days for its review, its record checkable meanwhile.
            self.store.sign_checkpoint(self.signer)
            self.service.update_job(job["id"], self.worker_id, stage="review", progress=100)
            self.service.set_state(job["id"], ("running",), "review", claimed_by=None)
            return
        self._respond(job, recorder, result)

    def _respond(self, job: dict[str, Any], recorder: BatchRecorder, result: ProcessResult) -> None:
        self.service.update_job(job["id"], self.worker_id, stage="responding", progress=100)
        respond(recorder, result, job_dir(self.settings, job["id"]) / OUT, command="serve")
        self.service.set_state(job["id"], ("running",), "released", stage="released", claimed_by=None)

    # --- release after review -----------------------------------------------------------

    def final_decisions(self, job: dict[str, Any]) -> dict[str, str] | None:
        """Each review item's decision, or None while any is pending."""
        batch_id = job["batch_id"]
        letter = self.letter_review(batch_id)
        final: dict[str, str] = {}
        for item in self.service.pending_decisions(batch_id):
            if letter is not None and letter.action == "refuse":
                final[item["request_id"]] = REFUSE
                continue
            decision = outcome(Vote(v["reviewer"], v["action"]) for v in item["votes"])
            if decision == REVIEW:
                return None
            final[item["request_id"]] = decision
        return final

    def letter_review(self, batch_id: str) -> LetterReviewed | None:
        from ftigate.ledger.events import event_from_entry
        from ftigate.store.api import decode_entry

        found = None
        for entry in self.store.entries_of_kinds([LetterReviewed.kind]):
            event = event_from_entry(decode_entry(entry)["event"])
            if isinstance(event, LetterReviewed) and event.batch_id == batch_id:
                found = event
        return found

    def letter_reviews(self, files_key: str) -> list[LetterReviewed]:
        """Every letter-level decision on a batch of these files, oldest first."""
        from ftigate.ledger.events import event_from_entry
        from ftigate.store.api import decode_entry

        batches = {b["id"] for b in self.store.batches(files_key=files_key)}
        found = []
        for entry in self.store.entries_of_kinds([LetterReviewed.kind]):
            event = event_from_entry(decode_entry(entry)["event"])
            if isinstance(event, LetterReviewed) and event.batch_id in batches:
                found.append(event)
        return found

    def release(self, job: dict[str, Any]) -> None:
        batch = self.store.batch(job["batch_id"])
        if batch is not None and batch["status"] == "released":
            self.service.set_state(job["id"], ("running",), "released", stage="released", claimed_by=None)
            return
        result = load_result(job_dir(self.settings, job["id"]) / RESULT)
        final = self.final_decisions(job)
        if result is None or final is None:
            raise StoreError("the batch is not ready to be released (a review is pending)")
        approved = best_candidates(result.explanations, [r for r, d in final.items() if d == DISCLOSE])
        addresses = last_known_of(self.settings.reference, approved["candidate_tin"])
        letter, files = self._files(job)
        recorder = self._recorder(job, letter, files)
        recorder.batch_id = job["batch_id"]
        self._respond(job, recorder, apply_reviews(result, final, addresses))

    # --- a failed release, retried --------------------------------------------------------

    def failed_release(self, job: dict[str, Any]) -> bool:
        """A job that failed after its batch's decisions were recorded (its response could
        not be written): its review is kept, only the release is to be done again."""
        if job["state"] != "failed" or not job["batch_id"]:
            return False
        batch = self.store.batch(job["batch_id"])
        return batch is not None and batch["status"] in DECIDED_STATUSES

    def retry_release(self, job: dict[str, Any], actor: str, reason: str) -> bool:
        """Send a failed release back to be released, recorded as `release_retried` (who,
        why). False, and nothing recorded, when the job is not a failed release (already
        retried, or never failed): a retry asked twice is done once. Where it goes then is
        decided as for a job whose worker died (`_recover`): released when the response is
        in place with its recorded digest, released again from the kept result when only
        the decisions were recorded, processed again when disclosures were recorded for a
        response that never reached its place."""
        if not self.failed_release(job):
            return False
        event = ReleaseRetried(batch_id=job["batch_id"], actor=actor, reason=reason)
        event.canonical()  # a reason shaped like a TIN is refused before anything moves
        if not self.service.set_state(
            job["id"], ("failed",), "running", stage="retrying", claimed_by=self.worker_id, error=None
        ):
            return False  # another retry of the same job won
        self.store.append_events([event])
        self._recover({**job, "state": "running", "claimed_by": self.worker_id})
        return True

    # --- recovery -------------------------------------------------------------------------

    def recover(self, stale_after: timedelta) -> None:
        for job in self.service.stale_jobs(stale_after):
            # Take the dead worker's job over first, so two recoverers do not both act.
            if not self.service.update_job(job["id"], job["claimed_by"], claimed_by=self.worker_id):
                continue
            self._recover(job)

    def _recover(self, job: dict[str, Any]) -> None:
        batches = self.store.batches(files_key=job["files_key"])
        live = [b for b in batches if b["status"] not in FINISHED_STATUSES]
        batch = live[-1] if live else None
        folder = job_dir(self.settings, job["id"])
        if batch is None:
            released = [b for b in batches if b["id"] == job["batch_id"] and b["status"] == "released"]
            state = "released" if released else "queued"
            self.service.set_state(job["id"], ("running",), state, stage=state, claimed_by=None)
            return
        if batch["status"] == "responding" and response_in_place(self.store, batch["id"], folder / OUT):
            record_release(self.store, batch["id"], self.signer)
            self.service.set_state(
                job["id"], ("running",), "released", stage="released", batch_id=batch["id"], claimed_by=None
            )
            return
        if batch["status"] in DECIDED_STATUSES and load_result(folder / RESULT) is not None:
            if batch["status"] == "responding":
                # Disclosures recorded for a response that never reached its place: they were
                # prepared, not made. The batch is abandoned and processed again.
                self._abandon(batch["id"], "the service stopped before the response was released")
                self.service.set_state(
                    job["id"], ("running",), "queued", stage="queued", batch_id=None, claimed_by=None
                )
                return
            job = {**job, "batch_id": batch["id"]}
            pending = self.final_decisions(job) is None
            state = "review" if pending else "releasing"
            self.service.set_state(
                job["id"], ("running",), state, stage=state, batch_id=batch["id"], claimed_by=None
            )
            return
        self._abandon(batch["id"], "the service stopped while processing it; it is processed again")
        self.service.set_state(
            job["id"], ("running",), "queued", stage="queued", batch_id=None, claimed_by=None
        )


@dataclass
class _JobRecorder(BatchRecorder):
    """The recorder, telling the job its batch id as soon as the batch is recorded."""

    job_hook: Any = None

    def screened(self, screened: pl.DataFrame) -> None:
        super().screened(screened)
        if self.job_hook is not None and self.batch_id is not None:
            self.job_hook(self.batch_id)


class _Progress:
    """Screening is the first half of a job's progress, scoring the second; written to
    the store at most twice a second."""

    def __init__(self, runner: JobRunner, job_id: str, total: int) -> None:
        self.runner, self.job_id, self.total = runner, job_id, total
        self.screened_count = 0
        self.last = 0.0

    def _write(self, stage: str, percent: int) -> None:
        moment = time.monotonic()
        if moment - self.last < 0.5:
            return
        self.last = moment
        self.runner.service.update_job(
            self.job_id, self.runner.worker_id, stage=stage, progress=min(percent, 99)
        )

    def screened(self, count: int) -> None:
        self.screened_count += count
        self._write("screening", int(50 * self.screened_count / self.total))

    def scored(self, scored: int, total: int) -> None:
        self._write("matching", 50 + int(49 * scored / max(total, 1)))


def review_action(
    batch_id: str, request_id: str, reviewer: str, action: str, decision: str, reason: str
) -> ReviewAction:
    return ReviewAction(
        batch_id=batch_id,
        request_id=request_id,
        reviewer=reviewer,
        action=action,
        decision=decision,
        reasons=(reason,) if reason else (),
    )


def enqueue_files(runner: JobRunner, letter: Path, requests: Path, *, agency: str, submitted_by: str) -> str:
    """Queue a letter and request file already on disk (the demo's batch) as a job: the
    files are copied into the job's own folder, as an upload would be."""
    import shutil

    job_id = uuid.uuid4().hex
    folder = job_dir(runner.settings, job_id)
    folder.mkdir(mode=0o700, parents=True)
    letter_copy = folder / f"letter{letter.suffix.lower()}"
    requests_copy = folder / f"requests{requests.suffix.lower()}"
    shutil.copyfile(letter, letter_copy)
    shutil.copyfile(requests, requests_copy)
    files = BatchFiles.read(letter_copy, requests_copy)
    runner.service.add_job(
        job_id=job_id, files_key=files.key, agency=agency, submitted_by=submitted_by,
        letter_name=letter_copy.name, requests_name=requests_copy.name,
    )  # fmt: skip
    return job_id
