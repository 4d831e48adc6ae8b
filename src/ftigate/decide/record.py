"""Recording a processed batch in the store and its ledger, before any answer leaves.

26 U.S.C. 6103(p)(3)(A) asks for a record of every request and disclosure made
at the time of disclosure; 7213A makes an unauthorised inspection a crime. So
every step of a batch becomes a ledger event: the batch received (with the
digests of the letter and the request file), each record screened, the
taxpayer records inspected for each request that reached resolution, each
decision (with the model's digest), each disclosure (with the fields of Form
5466-B) and the response (with the digest of the file that goes out).

Taxpayers appear only by keyed pseudonym; an address only as a keyed digest.
`events_for_batch` is pure (frames in, events out); `record_batch` is the edge
that writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ftigate.decide.gates import DISCLOSE
from ftigate.decide.process import ProcessResult
from ftigate.intake.letter import Letter
from ftigate.law.loader import Law
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import (
    BatchReceived,
    Decision,
    Disclosure,
    LedgerEvent,
    Pseudonymizer,
    RecordScreened,
    RecordsInspected,
    ResponseSent,
)
from ftigate.outputs import csv_bytes
from ftigate.resolve.reference import DISCLOSED_COLUMNS
from ftigate.store.api import Store

AUTHORITY = "26 U.S.C. 6103(i)(2)"
SCREEN_OUTCOME = {"disclose": "sufficient", "refuse": "refuse", "review": "review"}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (request files can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def response_bytes(result: ProcessResult) -> bytes:
    """The response file exactly as `write_outputs` writes it (through the one safe CSV
    writer), so its digest is the file's."""
    return csv_bytes(result.disclosures)


def _address_text(row: dict[str, object]) -> str:
    return "\n".join(str(row.get(c) or "") for c in DISCLOSED_COLUMNS)


@dataclass(frozen=True)
class BatchFiles:
    letter: Path
    requests: Path

    def digests(self) -> dict[str, str]:
        """SHA-256 of each file, by file name: what the batch_received event commits to."""
        return {self.letter.name: file_sha256(self.letter), self.requests.name: file_sha256(self.requests)}


def events_for_batch(
    batch_id: str,
    letter: Letter,
    file_digests: dict[str, str],
    letter_digest: str,
    result: ProcessResult,
    law: Law,
    model_digest: str,
    pseudonyms: Pseudonymizer,
    *,
    on_date: str | None = None,
) -> Iterator[LedgerEvent]:
    """Every ledger event of one processed batch, in the order the steps happened."""
    decisions = result.decisions
    yield BatchReceived(
        batch_id=batch_id,
        requesting_agency=letter.requesting_agency,
        letter_digest=letter_digest,
        files=file_digests,
        record_count=decisions.height,
    )

    # A record that reached identity resolution passed screening; one decided without
    # the model was refused or sent to review by screening, with screening's reasons.
    citations = {code: rc.citation for code, rc in law.codes.items()}
    for row in decisions.select("request_id", "decision", "reasons", "model_version").iter_rows(named=True):
        passed = row["model_version"] is not None
        reasons = () if passed else tuple(row["reasons"] or ())
        yield RecordScreened(
            batch_id=batch_id,
            request_id=row["request_id"],
            outcome="sufficient" if passed else SCREEN_OUTCOME[row["decision"]],
            reasons=reasons,
            rules=tuple(sorted({citations[c] for c in reasons if c in citations})),
        )

    # Every request that reached resolution searched the taxpayer file (an inspection under
    # 6103(b)(7)), even when the search found nobody: record it with the records read.
    found = dict(result.inspected.group_by("request_id").agg(pl.col("tin")).iter_rows())
    for request_id in decisions.filter(pl.col("model_version").is_not_null())["request_id"]:
        yield RecordsInspected(
            batch_id=batch_id,
            request_id=request_id,
            taxpayers=tuple(sorted(pseudonyms.taxpayer(t) for t in found.get(request_id, ()))),
        )

    chosen = dict(
        result.explanations.filter(pl.col("chosen"))
        .select("request_id", "candidate_tin")
        .unique("request_id")
        .iter_rows()
    )
    for row in decisions.select(
        "request_id", "decision", "reasons", "match_probability", "model_version"
    ).iter_rows(named=True):
        resolved = row["model_version"] is not None
        tin = chosen.get(row["request_id"]) if row["decision"] == DISCLOSE else None
        probability = row["match_probability"]
        yield Decision(
            batch_id=batch_id,
            request_id=row["request_id"],
            decision=row["decision"],
            reasons=tuple(row["reasons"] or ()),
            match_probability=None if probability is None else f"{probability:.6f}",
            taxpayer=pseudonyms.taxpayer(tin) if tin else None,
            model_digest=model_digest if resolved else None,
        )

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

    counts = dict(decisions.group_by("decision").len().iter_rows())
    yield ResponseSent(
        batch_id=batch_id,
        recipient_agency=letter.requesting_agency,
        response_digest=hashlib.sha256(response_bytes(result)).hexdigest(),
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


def record_batch(
    store: Store,
    letter: Letter,
    files: BatchFiles,
    result: ProcessResult,
    law: Law,
    model_digest: str,
    pseudonyms: Pseudonymizer,
    signer: Signer | None,
) -> RecordedBatch:
    """Write the batch and all its events; sign a checkpoint over the grown log.

    A batch is never overwritten: processing the same files again records a new batch."""
    digests = files.digests()
    batch_id = store.create_batch(
        letter=letter.model_dump(mode="json"),
        file_digests=digests,
        requesting_agency=letter.requesting_agency,
    )
    events = events_for_batch(
        batch_id, letter, digests, digests[files.letter.name], result, law, model_digest, pseudonyms
    )
    if signer is not None:
        store.use_keys(signer, pseudonyms)  # sealed and pinned: checkpoint signs only these
    appended = store.append_events(events)
    store.set_batch_status(batch_id, "decided")
    checkpoint = store.sign_checkpoint(signer).serialize() if signer is not None else None
    return RecordedBatch(batch_id, len(appended.event_ids), appended.size, checkpoint)
