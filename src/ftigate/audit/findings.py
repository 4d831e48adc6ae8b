"""Per-disclosure findings and the batch summary: pure functions over frames.

A disclosure is lawful only if no finding with a refusal effect applies to it:

* screening codes whose rule effect is `refuse` (the statute's elements missing from
  the request, record by record; letter codes such as an unauthorised signer apply
  to every record);
* with a reference file, the identity findings of `ftigate.audit.identity`
  (WRONG_PERSON_DISCLOSED, AMBIGUOUS_IDENTITY, ADDRESS_NOT_CORROBORATED). A disclosure
  already made without a unique, corroborated identification cannot be sent to review
  after the fact, so AMBIGUOUS_IDENTITY counts against it here although screening
  treats it as a review outcome.

IDENTITY_NOT_ESTABLISHED (the audit could not establish the identity, and has no
evidence that it was someone else) is a note with its own count unless the policy's
`audit_unestablished_effect` is `refuse`; then it counts after AMBIGUOUS_IDENTITY.

Screening codes with a `review` or `warn` effect (for example
LETTER_OFFICERS_IMPLAUSIBLE or REASON_BOILERPLATE) raise questions an auditor cannot
settle from the files alone; they are reported as `notes` and as batch-level
findings, never silently counted as unlawful.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from ftigate.law.loader import Law
from ftigate.law.model import Effect

AUTHORITY = "26 U.S.C. 6103(i)(2)"
NOT_ESTABLISHED = "IDENTITY_NOT_ESTABLISHED"
NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
FINDINGS_COLUMNS = ("request_id", "lawful", "reasons", "citations", "primary_reason", "notes")


@dataclass(frozen=True)
class BatchFacts:
    """What the letter and request file say about the batch as a whole."""

    requesting_agency: str
    signer_title: str
    statute: str
    letter_date: str
    officers_named: int
    records: int
    max_cases_one_officer: int
    cases_per_officer_ceiling: int
    letter_codes: tuple[str, ...]
    letter_warnings: tuple[str, ...]


def split_screening(screening: pl.DataFrame, law: Law) -> pl.DataFrame:
    """request_id, `refusals` (codes that refuse, as `ftigate.law.outcome` reads them: an
    undeclared code refuses) and `questions` (the rest)."""
    effects = law.effects()
    not_refusing = sorted(code for code, effect in effects.items() if effect != Effect.REFUSE)
    in_refusing = ~pl.element().is_in(not_refusing)
    return screening.select(
        "request_id",
        pl.col("reasons").list.eval(pl.element().filter(in_refusing)).alias("refusals"),
        pl.concat_list(
            pl.col("reasons").list.eval(pl.element().filter(~in_refusing)),
            pl.col("warnings"),
        ).alias("questions"),
    )


def combine(
    disclosures: pl.DataFrame,
    screening: pl.DataFrame,
    identity: pl.DataFrame | None,
    law: Law,
) -> pl.DataFrame:
    """One row per disclosure, in the disclosure file's order (see FINDINGS_COLUMNS)."""
    frame = disclosures.select("request_id").join(
        split_screening(screening, law), on="request_id", how="left"
    )
    if identity is not None:
        frame = frame.join(identity, on="request_id", how="left")
        if "identity_notes" not in frame.columns:
            frame = frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("identity_notes"))
        if "unestablished" in frame.columns:
            frame = _place_unestablished(frame, law)
    else:
        frame = frame.with_columns(
            pl.lit([], dtype=pl.List(pl.String)).alias("identity_reasons"),
            pl.lit([], dtype=pl.List(pl.String)).alias("identity_notes"),
        )
    reasons = pl.concat_list(
        pl.col("refusals").fill_null([]), pl.col("identity_reasons").fill_null([])
    ).list.unique(maintain_order=True)
    citation_of = {code: rc.citation for code, rc in law.codes.items()}
    frame = frame.with_columns(
        reasons.alias("reasons"),
        pl.concat_list(pl.col("questions").fill_null([]), pl.col("identity_notes").fill_null([]))
        .list.unique(maintain_order=True)
        .alias("questions"),
    )
    return frame.select(
        "request_id",
        (pl.col("reasons").list.len() == 0).alias("lawful"),
        "reasons",
        pl.when(pl.col("reasons").list.len() == 0)
        .then(pl.lit([AUTHORITY]))
        .otherwise(
            pl.col("reasons")
            .list.eval(pl.element().replace_strict(citation_of, default=AUTHORITY))
            .list.unique(maintain_order=True)
        )
        .alias("citations"),
        pl.col("reasons").list.first().alias("primary_reason"),
        pl.col("questions").alias("notes"),
    )


