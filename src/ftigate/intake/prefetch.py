"""Reading the next chunk of a request file while the current one is judged.

Arrow's CSV parser and Polars' string kernels release the GIL, so on a machine of two
cores a reader thread one chunk ahead turns the file's parse into time screening was
spending anyway. Memory grows by one chunk at most (the queue holds one, the reader
builds the next). Order, values and errors are exactly those of the chunks read in line:
a chunk is handed on whole or not at all, and an error the reader meets (a bad row, a
file that changed) is raised to the caller at the point in the sequence where it would
have been raised without the thread, after every chunk before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How long the reader waits to hand a chunk on before checking whether it is still wanted.
_POLL_SECONDS = 0.1


def read_ahead(chunks: Iterable[T]) -> Iterator[T]:
    """`chunks`, in order, produced one ahead on a reader thread.

    When the caller stops early (an error while judging a chunk, or simply not reading
    on), the reader is told to stop, finishes the chunk it is building and is joined:
    no thread outlives the call and nothing more is read."""
    handoff: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_on(item: object, error: BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for chunk in chunks:
                if not hand_on(chunk, None):
                    return
        except BaseException as error:  # handed to the caller, raised there
            hand_on(None, error)
            return
        hand_on(_DONE, None)

    thread = threading.Thread(target=reader, name="ftigate-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
