"""The relational rows the ledger's events describe: one definition, two users.

``Store.append_events`` writes these rows beside the leaves; ``ledger verify``
rebuilds them from the log and compares them with the tables the reports read
(``screening_results``, ``decisions``, ``reviews``, ``disclosures``, and the
``batches`` each ``batch_received`` names), so a deleted disclosure row, a
flipped decision or a row no event justifies is found. Findings name the table,
the event id and the leaf; never a value (values may be pseudonyms or purposes).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftigate.ledger.committed import (
    COMMITTED_TABLES,
    CommitEvent,
    DecisionItem,
    Item,
    ScreeningItem,
    item_hash,
    results_root,
)
from ftigate.ledger.events import (
    BatchAbandoned,
    BatchDecided,
    BatchReceived,
    BatchScreened,
    BatchSuperseded,
    BatchVoided,
    Decision,
    Disclosure,
    LedgerEvent,
    RecordScreened,
    ResponseReleased,
    ResponseSent,
    ReviewAction,
)

# (table, columns) in the order the rows' tuples hold them; event_id is always last.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "screening_results": ("batch_id", "request_id", "outcome", "reasons", "rules", "event_id"),
    "decisions": (
        "batch_id",
        "request_id",
        "decision",
        "reasons",
        "match_probability",
        "taxpayer_pseudonym",
        "model_digest",
        "event_id",
    ),
    "reviews": (
        "batch_id",
        "request_id",
        "reviewer",
        "action",
        "decision",
        "reasons",
        "at",
        "event_id",
    ),
    "disclosures": (
        "batch_id",
        "request_id",
        "taxpayer_pseudonym",
        "date",
        "recipient_agency",
        "authority",
        "purpose",
        "disclosed",
        "content_digest",
        "event_id",
    ),
    # a batch's lifecycle after its decisions: response sent, released, abandoned, voided,
    # superseded (the reports count a disclosure only once its batch was released)
    "batch_events": ("batch_id", "kind", "at", "reason", "detail", "event_id"),
}
LIFECYCLE_EVENTS = (ResponseSent, ResponseReleased, BatchAbandoned, BatchVoided, BatchSuperseded)
PROJECTED_KINDS = frozenset(
    cls.kind
    for cls in (
        RecordScreened, Decision, ReviewAction, Disclosure, *LIFECYCLE_EVENTS,
        BatchReceived, BatchScreened, BatchDecided,
    )
)  # fmt: skip
"""the kinds of event ``ExpectedProjection.add`` reads (rows, batches, commitments)"""
JSON_COLUMNS = frozenset({"reasons", "rules", "disclosed"})
BATCH_COLUMNS = ("requesting_agency", "file_digests")


@functools.lru_cache(maxsize=4096)
def json_text(values: tuple[str, ...]) -> str:
    """JSON text of a list of codes (reason and rule codes repeat: cached)."""
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def row_for(event: LedgerEvent) -> tuple[str, tuple[Any, ...]] | None:
    """(table, row) for an event that has a table row, else None."""
    if isinstance(event, RecordScreened):
        return "screening_results", (
            event.batch_id,
            event.request_id,
            event.outcome,
            json_text(event.reasons),
            json_text(event.rules),
            event.event_id,
        )
    if isinstance(event, Decision):
        return "decisions", (
            event.batch_id,
            event.request_id,
            event.decision,
            json_text(event.reasons),
            event.match_probability,
            event.taxpayer,
            event.model_digest,
            event.event_id,
        )
    if isinstance(event, ReviewAction):
        return "reviews", (
            event.batch_id,
            event.request_id,
            event.reviewer,
            event.action,
            event.decision,
            json_text(event.reasons),
            event.at,
            event.event_id,
        )
    if isinstance(event, Disclosure):
        return "disclosures", (
            event.batch_id,
            event.request_id,
            event.taxpayer,
            event.date,
            event.recipient_agency,
            event.authority,
            event.purpose,
            json_text(event.disclosed),
            event.content_digest,
            event.event_id,
        )
    if isinstance(event, LIFECYCLE_EVENTS):
        fields = event.__dict__
        detail = fields.get("superseded_by") or fields.get("response_digest")
        return "batch_events", (
            fields["batch_id"],
            event.kind,
            event.at,
            fields.get("reason"),
            detail,
            event.event_id,
        )
    return None


def item_row(item: Item, event_id: str) -> tuple[Any, ...]:
    """An item's row in its table, in :data:`TABLE_COLUMNS` order."""
    if isinstance(item, ScreeningItem):
        return (
            item.batch_id, item.request_id, item.outcome,
            json_text(item.reasons), json_text(item.rules), event_id,
        )  # fmt: skip
    return (
        item.batch_id, item.request_id, item.decision, json_text(item.reasons),
        item.match_probability, item.taxpayer, item.model_digest, event_id,
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _codes(text: str) -> tuple[str, ...] | None:
    """A JSON list of codes read back as text (codes repeat: cached); None if it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return tuple(value)


def _stored_codes(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return _codes(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def row_item(table: str, row: Sequence[Any]) -> Item | None:
    """The item a stored row (its values in :data:`TABLE_COLUMNS` order) says it holds;
    None when its list columns are not lists of text. The inverse of :func:`item_row`."""
    reasons = _stored_codes(row[3])
    if reasons is None:
        return None
    if table == ScreeningItem.table:
        rules = _stored_codes(row[4])
        if rules is None:
            return None
        return ScreeningItem(str(row[0]), str(row[1]), str(row[2]), reasons, rules)
    return DecisionItem(str(row[0]), str(row[1]), str(row[2]), reasons, row[4], row[5], row[6])


def projection_rows(events: Iterable[LedgerEvent]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table for ``events`` (what ``append_events`` inserts; a committed batch's
    rows are its items, :func:`item_row`)."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLE_COLUMNS}
    for event in events:
        found = row_for(event)
        if found is not None:
            rows[found[0]].append(found[1])
    return rows


def _normal(column: str, value: Any) -> Any:
    """A stored value in the form ``row_for`` gives it (JSON columns read back as lists
    on one driver and text on another)."""
    if column in JSON_COLUMNS:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return ("unreadable JSON", value)
        return list(value) if isinstance(value, list | tuple) else value
    if column == "file_digests" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return ("unreadable JSON", value)
    return value


@dataclass(frozen=True)
class ProjectionFinding:
    table: str
    event_id: str
    leaf_index: int | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class ExpectedProjection:
    """Rows rebuilt from the log, keyed by table and event id, with their leaf."""

    rows: dict[str, dict[str, tuple[int, tuple[Any, ...]]]] = field(
        default_factory=lambda: {table: {} for table in TABLE_COLUMNS}
    )
    batches: dict[str, tuple[int, str, tuple[Any, ...]]] = field(default_factory=dict)
    commitments: dict[str, CommitEvent] = field(default_factory=dict)
    """``batch_screened`` and ``batch_decided`` events by event id, and their leaves"""
    commitment_leaves: dict[str, int] = field(default_factory=dict)

    def add(self, leaf_index: int, event: LedgerEvent) -> None:
        if isinstance(event, BatchScreened | BatchDecided):
            self.commitments[event.event_id] = event
            self.commitment_leaves[event.event_id] = leaf_index
            return
        if isinstance(event, BatchReceived):
            self.batches[event.batch_id] = (
                leaf_index,
                event.event_id,
                (event.requesting_agency, dict(event.files)),
            )
            return
        found = row_for(event)
        if found is not None:
            self.rows[found[0]][event.event_id] = (leaf_index, found[1])


def compare_table(
    table: str,
    expected: Mapping[str, tuple[int, tuple[Any, ...]]],
    stored: Iterable[Mapping[Any, Any]],
) -> list[ProjectionFinding]:  # fmt: skip
    """Differences between one table's rows and the rows its events describe."""
    columns = TABLE_COLUMNS[table]
    compared = columns[:-1]
    findings: list[ProjectionFinding] = []
    seen: set[str] = set()
    for row in stored:
        event_id = str(row["event_id"])
        if event_id in seen:
            findings.append(
                ProjectionFinding(
                    table,
                    event_id,
                    expected.get(event_id, (None,))[0],
                    f"{table}: event {event_id} has more than one row (a row was added)",
                )
            )
            continue
        seen.add(event_id)
        wanted = expected.get(event_id)
        if wanted is None:
            findings.append(
                ProjectionFinding(
                    table,
                    event_id,
                    None,
                    f"{table}: a row names event {event_id}, which is not a "
                    f"{table} event in the log (a row was added or altered outside the ledger)",
                )
            )
            continue
        leaf_index, values = wanted
        if tuple(row[name] for name in compared) == values[:-1]:
            continue  # as written (SQLite returns JSON columns as the text written)
        differing = [
            name
            for name, value in zip(columns[:-1], values[:-1], strict=True)
            if _normal(name, row[name]) != _normal(name, value)
        ]
        if differing:
            findings.append(
                ProjectionFinding(
                    table,
                    event_id,
                    leaf_index,
                    f"{table}: the row of event {event_id} (leaf {leaf_index}) differs from "
                    f"the log in {', '.join(differing)}",
                )
            )
    for event_id in sorted(set(expected) - seen, key=lambda e: expected[e][0]):
        leaf_index = expected[event_id][0]
        findings.append(
            ProjectionFinding(
                table,
                event_id,
                leaf_index,
                f"{table}: the row of event {event_id} (leaf {leaf_index}) is missing (it was deleted)",
            )
        )
    return findings


def compare_batches(
    expected: Mapping[str, tuple[int, str, tuple[Any, ...]]],
    stored: Iterable[Mapping[Any, Any]],
) -> list[ProjectionFinding]:
    """Each batch a ``batch_received`` names must exist with its agency and file digests.

    A batch row without an event is not a finding: a batch is created before its
    events are appended (a run killed in between leaves one, which recording resumes)."""
    findings = []
    by_id = {str(row["id"]): row for row in stored}
    for batch_id, (leaf_index, event_id, (agency, files)) in expected.items():
        row = by_id.get(batch_id)
        if row is None:
            findings.append(
                ProjectionFinding(
                    "batches",
                    event_id,
                    leaf_index,
                    f"batches: the batch of event {event_id} (leaf {leaf_index}) is missing",
                )
            )
            continue
        differing = [
            name
            for name, value in zip(BATCH_COLUMNS, (agency, files), strict=True)
            if _normal(name, row[name]) != value
        ]
        if differing:
            findings.append(
                ProjectionFinding(
                    "batches",
                    event_id,
                    leaf_index,
                    f"batches: the batch of event {event_id} (leaf {leaf_index}) differs from "
                    f"the log in {', '.join(differing)}",
                )
            )
    return findings


class CommittedRows:
    """Checks the rows of committed batches (``screening_results``, ``decisions``) against
    the roots their ``batch_screened`` / ``batch_decided`` events hold, streaming:
    :meth:`take` consumes a row (read in row id order) that belongs to a commitment,
    :meth:`findings` then compares what each commitment's rows hash to."""

    def __init__(self, commitments: Mapping[str, CommitEvent], leaves: Mapping[str, int]) -> None:
        self._events = commitments
        self._leaves = leaves
        self._hashes: dict[str, list[bytes]] = {event_id: [] for event_id in commitments}
        self._unreadable: set[str] = set()
        self._misplaced: set[str] = set()

    def take(self, table: str, row: Sequence[Any]) -> bool:
        """Consume ``row`` (values in :data:`TABLE_COLUMNS` order, event id last) if it
        belongs to a commitment; False leaves it to :func:`compare_table`."""
        event_id = str(row[-1])
        hashes = self._hashes.get(event_id)
        if hashes is None:
            return False
        if COMMITTED_TABLES[self._events[event_id].kind] != table:
            self._misplaced.add(event_id)
            return True
        item = row_item(table, row)
        try:
            if item is None:
                raise ValueError("not a list")
            hashes.append(item_hash(item))
        except ValueError:
            self._unreadable.add(event_id)
        return True

    def findings(self) -> list[ProjectionFinding]:
        found = []
        for event_id, event in self._events.items():
            hashes = self._hashes[event_id]
            leaf = self._leaves[event_id]
            table = COMMITTED_TABLES[event.kind]
            where = f"{table}: the rows of batch {event.batch_id} (event {event_id}, leaf {leaf})"
            if event_id in self._misplaced:
                message = f"{where} are joined by rows of another table naming that event (rows were added)"
            elif event_id in self._unreadable:
                message = f"{where} hold values that are not {table} (altered outside the ledger)"
            elif len(hashes) != event.records:
                message = (
                    f"{where} are {len(hashes)}, but the log commits to {event.records} "
                    "(rows were deleted or added)"
                )
            elif results_root(hashes).hex() != event.results_root:
                message = (
                    f"{where} do not hash to the root the log commits to "
                    "(a row was changed or the rows were reordered)"
                )
            else:
                continue
            found.append(ProjectionFinding(table, event_id, leaf, message))
        return found
