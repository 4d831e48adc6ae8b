"""The tlog-witness add-checkpoint protocol (c2sp.org/tlog-witness): 200, 409, 422, 403,
404 and 400, through the CLI and over HTTP (a real server on a free port). The witness
holds only its state folder; the agency writes the request body from its store."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_cli_env import Env

from ftigate.cli.ledger import witness_app
from ftigate.ledger.checkpoint import Checkpoint, Signer, parse_vkey, sign_checkpoint
from ftigate.ledger.keys import load_signer
from ftigate.ledger.witness import WitnessState
from ftigate.ledger.witness_http import PATH, make_server


@pytest.fixture
def witness(env: Env) -> tuple[Path, str]:
    """(state folder, witness vkey) of a witness watching the env's log."""
    state = env.tmp / "witness"
    code, out, err = env.run(
        "init", "--state", str(state), "--name", "oversight.test/w1",
        "--log-key", load_signer().verifier.vkey(), use_app=witness_app,
    )  # fmt: skip
    assert code == 0, err
    return state, out.strip().rsplit(" ", 1)[-1]


def _request(env: Env, old: int, name: str) -> Path:
    path = env.tmp / name
    assert env.run("checkpoint", "--out", str(env.tmp / f"{name}.checkpoint"), "--force")[0] == 0
    code, _, err = env.run("witness-request", "--old", str(old), "--out", str(path), "--force")
    assert code == 0, err
    return path


def _add(env: Env, state: Path, request: Path, *extra: str) -> tuple[int, str, str]:
    return env.run(
        "add-checkpoint", "--state", str(state), "--request", str(request), *extra,
        use_app=witness_app,
    )  # fmt: skip


def test_cosigns_then_checks_consistency_from_its_own_state(env: Env, witness: tuple[Path, str]) -> None:
    state, witness_vkey = witness
    first = _request(env, 0, "first.req")
    assert first.read_text().startswith("old 0\n\nftigate.test/ledger\n12\n")
    cosigned = env.tmp / "cosigned.checkpoint"
    code, out, err = _add(env, state, first, "--out", str(cosigned))
    assert code == 0, err
    assert out.startswith("\u2014 oversight.test/w1 ") and out.endswith("\n")
    code, out, err = env.run("verify", "--checkpoint", str(cosigned), "--witness-key", witness_vkey)
    assert code == 0, err
    # 409: the witness last cosigned 12, not 0; the CLI says which size to ask from.
    code, _, err = _add(env, state, first)
    assert code == 1 and "conflict (409): the witness last cosigned size 12" in err
    # The log grows; a request from 12 carries a consistency proof and is cosigned.
    env.append(4)
    grown = _request(env, 12, "grown.req")
    assert len(grown.read_text().split("\n\n")[0].splitlines()) > 1  # old line + proof lines
    code, _, err = _add(env, state, grown)
    assert code == 0, err
    assert "\n17\n" in (state / "accepted.checkpoint").read_text()


def test_the_witness_never_writes_through_a_link_planted_in_its_folder(
    env: Env, witness: tuple[Path, str]
) -> None:
    """The old staging name (`.accepted.checkpoint.<pid>`) could be a link someone planted,
    which the witness then truncated: now it writes only a new file of its own."""
    import os

    state, _ = witness
    victim = env.tmp / "victim.txt"
    victim.write_text("not the witness's\n")
    (state / f".accepted.checkpoint.{os.getpid()}").symlink_to(victim)
    code, _, err = _add(env, state, _request(env, 0, "first.req"))
    assert code == 0, err
    assert victim.read_text() == "not the witness's\n"
    assert "\n12\n" in (state / "accepted.checkpoint").read_text()
    assert not [
        p for p in state.iterdir() if p.name.startswith(".accepted.checkpoint.") and not p.is_symlink()
    ]


