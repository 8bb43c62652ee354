"""Figures for the practice page (issue 14): hostile requests against a running server, each timed.

Starts the app on a free port in this process, sends each hostile request (huge numbers, code, 10,000
brackets, a 1 MB body, ...) and prints its status and wall time, then checks the server still answers.
The issue asks for a verdict or an error in under a second each.

    PYTHONPATH=tests python benchmarks/bench_practice.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from practice_helpers import request, running_app  # noqa: E402
from test_practice import HOSTILE, SEED  # noqa: E402


def main() -> None:
    with running_app() as app:
        request(app, "GET", f"/api/exercise?seed={SEED}")  # the exercise drawn once (as a page load does)
        cases = {name: json.dumps({"seed": SEED, "answers": {"z_o": text}}).encode() for name, text in HOSTILE.items()}
        cases["1 MB body"] = json.dumps({"seed": SEED, "answers": {"z_o": "1" * 1024 * 1024}}).encode()
        cases["10,000 nested JSON brackets"] = b"[" * 10_000 + b"]" * 10_000
        heavy = "(w5*h1+w6*h2+b3)*(1+w1+w2+b1+x1)**9 - (w5*h1+w6*h2+b3)*((1+w1+w2+b1+x1)**9 - 1)"
        cases["one heavy right formula"] = json.dumps({"seed": SEED, "answers": {"z_o": heavy}}).encode()
        cases["every box a heavy formula"] = json.dumps({"seed": SEED, "answers": {
            n: heavy for n in ("z_h1", "z_h2", "h1", "h2", "z_o", "yhat", "E", "dE/dz_o", "dE/dw5", "w5'")}}).encode()
        request(app, "POST", "/api/check", json.dumps({"seed": SEED, "answers": {"h1": "0.5"}}).encode())  # warm
        print(f"{'request':36} {'status':>6} {'seconds':>8}  answer")
        for name, body in cases.items():
            start = time.perf_counter()
            status, data = request(app, "POST", "/api/check", body)
            seconds = time.perf_counter() - start
            what = data.get("error") or "; ".join(f"{k}: {r['verdict']}" for k, r in data["rows"].items())
            print(f"{name:36} {status:>6} {seconds:8.3f}  {what[:70]}")
        status, _ = request(app, "GET", f"/api/exercise?seed={SEED}")
        print(f"server still up: {status == 200}")


if __name__ == "__main__":
    main()
