"""Identity findings for disclosures already made: whose address went out, was that the
person the request identifies, and was the address the requester supplied one the agency
held for them?

The audit holds what a court or inspector general holds: the request file, the
disclosure file (request id and the address released) and the taxpayer reference. It
does not know which TIN the discloser looked up, and it does not use the discloser's
model (an auditor must not grade the model with the model). It reasons from evidence,
on the definitions every stage shares: `facts.address` (USPS Publication 28 forms, and
the corroboration rule the gate uses), `facts.names`, `facts.tin` and the last known
address of `facts.reference`.

* The released persons are the taxpayers whose last known address is, in standard form,
  the address disclosed ("6241 Maple Street" is "6241 MAPLE ST").
* Candidates for a request are the released persons, the taxpayers who carry the
  request's TIN (current TIN or prior ITIN), and those who have the requested address
  on file under their own name in any tax year (`facts.address.corroborations`).
* Each pair (request, candidate) is weighed field by field (`Evidence`): the TIN (same,
  one slip, another), the date of birth (same, a keying slip, another), the given name
  and the surname (`facts.names`: same, slip, nickname, initial, conflict; also with
  the request's given and family names swapped), and whether the requested address is
  on file for the candidate.
* A candidate is **excluded** (positive evidence of another person) when the given names
  conflict, when the dates of birth conflict, when the surnames conflict, or when the
  request's TIN belongs to another taxpayer who is not excluded. A TIN that agrees never
  excuses a conflicting given name (workers use a relative's or a housemate's SSN); a
  TIN and a full date of birth that both agree do keep a conflicting name from excluding
  (a nickname the list lacks, a surname changed by marriage), but such a candidate does
  not fit either.
* A candidate that is not excluded **fits** when its given name does not conflict and
  its evidence score (`score_expr`) reaches the fit score: as shipped (the law's
  `audit_evidence_weights`, rules/audit/findings.yaml) at least 2, with TIN +2 (one slip
  +1), date of birth +2 (a slip +1), requested address on file +1, given name the same +1
  (a slip, a nickname or an initial +0.5).

Findings, each a reason code in the law's vocabulary:

* WRONG_PERSON_DISCLOSED: the address released is not the last known address of the
  person the request identifies, on positive evidence: every taxpayer whose last known
  address it is is excluded, or it is no taxpayer's last known address at all.
* AMBIGUOUS_IDENTITY: two or more taxpayers fit the request equally well and do not all
  have the released address as their last known address. (When they all do, the same
  address went out whichever was meant; that is a note, not a finding.)
* IDENTITY_NOT_ESTABLISHED: someone whose address was released may be the person
  requested (nothing excludes them), but the evidence does not establish it: no
  released person fits the request, or another taxpayer fits it better. The audit could
  not establish the identity; it has no evidence that someone else's address went out.
  A request that gives a name and an address alone (no TIN, no date of birth) never
  establishes it: a non-filer of the same name at that home cannot be excluded. Not
  counted as unlawful by default (`audit_unestablished_effect`).
* ADDRESS_NOT_CORROBORATED: the requested address is not on file for any released
  person who is not excluded (for all of them when every one is), by the gate's own
  test (`facts.address.corroborates`; a unit left out needs a TIN or date of birth
  that agrees).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from ftigate.audit.reference import DISCLOSED_ADDRESS, Reference, tin_digits
from ftigate.facts.address import (
    COMPARED_COLUMNS,
    address_parts,
    city_standard,
    corroborates,
    corroborations,
    zip5,
)
from ftigate.facts.dates import dob_relation, dob_relation_expr
from ftigate.facts.identifiers import name_and_address_alone
from ftigate.facts.names import (
    GivenRelation,
    SurnameRelation,
    best_given_relation,
    given_relation,
    given_word_list,
    given_words,
    surname_relation,
    surname_word_list,
    surname_words,
)
from ftigate.facts.text import fixed_width_slip
from ftigate.facts.tin import tin_relation, tin_relation_expr
from ftigate.law.model import EvidenceWeights

WRONG_PERSON = "WRONG_PERSON_DISCLOSED"
AMBIGUOUS = "AMBIGUOUS_IDENTITY"
NOT_ESTABLISHED = "IDENTITY_NOT_ESTABLISHED"
NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
IDENTITY_CODES = (WRONG_PERSON, AMBIGUOUS, NOT_ESTABLISHED, NOT_CORROBORATED)

_ADDRESS_PARTS = ("street", "unit", "zip", "city")
_NAME_FIELDS = ("first_name", "middle_name", "last_name")


# --- the evidence of one pair ---------------------------------------------------------------


_SURNAME_ORDER = list(SurnameRelation)
_GIVEN_ORDER = list(GivenRelation)


@dataclass(frozen=True)
class NameEvidence:
    given: GivenRelation
    surname: SurnameRelation


Words = tuple[str, ...]


@dataclass(frozen=True)
class NameWords:
    """One side's names as words: each name field as given-name words and as surname words."""

    first_given: Words
    first_surname: Words
    middle_given: Words
    last_given: Words
    last_surname: Words

    @classmethod
    def of(cls, first: str, middle: str, last: str) -> NameWords:
        return cls(
            tuple(given_words(first)),
            tuple(surname_words(first)),
            tuple(given_words(middle)),
            tuple(given_words(last)),
            tuple(surname_words(last)),
        )