def test_a_bad_proof_is_422_and_changes_nothing(env: Env, witness: tuple[Path, str]) -> None:
    state, _ = witness
    assert _add(env, state, _request(env, 0, "first.req"))[0] == 0
    env.append(4)
    lines = _request(env, 12, "grown.req").read_text().split("\n")
    lines[1] = base64.b64encode(b"\x00" * 32).decode()
    forged = env.tmp / "forged.req"
    forged.write_text("\n".join(lines))
    code, _, err = _add(env, state, forged)
    assert code == 1 and "refused (422)" in err
    assert "\n12\n" in (state / "accepted.checkpoint").read_text()


def test_a_checkpoint_not_signed_by_the_log_key_is_403(env: Env, witness: tuple[Path, str]) -> None:
    state, _ = witness
    impostor = Signer.generate(load_signer().name)
    note = sign_checkpoint(Checkpoint(impostor.name, 1, b"\x01" * 32), impostor).serialize()
    request = env.tmp / "impostor.req"
    request.write_text("old 0\n\n" + note)
    code, _, err = _add(env, state, request)
    assert code == 1 and "refused (403)" in err
    assert not (state / "accepted.checkpoint").exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"old 01\n\nx\n", b"old 0\nnot-base64!\n\nx\n", b"new 0\n\n", b"\xff\xfe"],
)
def test_a_malformed_request_is_bad_input(env: Env, witness: tuple[Path, str], body: bytes) -> None:
    state, _ = witness
    request = env.tmp / "bad.req"
    request.write_bytes(body)
    code, _, err = _add(env, state, request)
    assert code == 2 and "malformed request" in err and len(err.strip().splitlines()) == 1


# --- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def server(witness: tuple[Path, str]) -> Iterator[str]:
    httpd = make_server(WitnessState.load(witness[0]), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PATH}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _post(url: str, body: bytes) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_the_protocol_over_http(env: Env, server: str) -> None:
    first = _request(env, 0, "first.req").read_bytes()
    status, _, body = _post(server, first)
    assert status == 200 and body.startswith("\u2014 oversight.test/w1 ")
    status, content_type, body = _post(server, first)
    assert (status, content_type, body) == (409, "text/x.tlog.size", "12\n")
    env.append(4)
    grown = _request(env, 12, "grown.req").read_text().split("\n")
    bad = list(grown)
    bad[1] = base64.b64encode(b"\x00" * 32).decode()
    assert _post(server, "\n".join(bad).encode())[0] == 422
    assert _post(server, "\n".join(grown).encode())[0] == 200
    impostor = Signer.generate(load_signer().name)
    note = sign_checkpoint(Checkpoint(impostor.name, 1, b"\x01" * 32), impostor).serialize()
    assert _post(server, b"old 17\n\n" + note.encode())[0] == 403
    other = Signer.generate("other.test/log")
    note = sign_checkpoint(Checkpoint(other.name, 1, b"\x01" * 32), other).serialize()
    assert _post(server, b"old 0\n\n" + note.encode())[0] == 404
    assert _post(server, b"old zero\n\n")[0] == 400
    assert _post(server.replace(PATH, "/other"), b"")[0] == 404


def test_witness_serve_runs_as_a_process(env: Env, witness: tuple[Path, str]) -> None:
    state, witness_vkey = witness
    code = "from ftigate.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", code, "witness", "serve", "--state", str(state),
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("witness listening on http://127.0.0.1:"), proc.stderr
        url = line.strip().rsplit(" ", 1)[-1]
        status, _, body = _post(url, _request(env, 0, "first.req").read_bytes())
        assert status == 200
        assert parse_vkey(witness_vkey).name in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_same_size_with_another_root_is_a_conflict(env: Env, witness: tuple[Path, str]) -> None:
    state, _ = witness
    assert _add(env, state, _request(env, 0, "first.req"))[0] == 0
    other = sign_checkpoint(Checkpoint(load_signer().name, 12, b"\x02" * 32), load_signer())
    response = WitnessState.load(state).add_checkpoint(("old 12\n\n" + other.serialize()).encode())
    assert (response.status, response.content_type, response.body) == (
        409,
        "text/x.tlog.size",
        "12\n",
    )
    same = (state / "accepted.checkpoint").read_text()
    assert WitnessState.load(state).add_checkpoint(("old 12\n\n" + same).encode()).status == 200
