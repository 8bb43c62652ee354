"""Figures for the core engine (issue 2): wall time of `symbackprop check`.

Prints, for each network, the median wall time of `symbackprop check` (a fresh
process each run) beside the baseline `python -c "import sympy, jinja2"`, and the
naive approach (inline everything into one expression, differentiate it per
parameter) with a time limit.

    python benchmarks/bench_check.py [--runs 5] [--naive-limit 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import BASELINE, once, wall

NAIVE = r"""
import sys, sympy
from symbackprop.engine.spec import load_spec
from symbackprop.engine.network import build_network
from symbackprop.engine.derive import inline_all
net = build_network(load_spec(sys.argv[1] if len(sys.argv) > 1 else None))
loss = inline_all(net, ("pre", "act", "loss"))[net.sym(net.loss_name)]
for p in net.parameters:
    sympy.diff(loss, net.sym(p.name))
"""


def wall_or_none(cmd: list[str], runs: int, timeout: float | None = None) -> float | None:
    """Median wall time; None when one run exceeds ``timeout`` (the naive baseline)."""
    if timeout is None:
        return wall(cmd, runs)
    try:
        return once(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-limit", type=float, default=60.0)
    args = parser.parse_args()
    py = sys.executable
    base = wall(BASELINE, args.runs)
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
            verdict = "ok" if target is None or t <= target else "OVER"
            print(f"check     {label:<14} {t:6.3f} s  ({t / base:4.2f}x import; target <= {target:.2f} s: {verdict})")
            naive = wall_or_none([py, "-c", NAIVE] + ([spec] if spec else []), 1, timeout=args.naive_limit)
            shown = f"{naive:6.3f} s" if naive is not None else f"> {args.naive_limit:.0f} s (stopped)"
            print(f"naive     {label:<14} {shown}  (inline everything, sympy.diff per parameter)")


if __name__ == "__main__":
    main()
