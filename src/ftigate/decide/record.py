"""Recording a batch in the store and its ledger as it happens, never ahead of it.

26 U.S.C. 6103(p)(3)(A) asks for a record of every request and disclosure made at the
time of disclosure; 7213A makes an unauthorised inspection a crime. So every step of a
batch becomes a ledger event, appended when the step happens (README: "What the ledger
records of a batch"):

1. after screening, before any taxpayer record is read: `batch_received` (the digests of
   the letter and the request file, and of the rules that decide: law, policy, thresholds,
   model), a `config_changed` / `model_changed` for each of those that differs from the
   previous batch's in the store, and one `batch_screened` whose Merkle root commits to
   every request's screening result (the results are the batch's `screening_results`);
2. before the taxpayer file is searched for a chunk of requests: `inspection_started`
   (their request ids); after the chunk is scored, one `records_inspected` per request
   with the taxpayers its search read;
3. one `batch_decided` whose Merkle root commits to every request's decision (the
   decisions are the batch's `decisions` rows);
4. once the response is written, fsynced and its digest known (staged inside `--out`):
   one `disclosure` per disclosed request and `response_sent` with that digest;
5. once the response is renamed into place: `response_released`. Until then the
   disclosures were prepared, not made, and the reports do not count them.

Taxpayers appear only by keyed pseudonym; an address only as a keyed digest. The
`*_events` functions are pure (frames in, events out); `BatchRecorder` is the edge that
appends them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ftigate.decide.gates import DISCLOSE
from ftigate.decide.rules import BatchRules, changed_events
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter
from ftigate.law.loader import Law
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.committed import (
    Committed,
    DecisionItem,
    ScreeningItem,
    commit_decisions,
    commit_screening,
)
from ftigate.ledger.events import (
    BatchReceived,
    BatchSuperseded,
    Disclosure,
    EncodedEntry,
    InspectionStarted,
    LedgerEvent,
    Pseudonymizer,
    RecordsInspected,
    ResponseReleased,
    ResponseSent,
    holds_tin_shape,
)
from ftigate.outputs import OutputFolder
from ftigate.outputs.durable import pause_point
from ftigate.pipeline.respond import ProcessResult, stage_outputs
from ftigate.resolve.reference import DISCLOSED_COLUMNS
from ftigate.store.api import AppendResult, BatchConflict, Store

AUTHORITY = "26 U.S.C. 6103(i)(2)"
SCREEN_OUTCOME = {"pass": "sufficient", "refuse": "refuse", "review": "review"}
STARTED_PER_EVENT = 1_000
"""request ids per `inspection_started` event: few events, small leaves"""
RESPONSE_FILE = "response.csv"


def not_recorded(why: str) -> dict[str, object]:
    """What summary.json says of a batch processed without a ledger."""
    return {"recorded": False, "note": f"{why}: nothing of this batch is recorded in a ledger"}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (request files can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _address_text(row: dict[str, object]) -> str:
    return "\n".join(str(row.get(c) or "") for c in DISCLOSED_COLUMNS)


@dataclass(frozen=True)
class BatchFiles:
    """The letter and request file of a batch, with the SHA-256 of each file's bytes (read
    once): what the ledger's `letter_digest` and `files` name."""

    letter: Path
    requests: Path
    letter_file_sha256: str
    requests_file_sha256: str

    @classmethod
    def read(cls, letter: Path, requests: Path) -> BatchFiles:
        return cls(letter, requests, file_sha256(letter), file_sha256(requests))

    def digests(self) -> dict[str, str]:
        """SHA-256 of each file, by file name: what the batch_received event commits to."""
        return {self.letter.name: self.letter_file_sha256, self.requests.name: self.requests_file_sha256}

    @property
    def key(self) -> str:
        """What identifies a batch of these files, whatever they are called: the same
        letter and request file are the same requests, even on a newer taxpayer file."""
        return hashlib.sha256(f"{self.letter_file_sha256}\n{self.requests_file_sha256}".encode()).hexdigest()


def check_letter_recordable(letter: Letter, path: Path) -> None:
    """Letter fields that go into ledger entries must not look like a TIN (exit 2, before
    any work), rather than fail the recording halfway."""
    for name in ("requesting_agency", "statute", "purpose"):
        value = getattr(letter, name, None)
        if isinstance(value, str) and holds_tin_shape(value):
            raise IntakeError(
                path, "holds something shaped like a TIN, which the ledger never records",
                column=name,
                hint="a letter's purpose names the statute and the matter, not a taxpayer",
            )  # fmt: skip


