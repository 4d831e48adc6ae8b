"""The relational rows the ledger's events describe: one definition, two users.

``Store.append_events`` writes these rows beside the leaves; ``ledger verify``
rebuilds them from the log and compares them with the tables the reports read
(``screening_results``, ``decisions``, ``reviews``, ``disclosures``, and the
``batches`` each ``batch_received`` names), so a deleted disclosure row, a
flipped decision or a row no event justifies is found. Findings name the table,
the event id and the leaf; never a value (values may be pseudonyms or purposes).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftigate.ledger.committed import (
    CommitEvent,
)
from ftigate.ledger.events import (
    ENTRY_VERSION,
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
_DISCLOSURE_KEYS = frozenset((*(f.name for f in dataclasses.fields(Disclosure)), "v", "kind"))
_DISCLOSURE_TEXTS = (
    "batch_id", "request_id", "taxpayer", "date", "recipient_agency", "authority", "purpose", "event_id",
)  # fmt: skip
"""a disclosure's text fields in its row's order (``disclosed`` and ``content_digest`` follow)"""
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

    def add_disclosure_entry(self, leaf_index: int, entry: Mapping[str, Any]) -> bool:
        """A disclosure's row straight from its decoded entry, the tuple :func:`row_for`
        gives its event (``verify`` reads one per disclosure: no event object is built).
        False when the entry is not exactly a disclosure's fields as text; the caller then
        rebuilds the event, which refuses what is not one."""
        if entry.keys() != _DISCLOSURE_KEYS or entry["v"] != ENTRY_VERSION:
            return False
        disclosed, digest = entry["disclosed"], entry["content_digest"]
        texts = [entry[name] for name in _DISCLOSURE_TEXTS]
        if (
            not isinstance(disclosed, list)
            or not all(isinstance(value, str) for value in (*disclosed, *texts))
            or not (digest is None or isinstance(digest, str))
        ):
            return False
        event_id = texts[-1]
        row = (*texts[:-1], json_text(tuple(disclosed)), digest, event_id)
        self.rows["disclosures"][event_id] = (leaf_index, row)
        return True

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
    stored: Iterable[Sequence[Any]],
) -> list[ProjectionFinding]:  # fmt: skip
    """Differences between one table's rows (tuples in :data:`TABLE_COLUMNS` order, as the
    driver returns them: no mapping per row) and the rows its events describe."""
    columns = TABLE_COLUMNS[table]
    findings: list[ProjectionFinding] = []
    seen: set[str] = set()
    for row in stored:
        event_id = str(row[-1])
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
        if tuple(row) == values:
            continue  # as written (SQLite returns JSON columns as the text written)
        differing = [
            name
            for name, stored_value, value in zip(columns[:-1], row[:-1], values[:-1], strict=True)
            if _normal(name, stored_value) != _normal(name, value)
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
