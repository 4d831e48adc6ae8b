"""The output folder every command writes into: created private or empty, never a link,
staged inside itself, and put in place as one set whose manifest is the commit point.

Rules (README: "Output folders"):

* `--out` is created (mode 0700) or must be empty. With `force=True` it may hold
  ftigate's own earlier outputs: files listed, with their size and SHA-256, in the
  `.ftigate-manifest.json` ftigate wrote there. Only those are replaced; anything else
  makes the command refuse (OutputError, exit code 2) before anything is touched.
* A symlinked `--out` is refused, and so is a link or folder where a file is expected.
* Files are written into `.ftigate-staging-XXXXXXXX/` inside `--out` (mode 0700, each
  file 0600) and fsynced with the folder. A staging folder left by a killed run before
  its commit point is recognised by its name and the marker file in it, and removed by
  the next run into the same folder; nothing else is ever removed.
* The set is committed in this order, so that a kill at any moment leaves one whole set
  or a folder that ftigate completes (rolls forward) before anything reads or replaces it:

  1. the new manifest, naming the new files and a `committing` block (the staging
     folder and the earlier files it replaces), is written, fsynced and renamed over
     the old one: the commit point. Killed before it, the old set and old manifest stand
     and the staging folder is stale;
  2. every earlier file is renamed out of the folder into the staging folder (as
     `.ftigate-replaced-NAME`), then every new file renamed in. The folder therefore
     never holds files of two runs at once: at worst part of one set, with the
     manifest saying which set is committed and that it is not yet complete;
  3. the manifest without `committing` replaces it (the set is complete), and the
     staging folder, with the earlier files in it, is removed (its marker last).

  `settle_output_folder(out)` (and every `OutputFolder` opened on `out`) finds a
  manifest still `committing` and finishes steps 2 and 3 from where the kill stopped.
  Only files the manifest names with their digests are ever moved or removed.
* Two phases, so that a ledger can record between "written durably, digests known" and
  "put in place":

      with OutputFolder(out, force=force, command="process") as folder:
          folder.write_csv("decisions.csv", frame)
          digests = folder.prepare()      # {name: sha256}, all durable in staging
          ...record digests...
          folder.commit()                 # the steps above
      # leaving the block without commit() removes only the staging folder (and `out`
      # itself when this run created it and it is still empty)

While a run writes, it holds an advisory lock (flock) on `--out`: a second run into the
same folder refuses instead of treating the first one's staging folder as stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from ftigate import __version__
from ftigate.outputs import safecsv
from ftigate.outputs.durable import (
    OutputError,
    describe_os_error,
    digest_file,
    fsync_dir,
    make_private_dirs,
    new_private_file,
    open_dir,
    pause_point,
    seal_file,
    write_all,
)

MANIFEST = ".ftigate-manifest.json"
MANIFEST_FORMAT = "ftigate-output-manifest/1"
STAGING_PREFIX = ".ftigate-staging-"
STAGING_MARKER = ".ftigate-staging"
RESERVED_PREFIX = ".ftigate-"
REPLACED_PREFIX = ".ftigate-replaced-"
"""an earlier output moved into the staging folder by a commit, removed with it"""
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One output as the manifest lists it."""

    name: str
    bytes: int
    sha256: str


@dataclass
class FolderState:
    """What is in an existing output folder, judged without touching it."""

    exists: bool
    own_files: list[FileRecord] = field(default_factory=list)
    """files present that ftigate wrote (they match the manifest), to be replaced"""
    stale_staging: list[str] = field(default_factory=list)
    """staging folders left by killed runs (name + marker), to be removed"""


def valid_output_name(name: str) -> bool:
    """A plain file name, not one of ftigate's own bookkeeping names."""
    return (
        bool(name)
        and name not in {".", ".."}
        and "/" not in name
        and "\x00" not in name
        and not name.startswith(RESERVED_PREFIX)
    )


def _refuse(out: Path, message: str) -> OutputError:
    return OutputError(out, message)


