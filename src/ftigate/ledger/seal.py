"""Seals: the authenticated path into the log.

Every ``Store.append_events`` call made with the log key ends with one ``seal``
leaf: an Ed25519 signature, by the log key, over the range of leaves that call
appended (first index, size, RFC 9162 root of their leaf hashes). Leaves reach
the log without a seal only when someone wrote to the database without the
key; ``ledger checkpoint`` refuses to sign them and ``ledger verify`` reports
them. One seal per append keeps appends fast (one signature per batch).

The signed message is ASCII lines, domain-separated from checkpoint notes (its
first line has spaces, which no checkpoint origin may hold)::

    ftigate ledger seal v1
    <log name>
    <first index>
    <size>
    <hex range root>
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftigate.ledger.checkpoint import Signer, Verifier
from ftigate.ledger.events import Seal
from ftigate.ledger.merkle import CompactRange

SEAL_KIND = Seal.kind


def seal_message(log_name: str, first_index: int, size: int, range_root: bytes) -> bytes:
    return (f"ftigate ledger seal v1\n{log_name}\n{first_index}\n{size}\n{range_root.hex()}\n").encode(
        "ascii"
    )


def make_seal(signer: Signer, first_index: int, size: int, range_root: bytes) -> Seal:
    signature = signer.sign(seal_message(signer.name, first_index, size, range_root))
    return Seal(
        first_index=first_index,
        size=size,
        range_root=range_root.hex(),
        key_id=signer.key_id.hex(),
        signature=signature.hex(),
    )


def seal_problem(
    event: dict[str, Any], first_index: int, size: int, range_root: bytes, log_key: Verifier
) -> str | None:
    """Why a decoded seal entry does not seal leaves first_index..first_index+size-1,
    or None when it does."""
    try:
        sealed_first, sealed_size = int(event["first_index"]), int(event["size"])
        signature = bytes.fromhex(str(event["signature"]))
        key_id = str(event["key_id"])
        root_hex = str(event["range_root"])
    except (KeyError, TypeError, ValueError):
        return "is not a well-formed seal"
    if (sealed_first, sealed_size) != (first_index, size):
        return (
            f"seals leaves {sealed_first}..{sealed_first + sealed_size - 1}, but the leaves "
            f"since the previous seal are {first_index}..{first_index + size - 1}"
        )
    if key_id != log_key.key_id.hex():
        return f"is signed by key {key_id}, not the log key {log_key.key_id.hex()}"
    if root_hex != range_root.hex():
        return "does not match the leaves it seals (a sealed leaf was changed)"
    if not log_key.verify(seal_message(log_key.name, first_index, size, range_root), signature):
        return "has a signature that does not verify under the log key"
    return None


@dataclass(frozen=True)
class SealProblem:
    seal_index: int
    first_leaf: int  # the first leaf of the range the bad seal was to cover
    message: str


@dataclass
class SealWalk:
    """Walks leaves in index order and says which are covered by a valid seal.

    ``add`` takes each leaf's index, its kind, its recomputed leaf hash and a way to
    read its decoded event (called only for leaves whose kind is ``seal``)."""

    log_key: Verifier
    start: int = 0
    problems: list[SealProblem] = field(default_factory=list)
    sealed_ranges: int = 0
    range_start: int = field(init=False)
    _range: CompactRange = field(default_factory=CompactRange, init=False)
    _next: int = field(init=False)

    def __post_init__(self) -> None:
        self.range_start = self._next = self.start

    def add(self, index: int, kind: str, digest: bytes, event: Callable[[], Any]) -> None:
        self._next = index + 1
        if kind != SEAL_KIND:
            self._range.append(digest)
            return
        decoded = event()
        size = index - self.range_start
        if not isinstance(decoded, dict) or decoded.get("kind") != SEAL_KIND:
            problem: str | None = "is marked a seal but its entry is not one"
        else:
            root = self._range.root()
            problem = seal_problem(decoded, self.range_start, size, root, self.log_key)
        if problem is not None:
            self.problems.append(SealProblem(index, self.range_start, f"the seal at leaf {index} {problem}"))
        else:
            self.sealed_ranges += 1
        self._range = CompactRange()
        self.range_start = index + 1

    def add_run(self, digests: Sequence[bytes], next_index: int) -> None:
        """:meth:`add` of a run of leaves none of which is a seal, in bulk: their recomputed
        leaf hashes in index order, the last leaf's index + 1 as ``next_index``."""
        if digests:
            self._range.extend(digests)
            self._next = next_index

    def unsealed_tail(self) -> tuple[int, int] | None:
        """(first, count) of the leaves after the last seal, if any."""
        if self.range_start < self._next:
            return self.range_start, self._next - self.range_start
        return None

    def first_unsealed(self) -> int | None:
        """The first leaf no valid seal covers, or None when every leaf is sealed."""
        starts = [p.first_leaf for p in self.problems]
        tail = self.unsealed_tail()
        if tail is not None:
            starts.append(tail[0])
        return min(starts) if starts else None


def decode_event(entry: bytes) -> Any:
    try:
        return json.loads(entry)["event"]
    except (ValueError, KeyError, TypeError):
        return None
