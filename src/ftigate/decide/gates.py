"""Hard gates after scoring: pure functions from scored candidates to decisions.

A score says how alike a request and a taxpayer are; the gates say whether the law lets
the agency answer. They run on the best-scoring candidate of each request, in this
order, and every gate that fails adds its reason code (the decision is the strictest
effect among them, as the law's rule files state it):

  NO_MATCH                  nobody scores above the floor
  TIN_CONFLICT              the supplied TIN belongs to someone else (or, with nobody
                            above the floor, to a taxpayer whose name is not the request's)
                            and no return explains it (a lent SSN: returns under it in
                            another name from the requested address, the TIN as supplied or
                            one keying slip from it); the candidate's TIN or former ITIN
                            keyed with one slip agrees
  GIVEN_NAME_CONFLICT       the given name is not the candidate's: not equal, not an initial
                            of it, not one keying slip apart, not a nickname of it with a
                            date of birth or TIN that agrees, not two nicknames of one name
                            (Johnny, Jack) with both; any other chain of nicknames (Joey ->
                            Joseph -> Jose) never counts; a TIN alone never excuses it
  ADDRESS_NOT_CORROBORATED  the supplied address is not one the agency holds for the
                            candidate, current or prior, up to the tolerances of
                            `facts.address` (the check skipped 42,695 times)
  ADDRESS_UNIT_OMITTED      it is, but for a unit one side leaves out, and neither a TIN nor
                            a date of birth confirms the person (review)
  DOB_CONFLICT              the supplied date of birth contradicts the candidate's
  AMBIGUOUS_IDENTITY        a runner-up above the floor within `margin_bits` of the best
  LOW_CONFIDENCE            the best is above the floor but below the disclosure threshold
  NAME_UNIQUE_AT_ADDRESS    instead of LOW_CONFIDENCE when the requested address is on file
                            for the candidate in standard form, the family and given names
                            are the candidate's exactly, and no one else who filed from that
                            address has that given name or one like it
                            (`name_unique_at_address`); its effect is a setting
                            (`name_unique_at_address_effect`: review by default, or warn,
                            which discloses and records it)

A supplied TIN that is not the candidate's does not conflict when returns filed under
that TIN carry the candidate's name at the requested address (a W-2 under a lent SSN):
the person is identified by name, date of birth and address, and the TIN is explained.

Levels are read by name (`resolve.model.gammas`), never by number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import polars as pl

from ftigate.facts.address import COMPARED_COLUMNS, Tolerance, corroborations
from ftigate.facts.identifiers import name_and_address_alone
from ftigate.facts.names import (
    GivenRelation,
    SurnameRelation,
    best_given_relation,
    given_words,
    surname_relation,
    surname_words,
)
from ftigate.facts.tin import tin_relation_expr
from ftigate.law.loader import default_law
from ftigate.law.model import Effect, Parameters
from ftigate.law.outcome import Outcome, outcomes
from ftigate.resolve.model import gammas
from ftigate.resolve.standardise import REQUEST_ADDRESS_PREFIX

NO_MATCH = "NO_MATCH"
TIN_CONFLICT = "TIN_CONFLICT"
GIVEN_NAME_CONFLICT = "GIVEN_NAME_CONFLICT"
ADDRESS_NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
ADDRESS_UNIT_OMITTED = "ADDRESS_UNIT_OMITTED"
DOB_CONFLICT = "DOB_CONFLICT"
AMBIGUOUS_IDENTITY = "AMBIGUOUS_IDENTITY"
LOW_CONFIDENCE = "LOW_CONFIDENCE"
NAME_UNIQUE_AT_ADDRESS = "NAME_UNIQUE_AT_ADDRESS"
NAME_AND_ADDRESS_ONLY = "NAME_AND_ADDRESS_ONLY"
GATE_ORDER = (
    NO_MATCH,
    TIN_CONFLICT,
    GIVEN_NAME_CONFLICT,
    ADDRESS_NOT_CORROBORATED,
    ADDRESS_UNIT_OMITTED,
    DOB_CONFLICT,
    AMBIGUOUS_IDENTITY,
    LOW_CONFIDENCE,
    NAME_AND_ADDRESS_ONLY,
    NAME_UNIQUE_AT_ADDRESS,
)
DISCLOSED_GATE = "all gates passed"

DISCLOSE, REFUSE, REVIEW = "disclose", "refuse", "review"

TIN_AGREES = gammas("tin", "exact", "former_itin", "keying_slip")
TIN_HELD = gammas("tin", "exact", "former_itin")
DOB_AGREES = gammas("dob", "exact", "keying_slip")
DOB_SAME = gammas("dob", "exact")
ADDRESS_ON_FILE = gammas("address", "on_file")
GIVEN_NAME_AGREES = gammas("first_name", "exact", "fused", "keying_slip", "initial")
GIVEN_NAME_WITH_CONFIRMATION = gammas("first_name", "nickname")
NAMES_SWAPPED = gammas("first_name", "swapped", "swapped_slip")
SURNAME_SWAPPED = gammas("last_name", "swapped", "swapped_slip")
GIVEN_NAME_EXACT = gammas("first_name", "exact")
AT_THE_ADDRESS = gammas("address", "on_file", "variant", "misspelt")
"""levels at which another candidate lives at the requested address (up to its writing)"""
GIVEN_NAME_UNLIKE = gammas("first_name", "else", "similar", "resembling")
"""given-name levels that tell two people apart; any other (a nickname, an initial, a slip,
a missing name) could be the requested person"""

FACTS_GIVEN_AGREES = (GivenRelation.SAME.value, GivenRelation.SLIP.value, GivenRelation.INITIAL.value)
"""given-name relations (`facts.names`) that fit without anything else confirming the person;
a NICKNAME fits only with a TIN or the same date of birth, ONE_NAME (two nicknames of one
name) only with both, and FORMAL or CONFLICT never"""

ON_FILE_PREFIX = "f_"
"""prefix of a candidate's address parts in the `on_file` frame the gates receive"""


