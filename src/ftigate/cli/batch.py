"""`ftigate batch list|show|abandon|void`: a batch's lifecycle, read from the store and
changed only by appending events (nothing is ever deleted).

What each state means for counting (README: "Counting"):

* released: its response was renamed into place; its disclosures were made and count.
* superseded: released, then its letter and request file were processed again with
  `process --supersede`; its disclosures were made and count, each request and taxpayer
  once across the two batches.
* voided: released, then withdrawn (`batch void`); its disclosures were made and still
  count (a disclosure cannot be taken back), and the reports show the batch as voided.
* abandoned: never released (`batch abandon`); its disclosures were prepared, never
  made, and do not count. Its files may be processed again.
* any other state (screened, inspecting, decided, responding): a run that stopped; the
  next `process` of the same files finishes it or asks for `batch abandon`.
"""

from __future__ import annotations

import getpass
import json
from collections import Counter
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import func, select

from ftigate.cli.common import JsonOption, check_database_url, err, fail, guarded, new_app, out, print_json
from ftigate.intake.errors import IntakeError
from ftigate.ledger.events import (
    BatchAbandoned,
    BatchDecided,
    BatchReceived,
    BatchScreened,
    BatchVoided,
    ConfigChanged,
    LedgerEvent,
    ModelChanged,
)
from ftigate.ledger.keys import KeyFileError, load_pseudonymizer, load_signer
from ftigate.store.api import FINISHED_STATUSES, RELEASED_STATUSES, Store
from ftigate.store.models import DecisionRow, DisclosureRow, ScreeningResult

app = new_app(
    name="batch",
    help="Batches in the store: list, show, abandon an incomplete one, void a released one.",
    no_args_is_help=True,
)

RELEASED = RELEASED_STATUSES
FINISHED = FINISHED_STATUSES

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite path (default: $FTIGATE_DB, ftigate.db)."),
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why (recorded in the ledger; no taxpayer data).")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does it: a user id (default: the login name).")
]


def _open(db: str | None) -> Store:
    url = check_database_url(db)
    if url.startswith("sqlite:///"):
        from pathlib import Path

        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise IntakeError(path, "no database here")
    return Store.open(url)


def counts_of(store: Store, batch_id: str) -> dict[str, int]:
    """Requests screened, decided and disclosures recorded (made or not) of a batch."""
    counts: dict[str, int] = {}
    with store.snapshot() as conn:
        for name, table in (
            ("screened", ScreeningResult),
            ("decisions", DecisionRow),
            ("disclosures_recorded", DisclosureRow),
        ):
            counts[name] = conn.execute(
                select(func.count()).select_from(table).where(table.batch_id == batch_id)
            ).scalar_one()
    return counts


def _describe(batch: dict[str, Any]) -> dict[str, Any]:
    letter = batch.get("letter_json") or {}
    return {
        "batch_id": batch["id"],
        "created_at": batch["created_at"].isoformat() if batch.get("created_at") else None,
        "requesting_agency": batch["requesting_agency"],
        "letter_date": letter.get("date"),
        "status": batch["status"],
        "disclosures_count": batch["status"] in RELEASED,
        "supersedes": batch.get("supersedes"),
    }


@app.command("list")
def list_batches(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every batch, oldest first, with its status and whether its disclosures count."""
    store = guarded(lambda: _open(db))
    try:
        batches = [_describe(b) for b in store.batches()]
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(batches))
        return
    table = Table(title=f"Batches ({len(batches)})")
    for column in ("batch", "created", "agency", "letter date", "status", "disclosures count", "supersedes"):
        table.add_column(column)
    for b in batches:
        table.add_row(
            b["batch_id"], (b["created_at"] or "")[:19], b["requesting_agency"], str(b["letter_date"] or ""),
            b["status"], "yes" if b["disclosures_count"] else "no", b["supersedes"] or "",
        )  # fmt: skip
    out.print(table)
    states = Counter(b["status"] for b in batches)
    err.print(", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no batches")


@app.command("show")
def show(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH", help="The batch id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One batch: its files' digests, status, counts and lifecycle events."""
    store = guarded(lambda: _open(db))
    try:
        batch = store.batch(batch_id)
        if batch is None:
            fail(f"no batch {batch_id}")
        document = {
            **_describe(batch),
            "files": batch["file_digests"],
            **counts_of(store, batch_id),
            "events": [
                {k: e[k] for k in ("kind", "at", "reason", "detail", "event_id")}
                for e in store.batch_events(batch_id)
            ],
            "superseded_by": [b["id"] for b in store.batches() if b.get("supersedes") == batch_id],
            **_rules_recorded(store, batch_id),
        }
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(document, default=str))
        return
    for key in ("batch_id", "status", "disclosures_count", "requesting_agency", "letter_date", "created_at",
                "supersedes", "superseded_by", "screened", "decisions", "disclosures_recorded"):  # fmt: skip
        out.print(f"{key}: {document[key]}", markup=False)
    for name, digest in document["files"].items():
        out.print(f"file {name}: sha256 {digest}", markup=False)
    for event in document["events"]:
        detail = " ".join(str(event[k]) for k in ("reason", "detail") if event[k])
        out.print(f"{event['at']}  {event['kind']}  {detail}", markup=False)
    received = document["received"]
    if received is not None:
        out.print(f"first event: leaf {received['leaf_index']}, event {received['event']['event_id']}")
        for name in RULE_FIELDS:
            out.print(f"  {name}: {received['event'].get(name)}", markup=False)
    for part, leaf in document["committed"].items():
        if leaf is not None:
            event = leaf["event"]
            out.print(
                f"{part}: leaf {leaf['leaf_index']}, event {event['event_id']}, {event['records']} records, "
                f"root {event['results_root']}",
                markup=False,
            )
    for change in document["rules_changed"]:
        event = change["event"]
        what = event.get("setting") or "model"
        old, new = event.get("old_digest"), event.get("new_digest", event.get("model_digest"))
        out.print(f"{event['kind']} (leaf {change['leaf_index']}): {what} {old} -> {new}", markup=False)


