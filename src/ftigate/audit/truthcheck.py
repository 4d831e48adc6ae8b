"""Measuring the audit against synthetic ground truth (`truth.parquet` of `ftigate synth
requests`). For tests and benchmarks only: a real audit has no truth file.

The truth file says, per request, who the request is really about (`true_tin`, NULL for a
person not in the file) and whether a disclosure would be lawful (`lawful_disclosure`:
the record is sufficient, the person is in the file and the address supplied is on file
for them) with, if so, the expected address. A disclosure released **the wrong person**
when the address released is not the true person's last known address (by the one rule of
`facts.reference`, compared in standard form), or the person is not in the file at all
(then any address released is someone else's). Its category is, in this order:

* the record's deficiency (a screening code), if it has one;
* LAWFUL when `lawful_disclosure` holds and the address released is the expected one;
* WRONG_PERSON_DISCLOSED when it released the wrong person;
* ADDRESS_NOT_CORROBORATED otherwise (the right person, but the address supplied is
  not on file for them).
"""

from __future__ import annotations

import polars as pl

from ftigate.audit.reference import DISCLOSED_ADDRESS, Reference
from ftigate.facts.address import address_parts

LAWFUL = "LAWFUL"
WRONG_PERSON = "WRONG_PERSON_DISCLOSED"
_SAME = ("house", "predir", "name_fused", "suffix", "postdir", "unit_std", "zip5")


def standard_key(frame: pl.DataFrame, prefix: str = "") -> pl.Series:
    """One text key per row of `frame`'s address columns (`{prefix}street`, ...) in
    standard form: equal keys are the same address as the gate reads it."""
    columns = {f"{prefix}{c}": c for c in ("street", "unit", "zip", "city")}
    parts = address_parts(frame.select(*(pl.col(k).alias(v) for k, v in columns.items())))
    return parts.select(
        pl.concat_str([pl.col(c).fill_null("") for c in _SAME], separator="|").alias("key")
    ).to_series()


def truth_categories(disclosures: pl.DataFrame, truth: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """request_id, `truth_category` and `truth_wrong_person` for each disclosure."""
    released = disclosures.select("request_id", *(pl.col(c).fill_null("") for c in DISCLOSED_ADDRESS))
    frame = released.join(
        truth.select(
            "request_id",
            "true_tin",
            "deficiency",
            "lawful_disclosure",
            "in_file",
            *(pl.col(f"expected_{c}").fill_null("").alias(f"e_{c}") for c in DISCLOSED_ADDRESS),
        ),
        on="request_id",
        how="left",
    )
    last = reference.last_known().rename({c: f"t_{c}" for c in DISCLOSED_ADDRESS})
    frame = frame.join(last, left_on="true_tin", right_on="tin", how="left")
    frame = frame.with_columns(
        standard_key(frame).alias("_released"),
        standard_key(frame, "e_").alias("_expected"),
        pl.when(pl.col("t_street").is_not_null()).then(standard_key(frame, "t_")).alias("_true_last"),
    )
    same_expected = pl.col("lawful_disclosure") & (pl.col("_released") == pl.col("_expected"))
    wrong_person = ~pl.col("in_file") | (pl.col("_released") != pl.col("_true_last")).fill_null(True)
    category = (
        pl.when(pl.col("deficiency").is_not_null())
        .then(pl.col("deficiency"))
        .when(same_expected)
        .then(pl.lit(LAWFUL))
        .when(wrong_person | pl.col("lawful_disclosure"))
        .then(pl.lit(WRONG_PERSON))
        .otherwise(pl.lit("ADDRESS_NOT_CORROBORATED"))
    )
    return frame.select(
        "request_id",
        category.alias("truth_category"),
        wrong_person.fill_null(True).alias("truth_wrong_person"),
    )


def breakdown(categories: pl.Series) -> dict[str, int]:
    """Counts per category, unlawful categories only, sorted by code."""
    counts = categories.filter(categories != LAWFUL).value_counts()
    return dict(sorted((str(k), int(v)) for k, v in counts.iter_rows()))


def wrong_person_agreement(findings: pl.DataFrame, categories: pl.DataFrame) -> dict[str, int]:
    """The audit's WRONG_PERSON_DISCLOSED (as any reason) against the truth's wrong-person
    disclosures (whatever else is wrong with the record): counts and disagreements."""
    joined = findings.select("request_id", "reasons").join(categories, on="request_id", how="left")
    audit = joined["reasons"].list.contains(WRONG_PERSON)
    truth = joined["truth_wrong_person"].fill_null(False)
    return {
        "audit": int(audit.sum()),
        "truth": int(truth.sum()),
        "charged_not_wrong": int((audit & ~truth).sum()),
        "wrong_not_charged": int((truth & ~audit).sum()),
    }


def lawful_response(truth: pl.DataFrame) -> pl.DataFrame:
    """The disclosure file a lawful process would have produced: one row per
    `lawful_disclosure` request, releasing its expected address."""
    return truth.filter(pl.col("lawful_disclosure")).select(
        "request_id",
        *(pl.col(f"expected_{c}").fill_null("").alias(c) for c in ("street", "unit", "city", "state", "zip")),
    )