def _in_force_today(name: str) -> Callable[[], float]:
    def read() -> float:
        return float(getattr(default_law().parameters, name))

    return read


@dataclass(frozen=True)
class Thresholds:
    """Decision settings: law parameters (rules/identity/6103_a_identity.yaml, where the
    measurement that chose them is given), settable in a policy file and on the command
    line. `Thresholds()` holds today's; `Thresholds.of(law.parameters)` a letter date's."""

    disclose_probability: float = field(default_factory=_in_force_today("disclose_probability"))
    """the best candidate's match probability needed to disclose"""
    review_floor: float = field(default_factory=_in_force_today("review_floor"))
    """below this nobody matches (NO_MATCH); between it and the threshold, review"""
    margin_bits: float = field(default_factory=_in_force_today("margin_bits"))
    """match-weight lead (log2 odds) the best candidate needs over a runner-up above the floor"""

    @classmethod
    def of(cls, parameters: Parameters) -> Thresholds:
        return cls(parameters.disclose_probability, parameters.review_floor, parameters.margin_bits)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class ThresholdsRefused(ValueError):
    """Thresholds that cannot stand together (the message names the settings, no data)."""


@dataclass(frozen=True)
class ThresholdOverrides:
    """Thresholds set by an operator (`process` and `serve` options); None: the law's on
    the letter's date."""

    disclose_probability: float | None = None
    review_floor: float | None = None
    margin_bits: float | None = None

    def over(self, in_force: Thresholds) -> Thresholds:
        """The thresholds a batch runs with: these where set, else `in_force`'s."""
        chosen = Thresholds(
            in_force.disclose_probability if self.disclose_probability is None else self.disclose_probability,
            in_force.review_floor if self.review_floor is None else self.review_floor,
            in_force.margin_bits if self.margin_bits is None else self.margin_bits,
        )
        if chosen.review_floor > chosen.disclose_probability:
            raise ThresholdsRefused(
                "--review-floor must not exceed --disclose-probability "
                f"({chosen.review_floor} > {chosen.disclose_probability})"
            )
        return chosen


