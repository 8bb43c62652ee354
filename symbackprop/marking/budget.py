"""A wall-clock budget for one piece of symbolic work (SymPy's factor or expand can take minutes).

Size limits decide first and deterministically what is small enough to try; this budget is the
safety net behind them.  It uses ``SIGALRM``, so it only applies in the main thread of a POSIX
process; elsewhere the work runs unbounded (the size limits still hold).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class OverBudget(BaseException):
    """Raised inside the budgeted work when its time is up (a BaseException, so SymPy's own
    ``except Exception`` clauses cannot swallow it)."""


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`OverBudget` in the ``with`` block once ``seconds`` have passed."""
    if seconds <= 0:
        raise OverBudget
    if not _usable() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's timer runs
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise OverBudget

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


class Allowance:
    """Seconds of symbolic work left for a whole run (one report), spent formula by formula."""

    def __init__(self, total: float, each: float):
        self.left = total
        self.each = each

    @contextmanager
    def spend(self) -> Iterator[None]:
        start = time.monotonic()
        try:
            with time_budget(min(self.each, self.left)):
                yield
        finally:
            self.left -= time.monotonic() - start
