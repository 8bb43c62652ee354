"""Wall-time figures of the lecture handout (issue 3), printed, never asserted.

    python benchmarks/bench_handout.py [--runs N]

* ``worksheet`` (.tex) versus ``python -c "import sympy, jinja2"`` (target: at most 1.3x);
* ``worksheet --pdf`` versus latexmk alone on the same .tex plus the .tex time (target: at most 1.2x).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from timing import BASELINE, TOOL, once, wall

from symbackprop.io.pdf import latex_env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        baseline = wall(BASELINE, runs)
        tex = wall([*TOOL, "worksheet", "-o", str(out)], runs)
        source = (out / "lecture.tex").read_text(encoding="utf-8")
        latexmk_times = []
        for _ in range(runs + 1):  # a fresh folder each time: latexmk from scratch
            work = Path(tempfile.mkdtemp(dir=tmp))
            (work / "lecture.tex").write_text(source, encoding="utf-8")
            latexmk_times.append(once(["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                                       "-no-shell-escape", "lecture.tex"], cwd=work, env=latex_env()))
            shutil.rmtree(work)
        latexmk = sorted(latexmk_times[1:])[runs // 2]
        pdf = wall([*TOOL, "worksheet", "--pdf", "-o", str(out)], runs)
    print(f"python -c 'import sympy, jinja2'      {baseline:6.3f} s")
    print(f"symbackprop worksheet (.tex)           {tex:6.3f} s   {tex / baseline:4.2f}x the imports (target <= 1.30x)")
    print(f"latexmk alone on lecture.tex           {latexmk:6.3f} s")
    print(f"symbackprop worksheet --pdf            {pdf:6.3f} s   {pdf / (latexmk + tex):4.2f}x latexmk + .tex "
          "(target <= 1.20x)")


if __name__ == "__main__":
    main()
