"""The gates as a pure function over literal candidate rows."""

from __future__ import annotations

import polars as pl
import pytest

from ftigate.decide.gates import Thresholds, decide_identities

EFFECTS = {"NO_MATCH": "refuse", "ADDRESS_NOT_CORROBORATED": "refuse", "TIN_CONFLICT": "refuse",
           "DOB_CONFLICT": "refuse", "AMBIGUOUS_IDENTITY": "review", "LOW_CONFIDENCE": "review"}  # fmt: skip
GAMMAS = ("first_name", "last_name", "dob", "tin", "address")


def _candidate(
    tin: str, weight: float, *, dob: int = 2, tin_level: int = 3, address: int = 4
) -> dict[str, object]:
    return {"request_id": "R1", "tin": tin, "match_weight": weight,
            "match_probability": 1 / (1 + 2 ** -weight), "gamma_first_name": 5, "gamma_last_name": 4,
            "gamma_dob": dob, "gamma_tin": tin_level, "gamma_address": address}  # fmt: skip


def _decide(
    rows: list[dict[str, object]],
    *,
    tin: str | None = "111223333",
    dob: str | None = "1980-01-01",
    lent: list[tuple[str, str]] | None = None,
) -> dict[str, object]:
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "request_id": pl.String, "tin": pl.String, "match_weight": pl.Float64, "match_probability": pl.Float64,
    }  # fmt: skip
    schema |= {f"gamma_{g}": pl.Int32 for g in GAMMAS}
    candidates = pl.DataFrame(rows, schema=schema)
    requests = pl.DataFrame(
        {"unique_id": ["R1"], "tin": [tin], "dob": [dob], "request_addr_key": ["1||78701"]},
        schema=dict.fromkeys(("unique_id", "tin", "dob", "request_addr_key"), pl.String),
    )
    lent_returns = pl.DataFrame(lent or [], schema={"tin": pl.String, "addr_key": pl.String}, orient="row")
    out = decide_identities(candidates, requests, lent_returns, EFFECTS, Thresholds())
    return out.row(0, named=True)


def test_a_clear_single_match_is_disclosed() -> None:
    row = _decide([_candidate("111223333", 40.0), _candidate("999887777", -20.0, dob=0, tin_level=0)])
    assert (row["decision"], row["reasons"], row["tin"]) == ("disclose", [], "111223333")


def test_nobody_plausible_is_no_match() -> None:
    assert _decide([_candidate("5", -10.0, tin_level=0)], tin=None)["reasons"] == ["NO_MATCH"]


def test_no_candidates_at_all_is_no_match() -> None:
    assert _decide([], tin=None)["reasons"] == ["NO_MATCH"]


def test_a_tin_held_by_someone_the_name_does_not_fit_conflicts() -> None:
    assert _decide([_candidate("111223333", -10.0)])["reasons"] == ["TIN_CONFLICT"]


def test_a_strong_match_at_an_address_not_on_file_is_refused() -> None:
    row = _decide([_candidate("111223333", 30.0, address=0)])
    assert (row["decision"], row["reasons"]) == ("refuse", ["ADDRESS_NOT_CORROBORATED"])


def test_someone_elses_tin_conflicts_unless_a_lent_return_explains_it() -> None:
    rows = [_candidate("900112222", 30.0, tin_level=0)]
    assert _decide(rows)["reasons"] == ["TIN_CONFLICT"]
    assert _decide(rows, lent=[("111223333", "1||78701")])["decision"] == "disclose"


def test_a_contradicting_birth_date_is_refused() -> None:
    assert _decide([_candidate("111223333", 30.0, dob=0)])["reasons"] == ["DOB_CONFLICT"]


@pytest.mark.parametrize(("runner", "expected"), [(38.0, ["AMBIGUOUS_IDENTITY"]), (20.0, [])])
def test_a_runner_up_within_the_margin_is_too_close_to_call(runner: float, expected: list[str]) -> None:
    row = _decide([_candidate("111223333", 40.0), _candidate("111223334", runner)])
    assert row["reasons"] == expected


def test_between_floor_and_threshold_goes_to_review() -> None:
    row = _decide([_candidate("111223333", 3.0)])
    assert (row["decision"], row["reasons"]) == ("review", ["LOW_CONFIDENCE"])
