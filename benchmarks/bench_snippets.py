"""Wall time of one snippet against the issue's figures (prints, asserts nothing).

* one tex/md snippet: at most 1.3x ``python -c "import sympy, jinja2"``;
* one svg snippet: at most that plus one LaTeX run of a standalone page.

Run: ``python benchmarks/bench_snippets.py [repeats]`` (median of the repeats).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from timing import BASELINE, TOOL, wall

from symbackprop.io.pdf import latex_env


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    base = wall(BASELINE, repeats)
    print(f"import sympy, jinja2            {base:6.3f} s   (budget x1.3 = {1.3 * base:.3f} s)")
    for args in (["dE/dw5"], ["dE/dw1", "--form", "expanded", "--format", "md"],
                 ["dE/dw1", "--form", "numeric", "--format", "md"]):
        t = wall([*TOOL, "snippet", *args], repeats)
        print(f"snippet {' '.join(args):24s} {t:6.3f} s   ratio {t / base:.2f}  "
              f"{'ok' if t <= 1.3 * base else 'OVER'}")
    if not shutil.which("pdflatex"):
        print("pdflatex not found: svg figures skipped")
        return
    from symbackprop.documents.snippets import snippet
    from symbackprop.engine.solution import solve

    with tempfile.TemporaryDirectory() as tmp:
        # the very page the svg snippet compiles, with the engine it uses (one pdflatex run)
        (Path(tmp) / "page.tex").write_text(snippet(solve(), "dE/dw1", "expanded").standalone())
        one_run = wall(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "page.tex"], repeats,
                       cwd=tmp, env=latex_env())
        budget = 1.3 * base + one_run
        print(f"one pdflatex run (standalone)  {one_run:6.3f} s   (svg budget = {budget:.3f} s)")
        t = wall([*TOOL, "snippet", "dE/dw1", "--form", "expanded", "--format", "svg", "-o",
                  str(Path(tmp) / "f.svg")], repeats)
        print(f"snippet dE/dw1 expanded svg    {t:6.3f} s   {'ok' if t <= budget else 'OVER'}")


if __name__ == "__main__":
    main()
