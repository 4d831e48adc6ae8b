"""The public transparency report: the aggregate picture of 6103(i)(2) requests for a
period, per requesting agency, with small cells hidden.

What it publishes (26 U.S.C. 6103(p)(3)(C), plus what technology companies'
government-request reports add):

* per requesting agency: written requests (letters), records requested, instances of
  disclosure, number of taxpayers, refusals and reviews, the general purposes and the
  statutes designated;
* per agency and statute: records requested, disclosed, refused, in review, and the
  share refused;
* per agency: refused records by reason code (why), with the code's citation.

Every count passes through `ftigate.report.suppression`: cells from 1 to threshold-1
are hidden, and complementary cells are hidden so that no hidden cell can be recovered
by subtracting published cells from totals. Shares are published only when both of
their counts are.

Inputs are the same records whatever their source: decision files with their letters
(`records_from_decision_files`) or the store (`records_from_store`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter, read_letter
from ftigate.outputs import OutputFolder, restore
from ftigate.report.render import render_template
from ftigate.report.suppression import DEFAULT_THRESHOLD, HIDDEN_SYMBOL, Line, suppress

DECISIONS = ("disclose", "refuse", "review")
RECORD_COLUMNS = ("agency", "statute", "purpose", "batch_id", "request_id", "decision", "reasons", "taxpayer")
ALL = "All agencies"
AGENCY_MEASURES = ("letters", "records", "disclosed", "refused", "review", "taxpayers")
STATUTE_MEASURES = ("records", "disclosed", "refused", "review")
_DECISION_MEASURE = {"disclose": "disclosed", "refuse": "refused", "review": "review"}
REPORT_VERSION = 1

Cell = tuple[str, ...]


# --- inputs --------------------------------------------------------------------------------------


def _empty_records() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "agency": pl.String,
            "statute": pl.String,
            "purpose": pl.String,
            "batch_id": pl.String,
            "request_id": pl.String,
            "decision": pl.String,
            "reasons": pl.List(pl.String),
            "taxpayer": pl.String,
        }
    )


def _read_decision_file(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise IntakeError(path, "file not found")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
        else:
            frame = restore(pl.read_csv(path, infer_schema=False))  # ftigate's quoted formula cells
    except Exception:  # polars raises many types for a file it cannot parse
        raise IntakeError(path, "cannot read the decision file") from None
    missing = [c for c in ("request_id", "decision", "reasons") if c not in frame.columns]
    if missing:
        raise IntakeError(path, f"missing required column(s): {', '.join(missing)}")
    frame = frame.with_columns(pl.col(c).cast(pl.String).fill_null("") for c in frame.columns)
    unknown = frame.with_row_index("_row", offset=1).filter(~pl.col("decision").is_in(DECISIONS))
    if unknown.height:
        raise IntakeError(
            path,
            "decision must be disclose, refuse or review",
            row=int(unknown["_row"][0]),
            column="decision",
        )
    if frame["request_id"].is_duplicated().any():
        raise IntakeError(path, "duplicate request_id", column="request_id")
    return frame


def records_from_decision_files(pairs: Sequence[tuple[Path, Path]], period: int) -> pl.DataFrame:
    """Records from (letter, decision file) pairs whose letter is dated in `period`.

    Decision files carry no TIN; a `taxpayer_pseudonym` column, when present, is used
    to count distinct taxpayers, else each disclosure counts as one taxpayer."""
    frames = []
    for number, (letter_path, decisions_path) in enumerate(pairs, start=1):
        letter: Letter = read_letter(letter_path)
        if letter.date.year != period:
            continue
        frame = _read_decision_file(decisions_path)
        taxpayer = (
            pl.col("taxpayer_pseudonym")
            if "taxpayer_pseudonym" in frame.columns
            else pl.lit(f"batch{number}:") + pl.col("request_id")
        )
        frames.append(
            frame.select(
                pl.lit(letter.requesting_agency).alias("agency"),
                pl.lit(letter.statute).alias("statute"),
                pl.lit(letter.purpose).alias("purpose"),
                pl.lit(f"batch{number}").alias("batch_id"),
                "request_id",
                "decision",
                pl.col("reasons")
                .str.split(";")
                .list.eval(pl.element().str.strip_chars())
                .list.eval(pl.element().filter(pl.element() != "")),
                pl.when(pl.col("decision") == "disclose").then(taxpayer).otherwise(None).alias("taxpayer"),
            )
        )
    return pl.concat(frames) if frames else _empty_records()


def records_from_store(db: str | None, period: int) -> pl.DataFrame:
    """Records from the store, counted as the JCT report and the accounting count them
    (README: "Counting"): per letter and request file whose letter is dated in `period`,
    the requests of its latest batch whose response was released (batches never
    released, abandoned ones among them, are not counted), each with its latest
    decision, replaced by the latest review decision if a reviewer acted; a request
    disclosed by any released batch of the same files counts as one disclosure."""
    from sqlalchemy import select

    from ftigate.store.api import RELEASED_STATUSES, Store
    from ftigate.store.db import resolve_url
    from ftigate.store.models import Batch, DecisionRow, DisclosureRow, Review

    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise IntakeError(url.removeprefix("sqlite:///"), "no database here")
    store = Store.open(url, run_migrations=False)
    try:
        with store.snapshot() as conn:
            batches = conn.execute(
                select(
                    Batch.id, Batch.created_at, Batch.requesting_agency, Batch.letter_json,
                    Batch.status, Batch.files_key,
                ).order_by(Batch.created_at, Batch.id)
            ).all()  # fmt: skip
            decisions = conn.execute(
                select(
                    DecisionRow.id,
                    DecisionRow.batch_id,
                    DecisionRow.request_id,
                    DecisionRow.decision,
                    DecisionRow.reasons,
                    DecisionRow.taxpayer_pseudonym,
                )
            ).all()
            reviews = conn.execute(
                select(Review.id, Review.batch_id, Review.request_id, Review.decision, Review.reasons)
            ).all()
            disclosures = conn.execute(
                select(
                    DisclosureRow.batch_id, DisclosureRow.request_id, DisclosureRow.taxpayer_pseudonym
                ).order_by(DisclosureRow.id)
            ).all()
    finally:
        store.close()
    released = {row.id for row in batches if row.status in RELEASED_STATUSES}
    files_of = {row.id: row.files_key or row.id for row in batches}
    current: dict[str, str] = {}  # files -> their latest released batch
    for row in batches:
        if row.id in released:
            current[files_of[row.id]] = row.id
    letters = {
        row.id: (row.requesting_agency, row.letter_json or {})
        for row in batches
        if row.id in current.values() and str((row.letter_json or {}).get("date", ""))[:4] == str(period)
    }
    disclosed_to: dict[tuple[str, str], str] = {}
    for r in disclosures:
        if r.batch_id in released:
            disclosed_to.setdefault((files_of[r.batch_id], r.request_id), r.taxpayer_pseudonym)
    latest: dict[tuple[str, str], Any] = {}
    for row in sorted(decisions, key=lambda r: r.id):
        if row.batch_id in letters:
            latest[(row.batch_id, row.request_id)] = row
    # A reviewer's later decision replaces the one that sent the record to review.
    reviewed = {(r.batch_id, r.request_id): r for r in sorted(reviews, key=lambda r: r.id)}
    rows = []
    for (batch_id, request_id), row in latest.items():
        agency, letter = letters[batch_id]
        final = reviewed.get((batch_id, request_id), row)
        made = disclosed_to.get((files_of[batch_id], request_id))
        decision = "disclose" if made is not None else str(final.decision)
        rows.append(
            {
                "agency": agency,
                "statute": str(letter.get("statute", "")),
                "purpose": str(letter.get("purpose", "")),
                "batch_id": batch_id,
                "request_id": request_id,
                "decision": decision if decision in DECISIONS else "review",
                "reasons": [str(c) for c in (final.reasons or [])],
                "taxpayer": made or row.taxpayer_pseudonym if decision == "disclose" else None,
            }
        )
    return pl.DataFrame(rows, schema=_empty_records().schema) if rows else _empty_records()


# --- the tables ----------------------------------------------------------------------------------


@dataclass
class Tables:
    """Counts keyed by cell id, the equations between them, and what is hidden."""

    cells: dict[Cell, int] = field(default_factory=dict)
    lines: list[Line[Cell]] = field(default_factory=list)
    hidden: set[Cell] = field(default_factory=set)
    agencies: list[str] = field(default_factory=list)
    statutes: dict[str, list[str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    purposes: dict[str, list[str]] = field(default_factory=dict)


def build_tables(records: pl.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> Tables:
    """All published counts with their equations, then suppression. Pure."""
    t = Tables()
    t.agencies = sorted(records["agency"].unique().to_list())
    groups = [*t.agencies, ALL]

    def count(frame: pl.DataFrame, measure: str) -> int:
        if measure == "letters":
            return frame["batch_id"].n_unique()
        if measure == "records":
            return frame.height
        if measure == "taxpayers":
            return frame.filter(pl.col("decision") == "disclose")["taxpayer"].n_unique()
        decision = next(d for d, m in _DECISION_MEASURE.items() if m == measure)
        return frame.filter(pl.col("decision") == decision).height

    for agency in groups:
        subset = records if agency == ALL else records.filter(pl.col("agency") == agency)
        for measure in AGENCY_MEASURES:
            t.cells[("agency", agency, measure)] = count(subset, measure)
        t.lines.append(
            Line(
                tuple(("agency", agency, m) for m in ("disclosed", "refused", "review")),
                ("agency", agency, "records"),
            )
        )
        # Taxpayers never exceed disclosures and usually equal them: hide them together.
        t.lines.append(Line((("agency", agency, "taxpayers"), ("agency", agency, "disclosed"))))
        t.purposes[agency] = sorted(subset["purpose"].unique().to_list())
    for measure in AGENCY_MEASURES:
        if measure != "taxpayers":  # one taxpayer may be disclosed to two agencies: not additive
            t.lines.append(Line(tuple(("agency", a, measure) for a in t.agencies), ("agency", ALL, measure)))

    for agency in t.agencies:
        subset = records.filter(pl.col("agency") == agency)
        statutes = sorted(subset["statute"].unique().to_list())
        t.statutes[agency] = statutes
        for statute in statutes:
            part = subset.filter(pl.col("statute") == statute)
            for measure in STATUTE_MEASURES:
                t.cells[("statute", agency, statute, measure)] = count(part, measure)
            t.lines.append(
                Line(
                    tuple(("statute", agency, statute, m) for m in ("disclosed", "refused", "review")),
                    ("statute", agency, statute, "records"),
                )
            )
        for measure in STATUTE_MEASURES:
            t.lines.append(
                Line(tuple(("statute", agency, s, measure) for s in statutes), ("agency", agency, measure))
            )

    refused = records.filter(pl.col("decision") == "refuse").explode("reasons").drop_nulls("reasons")
    t.reasons = sorted(refused["reasons"].unique().to_list())
    for reason in t.reasons:
        for agency in groups:
            subset = refused if agency == ALL else refused.filter(pl.col("agency") == agency)
            t.cells[("reason", agency, reason)] = subset.filter(pl.col("reasons") == reason)[
                "request_id"
            ].len()
        t.lines.append(Line(tuple(("reason", a, reason) for a in t.agencies), ("reason", ALL, reason)))

    # Letters count an agency's own documents, not people: they are published as they are.
    people_cells = {cell: value for cell, value in t.cells.items() if cell[-1] != "letters"}
    people_lines = [line for line in t.lines if all(c[-1] != "letters" for c in line.members())]
    # Refused records citing a reason never exceed the records refused: a published reason
    # count would be a floor under a hidden refusal count.
    bounded: dict[Cell, list[Cell]] = {
        ("agency", agency, "refused"): [("reason", agency, reason) for reason in t.reasons]
        for agency in groups
    }
    t.hidden = suppress(people_cells, people_lines, threshold, bounded)
    return t


def shown(t: Tables, cell: Cell) -> str:
    return HIDDEN_SYMBOL if cell in t.hidden else f"{t.cells[cell]:,}"


def share(t: Tables, part: Cell, whole: Cell) -> str:
    """A percentage, published only when both counts are (else it would reveal the part)."""
    if part in t.hidden or whole in t.hidden:
        return HIDDEN_SYMBOL
    if t.cells[whole] == 0:
        return "–"
    return f"{100 * t.cells[part] / t.cells[whole]:.1f}%"


def long_rows(t: Tables) -> list[dict[str, str]]:
    """The machine-readable CSV: one row per published cell, hidden ones with no value."""
    rows = []
    for cell, value in sorted(t.cells.items(), key=lambda kv: repr(kv[0])):
        table = str(cell[0])
        agency = str(cell[1])
        statute = str(cell[2]) if table == "statute" else ""
        reason = str(cell[2]) if table == "reason" else ""
        measure = str(cell[-1]) if table != "reason" else "refused_citing_reason"
        hidden = cell in t.hidden
        rows.append(
            {
                "table": {
                    "agency": "by_agency",
                    "statute": "by_agency_statute",
                    "reason": "refusals_by_reason",
                }[table],
                "agency": agency,
                "statute": statute,
                "reason": reason,
                "measure": measure,
                "value": "" if hidden else str(value),
                "status": "suppressed" if hidden else "published",
            }
        )
    return rows


CSV_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "table",
            "type": "string",
            "constraints": {"enum": ["by_agency", "by_agency_statute", "refusals_by_reason"]},
        },
        {"name": "agency", "type": "string", "description": f"requesting agency, or '{ALL}'"},
        {"name": "statute", "type": "string", "description": "designated statute (by_agency_statute only)"},
        {"name": "reason", "type": "string", "description": "reason code (refusals_by_reason only)"},
        {
            "name": "measure",
            "type": "string",
            "constraints": {"enum": [*AGENCY_MEASURES, "refused_citing_reason"]},
        },
        {"name": "value", "type": "integer", "description": "the count; empty when suppressed"},
        {"name": "status", "type": "string", "constraints": {"enum": ["published", "suppressed"]}},
    ],
    "missingValues": [""],
}


def report_context(
    t: Tables, period: int, as_of: date, threshold: int, source: str, code_info: dict[str, dict[str, str]]
) -> dict[str, Any]:
    return {
        "period": period,
        "as_of": as_of.isoformat(),
        "threshold": threshold,
        "symbol": HIDDEN_SYMBOL,
        "source": source,
        "version": REPORT_VERSION,
        "t": t,
        "ALL": ALL,
        "shown": lambda cell: shown(t, cell),
        "share": lambda part, whole: share(t, part, whole),
        "code_info": code_info,
        "hidden_count": len(t.hidden),
    }


def write_transparency(
    records: pl.DataFrame,
    out: Path,
    *,
    period: int,
    as_of: date,
    threshold: int = DEFAULT_THRESHOLD,
    source: str,
    code_info: dict[str, dict[str, str]],
    provenance: dict[str, Any] | None = None,
    force: bool = False,
) -> list[Path]:
    """Write transparency-<period>.html, .csv and .schema.json into `out`, all at once
    (an OutputFolder: a new or empty folder, or with `force` ftigate's own earlier report)."""
    t = build_tables(records, threshold)
    stem = f"transparency-{period}"
    with OutputFolder(out, force=force, command="report transparency") as folder:
        folder.write_csv(
            f"{stem}.csv",
            pl.DataFrame(
                long_rows(t),
                schema=dict.fromkeys(
                    ("table", "agency", "statute", "reason", "measure", "value", "status"), pl.String
                ),
            ),
        )
        schema = {
            **CSV_SCHEMA,
            "title": f"ftigate transparency report {period}",
            "accurate_as_of": as_of.isoformat(),
            "suppression_threshold": threshold,
            "hidden_symbol_in_html": HIDDEN_SYMBOL,
            "provenance": provenance,
        }
        folder.write_text(f"{stem}.schema.json", json.dumps(schema, indent=2) + "\n")
        html = render_template(
            "transparency.html",
            **report_context(t, period, as_of, threshold, source, code_info),
            provenance=provenance,
        )
        folder.write_text(f"{stem}.html", html)
        folder.prepare()
        return folder.commit()
