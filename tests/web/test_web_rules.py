"""The service records which rules decided each batch as `ftigate process` does: the first
event names them, and a letter-level approval (which lifts what it approves, so changes the
law) is recorded as a change of the law when the batch it lets through is recorded."""

from __future__ import annotations

from typing import Any

from test_web_flow import _process, _status
from web_helpers import Service

from ftigate.ledger.events import BatchReceived, ConfigChanged


def _leaves(service: Service, batch_id: str) -> list[dict[str, Any]]:
    kinds = (BatchReceived.kind, ConfigChanged.kind, "model_changed")
    return [event for _, event in service.runner.store.batch_leaves(batch_id, kinds)]


def test_the_services_batches_name_their_rules_and_an_approval_changes_the_law(service: Service) -> None:
    job_id = str(_process(service, "court")["job_id"])
    first = str(_status(service, job_id)["batch_id"])
    privacy = service.sign_in("privacy-1")
    approved = privacy.post(
        f"/api/batches/{job_id}/letter-review",
        json={"action": "approve", "reason": "the agency named the officers of each field office"},
        headers={"X-CSRF-Token": service.csrf(privacy)},
    )
    assert approved.status_code == 200, approved.text
    assert service.runner.run_until_idle() == 1
    second = str(_status(service, job_id)["batch_id"])

    before, after = (_leaves(service, batch) for batch in (first, second))
    assert [e["kind"] for e in before] == ["batch_received"]
    received = before[0]
    assert received["law_sha256"] and received["model_digest"] == service.runner.artefact.digest
    assert received["splink_version"] and set(received["thresholds"]) == {
        "disclose_probability", "review_floor", "margin_bits",
    }  # fmt: skip
    assert after[0]["kind"] == "batch_received" and after[0]["law_sha256"] != received["law_sha256"]
    changes = after[1:]
    assert [(e["kind"], e["setting"]) for e in changes] == [("config_changed", "law")]
    assert changes[0]["old_digest"] == received["law_sha256"]
    assert changes[0]["new_digest"] == after[0]["law_sha256"]
