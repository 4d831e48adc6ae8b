"""Recompute the log from stored rows and check it against signed tree heads.

Pure over its inputs (rows, head, checkpoint texts, keys): the CLI reads the
store and prints. Checks, in order, stopping at nothing so the report lists
everything, but naming the *first* bad entry first:

1. rows: indices contiguous from 0 (a deleted row leaves a gap); each entry
   hashes to its stored leaf hash (an edit); each entry's ``seq`` is its own
   index (a reordering); each entry's ``prev`` is the previous recomputed leaf
   hash (an edit whose stored hash was patched too); entries are canonical.
2. the ledger head row agrees with the recomputed tree;
3. every stored signed tree head verifies under the log key and matches the
   recomputed root at its size (a forged or rewritten history);
4. an outside checkpoint (the overseer's copy), if given: signed by the log,
   not larger than the store (else the database was rolled back), and the
   store consistent with it by an RFC 9162 consistency proof; with a witness
   key, it must carry a valid cosignature from that witness;
5. seals: every leaf is covered by a seal the log key signed (else it was
   appended without the key), leaf 0 pins the log key and the pseudonym key,
   and every batch was recorded under that pseudonym key;
6. a signed head exists, and no leaf lies beyond the last one unless the
   caller says they are pending.

The relational tables are compared with the rows the events describe by
:mod:`ftigate.ledger.projection` (the store reads them in the same snapshot).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ftigate.ledger.canonical import decode_canonical
from ftigate.ledger.checkpoint import (
    CheckpointError,
    SignedCheckpoint,
    Verifier,
    open_checkpoint,
    verify_cosignature,
)
from ftigate.ledger.events import BatchReceived, LedgerOpened
from ftigate.ledger.merkle import HashTree, ProofError, leaf_hash, verify_consistency
from ftigate.ledger.seal import SealWalk


@dataclass(frozen=True)
class LeafRow:
    leaf_index: int
    event_id: str
    entry: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class Finding:
    message: str
    leaf_index: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class VerifyReport:
    size: int = 0
    root_hash: bytes = b""
    findings: list[Finding] = field(default_factory=list)
    checked_checkpoints: int = 0
    tree: HashTree | None = None
    signed_heads: int = 0  # stored signed heads that verify and match the log
    signed_size: int = 0  # the largest size a verified signed head covers
    pending: int = 0  # leaves beyond it
    sealed_ranges: int = 0
    pseudonym_key: str | None = None  # the fingerprint leaf 0 pins

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        """The row-level finding with the lowest leaf index, else the first finding.

        Row findings name the entry itself; checkpoint findings only bound a range."""
        located = [f for f in self.findings if f.leaf_index is not None]
        if located:
            return min(located, key=lambda f: f.leaf_index or 0)
        return self.findings[0] if self.findings else None


def _describe(row: LeafRow) -> str:
    return f"leaf {row.leaf_index} (event {row.event_id})"


def check_rows(
    rows: Iterable[LeafRow],
    report: VerifyReport,
    log_key: Verifier | None = None,
    on_event: Callable[[int, dict[str, Any]], None] | None = None,
) -> HashTree:
    """Step 1: recompute every leaf hash; returns the tree of recomputed hashes.

    With the log key, also the seals (every leaf covered by one) and the pins
    (leaf 0 names the log key; every batch the pseudonym key leaf 0 names).
    ``on_event(leaf index, decoded event)`` sees every readable event."""
    recomputed = bytearray()
    walk = SealWalk(log_key) if log_key is not None else None
    pins = _Pins(log_key, report) if log_key is not None else None
    previous: LeafRow | None = None
    previous_hash: bytes | None = None
    for expected, row in enumerate(rows):
        if row.leaf_index != expected:
            if row.leaf_index > expected:
                report.findings.append(
                    Finding(
                        f"leaf {expected} is missing (next stored leaf is {row.leaf_index}): "
                        "a row was deleted",
                        expected,
                    )
                )
            else:
                report.findings.append(Finding(f"leaf index {row.leaf_index} appears twice", row.leaf_index))
            # Keep recomputing from the stored content; later checks stay meaningful.
        digest = leaf_hash(row.entry)
        event: Any = None
        if digest != row.leaf_hash:
            report.findings.append(
                Finding(
                    f"{_describe(row)} was altered: its entry no longer hashes to the stored leaf hash",
                    expected,
                )
            )
        try:
            envelope, canonical = decode_canonical(row.entry)
            seq, prev, event = envelope["seq"], envelope["prev"], envelope["event"]
        except (ValueError, KeyError, TypeError):
            report.findings.append(Finding(f"{_describe(row)} is not a ledger entry", expected))
        else:
            if not canonical:
                report.findings.append(Finding(f"{_describe(row)} is not RFC 8785 canonical JSON", expected))
            if seq != expected:
                report.findings.append(
                    Finding(
                        f"{_describe(row)} holds the entry written as leaf {seq}: "
                        "rows were reordered, deleted or renumbered",
                        expected,
                    )
                )
            expected_prev = previous_hash.hex() if previous_hash is not None else None
            row_intact = digest == row.leaf_hash and seq == expected
            # A broken link on an intact row means the row before it changed
            # (with its stored hash patched to match).
            if row_intact and prev != expected_prev and previous is not None:
                report.findings.append(
                    Finding(
                        f"{_describe(previous)} was altered: leaf {expected} was chained to a different hash",
                        expected - 1,
                    )
                )
            elif prev is not None and previous is None:
                report.findings.append(
                    Finding(f"{_describe(row)} chains to a leaf before the first", expected)
                )
            if isinstance(event, dict) and event.get("event_id") != row.event_id:
                report.findings.append(
                    Finding(f"{_describe(row)}: event_id column differs from the entry", expected)
                )
            if isinstance(event, dict):
                if pins is not None:
                    pins.check(expected, event)
                if on_event is not None:
                    on_event(expected, event)
        if walk is not None:
            kind = event.get("kind") if isinstance(event, dict) else None
            walk.add(expected, str(kind), digest, functools.partial(_same, event))
        recomputed += digest
        previous, previous_hash = row, digest
    tree = HashTree.from_concatenated(recomputed)
    del recomputed
    if pins is not None and tree.size > 0 and not pins.opened:
        report.findings.append(Finding("leaf 0 is not readable, so the log's keys are not pinned", 0))
    if walk is not None:
        report.sealed_ranges = walk.sealed_ranges
        for problem in walk.problems:
            report.findings.append(
                Finding(
                    f"{problem.message}: leaves {problem.first_leaf}..{problem.seal_index - 1} "
                    "are not authenticated",
                    problem.seal_index,  # after any leaf-level finding in the range it seals
                )
            )
        tail = walk.unsealed_tail()
        if tail is not None:
            first, count = tail
            report.findings.append(
                Finding(
                    f"leaves {first}..{first + count - 1} are not covered by a seal: they were "
                    "appended without the log key, or their seal was removed",
                    first,
                )
            )
    return tree


def _same(value: Any) -> Any:
    return value


class _Pins:
    """Leaf 0 pins the log key and the pseudonym key; every batch must use the latter."""

    def __init__(self, log_key: Verifier, report: VerifyReport) -> None:
        self.log_key, self.report = log_key, report
        self.opened = False
        self.fingerprint: str | None = None

    def check(self, index: int, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if index == 0:
            self.opened = True
            if kind != LedgerOpened.kind:
                self.report.findings.append(
                    Finding("leaf 0 is not a ledger_opened entry: the log's keys are not pinned", 0)
                )
                return
            if event.get("log_vkey") != self.log_key.vkey():
                self.report.findings.append(Finding("leaf 0 pins another log key than the one given", 0))
            self.fingerprint = str(event.get("pseudonym_key"))
            self.report.pseudonym_key = self.fingerprint
        elif kind == LedgerOpened.kind:
            self.report.findings.append(
                Finding(f"leaf {index} opens the log a second time (keys re-pinned)", index)
            )
        elif (
            kind == BatchReceived.kind
            and self.fingerprint is not None
            and event.get("pseudonym_key") != self.fingerprint
        ):
            self.report.findings.append(
                Finding(
                    f"batch {event.get('batch_id')} (leaf {index}) was recorded under another "
                    "pseudonym key than the one leaf 0 pins: the pseudonym key was replaced",
                    index,
                )
            )


def verify_log(
    rows: Iterable[LeafRow],
    head_size: int,
    head_root: bytes,
    signed_heads: Iterable[tuple[str, str]],
    log_key: Verifier,
    outside_checkpoint: str | None = None,
    witness_key: Verifier | None = None,
    *,
    pending: bool = False,
    on_event: Callable[[int, dict[str, Any]], None] | None = None,
) -> VerifyReport:
    """Run all checks. ``signed_heads`` are (label, checkpoint text) pairs.

    A log is verified only up to a head the log key signed: no signed head at all
    is a finding, and so are leaves beyond the last one, unless ``pending`` says
    they are expected (then ``report.pending`` counts them)."""
    report = VerifyReport()
    tree = check_rows(rows, report, log_key, on_event)
    report.tree = tree
    report.size = tree.size
    report.root_hash = tree.root()

    if head_size != tree.size:
        report.findings.append(
            Finding(
                f"ledger head records {head_size} leaves but {tree.size} are stored: "
                + ("leaves were deleted" if head_size > tree.size else "rows were added")
                + " outside the ledger",
                min(head_size, tree.size),
            )
        )
    elif head_root != report.root_hash:
        report.findings.append(Finding("ledger head root differs from the root recomputed from the leaves"))

    matched_size = 0
    for label, text in signed_heads:
        report.checked_checkpoints += 1
        try:
            signed = open_checkpoint(text, log_key)
        except CheckpointError as error:
            report.findings.append(Finding(f"signed tree head {label}: {error}"))
            continue
        _compare(signed, f"signed tree head {label}", tree, matched_size, report)
        if _matches(signed, tree):
            matched_size = max(matched_size, signed.checkpoint.size)
            report.signed_heads += 1

    if outside_checkpoint is not None:
        report.checked_checkpoints += 1
        try:
            signed = open_checkpoint(outside_checkpoint, log_key)
        except CheckpointError as error:
            report.findings.append(Finding(f"checkpoint file: {error}"))
        else:
            before = len(report.findings)
            _compare(signed, "checkpoint file", tree, matched_size, report)
            if len(report.findings) == before and signed.checkpoint.size <= tree.size:
                # The overseer's copy is a signed head too (consistent, so its prefix matches).
                matched_size = max(matched_size, signed.checkpoint.size)
                report.signed_heads += 1
            if witness_key is not None:
                try:
                    verify_cosignature(signed.note, witness_key)
                except CheckpointError as error:
                    report.findings.append(Finding(f"checkpoint file: {error}"))

    report.signed_size = matched_size
    if tree.size > 0 and report.signed_heads == 0:
        report.findings.append(
            Finding(
                "the log has no signed head: nothing in it is signed by the log key "
                "(run `ftigate ledger checkpoint`, or the signed heads were deleted)"
            )
        )
    elif matched_size < tree.size:
        report.pending = tree.size - matched_size
        if not pending:
            report.findings.append(
                Finding(
                    f"leaves {matched_size}..{tree.size - 1} are beyond the last signed head "
                    f"(size {matched_size}); pass --pending if they are expected",
                    matched_size,
                )
            )
    return report


def _matches(signed: SignedCheckpoint, tree: HashTree) -> bool:
    size = signed.checkpoint.size
    return size <= tree.size and signed.checkpoint.root_hash == tree.root(size)


def _compare(
    signed: SignedCheckpoint, label: str, tree: HashTree, matched_size: int, report: VerifyReport
) -> None:
    size, root = signed.checkpoint.size, signed.checkpoint.root_hash
    if size > tree.size:
        report.findings.append(
            Finding(
                f"{label} is signed at size {size} but the store holds {tree.size} leaves: "
                "the database was rolled back or truncated",
            )
        )
        return
    if size == 0:
        return  # the empty tree is a prefix of every tree
    try:
        proof = tree.consistency_proof(size, tree.size)
        verify_consistency(size, tree.size, proof, root, tree.root())
    except ProofError as error:
        report.findings.append(
            Finding(
                f"{label} (size {size}) is not consistent with the stored log: {error}; "
                f"the first bad entry is among leaves {matched_size}..{size - 1}",
            )
        )
