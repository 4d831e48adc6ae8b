"""`ftigate users add`, `ftigate token issue` and `ftigate serve` from the command line,
and a real server killed in the middle of a job and started again."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner
from web_helpers import AGENCY, PASSWORD

from ftigate.cli.main import app
from ftigate.ledger.keys import load_signer
from ftigate.store.api import Store
from ftigate.store.models import DecisionRow, User
from ftigate.store.service import ServiceStore
from ftigate.web.security import password_matches

runner = CliRunner()
FTIGATE = str(Path(sys.executable).with_name("ftigate"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ftigate.db'}"


def test_users_add_hashes_the_password_with_argon2id(sqlite_url: str) -> None:
    done = runner.invoke(
        app, ["users", "add", "officer-a", "--name", "Officer A", "--role", "disclosure_officer",
              "--password-stdin", "--db", sqlite_url], input=PASSWORD + "\n",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with Store.open(sqlite_url) as store, store.engine.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(User.id == "officer-a")).scalar_one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert password_matches(PASSWORD, stored)
        assert ServiceStore(store).account("officer-a").roles == {"disclosure_officer"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "is not a role"),
        (["--role", "requester"], "a requester needs --agency"),
        (["--role", "auditor", "--agency", "X"], "only a requester has one"),
    ],
)
def test_users_add_refuses_bad_input(sqlite_url: str, args: list[str], message: str) -> None:
    done = runner.invoke(app, ["users", "add", "u", "--name", "U", *args, "--password-stdin", "--db", sqlite_url],
                         input=PASSWORD + "\n")  # fmt: skip
    assert done.exit_code == 2 and message in done.output


def test_users_add_refuses_a_short_password_and_a_second_user_of_one_id(sqlite_url: str) -> None:
    base = ["users", "add", "u", "--name", "U", "--role", "auditor", "--password-stdin", "--db", sqlite_url]
    assert runner.invoke(app, base, input="short\n").exit_code == 2
    assert runner.invoke(app, base, input=PASSWORD + "\n").exit_code == 0
    again = runner.invoke(app, base, input=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output


def test_token_issue_prints_the_token_once_and_stores_its_hash(sqlite_url: str) -> None:
    done = runner.invoke(app, ["token", "issue", "--agency", AGENCY, "--json", "--db", sqlite_url])
    assert done.exit_code == 0, done.output
    issued = json.loads(done.stdout)
    with Store.open(sqlite_url) as store, store.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM agency_tokens"))
        assert issued["token"] not in dump
    revoked = runner.invoke(app, ["token", "revoke", issued["token_id"], "--db", sqlite_url])
    assert revoked.exit_code == 0
    assert runner.invoke(app, ["token", "revoke", issued["token_id"], "--db", sqlite_url]).exit_code == 2


def test_serve_refuses_insecure_cookies_off_loopback(tmp_path: Path, synthetic: Path) -> None:
    done = runner.invoke(app, ["serve", "--reference", str(synthetic / "pop"), "--data-dir", str(tmp_path / "d"),
                               "--host", "0.0.0.0", "--insecure-cookies"])  # fmt: skip
    assert done.exit_code == 2 and "127.0.0.1 only" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--review-floor", "0.9", "--disclose-probability", "0.5"], "--review-floor must not exceed --disclose-probability (0.9 > 0.5)"),
        (["--disclose-probability", "1.5"], "--disclose-probability"),
        (["--margin-bits", "-1"], "--margin-bits"),
        (["--witness-key", "not-a-key"], "--witness-key"),
        (["--cosigned", "/nonexistent/cosigned"], "--cosigned /nonexistent/cosigned: not a folder"),
    ],
)
def test_serve_refuses_bad_thresholds_and_witness_settings(
    tmp_path: Path, synthetic: Path, args: list[str], message: str
) -> None:
    done = runner.invoke(app, ["serve", "--reference", str(synthetic / "pop"), "--data-dir", str(tmp_path / "d"),
                               *args])  # fmt: skip
    assert done.exit_code == 2 and message in " ".join(done.output.split()), done.output
    assert not (tmp_path / "d").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: object, what: str, limit: float = 240.0) -> object:
    """Poll until `check()` returns something true (a bound on a hang, not a speed test)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


