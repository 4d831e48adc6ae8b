"""Measuring the audit against synthetic ground truth (`truth.parquet` of `ftigate synth
requests`). For tests and benchmarks only: a real audit has no truth file.

The truth file says, per request, whether a disclosure would be lawful
(`lawful_disclosure`: the record is sufficient, the person is in the file and the
address supplied is on file for them) and, if so, the expected address. A disclosure
is lawful in truth when `lawful_disclosure` holds and the address released is the
expected one. Otherwise its category is, in this order:

* the record's deficiency (a screening code), if it has one;
* WRONG_PERSON_DISCLOSED when the released address is not the true person's last known
  address, or the person is not in the file at all (then any address released is
  someone else's);
* ADDRESS_NOT_CORROBORATED otherwise (the right person, but the address supplied is
  not on file for them).
"""

from __future__ import annotations

import polars as pl

from ftigate.audit.reference import Reference, address_keys, last_known_addresses

LAWFUL = "LAWFUL"
_KEYS = ["a_zip5", "a_number", "a_street", "a_unit"]


def truth_categories(disclosures: pl.DataFrame, truth: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """request_id and `truth_category` for each disclosure."""
    released = disclosures.select("request_id", *address_keys())
    expected = truth.select(
        "request_id",
        *address_keys("expected_"),
    ).rename({k: f"e_{k}" for k in _KEYS})
    true_last = (
        truth.select("request_id", "true_tin")
        .join(last_known_addresses(reference.addresses), left_on="true_tin", right_on="tin", how="left")
        .select("request_id", *address_keys())
        .rename({k: f"t_{k}" for k in _KEYS})
    )
    frame = (
        released.join(
            truth.select("request_id", "deficiency", "lawful_disclosure", "in_file"), on="request_id"
        )
        .join(expected, on="request_id", how="left")
        .join(true_last, on="request_id", how="left")
    )
    same_expected = pl.all_horizontal([pl.col(k) == pl.col(f"e_{k}") for k in _KEYS]).fill_null(False)
    same_true = pl.all_horizontal([pl.col(k) == pl.col(f"t_{k}") for k in _KEYS]).fill_null(False)
    category = (
        pl.when(pl.col("deficiency").is_not_null())
        .then(pl.col("deficiency"))
        .when(pl.col("lawful_disclosure") & same_expected)
        .then(pl.lit(LAWFUL))
        .when(~pl.col("in_file") | ~same_true | pl.col("lawful_disclosure"))
        .then(pl.lit("WRONG_PERSON_DISCLOSED"))
        .otherwise(pl.lit("ADDRESS_NOT_CORROBORATED"))
    )
    return frame.select("request_id", category.alias("truth_category"))


def breakdown(categories: pl.Series) -> dict[str, int]:
    """Counts per category, unlawful categories only, sorted by code."""
    counts = categories.filter(categories != LAWFUL).value_counts()
    return dict(sorted((str(k), int(v)) for k, v in counts.iter_rows()))


def lawful_response(truth: pl.DataFrame) -> pl.DataFrame:
    """The disclosure file a lawful process would have produced: one row per
    `lawful_disclosure` request, releasing its expected address."""
    return truth.filter(pl.col("lawful_disclosure")).select(
        "request_id",
        *(pl.col(f"expected_{c}").fill_null("").alias(c) for c in ("street", "unit", "city", "state", "zip")),
    )
