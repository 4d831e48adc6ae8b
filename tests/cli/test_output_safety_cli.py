"""`--out` never destroys a folder (issue 12, finding 1), through the commands themselves.

Before: `audit --out mybatch` deleted the files being audited, a symlinked `--out` was
emptied, `process` wrote through a symlink, and a staging folder beside `--out` kept a
full response after a kill. Now every command refuses a non-empty or symlinked `--out`
(exit 2, nothing touched), `--force` replaces only what ftigate's manifest lists, and a
killed run's staging sits inside `--out` and is removed by the next run."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ftigate.cli.main import app
from ftigate.outputs import MANIFEST, STAGING_MARKER, STAGING_PREFIX
from ftigate_testkit import BASE_LETTER, merge, record, write_letter, write_requests

runner = CliRunner()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _batch(folder: Path) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [record(i, ["A100", "A101"]) for i in range(1, 4)]
    requests = write_requests(folder / "requests.csv", rows)
    letter = write_letter(folder / "letter.yaml", merge(BASE_LETTER, {"record_count": 3}))
    disclosed = folder / "disclosed.csv"
    pl.DataFrame(
        [{"request_id": rows[0]["request_id"], "street": "1 Main St", "unit": "", "city": "Austin",
          "state": "TX", "zip": "78701"}]
    ).write_csv(disclosed)  # fmt: skip
    return letter, requests, disclosed


def _audit(letter: Path, requests: Path, disclosed: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["audit", "--letter", str(letter), "--requests", str(requests), "--disclosed", str(disclosed),
              "--out", str(out), "--workers", "1", *extra],
    )  # fmt: skip
    return result.exit_code, result.output


@pytest.mark.parametrize("force", [False, True])
def test_audit_into_the_batch_folder_deletes_nothing(tmp_path: Path, force: bool) -> None:
    batch = tmp_path / "mybatch"
    letter, requests, disclosed = _batch(batch)
    before = _snapshot(batch)
    code, output = _audit(letter, requests, disclosed, batch, *(["--force"] if force else []))
    assert code == 2, output
    assert "nothing was touched" in output or "not empty" in output
    assert _snapshot(batch) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mybatch"]


def test_a_symlinked_out_is_never_emptied_or_written_through(tmp_path: Path) -> None:
    letter, requests, disclosed = _batch(tmp_path / "in")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (tmp_path / "link").symlink_to(precious)
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "link-to-empty").symlink_to(empty)
    for link in ("link", "link-to-empty"):
        for extra in ([], ["--force"]):
            code, output = _audit(letter, requests, disclosed, tmp_path / link, *extra)
            assert code == 2 and "symbolic link" in output, output
    assert _snapshot(precious) == {"keep.txt": b"keep"} and list(empty.iterdir()) == []


def test_process_refuses_a_symlinked_out_before_reading_or_recording(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "out").symlink_to(target)
    db = tmp_path / "ledger.db"
    result = runner.invoke(
        app, ["process", "--letter", "l.yaml", "--requests", "r.csv", "--reference", "ref",
              "--out", str(tmp_path / "out"), "--db", str(db)],
    )  # fmt: skip
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert list(target.iterdir()) == [] and not db.exists()


def test_force_replaces_ftigates_own_report_and_nothing_else(tmp_path: Path) -> None:
    letter, requests, disclosed = _batch(tmp_path / "in")
    out = tmp_path / "audit"
    assert _audit(letter, requests, disclosed, out)[0] == 0
    assert _audit(letter, requests, disclosed, out)[0] == 2  # not empty, no --force
    code, output = _audit(letter, requests, disclosed, out, "--force")
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "findings.csv", "report.html", "summary.json"]
    (out / "my-notes.txt").write_text("mine")
    before = _snapshot(out)
    code, output = _audit(letter, requests, disclosed, out, "--force")
    assert code == 2 and "my-notes.txt" in output
    assert _snapshot(out) == before


@pytest.mark.parametrize(
    "command",
    [
        ["synth", "population", "--people", "200", "--quiet"],
        ["report", "transparency", "--year", "2025", "--db", "none.db"],
        ["report", "jct", "--year", "2025", "--db", "none.db"],
        ["demo", "--people", "200", "--requests", "20"],
    ],
    ids=["synth", "transparency", "jct", "demo"],
)
def test_every_folder_command_refuses_a_folder_holding_other_files(tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    for extra in ([], ["--force"]):
        result = runner.invoke(app, [*command, "--out", str(out), *extra])
        assert result.exit_code == 2, result.output
    assert _snapshot(out) == {"thesis.tex": b"years of work"}


@pytest.mark.parametrize(
    "command",
    [
        ["screen", "--letter", "{letter}", "--requests", "{requests}"],
        ["ledger", "checkpoint", "--db", "none.db"],
        ["baseline", "irs-2025", "--letter", "{letter}", "--requests", "{requests}", "--reference", "ref"],
    ],
    ids=["screen", "checkpoint", "baseline"],
)
def test_single_file_outputs_are_not_replaced_without_force(tmp_path: Path, command: list[str]) -> None:
    letter, requests, _ = _batch(tmp_path / "in")
    existing = tmp_path / "existing.csv"
    existing.write_text("someone's file")
    args = [a.format(letter=letter, requests=requests) for a in command]
    result = runner.invoke(app, [*args, "--out", str(existing)])
    assert result.exit_code == 2 and "--force" in result.output, result.output
    assert existing.read_text() == "someone's file"


def test_screen_with_force_replaces_the_file(tmp_path: Path) -> None:
    letter, requests, _ = _batch(tmp_path / "in")
    existing = tmp_path / "screened.csv"
    existing.write_text("old")
    args = ["screen", "--letter", str(letter), "--requests", str(requests), "--out", str(existing), "--force"]
    result = runner.invoke(app, [*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert existing.read_text().startswith("request_id,")


KILLED_PROCESS = textwrap.dedent(
    """
    import os, signal, sys
    import ftigate.outputs.folder as folder

    prepare = folder.OutputFolder.prepare

    def prepare_then_die(self):
        prepare(self)  # every output durable in staging, nothing in place yet
        os.kill(os.getpid(), signal.SIGKILL)

    folder.OutputFolder.prepare = prepare_then_die
    from ftigate.cli.main import main
    sys.argv = ["ftigate", *sys.argv[1:]]
    main()
    """
)


def test_a_process_killed_while_writing_leaves_staging_inside_out_that_the_next_run_clears(
    tmp_path: Path,
) -> None:
    sys.path.append(str(Path(__file__).parents[1] / "process"))
    from process_cases import write_reference

    reference = tmp_path / "reference"
    write_reference(reference)
    rows = [record(i, ["A100", "A101"]) for i in range(1, 4)]
    requests = write_requests(tmp_path / "requests.csv", rows)
    letter = write_letter(tmp_path / "letter.yaml", merge(BASE_LETTER, {"record_count": 3}))
    out = tmp_path / "out"
    args = ["process", "--letter", str(letter), "--requests", str(requests), "--reference", str(reference),
            "--out", str(out), "--no-ledger"]  # fmt: skip
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PROCESS, *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # nothing beside --out
    staged = [p for p in out.iterdir()]
    assert len(staged) == 1 and staged[0].name.startswith(STAGING_PREFIX)
    assert (staged[0] / STAGING_MARKER).is_file() and (staged[0] / "response.csv").is_file()
    assert staged[0].stat().st_mode & 0o077 == 0 and (staged[0] / "response.csv").stat().st_mode & 0o077 == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST, "decisions.csv", "explanations.parquet", "response.csv", "summary.json",
    ]  # fmt: skip
