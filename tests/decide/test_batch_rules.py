"""`ftigate.decide.rules`: which rules decided a batch, and which changes a batch records."""

from __future__ import annotations

import dataclasses

import pytest

from ftigate.decide.gates import Thresholds
from ftigate.decide.rules import BatchRules, changed_events, thresholds_sha256
from ftigate.law.loader import default_law
from ftigate.ledger.events import BatchReceived, ConfigChanged, ModelChanged, event_from_entry, file_digest
from ftigate.resolve.model import load_model

LAW = default_law()
RULES = BatchRules.of(LAW.at(LAW.as_of), Thresholds.of(LAW.parameters), load_model())
OTHER = file_digest(b"other")


def test_the_rules_name_the_law_the_thresholds_and_the_model() -> None:
    assert RULES.policy_sha256 is None
    assert RULES.thresholds == {
        "disclose_probability": repr(LAW.parameters.disclose_probability),
        "margin_bits": repr(LAW.parameters.margin_bits),
        "review_floor": repr(LAW.parameters.review_floor),
    }
    assert RULES.model_digest == load_model().digest and RULES.splink_version
    assert BatchRules.from_entry(RULES.entry_fields()) == RULES


CHANGES = [
    # (what differs from the previous batch, settings recorded, model recorded)
    ("nothing", {}, [], False),
    ("the law", {"law_sha256": OTHER}, ["law"], False),
    ("the policy", {"policy_sha256": OTHER}, ["policy"], False),
    ("a threshold", {"thresholds": {**RULES.thresholds, "margin_bits": "9.0"}}, ["thresholds"], False),
    ("the model", {"model_digest": OTHER}, [], True),
    (
        "all",
        {"law_sha256": OTHER, "policy_sha256": OTHER, "model_digest": OTHER, "thresholds": {}},
        ["law", "policy", "thresholds"],
        True,
    ),
]


@pytest.mark.parametrize(("what", "previous", "settings", "model"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_batch_records_what_differs_from_the_previous_batch(
    what: str, previous: dict[str, object], settings: list[str], model: bool
) -> None:
    before = dataclasses.replace(RULES, **previous)  # type: ignore[arg-type]
    events = list(changed_events("b1", before, RULES, "system", first_batch=False))
    assert [e.setting for e in events if isinstance(e, ConfigChanged)] == settings
    models = [e for e in events if isinstance(e, ModelChanged)]
    assert bool(models) == model
    for event in events:
        assert isinstance(event, ConfigChanged | ModelChanged) and event.batch_id == "b1"
        if isinstance(event, ConfigChanged):
            assert event.old_digest == before.setting_digests()[event.setting]
            assert event.new_digest == RULES.setting_digests()[event.setting]
    if model:
        assert models[0].old_digest == before.model_digest and models[0].model_digest == RULES.model_digest


def test_a_stores_first_batch_records_no_change() -> None:
    assert list(changed_events("b1", None, RULES, "system", first_batch=True)) == []


def test_after_a_batch_recorded_before_rules_were_named_every_setting_counts_as_changed() -> None:
    events = list(changed_events("b1", None, RULES, "system", first_batch=False))
    assert [getattr(e, "setting", "model") for e in events] == ["law", "thresholds", "model"]
    # no policy then, no policy now: nothing changed there


def test_an_entry_recorded_before_rules_were_named_is_still_read() -> None:
    old = {"v": 1, "kind": "batch_received", "event_id": "e1", "at": "2026-01-01T00:00:00.000000Z",
           "batch_id": "b0", "requesting_agency": "ICE", "letter_digest": file_digest(b"l"), "files": {},
           "record_count": 1, "letter_date": "2025-06-27", "pseudonym_key": None}  # fmt: skip
    event = event_from_entry(old)
    assert isinstance(event, BatchReceived) and event.law_sha256 is None
    assert event.to_entry() == {**old, **dict.fromkeys(
        ("law_as_of", "law_sha256", "policy_sha256", "thresholds", "model_digest", "model_name",
         "splink_version"))}  # fmt: skip
    assert BatchRules.from_entry(old) is None


def test_the_thresholds_digest_is_of_their_recorded_text() -> None:
    assert thresholds_sha256({"a": "0.5"}) != thresholds_sha256({"a": "0.50"})
