"""Map a function over items in forked worker processes, the results in the items' order.

Used by the exam (drawing and rendering variants) and the class marker.  The function and its items
reach the workers by ``fork`` (inherited, never pickled: a solved network is large); only the results
travel back, so they should be small (text, marks).  The results
are the serial ones, in the same order: the workers only share out the calls.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["available_workers", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

#: fewer items than this are done in this process (starting workers costs more than it saves)
PARALLEL_FROM = 8
#: chunks per worker: small enough to balance the load (a worker idles at the end for at most one chunk: a
#: sixteenth of its share) and report progress, large enough to batch
CHUNKS_PER_WORKER = 16

_task: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # inherited by the forked workers


def available_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Sequence[T], workers: int,
                progress: Callable[[int, int], None] | None = None, least: int = PARALLEL_FROM,
                meanwhile: Callable[[], None] | None = None) -> list[R]:
    """``[fn(item) for item in items]``, in ``workers`` forked processes when there are at least
    ``least`` items; ``progress(done, total)`` after each finished run of items, in order.

    ``meanwhile()`` is done here while the workers work (this process would only wait); not at all when
    the items are done here, without workers: it is work to overlap, not work that must be done."""
    total = len(items)
    if workers < 2 or total < least or "fork" not in multiprocessing.get_all_start_methods():
        out = []
        for done, item in enumerate(items, start=1):
            out.append(fn(item))
            if progress:
                progress(done, total)
        return out
    global _task
    results: list[R] = []
    size = max(1, -(-total // (workers * CHUNKS_PER_WORKER)))
    bounds = [(start, min(start + size, total)) for start in range(0, total, size)]
    _task = (fn, items)
    try:
        # a worker's garbage collections skip what it inherited (the solved network, SymPy's caches: a
        # full collection would walk them all, and touch their pages)
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork, initializer=gc.freeze) as pool:
            futures: list[Future[list[R]]] = [pool.submit(_chunk, start, stop) for start, stop in bounds]
            try:
                if meanwhile:
                    meanwhile()
                for (start, stop), future in zip(bounds, futures, strict=True):
                    try:
                        results += future.result()
                    except Exception:  # noqa: BLE001 - raised again here, as it is, by the serial call
                        results += [fn(item) for item in items[start:stop]]
                    if progress:
                        progress(stop, total)
            finally:
                for future in futures:
                    future.cancel()
            return results
    finally:
        _task = None


def _chunk(start: int, stop: int) -> list[Any]:
    assert _task is not None
    fn, items = _task
    return [fn(item) for item in items[start:stop]]
