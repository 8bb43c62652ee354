"""Figures for the [rnn] kind (issue 13): wall time of `symbackprop check` on unrolled RNNs by size.

Prints, for T = 1..5 time steps with one and with two hidden units (tanh, an output at every step, the
largest with 2-vector inputs), the number of nodes of the unrolled graph and the median wall time of
`symbackprop check` (a fresh process each run) beside the baseline `python -c "import sympy, jinja2"`.
Before the graph engine evaluated an unrolled graph as one slot program and proved it with each function
application an atom (engine/graph.py), the 5-step, 2-unit, 2-input network took about 4 minutes here.

    python benchmarks/bench_rnn.py [--runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import BASELINE, TOOL, wall


def spec(steps: int, hidden: int, size: int) -> str:
    step = "0.5" if size == 1 else "[" + ", ".join(["0.5"] * size) + "]"
    row = "[" + ", ".join(["0.3"] * size) + "]"
    w_xh = "0.3" if hidden == size == 1 else ("[" + ", ".join([row] * hidden) + "]" if hidden > 1 and size > 1
                                             else "[" + ", ".join(["0.3"] * (hidden * size)) + "]")
    w_hh = "-0.4" if hidden == 1 else "[[-0.4, 0.2], [0.1, 0.5]]"
    vector = "0.1" if hidden == 1 else "[0.1, -0.1]"
    return (f'[rnn]\nhidden = {hidden}\nactivation = "tanh"\noutput = "every"\n'
            f"inputs = [{', '.join([step] * steps)}]\ntargets = [{', '.join(['0.2'] * steps)}]\n"
            f"[rnn.parameters]\nW_xh = {w_xh}\nW_hh = {w_hh}\nb_h = {vector}\n"
            f"W_hy = {'1.5' if hidden == 1 else '[1.5, -0.7]'}\nb_y = 0\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from symbackprop.engine.kinds import loads_graph

    print(f"baseline (import sympy, jinja2): {wall(BASELINE, args.runs):.2f} s")
    print(f"{'steps':>5}  {'hidden':>6}  {'inputs':>6}  {'nodes':>5}  {'check (s)':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for hidden, size in ((1, 1), (2, 1), (2, 2)):
            for steps in (1, 3, 5) if size == 1 else (5,):
                text = spec(steps, hidden, size)
                path = Path(folder) / f"rnn_{steps}_{hidden}_{size}.toml"
                path.write_text(text, encoding="utf-8")
                nodes = len(loads_graph(text, str(path)).nodes)
                seconds = wall([*TOOL, "check", str(path)], args.runs)
                print(f"{steps:>5}  {hidden:>6}  {size:>6}  {nodes:>5}  {seconds:>9.2f}")


if __name__ == "__main__":
    main()
