"""Single-file outputs: an existing file only with --force, never a link, staged beside
the destination and renamed, partial files of killed runs cleared."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ftigate.outputs import PARTIAL_PREFIX, OutputError, OutputFile, output_file, write_output_text


def test_a_new_file_is_private_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cp.txt"
    with OutputFile(path) as target:
        target.staging.write_text("checkpoint\n")
        digest = target.prepare()
        assert not path.exists()
        target.commit()
    assert path.read_text() == "checkpoint\n"
    assert digest == hashlib.sha256(b"checkpoint\n").hexdigest()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["cp.txt"]


def test_an_existing_file_needs_force(tmp_path: Path) -> None:
    path = tmp_path / "screened.csv"
    path.write_text("earlier")
    with pytest.raises(OutputError, match="--force"):
        write_output_text(path, "later")
    assert path.read_text() == "earlier"
    write_output_text(path, "later", force=True)
    assert path.read_text() == "later"


def test_links_and_folders_are_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(OutputError, match="symbolic link"):
            write_output_text(link, "x", force=force)
    assert victim.read_text() == "keep"
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(OutputError, match="not a regular file"):
        write_output_text(folder, "x", force=True)


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with pytest.raises(RuntimeError), output_file(path) as staging:
        staging.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_appears_meanwhile_is_not_replaced_without_force(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with pytest.raises(OutputError, match="appeared"), OutputFile(path) as target:
        target.staging.write_text("ours")
        path.write_text("someone else's")
        target.commit()
    assert path.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from ftigate.outputs import OutputFile
    with OutputFile(Path(sys.argv[1])) as target:
        target.staging.write_text("half")
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_partial_file_left_by_a_killed_run_is_cleared_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    (tmp_path / f"{PARTIAL_PREFIX}user-notes.csv").write_text("not ours: another output's name")
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    partials = [p for p in tmp_path.iterdir() if p.name.endswith("-d.csv")]
    assert len(partials) == 1 and stat.S_IMODE(partials[0].stat().st_mode) == 0o600
    write_output_text(path, "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{PARTIAL_PREFIX}user-notes.csv", "d.csv"]
    assert path.read_text() == "whole"


def test_a_partial_file_being_written_is_not_taken_for_stale(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with OutputFile(path) as first:
        first.staging.write_text("first")
        with OutputFile(path, force=True) as second:
            second.staging.write_text("second")
            second.commit()
        assert first.staging.exists()
        os.unlink(path)
        first.commit()
    assert path.read_text() == "first"