def rank_candidates(candidates: pl.DataFrame) -> pl.DataFrame:
    """`candidates` ordered by request, best first (ties broken by TIN), with `rank` (0 = best).

    Done once per batch: the gates and the explanations read the same order. Requests are
    taken in the order of `request_row` (`resolve.score.score_candidates`) when the frame
    has it: sorting millions of candidates by an integer takes a fraction of the time of
    sorting them by a text id, and each request's own order is the same."""
    request = "request_row" if "request_row" in candidates.columns else "request_id"
    return candidates.sort([request, "match_weight", "tin"], descending=[False, True, False]).with_columns(
        rank=pl.int_range(pl.len()).over(request)
    )


def plausible_best(candidates: pl.DataFrame, thresholds: Thresholds) -> pl.DataFrame:
    """request_id, tin of each request's best candidate above the review floor: the only
    taxpayers whose addresses on file the gates need (and the only ones ever disclosed)."""
    ranked = candidates if "rank" in candidates.columns else rank_candidates(candidates)
    return ranked.filter(
        (pl.col("rank") == 0) & (pl.col("match_probability") >= thresholds.review_floor)
    ).select("request_id", "tin")


def address_corroboration(best: pl.DataFrame, requests: pl.DataFrame, on_file: pl.DataFrame) -> pl.DataFrame:
    """request_id, corroborated, unit_omitted_only, tolerances: whether the requested address
    is one on file for the best candidate (`facts.address.corroborate`, over every address
    the candidate filed from under their own name).

    `best`: request_id, tin, person_confirmed (a TIN or DOB agrees). `requests`: unique_id
    and the request's address parts (prefixed `r_`). `on_file`: tin and the candidate's
    address parts (prefixed `f_`), one row per address on file."""
    wanted = [REQUEST_ADDRESS_PREFIX + c for c in COMPARED_COLUMNS]
    pairs = best.join(
        requests.select(pl.col("unique_id").alias("request_id"), *wanted), on="request_id"
    ).join(on_file, on="tin")
    if pairs.height == 0:
        return pl.DataFrame(
            schema={"request_id": pl.String, "corroborated": pl.Boolean, "unit_omitted_only": pl.Boolean,
                    "tolerances": pl.List(pl.String)}
        )  # fmt: skip
    pairs = pairs.with_columns(corroborations(pairs, REQUEST_ADDRESS_PREFIX, ON_FILE_PREFIX))
    unit = Tolerance.UNIT_OMITTED.value
    judged = pairs.with_columns(
        _fits=pl.col("tolerances").is_not_null()
        & (~pl.col("tolerances").list.contains(unit) | pl.col("person_confirmed")),
        _unit_only=pl.col("tolerances").is_not_null()
        & pl.col("tolerances").list.contains(unit)
        & ~pl.col("person_confirmed"),
        _size=pl.col("tolerances").list.len(),
    )
    fitting = judged.filter("_fits").sort("_size")
    return (
        judged.group_by("request_id")
        .agg(
            pl.col("_fits").any().alias("corroborated"), pl.col("_unit_only").any().alias("unit_omitted_only")
        )
        .join(
            fitting.group_by("request_id", maintain_order=True).agg(pl.col("tolerances").first()),
            on="request_id",
            how="left",
        )
    )


def _given_relation_of(requested_first: str, requested_last: str, first: str, last: str) -> str:
    """The given-name relation as `facts.names` reads it, with the request's two names also
    read the other way round when its family name field holds the candidate's given name
    and its given name field the candidate's surname ("NIETO MENDOZA" / "ROBERTO")."""
    relation = best_given_relation(given_words(requested_first), given_words(first))
    if surname_relation(surname_words(requested_first), surname_words(last)) is SurnameRelation.SAME:
        swapped = best_given_relation(given_words(requested_last), given_words(first))
        relation = min(relation, swapped, key=list(GivenRelation).index)
    return relation.value


