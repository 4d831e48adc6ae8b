"""The output folder: created private or empty, never a link, staged inside itself,
replaced only where a manifest says ftigate wrote it, and never left half-done."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from ftigate.outputs import (
    MANIFEST,
    STAGING_MARKER,
    STAGING_PREFIX,
    OutputError,
    OutputFolder,
    check_output_folder,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def write_run(out: Path, *, force: bool = False, files: dict[str, str] | None = None) -> dict[str, str]:
    files = files if files is not None else {"a.txt": "alpha\n", "b.txt": "beta\n"}
    with OutputFolder(out, force=force, command="test") as folder:
        for name, text in files.items():
            folder.write_text(name, text)
        digests = folder.prepare()
        folder.commit()
    return digests


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"<dir>")
        for p in sorted(folder.rglob("*"))
    }


def test_a_new_folder_is_private_and_carries_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    digests = write_run(out)
    assert mode(out) == 0o700 and mode(out.parent) == 0o700
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.txt", "b.txt"]
    for name in ("a.txt", "b.txt", MANIFEST):
        assert mode(out / name) == 0o600, name
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["command"] == "test" and manifest["ftigate_version"]
    listed = {f["name"]: f for f in manifest["files"]}
    for name, digest in digests.items():
        data = (out / name).read_bytes()
        assert digest == hashlib.sha256(data).hexdigest() == listed[name]["sha256"]
        assert listed[name]["bytes"] == len(data)
    assert "replacing" not in manifest


def test_an_empty_existing_folder_is_used_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    write_run(out)
    assert (out / "a.txt").read_text() == "alpha\n"


def test_a_folder_holding_anything_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "requests.csv").write_text("the very file being audited")
    before = snapshot(out)
    with pytest.raises(OutputError, match="not empty"):
        write_run(out)
    assert snapshot(out) == before


def test_force_never_replaces_what_ftigate_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_run(out)
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"notes\.txt"):
        write_run(out, force=True)
    assert snapshot(out) == before


def test_force_without_a_manifest_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("same name as an output, not written by ftigate")
    before = snapshot(out)
    with pytest.raises(OutputError, match="no manifest"):
        write_run(out, force=True)
    assert snapshot(out) == before


def test_force_refuses_an_output_changed_since_ftigate_wrote_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_run(out)
    (out / "a.txt").write_text("edited by hand")
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"a\.txt"):
        write_run(out, force=True)
    assert snapshot(out) == before


def test_force_replaces_ftigates_own_outputs_and_only_those(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_run(out, files={"a.txt": "one\n", "report.pdf": "old pdf\n"})
    write_run(out, force=True, files={"a.txt": "two\n", "c.txt": "new\n"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.txt", "c.txt"]
    assert (out / "a.txt").read_text() == "two\n"
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(f["name"] for f in manifest["files"]) == ["a.txt", "c.txt"]
    assert "replacing" not in manifest


def test_a_symlinked_out_is_refused_even_with_force(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    link = tmp_path / "out"
    link.symlink_to(target)
    for force in (False, True):
        with pytest.raises(OutputError, match="symbolic link"):
            write_run(link, force=force)
    assert snapshot(target) == {"keep.txt": b"keep"}
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "out2").symlink_to(empty)
    with pytest.raises(OutputError, match="symbolic link"):
        write_run(tmp_path / "out2")
    assert list(empty.iterdir()) == []


def test_a_symlinked_file_inside_is_never_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_run(out)
    victim = tmp_path / "victim.txt"
    victim.write_text("alpha\n")  # same bytes as the output it impersonates
    (out / "a.txt").unlink()
    (out / "a.txt").symlink_to(victim)
    with pytest.raises(OutputError, match=r"a\.txt"):
        write_run(out, force=True)
    assert victim.read_text() == "alpha\n" and (out / "a.txt").is_symlink()


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_run(out, force=True)
    assert out.read_text() == "x"


def test_leaving_without_commit_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputFolder(out, command="test") as folder:
        folder.write_text("a.txt", "alpha")
        folder.prepare()
    assert not out.exists()
    deep = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError), OutputFolder(deep, command="test") as folder:
        raise RuntimeError("boom")
    assert not (tmp_path / "a").exists()  # the parents this run made go too
    with pytest.raises(RuntimeError), OutputFolder(out, command="test") as folder:
        folder.write_text("a.txt", "alpha")
        raise RuntimeError("boom")
    assert not out.exists()
    out.mkdir()
    with OutputFolder(out, command="test") as folder:
        folder.write_text("a.txt", "alpha")
    assert out.exists() and list(out.iterdir()) == []  # existed before: kept, emptied of staging


def test_prepare_makes_everything_durable_before_anything_is_in_place(tmp_path: Path) -> None:
    out = tmp_path / "out"
    frame = pl.DataFrame({"request_id": ["=1+1", "R2"], "n": [-1, 2]})
    with OutputFolder(out, command="test") as folder:
        folder.write_csv("d.csv", frame)
        folder.write_parquet("d.parquet", frame)
        pdf = folder.path("r.pdf")
        pdf.write_bytes(b"%PDF-1.7")
        pdf.chmod(0o644)  # a renderer that sets its own mode is made private again
        digests = folder.prepare()
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(STAGING_PREFIX)) == []
        staged = folder.staging
        assert mode(staged) == 0o700
        assert all(mode(staged / n) == 0o600 for n in digests)
        written = folder.commit()
    assert [p.name for p in written] == ["d.csv", "d.parquet", "r.pdf"]
    for name, digest in digests.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert (out / "d.csv").read_text() == "request_id,n\n'=1+1,-1\nR2,2\n"
    assert pl.read_parquet(out / "d.parquet")["request_id"].to_list() == ["=1+1", "R2"]
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_a_second_run_into_the_same_folder_waits_its_turn(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputFolder(out, command="first") as first:
        first.write_text("a.txt", "1")
        with pytest.raises(OutputError, match="another ftigate run"):
            OutputFolder(out, force=True, command="second").__enter__()
        assert [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]  # not taken as stale
        first.commit()
    assert (out / "a.txt").read_text() == "1"


def test_check_output_folder_reads_only(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    check_output_folder(out, force=False)
    assert not (tmp_path / "new").exists()
    with pytest.raises(OutputError, match="cannot create"):  # found before any work, even as root
        check_output_folder(Path("/sys/ftigate-no-such-place/out"), force=False)
    write_run(out)
    with pytest.raises(OutputError):
        check_output_folder(out, force=False)
    check_output_folder(out, force=True)


def test_an_unwritable_place_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot create the output folder"):
        write_run(Path("/sys/ftigate-no-such-place/out"))
    with pytest.raises(OutputError, match="Not a directory"):
        write_run(Path("/dev/null/out"))


def test_bad_names_are_refused(tmp_path: Path) -> None:
    with OutputFolder(tmp_path / "out", command="test") as folder:
        for name in ("../x", "a/b", MANIFEST, ".ftigate-staging-1", ""):
            with pytest.raises(ValueError):
                folder.write_text(name, "x")
        folder.write_text("ok.txt", "x")
        with pytest.raises(ValueError, match="twice"):
            folder.write_text("ok.txt", "x")


# --- kill tests: real processes killed at each stage ------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from ftigate.outputs import OutputFolder
    import ftigate.outputs.folder as folder_module

    out, stage, force = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "force"
    names = {"a.txt": "new a\\n", "b.txt": "new b\\n"}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_rename = os.rename
    renames = []

    def rename(src, dst, **kw):
        real_rename(src, dst, **kw)
        renames.append(dst)
        if stage == "after-manifest" and renames == [folder_module.MANIFEST]:
            die()
        if stage == "mid-rename" and len(renames) == 2:
            die()

    folder_module.os.rename = rename
    with OutputFolder(out, force=force, command="child") as folder:
        for name, text in names.items():
            folder.write_text(name, text)
            if stage == "mid-write":
                die()
        folder.prepare()
        if stage == "prepared":
            die()
        folder.commit()
    """
)


