"""Wall-time figures of the lecture handout (issue 3), printed, never asserted.

    python benchmarks/bench_handout.py [--runs N]

* ``worksheet`` (.tex) versus ``python -c "import sympy, jinja2"`` (target: at most 1.3x);
* ``worksheet --pdf`` versus latexmk alone on the same .tex plus the .tex time (target: at most 1.2x).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from symbackprop.pdf import latex_env


def wall(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(cmd_factory, runs: int) -> float:  # noqa: ANN001
    """Median of ``runs`` timings after one warm-up (file caches, the user cache of compiled templates)."""
    cmd_factory()
    return statistics.median(cmd_factory() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        baseline = median(lambda: wall([py, "-c", "import sympy, jinja2"]), runs)
        tex = median(lambda: wall([py, "-m", "symbackprop", "worksheet", "-o", str(out)]), runs)
        source = (out / "lecture.tex").read_text(encoding="utf-8")

        def latexmk_alone() -> float:
            work = Path(tempfile.mkdtemp(dir=tmp))
            (work / "lecture.tex").write_text(source, encoding="utf-8")
            t = wall(["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                      "-no-shell-escape", "lecture.tex"], cwd=work, env=latex_env())
            shutil.rmtree(work)
            return t

        latexmk = median(latexmk_alone, runs)
        pdf = median(lambda: wall([py, "-m", "symbackprop", "worksheet", "--pdf", "-o", str(out)]), runs)
    print(f"python -c 'import sympy, jinja2'      {baseline:6.3f} s")
    print(f"symbackprop worksheet (.tex)           {tex:6.3f} s   {tex / baseline:4.2f}x the imports (target <= 1.30x)")
    print(f"latexmk alone on lecture.tex           {latexmk:6.3f} s")
    print(f"symbackprop worksheet --pdf            {pdf:6.3f} s   {pdf / (latexmk + tex):4.2f}x latexmk + .tex "
          "(target <= 1.20x)")


if __name__ == "__main__":
    main()
