"""Accounting of disclosures (6103(p)(3)(A)) and the JCT counts (6103(p)(3)(B)).

The ledger is the source of truth: disclosures are read from the ledger's
``disclosure`` entries and cross-checked against the ``disclosures`` table;
a row missing from either side, or differing, is an error, not a footnote.
"""

from __future__ import annotations

import html
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ftigate.ledger.checkpoint import parse_checkpoint_body, parse_note
from ftigate.ledger.merkle import ProvableTree
from ftigate.outputs.safecsv import SafeWriter

DISCLOSURE_FIELDS = (
    "batch_id",
    "request_id",
    "taxpayer",
    "date",
    "recipient_agency",
    "authority",
    "purpose",
    "disclosed",
    "content_digest",
)


LIFECYCLE_KINDS = (
    "batch_received",
    "response_released",
    "batch_abandoned",
    "batch_voided",
    "batch_superseded",
)
"""the entries that say which batches' disclosures were made (README: "Counting")"""


@dataclass
class BatchLog:
    """What the log says of each batch, folded from its lifecycle entries.

    The one rule every count follows: a disclosure was made only if its batch's response
    was released (`response_released`); one request (the same request id in the same
    letter and request file) about one taxpayer counts once, however often its files
    were processed (superseded, abandoned and rerun, voided and rerun); a batch is
    dated by its letter's date."""

    agency: dict[str, str] = field(default_factory=dict)
    letter_date: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)
    abandoned: set[str] = field(default_factory=set)
    voided: set[str] = field(default_factory=set)
    superseded_by: dict[str, str] = field(default_factory=dict)

    def observe(self, event: dict[str, Any]) -> None:
        kind, batch_id = event.get("kind"), event.get("batch_id")
        if not isinstance(batch_id, str):
            return
        if kind == "batch_received":
            self.agency[batch_id] = event["requesting_agency"]
            self.letter_date[batch_id] = event.get("letter_date")
            self.files[batch_id] = tuple(sorted((event.get("files") or {}).values()))
        elif kind == "response_released":
            self.released.add(batch_id)
        elif kind == "batch_abandoned":
            self.abandoned.add(batch_id)
        elif kind == "batch_voided":
            self.voided.add(batch_id)
        elif kind == "batch_superseded":
            self.superseded_by[batch_id] = event["superseded_by"]

    def status(self, batch_id: str) -> str:
        if batch_id in self.voided:
            return "voided"
        if batch_id in self.released:
            return "superseded" if batch_id in self.superseded_by else "released"
        return "abandoned" if batch_id in self.abandoned else "not released"

    def same_request(self, batch_id: str, request_id: str) -> tuple[tuple[str, ...], str]:
        return self.files.get(batch_id) or (batch_id,), request_id

    def dated(self, batch_id: str, fallback: str) -> str:
        """The date a batch is counted under: its letter's (entries before letters were
        dated in the log fall back to the event's own date)."""
        return self.letter_date.get(batch_id) or fallback

    def counted(self, disclosures: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The disclosures made, each (request, taxpayer) once, earliest kept."""
        seen: set[tuple[tuple[str, ...], str, str]] = set()
        kept = []
        for event in disclosures:
            batch_id = event["batch_id"]
            if batch_id not in self.released:
                continue
            key = (*self.same_request(batch_id, event["request_id"]), event["taxpayer"])
            if key in seen:
                continue
            seen.add(key)
            kept.append(event)
        return kept


def batch_states(log: BatchLog) -> dict[str, int]:
    """How many batches are in each state (`BatchLog.status`), for the reports to show."""
    states: dict[str, int] = defaultdict(int)
    for batch_id in log.agency:
        states[log.status(batch_id)] += 1
    return dict(sorted(states.items()))


def batch_log(entries: Iterable[bytes]) -> BatchLog:
    log = BatchLog()
    for entry in entries:
        log.observe(json.loads(entry)["event"])
    return log


class AccountingError(Exception):
    """The ledger and the disclosure table disagree, or nothing is signed yet."""


@dataclass(frozen=True)
class LedgerDisclosure:
    leaf_index: int
    event_id: str
    entry: bytes
    event: dict[str, Any]


def disclosures_in_ledger(
    leaves: Iterable[tuple[int, str, bytes]], taxpayer: str | None = None
) -> list[LedgerDisclosure]:
    """Disclosure entries from (leaf index, event id, entry bytes), optionally for one taxpayer."""
    found = []
    for index, event_id, entry in leaves:
        try:
            event = json.loads(entry)["event"]
        except (ValueError, KeyError, TypeError):
            raise AccountingError(
                f"leaf {index} is not a readable ledger entry; run `ftigate ledger verify`"
            ) from None
        if not isinstance(event, dict):
            raise AccountingError(f"leaf {index} holds no event; run `ftigate ledger verify`")
        if event.get("kind") != "disclosure":
            continue
        if taxpayer is not None and event.get("taxpayer") != taxpayer:
            continue
        found.append(LedgerDisclosure(index, event_id, entry, event))
    return found


def cross_check(ledger: list[LedgerDisclosure], rows: list[dict[str, Any]]) -> None:
    """Raise unless every ledger disclosure has an identical table row and vice versa."""
    by_event = {row["event_id"]: row for row in rows}
    for item in ledger:
        row = by_event.pop(item.event_id, None)
        if row is None:
            raise AccountingError(
                f"disclosure {item.event_id} (leaf {item.leaf_index}) is in the ledger "
                "but missing from the disclosures table"
            )
        table = {**row, "taxpayer": row["taxpayer_pseudonym"]}
        for name in DISCLOSURE_FIELDS:
            ledger_value = item.event.get(name)
            table_value = table.get(name)
            if isinstance(ledger_value, list):
                table_value = list(table_value or [])
            if ledger_value != table_value:
                raise AccountingError(
                    f"disclosure {item.event_id}: field {name} in the table differs from the ledger entry"
                )
    if by_event:
        extra = sorted(by_event)[0]
        raise AccountingError(
            f"disclosures table row for event {extra} has no ledger entry ({len(by_event)} such row(s))"
        )


def check_pseudonym_key(fingerprint: str, pins: Iterable[tuple[int, str, dict[str, Any]]]) -> None:
    """Raise unless leaf 0 pins this pseudonym key and every batch was recorded under it.

    ``pins`` are (leaf index, kind, event) of the ``ledger_opened`` and ``batch_received``
    leaves. A replaced key would silently split one taxpayer's accounting in two: the
    disclosures made under the old key carry pseudonyms the new key never produces."""
    opened = False
    for index, kind, event in pins:
        if kind == "ledger_opened" and index == 0:
            opened = True
            if event.get("pseudonym_key") != fingerprint:
                raise AccountingError(
                    "the pseudonym key given is not the one this log pins (leaf 0): an "
                    "accounting under it would miss the disclosures made under the pinned key"
                )
        elif kind == "batch_received" and event.get("pseudonym_key") != fingerprint:
            raise AccountingError(
                f"batch {event.get('batch_id')} (leaf {index}) was recorded under another "
                "pseudonym key: the key was replaced, so this taxpayer's disclosures may be "
                "split between two pseudonyms"
            )
    if not opened:
        raise AccountingError("leaf 0 is not a ledger_opened entry: the pseudonym key is not pinned")


@dataclass
class TaxpayerAccounting:
    taxpayer_pseudonym: str
    checkpoint: str
    tree_size: int
    disclosures: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "ftigate-accounting/v1",
            "taxpayer_pseudonym": self.taxpayer_pseudonym,
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
            "disclosures": self.disclosures,
        }


def account_for_taxpayer(
    pseudonym: str,
    ledger: list[LedgerDisclosure],
    tree: ProvableTree,
    checkpoint_text: str,
    proof_document: Any,
    log: BatchLog | None = None,
) -> TaxpayerAccounting:
    """Each disclosure made (see `BatchLog`) with an inclusion proof against the latest
    signed checkpoint, and its batch's status (released, superseded, voided).

    ``proof_document(leaf, tree, size)`` builds the proof (the CLI's format)."""
    head = parse_checkpoint_body(parse_note(checkpoint_text).text)
    result = TaxpayerAccounting(pseudonym, checkpoint_text, head.size)
    if log is not None:
        made = {event["event_id"] for event in log.counted(item.event for item in ledger)}
        ledger = [item for item in ledger if item.event_id in made]
    for item in ledger:
        if item.leaf_index >= head.size:
            raise AccountingError(
                f"disclosure {item.event_id} is newer than the latest signed checkpoint; "
                "run `ftigate ledger checkpoint`"
            )
        event = item.event
        result.disclosures.append(
            {
                "date": event["date"],
                "recipient_agency": event["recipient_agency"],
                "authority": event["authority"],
                "purpose": event["purpose"],
                "disclosed": event["disclosed"],
                "batch_id": event["batch_id"],
                "request_id": event["request_id"],
                "event_id": item.event_id,
                **({"batch_status": log.status(event["batch_id"])} if log is not None else {}),
                "proof": proof_document(item, tree, head.size),
            }
        )
    return result


# --- JCT report -----------------------------------------------------------------------


@dataclass
class AgencyCounts:
    agency: str
    requests: int = 0
    disclosures: int = 0
    taxpayers: set[str] = field(default_factory=set)
    purposes: set[str] = field(default_factory=set)


JCT_COLUMNS = (
    "recipient_agency",
    "section",
    "requests",
    "disclosures",
    "taxpayers",
    "general_purposes",
)


def jct_counts(
    entries: Iterable[bytes],
    year: int,
    committed_requests: Callable[[str, str], Iterable[str]] = lambda _batch, _event: (),
) -> list[AgencyCounts]:
    """Per agency, for batches whose letter is dated in ``year``: request records screened
    and disclosures made (see `BatchLog`: released batches only, each request and each
    (request, taxpayer) once however often its files were processed), distinct
    taxpayers disclosed about and the purposes given.

    A batch screened as one `batch_screened` leaf names its requests through
    ``committed_requests(batch id, event id)``: the request ids of the items its root
    commits to (the store's rows, which `ledger verify` checks against that root)."""
    log = BatchLog()
    screened: list[tuple[str, str, str]] = []
    disclosures: list[dict[str, Any]] = []
    for entry in entries:
        event = json.loads(entry)["event"]
        kind = event.get("kind")
        if kind == "record_screened":
            screened.append((event["batch_id"], event["request_id"], str(event.get("at", ""))))
        elif kind == "batch_screened":
            at = str(event.get("at", ""))
            for request_id in committed_requests(event["batch_id"], event["event_id"]):
                screened.append((event["batch_id"], request_id, at))
        elif kind == "disclosure":
            disclosures.append(event)
        else:
            log.observe(event)
    counts: dict[str, AgencyCounts] = {}
    prefix = f"{year:04d}-"
    requests_seen: set[tuple[tuple[str, ...], str]] = set()
    for batch_id, request_id, at in screened:
        key = log.same_request(batch_id, request_id)
        if not log.dated(batch_id, at).startswith(prefix) or key in requests_seen:
            continue
        requests_seen.add(key)
        agency = log.agency.get(batch_id, "(unknown batch)")
        counts.setdefault(agency, AgencyCounts(agency)).requests += 1
    for event in log.counted(disclosures):
        if not log.dated(event["batch_id"], str(event.get("date", ""))).startswith(prefix):
            continue
        agency = event["recipient_agency"]
        row = counts.setdefault(agency, AgencyCounts(agency))
        row.disclosures += 1
        row.taxpayers.add(event["taxpayer"])
        row.purposes.add(event["purpose"])
    return [counts[name] for name in sorted(counts)]


def _states_sentence(states: dict[str, int] | None) -> str:
    if not states:
        return ""
    listed = ", ".join(f"{count} {html.escape(state)}" for state, count in states.items())
    return (
        f" Batches in the ledger, all years: {listed} (abandoned and not released batches "
        "disclosed nothing; voided ones' disclosures were made and are counted)."
    )


def jct_csv(rows: list[AgencyCounts]) -> str:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)  # the one CSV rule: agency names and purposes come from letters
    writer.writerow(JCT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.agency,
                "6103(i)(2)",
                row.requests,
                row.disclosures,
                len(row.taxpayers),
                "; ".join(sorted(row.purposes)),
            ]
        )
    return buffer.getvalue()


def jct_html(
    rows: list[AgencyCounts], year: int, as_of: str, states: dict[str, int] | None = None
) -> str:
    def cell(value: object) -> str:
        return f"<td>{html.escape(str(value))}</td>"

    body = "\n".join(
        "<tr>"
        + cell(row.agency)
        + cell("6103(i)(2)")
        + cell(row.requests)
        + cell(row.disclosures)
        + cell(len(row.taxpayers))
        + cell("; ".join(sorted(row.purposes)))
        + "</tr>"
        for row in rows
    )
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in JCT_COLUMNS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Disclosures under 26 U.S.C. 6103(i)(2), {year}</title></head>
<body>
<h1>Report to the Joint Committee on Taxation, 6103(p)(3)(B): calendar year {year}</h1>
<p>Accurate as of {html.escape(as_of)}. Counts come from the tamper-evident ledger,
for the batches whose letter is dated in the year: requests are request records
screened, each once; disclosures are the disclosures of batches whose response was
released, each request and taxpayer once however often its files were processed;
taxpayers are distinct taxpayer pseudonyms.{_states_sentence(states)} No cell is suppressed
(this report goes to the Committee, not to the public).</p>
<table>
<caption>Requests and disclosures by recipient agency</caption>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</body></html>
"""
