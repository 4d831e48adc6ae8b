"""Identity findings for disclosures already made: was the right person's address
released, was that person identified uniquely, and was the address the requester
supplied one the agency held for them?

The audit holds what a court or inspector general holds: the request file, the
disclosure file (request id and the address released) and the taxpayer reference.
It does not know which TIN the discloser looked up, so it reasons from evidence:

* Candidates for a request are taxpayers whose surname is compatible with the
  request's (same IRS name control, a shared surname word, or one typing error apart)
  and who either carry the
  request's TIN (current TIN or prior ITIN) or have the requested address on file
  under their own name in any tax year (street compared allowing one typing error;
  house number, unit and five-digit ZIP exactly).
* Each candidate gets an evidence score (`score_expr`): TIN +2 (one digit off +1),
  address on file +1, same first name +1 (same initial, or one typing error, +0.5;
  otherwise -1), same date of birth
  +2 (a typo-like difference, e.g. day and month swapped, +0.5; any other difference
  -2). A candidate "fits" the request at a score of 2 or more. A full date of birth is
  the strongest evidence after the TIN: it outweighs a nickname (Pepe for Jose), and
  contradicting it outweighs a shared name at a shared address.
* The released person(s) are the taxpayers whose last known address is the address
  disclosed.

Findings, each a reason code in the law's vocabulary:

* WRONG_PERSON_DISCLOSED: no one whose last known address was released fits the
  request, or the request fits one taxpayer best and the address released is not that
  taxpayer's last known address.
* AMBIGUOUS_IDENTITY: two or more taxpayers fit the request equally well and do not all
  have the released address as their last known address. (When they all do, the same
  address went out whichever was meant; that is recorded as a note, not a finding.)
* ADDRESS_NOT_CORROBORATED: no candidate whose last known address was released has the
  requested address on file (the court's test: name and TIN agreeing is not enough).
"""

from __future__ import annotations

import duckdb
import jellyfish
import polars as pl

from ftigate.audit.reference import (
    DISCLOSED_ADDRESS,
    Reference,
    address_keys,
    last_known_addresses,
    name_control,
    name_key,
    own_addresses,
    tin_digits,
)

WRONG_PERSON = "WRONG_PERSON_DISCLOSED"
AMBIGUOUS = "AMBIGUOUS_IDENTITY"
NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
IDENTITY_CODES = (WRONG_PERSON, AMBIGUOUS, NOT_CORROBORATED)

FIT_SCORE = 2.0
_KEYS = ["a_zip5", "a_number", "a_street", "a_unit"]


def _person_features(frame: pl.DataFrame, dob: pl.Expr) -> list[pl.Expr]:
    first = name_key(pl.col("first_name"))
    last = name_key(pl.col("last_name"))
    return [
        name_control(pl.col("last_name")).alias("control"),
        last.str.split(" ")
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 1))
        .alias("surnames"),
        first.str.split(" ").list.first().fill_null("").alias("first"),
        dob.str.to_date("%Y-%m-%d", strict=False).alias("dob"),
    ]


def request_features(requests: pl.DataFrame) -> pl.DataFrame:
    return requests.select(
        "request_id",
        tin_digits(pl.col("tin")).alias("req_tin"),
        *_person_features(requests, pl.col("date_of_birth").fill_null("").str.strip_chars()),
        *address_keys(),
    )


def taxpayer_features(taxpayers: pl.DataFrame) -> pl.DataFrame:
    return taxpayers.select("tin", "prior_itin", *_person_features(taxpayers, pl.col("date_of_birth")))


def addresses_on_file(requests: pl.DataFrame, own: pl.DataFrame) -> pl.DataFrame:
    """(request_id, tin) pairs where the requested address is on file for that taxpayer.

    House number, unit and ZIP5 must be equal; the rest of the street may differ by one
    edit (insertion, deletion, substitution or transposition), the typos agencies make."""
    wanted = requests.select("request_id", *_KEYS).filter(
        (pl.col("a_zip5") != "") & (pl.col("a_street") != "")
    )
    con = duckdb.connect()
    try:
        con.register("wanted", wanted.to_arrow())
        con.register("own", own.to_arrow())
        pairs = con.sql(
            "SELECT DISTINCT w.request_id, o.tin FROM wanted w JOIN own o "
            "ON w.a_zip5 = o.a_zip5 AND w.a_number = o.a_number AND w.a_unit = o.a_unit "
            "WHERE w.a_street = o.a_street OR damerau_levenshtein(w.a_street, o.a_street) <= 1"
        ).pl()
    finally:
        con.close()
    return pairs.select(pl.col("request_id").cast(pl.String), pl.col("tin").cast(pl.String))


