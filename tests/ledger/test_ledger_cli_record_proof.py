"""`ftigate ledger prove-record` and `check-proof`: one request's screening result or
decision, proved under its batch's committing leaf and checked offline."""

from __future__ import annotations

import base64
import json

from ledger_cli_env import Env

from ftigate.ledger.committed import DecisionItem, ScreeningItem, commit_decisions, commit_screening
from ftigate.ledger.keys import load_pseudonymizer, load_signer
from ftigate.store.api import Store


def _committed_batch(env: Env) -> str:
    with Store.open(env.url, signer=load_signer(), pseudonyms=load_pseudonymizer()) as store:
        batch = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
        screening = [ScreeningItem(batch, f"Q{i}", "refuse", ("ADDRESS_ZIP_ONLY",)) for i in range(7)]
        decisions = [DecisionItem(batch, f"Q{i}", "refuse", ("ADDRESS_ZIP_ONLY",)) for i in range(7)]
        store.append_events([commit_screening(batch, screening), commit_decisions(batch, decisions)])
    return batch


def test_prove_record_and_check_it_offline(env: Env) -> None:
    batch = _committed_batch(env)
    code, _, err = env.run("prove-record", batch, "Q5")
    assert code == 2 and "no signed checkpoint yet" in err
    env.run("checkpoint", "--out", str(env.tmp / "head.checkpoint"))
    proof = env.tmp / "q5.json"
    code, _, err = env.run("prove-record", batch, "Q5", "--out", str(proof))
    assert code == 0, err
    code, out, err = env.run("check-proof", str(proof))
    assert code == 0, err
    assert out.startswith(
        f"OK: request Q5 of batch {batch} was screened refuse (ADDRESS_ZIP_ONLY), item 5 of 7"
    )
    code, out, err = env.run("prove-record", batch, "Q2", "--what", "decision")
    assert code == 0, err
    (env.tmp / "q2.json").write_text(out)
    code, out, _ = env.run("check-proof", str(env.tmp / "q2.json"))
    assert code == 0 and "was decided refuse" in out and "item 2 of 7" in out

    document = json.loads(proof.read_text())
    item = json.loads(base64.b64decode(document["record"]["item"]))
    for name, value in (("outcome", "sufficient"), ("request_id", "Q6")):
        forged = dict(document, record=dict(document["record"]))
        forged["record"]["item"] = base64.b64encode(json.dumps({**item, name: value}).encode()).decode()
        (env.tmp / "forged.json").write_text(json.dumps(forged))
        code, _, err = env.run("check-proof", str(env.tmp / "forged.json"))
        assert code == 1 and "proof under the batch root fails" in err, err
    forged = dict(document, record=dict(document["record"], records=8))
    (env.tmp / "forged.json").write_text(json.dumps(forged))
    code, _, err = env.run("check-proof", str(env.tmp / "forged.json"))
    assert code == 1 and "commits to 7" in err

    code, _, err = env.run("prove-record", batch, "nobody")
    assert code == 2 and "no request 'nobody'" in err
    code, _, err = env.run("prove-record", batch, "Q1", "--what", "inspection")
    assert code == 2 and "--what must be one of screening, decision" in err
