"""The practice app under test: a real server on a free port, and answers computed without the engine.

Reference values come from tests/oracle.py (an independent evaluator) run on the lecture spec with the
values the *page* shows, so a right answer here is right by arithmetic done outside symbackprop.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import oracle
from oracle import CTX

from symbackprop.engine.spec import lecture_text
from symbackprop.practice.server import make_server


@contextmanager
def running_app(spec: str | None = None) -> Iterator[tuple[str, int]]:
    """(host, port) of a practice server for ``spec`` (None: the built-in lecture network), stopped afterwards;
    one marking process (the command's pool of two is the same code; the worker's fork server loads SymPy once
    for every app a test process starts)."""
    server = make_server(spec, "127.0.0.1", 0, markers=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def request(address: tuple[str, int], method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON) of one request; a 10 s timeout bounds a hang."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(data) if kind.startswith("application/json") else data
    finally:
        conn.close()


def check(address: tuple[str, int], seed: int, answers: dict[str, str]) -> dict[str, Any]:
    status, data = request(address, "POST", "/api/check", json.dumps({"seed": seed, "answers": answers}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 200, data
    return data


class Reference:
    """The oracle's values for the exercise a page shows (the lecture network with the page's values)."""

    def __init__(self, page: dict[str, Any]):
        self.given = {g["name"]: Fraction(g["value"]) for g in page["given"]}
        text = lecture_text()
        for name, value in self.given.items():
            key = "learning_rate" if name == "eta" else name
            text, n = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {_decimal_text(value)}", text)
            assert n == 1, name
        self.values = oracle.evaluate(text).values
        self.decimals = page["decimals"]

    def shown(self, name: str, decimals: int | None = None) -> str:
        return oracle.display(self.values[name], self.decimals if decimals is None else decimals)[0]

    def exact(self, name: str) -> Fraction:
        """The oracle's value as a fraction (100 digits; plenty for a comparison at 4 decimals)."""
        return Fraction(CTX.nstr(self.values[name], 60, min_fixed=-100, max_fixed=100))


def _decimal_text(value: Fraction) -> str:
    whole, rest = divmod(abs(value.numerator) * 10**6 // value.denominator, 10**6)
    text = f"{whole}.{rest:06d}".rstrip("0").rstrip(".")
    return ("-" if value < 0 else "") + text


def half_up(value: Fraction, decimals: int) -> str:
    """``value`` rounded half-up (away from zero) to ``decimals``, written out."""
    scaled = abs(value) * 10**decimals
    units = int(scaled + Fraction(1, 2))
    digits = str(units).rjust(decimals + 1, "0")
    return ("-" if value < 0 and units else "") + f"{digits[:-decimals]}.{digits[-decimals:]}"


def early_rounding_z_o(ref: Reference) -> str:
    """z_o worked to 4 decimals from h1, h2 already rounded to the displayed decimals."""
    g = ref.given
    return half_up(g["w5"] * Fraction(ref.shown("h1")) + g["w6"] * Fraction(ref.shown("h2")) + g["b3"], 4)


def early_rounding_case(address: tuple[str, int]) -> tuple[int, Reference]:
    """The first seed where rounding h1, h2 early changes z_o at 4 decimals (so "early rounding" is seen)."""
    for seed in range(1, 60):
        ref = Reference(request(address, "GET", f"/api/exercise?seed={seed}")[1])
        if early_rounding_z_o(ref) != ref.shown("z_o", 4):
            return seed, ref
    raise AssertionError("no seed in 1..59 where rounding h early changes z_o at 4 decimals")