FUZZY_MIN_LENGTH = 3


def _one_edit(a: str, b: str) -> bool:
    return min(len(a), len(b)) >= FUZZY_MIN_LENGTH and jellyfish.damerau_levenshtein_distance(a, b) <= 1


def close_surnames(requested: list[str] | None, on_file: list[str] | None) -> bool:
    """A surname word of the request within one typing error (Damerau-Levenshtein 1) of
    one on file (SOAS/SOSA, HMA/HAM), or the whole surname so with its spaces removed
    (DGLACERDA/DE LA CERDA). Words shorter than three letters must be equal."""
    requested, on_file = requested or [], on_file or []
    if any(a == b or _one_edit(a, b) for a in requested for b in on_file):
        return True
    return bool(requested and on_file) and _one_edit("".join(requested), "".join(on_file))


def close_text(a: str | None, b: str | None) -> bool:
    """Two first names or TINs one typing error apart (never equal ones)."""
    return bool(a and b) and a != b and _one_edit(str(a), str(b))


def _dob_near(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Typing errors in a date: day and month swapped, the year or the day off by one."""
    same_year = a.dt.year() == b.dt.year()
    same_month = a.dt.month() == b.dt.month()
    same_day = a.dt.day() == b.dt.day()
    swapped = same_year & (a.dt.month() == b.dt.day()) & (a.dt.day() == b.dt.month())
    year_off = ((a.dt.year() - b.dt.year()).abs() == 1) & same_month & same_day
    day_off = same_year & same_month & ((a.dt.day() - b.dt.day()).abs() == 1)
    return swapped | year_off | day_off


def score_expr() -> pl.Expr:
    """Evidence that a candidate is the person the request means (see the module doc)."""
    has_first = (pl.col("first") != "") & (pl.col("c_first") != "")
    first_same = has_first & (pl.col("first") == pl.col("c_first"))
    initial_same = has_first & (
        (pl.col("first").str.slice(0, 1) == pl.col("c_first").str.slice(0, 1)) | pl.col("first_close")
    )
    has_dob = pl.col("dob").is_not_null() & pl.col("c_dob").is_not_null()
    dob_same = has_dob & (pl.col("dob") == pl.col("c_dob"))
    dob_near = has_dob & ~dob_same & _dob_near(pl.col("dob"), pl.col("c_dob"))
    return (
        pl.when(pl.col("tin_hit")).then(2.0).when(pl.col("tin_close")).then(1.0).otherwise(0.0)
        + pl.when(pl.col("on_file")).then(1.0).otherwise(0.0)
        + pl.when(first_same).then(1.0).when(initial_same).then(0.5).when(has_first).then(-1.0).otherwise(0.0)
        + pl.when(dob_same).then(2.0).when(dob_near).then(0.5).when(has_dob).then(-2.0).otherwise(0.0)
    )


def candidates(requests: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Every (request, taxpayer) pair worth weighing, with its evidence score."""
    req = request_features(requests)
    tax = taxpayer_features(reference.taxpayers).rename(
        {"control": "c_control", "surnames": "c_surnames", "first": "c_first", "dob": "c_dob"}
    )
    on_file = addresses_on_file(req, own_addresses(reference)).with_columns(on_file=pl.lit(True))
    by_tin = (
        pl.concat(
            [
                req.select("request_id", pl.col("req_tin").alias("tin")),
                req.select("request_id", "req_tin")
                .join(
                    tax.select("tin", "prior_itin").drop_nulls("prior_itin"),
                    left_on="req_tin",
                    right_on="prior_itin",
                    how="inner",
                )
                .select("request_id", "tin"),
            ]
        )
        .drop_nulls("tin")
        .join(tax.select("tin"), on="tin", how="semi")
        .with_columns(tin_hit=pl.lit(True))
    )
    pairs = (
        pl.concat([on_file.select("request_id", "tin"), by_tin.select("request_id", "tin")])
        .unique()
        .join(on_file, on=["request_id", "tin"], how="left")
        .join(by_tin, on=["request_id", "tin"], how="left")
        .with_columns(pl.col("on_file").fill_null(False), pl.col("tin_hit").fill_null(False))
    )
    joined = pairs.join(
        req.select("request_id", "req_tin", "control", "surnames", "first", "dob"), on="request_id"
    ).join(tax.drop("prior_itin"), on="tin")
    exact = (pl.col("control") != "") & (
        (pl.col("control") == pl.col("c_control"))
        | (pl.col("surnames").list.set_intersection("c_surnames").list.len() > 0)
    )
    # Typo-tolerant comparisons run in Python, so only on the few pairs that need them.
    near = joined.filter(~exact)
    near = near.filter(
        pl.struct("surnames", "c_surnames").map_elements(
            lambda row: close_surnames(row["surnames"], row["c_surnames"]), return_dtype=pl.Boolean
        )
    )
    kept = pl.concat([joined.filter(exact), near])

    def close(left: str, right: str) -> pl.Expr:
        return pl.struct(left, right).map_elements(
            lambda row: close_text(row[left], row[right]), return_dtype=pl.Boolean
        )

    needs_first = (pl.col("first") != pl.col("c_first")) & (
        pl.col("first").str.slice(0, 1) != pl.col("c_first").str.slice(0, 1)
    )
    needs_tin = pl.col("req_tin").is_not_null() & ~pl.col("tin_hit")
    kept = kept.with_columns(
        pl.when(needs_first).then(close("first", "c_first")).otherwise(False).alias("first_close"),
        pl.when(needs_tin).then(close("req_tin", "tin")).otherwise(False).alias("tin_close"),
    )
    scored = kept.with_columns(score=score_expr())
    return scored.select("request_id", "tin", "tin_hit", "on_file", "score")


def identity_findings(
    disclosures: pl.DataFrame, requests: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    """One row per disclosure: request_id, `identity_reasons` (list of codes, in the
    order WRONG_PERSON_DISCLOSED, AMBIGUOUS_IDENTITY, ADDRESS_NOT_CORROBORATED) and
    `identity_notes` (questions that do not make the disclosure unlawful).

    `disclosures` holds request_id and the released address (street, unit, city, state,
    zip); `requests` the request columns for (at least) those ids. Pure."""
    disclosed_ids = disclosures.select("request_id")
    req = requests.join(disclosed_ids, on="request_id", how="semi")
    scored = candidates(req, reference)
    fitting = scored.filter(pl.col("score") >= FIT_SCORE)

    top = fitting.group_by("request_id").agg(
        pl.col("score").max().alias("top"),
        pl.col("tin").filter(pl.col("score") == pl.col("score").max()).alias("best"),
    )
    released_keys = disclosures.select("request_id", *address_keys())
    holders = (
        released_keys.join(
            last_known_addresses(reference.addresses).select("tin", *address_keys()),
            on=_KEYS,
            how="inner",
        )
        .select("request_id", "tin")
        .unique()
    )
    at_released = scored.join(holders, on=["request_id", "tin"], how="inner")
    released_view = at_released.group_by("request_id").agg(
        (pl.col("score") >= FIT_SCORE).any().alias("released_fits"),
        pl.col("on_file").any().alias("released_corroborated"),
        pl.col("tin").filter(pl.col("score") >= FIT_SCORE).alias("released_fitting"),
    )
    frame = (
        disclosed_ids.join(top, on="request_id", how="left")
        .join(released_view, on="request_id", how="left")
        .with_columns(
            pl.col("released_fits").fill_null(False),
            pl.col("released_corroborated").fill_null(False),
            pl.col("best").fill_null([]),
            pl.col("released_fitting").fill_null([]),
        )
    )
    unique_best = pl.col("best").list.len() == 1
    best_not_released = unique_best & (
        pl.col("best").list.set_intersection("released_fitting").list.len() == 0
    )
    wrong_person = ~pl.col("released_fits") | best_not_released
    tied = pl.col("best").list.len() > 1
    # Namesakes who share the released address as their last known address (a Sr. and
    # Jr. at home) received the same disclosure whichever of them was meant: a question
    # for the auditor, not a wrong release. Tied candidates with different last known
    # addresses are a disclosure the request did not determine.
    all_tied_released = pl.col("best").list.set_difference("released_fitting").list.len() == 0
    ambiguous = tied & ~all_tied_released
    reasons = pl.concat_list(
        pl.when(wrong_person).then(pl.lit(WRONG_PERSON)).otherwise(None),
        pl.when(ambiguous).then(pl.lit(AMBIGUOUS)).otherwise(None),
        pl.when(~pl.col("released_corroborated")).then(pl.lit(NOT_CORROBORATED)).otherwise(None),
    ).list.drop_nulls()
    notes = pl.concat_list(
        pl.when(tied & all_tied_released).then(pl.lit(AMBIGUOUS)).otherwise(None)
    ).list.drop_nulls()
    return frame.select("request_id", reasons.alias("identity_reasons"), notes.alias("identity_notes"))


__all__ = ["DISCLOSED_ADDRESS", "IDENTITY_CODES", "candidates", "identity_findings"]
