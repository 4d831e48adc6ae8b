"""An audit judges a past batch under the law of its letter's date and says so."""

from __future__ import annotations

from pathlib import Path

from audit_fixtures import LETTER, MARIA_NOW, HandBatch

from ftigate.audit.run import audit_batch
from ftigate.law.loader import load_law
from ftigate_testkit import merge, write_letter


def _audit(batch: HandBatch, tmp_path: Path, letter_date: str, policy: Path | None = None) -> dict:
    letter = write_letter(tmp_path / f"letter-{letter_date}.yaml", merge(LETTER, {"record_count": 7,
                                                                                 "date": letter_date}))  # fmt: skip
    result = audit_batch(
        letter, batch.requests, batch.disclosed([{"request_id": "R000001", **MARIA_NOW}]), load_law(policy),
        reference_path=batch.reference, example_key=b"k" * 32, key_note="test", workers=1,
    )  # fmt: skip
    return result.summary


def test_an_audit_of_a_2025_batch_cites_the_2025_law(hand_batch: HandBatch, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    # The office raises the figure from 2026 (a dated policy value): a 2025 batch keeps $1,000.
    policy.write_text("damages_per_act_usd: {values: {2026-01-01: 2500}}\n")
    of_2025 = _audit(hand_batch, tmp_path, "2025-04-07", policy)
    assert of_2025["provenance"]["policy"]["law_as_of"] == "2025-04-07"
    safeguards = next(f for f in of_2025["batch_findings"] if f["element"] == "recipient safeguards (L4)")
    assert (safeguards["finding"], safeguards["code"]) == ("question", "LETTER_RECIPIENT_SAFEGUARDS")
    damages = of_2025["damages_7431"]
    assert (damages["per_act_usd"], damages["in_force_since"], damages["law_as_of"]) == (1000, "1982-09-04", "2025-04-07")
    assert damages["citation"] == "26 U.S.C. 7431(c)(1)(A)"
    # No override is reported where the shipped law of that date is in force.
    assert of_2025["provenance"]["policy"]["overridden"] is False

    of_2026 = _audit(hand_batch, tmp_path, "2026-06-01", policy)
    safeguards = next(f for f in of_2026["batch_findings"] if f["element"] == "recipient safeguards (L4)")
    assert safeguards["finding"] == "ok"
    assert of_2026["damages_7431"]["per_act_usd"] == 2500
    assert of_2026["damages_7431"]["citation"].startswith("policy ")
    assert of_2026["provenance"]["policy"]["overridden"] is True
