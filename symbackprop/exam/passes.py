"""The judge's two passes over a draw's steps, each compiled into one flat function: the exact pass (a tie
checked as soon as its value is computed) and the pass rounded as you go (stopping at the first asked value
that comes out otherwise).  They do what a loop over the steps' closures does, value for value; the quick
look's two passes (see :mod:`.judging`) do it in floats, where they can tell."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from sympy import Expr

from ..engine.decimalexpr import decimal_places
from ..engine.evaluate import Step
from ..engine.flatcode import FlatCompiler
from ..engine.numbers import half_up
from .judging import EXACT_PLACES, GUARD, Unsure, bounded, quick_half_up

__all__ = ["Passes", "QuickPasses", "compile_passes", "compile_quick_passes"]

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


#: (exact pass: slots -> "tie" or None, rounded pass: (rounded, exact) -> "early rounding" or None), both in the
#: quick look's floats, raising :class:`.judging.Unsure` where they cannot tell
QuickPasses = tuple[Callable[[list[float]], str | None], Callable[[list[float], list[float]], str | None]]


def compile_quick_passes(flat: FlatCompiler, steps: Sequence[Step], definition: Callable[[str], Expr],
                         tie: frozenset[int], asked: frozenset[int], decimals: int, margin: Decimal,
                         leaf_places: dict[int, int | None]) -> QuickPasses | None:
    """The two passes of :func:`compile_passes` in the quick look's floats (``flat`` compiles to them): each
    gives the Decimal pass's verdict where every comparison on the way is clear of its edge by ``GUARD``, and
    raises :class:`.judging.Unsure` at the first that is not; None when a step is too long to compile.

    ``leaf_places``: the decimal places of each leaf slot's values (None: not a short decimal).  A value with at
    most ``EXACT_PLACES`` of them, a float finds on a rounding tie, is rounded as the tie it is."""
    scale = 10.0 ** max(0, decimals)
    # a tie: |frac(|x| 10^d) - 1/2| below the margin (in units of the last decimal); clear of it by the guard
    low, high = float(margin) - GUARD * scale, float(margin) + GUARD * scale
    slot_of = flat.slot_of
    places = dict(leaf_places)  # of the exact pass's values
    exact, rounded = [], []
    for step in steps:
        expr = definition(step.name)
        source = flat.source(expr, "v")
        if len(source) > LONGEST_SOURCE:
            return None
        places[step.slot] = decimal_places(expr, lambda s: places[slot_of[s]])
        # the rounded pass's values are the leaves and values rounded to the decimals
        carried = decimal_places(expr, lambda s: leaf_places.get(slot_of[s], decimals))
        exact.append(f"x = v[{step.slot}] = {source}")
        rounded.append(f"x = r[{step.slot}] = {_rounding(carried)}({flat.source(expr, 'r')})")
        if step.slot in tie and margin > 0:
            exact.append("t = abs(abs(x) * S % 1.0 - 0.5)")
            exact.append("if t < low: return tie(v)")
            exact.append("if t <= high: raise Unsure")
        if step.slot in asked:
            rounded.append(f"if x != {_rounding(places[step.slot])}(v[{step.slot}]): return early(r)")
    names = {"S": scale, "low": low, "high": high, "rnd": quick_half_up(decimals),
             "rnd_exact": quick_half_up(decimals, exact=True), "Unsure": Unsure, "tie": _tie, "early": _early,
             "bounded": bounded}
    try:
        return (flat.function("v", [*exact, "return bounded(v)"], names),
                flat.function("r, v", [*rounded, "return None"], names))
    except (RecursionError, MemoryError):
        return None


def _tie(v: list[float]) -> str:
    bounded(v)  # the guard holds for values this large
    return "tie"


def _early(r: list[float]) -> str:
    bounded(r)
    return "early rounding"


def _rounding(places: int | None) -> str:
    """The rounding of a value with at most ``places`` decimal places (None: any value)."""
    return "rnd_exact" if places is not None and places <= EXACT_PLACES else "rnd"
