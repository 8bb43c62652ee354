"""Benchmark: the hostile and oversized inputs of issue 10 (items 4, 5, 6), one fresh process each.

Before the limits and budgets these took minutes (figures from the issue): 51 formulas
(w1+x1+b1)^10 + (w2+x2+b2)^10 187 s; one formula on 4,16,16,2 186 s; 4,999 unknown names 98 s;
a 300-byte spec asking for 4096,4096,1 5.8 GB for minutes.  Also printed: `check` on the largest
networks the limits accept (README "Limits"), which bound what a spec can ask for.

    python benchmarks/bench_hostile.py [--runs 3] [--skip-largest]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import ENV, TOOL  # noqa: E402

from symbackprop.engine.generate import new_spec, parse_layers  # noqa: E402
from symbackprop.engine.solution import solve  # noqa: E402


def seconds(args: list[str], runs: int) -> tuple[float, int]:
    """Median wall time of ``symbackprop ARGS`` and its exit code (0, 1 and 2 are all answers here)."""
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*TOOL, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        code = done.returncode
        if code not in (0, 1, 2) or b"Traceback" in done.stderr:
            raise SystemExit(f"{' '.join(args)}: exit {code}: {done.stderr.decode()[-300:]}")
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-largest", action="store_true", help="leave out check on the largest networks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        big = d / "big.toml"
        big.write_text(new_spec(parse_layers("4,16,16,2"), activation="tanh", seed=3))
        names = list(solve(None, prove=False).network.quantities)[:51]
        (d / "degree10.toml").write_text(
            "[formulas]\n" + "".join(f'"{n}" = "(w1+x1+b1)^10 + (w2+x2+b2)^10"\n' for n in names))
        (d / "one.toml").write_text('"dE/da(1)[2]" = "x[1]*x[2] + tanh(x[3])"\n')
        (d / "unknown.toml").write_text("".join(f'"dE/dw({1 + i % 3})[{1 + i % 16},{i}]x" = "0.1"\n'
                                                for i in range(4999)))
        (d / "huge.toml").write_text("learning_rate = 0.5\n[network]\ninputs = 4096\n"
                                     "layers = [{units = 4096}, {units = 4096}, {units = 1}]\n")
        cases = [
            ("verify: 51 formulas of degree 10 (was 187 s)", ["verify", str(d / "degree10.toml")], args.runs),
            ("verify: one formula on 4,16,16,2 (was 186 s)", ["verify", str(big), str(d / "one.toml")], args.runs),
            ("verify: 4,999 unknown names (was 98 s)", ["verify", str(big), str(d / "unknown.toml")], args.runs),
            ("check: inputs = 4096, layers 4096,4096,1 (was minutes, 5.8 GB)", ["check", str(d / "huge.toml")],
             args.runs),
            ("new --layers 4096,4096,1", ["new", "--layers", "4096,4096,1"], args.runs),
        ]
        if not args.skip_largest:
            for layers in ("16,32,32,8", "4,14,14,14,14,14,14,14,14,14,2"):
                path = d / f"{layers}.toml"
                path.write_text(new_spec(parse_layers(layers)))
                cases.append((f"check: {layers} (within the limits, one run)", ["check", str(path)], 1))
        for label, command, runs in cases:
            wall, code = seconds(command, runs)
            print(f"{label}: {wall:.2f} s (exit {code})")


if __name__ == "__main__":
    main()
