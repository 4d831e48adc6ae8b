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
   key, it must carry a valid cosignature from that witness.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ftigate.ledger.canonical import canonical_json
from ftigate.ledger.checkpoint import (
    CheckpointError,
    SignedCheckpoint,
    Verifier,
    open_checkpoint,
    verify_cosignature,
)
from ftigate.ledger.merkle import HashTree, ProofError, leaf_hash, verify_consistency


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


def check_rows(rows: Iterable[LeafRow], report: VerifyReport) -> HashTree:
    """Step 1: recompute every leaf hash; returns the tree of recomputed hashes."""
    tree = HashTree()
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
                report.findings.append(
                    Finding(f"leaf index {row.leaf_index} appears twice", row.leaf_index)
                )
            # Keep recomputing from the stored content; later checks stay meaningful.
        digest = leaf_hash(row.entry)
        if digest != row.leaf_hash:
            report.findings.append(
                Finding(
                    f"{_describe(row)} was altered: its entry no longer hashes to the "
                    "stored leaf hash",
                    expected,
                )
            )
        try:
            envelope = json.loads(row.entry)
            seq, prev, event = envelope["seq"], envelope["prev"], envelope["event"]
        except (ValueError, KeyError, TypeError):
            report.findings.append(Finding(f"{_describe(row)} is not a ledger entry", expected))
        else:
            if canonical_json(envelope) != row.entry:
                report.findings.append(
                    Finding(f"{_describe(row)} is not RFC 8785 canonical JSON", expected)
                )
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
                        f"{_describe(previous)} was altered: leaf {expected} was chained "
                        "to a different hash",
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
        tree.append(digest)
        previous, previous_hash = row, digest
    return tree


def verify_log(
    rows: Iterable[LeafRow],
    head_size: int,
    head_root: bytes,
    signed_heads: Iterable[tuple[str, str]],
    log_key: Verifier,
    outside_checkpoint: str | None = None,
    witness_key: Verifier | None = None,
) -> VerifyReport:
    """Run all checks. ``signed_heads`` are (label, checkpoint text) pairs."""
    report = VerifyReport()
    tree = check_rows(rows, report)
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
        report.findings.append(
            Finding("ledger head root differs from the root recomputed from the leaves")
        )

    matched_size = 0
    for label, text in signed_heads:
        report.checked_checkpoints += 1
        try:
            signed = open_checkpoint(text, log_key)
        except CheckpointError as error:
            report.findings.append(Finding(f"signed tree head {label}: {error}"))
            continue
        _compare(signed, f"signed tree head {label}", tree, matched_size, report)
        if signed.checkpoint.size <= tree.size and signed.checkpoint.root_hash == tree.root(
            signed.checkpoint.size
        ):
            matched_size = max(matched_size, signed.checkpoint.size)

    if outside_checkpoint is not None:
        report.checked_checkpoints += 1
        try:
            signed = open_checkpoint(outside_checkpoint, log_key)
        except CheckpointError as error:
            report.findings.append(Finding(f"checkpoint file: {error}"))
        else:
            _compare(signed, "checkpoint file", tree, matched_size, report)
            if witness_key is not None:
                try:
                    verify_cosignature(signed.note, witness_key)
                except CheckpointError as error:
                    report.findings.append(Finding(f"checkpoint file: {error}"))
    return report


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
