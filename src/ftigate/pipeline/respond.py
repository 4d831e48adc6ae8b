"""Respond: the four outputs of a batch assembled from its screening and identity
decisions, summarised, and written into the output folder as one set.

Outputs (DESIGN.md section 4):
  decisions.csv         request_id, decision, reasons, match_probability, model_version,
                        street, unit, city, state, zip (the address only where disclosed)
  response.csv          the disclosed rows only: request_id and the address
  explanations.parquet  internal: per resolved request, the candidates considered, their
                        per-field match weights and levels, and the gate that decided
  summary.json          counts by decision and reason, the model's own estimate of wrong
                        disclosures, thresholds, model version, the rules that decided
                        (`rules`: law, policy, thresholds and model digests) and stage timings
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ftigate.decide.gates import DISCLOSE, REFUSE, REVIEW, Thresholds
from ftigate.outputs import OutputFolder
from ftigate.pipeline.decide import IdentityDecisions
from ftigate.resolve.model import FIELDS, ModelArtefact
from ftigate.resolve.reference import DISCLOSED_COLUMNS

DECISION_COLUMNS = (
    "request_id",
    "decision",
    "reasons",
    "match_probability",
    "model_version",
    *DISCLOSED_COLUMNS,
)
RESPONSE_COLUMNS = ("request_id", *DISCLOSED_COLUMNS)
EXPLAINED_CANDIDATES = 5
OUTPUT_FILES = ("decisions.csv", "response.csv", "explanations.parquet", "summary.json")


@dataclass
class ProcessResult:
    summary: dict[str, Any]
    decisions: pl.DataFrame = field(repr=False)
    disclosures: pl.DataFrame = field(repr=False)
    explanations: pl.DataFrame = field(repr=False)
    inspected: pl.DataFrame = field(repr=False)
    """request_id, tin of every taxpayer record inspected (a candidate scored)"""


@dataclass(frozen=True)
class Assembled:
    decisions: pl.DataFrame
    disclosures: pl.DataFrame
    explanations: pl.DataFrame
    inspected: pl.DataFrame


def assemble(screened: pl.DataFrame, decided: IdentityDecisions, model_version: str) -> Assembled:
    """One decision per request in the request file's order (screening's rows are in it),
    the response's rows, the explanations and who was inspected."""
    identity, candidates = decided.identity, decided.candidates
    screen_rows = screened.filter(pl.col("outcome") != "pass").select(
        "request_id",
        pl.when(pl.col("outcome") == "review")
        .then(pl.lit(REVIEW))
        .otherwise(pl.lit(REFUSE))
        .alias("decision"),
        pl.col("reasons"),
        pl.lit(None, dtype=pl.Float64).alias("match_probability"),
        pl.lit(None, dtype=pl.String).alias("model_version"),
    )
    identity_rows = identity.select(
        "request_id",
        "decision",
        "reasons",
        "match_probability",
        pl.lit(model_version).alias("model_version"),
    )
    address = decided.disclosed.select("request_id", *DISCLOSED_COLUMNS)
    decisions = (
        pl.concat([screen_rows, identity_rows], how="vertical_relaxed")
        .join(address, on="request_id", how="left")
        .join(
            screened.select("request_id", pl.int_range(pl.len()).alias("_order")), on="request_id", how="left"
        )
        .sort("_order")
        .drop("_order")
        .select(DECISION_COLUMNS)
    )
    disclosures = decisions.filter(pl.col("decision") == DISCLOSE).select(RESPONSE_COLUMNS)

    # Ranked as the gates ranked them (ties broken by TIN), so the explanation shows what decided.
    top = candidates.with_columns(candidate_rank=pl.col("rank") + 1)
    explanations = (
        identity.select(
            "request_id", "decision", "gate", "reasons", "address_tolerances",
            pl.col("tin").alias("chosen_tin"),
        )
        .join(top.filter(pl.col("candidate_rank") <= EXPLAINED_CANDIDATES), on="request_id", how="left")
        .with_columns(model_version=pl.lit(model_version))
        .select(
            "request_id", "decision", "gate", "reasons", "model_version", "candidate_rank",
            pl.col("tin").alias("candidate_tin"), "match_weight", "match_probability",
            *[f"w_{f}" for f in FIELDS], *[f"gamma_{f}" for f in FIELDS],
            ((pl.col("decision") == DISCLOSE) & (pl.col("tin") == pl.col("chosen_tin")))
            .fill_null(False)
            .alias("chosen"),
            # the corroboration tolerances the best candidate's address needed (empty: the
            # address on file in standard form; null: not corroborated)
            pl.when(pl.col("tin") == pl.col("chosen_tin")).then(pl.col("address_tolerances")).alias(
                "address_tolerances"
            ),
        )
    )  # fmt: skip
    inspected = candidates.select("request_id", "tin").unique()
    return Assembled(decisions, disclosures, explanations, inspected)


