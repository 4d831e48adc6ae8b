"""Decide: the hard gates over the scored candidates (address corroborated, TIN
consistent, unique candidate), and the last known address of each disclosure."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ftigate.decide.gates import DISCLOSE, Thresholds, decide_identities, plausible_best, rank_candidates
from ftigate.law.loader import Law
from ftigate.law.model import Scope
from ftigate.resolve.reference import Reference, last_known_from, own_address_parts


@dataclass(frozen=True)
class IdentityDecisions:
    candidates: pl.DataFrame
    """every candidate, ranked as the gates ranked them"""
    identity: pl.DataFrame
    """per resolved request: decision, gate, reasons, match_probability, tin"""
    disclosed: pl.DataFrame
    """the disclosed requests with the last known address of their taxpayer"""


def decide(
    candidates: pl.DataFrame, standard: pl.DataFrame, reference: Reference, law: Law, thresholds: Thresholds
) -> IdentityDecisions:
    effects = {
        code: effect.value for code, effect in law.effects().items() if law.code(code).scope == Scope.IDENTITY
    }
    candidates = rank_candidates(candidates)
    # The addresses on file of each request's best plausible candidate, read once: the gates
    # compare them with the requested address, and the disclosed ones' last known address
    # comes from the same rows.
    best_tins = plausible_best(candidates, thresholds)["tin"]
    rows = reference.address_rows_of(best_tins)
    identity = decide_identities(
        candidates, standard, reference.lent_returns, effects, thresholds, own_address_parts(rows),
        reference.names_of(best_tins),
    )  # fmt: skip
    disclosed = identity.filter(pl.col("decision") == DISCLOSE)
    disclosed = disclosed.join(last_known_from(rows), on="tin", how="left")
    return IdentityDecisions(candidates, identity, disclosed)