class Server:
    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [FTIGATE, "serve", "--port", str(port), "--insecure-cookies", *args],
            env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        _wait(self._up, "the server to start")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited with {self.process.returncode}")
        try:
            return httpx.get(f"{self.url}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def served(
    tmp_path: Path, synthetic: Path, sqlite_url: str
) -> Iterator[tuple[list[str], dict[str, str], str]]:
    env = {**os.environ, "FTIGATE_PSEUDONYM_KEY_FILE": str(tmp_path / "keys" / "pseudonym.key"),
           "FTIGATE_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key")}  # fmt: skip
    (tmp_path / "keys").mkdir(mode=0o700)
    subprocess.run([FTIGATE, "ledger", "keygen"], env=env, check=True, capture_output=True)
    issued = subprocess.run([FTIGATE, "token", "issue", "--agency", AGENCY, "--json", "--db", sqlite_url],
                            env=env, check=True, capture_output=True, text=True)  # fmt: skip
    args = ["--reference", str(synthetic / "pop"), "--data-dir", str(tmp_path / "data"), "--db", sqlite_url]
    yield args, env, json.loads(issued.stdout)["token"]


def test_a_server_killed_mid_job_resumes_it_and_records_nothing_twice(
    served: tuple[list[str], dict[str, str], str], synthetic: Path, tmp_path: Path, sqlite_url: str
) -> None:
    args, env, token = served
    marker = tmp_path / "paused"
    port = _free_port()
    paused = {**env, "FTIGATE_TEST_PAUSE_AT": "scoring", "FTIGATE_TEST_PAUSE_MARKER": str(marker)}
    first = Server([*args, "--stale-after", "2"], paused, port, tmp_path / "server.log")
    try:
        root = synthetic / "batch"
        answer = httpx.post(
            f"{first.url}/api/batches", headers={"Authorization": f"Bearer {token}"},
            files={"letter": ("letter.yaml", (root / "letter.yaml").read_bytes()),
                   "requests": ("requests.csv", (root / "requests.csv").read_bytes())},
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        _wait(marker.exists, "the job to reach scoring")
    finally:
        first.kill()
    second = Server([*args, "--stale-after", "2"], env, port, tmp_path / "server.log")
    try:

        def settled() -> dict[str, object] | None:
            # A generous timeout: the worker beside the server keeps a loaded machine busy,
            # and this bounds a hang, it does not time the answer.
            status = httpx.get(
                f"{second.url}/api/batches/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            body: dict[str, object] = status.json()
            return body if body["state"] in ("review", "released", "failed") else None

        status = _wait(settled, "the job to finish after the restart")
    finally:
        second.stop()
    assert status["state"] == "review", status  # type: ignore[index]
    with Store.open(sqlite_url) as store:
        batches = store.batches()
        assert [b["status"] for b in batches] == ["abandoned", "decided"]
        with store.engine.connect() as conn:
            per_batch = dict(
                conn.execute(select(DecisionRow.batch_id, func.count()).group_by(DecisionRow.batch_id)).all()
            )
            ids = conn.execute(select(DecisionRow.request_id).where(DecisionRow.batch_id == batches[1]["id"]))
            assert len(set(ids.scalars())) == per_batch[batches[1]["id"]] == 300
        assert batches[0]["id"] not in per_batch, "the killed run decided nothing"
        report = store.verify(_signer(env))
        assert report.ok, [str(f) for f in report.findings]


def _signer(env: dict[str, str]) -> object:
    return load_signer(Path(env["FTIGATE_SIGNING_KEY_FILE"])).verifier


def test_demo_serve_starts_the_service_with_the_demo_batch_and_two_officers(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "demo.log"
    env = {**os.environ, "COLUMNS": "200"}
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [FTIGATE, "demo", "--out", str(tmp_path / "demo"), "--people", "2000", "--requests", "200",
             "--profile", "adversarial", "--serve", "--port", str(port)],
            env=env, stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        _wait(lambda: "agency token" in log.read_text() or process.poll() is not None, "the demo to start")
        text = log.read_text()
        assert f"http://127.0.0.1:{port}/" in text, text
        passwords = dict(re.findall(r"sign in as (\S+)\s+\(\w+\) with password (\S+)", text))
        assert {"officer-a", "officer-b"} <= set(passwords)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True)
        _wait(lambda: _reachable(client), "the server to listen")
        signed = client.post("/login", data={"user_id": "officer-a", "password": passwords["officer-a"]})
        assert signed.status_code == 200 and "Oversight dashboard" in signed.text
        _wait(lambda: _settled(client), "the demo batch to be processed")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _reachable(client: httpx.Client) -> bool:
    try:
        return client.get("/login").status_code == 200
    except httpx.HTTPError:
        return False


def _settled(client: httpx.Client) -> bool:
    jobs = client.get("/api/batches").json()
    return bool(jobs) and jobs[0]["state"] in ("review", "released")
