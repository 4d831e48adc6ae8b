"""Key files kept outside the database: the pseudonym key and the log signing key.

- ``FTIGATE_PSEUDONYM_KEY_FILE`` (default ``~/.config/ftigate/pseudonym.key``):
  32 random bytes, hex on one line. Losing it makes accounting by taxpayer
  impossible; leaking it lets a database holder test guessed TINs.
- ``FTIGATE_SIGNING_KEY_FILE`` (default ``~/.config/ftigate/ledger-signing.key``):
  the Ed25519 log key as a note signing key, ``PRIVATE+KEY+<origin>+<id>+<key>``;
  its name is the log's checkpoint origin.

Files are created with mode 0600 and never overwritten; loading refuses a
file that group or others may read.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ftigate.ledger.checkpoint import CheckpointError, Signer, parse_skey
from ftigate.ledger.events import Pseudonymizer

PSEUDONYM_KEY_ENV = "FTIGATE_PSEUDONYM_KEY_FILE"
SIGNING_KEY_ENV = "FTIGATE_SIGNING_KEY_FILE"
DEFAULT_ORIGIN = "ftigate.example/ledger"


class KeyFileError(Exception):
    """A key file is missing, unreadable, too open or malformed."""


def pseudonym_key_path() -> Path:
    default = Path("~/.config/ftigate/pseudonym.key")
    return Path(os.environ.get(PSEUDONYM_KEY_ENV) or default).expanduser()


def signing_key_path() -> Path:
    default = Path("~/.config/ftigate/ledger-signing.key")
    return Path(os.environ.get(SIGNING_KEY_ENV) or default).expanduser()


def write_secret_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600, refusing to replace an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)


def read_secret_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist (run `ftigate ledger keygen`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible to group or others; run chmod 600 on it")
    return path.read_text(encoding="ascii").strip()


def load_pseudonymizer(path: Path | None = None) -> Pseudonymizer:
    path = path or pseudonym_key_path()
    text = read_secret_file(path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path} does not hold a hex key") from None
    if len(key) < 32:
        raise KeyFileError(f"{path} holds {len(key)} bytes; a pseudonym key needs 32")
    return Pseudonymizer(key)


def load_signer(path: Path | None = None) -> Signer:
    path = path or signing_key_path()
    try:
        return parse_skey(read_secret_file(path))
    except CheckpointError as error:
        raise KeyFileError(f"{path}: {error}") from None


@dataclass(frozen=True)
class GeneratedKeys:
    pseudonym_key_file: Path
    signing_key_file: Path
    verification_key: str


def generate_keys(
    origin: str = DEFAULT_ORIGIN,
    pseudonym_path: Path | None = None,
    signing_path: Path | None = None,
) -> GeneratedKeys:
    """Create both key files (0600). Existing files are kept, never replaced."""
    pseudonym_path = pseudonym_path or pseudonym_key_path()
    signing_path = signing_path or signing_key_path()
    for path in (pseudonym_path, signing_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    signer = Signer.generate(origin)
    write_secret_file(pseudonym_path, secrets.token_bytes(32).hex() + "\n")
    write_secret_file(signing_path, signer.skey() + "\n")
    return GeneratedKeys(pseudonym_path, signing_path, signer.verifier.vkey())
