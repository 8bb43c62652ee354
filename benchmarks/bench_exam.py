"""Benchmark: `symbackprop exam` on the lecture network, 100 variants (issue 4).

Targets on a 2-core machine:
  * keys, answers files and Moodle XML, no PDF: under 10 s;
  * the same plus the two combined PDFs (questions.pdf, keys.pdf, compiled in parallel) and the one
    PDF per variant cut from them (questions/vNNN.pdf, keys/vNNN.pdf): under 60 s.

Measured (2 cores, seed 1): 5.5 s without PDFs, 24-30 s with them (the cutting: about 1 s, see
bench_pdfsplit.py).

Each run is a fresh `python -m symbackprop exam` process (import time included) writing into a
temporary folder; the figures printed are wall times and the rejection counts.

    python benchmarks/bench_exam.py [--variants 100] [--seed 1] [--no-pdf]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {False: 10.0, True: 60.0}


def run(variants: int, seed: int, pdf: bool) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "symbackprop", "exam", "--variants", str(variants), "--seed", str(seed),
                "-o", str(Path(tmp) / "set"), "--moodle", "--qti"] + (["--pdf"] if pdf else [])
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"exam failed: {result.stderr.strip()}")
        files = sum(1 for p in (Path(tmp) / "set").rglob("*") if p.is_file())
        return elapsed, f"{result.stdout.strip().split(': ', 1)[1]}; {files} files"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF run")
    args = parser.parse_args()
    print(f"symbackprop exam, lecture network, {args.variants} variants, {os.cpu_count()} cores")
    for pdf in (False, True) if not args.no_pdf else (False,):
        elapsed, what = run(args.variants, args.seed, pdf)
        label = "with combined + per-variant PDFs" if pdf else "keys, answers, Moodle XML, QTI (no PDF)"
        verdict = "ok" if elapsed < TARGETS[pdf] else "OVER"
        print(f"  {label:44s} {elapsed:6.2f} s  (target < {TARGETS[pdf]:.0f} s: {verdict})  {what}")


if __name__ == "__main__":
    main()
