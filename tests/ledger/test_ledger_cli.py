"""`ftigate ledger` and `ftigate witness` through Typer's CliRunner, with tamper tests.

Runs on SQLite files (the store tests cover PostgreSQL); a CLI test needs a
path it can copy to make the "older copy of the database" case real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ledger_cli_env import Env

from ftigate.cli.ledger import witness_app
from ftigate.ledger.checkpoint import Checkpoint, sign_checkpoint
from ftigate.ledger.keys import load_signer
from ftigate.ledger.merkle import HashTree, leaf_hash
from ftigate.ledger.tiles import tiles_of


def test_keygen_refuses_to_overwrite(env: Env) -> None:
    code, _, err = env.run("keygen")
    assert code == 2
    assert err.startswith("error: ") and "refusing to overwrite" in err
    assert len(err.strip().splitlines()) == 1


def test_checkpoint_verify_prove_check_proof(env: Env) -> None:
    overseer = env.tmp / "overseer.checkpoint"
    code, out, err = env.run("checkpoint", "--out", str(overseer))
    assert code == 0, err
    assert overseer.read_text().startswith("ftigate.test/ledger\n12\n")
    env.append(5)  # five events and their seal
    err = _fails(env, "--checkpoint", str(overseer))
    assert "leaves 12..17 are beyond the last signed head (size 12)" in err
    code, out, _ = env.run("verify", "--checkpoint", str(overseer), "--pending")
    assert code == 0 and out.startswith("OK: 18 leaves") and "6 pending" in out
    code, in_line, _ = env.run("verify", "--checkpoint", str(overseer), "--pending", "--in-line")
    assert code == 0 and in_line == out
    env.run("checkpoint", "--out", str(env.tmp / "latest.checkpoint"))
    event_id = env.sql("SELECT event_id FROM ledger_leaves WHERE leaf_index = 13")[0][0]
    proof_file = env.tmp / "proof.json"
    code, _, err = env.run("prove", str(event_id), "--out", str(proof_file))
    assert code == 0, err
    document = json.loads(proof_file.read_text())
    assert document["leaf_index"] == 13 and document["tree_size"] == 18
    assert document["check"][0].startswith("1. Verify the checkpoint")
    code, out, _ = env.run("check-proof", str(proof_file))
    assert code == 0 and out.startswith(f"OK: event {event_id} is leaf 13")

    document["proof"][0] = document["proof"][1]
    (env.tmp / "bad.json").write_text(json.dumps(document))
    code, _, err = env.run("check-proof", str(env.tmp / "bad.json"))
    assert code == 1 and "inclusion proof does not verify" in err
    code, _, err = env.run("check-proof", str(env.tmp / "missing.json"))
    assert code == 2 and err.startswith("error: No such file")
    code, _, err = env.run("prove", "no-such-event")
    assert code == 2 and "no event no-such-event" in err


def test_prove_needs_a_covering_checkpoint(env: Env) -> None:
    code, _, err = env.run("prove", "x")
    assert code == 2
    event_id = env.sql("SELECT event_id FROM ledger_leaves WHERE leaf_index = 0")[0][0]
    code, _, err = env.run("prove", str(event_id))
    assert code == 2 and "no signed checkpoint yet" in err


def _signed(env: Env) -> Path:
    path = env.tmp / "overseer.checkpoint"
    code, _, err = env.run("checkpoint", "--out", str(path), "--force")  # a new head each time
    assert code == 0, err
    return path


def _fails(env: Env, *args: str) -> str:
    code, out, err = env.run("verify", *args)
    assert code == 1, (out, err)
    assert err.startswith("error: verification failed: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_tamper_edit(env: Env) -> None:
    _signed(env)
    event_id, entry = env.sql("SELECT event_id, entry FROM ledger_leaves WHERE leaf_index = 7")[0]
    edited = bytes(entry).replace(b"sufficient", b"sufficienT")  # type: ignore[arg-type]
    env.sql("UPDATE ledger_leaves SET entry = ? WHERE leaf_index = 7", edited)
    err = _fails(env)
    assert f"leaf 7 (event {event_id}) was altered" in err


def test_tamper_edit_with_patched_hash(env: Env) -> None:
    _signed(env)
    event_id, entry = env.sql("SELECT event_id, entry FROM ledger_leaves WHERE leaf_index = 4")[0]
    edited = bytes(entry).replace(b"sufficient", b"sufficienT")  # type: ignore[arg-type]
    env.sql(
        "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE leaf_index = 4",
        edited,
        leaf_hash(edited),
    )
    err = _fails(env)
    assert f"leaf 4 (event {event_id}) was altered: leaf 5 was chained to a different hash" in err


def test_tamper_delete(env: Env) -> None:
    _signed(env)
    env.sql("DELETE FROM ledger_leaves WHERE leaf_index = 9")
    assert "leaf 9 is missing (next stored leaf is 10): a row was deleted" in _fails(env)


def test_tamper_delete_last_rows(env: Env) -> None:
    _signed(env)
    env.sql("DELETE FROM ledger_leaves WHERE leaf_index >= 10")
    err = _fails(env)
    assert "leaves 0..9 are not covered by a seal" in err and "more findings" in err


def test_tamper_reorder(env: Env) -> None:
    _signed(env)
    env.sql("UPDATE ledger_leaves SET leaf_index = -1 WHERE leaf_index = 3")
    env.sql("UPDATE ledger_leaves SET leaf_index = 3 WHERE leaf_index = 8")
    env.sql("UPDATE ledger_leaves SET leaf_index = 8 WHERE leaf_index = -1")
    err = _fails(env)
    assert "leaf 3 (event" in err and "holds the entry written as leaf 8" in err


def test_tamper_rollback_to_an_older_copy(env: Env) -> None:
    _signed(env)
    shutil.copy(env.db, env.tmp / "old.db")
    env.append(6)
    newer = env.tmp / "newer.checkpoint"
    assert env.run("checkpoint", "--out", str(newer))[0] == 0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{env.db}{suffix}").unlink(missing_ok=True)
    shutil.copy(env.tmp / "old.db", env.db)
    assert env.run("verify")[0] == 0  # the old copy agrees with itself ...
    err = _fails(env, "--checkpoint", str(newer))  # ... not with what the overseer holds
    assert "signed at size 19 but the store holds 12 leaves" in err and "rolled back" in err


def test_tamper_forged_signature(env: Env) -> None:
    path = _signed(env)
    forged = path.read_text().replace("\n12\n", "\n11\n")
    env.sql("UPDATE signed_tree_heads SET checkpoint = ?", forged)
    assert "signed tree head #1: signature by ftigate.test/ledger" in _fails(env)
    (env.tmp / "forged.checkpoint").write_text(forged)
    env.sql("UPDATE signed_tree_heads SET checkpoint = ?", path.read_text())
    assert "checkpoint file: signature by" in _fails(
        env, "--checkpoint", str(env.tmp / "forged.checkpoint")
    )


def test_bad_inputs_exit_2(env: Env) -> None:
    code, _, err = env.run("verify", "--db", str(env.tmp / "nope.db"))
    assert code == 2 and "no database at" in err
    code, _, err = env.run("verify", "--log-key", "not-a-key")
    assert code == 2 and "verification key must be" in err
    code, _, err = env.run("verify", "--checkpoint", str(env.tmp / "none"))
    assert code == 2


def test_witness_cosigns_refuses_forks_and_rollbacks(env: Env) -> None:
    log_vkey = _log_vkey(env)
    state = env.tmp / "witness"
    code, out, err = env.run(
        "init", "--state", str(state), "--name", "oversight.test/w1", "--log-key", log_vkey,
        use_app=witness_app,
    )
    assert code == 0, err
    witness_vkey = out.strip().rsplit(" ", 1)[-1]
    _signed(env)
    cosigned = env.tmp / "cosigned.checkpoint"
    code, _, err = env.run(
        "cosign", "--state", str(state), "--out", str(cosigned), use_app=witness_app
    )
    assert code == 0, err
    code, out, _ = env.run(
        "verify", "--checkpoint", str(cosigned), "--witness-key", witness_vkey
    )
    assert code == 0, out
    # A checkpoint without the witness's cosignature is not enough.
    assert "no cosignature by witness" in _fails(
        env, "--checkpoint", str(env.tmp / "overseer.checkpoint"), "--witness-key", witness_vkey
    )
    # The log grows: the witness checks consistency and cosigns again.
    env.append(3)
    _signed(env)
    assert env.run("cosign", "--state", str(state), use_app=witness_app)[0] == 0
    # Rollback: offering the old checkpoint again.
    code, _, err = env.run(
        "cosign", "--state", str(state), "--checkpoint", str(cosigned), use_app=witness_app
    )
    assert code == 1 and "rollback: new size 12 is below the accepted size 16" in err
    # Fork: rewrite history (patched hashes, the tiles rebuilt over them) and sign a new
    # head over it. The store's own checkpoint now refuses (the tree below its last signed
    # head changed), so the key holder signs the forged head directly.
    entry = env.sql("SELECT entry FROM ledger_leaves WHERE leaf_index = 2")[0][0]
    edited = bytes(entry).replace(b"sufficient", b"sufficienT")  # type: ignore[arg-type]
    env.sql(
        "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE leaf_index = 2",
        edited,
        leaf_hash(edited),
    )
    stored = [bytes(r[0]) for r in env.sql("SELECT leaf_hash FROM ledger_leaves ORDER BY leaf_index")]  # type: ignore[arg-type]
    tree = HashTree(stored)
    for level, index, hashes in tiles_of(stored):
        env.sql("UPDATE merkle_tiles SET hashes = ? WHERE level = ? AND idx = ?", hashes, level, index)
    env.sql(
        "UPDATE ledger_head SET root_hash = ?, frontier = ?",
        tree.root(),
        tree.compact_range().to_bytes(),
    )
    code, _, err = env.run("checkpoint", "--out", str(env.tmp / "refused"))
    assert code == 2 and "no longer hash" in err
    forged = env.tmp / "forged.checkpoint"
    forged.write_text(
        sign_checkpoint(Checkpoint(load_signer().name, tree.size, tree.root()), load_signer())
        .serialize()
    )
    code, _, err = env.run(
        "cosign", "--state", str(state), "--checkpoint", str(forged), use_app=witness_app
    )
    assert code == 1 and "fork:" in err and "evidence-" in err
    assert list(state.glob("evidence-*.txt"))


def _log_vkey(env: Env) -> str:
    return load_signer().verifier.vkey()


def test_installed_entry_point_runs_the_ledger_module(env: Env) -> None:
    # The lead registers the sub-apps in ftigate.cli.main; until then, run the module's app.
    _signed(env)
    code = (
        "import sys; from ftigate.cli.ledger import app; "
        "sys.argv = ['ftigate-ledger', 'verify']; app()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 12 leaves")