def given_name_relations(pairs: pl.DataFrame) -> pl.Series:
    """`facts.names.given_relation` of each row of `pairs` (r_first, r_last, f_first, f_last),
    computed once per distinct four names."""
    names = ["r_first", "r_last", "f_first", "f_last"]
    distinct = pairs.select(names).unique()
    related = distinct.with_columns(
        relation=pl.struct(names).map_elements(
            lambda row: _given_relation_of(*(row[n] or "" for n in names)), return_dtype=pl.String
        )
    )
    return pairs.join(related, on=names, how="left", nulls_equal=True, maintain_order="left")["relation"]


def _facts_relations(
    frame: pl.DataFrame, requests: pl.DataFrame, names_on_file: pl.DataFrame | None, plausible: pl.Expr
) -> pl.Series:
    """The `facts.names` given-name relation of each row's best candidate, where the model's
    first-name level does not already fit and the candidate is plausible (else null)."""
    empty = pl.Series("_relation", [None] * frame.height, dtype=pl.String)
    if names_on_file is None or not {"first_name", "last_name"} <= set(requests.columns):
        return empty
    # a given name one slip from the candidate's surname reaches the `swapped_slip` level
    # even when the surnames agree (Osa Sosa for Rosa Sosa): that is no swap, so read it too
    placed = pl.col("gamma_first_name").is_in(GIVEN_NAME_AGREES).fill_null(False)
    unplaced = plausible.fill_null(False) & ~placed
    rows = frame.with_row_index("_row").filter(unplaced).select("_row", "request_id", "tin")
    if rows.height == 0:
        return empty
    pairs = rows.join(
        requests.select(
            pl.col("unique_id").alias("request_id"),
            pl.col("first_name").alias("r_first"),
            pl.col("last_name").alias("r_last"),
        ),
        on="request_id",
        how="left",
    ).join(
        names_on_file.select(
            "tin", pl.col("first_name").alias("f_first"), pl.col("last_name").alias("f_last")
        ).unique("tin"),
        on="tin",
        how="left",
    )
    found = pairs.select("_row", relation=given_name_relations(pairs))
    return (
        pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32)})
        .join(found, on="_row", how="left", maintain_order="left")["relation"]
        .alias("_relation")
    )


def _lent_with_a_slip(frame: pl.DataFrame, lent_returns: pl.DataFrame) -> pl.DataFrame:
    """`_lent` also where the TIN supplied is one keying slip (`facts.tin`) from a TIN whose
    returns another name filed from the requested address: a lent SSN keyed as carelessly
    as any other. An arbitrary wrong TIN lands one slip from a lent one at the very same
    address by chance about once in ten million."""
    unexplained = frame.filter(
        pl.col("_lent").is_null() & pl.col("_supplied_tin").is_not_null() & pl.col("_addr_key").is_not_null()
    ).select("request_id", "_supplied_tin", "_addr_key")
    if unexplained.height == 0 or lent_returns.height == 0:
        return frame
    lent = lent_returns.select(pl.col("tin").alias("_lent_tin"), pl.col("addr_key").alias("_addr_key"))
    slipped = (
        unexplained.join(lent.unique(), on="_addr_key")
        .filter(
            tin_relation_expr(pl.col("_supplied_tin"), pl.col("_lent_tin"), pl.lit(None, dtype=pl.String))
            == "SLIP"
        )
        .select("request_id", pl.lit(True).alias("_lent_slip"))
        .unique("request_id")
    )
    return (
        frame.join(slipped, on="request_id", how="left", maintain_order="left")
        .with_columns(_lent=pl.coalesce("_lent", "_lent_slip"))
        .drop("_lent_slip")
    )


def _same_family_name(requested: pl.Expr, on_file: pl.Expr) -> pl.Expr:
    """The family names (standard forms) are the same, or one gives one surname of the
    other's two ("Vidal" for "Vidal Colon"; the way two-surname names are most often cut)."""

    def words(name: pl.Expr) -> pl.Expr:
        return name.str.split(" ").list.eval(pl.element().filter(pl.element().str.len_chars() > 1))

    r, f = words(requested), words(on_file)
    within = (r.list.set_difference(f).list.len() == 0) | (f.list.set_difference(r).list.len() == 0)
    return (requested == on_file) | ((r.list.len() > 0) & (f.list.len() > 0) & within)