def name_evidence(request: NameWords, candidate: NameWords) -> NameEvidence:
    """How the request's names relate to the candidate's, as written or with the
    request's given and family names swapped (whichever agrees better)."""
    return _name_evidence(request, candidate)


@lru_cache(maxsize=1 << 16)
def _name_evidence(request: NameWords, candidate: NameWords) -> NameEvidence:
    c_given = candidate.first_given

    def judge(given_words_: Words, surname_words_: Words) -> NameEvidence:
        given = best_given_relation(given_words_[:1], c_given[:1])
        if given == GivenRelation.CONFLICT and given_words_ and "".join(given_words_) == "".join(c_given):
            given = GivenRelation.SAME  # a space typed inside the name ("CR YSTAL")
        if given == GivenRelation.CONFLICT and len(given_words_) > 1 and c_given:
            # a space typed inside a nickname or a slip of the name ("WIL LIAM" for WILLIE)
            given = given_relation("".join(given_words_), c_given[0])
        if given == GivenRelation.CONFLICT:
            # "Maria Guadalupe" for "Guadalupe", or a middle name used as the first
            alternatives = [
                best_given_relation(given_words_, c_given + candidate.middle_given),
                best_given_relation(given_words_ + request.middle_given, c_given),
            ]
            if GivenRelation.SAME in alternatives:
                given = GivenRelation.INITIAL
        return NameEvidence(given, surname_relation(surname_words_, candidate.last_surname))

    def rank(e: NameEvidence) -> tuple[int, int]:
        conflicts = (e.given == GivenRelation.CONFLICT) + (e.surname == SurnameRelation.CONFLICT)
        return conflicts, _SURNAME_ORDER.index(e.surname) + _GIVEN_ORDER.index(e.given)

    straight = judge(request.first_given, request.last_surname)
    if straight.given != GivenRelation.CONFLICT and straight.surname != SurnameRelation.CONFLICT:
        return straight
    return min(straight, judge(request.last_given, request.first_surname), key=rank)


_WORD_FIELDS = ("first_given", "first_surname", "middle_given", "last_given", "last_surname")


