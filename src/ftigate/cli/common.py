"""What every command shares: the one error path and its exit codes, consoles, progress
bars, the options every command spells the same way (`--force`, `--json`, `-q/--quiet`,
`--encoding`) and the deprecated spellings kept working (README: "Conventions").

Exit codes (README: "Exit codes"), the same for every command:

    0  success (for `ledger verify` and `check-proof`: verified)
    1  does not verify (ledger verify, check-proof, a witness refusing a checkpoint)
    2  bad input (a file, a value, an output path, a database URL): one line naming it
    3  internal error (a bug): one line with the error's type, never its message

No traceback is ever shown unless FTIGATE_DEBUG is set: a traceback quotes local
variables and messages, which may hold taxpayer data.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer import rich_utils
from typer.core import TyperGroup

from ftigate.intake.errors import IntakeError
from ftigate.intake.requests import ReadOptions
from ftigate.law.loader import LawError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_OK = 0
EXIT_NOT_VERIFIED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
DEBUG_ENV = "FTIGATE_DEBUG"

T = TypeVar("T")

ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace ftigate's own earlier outputs at --out (a folder: only files its manifest "
        "lists; a file: the file). Nothing else is ever replaced.",
    ),
]


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document on stdout (nothing else there).")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress on stderr (errors and warnings still show).")
]
EncodingOption = Annotated[
    str,
    typer.Option(
        "--encoding", help="Text encoding of a CSV request file (utf-8, cp1252, latin-1); Parquet has none."
    ),
]

DiscloseProbabilityOption = Annotated[
    float | None,
    typer.Option(
        "--disclose-probability",
        min=0.0,
        max=1.0,
        help="Match probability the best candidate needs for its address to be disclosed "
        "(default: the law's on the letter's date).",
    ),
]
ReviewFloorOption = Annotated[
    float | None,
    typer.Option(
        "--review-floor",
        min=0.0,
        max=1.0,
        help="Below this probability nobody matches (NO_MATCH); from it up to --disclose-probability, "
        "review (default: the law's on the letter's date).",
    ),
]
MarginBitsOption = Annotated[
    float | None,
    typer.Option(
        "--margin-bits",
        min=0.0,
        help="Match-weight lead (bits, log2 odds) the best candidate needs over a runner-up above "
        "--review-floor, else AMBIGUOUS_IDENTITY (default: the law's on the letter's date).",
    ),
]

# Rich lays the option names out in a column that an 80-column terminal (and any pipe,
# which Rich treats as 80 columns) squeezes until `--disclose-probability` loses its end.
HELP_MIN_WIDTH = 100


def _widen_help() -> None:
    width = rich_utils.MAX_WIDTH or shutil.get_terminal_size(fallback=(80, 24)).columns
    rich_utils.MAX_WIDTH = max(width, HELP_MIN_WIDTH)


_widen_help()


def read_options(encoding: str, **limits: int) -> ReadOptions:
    """The one way a command turns its `--encoding` (and any limits) into ReadOptions."""
    return ReadOptions(encoding=encoding, **limits)


def print_json(document: Any) -> None:
    """A `--json` result: one document on stdout, which carries nothing else."""
    out.print_json(json.dumps(document, default=str))


def deprecated_spelling(old: str, new: str) -> Any:
    """The hidden option an old spelling of `new` stays as (see `renamed_option`)."""
    return typer.Option(old, hidden=True, help=f"Deprecated spelling of {new}.")


def renamed_option(new: str, value: T | None, old: str, old_value: T | None, default: T | None = None) -> T:
    """The value of an option given by its name or by the old spelling it replaced (hidden,
    still working, with a warning on stderr); both at once must agree. Without a `default`
    the option is required: Typer cannot require one of two options, so the absence of both
    is refused here (exit code 2)."""
    if old_value is not None:
        err.print(f"warning: {old} is deprecated; use {new}", markup=False, highlight=False)
        if value is not None and value != old_value:
            raise IntakeError(old, f"gives another value than {new}; give {new} alone")
        return old_value
    if value is not None:
        return value
    if default is None:
        raise IntakeError(new, "is required")
    return default


class VerificationFailed(Exception):
    """The data was read and does not verify: exit code 1."""


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    # escaped: a message naming a path or an option value with [brackets] prints as it is
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def _plain_fail(message: str, code: int) -> NoReturn:
    # markup=False: a message naming a path with [brackets] must print as it is
    err.print(f"error: {message}", markup=False, soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def _is_cli_control(error: BaseException) -> bool:
    """Exit, usage errors and aborts: the command line's own flow, not errors of ours."""
    from typer.exceptions import TyperException

    return isinstance(error, typer.Exit | typer.Abort | TyperException)


