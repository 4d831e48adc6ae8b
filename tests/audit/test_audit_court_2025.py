"""The proof: replicate the 2025 process on a court-2025 batch, audit what it released,
and compare with the synthetic ground truth exactly."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from audit_fixtures import CourtBatch

from ftigate.audit.baseline import ROUTE_ADDRESS, ROUTE_TIN, irs_2025_disclosures
from ftigate.audit.reference import read_reference, read_requests
from ftigate.audit.run import AuditResult, audit_batch
from ftigate.audit.truthcheck import LAWFUL, breakdown, lawful_response, truth_categories
from ftigate.law.loader import load_law

KEY = b"k" * 32


@pytest.fixture(scope="module")
def replica(court_batch: CourtBatch, tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    disclosed = irs_2025_disclosures(
        read_requests(court_batch.requests), read_reference(court_batch.population)
    )
    path = tmp_path_factory.mktemp("replica") / "disclosed.parquet"
    disclosed.write_parquet(path)
    return disclosed, path


def _audit(court_batch: CourtBatch, disclosed: Path) -> AuditResult:
    return audit_batch(
        court_batch.letter,
        court_batch.requests,
        disclosed,
        load_law(),
        reference_path=court_batch.population,
        example_key=KEY,
        key_note="test",
        workers=1,
    )


def test_tin_route_is_exactly_the_truths_tin_route(
    court_batch: CourtBatch, replica: tuple[pl.DataFrame, Path]
) -> None:
    disclosed, _ = replica
    truth = pl.read_parquet(court_batch.truth)
    expected = set(truth.filter("tin_route_would_disclose")["request_id"].to_list())
    assert set(disclosed.filter(pl.col("route") == ROUTE_TIN)["request_id"].to_list()) == expected
    assert len(expected) > 50
    # The routes are exclusive: no address-route disclosure for a request whose TIN and name agree.
    matched = set(truth.filter("tin_name_match")["request_id"].to_list())
    assert not matched & set(disclosed.filter(pl.col("route") == ROUTE_ADDRESS)["request_id"].to_list())
    assert disclosed["request_id"].is_unique().all()


def test_audit_counts_equal_the_truth_exactly(
    court_batch: CourtBatch, replica: tuple[pl.DataFrame, Path]
) -> None:
    disclosed, path = replica
    result = _audit(court_batch, path)
    truth = truth_categories(
        disclosed, pl.read_parquet(court_batch.truth), read_reference(court_batch.population)
    )
    truth_unlawful = int((truth["truth_category"] != LAWFUL).sum())
    assert result.summary["totals"]["unlawful"] == truth_unlawful
    audited = breakdown(result.findings["primary_reason"].fill_null(LAWFUL))
    assert audited == breakdown(truth["truth_category"])
    # Request by request, not only in total.
    joined = result.findings.join(truth, on="request_id")
    assert (joined["primary_reason"].fill_null(LAWFUL) == joined["truth_category"]).all()
    # The batch is shaped like the court record: most disclosures unlawful, every category present.
    assert result.summary["totals"]["share_unlawful"] > 0.7
    assert {"ADDRESS_NOT_CORROBORATED", "WRONG_PERSON_DISCLOSED", "ADDRESS_PLACEHOLDER"} <= set(audited)


def test_a_lawful_response_audits_clean(court_batch: CourtBatch, tmp_path: Path) -> None:
    lawful = lawful_response(pl.read_parquet(court_batch.truth))
    assert lawful.height > 5
    path = tmp_path / "lawful.csv"
    lawful.write_csv(path)
    result = _audit(court_batch, path)
    assert result.summary["totals"]["unlawful"] == 0
    assert result.summary["totals"]["lawful"] == lawful.height


def test_the_audit_can_fail_a_lawful_looking_file(court_batch: CourtBatch, tmp_path: Path) -> None:
    """Shift every lawful answer's address to the next row's: each becomes the wrong person."""
    lawful = lawful_response(pl.read_parquet(court_batch.truth))
    address = ["street", "unit", "city", "state", "zip"]
    shifted = lawful.select("request_id").hstack(
        lawful.select(pl.col(c).shift(1, fill_value="") for c in address)
    )
    path = tmp_path / "shifted.csv"
    shifted.write_csv(path)
    result = _audit(court_batch, path)
    assert result.summary["totals"]["unlawful"] == lawful.height
    assert {r["code"] for r in result.summary["by_primary_reason"]} == {"WRONG_PERSON_DISCLOSED"}
