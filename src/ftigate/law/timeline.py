"""The law as it stood on a date, and what changed between two dates: pure functions over a
`Law`, rendered by `ftigate law show` and `ftigate law diff`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import rfc8785
from pydantic import BaseModel

from ftigate.law.loader import InForce, Law


def _plain(value: Any) -> Any:
    """A parameter value as JSON would carry it (tuples as lists, models as mappings)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def entry_record(entry: InForce) -> dict[str, Any]:
    return {
        "value": _plain(entry.value),
        "since": entry.since.isoformat() if entry.since else None,
        "reference": entry.reference.model_dump(mode="json") if entry.reference else None,
        "origin": entry.origin,
    }


def law_as_of(law: Law, when: date) -> dict[str, Any]:
    """Every parameter in force on `when`: its value, since when, its reference and file."""
    standing = law.in_force(when)
    return {
        "as_of": when.isoformat(),
        "policy": law.policy_origin or None,
        "parameters": {name: entry_record(standing[name]) for name in sorted(standing)},
    }


@dataclass(frozen=True)
class Change:
    parameter: str
    path: str
    """where in the value: "" for the whole value, else keys joined by '/'"""
    change: str
    """added, removed or changed"""
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "path": self.path,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


def _changes(parameter: str, path: str, before: Any, after: Any) -> list[Change]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}/{key}" if path else str(key)
            if key not in before:
                found.append(Change(parameter, where, "added", None, after[key]))
            elif key not in after:
                found.append(Change(parameter, where, "removed", before[key], None))
            else:
                found += _changes(parameter, where, before[key], after[key])
        return found
    scalars = (str, int, float, bool)
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and all(isinstance(v, scalars) for v in before + after)
    ):
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        found = [Change(parameter, path, "added", None, v) for v in added]
        found += [Change(parameter, path, "removed", v, None) for v in removed]
        # the same members in another order: the list itself changed
        return found or [Change(parameter, path, "changed", before, after)]
    return [Change(parameter, path, "changed", before, after)]


def law_diff(law: Law, first: date, second: date) -> dict[str, Any]:
    """What changed from the law on `first` to the law on `second`, value by value, with the
    reference of each parameter's value on `second`."""
    before = law.in_force(first)
    after = law.in_force(second)
    changes = []
    for name in sorted(after):
        found = _changes(name, "", _plain(before[name].value), _plain(after[name].value))
        if found:
            changes.append(
                {
                    "parameter": name,
                    "before": entry_record(before[name]),
                    "after": entry_record(after[name]),
                    "changes": [c.as_dict() for c in found],
                }
            )
    return {"from": first.isoformat(), "to": second.isoformat(), "parameters": changes}


def decided_rules(law: Law) -> dict[str, Any]:
    """The rules that decide on `law.as_of`, as the document `law_digest` hashes: every
    parameter in force (value, the date it took effect, its reference) and every code with
    its effect under them and its implementation. `ftigate law show --json` prints it, so
    anyone can recompute the digest a batch's ledger entry names."""
    # Neither the date asked for nor where a policy file sits changes the rules: two dates
    # on which the same values stand give one digest.
    standing = law_as_of(law, law.as_of)["parameters"]
    return {
        "parameters": {
            name: {key: entry[key] for key in ("value", "since", "reference")}
            for name, entry in standing.items()
        },
        "codes": {
            code: {"effect": effect.value, "implemented_by": law.codes[code].implemented_by}
            for code, effect in sorted(law.effects().items())
        },
    }


def law_digest(law: Law) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of `decided_rules(law)`. Two batches with one
    digest were decided by the same rules."""
    return hashlib.sha256(rfc8785.dumps(decided_rules(law))).hexdigest()
