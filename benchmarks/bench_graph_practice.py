"""Figures for the practice page on computation graphs: for each graph-kind example, the server's start
(solve, first draw, two marking processes), a page load (a fresh seed drawn), a check of every asked
answer (right values), the whole solution and one hostile answer, each timed over real HTTP.

    python benchmarks/bench_graph_practice.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from example_specs import graph_specs  # noqa: E402
from practice_helpers import request, running_app  # noqa: E402


def _timed(app: tuple[str, int], method: str, path: str, body: bytes | None = None) -> tuple[Any, float]:
    """(the decoded answer, seconds) of one request."""
    start = time.perf_counter()
    _, data = request(app, method, path, body)
    return data, time.perf_counter() - start


def main() -> None:
    print(f"{'spec':16} {'start':>6} {'page':>6} {'check':>6} {'answers':>8} {'solution':>9} {'hostile':>8}")
    for path in graph_specs():
        start = time.perf_counter()
        with running_app(str(path)) as app:
            request(app, "POST", "/api/check", json.dumps({"seed": 0, "answers": {}}).encode())  # markers up
            started = time.perf_counter() - start
            _, load = _timed(app, "GET", "/api/exercise?seed=12345")
            steps = request(app, "GET", "/api/solution?seed=12345")[1]["steps"]
            right = {s["name"]: s["latex"].rsplit(" = ", 1)[1] for s in steps}
            body = json.dumps({"seed": 12345, "answers": right}).encode()
            checked, check = _timed(app, "POST", "/api/check", body)
            assert {r["verdict"] for r in checked["rows"].values()} == {"correct"}, checked
            _, solution = _timed(app, "GET", "/api/solution?seed=54321")
            first = steps[0]["name"]
            hostile = json.dumps({"seed": 12345, "answers": {first: "(" * 995 + first + ")" * 995}}).encode()
            _, bad = _timed(app, "POST", "/api/check", hostile)
        print(f"{path.stem:16} {started:6.2f} {load:6.2f} {check:6.2f} {len(right):8} {solution:9.2f} {bad:8.2f}")
    print("seconds, wall; 'page' and 'solution' draw a seed not drawn before")


if __name__ == "__main__":
    main()
