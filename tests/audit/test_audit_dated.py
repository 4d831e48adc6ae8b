"""An audit judges a past batch under the law of its letter's date and says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from audit_fixtures import LETTER, MARIA_NOW, HandBatch

from ftigate.audit.run import AuditResult, audit_batch
from ftigate.law.loader import load_law
from ftigate_testkit import merge, write_letter


def _audit(batch: HandBatch, tmp_path: Path, letter_date: str, policy: Path | None = None) -> dict:
    return _audit_result(batch, tmp_path, letter_date, policy).summary


def _audit_result(batch: HandBatch, tmp_path: Path, letter_date: str, policy: Path | None = None) -> AuditResult:
    letter = write_letter(tmp_path / f"letter-{letter_date}.yaml", merge(LETTER, {"record_count": 7,
                                                                                 "date": letter_date}))  # fmt: skip
    result = audit_batch(
        letter, batch.requests, batch.disclosed([{"request_id": "R000001", **MARIA_NOW}]), load_law(policy),
        reference_path=batch.reference, example_key=b"k" * 32, key_note="test", workers=1,
        policy_file=policy,
    )  # fmt: skip
    return result


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


def test_the_audit_names_the_rules_it_rests_on_and_its_report_prints_them(
    hand_batch: HandBatch, tmp_path: Path
) -> None:
    import hashlib

    from ftigate.audit.run import AUDIT_MODEL_NOTE
    from ftigate.law.timeline import law_digest
    from ftigate.report.audit_report import render_audit_html

    policy = tmp_path / "policy.yaml"
    policy.write_text("damages_per_act_usd: 2500\n")
    result = _audit_result(hand_batch, tmp_path, "2025-04-07", policy)
    summary = result.summary
    facts = summary["provenance"]["policy"]
    assert facts["law_sha256"] == law_digest(load_law(policy).at(date(2025, 4, 7)))
    assert facts["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    # The audit uses neither the model nor the disclosure thresholds, and says so.
    assert summary["provenance"]["model"] is None and "thresholds" not in facts
    html = render_audit_html(result)
    assert facts["law_sha256"] in html and facts["policy_sha256"] in html
    assert AUDIT_MODEL_NOTE.split(":")[0] in html
    assert _audit(hand_batch, tmp_path, "2025-04-07")["provenance"]["policy"]["law_sha256"] != facts["law_sha256"]
