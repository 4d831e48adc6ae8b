"""Which rules decided a batch, from the ledger: the first event of every batch names the law
as resolved at the letter's date, the policy file, the thresholds and the model; a change of
any of them is recorded when it takes effect; and anyone can check it from outside with
`ftigate ledger verify`, `ftigate batch show --json` and `ftigate law show --at DATE --json`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.intake.letter import read_letter
from ftigate.ledger.events import BatchReceived, file_digest
from ftigate.ledger.keys import load_pseudonymizer, load_signer
from ftigate.resolve.model import default_model_path
from ftigate.store.api import Store
from ftigate.synth import PROFILES, generate_population, generate_requests
from ftigate.synth import io as synth_io

runner = CliRunner()
RULE_KINDS = ("config_changed", "model_changed")


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rules")
    population = generate_population(2_000, seed=23)
    batch = generate_requests(population, 120, PROFILES["adversarial"], seed=23, profile_name="adversarial")
    synth_io.write_population(population, root / "pop")
    synth_io.write_request_batch(batch, root / "batch", PROFILES["adversarial"])
    # A policy that changes the law (the damages figure) but no decision.
    (root / "policy.yaml").write_text("damages_per_act_usd: 2500\n")
    # The packaged model written out again with other whitespace: the same model, another digest.
    model = json.loads(default_model_path().read_bytes())
    (root / "model.json").write_text(json.dumps(model, indent=1))
    return root


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTIGATE_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    monkeypatch.setenv("FTIGATE_SIGNING_KEY_FILE", str(tmp_path / "keys" / "signing.key"))
    assert runner.invoke(app, ["ledger", "keygen"]).exit_code == 0


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _process(root: Path, out: Path, db_url: str, *extra: str) -> dict[str, Any]:
    summary: dict[str, Any] = _json(
        ["process", "--letter", str(root / "batch" / "letter.yaml"), "--requests",
         str(root / "batch" / "requests.csv"), "--reference", str(root / "pop"), "--out", str(out),
         "--db", db_url, "--json", *extra]
    )  # fmt: skip
    return summary


def _show(batch_id: str, db_url: str) -> dict[str, Any]:
    shown: dict[str, Any] = _json(["batch", "show", batch_id, "--db", db_url, "--json"])
    return shown


def _changes(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["event"].get("setting", "model"): c["event"] for c in shown["rules_changed"]}


def test_each_batch_names_its_rules_and_changes_are_recorded_when_they_take_effect(
    small_batch: Path, keys: None, db_url: str, tmp_path: Path
) -> None:
    policy = small_batch / "policy.yaml"
    first = _process(small_batch, tmp_path / "a", db_url)
    second = _process(small_batch, tmp_path / "b", db_url, "--policy", str(policy),
                      "--supersede", first["ledger"]["batch_id"])  # fmt: skip
    third = _process(small_batch, tmp_path / "c", db_url, "--policy", str(policy), "--margin-bits", "3.5",
                     "--model", str(small_batch / "model.json"), "--supersede", second["ledger"]["batch_id"])  # fmt: skip
    shown = [_show(s["ledger"]["batch_id"], db_url) for s in (first, second, third)]
    received = [s["received"]["event"] for s in shown]

    # Every batch's first event names the rules, and summary.json names the same.
    for summary, event in zip((first, second, third), received, strict=True):
        assert event["kind"] == "batch_received"
        rules = summary["rules"]
        for name in (
            "law_as_of",
            "law_sha256",
            "policy_sha256",
            "thresholds",
            "model_digest",
            "splink_version",
        ):
            assert event[name] == rules[name], name
        assert summary["provenance"]["policy"]["law_sha256"] == rules["law_sha256"]
    assert received[0]["policy_sha256"] is None
    assert received[1]["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert received[2]["thresholds"]["margin_bits"] == "3.5"
    assert (
        received[2]["model_digest"] == hashlib.sha256((small_batch / "model.json").read_bytes()).hexdigest()
    )
    assert received[0]["model_digest"] == hashlib.sha256(default_model_path().read_bytes()).hexdigest()

    # The store's first batch: nothing changed. The policy: the law and the policy changed.
    # The model and a threshold: those two, and the law did not.
    assert shown[0]["rules_changed"] == []
    changed = _changes(shown[1])
    assert sorted(changed) == ["law", "policy"]
    assert changed["law"]["old_digest"] == received[0]["law_sha256"]
    assert changed["law"]["new_digest"] == received[1]["law_sha256"] != received[0]["law_sha256"]
    assert changed["policy"]["old_digest"] is None
    assert changed["policy"]["new_digest"] == received[1]["policy_sha256"]
    changed = _changes(shown[2])
    assert sorted(changed) == ["model", "thresholds"]
    assert changed["model"]["old_digest"] == received[1]["model_digest"]
    assert changed["model"]["model_digest"] == received[2]["model_digest"]
    assert changed["model"]["library"] == f"splink {received[2]['splink_version']}"
    # Recorded with the batch, after its first event, before its first inspection.
    third_leaves = [c["leaf_index"] for c in shown[2]["rules_changed"]]
    assert min(third_leaves) > shown[2]["received"]["leaf_index"]
    assert _json(["ledger", "verify", "--db", db_url, "--json"])["verified"] is True


def test_which_rules_decided_a_batch_checked_from_outside(
    small_batch: Path, keys: None, db_url: str, tmp_path: Path
) -> None:
    """README "Which rules decided a batch", step by step."""
    policy = small_batch / "policy.yaml"
    summary = _process(small_batch, tmp_path / "out", db_url, "--policy", str(policy))
    # 1. The log verifies: every leaf, the batch's first event among them, is as recorded.
    assert _json(["ledger", "verify", "--db", db_url, "--json"])["verified"] is True
    # 2. The batch's first event.
    event = _show(summary["ledger"]["batch_id"], db_url)["received"]["event"]
    letter = read_letter(small_batch / "batch" / "letter.yaml")
    assert event["law_as_of"] == letter.date.isoformat() == event["letter_date"]
    # 3. The law as it stood on that date, under that policy: its digest recomputed from the
    # document printed, without ftigate.
    law = _json(["law", "show", "--at", event["law_as_of"], "--policy", str(policy), "--json"])
    assert hashlib.sha256(rfc8785.dumps(law["rules"])).hexdigest() == event["law_sha256"] == law["law_sha256"]
    # The policy file's bytes and the thresholds the law gives (none overridden here).
    assert hashlib.sha256(policy.read_bytes()).hexdigest() == event["policy_sha256"] == law["policy_sha256"]
    parameters = law["rules"]["parameters"]
    for name, value in event["thresholds"].items():
        assert float(value) == parameters[name]["value"], name
    # The model: the artefact's bytes.
    assert hashlib.sha256(default_model_path().read_bytes()).hexdigest() == event["model_digest"]
    # A law of another date or without the policy is not the one that decided.
    other = _json(["law", "show", "--at", event["law_as_of"], "--json"])
    assert hashlib.sha256(rfc8785.dumps(other["rules"])).hexdigest() != event["law_sha256"]


RULE_FIELDS = ("law_as_of", "law_sha256", "policy_sha256", "thresholds", "model_digest", "model_name",
               "splink_version")  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class _ReceivedByAnOlderFtigate(BatchReceived):
    """A `batch_received` entry as ftigate wrote it before entries named the rules."""

    def to_entry(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_entry().items() if k not in RULE_FIELDS}


def test_a_log_recorded_before_entries_named_rules_still_verifies_and_the_next_batch_records_them(
    small_batch: Path, keys: None, db_url: str, tmp_path: Path
) -> None:
    signer = load_signer()
    with Store.open(db_url, signer=signer, pseudonyms=load_pseudonymizer()) as store:
        old = store.create_batch(letter={"date": "2025-01-02"}, file_digests={}, requesting_agency="ICE")
        store.append_events(
            [_ReceivedByAnOlderFtigate(batch_id=old, requesting_agency="ICE",
                                       letter_digest=file_digest(b"l"), files={}, record_count=0)]
        )  # fmt: skip
        store.sign_checkpoint(signer)
        entries = b"".join(store.entries_of_kinds([BatchReceived.kind]))
    assert b"law_sha256" not in entries  # the entry is in the old form, byte for byte
    assert _json(["ledger", "verify", "--db", db_url, "--json"])["verified"] is True
    assert _show(old, db_url)["received"]["event"].get("law_sha256") is None

    summary = _process(small_batch, tmp_path / "out", db_url)
    changed = _changes(_show(summary["ledger"]["batch_id"], db_url))
    # The old batch named no rules: the law, the thresholds and the model count as changed;
    # no policy then and none now is no change.
    assert sorted(changed) == ["law", "model", "thresholds"]
    assert all(event["old_digest"] is None for event in changed.values())
    assert _json(["ledger", "verify", "--db", db_url, "--json"])["verified"] is True
