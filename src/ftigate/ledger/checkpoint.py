"""Signed tree heads in the formats transparency-log tools read.

- C2SP signed-note (c2sp.org/signed-note): text ending in a newline, a blank
  line, then one or more lines ``— <key name> base64(key id[4] || signature)``.
  Ed25519 signatures (type 0x01) sign the note text; key id =
  SHA-256(name || 0x0A || 0x01 || public key)[:4]. Verification keys are
  written ``<name>+<hex key id>+<base64(0x01 || public key)>`` and signing keys
  ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>`` (the Go
  ``golang.org/x/mod/sumdb/note`` forms, which Tessera and the witnesses use).
- C2SP tlog-checkpoint: the note text is ``origin``, decimal ``size``,
  ``base64(root)``, then optional non-empty extension lines.
- C2SP tlog-cosignature v1 (type 0x04): the signature is
  ``u64 big-endian timestamp || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || checkpoint note text``; key id =
  SHA-256(name || 0x0A || 0x04 || public key)[:4]. Checked against the spec
  text of C2SP/C2SP tlog-cosignature.md.

Parsing is strict: anything the specs do not allow is refused with a
:class:`CheckpointError` that says what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 1 << 20
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_UINT64 = (1 << 64) - 1


class CheckpointError(ValueError):
    """A note, checkpoint or key is malformed or does not verify."""


class NoteFormatError(CheckpointError):
    """The text is not a well-formed signed note, checkpoint or key."""


class SignatureError(CheckpointError):
    """No trusted signature verifies (or a trusted key's signature is bad)."""


# --- keys ------------------------------------------------------------------------


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4] (signed-note, tlog-cosignature)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteFormatError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _b64decode_strict(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise NoteFormatError(f"{what} is not standard base64") from error
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteFormatError(f"{what} is not canonical base64")
    return raw


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: its name, signature type and raw Ed25519 key."""

    name: str
    signature_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if self.signature_type not in (ED25519, COSIGNATURE_V1):
            raise NoteFormatError(
                f"signature type 0x{self.signature_type:02x} is not supported "
                "(only Ed25519 0x01 and cosignature/v1 0x04)"
            )
        if len(self.public_key) != 32:
            raise NoteFormatError(f"an Ed25519 public key has 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    def vkey(self) -> str:
        """``name+hexid+base64(type || key)``."""
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """Parse ``name+hexid+base64(type || key)``; base64 may hold '+', so split twice."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteFormatError("verification key must be <name>+<hex key id>+<base64 key>")
    name, hex_id, material_b64 = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteFormatError(f"key id {hex_id!r} must be 8 lower-case hex digits")
    material = _b64decode_strict(material_b64, "verification key material")
    if len(material) != 33:
        raise NoteFormatError(
            f"verification key material has {len(material)} bytes, expected 1 + 32"
        )
    verifier = Verifier(name, material[0], material[1:])
    if verifier.key_id.hex() != hex_id:
        raise NoteFormatError(
            f"key id {hex_id} does not match the key (computed {verifier.key_id.hex()})"
        )
    return verifier


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key used under a name, for note (0x01) or cosignature (0x04)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    signature_type: int = ED25519

    def __post_init__(self) -> None:
        _check_key_name(self.name)

    @classmethod
    def generate(cls, name: str, signature_type: int = ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), signature_type)

    @property
    def verifier(self) -> Verifier:
        return Verifier(
            self.name, self.signature_type, _public_bytes(self.private_key.public_key())
        )

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def skey(self) -> str:
        """``PRIVATE+KEY+name+hexid+base64(type || seed)``: keep it secret."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        material = base64.b64encode(bytes([self.signature_type]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"


def parse_skey(text: str) -> Signer:
    """Parse a signing key written by :meth:`Signer.skey` (or by Go's note package)."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteFormatError("signing key must be PRIVATE+KEY+<name>+<hex key id>+<base64 key>")
    _, _, name, hex_id, material_b64 = parts
    material = _b64decode_strict(material_b64, "signing key material")
    if len(material) != 33:
        raise NoteFormatError(f"signing key material has {len(material)} bytes, expected 1 + 32")
    if material[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteFormatError(f"signature type 0x{material[0]:02x} is not supported")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(material[1:]), material[0])
    if signer.key_id.hex() != hex_id:
        raise NoteFormatError(
            f"signing key id {hex_id} does not match the key (computed {signer.key_id.hex()})"
        )
    return signer


# --- signed notes ------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{EM_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]

    def serialize(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def parse_note(data: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, strictly."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteFormatError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteFormatError("note is not valid UTF-8") from error
    for char in data:
        if char < " " and char != "\n":
            raise NoteFormatError(
                f"note contains the control character U+{ord(char):04X} (only newline is allowed)"
            )
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note has no blank line before its signatures")
    text, block = data[: split + 1], data[split + 2 :]
    if not block:
        raise NoteFormatError("note has no signature lines")
    if not block.endswith("\n"):
        raise NoteFormatError("the last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, start=1):
        prefix = EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteFormatError(f"signature line {number} does not start with '— '")
        pieces = line[len(prefix) :].split(" ")
        if len(pieces) != 2:
            raise NoteFormatError(f"signature line {number} must be '— <name> <base64>'")
        name, blob_b64 = pieces
        _check_key_name(name)
        blob = _b64decode_strict(blob_b64, f"signature line {number}")
        if len(blob) < 5:
            raise NoteFormatError(f"signature line {number} is too short to hold a key id")
        signatures.append(NoteSignature(name, blob[:4], blob[4:]))
    return Note(text, tuple(signatures))


def sign_note(text: str, signer: Signer) -> NoteSignature:
    """An Ed25519 (0x01) note signature over ``text``."""
    if signer.signature_type != ED25519:
        raise CheckpointError("a note signature needs an Ed25519 (0x01) key")
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end in a newline")
    return NoteSignature(signer.name, signer.key_id, signer.sign(text.encode()))


def verify_note(note: Note, verifiers: list[Verifier]) -> list[Verifier]:
    """The signed-note rules: ignore unknown keys, reject a bad known signature,
    reject a note that no known key verifies. Returns the keys that verified."""
    known = {(v.name, v.key_id): v for v in verifiers if v.signature_type == ED25519}
    verified = []
    for signature in note.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text.encode(), signature.signature):
            raise SignatureError(
                f"signature by {verifier.name} ({verifier.key_id.hex()}) does not verify"
            )
        verified.append(verifier)
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in known.values()) or "none"
        raise SignatureError(f"no signature from a trusted key (trusted: {names})")
    return verified


# --- checkpoints ---------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The body of a tlog-checkpoint: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteFormatError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= _MAX_UINT64:
            raise NoteFormatError(f"checkpoint size {self.size} is outside 0..2^64-1")
        if len(self.root_hash) != 32:
            raise NoteFormatError(f"checkpoint root hash has {len(self.root_hash)} bytes, not 32")
        for line in self.extensions:
            if not line or "\n" in line:
                raise NoteFormatError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def parse_checkpoint_body(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise NoteFormatError("checkpoint body must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteFormatError(
            f"checkpoint body has {len(lines)} lines; needs origin, size and root hash"
        )
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteFormatError("checkpoint origin line is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise NoteFormatError(
            f"checkpoint size {size_text!r} is not a decimal without leading zeros"
        )
    size = int(size_text)
    if size > _MAX_UINT64:
        raise NoteFormatError("checkpoint size does not fit in 64 bits")
    root = _b64decode_strict(root_text, "checkpoint root hash")
    if len(root) != 32:
        raise NoteFormatError(f"checkpoint root hash has {len(root)} bytes, not 32")
    if any(not line for line in extensions):
        raise NoteFormatError("checkpoint extension lines must not be empty")
    return Checkpoint(origin, size, root, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: Note

    def serialize(self) -> str:
        return self.note.serialize()


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
    """Sign a checkpoint with the log key; the key name must equal the origin."""
    if signer.name != checkpoint.origin:
        raise CheckpointError(
            f"log key name {signer.name!r} differs from the checkpoint origin {checkpoint.origin!r}"
        )
    text = checkpoint.body()
    return SignedCheckpoint(checkpoint, Note(text, (sign_note(text, signer),)))


def open_checkpoint(data: str | bytes, log_key: Verifier) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify the log's signature on it."""
    note = parse_note(data)
    checkpoint = parse_checkpoint_body(note.text)
    if checkpoint.origin != log_key.name:
        raise SignatureError(
            f"checkpoint origin {checkpoint.origin!r} is not the log {log_key.name!r}"
        )
    verify_note(note, [log_key])
    return SignedCheckpoint(checkpoint, note)


# --- cosignatures (C2SP tlog-cosignature, Ed25519 v1) -------------------------------------


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosign(signed: SignedCheckpoint, cosigner: Signer, timestamp: int | None = None) -> Note:
    """Add a cosignature/v1 line to a checkpoint note; returns the new note."""
    if cosigner.signature_type != COSIGNATURE_V1:
        raise CheckpointError("a cosignature needs a key of type 0x04 (cosignature/v1)")
    when = int(time.time()) if timestamp is None else timestamp
    if not 0 <= when < 1 << 63:
        raise CheckpointError(f"cosignature timestamp {when} is outside 0..2^63-1")
    signature = when.to_bytes(8, "big") + cosigner.sign(cosignature_message(signed.note.text, when))
    line = NoteSignature(cosigner.name, cosigner.key_id, signature)
    others = tuple(
        s for s in signed.note.signatures if (s.name, s.key_id) != (cosigner.name, cosigner.key_id)
    )
    return Note(signed.note.text, (*others, line))


def verify_cosignature(note: Note, witness: Verifier) -> int:
    """Return the timestamp of ``witness``'s valid cosignature on ``note``, or raise."""
    if witness.signature_type != COSIGNATURE_V1:
        raise CheckpointError("witness key must be a cosignature/v1 (0x04) vkey")
    for signature in note.signatures:
        if (signature.name, signature.key_id) != (witness.name, witness.key_id):
            continue
        if len(signature.signature) != 8 + 64:
            raise SignatureError(
                f"cosignature by {witness.name} has {len(signature.signature)} bytes, "
                "expected 8 + 64"
            )
        when = int.from_bytes(signature.signature[:8], "big")
        if when >= 1 << 63:
            raise SignatureError(f"cosignature by {witness.name} has an invalid timestamp")
        if not witness.verify(cosignature_message(note.text, when), signature.signature[8:]):
            raise SignatureError(f"cosignature by {witness.name} does not verify")
        return when
    raise SignatureError(f"no cosignature by witness {witness.name}+{witness.key_id.hex()}")


@dataclass(frozen=True)
class Cosignature:
    """One signature on a checkpoint note besides the log's own, as a reader lists it."""

    name: str
    key_id: str
    """the signed-note key id, hex"""
    timestamp: int | None
    """a cosignature/v1's time (seconds since the epoch), None when the line is not one"""
    verified: bool | None
    """True or False against a trusted witness key of that name and id; None without one"""


def cosignatures(note: Note, log_key: Verifier, witnesses: tuple[Verifier, ...] = ()) -> list[Cosignature]:
    """The signature lines of `note` other than the log's, each with its time when it has
    the cosignature/v1 shape (8-byte time, 64-byte signature) and whether it verifies
    against `witnesses`. Pure; a line of unknown shape is listed, never trusted."""
    listed = []
    trusted = {(w.name, w.key_id): w for w in witnesses}
    for signature in note.signatures:
        if (signature.name, signature.key_id) == (log_key.name, log_key.key_id):
            continue
        blob = signature.signature
        when = int.from_bytes(blob[:8], "big") if len(blob) == 8 + 64 else None
        if when is not None and when >= 1 << 63:
            when = None
        witness = trusted.get((signature.name, signature.key_id))
        verified: bool | None = None
        if witness is not None:
            try:
                verify_cosignature(Note(note.text, (signature,)), witness)
                verified = True
            except CheckpointError:
                verified = False
        listed.append(Cosignature(signature.name, signature.key_id.hex(), when, verified))
    return listed
