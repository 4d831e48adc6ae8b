"""Offline proof bundles (C2SP tlog-proof) for a taxpayer's disclosures: written by
`ftigate accounting --bundle`, checked by `ftigate ledger check-proof` with nothing but
the bundle and the keys; any changed byte fails (a Hypothesis property)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_cli_env import Env
from test_ledger_accounting import TIN_A, TIN_B, seed_disclosures

from ftigate.cli.ledger import accounting_app, witness_app
from ftigate.ledger.bundle import (
    HEADER,
    BundleFormatError,
    BundleMismatch,
    check_bundle,
    make_bundle,
)
from ftigate.ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    SignedCheckpoint,
    Signer,
    cosign,
    sign_checkpoint,
)
from ftigate.ledger.keys import load_signer
from ftigate.ledger.merkle import HashTree, leaf_hash


def test_accounting_writes_one_bundle_per_disclosure_checked_offline(env: Env) -> None:
    seed_disclosures(env)
    vkey = load_signer().verifier.vkey()
    # A witness cosigns the head; the bundles carry its cosignature.
    state = env.tmp / "witness"
    code, out, err = env.run(
        "init", "--state", str(state), "--name", "oversight.test/w1", "--log-key", vkey,
        use_app=witness_app,
    )  # fmt: skip
    assert code == 0, err
    witness_vkey = out.strip().rsplit(" ", 1)[-1]
    request = env.tmp / "head.req"
    assert env.run("witness-request", "--out", str(request))[0] == 0
    cosigned = env.tmp / "cosigned.checkpoint"
    code, _, err = env.run(
        "add-checkpoint", "--state", str(state), "--request", str(request), "--out",
        str(cosigned), use_app=witness_app,
    )  # fmt: skip
    assert code == 0, err
    bundles = env.tmp / "bundles"
    code, out, err = env.run(
        "--taxpayer", TIN_A, "--bundle", str(bundles), "--checkpoint", str(cosigned),
        use_app=accounting_app,
    )  # fmt: skip
    assert code == 0, err
    files = sorted(bundles.glob("*.tlog-proof"))
    assert len(files) == len(json.loads(out)["disclosures"]) == 3
    assert bundles.stat().st_mode & 0o077 == 0 and files[0].stat().st_mode & 0o077 == 0
    for path in files:
        text = path.read_text()
        assert text.startswith(HEADER + "\nextra ") and "\nindex " in text
        assert TIN_A not in text and TIN_A.replace("-", "") not in text
    code, out, err = env.run("check-proof", str(bundles), "--vkey", vkey, "--witness-key", witness_vkey)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all("OK: disclosure " in line for line in lines)
    assert all("cosigned by oversight.test/w1" in line for line in lines)
    # One bundle, a byte changed: exit 1, the file named.
    tampered = files[0].read_text().replace("index ", "index 1", 1)
    files[0].write_text(tampered)
    code, _, err = env.run("check-proof", str(files[0]), "--vkey", vkey)
    assert code == 1 and files[0].name in err
    # Another taxpayer's accounting has its own bundles, none of these.
    code, out, _ = env.run("--taxpayer", TIN_B, "--bundle", str(env.tmp / "b"), use_app=accounting_app)
    assert code == 0 and len(list((env.tmp / "b").glob("*.tlog-proof"))) == 2


LOG = Signer.generate("ftigate.test/ledger")
WITNESS = Signer.generate("oversight.test/w1", COSIGNATURE_V1)


def _bundle(size: int, index: int) -> bytes:
    entries = [
        json.dumps({"event": {"kind": "disclosure", "event_id": f"e{i}"}, "seq": i},
                   separators=(",", ":")).encode()
        for i in range(size)
    ]  # fmt: skip
    tree = HashTree(leaf_hash(e) for e in entries)
    signed = sign_checkpoint(Checkpoint(LOG.name, size, tree.root()), LOG)
    note = cosign(signed, WITNESS, timestamp=1_790_000_000)
    text = SignedCheckpoint(signed.checkpoint, note).serialize()
    return make_bundle(entries[index], index, tree.inclusion_proof(index, size), text).encode()


def test_a_bundle_verifies_with_only_the_keys() -> None:
    checked = check_bundle(_bundle(7, 5), LOG.verifier, (WITNESS.verifier,))
    assert (checked.index, checked.size, checked.witnesses) == (5, 7, ("oversight.test/w1",))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), size=st.integers(1, 9))
def test_any_changed_byte_fails(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    original = _bundle(size, index)
    position = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]))
    changed = original[:position] + bytes([replacement]) + original[position + 1 :]
    try:
        check_bundle(changed, LOG.verifier, (WITNESS.verifier,))
    except (BundleFormatError, BundleMismatch):
        return
    raise AssertionError(f"byte {position} changed to {replacement} still verifies")
