"""How every benchmark here measures: median wall time of fresh processes after a warm-up.

Children run with compiled bytecode allowed, as after a normal ``pip install`` (this sandbox
sets PYTHONDONTWRITEBYTECODE, which would recompile our modules on every run and time that
instead).  The baseline of the issues' figures is ``python -c "import sympy, jinja2"``.

The machine's speed of the moment is ``loop_seconds()``: a fixed Python loop (10**7 additions) in a fresh
interpreter.  On this 2-core virtual machine it has ranged from 0.83 s to 1.9 s between hours (other tenants), and
the benchmarks' wall times follow it: print it beside every figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TOOL = [sys.executable, "-m", "symbackprop"]
BASELINE = [sys.executable, "-c", "import sympy, jinja2"]
LOOP = "s = 0\nfor i in range(10**7):\n    s += i\n"


def loop_seconds() -> float:
    """The fixed loop's wall time in a fresh interpreter (start-up excluded)."""
    out = subprocess.run([sys.executable, "-c", f"import time\nt = time.perf_counter()\n{LOOP}"
                          "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True, env=ENV)
    return float(out.stdout)


def once(cmd: list[str], cwd: Path | str | None = None, env: dict[str, str] | None = None,
         timeout: float | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env or ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=timeout)
    return time.perf_counter() - start


def wall(cmd: list[str], runs: int = 7, cwd: Path | str | None = None, env: dict[str, str] | None = None) -> float:
    """Median of ``runs`` timings after one warm-up run (file cache, bytecode, user caches)."""
    once(cmd, cwd, env)
    return statistics.median(once(cmd, cwd, env) for _ in range(runs))
