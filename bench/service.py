"""`ftigate serve` under load, on loopback only: concurrent clients polling and listing
while a batch is processed, then downloading its response.

    .venv/bin/python bench/service.py --people 200000 --requests 200000 --clients 50 --data data/service

It starts the service in this process (uvicorn on 127.0.0.1, a worker thread), issues an
agency token, and measures the same polling twice in the same run: first with the server
idle (the baseline), then while the batch is screened and matched. It prints throughput and
p95 latency of each, their ratio, how long the batch took, and checks that nothing was
lost or duplicated (one decision per request, every disclosure in the response, the ledger
verifies). Bounded: at most --clients threads, --seconds of idle baseline, and the batch
itself (a clean profile, so it is released without review).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import distinct, func, select

from ftigate.ledger.keys import generate_keys, load_signer
from ftigate.store.models import DecisionRow
from ftigate.web.app import create_app
from ftigate.web.jobs import JobRunner
from ftigate.web.security import TOKEN_PREFIX, hash_password, new_secret, secret_hash
from ftigate.web.serve import build_runner
from ftigate.web.settings import ServiceSettings


def ensure_data(data: Path, people: int, requests: int, seed: int) -> Path:
    from ftigate.synth import PROFILES, generate_population, generate_requests
    from ftigate.synth import io as synth_io

    root = data / f"p{people}-r{requests}-s{seed}"
    if not (root / "batch" / "requests.csv").exists():
        population = generate_population(people, seed=seed)
        batch = generate_requests(population, requests, PROFILES["clean"], seed=seed, profile_name="clean")
        synth_io.write_population(population, root / "pop")
        synth_io.write_request_batch(batch, root / "batch", PROFILES["clean"])
    return root


def work_the_queue(url: str, runner: JobRunner, job_id: str) -> int:
    """Refuse every request of the job left in review (one refusal decides), as an officer
    over the API, and wait for the release; the number refused."""
    password = new_secret()
    runner.service.add_user(
        "bench-officer", "Bench Officer", ["disclosure_officer"], password_hash=hash_password(password)
    )
    with httpx.Client(base_url=url, timeout=600) as officer:
        officer.post("/login", data={"user_id": "bench-officer", "password": password})
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', officer.get("/batches").text)
        assert found, "no CSRF token on the batches page"
        queue = [q for q in officer.get("/api/review").json() if q["job_id"] == job_id]
        for item in queue:
            officer.post(
                f"/api/review/{job_id}/{item['request_id']}", headers={"X-CSRF-Token": found.group(1)},
                json={"action": "refuse", "reason": "bench: refused to finish the batch"},
            ).raise_for_status()  # fmt: skip
        while officer.get(f"/api/batches/{job_id}").json()["state"] not in ("released", "failed"):
            time.sleep(0.5)
    return len(queue)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def poll(url: str, token: str, stop: threading.Event, job_id: str | None) -> list[float]:
    """One client: status of the job (or the batch list), as fast as answers come."""
    latencies = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            answer = client.get(f"/api/batches/{job_id}" if job_id else "/api/batches")
            answer.raise_for_status()
            latencies.append(time.perf_counter() - started)
    return latencies


def measure(
    url: str, token: str, clients: int, job_id: str | None, until: threading.Event
) -> dict[str, float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        runs = [pool.submit(poll, url, token, until, job_id) for _ in range(clients)]
        latencies = [lat for run in runs for lat in run.result()]
    seconds = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "throughput_per_s": round(len(latencies) / seconds, 1),
        "p95_ms": round(1000 * p95(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the idle baseline")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data", type=Path, default=Path("data/service"))
    args = parser.parse_args()
    if not 1 <= args.clients <= 200:
        parser.error("--clients must be between 1 and 200")
    root = ensure_data(args.data, args.people, args.requests, args.seed)
    work = Path(tempfile.mkdtemp(prefix="ftigate-bench-service-"))
    os.environ["FTIGATE_PSEUDONYM_KEY_FILE"] = str(work / "pseudonym.key")
    os.environ["FTIGATE_SIGNING_KEY_FILE"] = str(work / "signing.key")
    generate_keys("ftigate.bench/service")
    settings = ServiceSettings(
        db_url=f"sqlite:///{work / 'ftigate.db'}", reference=root / "pop", data_dir=work / "data",
        secure_cookies=False, worker=True,
    )  # fmt: skip
    runner = build_runner(settings)
    letter = (root / "batch" / "letter.yaml").read_bytes()
    agency = next(
        line.split(":", 1)[1].strip()
        for line in letter.decode().splitlines()
        if line.startswith("requesting_agency")
    )
    token = new_secret(TOKEN_PREFIX)
    runner.service.add_token(secret_hash(token), agency, "bench")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, runner), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"

    idle = threading.Event()
    threading.Timer(args.seconds, idle.set).start()
    baseline = measure(url, token, args.clients, None, idle)

    submitted = time.perf_counter()
    answer = httpx.post(f"{url}/api/batches", headers={"Authorization": f"Bearer {token}"}, timeout=600,
                        files={"letter": ("letter.yaml", letter),
                               "requests": ("requests.csv", (root / "batch" / "requests.csv").read_bytes())})  # fmt: skip
    answer.raise_for_status()
    job_id = answer.json()["job_id"]
    done = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            while client.get(f"/api/batches/{job_id}").json()["state"] not in (
                "released",
                "review",
                "failed",
            ):
                time.sleep(0.5)
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    loaded = measure(url, token, args.clients, job_id, done)
    batch_seconds = time.perf_counter() - submitted
    reviewed = work_the_queue(url, runner, job_id)
    status = httpx.get(f"{url}/api/batches/{job_id}", headers={"Authorization": f"Bearer {token}"}).json()
    response = httpx.get(
        f"{url}/api/batches/{job_id}/response", headers={"Authorization": f"Bearer {token}"}, timeout=600
    )
    server.should_exit = True
    thread.join(timeout=60)

    store = runner.store
    with store.engine.connect() as conn:
        decisions = conn.execute(
            select(func.count(), func.count(distinct(DecisionRow.request_id))).where(
                DecisionRow.batch_id == status["batch_id"]
            )
        ).one()
    disclosed = [d for d in store.disclosures() if d["batch_id"] == status["batch_id"]]
    rows = max(response.text.count("\n") - 1, 0) if response.status_code == 200 else None
    report = store.verify(load_signer().verifier)
    result = {
        "people": args.people, "requests": args.requests, "clients": args.clients,
        "state": status["state"], "batch_seconds": round(batch_seconds, 1),
        "idle": baseline, "while_processing": loaded,
        "p95_ratio_loaded_to_idle": round(loaded["p95_ms"] / baseline["p95_ms"], 2),
        "throughput_ratio_loaded_to_idle": round(loaded["throughput_per_s"] / baseline["throughput_per_s"], 2),
        "decisions": decisions[0], "distinct_requests_decided": decisions[1],
        "refused_in_review": reviewed, "disclosures_recorded": len(disclosed), "response_rows": rows,
        "nothing_lost_or_duplicated": decisions[0] == decisions[1] == args.requests and rows == len(disclosed),
        "ledger_verifies": report.ok,
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
