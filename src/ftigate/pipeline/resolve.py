"""Resolve: the taxpayer file prepared while the batch is screened, then only the records
that passed screening standardised and scored against it (candidates by blocking, a
Fellegi-Sunter model)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import polars as pl

from ftigate.resolve.model import ModelArtefact
from ftigate.resolve.reference import (
    Reference,
    check_reference_folder,
    load_reference,
    prepared_reference,
)
from ftigate.resolve.score import InspectionLog, ScoringOptions, empty_candidates, score_candidates


class ReferencePreparation:
    """The taxpayer file read, standardised and keyed on a second thread while screening
    runs: preparing it inspects no one, and screening leaves a core idle much of the time.
    Which of its taxpayers are compared with which request still waits for screening.

        with ReferencePreparation(folder, cache) as preparing:
            ...screen...
            reference = preparing.result()
    """

    def __init__(self, folder: Path, cache: Path | None, ready: Reference | None = None) -> None:
        if ready is None:
            # A reference that is not there fails now, not after the whole batch is screened.
            check_reference_folder(folder)
        self._ready = ready
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftigate-reference")
        self._future: Future[Reference] | None = None
        if ready is None:
            self._future = (
                self._pool.submit(load_reference, folder)
                if cache is None
                else self._pool.submit(prepared_reference, folder, cache)
            )

    def result(self) -> Reference:
        if self._future is not None:
            self._ready = self._future.result()
            self._future = None
        assert self._ready is not None
        return self._ready

    def __enter__(self) -> ReferencePreparation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._future is not None:
            self._future.cancel()
        self._pool.shutdown(wait=True)


def score(
    standard: pl.DataFrame,
    reference: Reference,
    artefact: ModelArtefact,
    options: ScoringOptions,
    *,
    scoring: Callable[[int, int], None] | None = None,
    inspections: InspectionLog | None = None,
) -> pl.DataFrame:
    """Every candidate of every standardised request with its match weights; `scoring`
    receives (requests scored so far, requests to score) after each chunk, `inspections`
    each search before it reads and each chunk's taxpayers after."""
    if not standard.height:
        return empty_candidates()
    scored = 0

    def advance(count: int) -> None:
        nonlocal scored
        scored += count
        if scoring:
            scoring(scored, standard.height)

    return score_candidates(standard, reference, artefact, options, progress=advance, inspections=inspections)
