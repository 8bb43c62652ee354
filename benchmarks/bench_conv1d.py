"""Figures for the [conv1d] kind (issue 13): wall time of `check` and of the handout's `worksheet` (LaTeX
source only) on the example and on the largest spec the limits allow (8 inputs, a kernel of 4, 3 zeros of
padding: 11 positions, tanh, 10 overlapping max pools: 34 nodes, 26 leaves, every gradient proven).

    python benchmarks/bench_conv1d.py [--runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import BASELINE, TOOL, wall

ROOT = Path(__file__).resolve().parent.parent
LARGEST = """[conv1d]
x = [1, -2, 3, 0.5, -1, 2, 1, -0.5]
w = [0.5, -1, 0.25, 0.1]
b = 0.1
padding = 3
activation = "tanh"
pooling = "max"
pool_size = 2
pool_stride = 1
v = [0.2, -0.5, 0.1, 0.3, -0.2, 0.4, 0.1, -0.1, 0.2, 0.3]
c = 0.1
target = 1
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"baseline  python -c 'import sympy, jinja2'  {wall(BASELINE, args.runs):6.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        largest = Path(tmp) / "largest.toml"
        largest.write_text(LARGEST, encoding="utf-8")
        for label, spec in (("example (4 positions, relu)", ROOT / "examples" / "conv1d.toml"),
                            ("largest (11 positions, tanh)", largest)):
            check = wall([*TOOL, "check", str(spec)], args.runs)
            sheet = wall([*TOOL, "worksheet", str(spec), "-o", tmp], args.runs)
            print(f"{label:30}  check {check:6.3f} s   worksheet {sheet:6.3f} s")


if __name__ == "__main__":
    main()
