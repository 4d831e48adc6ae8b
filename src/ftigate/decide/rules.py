"""Which rules decided a batch: the law as resolved at the letter's date, the policy file,
the thresholds and the identity model, each named by a digest.

The same facts go into the batch's first ledger entry (`batch_received`), into
`summary.json` and into the audit report, so that a court can tell from outside which rules
decided (README: "Which rules decided a batch"). A setting that differs from the previous
batch's in the same store is recorded as `config_changed` / `model_changed` when it takes
effect (`changed_events`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from ftigate.decide.gates import Thresholds
from ftigate.law.loader import Law
from ftigate.law.timeline import law_digest
from ftigate.ledger.events import ConfigChanged, LedgerEvent, ModelChanged
from ftigate.resolve.model import ModelArtefact

SETTINGS = ("law", "policy", "thresholds")
"""what `config_changed.setting` names"""


def thresholds_text(thresholds: Thresholds) -> dict[str, str]:
    """The thresholds as the ledger records decimals: shortest round-trip text, no float in JSON."""
    return {name: repr(float(value)) for name, value in sorted(thresholds.as_dict().items())}


def thresholds_sha256(thresholds: Mapping[str, str]) -> str:
    """SHA-256 of the RFC 8785 JSON of the thresholds as recorded (`thresholds_text`)."""
    return hashlib.sha256(rfc8785.dumps(dict(thresholds))).hexdigest()


@dataclass(frozen=True)
class BatchRules:
    law_as_of: str
    """the letter's date, the law resolved at it (YYYY-MM-DD)"""
    law_sha256: str
    """`ftigate.law.timeline.law_digest` of that law (policy applied)"""
    policy_sha256: str | None
    """SHA-256 of the policy file's bytes; None: no policy file"""
    thresholds: dict[str, str]
    """disclose_probability, review_floor, margin_bits as decimal text"""
    model_digest: str
    """SHA-256 of the model artefact's bytes"""
    model_name: str | None
    splink_version: str | None
    """the Splink version the model was trained with (its metadata)"""

    @classmethod
    def of(cls, law: Law, thresholds: Thresholds, artefact: ModelArtefact) -> BatchRules:
        """`law` already resolved at the letter's date (`Law.at`)."""
        splink = artefact.metadata.get("splink_version")
        name = artefact.metadata.get("name")
        return cls(
            law_as_of=law.as_of.isoformat(),
            law_sha256=law_digest(law),
            policy_sha256=law.policy_sha256,
            thresholds=thresholds_text(thresholds),
            model_digest=artefact.digest,
            model_name=None if name is None else str(name),
            splink_version=None if splink is None else str(splink),
        )

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> BatchRules | None:
        """The rules a `batch_received` entry names; None for an entry recorded before
        entries named them."""
        if entry.get("law_sha256") is None or entry.get("model_digest") is None:
            return None
        return cls(
            law_as_of=str(entry.get("law_as_of")),
            law_sha256=str(entry["law_sha256"]),
            policy_sha256=entry.get("policy_sha256"),
            thresholds=dict(entry.get("thresholds") or {}),
            model_digest=str(entry["model_digest"]),
            model_name=entry.get("model_name"),
            splink_version=entry.get("splink_version"),
        )

    def entry_fields(self) -> dict[str, Any]:
        """The fields `batch_received` carries."""
        return {
            "law_as_of": self.law_as_of,
            "law_sha256": self.law_sha256,
            "policy_sha256": self.policy_sha256,
            "thresholds": dict(self.thresholds),
            "model_digest": self.model_digest,
            "model_name": self.model_name,
            "splink_version": self.splink_version,
        }

    def as_dict(self) -> dict[str, Any]:
        """What summary.json and the audit report print under `rules`."""
        return {**self.entry_fields(), "thresholds_sha256": thresholds_sha256(self.thresholds)}

    def setting_digests(self) -> dict[str, str | None]:
        return {
            "law": self.law_sha256,
            "policy": self.policy_sha256,
            "thresholds": thresholds_sha256(self.thresholds),
        }


def changed_events(
    batch_id: str, previous: BatchRules | None, current: BatchRules, actor: str, *, first_batch: bool
) -> Iterator[LedgerEvent]:
    """`config_changed` for each setting, and `model_changed` for the model, that differ
    from the previous batch's in this store: the change takes effect with this batch.
    Nothing for a store's first batch (its `batch_received` names the rules); a previous
    batch recorded before entries named rules counts as naming none."""
    if first_batch:
        return
    before = previous.setting_digests() if previous is not None else dict.fromkeys(SETTINGS)
    for setting, digest in current.setting_digests().items():
        if digest != before[setting]:
            yield ConfigChanged(
                setting=setting, old_digest=before[setting], new_digest=digest, actor=actor, batch_id=batch_id
            )
    old_model = previous.model_digest if previous is not None else None
    if current.model_digest != old_model:
        yield ModelChanged(
            model_digest=current.model_digest,
            old_digest=old_model,
            library=f"splink {current.splink_version}" if current.splink_version else "splink (unknown)",
            actor=actor,
            batch_id=batch_id,
        )
