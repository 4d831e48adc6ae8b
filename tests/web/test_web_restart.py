"""The restart test at the issue's size: a real `ftigate serve` killed with SIGKILL while a
20,000-request job runs, then started again: the job finishes (or is failed), the ledger
verifies, nothing is recorded twice. Killed at two points: during matching (the batch is
abandoned and processed again) and with the response renamed into place but its release
not yet recorded (the release is recorded, nothing is processed again)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from test_web_cli import FTIGATE, Server, _free_port, _wait

from ftigate.intake.letter import read_letter
from ftigate.ledger.keys import load_signer
from ftigate.store.api import Store
from ftigate.store.models import DecisionRow, DisclosureRow
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io

REQUESTS = 20_000
OFFICER_PASSWORD = "restart test officer password"


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-20k")
    population = generate_population(REQUESTS, seed=14)
    synth_io.write_population(population, root / "pop")
    batch = generate_requests(population, REQUESTS, PROFILES["clean"], seed=14, profile_name="clean")
    synth_io.write_request_batch(batch, root / "batch", PROFILES["clean"])
    return root


@pytest.mark.slow
# "output:placed:decisions.csv": past the output folder's commit point, response.csv still
# staged; the restarted worker completes the set, finds the response and releases it.
@pytest.mark.parametrize("kill_at", ["scoring", "committed", "output:placed:decisions.csv"])
def test_a_server_killed_during_a_20000_request_job_finishes_it_once(
    large: Path, tmp_path: Path, kill_at: str
) -> None:
    db = f"sqlite:///{tmp_path / 'ftigate.db'}"
    env = {**os.environ, "FTIGATE_PSEUDONYM_KEY_FILE": str(tmp_path / "keys" / "pseudonym.key"),
           "FTIGATE_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key")}  # fmt: skip
    (tmp_path / "keys").mkdir(mode=0o700)
    subprocess.run([FTIGATE, "ledger", "keygen"], env=env, check=True, capture_output=True)
    agency = read_letter(large / "batch" / "letter.yaml").requesting_agency
    issued = subprocess.run([FTIGATE, "token", "issue", "--agency", agency, "--db", db],
                            env=env, check=True, capture_output=True, text=True)  # fmt: skip
    auth = {"Authorization": f"Bearer {issued.stdout.strip()}"}
    args = ["--reference", str(large / "pop"), "--data-dir", str(tmp_path / "data"), "--db", db,
            "--stale-after", "2"]  # fmt: skip
    marker = tmp_path / "paused"
    port = _free_port()
    paused = {**env, "FTIGATE_TEST_PAUSE_AT": kill_at, "FTIGATE_TEST_PAUSE_MARKER": str(marker)}
    first = Server(args, paused, port, tmp_path / "server.log")
    try:
        answer = httpx.post(
            f"{first.url}/api/batches", headers=auth, timeout=120,
            files={"letter": ("letter.yaml", (large / "batch" / "letter.yaml").read_bytes()),
                   "requests": ("requests.csv", (large / "batch" / "requests.csv").read_bytes())},
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        if kill_at != "scoring":
            _refuse_the_queue(first.url, job_id, env, db, marker)
        _wait(marker.exists, f"the job to reach {kill_at}")
    finally:
        first.kill()
    second = Server(args, env, port, tmp_path / "server.log")
    try:

        def settled() -> dict[str, object] | None:
            # A bound on a hang, not a timing: the worker keeps a loaded machine busy.
            answer = httpx.get(f"{second.url}/api/batches/{job_id}", headers=auth, timeout=60)
            body: dict[str, object] = answer.json()
            return body if body["state"] in ("review", "released", "failed") else None

        status = _wait(settled, "the job to finish after the restart")
        response = httpx.get(f"{second.url}/api/batches/{job_id}/response", headers=auth, timeout=120)
    finally:
        second.stop()
    assert status["state"] in ("review", "released"), status  # type: ignore[index]
    with Store.open(db) as store:
        batches = store.batches()
        live = batches[-1]["id"]
        statuses = [b["status"] for b in batches]
        if kill_at == "scoring":
            assert statuses[0] == "abandoned" and len(statuses) == 2, statuses
        else:
            assert statuses == ["released"], "a response in place is released, not processed again"
        with store.engine.connect() as conn:
            per_batch = dict(
                conn.execute(select(DecisionRow.batch_id, func.count()).group_by(DecisionRow.batch_id)).all()
            )
            decided = conn.execute(select(DecisionRow.request_id).where(DecisionRow.batch_id == live))
            assert len(set(decided.scalars())) == per_batch[live] == REQUESTS
            disclosed = conn.execute(select(DisclosureRow.batch_id, DisclosureRow.request_id)).all()
        assert set(per_batch) == {live}, "the killed run decided nothing"
        assert len(set(disclosed)) == len(disclosed) and {b for b, _ in disclosed} <= {live}
        if status["state"] == "released":  # type: ignore[index]
            rows = list(csv.DictReader(io.StringIO(response.text)))
            assert len(rows) == len(disclosed) > 0.9 * REQUESTS
        report = store.verify(load_signer(Path(env["FTIGATE_SIGNING_KEY_FILE"])).verifier, pending=True)
        assert report.ok, [str(f) for f in report.findings]


def _refuse_the_queue(url: str, job_id: str, env: dict[str, str], db: str, marker: Path) -> None:
    """The few requests a clean batch leaves in review, refused by an officer over the
    API (one refusal decides), so that the job goes on to its release."""
    subprocess.run([FTIGATE, "users", "add", "officer", "--name", "Officer", "--role", "disclosure_officer",
                    "--password-stdin", "--db", db], env=env, input=OFFICER_PASSWORD + "\n", check=True,
                   capture_output=True, text=True)  # fmt: skip
    with httpx.Client(base_url=url, timeout=120) as officer:
        officer.post("/login", data={"user_id": "officer", "password": OFFICER_PASSWORD})

        def in_review() -> bool:
            return officer.get(f"/api/batches/{job_id}", timeout=60).json()["state"] == "review"

        _wait(lambda: marker.exists() or in_review(), "the job to be decided")
        if marker.exists():
            return  # nothing was left in review: the release is under way already
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', officer.get("/batches").text)
        assert found
        for item in officer.get("/api/review").json():
            officer.post(f"/api/review/{job_id}/{item['request_id']}", headers={"X-CSRF-Token": found.group(1)},
                         json={"action": "refuse", "reason": "restart test"}).raise_for_status()  # fmt: skip
