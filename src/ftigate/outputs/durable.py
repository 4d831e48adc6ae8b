"""Low-level pieces the output helpers share: private modes, fsync, digests, errors."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

from ftigate.intake.errors import IntakeError

FILE_MODE = 0o600
"""every file ftigate writes: outputs hold taxpayer data or facts about it"""
DIR_MODE = 0o700
"""every folder ftigate creates"""

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class OutputError(IntakeError):
    """An output path ftigate must not or cannot write (exit code 2: bad input).

    Names the path and the reason, never a file's contents."""


def describe_os_error(error: OSError) -> str:
    return error.strerror or error.__class__.__name__


def make_private_dirs(path: Path) -> list[Path]:
    """Create `path` and any missing parents with mode 0700 (never following a link at
    `path` itself: a symlink there is refused by the caller before this is reached).
    Returns the folders this call created, outermost first."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    created = []
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue  # made by someone else meanwhile: not ours; the caller checks what it is
        created.append(folder)
    return created


def open_dir(path: Path | str, *, dir_fd: int | None = None) -> int:
    return os.open(path, _DIR_FLAGS, dir_fd=dir_fd)


def new_private_file(name: str, *, dir_fd: int) -> int:
    """A new file, mode 0600, created exclusively (never an existing file or a link)."""
    return os.open(name, _NEW_FILE_FLAGS, FILE_MODE, dir_fd=dir_fd)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists: for files another library
    then opens (a SQLite database, whose journal and WAL files take its mode)."""
    try:
        descriptor = os.open(path, _NEW_FILE_FLAGS, FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def seal_file(name: str, *, dir_fd: int) -> tuple[int, str]:
    """Make a finished file private and durable: mode 0600, fsync; returns (bytes, sha256).

    Opened without following links, so a link planted in its place is refused."""
    descriptor = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file", name)
        os.fchmod(descriptor, FILE_MODE)
        digest = hashlib.sha256()
        size = 0
        while block := os.read(descriptor, 1 << 20):
            digest.update(block)
            size += len(block)
        os.fsync(descriptor)
        return size, digest.hexdigest()
    finally:
        os.close(descriptor)


def digest_file(name: str, *, dir_fd: int) -> tuple[int, str] | None:
    """(bytes, sha256) of a regular file, or None for anything else (a link, a folder)."""
    try:
        descriptor = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        digest = hashlib.sha256()
        size = 0
        while block := os.read(descriptor, 1 << 20):
            digest.update(block)
            size += len(block)
        return size, digest.hexdigest()
    finally:
        os.close(descriptor)


def file_sha256(path: Path) -> str:
    """SHA-256 of an input file, read in blocks (request files can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(descriptor: int) -> None:
    os.fsync(descriptor)


def write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


PAUSE_ENV = "FTIGATE_TEST_PAUSE_AT"
PAUSE_MARKER_ENV = "FTIGATE_TEST_PAUSE_MARKER"


def pause_point(stage: str) -> None:
    """Tests only: with FTIGATE_TEST_PAUSE_AT=stage, write the marker file named by
    FTIGATE_TEST_PAUSE_MARKER and wait to be killed, so a kill test can stop a run at an
    exact step. Unset (always, outside tests) it does nothing.
    The ledger's steps in `ftigate.decide.record` use it too."""
    if os.environ.get(PAUSE_ENV) != stage:
        return
    marker = os.environ.get(PAUSE_MARKER_ENV)
    if marker:
        Path(marker).write_text(stage + "\n")
    while True:
        time.sleep(60)
