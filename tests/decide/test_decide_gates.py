"""The gates as a pure function over literal candidate rows, with levels named as the model
declares them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

import ftigate.law
from ftigate.decide.gates import ON_FILE_PREFIX, Thresholds, decide_identities
from ftigate.facts.address import COMPARED_COLUMNS, address_parts
from ftigate.law.loader import load_law
from ftigate.resolve.model import FIELDS, gamma
from ftigate.resolve.standardise import REQUEST_ADDRESS_PREFIX

LAW = load_law()
EFFECTS = {c: LAW.code(c).effect.value for c in LAW.codes if LAW.code(c).scope.value == "identity"}
REQUEST_ADDRESS = ("1 Oak St", "", "78701", "Austin")
CASES_DIR = Path(ftigate.law.__file__).parent / "cases" / "identity"


def _tables() -> dict[str, list[dict[str, Any]]]:
    """src/ftigate/law/cases/identity/CODE.yaml: cases that fire the code, cases that clear it."""
    tables = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        table = yaml.safe_load(path.read_text("utf-8"))
        assert table["code"] == path.stem, f"{path.name} declares {table['code']}"
        tables[path.stem] = [c | {"fires": True} for c in table["fires"]] + [
            c | {"fires": False} for c in table["clears"]
        ]
    return tables


CASES = _tables()


def _candidate(
    tin: str,
    weight: float,
    *,
    first: str = "exact",
    last: str = "exact",
    dob: str = "exact",
    tin_level: str = "exact",
    address: str = "on_file",
) -> dict[str, object]:
    levels = {"first_name": first, "last_name": last, "dob": dob, "tin": tin_level, "address": address}
    row: dict[str, object] = {"request_id": "R1", "tin": tin, "match_weight": weight,
                              "match_probability": 1 / (1 + 2 ** -weight)}  # fmt: skip
    return row | {f"gamma_{f}": gamma(f, levels[f]) for f in FIELDS}


def _parts(address: tuple[str, str, str, str] | list[str], prefix: str) -> dict[str, object]:
    frame = address_parts(
        pl.DataFrame([list(address)], schema=["street", "unit", "zip", "city"], orient="row")
    )
    return {prefix + c: frame[c][0] for c in COMPARED_COLUMNS}


def _decide(
    rows: list[dict[str, object]],
    *,
    tin: str | None = "111223333",
    dob: str | None = "1980-01-01",
    lent: list[tuple[str, str]] | None = None,
    requested: tuple[str, str, str, str] | list[str] = REQUEST_ADDRESS,
    on_file: dict[str, list[list[str]]] | None = None,
    names: dict[str, Any] | None = None,
    weights: bool = False,
    policy: dict[str, str] | None = None,
) -> dict[str, Any]:
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "request_id": pl.String, "tin": pl.String, "match_weight": pl.Float64, "match_probability": pl.Float64,
    }  # fmt: skip
    schema |= {f"gamma_{g}": pl.Int32 for g in FIELDS}
    if weights:
        schema |= {f"w_{g}": pl.Float64 for g in FIELDS}
    candidates = pl.DataFrame(rows, schema=schema)
    request = {"unique_id": "R1", "tin": tin, "dob": dob, "request_addr_key": "1||78701"}
    parts = _parts(requested, REQUEST_ADDRESS_PREFIX)
    requests = pl.DataFrame([request | parts], schema=dict.fromkeys([*request, *parts], pl.String))
    lent_returns = pl.DataFrame(lent or [], schema={"tin": pl.String, "addr_key": pl.String}, orient="row")
    files = pl.DataFrame(
        [
            {"tin": t} | _parts(a, ON_FILE_PREFIX)
            for t, addresses in (on_file or {}).items()
            for a in addresses
        ],
        schema={"tin": pl.String} | {ON_FILE_PREFIX + c: pl.String for c in COMPARED_COLUMNS},
    )
    names_on_file = None
    if names is not None:
        first, last = names["request"]
        # `names.middle`: the request's middle initial and the candidate's; `names.suffix`:
        # the request names a Jr., Sr. or numeral
        middle, on_middle = names.get("middle", [None, None])
        requests = requests.with_columns(
            first_name=pl.lit(first), last_name=pl.lit(last), middle_initial=pl.lit(middle, dtype=pl.String),
            name_suffix=pl.lit(bool(names.get("suffix", False))),
        )  # fmt: skip
        on_first, on_last, *prior = names["on_file"]
        names_on_file = pl.DataFrame(
            {"tin": [rows[0]["tin"]], "first_name": [on_first], "last_name": [on_last],
             "middle_initial": [on_middle], "prior_itin": [prior[0] if prior else None]},
            schema={"tin": pl.String, "first_name": pl.String, "last_name": pl.String,
                    "middle_initial": pl.String, "prior_itin": pl.String},
        )  # fmt: skip
    # `policy`: an office's settings of a code's effect (`name_unique_at_address_effect`)
    effects = EFFECTS | {code.upper().removesuffix("_EFFECT"): value for code, value in (policy or {}).items()}
    out = decide_identities(candidates, requests, lent_returns, effects, Thresholds(), files, names_on_file)
    return out.row(0, named=True)


def test_a_clear_single_match_is_disclosed() -> None:
    row = _decide(
        [_candidate("111223333", 40.0), _candidate("999887777", -20.0, dob="else", tin_level="else")]
    )
    assert (row["decision"], row["reasons"], row["tin"]) == ("disclose", [], "111223333")


def test_nobody_plausible_is_no_match() -> None:
    assert _decide([_candidate("5", -10.0, tin_level="else")], tin=None)["reasons"] == ["NO_MATCH"]


def test_no_candidates_at_all_is_no_match() -> None:
    assert _decide([], tin=None)["reasons"] == ["NO_MATCH"]


def test_a_tin_held_by_someone_the_name_does_not_fit_conflicts() -> None:
    assert _decide([_candidate("111223333", -10.0)])["reasons"] == ["TIN_CONFLICT"]


def test_a_strong_match_at_an_address_not_on_file_is_refused() -> None:
    row = _decide([_candidate("111223333", 30.0, address="else")])
    assert (row["decision"], row["reasons"]) == ("refuse", ["ADDRESS_NOT_CORROBORATED"])


def test_someone_elses_tin_conflicts_unless_a_lent_return_explains_it() -> None:
    rows = [_candidate("900112222", 30.0, tin_level="else")]
    assert _decide(rows)["reasons"] == ["TIN_CONFLICT"]
    assert _decide(rows, lent=[("111223333", "1||78701")])["decision"] == "disclose"


def test_an_explained_tin_weighs_nothing_against_the_person() -> None:
    """A lent SSN the returns explain, weighed -4.8 bits by the model as another person's
    TIN, no longer holds the best candidate below the threshold (8.9 bits is p 0.998; 13.7
    is p 0.99992); unexplained it still conflicts. The gate's rows carry the field weights
    (`w_*`) as scoring gives them."""
    base = _candidate("900112222", 8.9, tin_level="else")
    row = base | {f"w_{f}": 0.0 for f in FIELDS} | {"w_tin": -4.8}
    lent = [("111223333", "1||78701")]
    explained = _decide([row], lent=lent, weights=True)
    assert (explained["decision"], explained["reasons"]) == ("disclose", [])
    assert explained["match_probability"] > 0.9999
    assert _decide([base], lent=lent)["reasons"] == ["LOW_CONFIDENCE"]  # no weights: as scored
    assert "TIN_CONFLICT" in _decide([row], weights=True)["reasons"]


def test_a_contradicting_birth_date_is_refused() -> None:
    assert _decide([_candidate("111223333", 30.0, dob="else")])["reasons"] == ["DOB_CONFLICT"]


@pytest.mark.parametrize(("runner", "expected"), [(38.0, ["AMBIGUOUS_IDENTITY"]), (20.0, [])])
def test_a_runner_up_within_the_margin_is_too_close_to_call(runner: float, expected: list[str]) -> None:
    row = _decide([_candidate("111223333", 40.0), _candidate("111223334", runner)])
    assert row["reasons"] == expected


def test_between_floor_and_threshold_goes_to_review() -> None:
    row = _decide([_candidate("111223333", 3.0)])
    assert (row["decision"], row["reasons"]) == ("review", ["LOW_CONFIDENCE"])


def _cases() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{code}: {case['name']}", case | {"code": code}) for code, cases in CASES.items() for case in cases
    ]


@pytest.mark.parametrize(("label", "case"), _cases(), ids=[label for label, _ in _cases()])
def test_identity_gate_case(label: str, case: dict[str, Any]) -> None:
    """src/ftigate/law/cases/identity/CODE.yaml: each identity code with cases that fire it and
    cases that must not."""
    given = case["given"]
    candidate = _candidate("111223333", float(given.get("weight", 40.0)), **given.get("levels", {}))
    rows = [candidate]
    if "runner" in given:
        runner_levels = given.get("runner_levels", given.get("levels", {}))
        rows.append(_candidate("111223334", float(given["runner"]), **runner_levels))
    request = given.get("request", {})
    row = _decide(
        rows,
        tin=request.get("tin", "111223333"),
        dob=request.get("dob", "1980-01-01"),
        requested=request.get("address", REQUEST_ADDRESS),
        on_file={"111223333": given["on_file"]} if "on_file" in given else None,
        names=given.get("names"),
        policy=given.get("policy"),
        lent=[tuple(pair) for pair in given.get("lent", [])],
    )
    fires = case["code"] in row["reasons"]
    assert fires is case["fires"], f"{label}: reasons {row['reasons']}"
    if "decision" in case:
        assert row["decision"] == case["decision"], label


def test_every_identity_code_has_cases_that_fire_and_cases_that_must_not() -> None:
    gate_codes = {c for c, rc in LAW.codes.items() if "ftigate.decide.gates.decide_identities" in rc.implemented_by}
    assert gate_codes - set(CASES) == set(), "identity codes without a case table"
    assert set(CASES) - gate_codes == set(), "case tables for codes the gates do not decide"
    for code in gate_codes:
        assert any(c["fires"] for c in CASES[code]) and any(not c["fires"] for c in CASES[code]), code