def _manifest_document(out_fd: int) -> dict[str, Any] | None:
    """The manifest ftigate wrote in the folder, parsed; None when there is none readable."""
    try:
        descriptor = os.open(MANIFEST, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=out_fd)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return None
        raw = os.read(descriptor, MAX_MANIFEST_BYTES + 1)
    finally:
        os.close(descriptor)
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        return None
    return document


def _records(entries: Any) -> list[FileRecord] | None:
    """The manifest's list of files; None when it is not one ftigate could have written."""
    if not isinstance(entries, list):
        return None
    records = []
    for entry in entries:
        try:
            record = FileRecord(str(entry["name"]), int(entry["bytes"]), str(entry["sha256"]))
        except (KeyError, TypeError, ValueError):
            return None
        if valid_output_name(record.name):
            records.append(record)
    return records


@dataclass(frozen=True)
class _Commit:
    """A commit the manifest says is under way: the new set, where it is staged, and the
    earlier set it replaces."""

    files: list[FileRecord]
    staging: str
    replacing: list[FileRecord]


def _commit_under_way(document: dict[str, Any]) -> _Commit | None:
    block = document.get("committing")
    if not isinstance(block, dict):
        return None
    files, replacing = _records(document.get("files") or []), _records(block.get("replacing") or [])
    staging = block.get("staging")
    if files is None or replacing is None or not isinstance(staging, str):
        return None
    if not staging.startswith(STAGING_PREFIX) or "/" in staging or staging in {".", ".."}:
        return None
    return _Commit(files, staging, replacing)


def _read_manifest(out_fd: int) -> dict[str, list[FileRecord]] | None:
    """name -> acceptable records, from `files` and (mid-commit) the files it replaces
    (`committing.replacing`, or `replacing` as earlier versions wrote it); None when there
    is no readable manifest of ftigate's."""
    document = _manifest_document(out_fd)
    if document is None:
        return None
    committing = document.get("committing")
    lists = [
        document.get("files") or [],
        document.get("replacing") or [],
        committing.get("replacing") or [] if isinstance(committing, dict) else [],
    ]
    accepted: dict[str, list[FileRecord]] = {}
    for entries in lists:
        records = _records(entries)
        if records is None:
            return None
        for record in records:
            accepted.setdefault(record.name, []).append(record)
    return accepted


def _is_stale_staging(out_fd: int, name: str) -> bool:
    """A folder ftigate staged in (its name and marker) holding only plain files."""
    try:
        if not stat.S_ISDIR(os.stat(name, dir_fd=out_fd, follow_symlinks=False).st_mode):
            return False
        staging_fd = open_dir(name, dir_fd=out_fd)
    except OSError:
        return False
    try:
        marker = os.stat(STAGING_MARKER, dir_fd=staging_fd, follow_symlinks=False)
        if not stat.S_ISREG(marker.st_mode):
            return False
        return all(not entry.is_dir(follow_symlinks=False) for entry in os.scandir(staging_fd))
    except OSError:
        return False
    finally:
        os.close(staging_fd)


def _judge(out: Path, out_fd: int, force: bool) -> FolderState:
    """What the folder holds and whether this run may write into it. Reads only."""
    state = FolderState(exists=True)
    others: list[str] = []
    has_manifest = False
    for entry in sorted(os.scandir(out_fd), key=lambda e: e.name):
        name = entry.name
        if name == MANIFEST:
            has_manifest = True
        elif name.startswith(STAGING_PREFIX) and _is_stale_staging(out_fd, name):
            # (a staging folder a commit under way names is settled before any run judges)
            state.stale_staging.append(name)
        else:
            others.append(name)
    if not others and not has_manifest:
        return state
    if not force:
        raise _refuse(
            out,
            "the output folder is not empty; give a new or empty folder, or --force to "
            "replace ftigate's own earlier outputs there (nothing else is ever replaced)",
        )
    accepted = _read_manifest(out_fd)
    if accepted is None:
        raise _refuse(
            out,
            f"holds {others[0]!r} but no manifest of ftigate's ({MANIFEST}): ftigate did not "
            "write it, so --force will not replace it; nothing was touched",
        )
    for name in others:
        found = digest_file(name, dir_fd=out_fd) if valid_output_name(name) else None
        match = next(
            (r for r in accepted.get(name, []) if found is not None and (r.bytes, r.sha256) == found),
            None,
        )
        if match is None:
            more = len(others) - 1
            raise _refuse(
                out,
                f"holds {name!r}, which is not an output ftigate wrote there (absent from or "
                f"changed since its {MANIFEST}); --force replaces only ftigate's own files, "
                "so nothing was touched"
                + (f" ({more} other entr{'y' if more == 1 else 'ies'})" if more else ""),
            )
        state.own_files.append(match)
    return state


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _refuse(path, f"cannot examine the output path ({describe_os_error(error)})") from None