def check_request_ids_recordable(screened: pl.DataFrame, path: Path) -> None:
    """A request id shaped like a TIN cannot be recorded: refuse the batch (exit 2) before
    any taxpayer record is read. Refused rather than recorded by keyed digest because the
    request id is the requester's handle for each answer, which the accounting must name;
    a TIN in it is taxpayer data in an identifier, to be sent back to the requester."""
    ids = screened["request_id"]
    near = ids.str.contains(r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}").fill_null(False)
    for position in near.arg_true():
        if holds_tin_shape(str(ids[int(position)])):
            raise IntakeError(
                path, "a request id holds something shaped like a TIN, which the ledger never records",
                row=int(position) + 1, column="request_id",
                hint="request ids must not carry taxpayer identifiers; nothing was recorded",
            )  # fmt: skip


def screening_items(batch_id: str, screened: pl.DataFrame, law: Law) -> list[ScreeningItem]:
    """Each request's R1-R5 / L1-L4 outcome, in request-file order: what the batch's one
    `batch_screened` leaf commits to (no taxpayer record touched)."""
    citations = {code: rc.citation for code, rc in law.codes.items()}

    def committed(outcome: str, codes: list[str] | None) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        reasons = () if outcome == "pass" else tuple(codes or ())
        rules = tuple(sorted({citations[c] for c in reasons if c in citations}))
        return SCREEN_OUTCOME.get(outcome, "review"), reasons, rules

    # A batch repeats few combinations of outcome and codes: each one's committed values
    # (outcome, reasons, the rules they rest on) are worked out once and shared.
    keyed = screened.select(
        "request_id", pl.struct("outcome", "reasons").rank("dense").cast(pl.Int64).alias("_combination")
    )
    combinations = (
        screened.select("outcome", "reasons", keyed["_combination"]).unique("_combination").iter_rows()
    )
    shared = {number: committed(outcome, codes) for outcome, codes, number in combinations}
    request_ids, numbers = keyed["request_id"].to_list(), keyed["_combination"].to_list()
    return [
        ScreeningItem(batch_id, request_id, *shared[number])
        for request_id, number in zip(request_ids, numbers, strict=True)
    ]


def started_events(batch_id: str, request_ids: pl.Series) -> Iterator[InspectionStarted]:
    ids = request_ids.to_list()
    for start in range(0, len(ids), STARTED_PER_EVENT):
        yield InspectionStarted(batch_id=batch_id, request_ids=tuple(ids[start : start + STARTED_PER_EVENT]))


def inspected_events(
    batch_id: str, request_ids: pl.Series, candidates: pl.DataFrame, pseudonyms: Pseudonymizer
) -> list[EncodedEntry]:
    """Every request that searched the taxpayer file (an inspection under 6103(b)(7)),
    even one whose search found nobody, with the taxpayer records the search read (their
    pseudonyms sorted), in the order of `request_ids`: each the `records_inspected` entry
    `RecordsInspected(...)` would write, encoded in bulk (`RecordsInspected.encode_searches`)."""
    pairs = candidates.select("request_id", "tin").unique()
    # one pseudonym per taxpayer read, however many requests read them; each request's
    # pseudonyms are sorted and joined by Polars, so none goes through a Python tuple
    tins = pairs["tin"].unique()
    names = pl.DataFrame(
        {"tin": tins, "_pseudonym": pl.Series(pseudonyms.taxpayers(tins.to_list()), dtype=pl.String)}
    )
    found = (
        pairs.join(names, on="tin")
        .group_by("request_id")
        .agg(pl.col("_pseudonym").sort().str.join('","').alias("_read"))
    )
    read = (
        request_ids.rename("request_id").to_frame()
        .join(found, on="request_id", how="left", maintain_order="left")["_read"]
        .to_list()
    )  # fmt: skip
    return RecordsInspected.encode_searches(batch_id, request_ids.to_list(), read)


def _chosen(result: ProcessResult) -> dict[str, str]:
    return dict(
        result.explanations.filter(pl.col("chosen"))
        .select("request_id", "candidate_tin")
        .unique("request_id")
        .iter_rows()
    )


def decision_items(
    batch_id: str, result: ProcessResult, model_digest: str, pseudonyms: Pseudonymizer
) -> list[DecisionItem]:
    """Each request's decision: what the batch's one `batch_decided` leaf commits to."""
    chosen = _chosen(result)
    items = []
    for request_id, decision, reasons, probability, model_version in result.decisions.select(
        "request_id", "decision", "reasons", "match_probability", "model_version"
    ).iter_rows():
        tin = chosen.get(request_id) if decision == DISCLOSE else None
        items.append(
            DecisionItem(
                batch_id,
                request_id,
                decision,
                tuple(reasons or ()),
                None if probability is None else f"{probability:.6f}",
                pseudonyms.taxpayer(tin) if tin else None,
                model_digest if model_version is not None else None,
            )
        )
    return items