def handle_error(
    error: BaseException,
    *,
    bad_input: tuple[type[BaseException], ...] = (),
    not_verified: tuple[type[BaseException], ...] = (),
) -> NoReturn:
    """Turn any exception into one line on stderr and its exit code.

    `bad_input` and `not_verified` name further errors a command group raises only with
    messages written for the user (the ledger's refusals of a key, a checkpoint, a proof):
    shown as they are, with exit code 2 or 1."""
    if _is_cli_control(error) or isinstance(error, SystemExit):
        raise error
    if isinstance(error, KeyboardInterrupt):
        _plain_fail("interrupted; outputs not completed were removed", EXIT_INTERRUPTED)
    if isinstance(error, (VerificationFailed, *not_verified)):
        _plain_fail(str(error), EXIT_NOT_VERIFIED)
    if isinstance(error, IntakeError | LawError):
        _plain_fail(str(error), EXIT_BAD_INPUT)
    if isinstance(error, bad_input):
        _plain_fail(_one_line(error), EXIT_BAD_INPUT)
    declared = getattr(type(error), "ftigate_exit_code", None)
    if isinstance(declared, int):
        # Errors whose messages are written never to hold taxpayer data declare their
        # code (the store's refusals: another key, unsealed leaves).
        _plain_fail(str(error), declared)
    if os.environ.get(DEBUG_ENV):
        raise error
    if isinstance(error, MemoryError):
        _plain_fail("out of memory; try a smaller --chunk-rows", EXIT_INTERNAL)
    if isinstance(error, OSError) and error.strerror:
        # The system's own words and the path it names; never the data.
        where = f": {error.filename}" if error.filename else ""
        _plain_fail(f"{error.strerror}{where}", EXIT_BAD_INPUT)
    # A bug, not bad input: its message could quote taxpayer data, so only its type shows.
    _plain_fail(
        f"internal error ({error.__class__.__name__}); outputs not completed were removed. "
        f"Set {DEBUG_ENV}=1 to see the traceback.",
        EXIT_INTERNAL,
    )


def _one_line(error: BaseException) -> str:
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SQLAlchemyError):
        # The first line names the driver's error; the SQL and its parameters follow it.
        return f"database error: {type(error).__name__}: {str(error).splitlines()[0]}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
    return str(error)


def guarded(action: Callable[[], T]) -> T:
    """Run `action` with the one error path (kept for commands that call it per step)."""
    try:
        return action()
    except BaseException as error:
        handle_error(error)


class GuardedGroup(TyperGroup):
    """A command group whose every command runs inside the one error path, however it is
    invoked (the installed entry point, `python -m`, or CliRunner in tests)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BaseException as error:
            handle_error(error)


def new_app(**settings: Any) -> typer.Typer:
    """Every ftigate Typer app and sub-app: guarded, no completion, no pretty tracebacks."""
    settings.setdefault("add_completion", False)
    settings.setdefault("pretty_exceptions_enable", False)
    return typer.Typer(cls=GuardedGroup, **settings)


SUPPORTED_DATABASES = ("sqlite", "postgresql")


def check_database_url(db: str | None) -> str:
    """The store URL that --db (or FTIGATE_DB) names, refused with exit code 2 when ftigate
    cannot use it (an unknown database, a driver that is not installed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from ftigate.store.db import resolve_url

    url_text = resolve_url(db)
    try:
        url = make_url(url_text)
        backend = url.get_backend_name()
    except ArgumentError:
        raise IntakeError(
            "--db", "not a database URL (a SQLite file path or postgresql+psycopg://...)"
        ) from None
    if backend not in SUPPORTED_DATABASES:
        raise IntakeError(
            "--db",
            f"ftigate stores its records in SQLite or PostgreSQL, not {backend!r} "
            "(give a file path or postgresql+psycopg://user@host/db)",
        )
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, NoSuchModuleError):
        raise IntakeError(
            "--db", f"the {url.get_driver_name()!r} driver is not installed; use postgresql+psycopg://"
        ) from None
    return url_text


@contextmanager
def progress_bar(label: str, total: int | None, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr (never on stdout, which may carry JSON)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