def _place_unestablished(frame: pl.DataFrame, law: Law) -> pl.DataFrame:
    """IDENTITY_NOT_ESTABLISHED among the reasons (after AMBIGUOUS_IDENTITY, before
    ADDRESS_NOT_CORROBORATED) when the policy counts it, else among the notes."""
    flagged = pl.col("unestablished").fill_null(False)
    if law.parameters.audit_unestablished_effect == Effect.REFUSE:
        reasons = pl.col("identity_reasons").fill_null([])
        corroboration = pl.lit(NOT_CORROBORATED)
        placed = pl.concat_list(
            reasons.list.eval(pl.element().filter(pl.element() != NOT_CORROBORATED)),
            pl.when(flagged).then(pl.lit([NOT_ESTABLISHED])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(reasons.list.contains(corroboration))
            .then(pl.lit([NOT_CORROBORATED]))
            .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        )
        return frame.with_columns(placed.alias("identity_reasons")).drop("unestablished")
    notes = pl.concat_list(
        pl.col("identity_notes").fill_null([]),
        pl.when(flagged).then(pl.lit([NOT_ESTABLISHED])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    return frame.with_columns(notes.alias("identity_notes")).drop("unestablished")


def unestablished_count(findings: pl.DataFrame) -> int:
    """Disclosures with IDENTITY_NOT_ESTABLISHED, as a reason or as a note."""
    return int(
        (
            findings["reasons"].list.contains(NOT_ESTABLISHED)
            | findings["notes"].list.contains(NOT_ESTABLISHED)
        ).sum()
    )


def as_csv_frame(findings: pl.DataFrame) -> pl.DataFrame:
    """Codes as `;`-separated text, citations as ` | `-separated text (a citation may
    itself contain a semicolon), booleans as true/false: the layout of findings.csv."""
    return findings.select(
        "request_id",
        pl.when(pl.col("lawful")).then(pl.lit("true")).otherwise(pl.lit("false")).alias("lawful"),
        pl.col("reasons").list.join(";"),
        pl.col("citations").list.join(" | "),
        pl.col("primary_reason").fill_null(""),
        pl.col("notes").list.join(";"),
    )


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def reason_table(findings: pl.DataFrame, law: Law) -> dict[str, Any]:
    """Unlawful disclosures by reason: every reason (a disclosure may have several) and
    the primary reason (the first, so the counts add up to the unlawful total)."""
    unlawful = findings.filter(~pl.col("lawful"))
    total = unlawful.height
    every: Counter[str] = Counter(code for codes in unlawful["reasons"].to_list() for code in codes)
    primary: Counter[str] = Counter(str(c) for c in unlawful["primary_reason"].to_list())

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        return [
            {
                "code": code,
                "count": count,
                "share_of_unlawful": _share(count, total),
                "citation": law.codes[code].citation if code in law.codes else AUTHORITY,
                "message": law.codes[code].message if code in law.codes else "",
            }
            for code, count in ordered
        ]

    return {"by_primary_reason": rows(primary), "by_any_reason": rows(every)}


def batch_findings(facts: BatchFacts, law: Law) -> list[dict[str, Any]]:
    """The letter-level questions a court asks: who signed, under what statute, and could
    the officers named plausibly be personally engaged in this many investigations."""
    codes = set(facts.letter_codes)
    per_officer = facts.records / facts.officers_named if facts.officers_named else float(facts.records)

    def item(element: str, observed: str, code: str | None) -> dict[str, Any]:
        failed = code is not None and code in codes
        entry: dict[str, Any] = {"element": element, "observed": observed, "finding": "ok"}
        if failed and code is not None:
            rc = law.codes[code]
            entry |= {
                "finding": "unlawful" if rc.effect == Effect.REFUSE else "question",
                "code": code,
                "citation": rc.citation,
                "message": rc.message,
            }
        return entry

    statute_code = next(
        (c for c in ("LETTER_STATUTE_TAX", "LETTER_STATUTE_NOT_CRIMINAL") if c in codes), None
    )
    return [
        item("signer (L1)", f"signed as: {facts.signer_title}", "LETTER_SIGNER_NOT_AUTHORIZED"),
        item("statute (L2)", f"designated statute: {facts.statute}", statute_code),
        item(
            "officers personally and directly engaged (L3)",
            f"{facts.officers_named} officer(s) named for {facts.records:,} records "
            f"({per_officer:,.0f} per officer; most distinct cases carried by one officer: "
            f"{facts.max_cases_one_officer:,}; ceiling {facts.cases_per_officer_ceiling})",
            "LETTER_OFFICERS_IMPLAUSIBLE",
        ),
        item(
            "recipient safeguards (L4)",
            f"requesting agency: {facts.requesting_agency}",
            "LETTER_RECIPIENT_SAFEGUARDS",
        ),
    ]


def damages_estimate(unlawful: int, law: Law) -> dict[str, Any]:
    """The 7431(c) floor times the count, at the figure in force on the letter's date."""
    per_act = law.parameters.damages_per_act_usd
    entry = law.in_force(law.as_of)["damages_per_act_usd"]
    return {
        "unlawful_disclosures": unlawful,
        "per_act_usd": per_act,
        "statutory_minimum_usd": unlawful * per_act,
        "law_as_of": law.as_of.isoformat(),
        "in_force_since": entry.since.isoformat() if entry.since else None,
        "citation": entry.reference.citation if entry.reference else f"policy {entry.origin}",
        "label": "estimate",
        "note": (
            f"26 U.S.C. 7431(c): the greater of ${per_act:,} for each act of unauthorized disclosure "
            "or the taxpayer's actual damages (plus punitive damages for a wilful or grossly "
            f"negligent disclosure, and costs). This is a count times ${per_act:,}, not a finding of "
            "liability: under 7431(b) there is no liability for a disclosure that results from "
            "a good-faith but erroneous interpretation of section 6103, and each claim is "
            "brought by the taxpayer concerned within the limitation period of 7431(d)."
        ),
    }


def route_table(disclosures: pl.DataFrame, findings: pl.DataFrame) -> list[dict[str, Any]]:
    """Lawful and unlawful counts per route, when the disclosure file names a route."""
    if "route" not in disclosures.columns:
        return []
    joined = disclosures.select("request_id", pl.col("route").cast(pl.String).fill_null("")).join(
        findings.select("request_id", "lawful"), on="request_id"
    )
    grouped = (
        joined.group_by("route")
        .agg(pl.len().alias("disclosures"), (~pl.col("lawful")).sum().alias("unlawful"))
        .sort("route")
    )
    return [
        {
            "route": row["route"] or "(blank)",
            "disclosures": int(row["disclosures"]),
            "unlawful": int(row["unlawful"]),
            "share_unlawful": _share(int(row["unlawful"]), int(row["disclosures"])),
        }
        for row in grouped.iter_rows(named=True)
    ]