def response_events(
    batch_id: str,
    letter: Letter,
    result: ProcessResult,
    response_digest: str,
    pseudonyms: Pseudonymizer,
    *,
    on_date: str | None = None,
) -> Iterator[LedgerEvent]:
    """One `disclosure` per row of the response file, then `response_sent` with the
    file's digest (as staged: the bytes that go out)."""
    chosen = _chosen(result)
    date = on_date or datetime.now(UTC).strftime("%Y-%m-%d")
    purpose = f"{letter.statute}: {letter.purpose}"
    for row in result.disclosures.iter_rows(named=True):
        yield Disclosure(
            batch_id=batch_id,
            request_id=row["request_id"],
            taxpayer=pseudonyms.taxpayer(chosen[row["request_id"]]),
            date=date,
            recipient_agency=letter.requesting_agency,
            authority=AUTHORITY,
            purpose=purpose,
            content_digest=pseudonyms.digest(_address_text(row)),
        )
    counts = dict(result.decisions.group_by("decision").len().iter_rows())
    yield ResponseSent(
        batch_id=batch_id,
        recipient_agency=letter.requesting_agency,
        response_digest=response_digest,
        disclosed_count=int(counts.get("disclose", 0)),
        refused_count=int(counts.get("refuse", 0)),
        review_count=int(counts.get("review", 0)),
    )


@dataclass(frozen=True)
class RecordedBatch:
    batch_id: str
    events: int
    tree_size: int
    checkpoint: str | None


