"""A batch recorded in the ledger as each stage happens, shared by `ftigate process` and
the service's worker (README: "What the ledger records of a batch").

Before any taxpayer record is read: the store and the keys are opened (`open_recorder`)
and earlier batches of the same files looked for (`earlier_batch`), since a batch that
cannot be recorded must not be processed (6103(p)(3)(A)) and the same requests are never
answered twice unawares. After `run_process`: the response written and released through
the recorder (`respond`). A run killed after its response was put in place, before its
release was recorded, is finished by the next one (`response_in_place`, `record_release`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from ftigate.decide.record import RESPONSE_FILE, BatchFiles, BatchRecorder, RecordedBatch, file_sha256
from ftigate.intake.errors import IntakeError
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import Pseudonymizer, ResponseReleased
from ftigate.ledger.keys import KeyFileError, load_pseudonymizer, load_signer
from ftigate.outputs import OutputFolder, settle_output_folder
from ftigate.pipeline.respond import ProcessResult
from ftigate.store.api import Store, StoreError, Succession


class UnfinishedRelease(Exception):
    """An earlier run of these files put its response in place and was killed before
    recording its release: the caller records it (`record_release`) and processes nothing."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(batch_id)
        self.batch_id = batch_id


def open_recorder(url: str) -> tuple[Store, Pseudonymizer, Signer]:
    """The store and both keys; with both every append is sealed, and a log pinned to
    other keys is refused. IntakeError (exit code 2) when any is missing or unusable."""
    try:
        pseudonyms = load_pseudonymizer()
        signer = load_signer()
    except KeyFileError as exc:
        hint = "" if "ledger keygen" in str(exc) else "; run `ftigate ledger keygen` first"
        raise IntakeError("ledger keys", f"{exc}{hint}") from None
    try:
        store = Store.open(url, signer=signer, pseudonyms=pseudonyms)
    except StoreError as exc:
        raise IntakeError("--db", str(exc)) from None
    except SQLAlchemyError as exc:
        raise IntakeError("--db", f"cannot open the store ({exc.__class__.__name__})") from None
    return store, pseudonyms, signer


def earlier_batch(store: Store, files: BatchFiles, supersede: str | None, out_dir: Path) -> str | None:
    """The batch the new one supersedes, or None. Raises IntakeError when these files were
    processed before (without `supersede` naming the current batch) or an earlier batch
    of them is incomplete, and UnfinishedRelease when that incomplete batch's response is
    already in place in `out_dir`. Checked before any work, so that a run that cannot be
    recorded reads nothing; the store checks the same rule (`Succession`) again in the
    transaction that records the batch, which a run of the same files begun meanwhile
    may have reached first."""
    succession = Succession.of(store.batches(files_key=files.key))
    for batch in succession.unfinished:
        if batch["status"] == "responding" and response_in_place(store, batch["id"], out_dir):
            raise UnfinishedRelease(batch["id"])
        raise IntakeError(
            files.requests,
            f"batch {batch['id']} of this letter and request file is incomplete ({batch['status']}); "
            f"nothing of it was released. Run `ftigate batch abandon {batch['id']} --reason ...` "
            "to record that it will not be finished, then process again",
        )
    released = succession.current
    if supersede is None:
        if released:
            raise IntakeError(
                files.requests,
                f"this letter and request file were answered in batch {released[-1]}; processing "
                f"them again needs --supersede {released[-1]} (each disclosure then counts once)",
            )
        return None
    if supersede not in released:
        raise IntakeError(
            "--supersede",
            f"{supersede} is not a released batch of this letter and request file"
            + (f" (the current one is {released[-1]})" if released else ""),
        )
    return supersede


def sent_digest(store: Store, batch_id: str) -> str | None:
    """The digest of the response the batch recorded as sent, or None."""
    sent = [e["detail"] for e in store.batch_events(batch_id) if e["kind"] == "response_sent"]
    return str(sent[-1]) if sent else None


def response_in_place(store: Store, batch_id: str, out_dir: Path) -> bool:
    """Whether the response whose digest the batch recorded is in `out_dir` (a run killed
    after putting its outputs in place, before recording their release). A folder whose
    commit a kill interrupted is settled first (`ftigate.outputs.settle_output_folder`):
    its new set completed, so the answer is about one whole set."""
    digest = sent_digest(store, batch_id)
    if digest is None or not out_dir.is_dir() or out_dir.is_symlink():
        return False
    settle_output_folder(out_dir)
    response = out_dir / RESPONSE_FILE
    if response.is_symlink() or not response.is_file():
        return False
    return file_sha256(response) == digest


def record_release(store: Store, batch_id: str, signer: Signer) -> None:
    """The release of a response found in place with the digest recorded as sent."""
    digest = sent_digest(store, batch_id)
    if digest is None:
        raise RuntimeError(f"batch {batch_id} recorded no response")
    store.append_events([ResponseReleased(batch_id=batch_id, response_digest=digest)])
    store.sign_checkpoint(signer)


def respond(
    recorder: BatchRecorder, result: ProcessResult, out_dir: Path, *, force: bool = False, command: str
) -> RecordedBatch:
    """Write the outputs as one set and record their disclosure and release (the order
    is the recorder's: disclosures once the response is durable, release once in place)."""
    with OutputFolder(out_dir, force=force, command=command) as folder:
        return recorder.respond(result, folder)


def decide_and_respond(
    recorder: BatchRecorder, result: ProcessResult, out_dir: Path, *, force: bool = False, command: str
) -> RecordedBatch:
    """Record the decisions, then as :func:`respond`; the outputs are staged meanwhile
    (`BatchRecorder.decide_and_respond`)."""
    with OutputFolder(out_dir, force=force, command=command) as folder:
        return recorder.decide_and_respond(result, folder)
