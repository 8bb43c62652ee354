"""How many cases the randomized sweeps draw: all of them in CI, a prefix of the same draws in the inner loop.

The sweeps (the oracle's random networks, the Hypothesis properties, the fuzzed inputs) are the suite's
largest cost.  A developer's run (``python -m pytest -m "not tex"``) draws the first ``quick`` cases of each;
CI (``CI=true``), or a run with ``SYMBACKPROP_SWEEPS=full``, draws all ``full`` of them.  A seeded sweep's
quick cases are the first seeds of its full sweep, so a failure the inner loop finds is one CI finds; Hypothesis
runs derandomized, so either size draws the same cases on every run, and a case CI reports reruns locally with
the variable set.  Each sweep's own coverage test (every feature drawn, at least so often) holds at both sizes.
"""

from __future__ import annotations

import os


def _full() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("SYMBACKPROP_SWEEPS", "").strip().lower() == "full"


#: True in CI and with SYMBACKPROP_SWEEPS=full: every sweep at its full size
FULL = _full()


def size(full: int, quick: int) -> int:
    """The number of cases a sweep draws: ``full`` in CI, ``quick`` in the inner loop."""
    return full if FULL else quick
