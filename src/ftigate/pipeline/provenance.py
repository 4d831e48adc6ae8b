"""What every summary and report says about itself, so that a court can rely on it: the
ftigate version, the SHA-256 of each input file, the policy in force (file, digest,
every parameter and threshold) and whether anything was overridden, and by whom.

One definition for every producer: `run_process` writes summary.json's `provenance` from
it (so `ftigate process` and the service's worker say the same of the same files), and
the audit, the demo and the reports build theirs from the same functions.

"No finding" under a lifted ceiling is not the same statement as "no finding" under the
law as shipped: `policy_facts` names every setting that differs from the shipped rule
files, and the reports print it beside their findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ftigate import __version__
from ftigate.law.loader import Law, default_law
from ftigate.law.timeline import law_digest
from ftigate.outputs import file_sha256

TABLE_SUFFIXES = (".parquet", ".pq", ".csv")


@dataclass(frozen=True)
class Sources:
    """The files a batch is decided from that `run_process` is not otherwise given (it
    reads the request file and the taxpayer folder itself): named, with their digests,
    in summary.json's `provenance`."""

    letter: Path
    model: Path
    policy: Path | None = None
    """the `--policy` file the law was loaded with, if any"""


def describe_file(path: Path) -> dict[str, Any]:
    """Name, size and SHA-256 of one input file."""
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def describe_input(path: Path | None) -> dict[str, Any] | None:
    """A file, or a folder of tables (a taxpayer reference): each file it holds that ftigate
    reads, by name, with its digest."""
    if path is None:
        return None
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
        return {"folder": path.name, "files": [describe_file(p) for p in files]}
    return describe_file(path)


def input_digests(inputs: Mapping[str, Path | None]) -> dict[str, Any]:
    return {role: describe_input(path) for role, path in inputs.items()}


def policy_facts(
    law: Law,
    policy_file: Path | None = None,
    *,
    note: str | None = None,
    thresholds: Mapping[str, float] | None = None,
    default_thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The policy in force and every override of the shipped law (and of the default
    thresholds, when given). `note` says who overrode what and why (e.g. the demo)."""
    # Compared with the shipped law on the same date: a value the rule files date differently
    # in 2025 is the law of 2025, not an override.
    shipped = default_law().at(law.as_of).parameters.model_dump(mode="json")
    current = law.parameters.model_dump(mode="json")
    overrides = [
        {"setting": name, "shipped": shipped[name], "in_force": current[name]}
        for name in sorted(current)
        if current[name] != shipped.get(name)
    ]
    if thresholds is not None and default_thresholds is not None:
        overrides += [
            {"setting": f"threshold {name}", "shipped": default_thresholds[name], "in_force": value}
            for name, value in sorted(thresholds.items())
            if value != default_thresholds.get(name)
        ]
    facts: dict[str, Any] = {
        "file": describe_file(policy_file) if policy_file is not None else None,
        "law_as_of": law.as_of.isoformat(),
        "law_sha256": law_digest(law),
        "policy_sha256": law.policy_sha256,
        "parameters": current,
        "overridden": bool(overrides),
        "overrides": overrides,
        "note": note,
    }
    if thresholds is not None:
        facts["thresholds"] = dict(thresholds)
    return facts


def provenance(inputs: Mapping[str, Path | None], policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """The block every summary carries under `provenance`."""
    return {"ftigate_version": __version__, "inputs": input_digests(inputs), "policy": policy}


class BackgroundProvenance:
    """A batch's `provenance` block, computed on a second thread while the batch is
    processed: the taxpayer file can be gigabytes, and hashing releases the GIL. Use as a
    context manager; `result()` waits for it (and raises what hashing raised)."""

    def __init__(self, inputs: Mapping[str, Path | None], policy: Mapping[str, Any]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-digests")
        self._block: Future[dict[str, Any]] = self._pool.submit(provenance, dict(inputs), dict(policy))

    def result(self) -> dict[str, Any]:
        return self._block.result()

    def __enter__(self) -> BackgroundProvenance:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A run that failed does not wait for the digests of files it no longer needs.
        self._pool.shutdown(wait=False, cancel_futures=True)