def _check_folder_path(out: Path) -> os.stat_result | None:
    info = _lstat(out)
    if info is None:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(
            out, "the output folder is a symbolic link; give the real folder (links are never followed)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(out, "exists and is not a folder")
    return info


def check_output_folder(out: Path, *, force: bool) -> None:
    """Raise OutputError if a run could not write into `out`; touches nothing.

    For commands that write several outputs and must refuse before the first."""
    if _check_folder_path(out) is None:
        _probe_creation(out)
        return
    try:
        descriptor = open_dir(out)
    except OSError as error:
        raise _refuse(out, f"cannot open the output folder ({describe_os_error(error)})") from None
    try:
        _judge(out, descriptor, force)
    finally:
        os.close(descriptor)


def _probe_creation(out: Path) -> None:
    """Create the missing folders up to `out` and remove them again (each empty, made by
    this call): a place that cannot be written is refused before any work, whatever the
    permission bits say (root passes `os.access` on a read-only mount)."""
    created: list[Path] = []
    try:
        created = make_private_dirs(out)
    except OSError as error:
        raise _refuse(out, f"cannot create the output folder ({describe_os_error(error)})") from None
    finally:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


class OutputFolder:
    """One command's output folder, written all at once (see the module docstring)."""

    def __init__(self, out: Path, *, force: bool = False, command: str) -> None:
        self.out = Path(out)
        self.force = force
        self.command = command
        self._out_fd: int | None = None
        self._staging_fd: int | None = None
        self._staging_name = ""
        self._created_dirs: list[Path] = []
        self._names: list[str] = []
        self._records: dict[str, FileRecord] | None = None
        self._state = FolderState(exists=False)
        self._committed = False
        self._keep_staging = False

    # --- opening -----------------------------------------------------------------------------

    def __enter__(self) -> OutputFolder:
        try:
            self._open()
        except BaseException:
            self._close(remove_staging=True)
            raise
        return self

    def _open(self) -> None:
        out = self.out
        if _check_folder_path(out) is None:
            try:
                self._created_dirs = make_private_dirs(out)
            except OSError as error:
                raise _refuse(out, f"cannot create the output folder ({describe_os_error(error)})") from None
            _check_folder_path(out)  # whatever appeared there meanwhile is judged like any other
        try:
            self._out_fd = open_dir(out)
        except OSError as error:
            raise _refuse(out, f"cannot open the output folder ({describe_os_error(error)})") from None
        try:
            fcntl.flock(self._out_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refuse(out, "another ftigate run is writing into this folder") from None
        _settle(out, self._out_fd)
        self._state = _judge(out, self._out_fd, self.force)
        for name in self._state.stale_staging:
            _remove_staging(self._out_fd, name)
        try:
            self._staging_name, self._staging_fd = _new_staging(self._out_fd, self.command)
        except OSError as error:
            raise _refuse(out, f"cannot write into the output folder ({describe_os_error(error)})") from None

    # --- writing -------------------------------------------------------------------------------

    @property
    def staging(self) -> Path:
        """The staging folder (inside `out`): where `path()` files live until commit."""
        return self.out / self._staging_name

    def _new(self, name: str) -> int:
        if self._staging_fd is None or self._records is not None:
            raise RuntimeError("write before prepare(), inside the `with` block")
        if not valid_output_name(name):
            raise ValueError(f"not a plain output file name: {name!r}")
        if name in self._names:
            raise ValueError(f"{name} written twice")
        self._names.append(name)
        return new_private_file(name, dir_fd=self._staging_fd)

    def write_bytes(self, name: str, data: bytes) -> None:
        descriptor = self._new(name)
        try:
            write_all(descriptor, data)
        finally:
            os.close(descriptor)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, document: Any) -> None:
        self.write_text(name, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    def write_csv(self, name: str, frame: pl.DataFrame) -> None:
        """CSV through the one safe writer (formula cells neutralised)."""
        with os.fdopen(self._new(name), "wb") as stream:
            safecsv.write_csv(frame, stream)

    def write_parquet(self, name: str, frame: pl.DataFrame, **options: Any) -> None:
        """Parquet, values unchanged."""
        with os.fdopen(self._new(name), "wb") as stream:
            frame.write_parquet(stream, **options)

    def path(self, name: str) -> Path:
        """A new empty file (0600) in staging for writers that need a path (pyarrow's
        ParquetWriter, the PDF renderer). Sealed (0600 again, fsync) by prepare()."""
        os.close(self._new(name))
        return self.staging / name

    # --- the two phases ------------------------------------------------------------------------

    def prepare(self) -> dict[str, str]:
        """Make every written file private and durable in staging; {name: sha256}."""
        if self._records is not None:
            return {r.name: r.sha256 for r in self._records.values()}
        assert self._staging_fd is not None and self._out_fd is not None
        records: dict[str, FileRecord] = {}
        for name in self._names:
            try:
                size, digest = seal_file(name, dir_fd=self._staging_fd)
            except OSError as error:
                raise _refuse(
                    self.out, f"{name}: cannot finish the output ({describe_os_error(error)})"
                ) from None
            records[name] = FileRecord(name, size, digest)
        fsync_dir(self._staging_fd)
        self._check_still_ours()
        self._records = records
        return {r.name: r.sha256 for r in records.values()}

    def _check_still_ours(self) -> None:
        """`out` must still be the folder opened (not swapped for a link meanwhile)."""
        assert self._out_fd is not None
        now = _lstat(self.out)
        opened = os.fstat(self._out_fd)
        if now is None or (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
            raise _refuse(self.out, "the output folder was moved or replaced while ftigate wrote it")

    @property
    def records(self) -> list[FileRecord]:
        """Name, size and SHA-256 of each output (after prepare())."""
        if self._records is None:
            raise RuntimeError("prepare() first")
        return list(self._records.values())

    def commit(self) -> list[Path]:
        """Put the new set in place as one (the module docstring's steps 1-3); returns the
        paths. Crash-safe: from the moment the committing manifest is in place, a kill
        leaves a folder that the next `OutputFolder` or `settle_output_folder` completes."""
        self.prepare()
        assert self._records is not None and self._out_fd is not None and self._staging_fd is not None
        self._check_still_ours()
        commit = _Commit(list(self._records.values()), self._staging_name, self._state.own_files)
        pause_point("output:staged")
        try:
            _put_manifest(self._out_fd, self._staging_fd, _manifest(self.command, commit))
            # Past the commit point the staging folder holds the committed set: a failure
            # from here leaves it for the next run to roll forward, never removes it.
            self._keep_staging = True
            pause_point("output:committing")
            _finish_commit(self.out, self._out_fd, self._staging_fd, commit, self.command, judged=True)
        except OSError as error:
            raise _refuse(self.out, f"cannot put the outputs in place ({describe_os_error(error)})") from None
        self._committed = True
        self._close(remove_staging=True)
        return [self.out / r.name for r in commit.files]

    # --- closing -------------------------------------------------------------------------------

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close(remove_staging=True)

    def _close(self, *, remove_staging: bool) -> None:
        if self._staging_fd is not None:
            os.close(self._staging_fd)
            self._staging_fd = None
        if self._out_fd is not None:
            if remove_staging and self._staging_name and (self._committed or not self._keep_staging):
                # left for the next run into this folder, which recognises it
                with contextlib.suppress(OSError):
                    _remove_staging(self._out_fd, self._staging_name)
                self._staging_name = ""
            os.close(self._out_fd)  # releases the lock
            self._out_fd = None
        if not self._committed:
            # Folders this run made (`out` and missing parents), if still empty: nothing is
            # left behind by a run that wrote nothing.
            for folder in reversed(self._created_dirs):
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
        self._created_dirs = []


def settle_output_folder(out: Path) -> None:
    """Complete a commit that a kill interrupted in `out` (roll forward) and remove staging
    folders that killed runs left before their commit point (roll back), as the next run
    into `out` would, so that the folder holds one whole set and nothing else of ftigate's;
    does nothing to a settled folder. For readers of ftigate's outputs: a run writing
    into `out` now makes this refuse (OutputError) rather than wait."""
    if _check_folder_path(out) is None:
        return
    try:
        descriptor = open_dir(out)
    except OSError as error:
        raise _refuse(out, f"cannot open the output folder ({describe_os_error(error)})") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refuse(out, "another ftigate run is writing into this folder") from None
        _settle(out, descriptor)
        for entry in sorted(os.scandir(descriptor), key=lambda e: e.name):
            if entry.name.startswith(STAGING_PREFIX) and _is_stale_staging(descriptor, entry.name):
                _remove_staging(descriptor, entry.name)
    finally:
        os.close(descriptor)  # releases the lock


def _settle(out: Path, out_fd: int) -> None:
    """Roll forward the commit the manifest says is under way, if any (under the lock)."""
    document = _manifest_document(out_fd)
    commit = _commit_under_way(document) if document is not None else None
    if commit is None:
        return
    assert document is not None
    command = str(document.get("command") or "")
    if _lexists(out_fd, commit.staging) and not _is_stale_staging(out_fd, commit.staging):
        raise _refuse(
            out,
            f"its {MANIFEST} names {commit.staging!r} as an interrupted output, but that is not a "
            "staging folder of ftigate's; nothing was touched",
        )
    try:
        staging_fd: int | None = open_dir(commit.staging, dir_fd=out_fd)
    except FileNotFoundError:
        staging_fd = None
    except OSError as error:
        raise _refuse(out, f"cannot finish an interrupted output ({describe_os_error(error)})") from None
    try:
        if staging_fd is None:
            # Removed by hand after the commit point: whatever is in place must be the new set.
            commit = _Commit(commit.files, "", commit.replacing)
        _finish_commit(out, out_fd, staging_fd, commit, command, judged=False)
    except OSError as error:
        raise _refuse(out, f"cannot finish an interrupted output ({describe_os_error(error)})") from None
    finally:
        if staging_fd is not None:
            os.close(staging_fd)
    if commit.staging:
        _remove_staging(out_fd, commit.staging)


def _finish_commit(
    out: Path, out_fd: int, staging_fd: int | None, commit: _Commit, command: str, *, judged: bool
) -> None:
    """Steps 2 and 3 of a commit whose manifest is in place, from wherever they stopped.

    `judged`: the earlier files were verified against their manifest under this lock
    (a run's own commit); otherwise (after a kill) every file is verified here first, and
    a file that is neither the earlier nor the new version makes it refuse, untouched."""
    staged = set(os.listdir(staging_fd)) if staging_fd is not None else set()
    new_names = {r.name for r in commit.files}
    earlier = {r.name: r for r in commit.replacing}
    if not judged:
        for record in commit.files:
            found = digest_file(record.name, dir_fd=out_fd)
            if record.name in staged:
                before = earlier.get(record.name)
                if found is not None and (before is None or found != (before.bytes, before.sha256)):
                    raise _refuse(out, f"holds {record.name!r}, changed since ftigate began replacing it")
            elif found != (record.bytes, record.sha256):
                raise _refuse(out, f"{record.name!r} of the interrupted output is missing or changed")
    # Every earlier file leaves before any new one enters: never files of two runs at once.
    for record in commit.replacing:
        if record.name in new_names and record.name not in staged:
            continue  # the new version is already in place
        # An earlier file this run does not produce again is verified by its digest
        # before it goes (it is removed with the staging folder, not replaced).
        if not _is_own(out_fd, record, judged and record.name in new_names):
            continue
        if staging_fd is None:
            os.unlink(record.name, dir_fd=out_fd)
        else:
            os.rename(record.name, REPLACED_PREFIX + record.name, src_dir_fd=out_fd, dst_dir_fd=staging_fd)
        pause_point(f"output:replaced:{record.name}")
    for record in commit.files:
        if record.name in staged:
            os.rename(record.name, record.name, src_dir_fd=staging_fd, dst_dir_fd=out_fd)
            pause_point(f"output:placed:{record.name}")
    fsync_dir(out_fd)
    if staging_fd is not None:
        fsync_dir(staging_fd)
        _put_manifest(out_fd, staging_fd, _manifest(command, _Commit(commit.files, "", [])))
    else:
        scratch, scratch_fd = _new_staging(out_fd, command)
        try:
            _put_manifest(out_fd, scratch_fd, _manifest(command, _Commit(commit.files, "", [])))
        finally:
            os.close(scratch_fd)
        _remove_staging(out_fd, scratch)
    pause_point("output:complete")


def _lexists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _is_own(out_fd: int, record: FileRecord, judged: bool) -> bool:
    """The earlier file `record` is in place as ftigate wrote it (by size alone when its
    digest was verified under this lock)."""
    if judged:
        try:
            info = os.stat(record.name, dir_fd=out_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size == record.bytes
    return digest_file(record.name, dir_fd=out_fd) == (record.bytes, record.sha256)


def _manifest(command: str, commit: _Commit) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "ftigate_version": __version__,
        "command": command,
        # No timestamp: the same outputs give the same manifest (synthetic data is
        # "same seed, same bytes" for the whole folder); the file's mtime says when.
        "files": [asdict(r) for r in commit.files],
    }
    if commit.staging:
        document["committing"] = {
            "staging": commit.staging,
            "replacing": [asdict(r) for r in commit.replacing],
        }
    return document


def _put_manifest(out_fd: int, staging_fd: int, document: dict[str, Any]) -> None:
    """The manifest written and fsynced in staging, renamed over the folder's, fsynced."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(MANIFEST, dir_fd=staging_fd)
    descriptor = new_private_file(MANIFEST, dir_fd=staging_fd)
    try:
        write_all(descriptor, (json.dumps(document, indent=2) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.rename(MANIFEST, MANIFEST, src_dir_fd=staging_fd, dst_dir_fd=out_fd)
    fsync_dir(out_fd)


def _new_staging(out_fd: int, command: str) -> tuple[str, int]:
    """A new staging folder (0700) with its marker; (name, descriptor)."""
    name = STAGING_PREFIX + secrets.token_hex(4)
    os.mkdir(name, 0o700, dir_fd=out_fd)
    staging_fd = open_dir(name, dir_fd=out_fd)
    marker = {
        "ftigate_version": __version__,
        "command": command,
        "pid": os.getpid(),
        "started_at": _now(),
        "note": "staging folder of an ftigate run; a later run into this folder removes it",
    }
    descriptor = new_private_file(STAGING_MARKER, dir_fd=staging_fd)
    try:
        write_all(descriptor, (json.dumps(marker, indent=2) + "\n").encode())
    finally:
        os.close(descriptor)
    return name, staging_fd


def _remove_staging(out_fd: int, name: str) -> None:
    """Remove a staging folder of ftigate's: plain files (or links, unlinked, never
    followed), its marker last, then the folder. Only ever called on a folder that carries
    ftigate's staging name and marker and holds no sub-folder (`_is_stale_staging`), on a
    run's own staging folder, or on the one a committed manifest names."""
    staging_fd = open_dir(name, dir_fd=out_fd)
    try:
        entries = [e.name for e in os.scandir(staging_fd) if not e.is_dir(follow_symlinks=False)]
        # The marker last: a kill half-way leaves a folder still recognised as ftigate's.
        for entry in sorted(entries, key=lambda n: n == STAGING_MARKER):
            os.unlink(entry, dir_fd=staging_fd)
    finally:
        os.close(staging_fd)
    os.rmdir(name, dir_fd=out_fd)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
