"""Benchmark: `symbackprop verify` on a 60-entry answers file for the lecture network.

Target (issue 5): at most 1.3x the wall time of `python -c "import sympy, jinja2"`.

The answers file is built from examples/lecture_printed_answers.toml: 46 of its values and its
14 formulas, with 6 values made wrong (so the diagnoses run too).  Both commands run in fresh
processes, alternately, and the medians are compared: once with bytecode cached (as after any
install; the .pyc files go to a temporary PYTHONPYCACHEPREFIX), once with PYTHONDONTWRITEBYTECODE=1
(every module of both commands compiled from source on every run).

    python benchmarks/bench_verify.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "lecture_printed_answers.toml"
#: value slips a marker meets: sign, early rounding, missing sigma', neighbour weight, wrong update
WRONG = {"dE/dw6": "-0.028", "dE/dz_h1": "0.019", "dE/dh2": "0.019", "w5'": "0.414", "dE/dw3": "0.005",
         "z_h1": "0.383"}


def answers_file(directory: Path) -> Path:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    values = dict(list(data["values"].items())[:46])
    values.update({k: v for k, v in WRONG.items()})
    formulas = data["formulas"]
    assert len(values) + len(formulas) == 60, (len(values), len(formulas))

    def table(name: str, entries: dict[str, str]) -> str:
        return f"[{name}]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in entries.items())

    path = directory / "sixty.toml"
    path.write_text(table("values", values) + table("formulas", formulas), encoding="utf-8")
    return path


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[:300]}")
    return elapsed


def compare(path: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall times of the baseline and of verify, run alternately after one warm-up each."""
    baseline_cmd = [sys.executable, "-c", "import sympy, jinja2"]
    verify_cmd = [sys.executable, "-m", "symbackprop", "verify", str(path)]
    wall(baseline_cmd, env), wall(verify_cmd, env)  # warm the file cache (and write bytecode)
    baseline, verify = [], []
    for _ in range(runs):
        baseline.append(wall(baseline_cmd, env))
        verify.append(wall(verify_cmd, env))
    return statistics.median(baseline), statistics.median(verify)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = answers_file(Path(tmp))
        # as installed: bytecode cached (in a private prefix, so the tree stays clean)
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        # without bytecode: every module compiled from source on every run (PYTHONDONTWRITEBYTECODE=1)
        uncached = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        uncached.pop("PYTHONPYCACHEPREFIX", None)
        for label, env in (("bytecode cached", cached), ("no bytecode cache", uncached)):
            b, v = compare(path, env, args.runs)
            print(f"{label}:")
            print(f"  python -c 'import sympy, jinja2': {b:.3f} s (median of {args.runs})")
            print(f"  symbackprop verify (60 entries):   {v:.3f} s (median of {args.runs})")
            print(f"  ratio: {v / b:.2f}x (target <= 1.30x)")


if __name__ == "__main__":
    main()