@dataclass
class BatchRecorder:
    """Appends a batch's events as `run_process` reaches each step (its `recording`
    hooks), then writes the response and records its release (`respond`)."""

    store: Store
    letter: Letter
    files: BatchFiles
    law: Law
    model_digest: str
    pseudonyms: Pseudonymizer
    signer: Signer | None
    supersedes: str | None = None
    actor: str = "system"
    batch_id: str | None = None
    events: int = 0
    tree_size: int = 0
    rules: BatchRules | None = None
    """the rules deciding the batch, told by `run_process` before screening"""
    _searched: int = field(default=0, repr=False)
    _inspecting: ThreadPoolExecutor | None = field(default=None, repr=False)
    _reading: list[Future[None]] = field(default_factory=list, repr=False)
    _read_failed: bool = field(default=False, repr=False)

    def _append(self, events: Iterable[LedgerEvent | Committed | EncodedEntry]) -> None:
        self._count(self.store.append_events(events))

    def _count(self, appended: AppendResult) -> None:
        self.events += len(appended.event_ids)
        self.tree_size = appended.size

    def _batch(self) -> str:
        if self.batch_id is None:
            raise RuntimeError("the batch is recorded after screening, before anything else")
        return self.batch_id

    # --- hooks called by run_process --------------------------------------------------

    def decided_under(self, rules: BatchRules) -> None:
        """The rules the batch is decided by, recorded with its first event."""
        self.rules = rules

    def screened(self, screened: pl.DataFrame) -> None:
        """The batch and its screening, before any taxpayer record is read."""
        check_request_ids_recordable(screened, self.files.requests)
        if self.signer is not None:
            self.store.use_keys(
                self.signer, self.pseudonyms
            )  # sealed and pinned: checkpoint signs only these
        received = BatchReceived(
            batch_id="pending",
            requesting_agency=self.letter.requesting_agency,
            letter_digest=self.files.letter_file_sha256,
            files=self.files.digests(),
            record_count=screened.height,
            letter_date=self.letter.date.isoformat(),
            **(self.rules.entry_fields() if self.rules is not None else {}),
        )  # built first: a field the ledger refuses fails before the batch row exists
        batch_id = uuid.uuid4().hex
        # Built before the store's lock is taken: the screening's Merkle root is the long part.
        screening = commit_screening(batch_id, screening_items(batch_id, screened, self.law))

        def first(previous: tuple[int, dict[str, object]] | None) -> list[LedgerEvent | Committed]:
            """The batch's first events, given the previous batch's `batch_received` as the
            store reads it under its lock (what takes effect now is what differs from it)."""
            events: list[LedgerEvent | Committed] = [dataclasses.replace(received, batch_id=batch_id)]
            if self.supersedes is not None:
                events.append(
                    BatchSuperseded(
                        batch_id=self.supersedes, superseded_by=batch_id,
                        reason="the same letter and request file processed again", actor=self.actor,
                    )
                )  # fmt: skip
            return [*events, *self._changes(batch_id, previous), screening]

        # Whether this batch may be recorded (no other batch of these files under way, and it
        # supersedes the current answer or there is none) is decided in the transaction that
        # records it: `process` looked before it started, but a second run of the same files
        # may have been recorded since. The loser records nothing and reads no taxpayer record.
        try:
            appended = self.store.start_batch(
                batch_id=batch_id,
                letter=self.letter.model_dump(mode="json"),
                file_digests=self.files.digests(),
                requesting_agency=self.letter.requesting_agency,
                files_key=self.files.key,
                supersedes=self.supersedes,
                first=first,
            )
        except BatchConflict as conflict:
            raise IntakeError(self.files.requests, f"{conflict}; this run records nothing") from None
        self.batch_id = batch_id
        self._count(appended)

    def _changes(self, batch_id: str, previous: tuple[int, dict[str, object]] | None) -> list[LedgerEvent]:
        """What differs from the previous batch's rules takes effect now, with this batch."""
        if self.rules is None:
            return []
        before = BatchRules.from_entry(previous[1]) if previous is not None else None
        return list(changed_events(batch_id, before, self.rules, self.actor, first_batch=previous is None))

    def searching(self, request_ids: pl.Series) -> None:
        """Appended before the taxpayer file is searched for these requests."""
        self._append(started_events(self._batch(), request_ids))
        self._searched += 1
        if self._searched == 1:
            pause_point("scoring")

    def read(self, request_ids: pl.Series, candidates: pl.DataFrame) -> None:
        """After a chunk is scored: the taxpayer records each of its requests read, recorded
        on a second thread while the next chunk is scored (DuckDB's scoring leaves the
        interpreter free); chunks are recorded one after another in the order told, and
        once one fails none after it is. `inspected` waits for them all."""
        batch_id = self._batch()
        if self._inspecting is None:
            self._inspecting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-inspections")
        self._reading.append(self._inspecting.submit(self._record_read, batch_id, request_ids, candidates))

    def _record_read(self, batch_id: str, request_ids: pl.Series, candidates: pl.DataFrame) -> None:
        if self._read_failed:
            raise RuntimeError("an earlier chunk's inspections could not be recorded")
        try:
            self._append(inspected_events(batch_id, request_ids, candidates, self.pseudonyms))
        except BaseException:
            self._read_failed = True
            raise

    def inspected(self) -> None:
        """Every chunk told to `read` recorded; raises the first failure to record one."""
        pending, self._reading = self._reading, []
        try:
            for chunk in pending:
                chunk.result()
        finally:
            if self._inspecting is not None:
                self._inspecting.shutdown(wait=True)  # the rest refuse at once after a failure
                self._inspecting = None

    # --- after run_process --------------------------------------------------------------

    def decided(self, result: ProcessResult) -> None:
        self.inspected()  # after every inspection in the log, whoever called `read`
        batch_id = self._batch()
        items = decision_items(batch_id, result, self.model_digest, self.pseudonyms)
        self._append([commit_decisions(batch_id, items)])
        self.store.set_batch_status(batch_id, "decided")

    def respond(self, result: ProcessResult, folder: OutputFolder) -> RecordedBatch:
        """Stage the outputs, record the disclosures with the staged response's digest,
        rename the outputs into place, record the release; sign after each record."""
        return self._record_response(result, folder, self._stage(result, folder))

    def decide_and_respond(self, result: ProcessResult, folder: OutputFolder) -> RecordedBatch:
        """:meth:`decided`, then :meth:`respond`, with the outputs written into staging
        while the decisions are recorded (the decisions' commitment is Python and SQLite,
        the outputs Polars writing files: the two share the cores). Staged outputs are
        no response: nothing is disclosed, recorded as disclosed or put in place until
        the decisions are recorded, as before; a failure of either leaves what a failure
        of it left before (staging is discarded by the folder)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-decided") as pool:
            deciding = pool.submit(self.decided, result)
            try:
                digests = self._stage(result, folder)
            finally:
                deciding.result()  # recorded before anything below; its failure first
        return self._record_response(result, folder, digests)

    def _stage(self, result: ProcessResult, folder: OutputFolder) -> dict[str, str]:
        result.summary["ledger"] = {"batch_id": self._batch(), "recorded": True}
        stage_outputs(result, folder)
        return folder.prepare()  # durable in staging: these are the bytes that go out

    def _record_response(
        self, result: ProcessResult, folder: OutputFolder, digests: dict[str, str]
    ) -> RecordedBatch:
        batch_id = self._batch()
        self._append(response_events(batch_id, self.letter, result, digests[RESPONSE_FILE], self.pseudonyms))
        self._sign()
        pause_point("disclosures_recorded")
        folder.commit()
        pause_point("committed")
        return self.release(digests[RESPONSE_FILE])

    def release(self, response_digest: str) -> RecordedBatch:
        self._append([ResponseReleased(batch_id=self._batch(), response_digest=response_digest)])
        checkpoint = self._sign()
        return RecordedBatch(self._batch(), self.events, self.tree_size, checkpoint)

    def _sign(self) -> str | None:
        return self.store.sign_checkpoint(self.signer).serialize() if self.signer is not None else None