RULE_FIELDS = ("law_as_of", "law_sha256", "policy_sha256", "thresholds", "model_digest", "model_name",
               "splink_version")  # fmt: skip


def _rules_recorded(store: Store, batch_id: str) -> dict[str, Any]:
    """The batch's first ledger entry as recorded (the rules that decided it, checkable with
    `ftigate ledger verify` and `ftigate law show --json`) and the rule changes that took
    effect with it."""
    kinds = (BatchReceived.kind, ConfigChanged.kind, ModelChanged.kind, BatchScreened.kind, BatchDecided.kind)
    leaves = store.batch_leaves(batch_id, kinds)
    received = [{"leaf_index": i, "event": e} for i, e in leaves if e.get("kind") == BatchReceived.kind]
    changes = [{"leaf_index": i, "event": e} for i, e in leaves if e.get("kind") in kinds[1:3]]
    committed = {
        part: next(({"leaf_index": i, "event": e} for i, e in leaves if e.get("kind") == kind), None)
        for part, kind in (("screened", BatchScreened.kind), ("decided", BatchDecided.kind))
    }
    return {
        "received": received[0] if received else None,
        "rules_changed": changes,
        # the leaves whose roots commit to every request's screening result and decision
        # (`ftigate ledger prove-record` proves one); null for a batch recorded before them
        "committed": committed,
    }


@app.command("abandon")
def abandon(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH", help="The incomplete batch.")],
    reason: ReasonOption,
    by: ByOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that an incomplete batch (a run that stopped) will not be finished.

    Its disclosures, if any were recorded, were never released and are not counted; a
    response file it left staged must not be sent. Its files may then be processed again."""
    _append_lifecycle(
        db, batch_id,
        lambda status: None if status not in FINISHED else (
            f"batch {batch_id} is {status}: only an incomplete batch can be abandoned"
            + (" (use `ftigate batch void` for a released one)" if status in RELEASED else "")
        ),
        lambda actor: BatchAbandoned(batch_id=batch_id, reason=reason, actor=actor),
        by,
    )  # fmt: skip
    if as_json:
        print_json({"batch_id": batch_id, "status": "abandoned", "disclosures_count": False})
        return
    out.print(f"batch {batch_id} abandoned: nothing of it counts as disclosed")


@app.command("void")
def void(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH", help="The released batch.")],
    reason: ReasonOption,
    by: ByOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a released batch is withdrawn (for example sent under a wrong letter).

    Its disclosures were made and stay in the accounting and the JCT counts; the reports
    and `batch list` show the batch as voided."""
    _append_lifecycle(
        db, batch_id,
        lambda status: None if status in ("released", "superseded") else (
            f"batch {batch_id} is {status}: only a released batch can be voided"
            + ("" if status in FINISHED else " (use `ftigate batch abandon` for an incomplete one)")
        ),
        lambda actor: BatchVoided(batch_id=batch_id, reason=reason, actor=actor),
        by,
    )  # fmt: skip
    if as_json:
        print_json({"batch_id": batch_id, "status": "voided", "disclosures_count": True})
        return
    out.print(f"batch {batch_id} voided: its disclosures were made and still count")


def _append_lifecycle(
    db: str | None,
    batch_id: str,
    refusal: Any,
    event: Any,
    by: str | None,
) -> None:
    try:
        signer = load_signer()
        pseudonyms = load_pseudonymizer()
    except KeyFileError as exc:
        fail(f"ledger keys: {exc}; run `ftigate ledger keygen` first")
    store = guarded(lambda: _open(db))
    try:
        guarded(lambda: store.use_keys(signer, pseudonyms))  # sealed: the checkpoint signs only these
        batch = store.batch(batch_id)
        if batch is None:
            fail(f"no batch {batch_id}")
        problem = refusal(batch["status"])
        if problem:
            fail(problem)
        actor = by or getpass.getuser()
        recorded: LedgerEvent = guarded(lambda: _event_or_fail(event, actor))
        guarded(lambda: store.append_events([recorded]))
        guarded(lambda: store.sign_checkpoint(signer))
    finally:
        store.close()


def _event_or_fail(make: Any, actor: str) -> LedgerEvent:
    from ftigate.ledger.events import EntryError

    try:
        made: LedgerEvent = make(actor)
    except EntryError:
        raise IntakeError(
            "--reason", "--reason or --by holds something shaped like a TIN, which the ledger never records"
        ) from None
    return made
