"""The numbers a draw is judged with: Decimals at ``JUDGE_DIGITS``, their functions at ``FUNCTION_DIGITS``, and the
quick first look in floats that decides only what it decides beyond doubt (the comparisons of both)."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from decimal import Context, Decimal, localcontext
from typing import Any, Protocol

import sympy

from ..engine import activations as act
from ..engine.evaluate import DECIMAL, Domain
from ..engine.numbers import half_up, to_decimal

__all__ = ["FUNCTION_DIGITS", "GUARD", "JUDGE", "JUDGE_DIGITS", "LARGEST", "QUICK", "Checks", "ExactChecks",
           "QuickChecks", "Unsure", "bounded", "judge_context", "quick_half_up", "to_float", "EXACT_PLACES"]

#: significant digits of the fairness checks (the chosen variant is then solved at 80): sums and
#: products of the drawn decimals stay exact at 34; an exp, a log or a tanh is worked to 20 (twice as
#: fast as to 34, and a value within 1e-20 of a rule's edge is as rare as one within 1e-34)
JUDGE_DIGITS = 34
FUNCTION_DIGITS = 20


def judge_context() -> Context:
    """The context a draw is judged in (exponents wide enough for any drawn network)."""
    return Context(prec=JUDGE_DIGITS, Emax=999_999, Emin=-999_999)


def _to_digits(fn: Callable[[Decimal], Decimal]) -> Callable[[Decimal], Decimal]:
    """``fn`` worked to ``FUNCTION_DIGITS`` significant digits."""
    context = Context(prec=FUNCTION_DIGITS, Emax=999_999, Emin=-999_999)

    def worked(x: Decimal) -> Decimal:
        with localcontext(context):
            return fn(x)
    return worked


#: the judge's numbers: the engine's Decimals, its functions (exp, log, tanh, ...) to ``FUNCTION_DIGITS``;
#: a network's steps and a computation graph's are compiled to it
JUDGE = dataclasses.replace(DECIMAL, unary={kind: _to_digits(fn) for kind, fn in DECIMAL.unary.items()})


# -- the quick first look ---------------------------------------------------------------------------------
#
# Most draws are rejected (ties, early rounding, an unchanged loss), and binary floats judge a draw about four
# times faster than Decimals.  The quick look runs the judge's checks in floats and gives a reason only where
# every comparison on the way to it is decided by more than GUARD: a float's error on these values (a few
# thousand operations at most, each off by 2^-53 of magnitudes that add up to LARGEST at most) is under 1e-8, a
# Decimal judge's under 1e-19, so the two judges agree on every such comparison.  Anywhere closer (a relu at z = 0, a
# value on a rounding tie), and for any draw it would accept, it abstains (:class:`Unsure`), and the Decimal
# judge decides.  So a draw gets the Decimal judge's verdict, draw for draw; no float reaches a sheet.

#: a comparison closer than this to its edge is not the quick look's to decide
GUARD = 1e-7
#: the quick look abstains on a draw whose values' magnitudes add up to more than this (its guard is absolute)
LARGEST = 1e4


class Unsure(ArithmeticError):
    """The quick look cannot tell: the Decimal judge decides."""


def to_float(value: sympy.Rational) -> float:
    """The float nearest a rational (int division rounds correctly, however large its terms)."""
    return int(value.p) / int(value.q)


def _f_positive(x: float) -> bool:
    if -GUARD < x < GUARD:
        raise Unsure
    return x > 0


def _f_sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


#: the quick look's numbers (math.pow raises where a Decimal power would: a fractional power of a negative)
QUICK = Domain(
    zero=0.0, one=1.0, constant=to_float,
    unary={act.sigma: _f_sigmoid, sympy.tanh: math.tanh, act.softplus: lambda x: math.log1p(math.exp(x)),
           sympy.exp: math.exp, act.expo: math.exp, sympy.log: math.log},
    positive=_f_positive, sqrt=math.sqrt, power=math.pow)


def bounded(values: list[float]) -> None:
    """Raise :class:`Unsure` unless the values are finite and their magnitudes add up to at most ``LARGEST``."""
    if not sum(map(abs, values)) <= LARGEST:  # not: NaN compares false
        raise Unsure


class Checks(Protocol):
    """The comparisons the rules make, on one kind of number."""

    def number(self, value: sympy.Rational) -> Any: ...
    def zero(self, x: Any) -> bool: ...  # exactly 0
    def below(self, x: Any, limit: Any) -> bool: ...  # x < limit
    def shows_zero(self, x: Any) -> bool: ...  # displays as 0 at the decimals
    def same_display(self, a: Any, b: Any) -> bool: ...


class ExactChecks:
    """The comparisons of the judge's rules, on its Decimals."""

    def __init__(self, decimals: int):
        self.rounded = half_up(decimals)

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def number(value: sympy.Rational) -> Decimal:
        return to_decimal(value)

    def zero(self, x: Decimal) -> bool:
        return x.is_zero()

    def below(self, x: Decimal, limit: Decimal) -> bool:
        return x < limit

    def shows_zero(self, x: Decimal) -> bool:
        return self.rounded(x).is_zero()

    def same_display(self, a: Decimal, b: Decimal) -> bool:
        return self.rounded(a) == self.rounded(b)


class QuickChecks:
    """The same comparisons on the quick look's floats, each raising :class:`Unsure` within ``GUARD`` of its edge."""

    def __init__(self, decimals: int):
        self.rounded = quick_half_up(decimals)
        self.half = 0.5 / 10**decimals  # below this (in magnitude) a value shows as 0

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def number(value: sympy.Rational) -> float:
        return to_float(value)

    def zero(self, x: float) -> bool:
        if -GUARD < x < GUARD:
            raise Unsure
        return False

    def below(self, x: float, limit: float) -> bool:
        if x < limit - GUARD:
            return True
        if x > limit + GUARD:
            return False
        raise Unsure

    def shows_zero(self, x: float) -> bool:
        return self.below(abs(x), self.half)

    def same_display(self, a: float, b: float) -> bool:
        return self.rounded(a) == self.rounded(b)


#: a value known to have at most this many decimal places (a sum or product of short decimals) that a float finds
#: within GUARD of a rounding tie is that tie: the two differ by less than 10^-EXACT_PLACES, the spacing of such values
EXACT_PLACES = 6
assert 10.0**-EXACT_PLACES > 2 * GUARD


def quick_half_up(decimals: int, exact: bool = False) -> Callable[[float], float]:
    """Half-up rounding to ``decimals`` places of the quick look's floats (the float nearest the rounded
    decimal), raising :class:`Unsure` within ``GUARD`` of a tie; ``exact``: of values with at most
    ``EXACT_PLACES`` decimal places, which are then on the tie, rounded away from zero."""
    scale = float(10**decimals)
    guard = GUARD * scale

    def rounded(x: float) -> float:
        u = abs(x) * scale
        f = u % 1.0
        if -guard < f - 0.5 < guard:
            if not exact:
                raise Unsure
            return math.copysign((math.floor(u) + 1) / scale, x)
        return math.copysign(math.floor(u + 0.5) / scale, x)

    return rounded