def _with_words(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """`{prefix}first_name`, ... as NameWords fields (List[String] columns)."""
    first, middle, last = (pl.col(f"{prefix}{c}") for c in _NAME_FIELDS)
    return frame.with_columns(
        given_word_list(first).alias(f"{prefix}first_given"),
        surname_word_list(first).alias(f"{prefix}first_surname"),
        given_word_list(middle).alias(f"{prefix}middle_given"),
        given_word_list(last).alias(f"{prefix}last_given"),
        surname_word_list(last).alias(f"{prefix}last_surname"),
    )


def _given_fast(g_r: pl.Expr, g_c: pl.Expr) -> pl.Expr:
    """`given_relation` where an expression can say it (the same name, an initial, a name
    missing), else NULL."""
    return (
        pl.when(g_r.is_null() | g_c.is_null() | (g_r == "") | (g_c == ""))
        .then(pl.lit(GivenRelation.MISSING.value))
        .when(g_r == g_c)
        .then(pl.lit(GivenRelation.SAME.value))
        .when((g_r.str.len_chars() == 1) | (g_c.str.len_chars() == 1))
        .then(
            pl.when(g_r.str.slice(0, 1) == g_c.str.slice(0, 1))
            .then(pl.lit(GivenRelation.INITIAL.value))
            .otherwise(pl.lit(GivenRelation.CONFLICT.value))
        )
    )


def _relation_of_words(frame: pl.DataFrame, left: str, right: str, name: str) -> pl.DataFrame:
    """`given_relation` of two single-word columns: by expression where it can, else once
    per distinct pair of words (a few microseconds each, cached across pairs)."""
    frame = frame.with_columns(_given_fast(pl.col(left), pl.col(right)).alias(name))
    rest = frame.filter(pl.col(name).is_null()).select(left, right).unique()
    if rest.height == 0:
        return frame
    values = [given_relation(a, b).value for a, b in rest.iter_rows()]
    keyed = rest.with_columns(pl.Series("_found", values, dtype=pl.String))
    joined = frame.join(keyed, on=[left, right], how="left", nulls_equal=True, maintain_order="left")
    return joined.with_columns(pl.coalesce(name, "_found").alias(name)).drop("_found")


def _surname_of_lists(frame: pl.DataFrame, left: str, right: str, name: str) -> pl.DataFrame:
    """`surname_relation` of two word-list columns: by expression where it can (a word in
    common, one name written together, the same name control, a name missing), else once
    per distinct pair of lists."""
    s_r, s_c = pl.col(left), pl.col(right)
    fused_r, fused_c = s_r.list.join(""), s_c.list.join("")
    fast = (
        pl.when((s_r.list.len() == 0) | (s_c.list.len() == 0))
        .then(pl.lit(SurnameRelation.MISSING.value))
        .when(
            (s_r.list.set_intersection(s_c).list.len() > 0)
            | (fused_r == fused_c)
            | (fused_r.str.slice(0, 4) == fused_c.str.slice(0, 4))
        )
        .then(pl.lit(SurnameRelation.SAME.value))
    )
    frame = frame.with_columns(fast.alias(name))
    rest = frame.filter(pl.col(name).is_null()).select(left, right).unique()
    if rest.height == 0:
        return frame
    values = [surname_relation(a, b).value for a, b in rest.iter_rows()]
    keyed = rest.with_columns(pl.Series("_found", values, dtype=pl.String))
    joined = frame.join(keyed, on=[left, right], how="left", nulls_equal=True, maintain_order="left")
    return joined.with_columns(pl.coalesce(name, "_found").alias(name)).drop("_found")


def _given_reading(frame: pl.DataFrame, given_col: str, out: str) -> pl.DataFrame:
    """The given-name relation reading the request's `given_col` words as its given name
    (`_name_evidence`'s `judge`, over columns)."""
    frame = frame.with_columns(
        pl.col(given_col).list.first().alias("_g_r"),
        pl.when(pl.col(given_col).list.len() > 1)
        .then(pl.col(given_col).list.join(""))
        .otherwise(None)
        .alias("_g_fused"),
    )
    frame = _relation_of_words(frame, "_g_r", "_g_c", out)
    frame = _relation_of_words(frame, "_g_fused", "_g_c", "_fused_relation")
    shares = (
        pl.col(given_col).list.set_intersection(pl.concat_list("c_first_given", "c_middle_given")).list.len()
        > 0
    ) | (pl.concat_list(given_col, "r_middle_given").list.set_intersection("c_first_given").list.len() > 0)
    conflict = pl.col(out) == GivenRelation.CONFLICT.value
    # a space typed inside the name ("CR YSTAL"): the same name
    fused = (pl.col(given_col).list.len() > 0) & (
        pl.col(given_col).list.join("") == pl.col("c_first_given").list.join("")
    )
    # a space typed inside a nickname or a slip of the name ("WIL LIAM" for WILLIE)
    fused_reading = pl.col("_g_fused").is_not_null() & ~pl.col("_fused_relation").is_in(
        [GivenRelation.CONFLICT.value, GivenRelation.MISSING.value]
    )
    return frame.with_columns(
        pl.when(conflict & fused.fill_null(False))
        .then(pl.lit(GivenRelation.SAME.value))
        .when(conflict & fused_reading.fill_null(False))
        .then(pl.col("_fused_relation"))
        .when(conflict & shares)
        .then(pl.lit(GivenRelation.INITIAL.value))
        .otherwise(pl.col(out))
        .alias(out)
    ).drop("_g_r", "_g_fused", "_fused_relation")


def _rank(given: str, surname: str) -> pl.Expr:
    conflicts = (pl.col(given) == GivenRelation.CONFLICT.value).cast(pl.Int32) + (
        pl.col(surname) == SurnameRelation.CONFLICT.value
    ).cast(pl.Int32)
    strength = pl.col(surname).replace_strict(
        {r.value: i for i, r in enumerate(_SURNAME_ORDER)}, return_dtype=pl.Int32
    ) + pl.col(given).replace_strict({r.value: i for i, r in enumerate(_GIVEN_ORDER)}, return_dtype=pl.Int32)
    return conflicts * 100 + strength


def _names_of_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """given and surname relations for each pair (`name_evidence`, computed over columns:
    the common cases by expression, the rest once per distinct pair of words or surnames;
    the swapped reading only where the straight one finds a conflict)."""
    names = [f"r_{c}" for c in _NAME_FIELDS] + [f"c_{c}" for c in _NAME_FIELDS]
    distinct = _with_words(_with_words(pairs.select(names).unique(), "r_"), "c_")
    distinct = distinct.with_columns(pl.col("c_first_given").list.first().alias("_g_c"))
    distinct = _given_reading(distinct, "r_first_given", "given")
    distinct = _surname_of_lists(distinct, "r_last_surname", "c_last_surname", "surname")
    straight = _rank("given", "surname")
    clean = distinct.filter(straight < 100)
    doubtful = distinct.filter(straight >= 100)
    doubtful = _given_reading(doubtful, "r_last_given", "_given_swapped")
    doubtful = _surname_of_lists(doubtful, "r_first_surname", "c_last_surname", "_surname_swapped")
    take_swapped = _rank("_given_swapped", "_surname_swapped") < straight
    doubtful = doubtful.with_columns(
        pl.when(take_swapped).then("_given_swapped").otherwise("given").alias("given"),
        pl.when(take_swapped).then("_surname_swapped").otherwise("surname").alias("surname"),
    )
    keyed = pl.concat([clean.select(*names, "given", "surname"), doubtful.select(*names, "given", "surname")])
    return pairs.join(keyed, on=names, how="left", nulls_equal=True, maintain_order="left")


# --- candidates ---------------------------------------------------------------------------------


def _parts(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """`frame`'s address columns (street, unit, zip, city) in standard parts, prefixed."""
    renamed = frame.rename({c: f"{prefix}{c}" for c in _ADDRESS_PARTS})
    return address_parts(renamed, prefix)


def _house_text(street: pl.Expr) -> pl.Expr:
    """The leading number of a street line as written (a cheap filter before parsing)."""
    return street.cast(pl.String).fill_null("").str.strip_chars().str.extract(r"^(\d+)", 1)


def _on_distinct(frame: pl.DataFrame, column: str, expr: pl.Expr, name: str) -> pl.DataFrame:
    """`frame` with `expr` of `column` as `name`, computed once per distinct value."""
    distinct = frame.select(pl.col(column).unique())
    keyed = distinct.with_columns(expr.alias(name))
    return frame.join(keyed, on=column, how="left", nulls_equal=True, maintain_order="left")


def _cheap_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """_h (the house number as written), _z (ZIP5) and _c (the city): a filter before
    parsing, each computed once per distinct value (a building's line repeats)."""
    frame = _on_distinct(frame, "street", _house_text(pl.col("street")), "_h")
    frame = _on_distinct(frame, "zip", zip5(pl.col("zip")), "_z")
    return _on_distinct(frame, "city", city_standard(pl.col("city")), "_c")


def _requested_on_file(requests: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """request_id, tin, tolerances: the taxpayers who have the requested address on file
    under their own name (any tax year), with the tolerances the best such address needed
    (`facts.address.corroborations`).

    Addresses are compared once per distinct requested address and distinct line on file
    (a building's residents share one line), then mapped back to requests and taxpayers."""
    wanted = requests.select("request_id", *_ADDRESS_PARTS)
    asked = wanted.select(_ADDRESS_PARTS).unique().with_row_index("aid")
    keys = _cheap_keys(asked)
    own_rows = reference.addresses.filter(pl.col("own")).select("tin", *_ADDRESS_PARTS)
    lines = _cheap_keys(own_rows.select(_ADDRESS_PARTS).unique())
    # Only the lines that could be a requested address are parsed: the same house number
    # (as written) with the same ZIP or city, or no house number at all (PO boxes).
    lines = (
        pl.concat(
            [
                lines.join(keys.select("_h", "_z").unique().drop_nulls(), on=["_h", "_z"], how="semi"),
                lines.join(keys.select("_h", "_c").unique().drop_nulls(), on=["_h", "_c"], how="semi"),
                lines.filter(pl.col("_h").is_null()),
            ]
        )
        .unique(_ADDRESS_PARTS)
        .with_row_index("oid")
    )
    r_cols = [f"r_{c}" for c in COMPARED_COLUMNS]
    f_cols = [f"f_{c}" for c in COMPARED_COLUMNS]
    requested = _parts(asked, "r_").filter(pl.col("r_zip5").is_not_null()).select("aid", *r_cols)
    held = _parts(lines.select("oid", *_ADDRESS_PARTS), "f_").select("oid", *f_cols)
    # another unit of the building is never the same home: left out before the exact test
    same_unit = (
        (pl.col("r_unit_std") == pl.col("f_unit_std"))
        | (pl.col("r_unit_std") == "")
        | (pl.col("f_unit_std") == "")
    )

    def blocked(on: list[str], keep: pl.Expr) -> pl.DataFrame:
        joined = requested.join(
            held, left_on=[f"r_{c}" for c in on], right_on=[f"f_{c}" for c in on], how="inner"
        )
        joined = joined.with_columns(pl.col(f"r_{c}").alias(f"f_{c}") for c in on)
        return joined.filter(keep & same_unit).select("aid", "oid")

    numbered = pl.col("r_house").is_not_null()
    matches = pl.concat(
        [
            blocked(["house", "zip5"], numbered),
            # a ZIP one keystroke off is found through the city (ZIP_SLIP needs it to agree)
            blocked(
                ["house", "city_std"],
                numbered
                & (pl.col("r_city_std") != "")
                & fixed_width_slip(pl.col("r_zip5"), pl.col("f_zip5"), 5),
            ),
            # PO boxes and rural routes carry no house number: the same line and ZIP
            blocked(
                ["name_fused", "zip5"],
                pl.col("r_house").is_null() & pl.col("f_house").is_null() & (pl.col("r_name_fused") != ""),
            ),
        ]
    ).unique()
    pairs = matches.join(requested, on="aid").join(held, on="oid")
    pairs = pairs.select("aid", "oid", corroborations(pairs)).filter(pl.col("tolerances").is_not_null())
    by_request = wanted.join(asked, on=list(_ADDRESS_PARTS), how="inner", nulls_equal=True).select(
        "request_id", "aid"
    )
    by_tin = own_rows.join(
        lines.select("oid", *_ADDRESS_PARTS), on=list(_ADDRESS_PARTS), nulls_equal=True
    ).select("oid", "tin")
    return (
        pairs.join(by_request, on="aid")
        .join(by_tin, on="oid")
        .group_by("request_id", "tin")
        .agg(
            # the best address on file for the pair: UNIT_OMITTED last, then the fewest tolerances
            pl.col("tolerances")
            .sort_by(
                pl.col("tolerances").list.contains("UNIT_OMITTED"),
                pl.col("tolerances").list.len(),
            )
            .first()
        )
    )


def released_holders(disclosures: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """request_id, tin: the taxpayers whose last known address is, in standard form, the
    address released."""
    released = disclosures.select("request_id", *_ADDRESS_PARTS)
    zips = released.select(zip5(pl.col("zip")).alias("z")).drop_nulls().unique()["z"].implode()
    last = reference.last_known().filter(zip5(pl.col("zip")).is_in(zips))
    same = ["house", "predir", "name_fused", "suffix", "postdir", "unit_std", "zip5"]
    left = _parts(released, "r_").filter(pl.col("r_zip5").is_not_null())
    right = _parts(last.select("tin", *_ADDRESS_PARTS), "f_")
    return (
        left.select("request_id", *(f"r_{c}" for c in same))
        .join(
            right.select("tin", *(f"f_{c}" for c in same)),
            left_on=[f"r_{c}" for c in same],
            right_on=[f"f_{c}" for c in same],
            how="inner",
            nulls_equal=True,
        )
        .filter(pl.col("r_name_fused") != "")
        .select("request_id", "tin")
        .unique()
    )


def candidates(
    requests: pl.DataFrame,
    reference: Reference,
    weights: EvidenceWeights,
    holders: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every (request, taxpayer) pair worth weighing, with its evidence, exclusion and
    score: request_id, tin, tin_rel, dob_rel, given, surname, on_file, tolerances,
    excluded, score, fits."""
    req = requests.select(
        "request_id",
        tin_digits(pl.col("tin")).alias("req_tin"),
        pl.col("date_of_birth").fill_null("").str.strip_chars().alias("r_dob"),
        *(pl.col(c).fill_null("").alias(f"r_{c}") for c in _NAME_FIELDS),
    )
    tax = reference.taxpayers.select(
        "tin",
        "prior_itin",
        pl.col("date_of_birth").alias("c_dob"),
        *(pl.col(c).alias(f"c_{c}") for c in _NAME_FIELDS),
    )
    on_file = _requested_on_file(requests, reference)
    by_tin = pl.concat(
        [
            req.select("request_id", pl.col("req_tin").alias("tin")).join(tax.select("tin"), on="tin"),
            req.join(tax.select("tin", "prior_itin"), left_on="req_tin", right_on="prior_itin").select(
                "request_id", "tin"
            ),
        ]
    )
    sources = [on_file.select("request_id", "tin"), by_tin.select("request_id", "tin")]
    if holders is not None:
        sources.append(holders.select("request_id", "tin"))
    pairs = (
        pl.concat(sources)
        .drop_nulls()
        .unique()
        .join(req, on="request_id")
        .join(tax, on="tin")
        .join(on_file, on=["request_id", "tin"], how="left")
    )
    pairs = _names_of_pairs(pairs).with_columns(
        tin_relation_expr(pl.col("req_tin"), pl.col("tin"), pl.col("prior_itin")).alias("tin_rel"),
        dob_relation_expr(pl.col("r_dob"), pl.col("c_dob")).alias("dob_rel"),
    )
    # A unit left out corroborates with a TIN or a date of birth that agrees, as the gate
    # reads "agrees": the same, or one keying slip from it (decide.gates TIN_AGREES, DOB_AGREES).
    confirmed = pl.col("tin_rel").is_in(["SAME", "SLIP"]) | pl.col("dob_rel").is_in(["SAME", "SLIP"])
    pairs = pairs.with_columns(on_file=corroborates(pl.col("tolerances"), confirmed).fill_null(False))
    # The TIN and the date of birth both agreeing (the date as written or one keying slip
    # from it) outweigh a name the shared lists do not relate (a nickname they lack, another
    # nickname of one name, a surname changed by marriage): not evidence of another person,
    # though not a fit either (`fits` needs given names that agree).
    # A date one slip off counts here only with the same first letter of the given name (an
    # unlisted nickname, Tommy for Tom): a lent SSN whose holder was born a keystroke from the
    # worker (Edgar, 02-18, working under Dorothy's SSN, 02-15) is not the holder.
    same_initial = pl.col("r_first_name").str.slice(0, 1) == pl.col("c_first_name").str.slice(0, 1)
    tin_and_dob = (pl.col("tin_rel") == "SAME") & (
        (pl.col("dob_rel") == "SAME") | ((pl.col("dob_rel") == "SLIP") & same_initial.fill_null(False))
    )
    given_conflict = pl.col("given") == GivenRelation.CONFLICT.value
    own_conflict = (
        (given_conflict & ~tin_and_dob)
        | (pl.col("dob_rel") == "CONFLICT")
        | ((pl.col("surname") == SurnameRelation.CONFLICT.value) & ~tin_and_dob)
    )
    pairs = pairs.with_columns(own_conflict.alias("own_conflict"))
    # The request's TIN belongs to a taxpayer who may be the person: it speaks for them and
    # against every other candidate (a Jr.'s SSN on a request answered with the Sr.'s address).
    tin_owners = (
        pairs.filter((pl.col("tin_rel") == "SAME") & ~pl.col("own_conflict"))
        .group_by("request_id")
        .agg(pl.col("tin").alias("tin_owners"))
    )
    pairs = pairs.join(tin_owners, on="request_id", how="left").with_columns(
        tin_elsewhere=(
            pl.col("tin_owners").is_not_null()
            & (pl.col("tin_rel") != "SAME")
            & ~pl.col("tin_owners").list.contains(pl.col("tin"))
        )
    )
    pairs = pairs.with_columns(excluded=pl.col("own_conflict") | pl.col("tin_elsewhere"))
    pairs = pairs.with_columns(score=score_expr(weights))
    fits = ~pl.col("excluded") & ~given_conflict & (pl.col("score") >= weights.fit_score)
    return pairs.with_columns(fits=fits).select(
        "request_id",
        "tin",
        "tin_rel",
        "dob_rel",
        "given",
        "surname",
        "on_file",
        "tolerances",
        "excluded",
        "score",
        "fits",
    )


def score_expr(weights: EvidenceWeights) -> pl.Expr:
    """Evidence that a candidate is the person the request means (see the module doc); the
    weights are the law's `audit_evidence_weights` on the letter's date."""
    given_weight = {
        GivenRelation.SAME: weights.given_same,
        GivenRelation.SLIP: weights.given_slip,
        GivenRelation.NICKNAME: weights.given_nickname,
        GivenRelation.INITIAL: weights.given_initial,
    }
    given = pl.col("given").replace_strict(
        {k.value: v for k, v in given_weight.items()}, default=0.0, return_dtype=pl.Float64
    )
    return (
        pl.when(pl.col("tin_rel") == "SAME")
        .then(weights.tin_same)
        .when(pl.col("tin_rel") == "SLIP")
        .then(weights.tin_slip)
        .otherwise(0.0)
        + pl.when(pl.col("dob_rel") == "SAME")
        .then(weights.dob_same)
        .when(pl.col("dob_rel") == "SLIP")
        .then(weights.dob_slip)
        .otherwise(0.0)
        + pl.when(pl.col("on_file")).then(weights.address_on_file).otherwise(0.0)
        + given
    )


# --- the findings ---------------------------------------------------------------------------------


def identity_findings(
    disclosures: pl.DataFrame, requests: pl.DataFrame, reference: Reference, weights: EvidenceWeights
) -> pl.DataFrame:
    """One row per disclosure: request_id, `identity_reasons` (findings that make it
    unlawful, in the order WRONG_PERSON_DISCLOSED, AMBIGUOUS_IDENTITY,
    ADDRESS_NOT_CORROBORATED), `identity_notes` (questions that do not) and
    `unestablished` (IDENTITY_NOT_ESTABLISHED applies; the caller decides its effect).

    `disclosures` holds request_id and the released address (street, unit, city, state,
    zip); `requests` the request columns for (at least) those ids. Pure."""
    disclosed = disclosures.select("request_id", *DISCLOSED_ADDRESS)
    req = requests.join(disclosed.select("request_id"), on="request_id", how="semi")
    holders = released_holders(disclosed, reference)
    scored = candidates(req, reference, weights, holders)
    at_released = scored.join(holders, on=["request_id", "tin"], how="inner")
    released_view = at_released.group_by("request_id").agg(
        pl.len().alias("holders"),
        (~pl.col("excluded")).any().alias("possible"),
        pl.col("tin").filter(pl.col("fits")).alias("released_fitting"),
        # the requested address on file for a possible holder (for any holder when none is)
        pl.when((~pl.col("excluded")).any())
        .then(pl.col("on_file").filter(~pl.col("excluded")).any())
        .otherwise(pl.col("on_file").any())
        .alias("corroborated"),
    )
    # A request that gives a name and an address alone: nothing in the files can tell the
    # released filer from a non-filer of the same name at that home (a son named for his
    # father), so the audit cannot establish the identity, though it has no evidence
    # against it either (`decide.gates`: NAME_UNIQUE_AT_ADDRESS).
    name_and_address_only = req.select(
        "request_id",
        name_and_address_alone(pl.col("tin"), pl.col("date_of_birth")).alias("name_and_address_only"),
    )
    fitting = scored.filter("fits")
    top = fitting.group_by("request_id").agg(
        pl.col("tin").filter(pl.col("score") == pl.col("score").max()).alias("best"),
    )
    frame = (
        disclosed.select("request_id")
        .join(top, on="request_id", how="left")
        .join(released_view, on="request_id", how="left")
        .join(name_and_address_only, on="request_id", how="left")
        .with_columns(
            pl.col("name_and_address_only").fill_null(False),
            pl.col("possible").fill_null(False),
            pl.col("corroborated").fill_null(False),
            pl.col("best").fill_null([]),
            pl.col("released_fitting").fill_null([]),
        )
    )
    wrong_person = ~pl.col("possible")
    tied = pl.col("best").list.len() > 1
    # Namesakes who share the released address as their last known address (a Sr. and a
    # Jr. at home) received the same disclosure whichever of them was meant: a question for
    # the auditor, not a wrong release. Tied candidates with different last known addresses
    # are a disclosure the request did not determine.
    all_tied_released = pl.col("best").list.set_difference("released_fitting").list.len() == 0
    ambiguous = ~wrong_person & tied & ~all_tied_released
    best_released = (pl.col("best").list.len() == 1) & (
        pl.col("best").list.set_intersection("released_fitting").list.len() == 1
    )
    established = (best_released | (tied & all_tied_released)) & ~pl.col("name_and_address_only")
    unestablished = ~wrong_person & ~ambiguous & ~established
    reasons = pl.concat_list(
        pl.when(wrong_person).then(pl.lit(WRONG_PERSON)).otherwise(None),
        pl.when(ambiguous).then(pl.lit(AMBIGUOUS)).otherwise(None),
        pl.when(~pl.col("corroborated")).then(pl.lit(NOT_CORROBORATED)).otherwise(None),
    ).list.drop_nulls()
    notes = pl.concat_list(
        pl.when(tied & all_tied_released).then(pl.lit(AMBIGUOUS)).otherwise(None)
    ).list.drop_nulls()
    return frame.select(
        "request_id",
        reasons.alias("identity_reasons"),
        notes.alias("identity_notes"),
        unestablished.alias("unestablished"),
    )


__all__ = [
    "DISCLOSED_ADDRESS",
    "IDENTITY_CODES",
    "candidates",
    "dob_relation",
    "identity_findings",
    "name_evidence",
    "released_holders",
    "tin_relation",
]
