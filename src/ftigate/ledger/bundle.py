"""Offline proof bundles for taxpayers, in the C2SP tlog-proof format (c2sp.org/tlog-proof).

One file per disclosure (``<event id>.tlog-proof``)::

    c2sp.org/tlog-proof@v1
    extra <base64 of the ledger entry>
    index <leaf index>
    <base64 inclusion proof hash, one per line, leaf's sibling first>

    <the signed checkpoint, with any witness cosignatures>

The entry travels as the ``extra`` data. It is not trusted as such: the checker
hashes it into the leaf (RFC 9162 ``SHA-256(0x00 || entry)``) and folds the
proof up to the checkpoint's root, so a changed byte anywhere fails. Checking
needs only the bundle, the log's verification key and, to require a witness, the
witness's key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from ftigate.ledger.checkpoint import CheckpointError, Verifier, open_checkpoint, verify_cosignature
from ftigate.ledger.merkle import ProofError, leaf_hash, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"
SUFFIX = ".tlog-proof"
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")


class BundleFormatError(ValueError):
    """The file is not a well-formed tlog-proof bundle (bad input)."""


class BundleMismatch(Exception):
    """The bundle is well-formed but does not verify."""


@dataclass(frozen=True)
class CheckedBundle:
    index: int
    size: int
    origin: str
    event: dict[str, Any]
    witnesses: tuple[str, ...]

    def summary(self) -> str:
        kind, event_id = self.event.get("kind"), self.event.get("event_id")
        detail = ""
        if kind == "disclosure":
            detail = f" (disclosed {self.event.get('date')} to {self.event.get('recipient_agency')})"
        cosigned = f", cosigned by {', '.join(self.witnesses)}" if self.witnesses else ""
        return (
            f"OK: {kind} {event_id}{detail} is leaf {self.index} of the log {self.origin} "
            f"signed at size {self.size}{cosigned}"
        )


def make_bundle(entry: bytes, index: int, proof: list[bytes], checkpoint_text: str) -> str:
    lines = [
        HEADER,
        "extra " + base64.b64encode(entry).decode(),
        f"index {index}",
        *(base64.b64encode(h).decode() for h in proof),
    ]
    return "\n".join(lines) + "\n\n" + checkpoint_text


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BundleFormatError(f"{what} is not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise BundleFormatError(f"{what} is not canonical base64")
    return raw


def check_bundle(data: bytes, log_key: Verifier, witness_keys: tuple[Verifier, ...] = ()) -> CheckedBundle:
    """Verify a bundle with nothing else: raises BundleFormatError or BundleMismatch."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleFormatError("the bundle is not UTF-8") from None
    head, separator, checkpoint_text = text.partition("\n\n")
    if not separator:
        raise BundleFormatError("the bundle has no empty line before the checkpoint")
    lines = head.split("\n")
    if len(lines) < 3 or lines[0] != HEADER:
        raise BundleFormatError(f"the first line must be {HEADER}, then extra and index lines")
    if not lines[1].startswith("extra "):
        raise BundleFormatError("the second line must be 'extra <base64 ledger entry>'")
    entry = _b64(lines[1].removeprefix("extra "), "the extra line")
    match = _INDEX.fullmatch(lines[2])
    if match is None:
        raise BundleFormatError("the third line must be 'index <decimal>'")
    index = int(match.group(1))
    proof = [_b64(line, f"proof line {n}") for n, line in enumerate(lines[3:], start=1)]
    if any(len(h) != 32 for h in proof):
        raise BundleFormatError("a proof line is not one SHA-256 hash")
    try:
        signed = open_checkpoint(checkpoint_text, log_key)
    except CheckpointError as error:
        raise BundleMismatch(f"the checkpoint in the bundle: {error}") from None
    witnesses = []
    for witness in witness_keys:
        try:
            verify_cosignature(signed.note, witness)
        except CheckpointError as error:
            raise BundleMismatch(f"the checkpoint in the bundle: {error}") from None
        witnesses.append(witness.name)
    size = signed.checkpoint.size
    try:
        verify_inclusion(leaf_hash(entry), index, size, proof, signed.checkpoint.root_hash)
    except ProofError as error:
        raise BundleMismatch(f"the inclusion proof does not verify: {error}") from None
    try:
        envelope = json.loads(entry)
        event = envelope["event"]
        seq = envelope["seq"]
    except (ValueError, KeyError, TypeError):
        raise BundleMismatch("the entry is not a ledger entry") from None
    if seq != index or not isinstance(event, dict):
        raise BundleMismatch(f"the entry was written as leaf {seq}, not {index}")
    return CheckedBundle(index, size, signed.checkpoint.origin, event, tuple(witnesses))
