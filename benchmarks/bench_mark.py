"""Benchmark: `symbackprop mark` of a 300-student class from a Moodle "Responses" report (issue 12).

Target on a 2-core machine: marking 300 students' responses (gradebook, summary, one text sheet per
student; no PDF) under 10 s.  Measured with a load average of 7-10 from other work on 2 cores:
4.8 s of CPU time (17-23 s wall, mostly waiting for a core); with ``--pdf`` (300 marked sheets cut
from one compiled document, and summary.pdf): 49 s wall, 14 s CPU including LaTeX.

The set (``exam_lecture.toml``, one variant per student of a generated roster) and the responses
CSV are made first and not timed: each student answers their own key, every third with a planted
slip (a flipped sign, a value off by 0.1, a value to 2 decimals).  The timed run is a fresh
`python -m symbackprop mark` process (import time included); the figures printed are its wall time
and its CPU time (user + system): on a machine shared with other work the wall time is the CPU
time plus the waiting.

    python benchmarks/bench_mark.py [--students 300] [--seed 1] [--keep DIR] [--pdf]

``--keep DIR`` makes the set in DIR once and reuses it on later runs (drawing 300 fair variants
takes longer than marking them).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "exam_lecture.toml"
TARGET = 10.0


def make_set(tmp: Path, students: int, seed: int) -> Path:
    roster = tmp / "class.csv"
    roster.write_text("id,name\n" + "".join(f"s{i:04d},Student {i}\n" for i in range(1, students + 1)))
    out = tmp / "set"
    argv = [sys.executable, "-m", "symbackprop", "exam", str(SPEC), "--roster", str(roster), "--seed", str(seed),
            "-o", str(out), "--moodle"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"exam failed: {result.stderr.strip()}")
    return out


def _slip(i: int, values: list[str]) -> list[str]:
    values = list(values)
    if i % 3 == 0:
        k = i % len(values)
        kind = (i // 3) % 3
        if kind == 0:
            values[k] = values[k][1:] if values[k].startswith("-") else "-" + values[k]
        elif kind == 1:
            values[k] = str(Decimal(values[k]) + Decimal("0.1"))
        else:
            values[k] = values[k][:-1]
    return values


def make_responses(exam: Path, path: Path) -> None:
    texts = {}
    for label in re.findall(r"symbackprop variant (\d+)", (exam / "moodle.xml").read_text()):
        texts[label] = f"A feed-forward network ... symbackprop variant {label}"
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Last name", "First name", "ID number", "State", "Grade/29.00", "Question 1", "Response 1"])
    for i, row in enumerate(csv.DictReader((exam / "index.csv").open()), start=1):
        key = tomllib.loads((exam / row["answers"]).read_text())["values"]
        parts = "; ".join(f"part {k}: {v}" for k, v in enumerate(_slip(i, list(key.values())), start=1))
        w.writerow([f"Student{i}", "A", row["student_id"], "Finished", "", texts[row["variant"]], parts])
    path.write_text(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pdf", action="store_true", help="also the marked sheet PDFs and summary.pdf")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="make the set here once, reuse it")
    args = parser.parse_args()
    print(f"symbackprop mark, lecture network, {args.students} students, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            exam = args.keep / "set" if (args.keep / "set").is_dir() else make_set(args.keep, args.students, args.seed)
        else:
            exam = make_set(tmp, args.students, args.seed)
        make_responses(exam, tmp / "responses.csv")
        print(f"  set and responses made in {time.perf_counter() - start:.1f} s (not timed)")
        argv = [sys.executable, "-m", "symbackprop", "mark", str(exam), str(tmp / "responses.csv"),
                "-o", str(tmp / "marks")] + (["--pdf"] if args.pdf else [])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        load = os.getloadavg()[0]
        if result.returncode != 0:
            sys.exit(f"mark failed ({result.returncode}): {result.stderr.strip()}")
        summary = result.stdout.strip().splitlines()[-1]
        verdict = "ok" if elapsed < TARGET else "OVER"
        if args.pdf:
            verdict = "no target with --pdf"
        print(f"  mark: {elapsed:.2f} s wall, {cpu:.2f} s cpu (target < {TARGET:.0f} s: {verdict}; load average "
              f"{load:.1f}: on a busy machine wall > cpu); {summary}")


if __name__ == "__main__":
    main()
