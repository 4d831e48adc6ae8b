"""A witness that needs nothing of the agency's: C2SP tlog-witness ``add-checkpoint``.

The witness holds only its own state folder:

- ``witness.key``: its cosignature/v1 (0x04) signing key (0600);
- ``log.vkey``: the verification key of the one log it watches;
- ``accepted.checkpoint``: the last checkpoint it cosigned (size and root).

The request body (c2sp.org/tlog-witness) is an ``old N`` line, up to 63 base64
consistency proof lines, an empty line, then the signed checkpoint. The witness
checks the log's signature, that ``N`` is the size it last cosigned, and the RFC
9162 consistency proof from its stored root to the new one; then it stores the new
checkpoint (atomically, under a lock: two requests cannot both pass the old-size
check) and answers with its cosignature line. Status codes are the protocol's:
200 cosigned, 400 malformed, 403 no trusted log signature, 404 another log,
409 old size not the one last cosigned (body: that size), 422 bad proof.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ftigate.ledger.checkpoint import (
    CheckpointError,
    Note,
    SignedCheckpoint,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    parse_checkpoint_body,
    parse_note,
    parse_skey,
    parse_vkey,
    verify_note,
)
from ftigate.ledger.merkle import ProofError, verify_consistency

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 1 << 20
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")
KEY_FILE, LOG_KEY_FILE, ACCEPTED_FILE, LOCK_FILE = (
    "witness.key",
    "log.vkey",
    "accepted.checkpoint",
    ".lock",
)


class WitnessStateError(Exception):
    """The witness's own folder is missing or unreadable (bad input for the operator)."""


@dataclass(frozen=True)
class WitnessResponse:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint_text: str

    def serialize(self) -> str:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return "\n".join(lines) + "\n\n" + self.checkpoint_text


def add_checkpoint_body(old_size: int, proof: list[bytes], checkpoint_text: str) -> str:
    """The request body an agency sends (``ftigate ledger witness-request`` writes it)."""
    return AddCheckpointRequest(old_size, tuple(proof), checkpoint_text).serialize()


class MalformedRequest(ValueError):
    pass


