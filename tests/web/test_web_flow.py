"""End to end over HTTP: an agency submits, the worker processes outside the request,
two officers approve, the response is released; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from web_helpers import AGENCY, OTHER_AGENCY, Service

from ftigate.ledger.keys import load_signer


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _process(service: Service, folder: str = "batch") -> dict[str, object]:
    root = service.synthetic / folder
    job = service.submit(service.tokens[AGENCY], root / "letter.yaml", root / "requests.csv")
    assert job["state"] == "queued"
    assert service.runner.run_until_idle() == 1
    return job


def _status(service: Service, job_id: object) -> dict[str, object]:
    with service.client() as client:
        answer = client.get(f"/api/batches/{job_id}", headers=_bearer(service.tokens[AGENCY]))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _vote(client: object, service: Service, job_id: str, request_id: str, action: str) -> dict[str, object]:
    token = service.csrf(client)  # type: ignore[arg-type]
    answer = client.post(  # type: ignore[attr-defined]
        f"/api/review/{job_id}/{request_id}",
        json={"action": action, "reason": "checked the address history"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _verifies(service: Service) -> None:
    report = service.runner.store.verify(load_signer().verifier)
    assert report.ok, [str(f) for f in report.findings]


def test_two_officers_approve_and_the_response_is_released(service: Service) -> None:
    job = _process(service)
    job_id = str(job["job_id"])
    assert _status(service, job_id)["state"] == "review"
    a, b = service.sign_in("officer-a"), service.sign_in("officer-b")
    queue = a.get("/api/review").json()
    assert len(queue) == 7 and {q["reasons"][0] for q in queue} <= {
        "LOW_CONFIDENCE", "AMBIGUOUS_IDENTITY", "NAME_UNIQUE_AT_ADDRESS", "NAME_AND_ADDRESS_ONLY",
    }  # fmt: skip
    first, *others = [q["request_id"] for q in queue]
    # The evidence of an item is shown only once its view is in the ledger.
    seen_before = service.runner.store.latest_tree_head().size
    shown = a.get(f"/api/review/{job_id}/{first}").json()
    assert shown["resolved"] and shown["candidates"][0]["tin_last4"].isdigit()
    assert len(shown["candidates"][0]["tin_last4"]) == 4
    assert service.runner.store.latest_tree_head().size > seen_before
    assert _vote(a, service, job_id, first, "approve")["decision"] == "review"
    # Blind: the second officer does not see the first one's vote.
    assert b.get(f"/api/review/{job_id}/{first}").json()["my_vote"] is None
    # One officer cannot approve twice.
    again = a.post(f"/api/review/{job_id}/{first}", json={"action": "approve", "reason": "again"},
                   headers={"X-CSRF-Token": service.csrf(a)})  # fmt: skip
    assert again.status_code == 403
    assert _vote(b, service, job_id, first, "approve")["decision"] == "disclose"
    assert _status(service, job_id)["state"] == "review", "six requests are still pending"
    for request_id in others:
        last = _vote(a, service, job_id, request_id, "refuse")
        assert last["decision"] == "refuse"
    assert last["batch_ready"]
    assert _status(service, job_id)["state"] == "releasing"
    assert service.runner.run_until_idle() == 1
    status = _status(service, job_id)
    assert status["state"] == "released"
    with service.client() as client:
        response = client.get(f"/api/batches/{job_id}/response", headers=_bearer(service.tokens[AGENCY]))
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.text)))
        # Another agency's token does not even learn the batch exists.
        other = client.get(f"/api/batches/{job_id}/response", headers=_bearer(service.tokens[OTHER_AGENCY]))
        assert other.status_code == 404
    ids = {r["request_id"] for r in rows}
    assert first in ids and not ids & set(others)
    disclosed = [d for d in service.runner.store.disclosures() if d["batch_id"] == status["batch_id"]]
    counts = a.get(f"/api/batches/{job_id}/counts").json()["decisions"]
    assert "review" not in counts and counts["disclose"][""] == len(rows)
    assert len(disclosed) == len(rows)
    _verifies(service)
    auditor = service.sign_in("auditor-1")
    page = auditor.post("/ledger/verify", data={"csrf_token": service.csrf(auditor, "/ledger")})
    assert "The ledger verifies" in page.text


def test_one_officer_alone_cannot_release(service: Service) -> None:
    job_id = str(_process(service)["job_id"])
    a = service.sign_in("officer-a")
    for item in a.get("/api/review").json():
        assert _vote(a, service, job_id, item["request_id"], "approve")["decision"] == "review"
    assert _status(service, job_id)["state"] == "review"
    assert service.runner.run_until_idle() == 0
    with service.client() as client:
        early = client.get(f"/api/batches/{job_id}/response", headers=_bearer(service.tokens[AGENCY]))
    assert early.status_code == 409


def test_the_same_files_return_the_same_batch(service: Service) -> None:
    first = service.submit(service.tokens[AGENCY])
    again = service.submit(service.tokens[AGENCY])
    assert again["job_id"] == first["job_id"]
    assert service.runner.run_until_idle() == 1


def test_letter_level_review_is_the_privacy_officers(service: Service) -> None:
    job_id = str(_process(service, "court")["job_id"])
    privacy, officer = service.sign_in("privacy-1"), service.sign_in("officer-a")
    counts = privacy.get(f"/api/batches/{job_id}/counts").json()
    assert counts["letter_review"] == "pending"
    assert officer.get("/api/review").json() == [], "no item is reviewed before the letter"
    refused = officer.post(f"/api/batches/{job_id}/letter-review", json={"action": "refuse", "reason": "x"},
                           headers={"X-CSRF-Token": service.csrf(officer)})  # fmt: skip
    assert refused.status_code == 403
    decided = privacy.post(
        f"/api/batches/{job_id}/letter-review",
        json={"action": "refuse", "reason": "three officers cannot be engaged in every case"},
        headers={"X-CSRF-Token": service.csrf(privacy)},
    )
    assert decided.status_code == 200, decided.text
    assert _status(service, job_id)["state"] == "releasing"
    service.runner.run_until_idle()
    assert _status(service, job_id)["state"] == "released"
    counts = privacy.get(f"/api/batches/{job_id}/counts").json()
    assert counts["letter_review"] == "refuse" and set(counts["decisions"]) == {"refuse"}
    _verifies(service)


def test_an_approved_letter_is_processed_again_as_a_new_batch(service: Service) -> None:
    job_id = str(_process(service, "court")["job_id"])
    first = str(_status(service, job_id)["batch_id"])
    privacy = service.sign_in("privacy-1")
    approved = privacy.post(
        f"/api/batches/{job_id}/letter-review",
        json={
            "action": "approve",
            "reason": "the agency named the officers of each field office in a later letter",
        },
        headers={"X-CSRF-Token": service.csrf(privacy)},
    )
    assert approved.status_code == 200, approved.text
    assert _status(service, job_id)["state"] == "queued"
    assert service.runner.run_until_idle() == 1
    status = _status(service, job_id)
    second = str(status["batch_id"])
    assert second != first and status["state"] in ("review", "released")
    batches = {b["id"]: b["status"] for b in service.runner.store.batches()}
    assert batches[first] == "abandoned"
    counts = privacy.get(f"/api/batches/{job_id}/counts").json()
    assert counts["letter_review"] == "approve"
    reasons = {code for by_reason in counts["decisions"].values() for code in by_reason}
    # ADDRESS_NOT_CORROBORATED is a finding about a taxpayer record: only an inspection makes it.
    assert "LETTER_OFFICERS_IMPLAUSIBLE" not in reasons and "ADDRESS_NOT_CORROBORATED" in reasons
    # The records were inspected only after the approval, in the new batch.
    inspected = [leaf for leaf in service.runner.store.leaves("inspection_started")]
    assert inspected and all(second.encode() in leaf.entry for leaf in inspected)
    _verifies(service)


def test_the_household_at_the_requested_address_is_shown_masked_and_recorded(service: Service) -> None:
    from ftigate.ledger.events import RecordViewed, event_from_entry
    from ftigate.store.api import decode_entry

    job_id = str(_process(service)["job_id"])
    a = service.sign_in("officer-a")
    shown_any = 0
    for item in a.get("/api/review").json():
        evidence = a.get(f"/api/review/{job_id}/{item['request_id']}").json()
        # LOW_CONFIDENCE is a household gate: the list is there (possibly empty), masked.
        assert evidence["household"] is not None
        for resident in evidence["household"]:
            assert set(resident) == {"given_name", "surname_initial", "birth_year", "tin_last4", "unit", "tax_year"}
            assert len(resident["tin_last4"]) == 4 and len(resident["surname_initial"]) <= 2
            assert len(resident["birth_year"]) in (0, 4)
        viewed = [
            event_from_entry(decode_entry(e)["event"])
            for e in service.runner.store.entries_of_kinds([RecordViewed.kind])
        ]
        last = viewed[-1]
        assert isinstance(last, RecordViewed) and last.request_id == item["request_id"]
        # Every taxpayer shown, candidates and household, is in the view's record.
        assert len(last.taxpayers) == len(evidence["candidates"]) + len(evidence["household"])
        shown_any += len(evidence["household"])
        page = a.get(f"/review/{job_id}/{item['request_id']}").text
        assert "Others on file at the requested address" in page
    assert shown_any, "the synthetic batch should put someone beside a candidate"


def test_a_failed_release_is_retried_by_the_privacy_officer_once_and_recorded(service: Service) -> None:
    from ftigate.ledger.events import ReleaseRetried
    from ftigate.web.jobs import OUT, job_dir

    job_id = str(_process(service)["job_id"])
    a, b, privacy = service.sign_in("officer-a"), service.sign_in("officer-b"), service.sign_in("privacy-1")
    first, *others = [q["request_id"] for q in a.get("/api/review").json()]
    token = service.csrf(privacy)
    # Not a failed release while its review is under way.
    early = privacy.post(f"/api/batches/{job_id}/retry-release", json={"reason": "too early"},
                         headers={"X-CSRF-Token": token})  # fmt: skip
    assert early.status_code == 409
    _vote(a, service, job_id, first, "approve")
    _vote(b, service, job_id, first, "approve")
    for request_id in others:
        _vote(a, service, job_id, request_id, "refuse")
    # The data folder cannot take the response: something else sits where it goes.
    blocker = job_dir(service.settings, job_id) / OUT
    blocker.write_text("not ftigate's\n")
    assert service.runner.run_until_idle() == 1
    failed = _status(service, job_id)
    assert failed["state"] == "failed" and failed["error"]
    batch_id = str(failed["batch_id"])
    assert service.runner.store.batch(batch_id)["status"] == "decided"  # type: ignore[index]
    assert not [d for d in service.runner.store.disclosures() if d["batch_id"] == batch_id]
    assert "Retry the release" in privacy.get(f"/batches/{job_id}").text
    assert "Retry the release" not in a.get(f"/batches/{job_id}").text

    blocker.unlink()
    retried = privacy.post(f"/api/batches/{job_id}/retry-release", json={"reason": "space freed on the volume"},
                           headers={"X-CSRF-Token": token})  # fmt: skip
    assert retried.status_code == 202 and retried.json()["state"] == "releasing", retried.text
    # Asked again (a double click, a retried request): done once, recorded once.
    again = privacy.post(f"/api/batches/{job_id}/retry-release", json={"reason": "again"},
                         headers={"X-CSRF-Token": token})  # fmt: skip
    assert again.status_code == 200 and again.json()["state"] == "releasing"
    assert service.runner.run_until_idle() == 1
    assert _status(service, job_id)["state"] == "released"
    after = privacy.post(f"/batches/{job_id}/retry-release", data={"reason": "late", "csrf_token": token},
                         follow_redirects=False)  # fmt: skip
    assert after.status_code == 303
    retries = service.runner.store.entries_of_kinds([ReleaseRetried.kind])
    assert len(retries) == 1
    with service.client() as client:
        response = client.get(f"/api/batches/{job_id}/response", headers=_bearer(service.tokens[AGENCY]))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    disclosed = [d for d in service.runner.store.disclosures() if d["batch_id"] == batch_id]
    assert first in {r["request_id"] for r in rows} and len(disclosed) == len(rows)
    assert len({d["request_id"] for d in disclosed}) == len(disclosed), "nothing disclosed twice"
    assert [b["status"] for b in service.runner.store.batches()] == ["released"]
    _verifies(service)