def summarise(
    decisions: pl.DataFrame,
    identity: pl.DataFrame,
    screen: dict[str, Any],
    artefact: ModelArtefact,
    thresholds: Thresholds,
    timings: dict[str, float],
) -> dict[str, Any]:
    by_decision = {d: 0 for d in (DISCLOSE, REFUSE, REVIEW)}
    for row in decisions.group_by("decision").len().iter_rows():
        by_decision[str(row[0])] = int(row[1])
    reasons = (
        decisions.select(pl.col("reasons").explode().drop_nulls())
        .group_by("reasons")
        .len()
        .sort(["len", "reasons"], descending=[True, False])
    )
    by_reason_decision = (
        decisions.select("decision", "reasons")
        .explode("reasons")
        .drop_nulls()
        .group_by("decision", "reasons")
        .len()
        .sort(["decision", "len"], descending=[False, True])
    )
    disclosed_p = identity.filter(pl.col("decision") == DISCLOSE)["match_probability"]
    expected_wrong = float((1.0 - disclosed_p).sum()) if disclosed_p.len() else 0.0
    return {
        "records": decisions.height,
        "decisions": by_decision,
        "reasons": {str(r): int(n) for r, n in reasons.iter_rows()},
        "reasons_by_decision": {
            d: {str(r): int(n) for dd, r, n in by_reason_decision.iter_rows() if dd == d}
            for d in (REFUSE, REVIEW)
        },
        "expected_wrong_disclosures": round(expected_wrong, 6),
        "model_version": artefact.version,
        "model": {
            k: artefact.metadata.get(k) for k in ("name", "splink_version", "trained_at", "training_data")
        },
        "thresholds": thresholds.as_dict(),
        "screen": screen,
        "timings_seconds": timings,
    }


def stage_outputs(result: ProcessResult, folder: OutputFolder) -> None:
    """Write the four outputs into an open output folder's staging area (not yet in place).

    For callers that record between writing and committing:

        with OutputFolder(out, force=force, command="process") as folder:
            stage_outputs(result, folder)
            digests = folder.prepare()   # digests["response.csv"]: the bytes sent
            ...record...
            folder.commit()
    """
    folder.write_csv("decisions.csv", _csv(result.decisions))
    folder.write_csv("response.csv", result.disclosures)
    folder.write_parquet("explanations.parquet", result.explanations)
    folder.write_text("summary.json", json.dumps(result.summary, indent=2, sort_keys=True) + "\n")


def write_outputs(result: ProcessResult, out: Path, *, force: bool = False) -> list[Path]:
    """Write the four outputs into `out` as one set (`ftigate.outputs.OutputFolder`: a new or
    empty folder, or with `force` one holding only ftigate's own earlier outputs)."""
    with OutputFolder(out, force=force, command="process") as folder:
        stage_outputs(result, folder)
        folder.prepare()
        return folder.commit()


def _csv(decisions: pl.DataFrame) -> pl.DataFrame:
    return decisions.with_columns(
        pl.col("reasons").list.join(";"),
        pl.col("match_probability").round(6),
    )