def parse_request(body: bytes) -> AddCheckpointRequest:
    if len(body) > MAX_REQUEST_BYTES:
        raise MalformedRequest(f"request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("request is not UTF-8") from None
    head, separator, checkpoint_text = text.partition("\n\n")
    if not separator:
        raise MalformedRequest("request has no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise MalformedRequest("the first line must be 'old <size>' (decimal, no leading zeros)")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for number, line in enumerate(proof_lines, start=1):
        try:
            raw = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise MalformedRequest(f"proof line {number} is not base64") from None
        if len(raw) != 32 or base64.b64encode(raw).decode() != line:
            raise MalformedRequest(f"proof line {number} is not one base64 SHA-256 hash")
        proof.append(raw)
    return AddCheckpointRequest(int(match.group(1)), tuple(proof), checkpoint_text)


@dataclass(frozen=True)
class WitnessState:
    folder: Path
    signer: Signer
    log_key: Verifier

    @classmethod
    def load(cls, folder: Path) -> WitnessState:
        from ftigate.ledger.keys import KeyFileError, read_secret_file

        try:
            signer = parse_skey(read_secret_file(folder / KEY_FILE))
            log_key = parse_vkey((folder / LOG_KEY_FILE).read_text(encoding="ascii"))
        except (KeyFileError, CheckpointError, OSError, UnicodeDecodeError) as error:
            raise WitnessStateError(f"witness state {folder}: {error}") from None
        return cls(folder, signer, log_key)

    def accepted(self) -> SignedCheckpoint | None:
        path = self.folder / ACCEPTED_FILE
        if not path.exists():
            return None
        try:
            return open_checkpoint(path.read_text(encoding="utf-8"), self.log_key)
        except (CheckpointError, UnicodeDecodeError) as error:
            raise WitnessStateError(f"{path}: {error}") from None

    def _store(self, signed: SignedCheckpoint) -> None:
        """Replace the accepted checkpoint: write, fsync, rename (never half-written)."""
        path = self.folder / ACCEPTED_FILE
        # A new file of our own (O_EXCL, a random name, mode 0600): never a path someone
        # placed in the folder, nor the target of a link planted there.
        descriptor, name = tempfile.mkstemp(prefix=f".{ACCEPTED_FILE}.", dir=self.folder)
        staging = Path(name)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(signed.serialize())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def add_checkpoint(self, body: bytes, timestamp: int | None = None) -> WitnessResponse:
        """Handle one add-checkpoint request body (the check and the update are atomic)."""
        try:
            request = parse_request(body)
            note = parse_note(request.checkpoint_text)
            checkpoint = parse_checkpoint_body(note.text)
        except (MalformedRequest, CheckpointError) as error:
            return WitnessResponse(400, f"malformed request: {error}\n")
        if checkpoint.origin != self.log_key.name:
            return WitnessResponse(404, f"unknown log {checkpoint.origin!r}\n")
        try:
            verify_note(note, [self.log_key])
        except CheckpointError as error:
            return WitnessResponse(403, f"checkpoint not signed by the log key: {error}\n")
        if request.old_size > checkpoint.size:
            return WitnessResponse(400, "old size is larger than the checkpoint size\n")
        signed = SignedCheckpoint(checkpoint, Note(note.text, note.signatures))
        lock = os.open(self.folder / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._add_locked(request, signed, timestamp)
        finally:
            os.close(lock)  # closing releases the lock

    def _add_locked(
        self, request: AddCheckpointRequest, signed: SignedCheckpoint, timestamp: int | None
    ) -> WitnessResponse:
        accepted = self.accepted()
        last_size = accepted.checkpoint.size if accepted else 0
        if request.old_size != last_size:
            return WitnessResponse(409, f"{last_size}\n", SIZE_CONTENT_TYPE)
        new = signed.checkpoint
        if request.old_size == 0:
            if request.proof:
                return WitnessResponse(422, "the proof must be empty when the old size is 0\n")
        elif request.old_size == new.size:
            assert accepted is not None
            if accepted.checkpoint.root_hash != new.root_hash:
                return WitnessResponse(409, f"{last_size}\n", SIZE_CONTENT_TYPE)
            if request.proof:
                return WitnessResponse(422, "the proof must be empty when the sizes are equal\n")
        else:
            assert accepted is not None
            try:
                verify_consistency(
                    request.old_size,
                    new.size,
                    list(request.proof),
                    accepted.checkpoint.root_hash,
                    new.root_hash,
                )
            except ProofError as error:
                return WitnessResponse(422, f"consistency proof does not verify: {error}\n")
        cosigned = cosign(signed, self.signer, timestamp)
        self._store(signed)
        line = next(
            s.line()
            for s in cosigned.signatures
            if (s.name, s.key_id) == (self.signer.name, self.signer.key_id)
        )
        return WitnessResponse(200, line)


def attach_cosignatures(checkpoint_text: str, cosignature_lines: str) -> str:
    """The checkpoint with the witness's response lines appended (the client's side)."""
    return checkpoint_text + cosignature_lines


def cosigned_checkpoints(folder: Path, log_key: Verifier) -> list[SignedCheckpoint]:
    """The checkpoints of this log kept in `folder` (the `--out` files of `ftigate witness
    add-checkpoint` and `witness cosign`), largest size first. A file that is not a
    checkpoint this log signed (another log's, a partial copy, a stray file) is skipped:
    its cosignatures would say nothing about this ledger."""
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_REQUEST_BYTES:
            continue
        try:
            found.append(open_checkpoint(path.read_bytes(), log_key))
        except (OSError, CheckpointError):
            continue
    return sorted(found, key=lambda signed: -signed.checkpoint.size)
