"""Jobs in the store: of several workers, exactly one claims each job; a job whose
worker died is taken over once; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from web_helpers import AGENCY, Service

from ftigate.store.api import Store
from ftigate.store.service import ServiceStore


def test_several_workers_claim_each_job_once(service: Service) -> None:
    for index in range(6):
        service.runner.service.add_job(
            job_id=f"job{index}", files_key=f"{index:064x}", agency=AGENCY, submitted_by="t",
            letter_name="letter.yaml", requests_name="requests.csv",
        )  # fmt: skip
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        # Each worker has its own engine, as separate processes would.
        own = ServiceStore(Store.open(service.settings.db_url))
        try:
            start.wait()
            while (job := own.claim(name)) is not None:
                with lock:
                    claimed.append(job["id"])
        finally:
            own.store.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [f"job{i}" for i in range(6)]


def test_a_dead_workers_job_is_taken_over_and_queued_again(service: Service) -> None:
    jobs = service.runner.service
    jobs.add_job(job_id="j", files_key="f" * 64, agency=AGENCY, submitted_by="t",
                 letter_name="letter.yaml", requests_name="requests.csv")  # fmt: skip
    assert jobs.claim("dead-worker") is not None
    assert jobs.stale_jobs(timedelta(hours=1)) == []
    assert [j["id"] for j in jobs.stale_jobs(timedelta(0))] == ["j"]
    service.runner.recover(timedelta(0))
    job = jobs.job("j")
    assert job is not None and job["state"] == "queued" and job["claimed_by"] is None
    # The dead worker, were it to wake, no longer holds the job.
    assert not jobs.update_job("j", "dead-worker", progress=50)
