"""The output folder put in place as one set: a real process killed (SIGKILL) at each step
of a commit leaves the earlier set or part of the new one, never files of both, and the
next reader (`settle_output_folder`) or run finds one complete set, rolling forward."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ftigate.outputs import (
    MANIFEST,
    STAGING_PREFIX,
    OutputError,
    OutputFolder,
    settle_output_folder,
)
from killed_commit import killed_at

EARLIER = {"a.txt": "old a\n", "old.txt": "old\n"}
NEW = {"a.txt": "new a\n", "b.txt": "new b\n"}

# Every step of a commit with an earlier set in the folder, in the order they happen.
STEPS = [
    "output:staged",
    "output:committing",
    "output:replaced:a.txt",
    "output:replaced:old.txt",
    "output:placed:a.txt",
    "output:placed:b.txt",
    "output:complete",
]


def write_set(out: Path, files: dict[str, str], *, force: bool = False) -> None:
    with OutputFolder(out, force=force, command="test") as folder:
        for name, text in files.items():
            folder.write_text(name, text)
        folder.prepare()
        folder.commit()


def outputs(out: Path) -> dict[str, str]:
    """The plain files a reader of the folder sees (not ftigate's bookkeeping)."""
    return {
        p.name: p.read_text() for p in out.iterdir() if p.is_file() and not p.name.startswith(".ftigate-")
    }


def manifest_matches_folder(out: Path) -> None:
    """The manifest is complete (no commit under way) and lists exactly what is there."""
    manifest = json.loads((out / MANIFEST).read_text())
    assert "committing" not in manifest
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    present = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in outputs(out).items()}
    assert listed == present


@pytest.mark.parametrize("step", STEPS)
def test_a_commit_killed_at_any_step_leaves_one_set_and_is_rolled_forward(tmp_path: Path, step: str) -> None:
    out = tmp_path / "out"
    write_set(out, EARLIER)
    killed_at(step, out, NEW, tmp_path, force=True)

    # What a plain reader finds meanwhile: part of one set, never files of two runs.
    seen = outputs(out).items()
    assert seen <= EARLIER.items() or seen <= NEW.items(), seen

    # A reader through ftigate finds one complete set: the earlier one when the kill came
    # before the commit point, else the new one, finished from where the kill stopped.
    settle_output_folder(out)
    assert outputs(out) == (EARLIER if step == "output:staged" else NEW)
    manifest_matches_folder(out)
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]

    # And the next run into the folder replaces that set, leaving nothing else behind.
    write_set(out, {"c.txt": "third\n"}, force=True)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "c.txt"]


@pytest.mark.parametrize("step", ["output:committing", "output:placed:a.txt"])
def test_the_next_run_finishes_a_killed_commit_before_judging_the_folder(tmp_path: Path, step: str) -> None:
    """Into a new folder: the killed run's set is completed, then replaced with --force."""
    out = tmp_path / "out"
    killed_at(step, out, NEW, tmp_path, force=False)
    with pytest.raises(OutputError, match="not empty"):
        write_set(out, {"c.txt": "third\n"})
    assert outputs(out) == NEW  # refusing still completed the set: it is one whole set
    manifest_matches_folder(out)
    write_set(out, {"c.txt": "third\n"}, force=True)
    assert outputs(out) == {"c.txt": "third\n"}


def test_a_file_changed_after_the_kill_makes_recovery_refuse_and_touch_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_set(out, EARLIER)
    killed_at("output:replaced:a.txt", out, NEW, tmp_path, force=True)
    (out / "a.txt").write_text("someone's own file\n")  # where the new a.txt is to go
    before = sorted(p.name for p in out.rglob("*"))
    with pytest.raises(OutputError, match=r"a\.txt"):
        settle_output_folder(out)
    with pytest.raises(OutputError, match=r"a\.txt"):
        write_set(out, {"c.txt": "third\n"}, force=True)
    assert sorted(p.name for p in out.rglob("*")) == before
    assert (out / "a.txt").read_text() == "someone's own file\n"


def test_settling_a_settled_folder_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_set(out, EARLIER)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    settle_output_folder(out)
    settle_output_folder(tmp_path / "missing")  # nothing there: nothing to settle
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not (tmp_path / "missing").exists()


RENAME_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    import ftigate.outputs.folder as folder_module
    from ftigate.outputs import OutputFolder

    out, after, files = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    real_rename = os.rename
    renames = []

    def rename(src, dst, **kw):
        real_rename(src, dst, **kw)
        renames.append(dst)
        if len(renames) == after:
            os.kill(os.getpid(), signal.SIGKILL)

    folder_module.os.rename = rename
    with OutputFolder(out, force=True, command="child") as folder:
        for name, text in files.items():
            folder.write_text(name, text)
        folder.prepare()
        folder.commit()
    """
)


@pytest.mark.parametrize("renames", range(1, 7))
def test_no_kill_between_renames_leaves_files_of_two_runs(tmp_path: Path, renames: int) -> None:
    """The same property without the pause points: killed after each rename the commit
    makes (the manifest, each file out, each file in), whatever their number."""
    out = tmp_path / "out"
    write_set(out, EARLIER)
    done = subprocess.run(
        [sys.executable, "-c", RENAME_CHILD, str(out), str(renames), json.dumps(NEW)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (-signal.SIGKILL, 0), done.stderr.decode()[-2000:]
    seen = outputs(out).items()
    assert seen <= EARLIER.items() or seen <= NEW.items(), seen
    settle_output_folder(out)
    assert outputs(out) in (EARLIER, NEW)
    manifest_matches_folder(out)


def test_a_failure_past_the_commit_point_keeps_the_staged_set_for_the_roll_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ftigate.outputs.folder as folder_module

    out = tmp_path / "out"
    write_set(out, EARLIER)
    real_rename = os.rename
    calls: list[str] = []

    def failing_rename(src: str, dst: str, **kw: int) -> None:
        calls.append(dst)
        if len(calls) == 3:  # the manifest, one earlier file out, then the disk fails
            raise OSError(5, "Input/output error")
        real_rename(src, dst, **kw)

    monkeypatch.setattr(folder_module.os, "rename", failing_rename)
    with pytest.raises(OutputError, match="cannot put the outputs in place"):
        write_set(out, NEW, force=True)
    monkeypatch.setattr(folder_module.os, "rename", real_rename)
    settle_output_folder(out)
    assert outputs(out) == NEW
    manifest_matches_folder(out)


def test_a_manifest_naming_a_folder_ftigate_did_not_stage_in_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_set(out, EARLIER)
    theirs = out / f"{STAGING_PREFIX}theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("not ftigate's\n")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["committing"] = {"staging": theirs.name, "replacing": []}
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(OutputError, match="not a staging folder"):
        settle_output_folder(out)
    assert (theirs / "notes.txt").read_text() == "not ftigate's\n"
    assert outputs(out) == EARLIER
