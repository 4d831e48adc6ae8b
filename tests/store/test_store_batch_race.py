"""Two runs of the same letter and request file racing, each with its own Store (as two
processes would have), on SQLite and PostgreSQL: which batch a new one supersedes, and
whether these files were answered already, is decided in the transaction that records the
new batch's first events (`Store.start_batch`), so the two can never both supersede one
batch or both start afresh. The loser gets IntakeError (exit code 2) and records nothing.

The race is forced: right after a run has decided that it may record its batch, it waits
(a bounded while) for the other run to decide too. Were the decision taken outside the
recording transaction, both would decide "yes" side by side and both be recorded; inside
it, the second cannot decide until the first has committed, and then it sees the first.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import text
from store_helpers import PSEUDONYMS

from ftigate.decide.record import BatchFiles, BatchRecorder
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import read_letter
from ftigate.law.loader import load_law
from ftigate.ledger.checkpoint import Signer
from ftigate.ledger.events import BatchAbandoned, ResponseReleased, ResponseSent
from ftigate.pipeline.recording import earlier_batch
from ftigate.store.api import Store, Succession
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

DECIDED_WAIT_SECONDS = 3.0
"""how long a run that may record waits for the other to decide too (a bound, not an assertion)"""

SCREENED = pl.DataFrame(
    {"request_id": ["R000001", "R000002"], "outcome": ["pass", "refuse"], "reasons": [[], ["ADDRESS_MISSING"]]}
)


@pytest.fixture
def files(tmp_path: Path) -> BatchFiles:
    rows = [record(i, ["A100"]) for i in (1, 2)]
    requests = write_requests(tmp_path / "requests.csv", rows)
    letter = write_letter(tmp_path / "letter.yaml", merge(BASE_LETTER, {"record_count": 2}))
    return BatchFiles.read(letter, requests)


def _recorder(store: Store, files: BatchFiles, signer: Signer, supersedes: str | None) -> BatchRecorder:
    return BatchRecorder(
        store, read_letter(files.letter), files, load_law(), "0" * 64, PSEUDONYMS, signer, supersedes=supersedes
    )


def _released(db_url: str, files: BatchFiles, signer: Signer) -> str:
    """A batch of `files` whose response was released: the current answer to them."""
    with Store.open(db_url, signer=signer, pseudonyms=PSEUDONYMS) as store:
        first = _recorder(store, files, signer, None)
        first.screened(SCREENED)
        assert first.batch_id is not None
        store.append_events(
            [
                ResponseSent(
                    batch_id=first.batch_id, recipient_agency="ICE", response_digest="0" * 64,
                    disclosed_count=0, refused_count=1, review_count=0,
                ),
                ResponseReleased(batch_id=first.batch_id, response_digest="0" * 64),
            ]
        )  # fmt: skip
        return first.batch_id


def _race(
    db_url: str, files: BatchFiles, signer: Signer, monkeypatch: pytest.MonkeyPatch, supersede: str | None
) -> list[tuple[str, Any]]:
    """Two runs, each: look for earlier batches as `process` does before any work, then
    record the batch after screening. Returns each run's ("recorded", batch id) or
    ("refused", IntakeError)."""
    stores = [Store.open(db_url, signer=signer, pseudonyms=PSEUDONYMS) for _ in range(2)]
    # Both pass `process`'s early check: neither has recorded anything yet.
    supersedes = [earlier_batch(store, files, supersede, files.letter.parent / "out") for store in stores]
    assert supersedes == [supersede, supersede]

    decided = threading.Barrier(2, timeout=DECIDED_WAIT_SECONDS)
    real_refusal = Succession.refusal

    def refusal_then_wait(self: Succession, supersedes: str | None) -> str | None:
        answer = real_refusal(self, supersedes)
        if answer is None:  # this run may record: let the other run decide meanwhile, if it can
            # (broken when the other could not: it is waiting for this transaction)
            with contextlib.suppress(threading.BrokenBarrierError):
                decided.wait()
        return answer

    monkeypatch.setattr(Succession, "refusal", refusal_then_wait)
    outcomes: list[tuple[str, Any]] = [("not run", None), ("not run", None)]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        recorder = _recorder(stores[index], files, signer, supersedes[index])
        start.wait()
        try:
            recorder.screened(SCREENED)
            outcomes[index] = ("recorded", recorder.batch_id)
        except IntakeError as refused:
            outcomes[index] = ("refused", refused)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for store in stores:
            store.close()
    return outcomes


def _exit_code(error: Exception) -> int:
    """What the CLI's one error path makes of the loser's error."""
    import typer

    from ftigate.cli.common import handle_error

    with pytest.raises(typer.Exit) as exited:
        handle_error(error)
    return int(exited.value.exit_code)


def _leaf_kinds(db_url: str) -> dict[str, int]:
    with Store.open(db_url) as store, store.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, count(*) FROM ledger_leaves GROUP BY kind")).all()
        return {str(kind): int(count) for kind, count in rows}


def _one_winner(outcomes: list[tuple[str, Any]]) -> tuple[str, IntakeError]:
    assert sorted(state for state, _ in outcomes) == ["recorded", "refused"], outcomes
    winner = next(value for state, value in outcomes if state == "recorded")
    refused = next(value for state, value in outcomes if state == "refused")
    return str(winner), refused


def test_two_runs_starting_afresh_record_one_batch(
    db_url: str, files: BatchFiles, log_signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, refused = _one_winner(_race(db_url, files, log_signer, monkeypatch, None))

    assert _exit_code(refused) == 2
    assert f"batch {winner} of this letter and request file was started meanwhile" in str(refused)
    assert "this run records nothing" in str(refused)
    with Store.open(db_url, signer=log_signer, pseudonyms=PSEUDONYMS) as store:
        assert [b["id"] for b in store.batches(files_key=files.key)] == [winner]
        store.sign_checkpoint(log_signer)
        report = store.verify(log_signer.verifier)
        assert report.ok, [str(f) for f in report.findings]
    kinds = _leaf_kinds(db_url)
    assert kinds["batch_received"] == 1 and kinds["batch_screened"] == 1
    assert kinds["seal"] == 1, "the loser appended nothing, not even a seal"
    with Store.open(db_url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM screening_results")).scalar() == SCREENED.height


def test_two_runs_superseding_one_batch_record_one_successor(
    db_url: str, files: BatchFiles, log_signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = _released(db_url, files, log_signer)
    before = _leaf_kinds(db_url)

    winner, refused = _one_winner(_race(db_url, files, log_signer, monkeypatch, released))

    assert _exit_code(refused) == 2
    assert f"batch {winner} of this letter and request file was started meanwhile" in str(refused)
    with Store.open(db_url) as store:
        batches = {b["id"]: b for b in store.batches(files_key=files.key)}
        assert set(batches) == {released, winner}
        assert batches[winner]["supersedes"] == released and batches[released]["status"] == "superseded"
        superseded = [e for e in store.batch_events(released) if e["kind"] == "batch_superseded"]
        assert [e["detail"] for e in superseded] == [winner]
    after = _leaf_kinds(db_url)
    assert after["batch_superseded"] == 1
    assert after["batch_received"] == before["batch_received"] + 1
    assert after["seal"] == before["seal"] + 1


def test_a_batch_released_meanwhile_refuses_a_fresh_start_and_a_stale_supersede(
    db_url: str, files: BatchFiles, log_signer: Signer
) -> None:
    """The order the race can also take: the other run finished first. Deciding from what
    is recorded at the time of recording, not from what `process` saw when it started."""
    with Store.open(db_url, signer=log_signer, pseudonyms=PSEUDONYMS) as store:
        fresh = _recorder(store, files, log_signer, earlier_batch(store, files, None, files.letter.parent))
        released = _released(db_url, files, log_signer)  # another run, start to release, meanwhile
        with pytest.raises(IntakeError, match=f"batch {released} of this letter and request file was released"):
            fresh.screened(SCREENED)

        stale = _recorder(store, files, log_signer, released)
        successor = _recorder(store, files, log_signer, released)
        successor.screened(SCREENED)
        assert successor.batch_id is not None
        with pytest.raises(IntakeError, match=f"batch {successor.batch_id} .* started meanwhile"):
            stale.screened(SCREENED)
        # Abandoned, the successor still superseded the released batch: no second successor.
        store.append_events([BatchAbandoned(batch_id=successor.batch_id, reason="stopped", actor="test")])
        with pytest.raises(IntakeError, match=f"batch {released} was superseded meanwhile, by batch "):
            stale.screened(SCREENED)
        assert fresh.batch_id is None and stale.batch_id is None
        assert {b["id"] for b in store.batches(files_key=files.key)} == {released, successor.batch_id}
