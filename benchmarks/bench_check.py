"""Figures for the core engine (issue 2): wall time of `symbackprop check`.

Prints, for each network, the median wall time of `symbackprop check` (a fresh
process each run) beside the baseline `python -c "import sympy, jinja2"`, and the
naive approach (inline everything into one expression, differentiate it per
parameter) with a time limit.

    python benchmarks/bench_check.py [--runs 5] [--naive-limit 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAIVE = r"""
import sys, sympy
from symbackprop.spec import load_spec
from symbackprop.network import build_network
from symbackprop.derive import inline_all
net = build_network(load_spec(sys.argv[1] if len(sys.argv) > 1 else None))
loss = inline_all(net, ("pre", "act", "loss"))[net.sym(net.loss_name)]
for p in net.parameters:
    sympy.diff(loss, net.sym(p.name))
"""


# Time what a user runs after `pip install`: compiled bytecode allowed (this sandbox sets
# PYTHONDONTWRITEBYTECODE, which would recompile our modules on every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str], runs: int, timeout: float | None = None, warm: bool = True) -> float | None:
    times = []
    if warm:  # warm-up: file cache, bytecode
        subprocess.run(cmd, stdout=subprocess.DEVNULL, env=ENV)
    for _ in range(runs):
        start = time.perf_counter()
        try:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=timeout, env=ENV)
        except subprocess.TimeoutExpired:
            return None
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-limit", type=float, default=60.0)
    args = parser.parse_args()
    py = sys.executable
    base = wall([py, "-c", "import sympy, jinja2"], args.runs)
    assert base is not None
    print(f"baseline  python -c 'import sympy, jinja2'        {base:6.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        specs: list[tuple[str, str | None, float | None]] = [("lecture 2-2-1", None, 1.3 * base)]
        for layers, target in (("8,16,16,4", 1.5), ("16,32,32,8", 5.0)):
            path = Path(tmp) / f"{layers}.toml"
            text = subprocess.run([py, "-m", "symbackprop", "new", "--layers", layers, "--activation", "tanh"],
                                  check=True, capture_output=True, text=True).stdout
            path.write_text(text)
            specs.append((layers, str(path), target))
        for label, spec, target in specs:
            cmd = [py, "-m", "symbackprop", "check"] + ([spec] if spec else [])
            t = wall(cmd, args.runs if spec is None else max(1, args.runs // 2))
            assert t is not None
            verdict = "ok" if target is None or t <= target else "OVER"
            print(f"check     {label:<14} {t:6.3f} s  ({t / base:4.2f}x import; target <= {target:.2f} s: {verdict})")
            naive = wall([py, "-c", NAIVE] + ([spec] if spec else []), 1, timeout=args.naive_limit, warm=False)
            shown = f"{naive:6.3f} s" if naive is not None else f"> {args.naive_limit:.0f} s (stopped)"
            print(f"naive     {label:<14} {shown}  (inline everything, sympy.diff per parameter)")


if __name__ == "__main__":
    main()