def run_child(out: Path, stage: str, force: bool) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), stage, "force" if force else "no"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode


@pytest.mark.parametrize("stage", ["mid-write", "prepared", "after-manifest", "mid-rename"])
@pytest.mark.parametrize("earlier_run", [False, True])
def test_a_run_killed_at_any_stage_leaves_a_folder_the_next_run_accepts(
    tmp_path: Path, stage: str, earlier_run: bool
) -> None:
    out = tmp_path / "out"
    if earlier_run:
        write_run(out, files={"a.txt": "old a\n", "old.txt": "old\n"})
    assert run_child(out, stage, force=earlier_run) == -signal.SIGKILL
    left = [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]
    if stage in {"mid-write", "prepared"}:
        assert len(left) == 1 and (left[0] / STAGING_MARKER).is_file()
        assert mode(left[0]) == 0o700
    # nothing outside staging is half-written: each file is either the old or the new version
    for path in out.iterdir():
        if path.is_file() and path.name != MANIFEST:
            assert path.read_text() in {"old a\n", "old\n", "new a\n", "new b\n"}
    needs_force = earlier_run or stage in {"after-manifest", "mid-rename"}
    write_run(out, force=needs_force, files={"a.txt": "third\n"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.txt"]
    assert (out / "a.txt").read_text() == "third\n"


def test_only_ftigates_own_staging_folders_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    lookalike = out / f"{STAGING_PREFIX}user"
    lookalike.mkdir()
    (lookalike / "thesis.tex").write_text("not ftigate's")
    with pytest.raises(OutputError):
        write_run(out, force=True)
    assert (lookalike / "thesis.tex").read_text() == "not ftigate's"
    (lookalike / STAGING_MARKER).write_text("{}")
    (lookalike / "sub").mkdir()  # ftigate never stages folders: not ours after all
    with pytest.raises(OutputError):
        write_run(out, force=True)
    assert (lookalike / "thesis.tex").exists()
