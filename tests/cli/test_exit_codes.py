"""One error path for every command (cli/common.py): 0 success, 1 does not verify, 2 bad
input, 3 internal error, 130 interrupted; never a traceback unless FTIGATE_DEBUG is set."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftigate import __version__
from ftigate.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_NOT_VERIFIED, VerificationFailed
from ftigate.cli.main import app

runner = CliRunner()
TAXPAYER = "Maria Garcia Lopez 123-45-6789"


def test_version_is_printed() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"ftigate {__version__}"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ftigate")), "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"ftigate {__version__}"


def _break_store(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    from ftigate.store.api import Store

    def broken(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(Store, "open", classmethod(lambda cls, *a, **k: broken()))


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        (RuntimeError(TAXPAYER), EXIT_INTERNAL, "internal error (RuntimeError)"),
        (TypeError(TAXPAYER), EXIT_INTERNAL, "internal error (TypeError)"),
        (VerificationFailed("leaf 2 does not verify"), EXIT_NOT_VERIFIED, "leaf 2 does not verify"),
        (OSError(28, "No space left on device", "ledger.db"), EXIT_BAD_INPUT, "No space left on device: ledger.db"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (MemoryError(), EXIT_INTERNAL, "out of memory"),
    ],
    ids=["bug", "type-error", "verification", "disk-full", "interrupt", "memory"],
)
def test_every_error_is_one_line_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: BaseException, code: int, says: str
) -> None:
    monkeypatch.delenv("FTIGATE_DEBUG", raising=False)
    _break_store(monkeypatch, error)
    (tmp_path / "x.db").write_bytes(b"")
    result = runner.invoke(app, ["report", "jct", "--year", "2025", "--db", str(tmp_path / "x.db"),
                                 "--out", str(tmp_path / "jct")])  # fmt: skip
    assert result.exit_code == code, result.output
    assert says in result.output
    assert "Traceback" not in result.output and "Garcia" not in result.output
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2  # one message, soft-wrapped
    assert not (tmp_path / "jct").exists()


def test_ftigate_debug_shows_the_error_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FTIGATE_DEBUG", "1")
    _break_store(monkeypatch, RuntimeError("the bug"))
    (tmp_path / "x.db").write_bytes(b"")
    result = runner.invoke(app, ["ledger", "prove", "e", "--db", str(tmp_path / "x.db")])
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "the bug"


BROKEN_MAIN = textwrap.dedent(
    """
    import sys
    import ftigate.cli.main as cli

    def broken(*args, **kwargs):
        raise ValueError("Maria Garcia Lopez 123-45-6789")

    cli.load_law = broken
    sys.argv = ["ftigate", "codes"]
    cli.main()
    """
)


def test_the_installed_entry_point_exits_3_on_a_bug_without_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-c", BROKEN_MAIN], capture_output=True, text=True, check=False)
    assert done.returncode == EXIT_INTERNAL, done.stderr
    assert "internal error (ValueError)" in done.stderr
    assert "Traceback" not in done.stderr and "Garcia" not in done.stderr


def _commands() -> list[tuple[str, object]]:
    from typer.main import get_command

    found = []
    for name, command in get_command(app).commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found += [(f"{name} {sub}", c) for sub, c in subcommands.items()]
        else:
            found.append((name, command))
    return found


WRITERS = [
    path for path, command in _commands()
    if any({"--out", "--out-dir"} & set(option.opts) for option in command.params)  # type: ignore[attr-defined]
]  # fmt: skip


@pytest.mark.parametrize("path", WRITERS)
def test_every_command_that_writes_an_output_takes_force(path: str) -> None:
    command = dict(_commands())[path]
    assert any("--force" in option.opts for option in command.params), path  # type: ignore[attr-defined]


def test_the_readme_documents_the_exit_codes_and_output_rules() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in readme
    for term in ("FTIGATE_DEBUG", "--version", ".ftigate-manifest.json", ".ftigate-staging", "--force", "0600"):
        assert term in readme, term
