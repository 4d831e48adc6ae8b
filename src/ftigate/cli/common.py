"""What every command shares: one-line errors with exit code 2, consoles, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ftigate.intake.errors import IntakeError
from ftigate.law.loader import LawError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_BAD_INPUT = 2

T = TypeVar("T")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run `action`, turning the errors users can cause into one line and exit code 2."""
    try:
        return action()
    except (IntakeError, LawError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", 130)
    except MemoryError:
        fail("out of memory; try a smaller --chunk-rows", 1)
    except Exception as exc:
        # A bug, not bad input. Its traceback could quote taxpayer data held in local
        # variables or messages, so it is shown only when asked for.
        if os.environ.get("FTIGATE_DEBUG"):
            raise
        fail(
            f"internal error ({exc.__class__.__name__}); nothing was written. "
            "Set FTIGATE_DEBUG=1 to see the traceback.",
            1,
        )


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
