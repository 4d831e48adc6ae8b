"""How a report's header says that a policy overrode the shipped law. The provenance block
itself (version, input digests, policy facts) is `ftigate.pipeline.provenance`'s, one
definition for every summary and report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def override_sentence(policy: Mapping[str, Any] | None) -> str | None:
    """One sentence for a report's header when a policy overrode the shipped law."""
    if not policy or not policy.get("overridden"):
        return None
    parts = [f"{o['setting']} = {o['in_force']} (shipped: {o['shipped']})" for o in policy["overrides"]]
    who = f" by {policy['note']}" if policy.get("note") else ""
    return f"Policy overridden{who}: " + "; ".join(parts) + ". Findings below are under that policy."
