"""How every benchmark here measures: median wall time of fresh processes after a warm-up.

Children run with compiled bytecode allowed, as after a normal ``pip install`` (this sandbox
sets PYTHONDONTWRITEBYTECODE, which would recompile our modules on every run and time that
instead).  The baseline of the issues' figures is ``python -c "import sympy, jinja2"``.
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