def name_unique_at_address(
    frame: pl.DataFrame, ranked: pl.DataFrame, requests: pl.DataFrame, names_on_file: pl.DataFrame | None
) -> pl.Series:
    """NAME_UNIQUE_AT_ADDRESS for each row of `frame` (one per request, its best candidate's
    levels): the name and address requested identify one taxpayer, so that a name and an
    address alone, without a date of birth or a TIN, may be enough.

    The family name at a shared address is weighed by the model as a household
    (`model.HOUSEHOLD_SURNAME`), which is right against a stranger named at a relative's
    home, but leaves a request that sets forth exactly what 6103(i)(2)(B)(i) asks (name and
    address) under the threshold even when one person of that name lives there. It holds
    when all of these do:
      - the requested address is one on file for the candidate in standard form (`on_file`);
      - the given name is the candidate's exactly, two letters or more, and the family name
        is the candidate's in standard form, or one surname of the candidate's two (or the
        other way round: `_same_family_name`);
      - the middle initials, where both are known, are the same;
      - the request names no Jr., Sr. or numeral (it says a namesake exists);
      - no other candidate at the requested address (`AT_THE_ADDRESS`; the address keys pair
        a request with everyone who filed from it) has a given name that could be the
        requested one (any level but `GIVEN_NAME_UNLIKE`): Jr. and Sr. of one name, twins
        of one name, a second "Jose" in the house all leave it false.
    Every other gate still applies. False where the names are not known (no `names_on_file`)."""
    empty = pl.Series("_name_unique", [False] * frame.height, dtype=pl.Boolean)
    needed = {"first_name", "last_name", "middle_initial", "name_suffix"}
    if names_on_file is None or not needed <= set(requests.columns) or frame.height == 0:
        return empty
    alike_here = (
        ranked.filter(
            (pl.col("rank") > 0)
            & pl.col("gamma_address").is_in(AT_THE_ADDRESS).fill_null(False)
            & ~pl.col("gamma_first_name").is_in(GIVEN_NAME_UNLIKE).fill_null(False)
        )
        .group_by("request_id")
        .agg(pl.len().alias("_alike_here"))
    )
    on_file_middle = (
        pl.col("middle_initial") if "middle_initial" in names_on_file.columns else pl.lit(None, pl.String)
    )
    named = (
        frame.select("request_id", "tin", "gamma_address", "gamma_first_name")
        .join(
            requests.select(
                pl.col("unique_id").alias("request_id"),
                pl.col("first_name").alias("_r_first"),
                pl.col("last_name").alias("_r_last"),
                pl.col("middle_initial").alias("_r_middle"),
                pl.col("name_suffix").alias("_r_suffix"),
            ),
            on="request_id",
            how="left",
        )
        .join(
            names_on_file.select(
                "tin",
                pl.col("first_name").alias("_f_first"),
                pl.col("last_name").alias("_f_last"),
                on_file_middle.alias("_f_middle"),
            ).unique("tin"),
            on="tin",
            how="left",
        )
        .join(alike_here, on="request_id", how="left")
    )
    holds = (
        pl.col("gamma_address").is_in(ADDRESS_ON_FILE)
        & pl.col("gamma_first_name").is_in(GIVEN_NAME_EXACT)
        & (pl.col("_r_first") == pl.col("_f_first"))
        & (pl.col("_r_first").str.len_chars() >= 2)
        & _same_family_name(pl.col("_r_last"), pl.col("_f_last"))
        & (
            pl.col("_r_middle").is_null()
            | pl.col("_f_middle").is_null()
            | (pl.col("_r_middle") == pl.col("_f_middle"))
        )
        & ~pl.col("_r_suffix").fill_null(True)
        & pl.col("_alike_here").is_null()
    )
    return named.select(holds.fill_null(False).alias("_name_unique")).to_series()


