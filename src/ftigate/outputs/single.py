"""The same rules for commands whose output is one file (`screen --out x.csv`,
`baseline --out d.csv`, `ledger checkpoint --out cp.txt`, `ledger prove --out`, ...).

* An existing file is refused unless `force=True`; a link or a folder at the path is
  always refused (links are never followed).
* The file is written to `.ftigate-partial-XXXXXXXX-<name>` in the same folder (mode
  0600, locked while written), fsynced, then renamed into place and the folder fsynced.
  Without `force` the rename cannot replace a file that appeared meanwhile (it is a
  hard link, which fails if the name exists).
* A partial file left by a killed run (that name pattern, not locked by a live run) is
  removed by the next run writing the same output.

      with OutputFile(path, force=force) as target:
          write(target.staging)        # any writer that takes a path
          digest = target.prepare()    # durable, private, sha256 known
          target.commit()
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ftigate.outputs.durable import (
    OutputError,
    describe_os_error,
    fsync_dir,
    make_private_dirs,
    new_private_file,
    open_dir,
    seal_file,
)

PARTIAL_PREFIX = ".ftigate-partial-"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise OutputError(path, f"cannot examine the output path ({describe_os_error(error)})") from None


def check_output_file(path: Path, *, force: bool) -> None:
    """Raise OutputError if `path` may not be written; touches nothing."""
    info = _lstat(path)
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(path, "the output is a symbolic link; links are never followed")
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(path, "exists and is not a regular file")
        if not force:
            raise OutputError(path, "exists; pass --force to replace it")
    # The folder holding the output may be reached through a link (a home directory
    # often is); only the output itself must not be one.
    if os.path.lexists(path.parent) and not path.parent.is_dir():
        raise OutputError(path, f"{path.parent} is not a folder")


class OutputFile:
    """One output file, staged beside its destination (see the module docstring)."""

    def __init__(self, path: Path, *, force: bool = False) -> None:
        self.path = Path(path)
        self.force = force
        self._dir_fd: int | None = None
        self._lock_fd: int | None = None
        self._partial = ""
        self._sha256: str | None = None
        self._committed = False
        self._created_dirs: list[Path] = []

    def __enter__(self) -> OutputFile:
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        return self

    def _open(self) -> None:
        check_output_file(self.path, force=self.force)
        folder = self.path.parent
        try:
            self._created_dirs = make_private_dirs(folder)
            self._dir_fd = open_dir(folder) if _lstat(folder) is not None else None
        except OSError as error:
            raise OutputError(self.path, f"cannot create its folder ({describe_os_error(error)})") from None
        if self._dir_fd is None:
            raise OutputError(self.path, "its folder could not be created")
        self._remove_stale_partials()
        name = f"{PARTIAL_PREFIX}{secrets.token_hex(4)}-{self.path.name}"
        try:
            self._lock_fd = new_private_file(name, dir_fd=self._dir_fd)
        except OSError as error:
            raise OutputError(self.path, f"cannot write here ({describe_os_error(error)})") from None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._partial = name

    def _remove_stale_partials(self) -> None:
        """Partial files of this output left by killed runs: the name says they are
        ftigate's, an untaken lock that no run is writing them."""
        assert self._dir_fd is not None
        suffix = "-" + self.path.name
        for entry in list(os.scandir(self._dir_fd)):
            if not (entry.name.startswith(PARTIAL_PREFIX) and entry.name.endswith(suffix)):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                descriptor = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=self._dir_fd)
            except OSError:
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue  # a live run is writing it
            try:
                os.unlink(entry.name, dir_fd=self._dir_fd)
            finally:
                os.close(descriptor)

    @property
    def staging(self) -> Path:
        """Where to write the file (same folder as the destination, mode 0600)."""
        return self.path.parent / self._partial

    def prepare(self) -> str:
        """Mode 0600 and fsync; the SHA-256 of the bytes that will be in place."""
        if self._sha256 is None:
            assert self._dir_fd is not None
            try:
                _, self._sha256 = seal_file(self._partial, dir_fd=self._dir_fd)
            except OSError as error:
                raise OutputError(
                    self.path, f"cannot finish the output ({describe_os_error(error)})"
                ) from None
        return self._sha256

    def commit(self) -> Path:
        self.prepare()
        assert self._dir_fd is not None
        try:
            if self.force:
                info = _lstat(self.path)
                if info is not None and not stat.S_ISREG(info.st_mode):
                    raise OutputError(self.path, "is no longer a regular file; not replaced")
                os.rename(self._partial, self.path.name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            else:
                # link() refuses an existing name: nothing that appeared meanwhile is replaced.
                os.link(self._partial, self.path.name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
                os.unlink(self._partial, dir_fd=self._dir_fd)
            fsync_dir(self._dir_fd)
        except FileExistsError:
            raise OutputError(
                self.path, "exists (it appeared while ftigate wrote); pass --force to replace it"
            ) from None
        except OSError as error:
            raise OutputError(
                self.path, f"cannot put the output in place ({describe_os_error(error)})"
            ) from None
        self._committed = True
        self._close()
        return self.path

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._dir_fd is not None and self._partial and not self._committed:
            # removed by the next run writing this output
            with contextlib.suppress(OSError):
                os.unlink(self._partial, dir_fd=self._dir_fd)
        for attribute in ("_lock_fd", "_dir_fd"):
            descriptor = getattr(self, attribute)
            if descriptor is not None:
                os.close(descriptor)
                setattr(self, attribute, None)
        if not self._committed:
            for folder in reversed(self._created_dirs):  # made by this run and still empty
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
        self._created_dirs = []


@contextmanager
def output_file(path: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield the staging path; on success the file is put in place (see OutputFile)."""
    with OutputFile(path, force=force) as target:
        yield target.staging
        target.commit()


def write_output_bytes(path: Path, data: bytes, *, force: bool = False) -> Path:
    with OutputFile(path, force=force) as target:
        target.staging.write_bytes(data)
        return target.commit()


def write_output_text(path: Path, text: str, *, force: bool = False) -> Path:
    return write_output_bytes(path, text.encode("utf-8"), force=force)
