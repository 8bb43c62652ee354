"""The judge's two passes over a draw's steps, each compiled into one flat function: the exact pass (a tie
checked as soon as its value is computed) and the pass rounded as you go (stopping at the first asked value
that comes out otherwise).  They do what a loop over the steps' closures does, value for value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from sympy import Expr

from ..engine.evaluate import Step
from ..engine.flatcode import FlatCompiler
from ..engine.numbers import half_up

__all__ = ["Passes", "compile_passes"]

#: a step whose source is longer than this runs its closure (Python's compiler recurses on long sums)
LONGEST_SOURCE = 4000
#: (exact pass: slots -> whether a tie was met, rounded pass: (rounded, exact) -> whether an asked value differs)
Passes = tuple[Callable[[list[Decimal]], bool], Callable[[list[Decimal], list[Decimal]], bool]]


def compile_passes(flat: FlatCompiler, steps: Sequence[Step], definition: Callable[[str], Expr],
                   tie: frozenset[int], asked: frozenset[int], decimals: int, margin: Decimal) -> Passes | None:
    """The two passes over ``steps`` (``tie``: the slots checked for a rounding tie within ``margin`` units of
    the last of ``decimals`` places, ``asked``: the slots compared when rounded as you go); None when Python
    cannot compile them."""
    exact, rounded = [], []
    closures = {}
    for step in steps:
        expr = definition(step.name)
        source = flat.source(expr, "v")
        if len(source) > LONGEST_SOURCE:
            closures[f"_p{step.slot}"] = step.program
            exact.append(f"x = v[{step.slot}] = _p{step.slot}(v)")
            rounded.append(f"x = r[{step.slot}] = rnd(_p{step.slot}(r))")
        else:
            exact.append(f"x = v[{step.slot}] = {source}")
            rounded.append(f"x = r[{step.slot}] = rnd({flat.source(expr, 'r')})")
        if step.slot in tie:
            exact.append("if abs(abs(x).scaleb(D) % 1 - half) < margin: return True")
        if step.slot in asked:
            rounded.append(f"if x != rnd(v[{step.slot}]): return True")
    names = {"D": decimals, "half": Decimal("0.5"), "margin": margin, "rnd": half_up(decimals), **closures}
    try:
        return (flat.function("v", [*exact, "return False"], names),
                flat.function("r, v", [*rounded, "return False"], names))
    except (RecursionError, MemoryError):  # too deep for Python's compiler: the closures' loop
        return None
