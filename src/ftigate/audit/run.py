"""Audit a past batch: read the files, screen the requests, weigh identity, summarise.

I/O lives here and in the CLI; the judgements are the pure functions of
`ftigate.audit.findings` and `ftigate.audit.identity`. Writing the outputs (and
making them appear all at once) is `ftigate.report.audit_report`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ftigate.audit.findings import (
    BatchFacts,
    as_csv_frame,
    batch_findings,
    combine,
    damages_estimate,
    reason_table,
    route_table,
    unestablished_count,
)
from ftigate.audit.identity import IDENTITY_CODES, identity_findings
from ftigate.audit.reference import DISCLOSED_ADDRESS, read_reference, read_requests
from ftigate.decide.record import RESPONSE_FILE
from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter, read_letter
from ftigate.intake.requests import ReadOptions
from ftigate.law.loader import Law
from ftigate.law.model import Effect
from ftigate.outputs import MANIFEST, STAGING_PREFIX, restore, settle_output_folder
from ftigate.pipeline.provenance import policy_facts, provenance
from ftigate.screen.letter import normalise_officer
from ftigate.screen.run import screen_files

EXAMPLES_PER_CATEGORY = 3
DISCLOSED_REQUIRED = ("request_id", "street", "city", "state", "zip")

ExamplePseudonym = Callable[[str], str]
"""request_id -> the pseudonym the report shows. The hook for examples pseudonymised with
the ledger's key (so that a court can tie them to findings.csv under seal); by default a
keyed hash of the request id under the example key."""

# Which policy settings each letter-level element reads: a finding of "no finding" under
# an overridden setting is reported as such.
ELEMENT_SETTINGS = {
    "signer (L1)": ("officials",),
    "statute (L2)": ("statutes",),
    "officers personally and directly engaged (L3)": ("cases_per_officer_ceiling",),
    "recipient safeguards (L4)": ("agencies_with_unresolved_safeguard_findings",),
}


@dataclass(frozen=True)
class AuditResult:
    findings: pl.DataFrame
    summary: dict[str, Any]
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def findings_csv(self) -> pl.DataFrame:
        return as_csv_frame(self.findings)


# --- reading the disclosure file --------------------------------------------------------------


def disclosed_file(path: Path) -> Path:
    """The disclosure file `--disclosed` names: the file itself, or, given a folder (the
    `--out` of `ftigate process`), the response.csv in it.

    A folder ftigate wrote (its manifest, or a staging folder, is there) is settled first,
    as `process` and the service settle theirs (`ftigate.outputs.settle_output_folder`): a
    commit a kill interrupted is completed, so the audit reads the response of one whole
    set of files, never the earlier run's or none. Any other folder is read as it is and
    nothing in it touched."""
    folder = path if path.is_dir() and not path.is_symlink() else path.parent
    if _holds_ftigate_outputs(folder):
        settle_output_folder(folder)
    if folder is not path:
        return path
    response = path / RESPONSE_FILE
    if not response.is_file():
        raise IntakeError(
            path,
            f"holds no {RESPONSE_FILE}; give the disclosure file, or the --out folder of `ftigate process`",
        )
    return response


def _holds_ftigate_outputs(folder: Path) -> bool:
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return False  # a folder that cannot be listed: the file is refused when it is read
    return MANIFEST in names or any(name.startswith(STAGING_PREFIX) for name in names)


def read_disclosures(path: Path, request_ids: pl.Series) -> pl.DataFrame:
    """The disclosure file as String columns; refuses what an audit cannot rest on.

    Messages name the file, a row and a count, never a value (ids and addresses may
    identify taxpayers)."""
    if not path.exists():
        raise IntakeError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            # A response ftigate wrote has formula-like cells quoted (ftigate.outputs.safecsv):
            # read back as the values they stand for, so they match the request file.
            frame = restore(pl.read_csv(path, infer_schema=False, encoding="utf8"))
        else:
            raise IntakeError(path, "the disclosure file must be .csv or .parquet")
    except IntakeError:
        raise
    except Exception:  # polars raises many types for a file it cannot parse
        raise IntakeError(path, "cannot read the disclosure file") from None
    frame = frame.rename({c: re.sub(r"\W+", "_", c.strip().lower()).strip("_") for c in frame.columns})
    missing = [c for c in DISCLOSED_REQUIRED if c not in frame.columns]
    if missing:
        raise IntakeError(path, f"missing required column(s): {', '.join(missing)}")
    if "unit" not in frame.columns:
        frame = frame.with_columns(unit=pl.lit(""))
    frame = frame.with_columns(
        pl.col(c).cast(pl.String).fill_null("").str.strip_chars() for c in frame.columns
    )
    frame = frame.with_row_index("_row", offset=1)
    blank = frame.filter(pl.col("request_id") == "")
    if blank.height:
        raise IntakeError(path, "empty request_id", row=int(blank["_row"][0]), column="request_id")
    duplicated = frame.filter(pl.col("request_id").is_duplicated())
    if duplicated.height:
        raise IntakeError(
            path,
            f"{duplicated['request_id'].n_unique()} request_id(s) appear more than once; "
            "each disclosure must be one row",
            row=int(duplicated["_row"][0]),
            column="request_id",
        )
    unknown = frame.filter(~pl.col("request_id").is_in(request_ids.implode()))
    if unknown.height:
        raise IntakeError(
            path,
            f"{unknown.height} request_id(s) are not in the request file",
            row=int(unknown["_row"][0]),
            column="request_id",
        )
    return frame.drop("_row")


# --- batch facts -------------------------------------------------------------------------------


def batch_facts(
    letter: Letter, requests: pl.DataFrame, letter_codes: list[str], letter_warnings: list[str], law: Law
) -> BatchFacts:
    officers = requests.select(
        pl.col("officer").map_elements(normalise_officer, return_dtype=pl.String).alias("officer"),
        pl.col("case_number"),
    ).filter(pl.col("officer") != "")
    per_officer = officers.group_by("officer").agg(pl.col("case_number").n_unique().alias("cases"))
    most = int(per_officer["cases"].max() or 0) if per_officer.height else 0  # type: ignore[arg-type]
    return BatchFacts(
        requesting_agency=letter.requesting_agency,
        signer_title=letter.signer.title,
        statute=letter.statute,
        letter_date=letter.date.isoformat(),
        officers_named=len([o for o in letter.officers if o.strip()]),
        records=requests.height,
        max_cases_one_officer=most,
        cases_per_officer_ceiling=law.parameters.cases_per_officer_ceiling,
        letter_codes=tuple(letter_codes),
        letter_warnings=tuple(letter_warnings),
    )


# --- examples ----------------------------------------------------------------------------------


def address_shape(text: str, limit: int = 40) -> str:
    """The shape of an address field with its content hidden: letters as 'x', digits as '9'."""
    masked = re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "x", text))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def pseudonym(key: bytes, request_id: str) -> str:
    return (
        "P-"
        + hmac.new(key, b"ftigate-audit-example\n" + request_id.encode("utf-8"), hashlib.sha256).hexdigest()[
            :12
        ]
    )


def pick_examples(
    findings: pl.DataFrame,
    requests: pl.DataFrame,
    disclosures: pl.DataFrame,
    key: bytes,
    pseudonymise: ExamplePseudonym | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Up to EXAMPLES_PER_CATEGORY pseudonymised examples per primary reason (and lawful).

    The pick is the lowest pseudonyms in each category: deterministic for one key and
    independent of file order. Requested addresses are shown only as shapes."""
    requested = requests.select(
        "request_id",
        pl.concat_str(["street", "unit", "city", "state", "zip"], separator=" ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .alias("requested"),
    )
    route = disclosures.select(
        "request_id", (pl.col("route") if "route" in disclosures.columns else pl.lit("")).alias("route")
    )
    joined = findings.join(requested, on="request_id", how="left").join(route, on="request_id", how="left")
    joined = joined.with_columns(
        pl.col("request_id")
        .map_elements(pseudonymise or (lambda rid: pseudonym(key, rid)), return_dtype=pl.String)
        .alias("pseudonym"),
        pl.col("primary_reason").fill_null("LAWFUL").alias("category"),
    )
    out: dict[str, list[dict[str, str]]] = {}
    for (category,), group in joined.sort("pseudonym").group_by(["category"], maintain_order=True):
        rows = group.head(EXAMPLES_PER_CATEGORY)
        out[str(category)] = [
            {
                "pseudonym": str(r["pseudonym"]),
                "route": str(r["route"] or ""),
                "reasons": ";".join(r["reasons"]) or "(none)",
                "requested_address_shape": address_shape(str(r["requested"] or "")) or "(blank)",
            }
            for r in rows.iter_rows(named=True)
        ]
    return dict(sorted(out.items()))


def mark_overrides(items: list[dict[str, Any]], policy: dict[str, Any]) -> list[dict[str, Any]]:
    """Each letter-level finding made under an overridden setting says so (a lifted
    ceiling gives "no finding" because of the override, not because the letter passed)."""
    overridden = {o["setting"]: o for o in policy.get("overrides", [])}
    marked = []
    for item in items:
        hits = [overridden[name] for name in ELEMENT_SETTINGS.get(item["element"], ()) if name in overridden]
        if hits:
            who = f" ({policy['note']})" if policy.get("note") else ""
            item = {
                **item,
                "policy_override": "; ".join(
                    f"{o['setting']} set to {o['in_force']} instead of {o['shipped']}{who}" for o in hits
                ),
            }
        marked.append(item)
    return marked


# --- the audit -----------------------------------------------------------------------------------


def method_text(with_reference: bool) -> list[str]:
    steps = [
        "Read the letter, the request file and the disclosure file. Every request id in the "
        "disclosure file must appear once and only once, and must be in the request file.",
        "Screened every request in the request file with ftigate's screening rules (the same "
        "rules, citations and parameters as `ftigate screen`): the letter against 6103(i)(2)(A) "
        "(signer, statute, officers, recipient safeguards) and each record against "
        "6103(i)(2)(B) (name, address, taxable period, statutory authority, specific reason).",
        "A screening code whose rule effect is 'refuse' makes a disclosure unlawful. Codes "
        "with a 'review' or 'warn' effect (for example too many investigations per named "
        "officer, or one boilerplate reason on many records) are questions the files cannot "
        "settle; they are reported as notes and batch-level findings, not counted as unlawful.",
    ]
    if with_reference:
        steps += [
            "Identity, against the taxpayer reference (its taxpayers and addresses tables only, "
            "CSV or Parquet, read as `ftigate process` reads them). Addresses are compared in "
            "USPS Publication 28 standard form, by the same rule the disclosure gate uses "
            '("6241 Maple Street" is "6241 MAPLE ST"; a misspelt or run-together street '
            "name, a different suffix or directional, or a ZIP one keystroke off is still the "
            "address; a different house number or unit never is; a unit left out counts only "
            "with a TIN or date of birth that agrees). The last known address of a taxpayer is "
            "the address on their newest return filed under their own name (a 1040 before an "
            "information return on a tie; never a W-2 filed under the TIN in another name).",
            "The released persons are the taxpayers whose last known address is the address "
            "disclosed. Candidates are the released persons, the taxpayers carrying the "
            "request's TIN (or prior ITIN), and those with the requested address on file "
            "under their own name in any tax year. A candidate is excluded, on positive "
            "evidence that the request is about someone else, when the given names conflict "
            "(not the same, not one keying slip apart, not nicknames of one another, not an "
            "initial of the other), when the dates of birth conflict (more than a keying "
            "slip), when the surnames conflict, or when the request's TIN belongs to another "
            "taxpayer who is not excluded; a TIN that agrees never excuses a conflicting given "
            "name, but a TIN and a full date of birth that both agree keep a conflicting name "
            "from excluding (a nickname the list lacks, a changed surname) without making a "
            "fit. A candidate not excluded, whose given name does not conflict, fits at an "
            "evidence score of 2 or more: TIN +2 (one slip +1), date "
            "of birth +2 (a slip +1), requested address on file +1, same given name +1 (a slip, "
            "a nickname or an initial +0.5).",
            "WRONG_PERSON_DISCLOSED: every taxpayer whose last known address was released is "
            "excluded, or the address released is no taxpayer's last known address: positive "
            "evidence that someone else's address went out. AMBIGUOUS_IDENTITY: two or more "
            "taxpayers fit equally well and do not all have the released address as their last "
            "known address (a disclosure already made cannot be sent to review; when they all "
            "do, the same address went out whichever was meant, and this is a note). "
            "IDENTITY_NOT_ESTABLISHED: nothing excludes the released person, but no released "
            "person fits the request as well as any other taxpayer does; the audit could not "
            "establish the identity, which is not evidence of a wrong person (reported with its "
            "count; counted as unlawful only under the policy setting audit_unestablished_effect). "
            "ADDRESS_NOT_CORROBORATED: the requested address is not on file for any released "
            "person who is not excluded (the court's test: a name and TIN agreeing, with a "
            "ZIP-shaped address field, does not identify the person).",
        ]
    else:
        steps.append(
            "No taxpayer reference was given, so identity was not checked: a disclosure is "
            "counted lawful here when the request was statutorily sufficient, which is "
            "necessary but not sufficient."
        )
    steps.append(
        "Each unlawful disclosure has one primary reason (its first: screening codes, then "
        "WRONG_PERSON_DISCLOSED, AMBIGUOUS_IDENTITY, IDENTITY_NOT_ESTABLISHED when counted, "
        "ADDRESS_NOT_CORROBORATED) so that "
        "counts by primary reason add up to the total; counts by any reason are also given."
    )
    return steps


AUDIT_MODEL_NOTE = (
    "the audit uses no match model and no disclosure thresholds: it judges identity by the law's "
    "audit_evidence_weights, which the law digest covers"
)


def audit_batch(
    letter_path: Path,
    requests_path: Path,
    disclosed_path: Path,
    law: Law,
    *,
    reference_path: Path | None = None,
    example_key: bytes,
    key_note: str,
    workers: int | None = None,
    policy_file: Path | None = None,
    policy_note: str | None = None,
    pseudonymise: ExamplePseudonym | None = None,
    read: ReadOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditResult:
    """Judge every disclosure in `disclosed_path`. Raises IntakeError on bad input.

    `policy_file` and `policy_note` say where `law`'s policy came from (its digest and who
    overrode what go into the summary); `pseudonymise` replaces the examples' keyed hash."""
    letter = read_letter(letter_path)
    # A past batch is judged under the law as it stood on its letter's date.
    law = law.at(letter.date)
    requests = read_requests(requests_path, read)
    disclosed_path = disclosed_file(disclosed_path)
    disclosures = read_disclosures(disclosed_path, requests["request_id"])
    work = Path(tempfile.mkdtemp(prefix="ftigate-audit-"))
    try:
        screen_summary = screen_files(
            letter, requests_path, work / "screening.parquet", law,
            read=read, workers=workers, progress=progress,
        )  # fmt: skip
        screening = pl.read_parquet(work / "screening.parquet")
    finally:
        # `work` is this audit's own mkdtemp folder (the screening output), never a user path.
        shutil.rmtree(work, ignore_errors=True)
    reference = read_reference(reference_path) if reference_path is not None else None
    identity = (
        identity_findings(
            disclosures.select("request_id", *DISCLOSED_ADDRESS),
            requests,
            reference,
            law.parameters.audit_evidence_weights,
        )
        if reference is not None
        else None
    )
    findings = combine(disclosures, screening, identity, law)
    facts = batch_facts(letter, requests, screen_summary.letter_codes, screen_summary.letter_warnings, law)
    unlawful = int((~findings["lawful"]).sum())
    policy = policy_facts(law, policy_file, note=policy_note)
    inputs = {
        "letter": letter_path,
        "requests": requests_path,
        "disclosed": disclosed_path,
        "reference": reference_path,
    }
    summary: dict[str, Any] = {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "provenance": {**provenance(inputs, policy), "model": None, "model_note": AUDIT_MODEL_NOTE},
        "totals": {
            "requests": requests.height,
            "disclosures": findings.height,
            "lawful": findings.height - unlawful,
            "unlawful": unlawful,
            "share_unlawful": round(unlawful / findings.height, 4) if findings.height else 0.0,
        },
        "identity_checked": reference is not None,
        **reason_table(findings, law),
        "by_route": route_table(disclosures, findings),
        "batch_findings": mark_overrides(batch_findings(facts, law), policy),
        "notes": dict(
            sorted(
                pl.Series(findings["notes"].explode().drop_nulls()).value_counts().iter_rows(),
                key=lambda kv: (-kv[1], kv[0]),
            )
        )
        if findings.height
        else {},
        "damages_7431": damages_estimate(unlawful, law),
        "identity_codes": list(IDENTITY_CODES),
        "identity_not_established": {
            "disclosures": unestablished_count(findings),
            "counted_as_unlawful": law.parameters.audit_unestablished_effect == Effect.REFUSE,
        },
        "method": method_text(reference is not None),
        "examples_key": key_note,
    }
    examples = pick_examples(findings, requests, disclosures, example_key, pseudonymise)
    return AuditResult(findings=findings, summary=summary, examples=examples)