def decide_identities(
    candidates: pl.DataFrame,
    requests: pl.DataFrame,
    lent_returns: pl.DataFrame,
    effects: dict[str, str],
    thresholds: Thresholds,
    on_file: pl.DataFrame | None = None,
    names_on_file: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One decision per row of `requests` (screened sufficient): request_id, decision,
    reasons (list), gate, match_probability, match_weight, runner_weight, tin (the chosen
    taxpayer; internal only), address_tolerances, tin_explained_by_lent_returns.

    `candidates`: request_id, tin, match_weight, match_probability, gamma_* (from scoring),
    ranked already when they carry `rank` (`rank_candidates`).
    `requests`: unique_id, tin (supplied), dob (supplied), request_addr_key and the
    request's address parts (`standardise.standard_requests`).
    `lent_returns`: tin, addr_key of returns filed under a TIN in another person's name.
    `effects`: reason code -> "refuse" | "review" (from the law's rule files).
    `on_file`: tin and address parts (prefixed `f_`) of the addresses the plausible best
    candidates filed from under their own name (`plausible_best`); without it only an
    address on file in standard form corroborates.
    `names_on_file`: tin, first_name, last_name, middle_initial (standard forms) of the same
    candidates; with it (and `requests` carrying first_name and last_name) a given name the
    model's levels do not place is read as `facts.names` reads it, the definition the audit
    uses (a slip of a nickname, a two-letter name one slip off, names swapped around a
    two-word surname), and a name and an address may identify the person alone
    (`name_unique_at_address`, with `requests` also carrying middle_initial and
    name_suffix)."""
    ranked = candidates if "rank" in candidates.columns else rank_candidates(candidates)
    best = ranked.filter(pl.col("rank") == 0).drop("rank")
    runner = ranked.filter(pl.col("rank") == 1).select(
        "request_id",
        pl.col("match_weight").alias("runner_weight"),
        pl.col("match_probability").alias("runner_probability"),
    )
    tin_holder_elsewhere = (
        ranked.filter(pl.col("gamma_tin").is_in(TIN_HELD))
        .group_by("request_id")
        .agg(pl.len().alias("_tin_holders"))
    )
    explained = lent_returns.select(
        pl.col("tin").alias("_supplied_tin"),
        pl.col("addr_key").alias("_addr_key"),
        pl.lit(True).alias("_lent"),
    ).unique()
    frame = (
        requests.select(
            pl.col("unique_id").alias("request_id"),
            pl.col("tin").alias("_supplied_tin"),
            pl.col("dob").alias("_supplied_dob"),
            pl.col("request_addr_key").alias("_addr_key"),
        )
        .join(best, on="request_id", how="left")
        .join(runner, on="request_id", how="left")
        .join(tin_holder_elsewhere, on="request_id", how="left")
        .join(explained, on=["_supplied_tin", "_addr_key"], how="left")
    )
    frame = _lent_with_a_slip(frame, lent_returns)
    floor, threshold = thresholds.review_floor, thresholds.disclose_probability
    tin_agrees = pl.col("gamma_tin").is_in(TIN_AGREES)
    if names_on_file is not None and "prior_itin" in names_on_file.columns:
        # The model has no level for a former ITIN keyed with a slip; `facts.tin` reads it
        # as agreeing, as it reads a slip of the TIN itself.
        frame = frame.join(
            names_on_file.select("tin", pl.col("prior_itin").alias("_prior_itin")).unique("tin"),
            on="tin",
            how="left",
        )
        tin_agrees = tin_agrees | tin_relation_expr(
            pl.col("_supplied_tin"), pl.col("tin"), pl.col("_prior_itin")
        ).is_in(["SAME", "SLIP"])
    # Computed once as a column: the slip test is over a hundred string slices a row, and
    # the gates below read it several times.
    frame = frame.with_columns(_tin_agrees=tin_agrees)
    tin_agrees = pl.col("_tin_agrees")
    if "w_tin" in frame.columns:
        # A TIN the model weighed as another person's that agrees after all (a former ITIN
        # keyed with a slip) or is explained (returns filed under it carry this person's
        # name at the requested address: a lent SSN) is no evidence against the person:
        # its negative weight is taken out of the best candidate's match weight.
        excused = (
            pl.col("_supplied_tin").is_not_null()
            & ~pl.col("gamma_tin").is_in(TIN_AGREES)
            & (tin_agrees | pl.col("_lent").is_not_null())
            & (pl.col("w_tin") < 0)
        ).fill_null(False)
        weight = (
            pl.when(excused).then(pl.col("match_weight") - pl.col("w_tin")).otherwise(pl.col("match_weight"))
        )
        frame = frame.with_columns(match_weight=weight).with_columns(
            match_probability=pl.when(excused)
            .then(1.0 / (1.0 + (2.0 ** -pl.col("match_weight"))))
            .otherwise(pl.col("match_probability"))
        )
    p = pl.col("match_probability").fill_null(0.0)
    plausible = p >= floor
    dob_agrees = pl.col("gamma_dob").is_in(DOB_AGREES)
    person_confirmed = (tin_agrees | dob_agrees).fill_null(False)
    frame = frame.with_columns(_person_confirmed=person_confirmed)

    address = frame.filter(
        plausible.fill_null(False)
        & pl.col("tin").is_not_null()
        & ~pl.col("gamma_address").is_in(ADDRESS_ON_FILE).fill_null(False)
    ).select("request_id", "tin", pl.col("_person_confirmed").alias("person_confirmed"))
    if on_file is not None and address.height:
        corroborated = address_corroboration(address, requests, on_file)
    else:
        corroborated = pl.DataFrame(
            schema={"request_id": pl.String, "corroborated": pl.Boolean, "unit_omitted_only": pl.Boolean,
                    "tolerances": pl.List(pl.String)}
        )  # fmt: skip
    frame = frame.join(corroborated, on="request_id", how="left").with_columns(
        corroborated=pl.col("gamma_address").is_in(ADDRESS_ON_FILE) | pl.col("corroborated").fill_null(False),
        unit_omitted_only=pl.col("unit_omitted_only").fill_null(False),
        address_tolerances=pl.when(pl.col("gamma_address").is_in(ADDRESS_ON_FILE))
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("tolerances")),
    )

    frame = frame.with_columns(
        _relation=_facts_relations(frame, requests, names_on_file, plausible),
        _name_unique=name_unique_at_address(frame, ranked, requests, names_on_file),
    )
    # A request that gives a name and an address alone (no TIN, no date of birth): whatever
    # probability the model gives them (a rare given name reaches any threshold), they
    # cannot tell a non-filer of the same name at that home (a son named for his father)
    # from the filer. (A TIN or date of birth that is given and disagrees is refused by its
    # own gate.)
    on_name_and_address = name_and_address_alone(pl.col("_supplied_tin"), pl.col("_supplied_dob"))
    name_unique = plausible & ((p < threshold) | on_name_and_address) & pl.col("_name_unique")
    tin_given = pl.col("_supplied_tin").is_not_null()
    tin_disagrees = tin_given & ~tin_agrees
    first = pl.col("gamma_first_name")
    swapped = first.is_in(NAMES_SWAPPED) & pl.col("gamma_last_name").is_in(SURNAME_SWAPPED)
    given_name_fits = (
        first.is_in(GIVEN_NAME_AGREES)
        # A nickname is another person's name until something exact confirms it: a TIN that
        # agrees, or the same date of birth. A date one keying slip off does not, since
        # two slips at once (Kate for Catherine, 1988 for 1987) fit a sister as well.
        | (
            first.is_in(GIVEN_NAME_WITH_CONFIRMATION)
            & (tin_agrees | pl.col("gamma_dob").is_in(DOB_SAME)).fill_null(False)
        )
        | swapped
        | first.is_null()
        | (first == -1)
        | pl.col("_relation").is_in(FACTS_GIVEN_AGREES).fill_null(False)
        | (
            (pl.col("_relation") == GivenRelation.NICKNAME.value)
            & (tin_agrees | pl.col("gamma_dob").is_in(DOB_SAME))
        ).fill_null(False)
        # Two nicknames of one name (Johnny and Jack, both John) are two people's names at
        # one home until the TIN and the same date of birth both confirm the one person:
        # only twins share a date of birth, and no one names twins John twice. (Two names
        # that share a nickname, Alberto and Roberto, are two names: twins are named so.)
        | (
            (pl.col("_relation") == GivenRelation.ONE_NAME.value)
            & tin_agrees
            & pl.col("gamma_dob").is_in(DOB_SAME)
        ).fill_null(False)
    )
    checks = {
        NO_MATCH: ~plausible & pl.col("_tin_holders").is_null(),
        TIN_CONFLICT: (~plausible & pl.col("_tin_holders").is_not_null())
        | (plausible & tin_disagrees & pl.col("_lent").is_null()),
        GIVEN_NAME_CONFLICT: plausible & ~given_name_fits,
        ADDRESS_NOT_CORROBORATED: plausible & ~pl.col("corroborated") & ~pl.col("unit_omitted_only"),
        ADDRESS_UNIT_OMITTED: plausible & ~pl.col("corroborated") & pl.col("unit_omitted_only"),
        DOB_CONFLICT: plausible & pl.col("_supplied_dob").is_not_null() & ~dob_agrees,
        AMBIGUOUS_IDENTITY: plausible
        & (pl.col("runner_probability").fill_null(0.0) >= floor)
        & ((pl.col("match_weight") - pl.col("runner_weight")) < thresholds.margin_bits),
        LOW_CONFIDENCE: plausible & (p < threshold) & ~pl.col("_name_unique"),
        NAME_AND_ADDRESS_ONLY: plausible & (p >= threshold) & on_name_and_address & ~pl.col("_name_unique"),
    }
    # NAME_UNIQUE_AT_ADDRESS takes LOW_CONFIDENCE's place when it alone stands between the
    # request and a disclosure, and holds back a disclosure that rests on a name and an
    # address alone above the threshold too; its effect is the office's setting
    # (`name_unique_at_address_effect`): a reviewer decides by default. Where it only warns
    # it is recorded on the disclosure it made possible (why a name and an address alone
    # were enough).
    unique_warns = effects.get(NAME_UNIQUE_AT_ADDRESS, Effect.REVIEW) == Effect.WARN

    def listed(conditions: dict[str, pl.Expr]) -> pl.Expr:
        return pl.concat_list(
            [pl.when(c.fill_null(False)).then(pl.lit(code)).otherwise(None) for code, c in conditions.items()]
        ).list.drop_nulls()

    decided = frame.with_columns(_deciding=listed(checks))
    alone = (pl.col("_deciding").list.len() == 0) & name_unique.fill_null(False)
    unique = pl.lit([NAME_UNIQUE_AT_ADDRESS], dtype=pl.List(pl.String))
    nothing = pl.lit([], dtype=pl.List(pl.String))
    if unique_warns:
        decided = decided.with_columns(_noted=pl.when(alone).then(unique).otherwise(nothing))
    else:
        decided = decided.with_columns(
            _deciding=pl.when(alone).then(unique).otherwise(pl.col("_deciding")), _noted=nothing
        )
    decided = decided.with_columns(
        decision=outcomes(decided["_deciding"], effects).replace_strict(
            {Outcome.REFUSE.value: REFUSE, Outcome.REVIEW.value: REVIEW, Outcome.PASS.value: DISCLOSE}
        ),
        gate=pl.col("_deciding").list.first().fill_null(pl.lit(DISCLOSED_GATE)),
        reasons=pl.when(pl.col("_deciding").list.len() == 0)
        .then(pl.col("_noted"))
        .otherwise(pl.col("_deciding")),
    )
    return decided.select(
        "request_id",
        "decision",
        "reasons",
        "gate",
        pl.col("match_probability"),
        pl.col("match_weight"),
        pl.col("runner_weight"),
        pl.col("tin"),
        pl.col("address_tolerances"),
        pl.col("_lent").fill_null(False).alias("tin_explained_by_lent_returns"),
    )
