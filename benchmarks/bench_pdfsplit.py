"""Benchmark: cutting the combined exam PDFs into one PDF per variant (``pdfsplit.split_pdf``).

Builds a set with ``symbackprop exam --pdf`` (lecture network) unless ``--set DIR`` names one that has
``questions.pdf`` and ``keys.pdf``, then times the cutting alone, twice, and checks both runs give the
same bytes.

Measured (2 shared cores, 100 variants, seed 1): the hand-written pdfTeX splitter took 0.8 s
(questions) + 1.4 s (keys); pikepdf takes 0.25-0.5 s + 0.55-0.85 s.

    python benchmarks/bench_pdfsplit.py [--variants 100] [--seed 1] [--set DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from symbackprop.io.pdfsplit import split_pdf

ROOT = Path(__file__).resolve().parent.parent


def cut(root: Path, out: Path, variants: int) -> tuple[dict[str, float], str]:
    times, digest = {}, hashlib.sha256()
    for kind in ("questions", "keys"):
        parts = [(f"symbackprop-v{i:03d}", out / kind / f"v{i:03d}.pdf") for i in range(1, variants + 1)]
        start = time.perf_counter()
        split_pdf(root / f"{kind}.pdf", parts)
        times[kind] = time.perf_counter() - start
        for _, path in parts:
            digest.update(path.read_bytes())
    return times, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", type=Path, help="an exam set written with --pdf (skips building one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.set
        if root is None:
            root = Path(tmp) / "set"
            argv = [sys.executable, "-m", "symbackprop", "exam", "--variants", str(args.variants),
                    "--seed", str(args.seed), "-o", str(root), "--pdf"]
            subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        print(f"cutting {args.variants} variants from {root}")
        digests = []
        for run in (1, 2):
            times, digest = cut(root, Path(tmp) / f"run{run}", args.variants)
            digests.append(digest)
            print(f"  run {run}: questions {times['questions']:.2f} s, keys {times['keys']:.2f} s, "
                  f"total {sum(times.values()):.2f} s")
        print(f"  same bytes both runs: {'yes' if digests[0] == digests[1] else 'NO'}")


if __name__ == "__main__":
    main()
