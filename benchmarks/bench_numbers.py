"""Figures for certified arithmetic (issue 9, "No slower"): printed, never asserted.

    python benchmarks/bench_numbers.py [--runs N] [--before GIT_REF]

Each ratio is taken pair by pair (A B A B ...: the command, then the baseline
``python -c "import sympy, jinja2"``) and its median printed, so a machine whose speed
drifts during the run still gives a fair ratio:

* ``check`` on ``new --layers 16,32,32,8 --activation tanh --seed 3`` (target: within 10x);
* ``check`` on the lecture network (target: no slower than before the change);
* with ``--before REF`` (e.g. the commit before certified arithmetic), the same two
  commands of that version, extracted with ``git archive`` and run from a temp folder;
* the import cost of python-flint on its own, and whether SymPy already imports it (SymPy
  uses python-flint for its ground types when it is installed, so the cost is in the baseline too);
* in one process: the engine's share of ``check`` on the big network (evaluation with the
  reverse-mode check) beside the symbolic derivation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from timing import BASELINE, ENV, TOOL, once

ROOT = Path(__file__).resolve().parent.parent


def paired(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Median seconds of ``cmd``, of the baseline, and median of the pairwise ratios."""
    once(cmd, env=env)
    once(BASELINE)
    a, b = [], []
    for _ in range(runs):
        a.append(once(cmd, env=env))
        b.append(once(BASELINE))
    return statistics.median(a), statistics.median(b), statistics.median(x / y for x, y in zip(a, b, strict=True))


def in_process(spec: str) -> tuple[float, float]:
    """Seconds of derive and of evaluate (with its end-to-end check), in this process."""
    from symbackprop.engine.derive import derive
    from symbackprop.engine.evaluate import evaluate
    from symbackprop.engine.spec import load_spec

    loaded = load_spec(spec)
    start = time.perf_counter()
    derivation = derive(loaded)
    middle = time.perf_counter()
    evaluate(derivation)
    return middle - start, time.perf_counter() - middle


def extract(ref: str, into: Path) -> dict[str, str]:
    """The package at ``ref``, unpacked into ``into``; the environment that runs it."""
    archive = subprocess.run(["git", "archive", ref, "symbackprop"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return {**ENV, "PYTHONPATH": str(into)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", help="a git ref to compare with (e.g. the commit before the change)")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.toml"
        big.write_text(subprocess.run([*TOOL, "new", "--layers", "16,32,32,8", "--activation", "tanh", "--seed", "3"],
                                      check=True, capture_output=True, text=True).stdout)
        versions = [("now", ENV)]
        if args.before:
            versions.append((args.before[:12], extract(args.before, Path(tmp) / "before")))
        for label, env in versions:
            for name, spec, target in (("lecture 2-2-1", [], None), ("16,32,32,8 tanh", [str(big)], 10.0)):
                cmd, base, ratio = paired([*TOOL, "check", *spec], args.runs, env)
                goal = f"; target <= {target:.0f}x: {'ok' if ratio <= target else 'OVER'}" if target else ""
                print(f"{label:<13} check {name:<16} {cmd:6.3f} s  baseline {base:6.3f} s  "
                      f"ratio {ratio:5.2f}x{goal}")
        flint_alone = statistics.median(once([py, "-c", "import flint"]) for _ in range(args.runs))
        bare = statistics.median(once([py, "-c", "pass"]) for _ in range(args.runs))
        inside = subprocess.run([py, "-c", "import sys, sympy; print('flint' in sys.modules)"],
                                capture_output=True, text=True, env=ENV).stdout.strip()
        print(f"import flint alone: {flint_alone - bare:6.3f} s over a bare interpreter; "
              f"already imported by sympy: {inside}")
        derive_s, evaluate_s = in_process(str(big))
        print(f"in process, 16,32,32,8 tanh: derive {derive_s:6.3f} s, evaluate + reverse-mode check "
              f"{evaluate_s:6.3f} s")
    if os.environ.get("CI"):
        print("(figures on a CI runner: compare ratios, not seconds)")


if __name__ == "__main__":
    main()
