"""Screen: the letter (L1-L4) and every record (R1-R5), before any taxpayer record is read.

The chunks screening reads pass through the intake's spill, so that resolution later gets
the same rows without reading the request file again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ftigate.intake.letter import Letter
from ftigate.intake.requests import ReadOptions, read_request_chunks
from ftigate.law.loader import Law
from ftigate.pipeline.intake import RequestSpill
from ftigate.screen.run import ScreenSummary, screen_chunks


def screen_batch(
    letter: Letter,
    requests: Path,
    law: Law,
    spill: RequestSpill,
    work: Path,
    *,
    read: ReadOptions,
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> tuple[pl.DataFrame, ScreenSummary]:
    """One row per request in file order (request_id, sufficient, outcome, reasons,
    warnings) and the batch's screening summary; `work` is the caller's private folder."""
    screened_path = work / "screened.parquet"
    summary = screen_chunks(
        letter, spill.tee(read_request_chunks(requests, read)), requests, screened_path, law,
        workers=workers, progress=progress,
    )  # fmt: skip
    return pl.read_parquet(screened_path), summary


def passing(screened: pl.DataFrame) -> pl.DataFrame:
    """The request ids that passed screening: the only ones whose taxpayer may be searched."""
    return screened.filter(pl.col("outcome") == "pass").select("request_id")
