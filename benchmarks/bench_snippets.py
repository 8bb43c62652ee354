"""Wall time of one snippet against the issue's figures (prints, asserts nothing).

* one tex/md snippet: at most 1.3x ``python -c "import sympy, jinja2"``;
* one svg snippet: at most that plus one LaTeX run of a standalone page.

Run: ``python benchmarks/bench_snippets.py [repeats]`` (median of the repeats).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(cmd: list[str], repeats: int, cwd: str | None = None) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    py = sys.executable
    tool = [py, "-m", "symbackprop"]
    base = wall([py, "-c", "import sympy, jinja2"], repeats)
    print(f"import sympy, jinja2            {base:6.3f} s   (budget x1.3 = {1.3 * base:.3f} s)")
    for args in (["dE/dw5"], ["dE/dw1", "--form", "expanded", "--format", "md"],
                 ["dE/dw1", "--form", "numeric", "--format", "md"]):
        t = wall([*tool, "snippet", *args], repeats)
        print(f"snippet {' '.join(args):24s} {t:6.3f} s   ratio {t / base:.2f}  "
              f"{'ok' if t <= 1.3 * base else 'OVER'}")
    if not shutil.which("latex"):
        print("latex not found: svg figures skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.tex"
        page.write_text("\\documentclass[border=4pt]{standalone}\\usepackage{amsmath,amssymb}"
                        "\\begin{document}$\\displaystyle \\frac{a}{b}$\\end{document}\n")
        one_run = wall(["latex", "-interaction=nonstopmode", "page.tex"], repeats, cwd=tmp)
        budget = 1.3 * base + one_run
        print(f"one latex run (standalone)     {one_run:6.3f} s   (svg budget = {budget:.3f} s)")
        t = wall([*tool, "snippet", "dE/dw1", "--form", "expanded", "--format", "svg", "-o",
                  str(Path(tmp) / "f.svg")], repeats)
        print(f"snippet dE/dw1 expanded svg    {t:6.3f} s   {'ok' if t <= budget else 'OVER'}")


if __name__ == "__main__":
    main()
