"""`read_ahead` hands on exactly what reading in line would: the same chunks in the same
order, an error at the same point after every chunk before it, and no thread left behind
when the caller stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.intake.prefetch import read_ahead


class _BadRow(Exception):
    pass


def _chunks(values: list[int], fail_at: int | None, closed: list[bool]) -> Iterator[int]:
    try:
        for position, value in enumerate(values):
            if position == fail_at:
                raise _BadRow(position)
            yield value
    finally:
        closed.append(True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(), max_size=12), st.none() | st.integers(0, 12))
def test_read_ahead_gives_what_reading_in_line_gives(values: list[int], fail_at: int | None) -> None:
    def run(wrap: bool) -> tuple[list[int], str | None]:
        seen: list[int] = []
        closed: list[bool] = []
        source = _chunks(values, fail_at, closed)
        try:
            for item in read_ahead(source) if wrap else source:
                seen.append(item)
        except _BadRow as error:
            return seen, repr(error)
        return seen, None

    assert run(wrap=True) == run(wrap=False)


def test_stopping_early_stops_the_reader_and_closes_the_source() -> None:
    before = threading.active_count()
    closed: list[bool] = []
    produced: list[int] = []

    def counted() -> Iterator[int]:
        for value in _chunks(list(range(1000)), None, closed):
            produced.append(value)
            yield value

    with pytest.raises(RuntimeError):
        for item in read_ahead(counted()):
            if item == 3:
                raise RuntimeError("judging chunk 3 failed")
    assert closed == [True]  # the source's own clean-up ran
    assert len(produced) <= 6  # at most the chunk in hand, one queued and one being built
    assert threading.active_count() == before
