"""Expressions that map short decimals to short decimals (sums, products, whole powers, relu, max: no exp,
log or division), their exact value at given decimals, worked in Decimals with every rounding trapped, and
how many decimal places that value has at most."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded, localcontext

import sympy
from sympy import Expr, Symbol

from . import activations as act
from .evaluate import DECIMAL, Compiler, Program
from .numbers import MAX_EXPONENT

__all__ = ["decimal_places", "exact_decimal_value", "is_exact_expression", "places_of"]

_EXACT_FUNCTIONS = (act.relu, act.leaky_relu, act.step, act.leaky_step)
#: digits enough for any sum or product of displayed numbers; a result that needs more is not exact here
EXACT_DIGITS = 2000
_EXACT = Context(prec=EXACT_DIGITS, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT, traps=[Inexact, Rounded, InvalidOperation])


def is_exact_expression(expr: Expr) -> bool:
    """Whether the expression maps short decimals to short decimals (no exp, log or division)."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Function) and not isinstance(node, _EXACT_FUNCTIONS):
            return False
        if isinstance(node, sympy.Pow) and not (node.exp.is_Integer and node.exp > 0):
            return False
        if isinstance(node, sympy.Rational) and not node.is_Integer:
            q = int(node.q)
            for prime in (2, 5):
                while q % prime == 0:
                    q //= prime
            if q != 1:
                return False
    return True


@functools.lru_cache(maxsize=4096)  # every variant of an exam works the same expressions' lines
def _decimal_program(expr: Expr, symbols: tuple[Symbol, ...]) -> Program | None:
    return Compiler({s: i for i, s in enumerate(symbols)}, DECIMAL)(expr) if is_exact_expression(expr) else None


def exact_decimal_value(expr: Expr, symbols: tuple[Symbol, ...], values: Sequence[Decimal]) -> Decimal | None:
    """The exact value of ``expr`` at these Decimal values of its ``symbols``; None when it is not an exact
    expression (:func:`is_exact_expression`) or its exact value would take more than ``EXACT_DIGITS`` digits."""
    program = _decimal_program(expr, symbols)
    if program is None:
        return None
    try:
        with localcontext(_EXACT):
            return program(list(values))
    except (Inexact, Rounded, InvalidOperation):
        return None


def places_of(value: sympy.Rational) -> int | None:
    """The decimal places of a rational (``0.05`` -> 2, ``3`` -> 0); None when it has no finite decimal form."""
    q, twos, fives = int(value.q), 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    return max(twos, fives) if q == 1 else None


def decimal_places(expr: Expr, places: Callable[[Symbol], int | None]) -> int | None:
    """At most how many decimal places the value of ``expr`` has, given those of its symbols (``places``);
    None when it need not be a finite decimal (an exp, a log, a division, a symbol of unknown places)."""
    if isinstance(expr, Symbol):
        return places(expr)
    if expr.is_Rational:
        return places_of(sympy.Rational(expr))
    if isinstance(expr, act.step):
        return 0
    parts = [decimal_places(a, places) for a in expr.args]
    if any(p is None for p in parts):
        return None
    known = [p for p in parts if p is not None]
    if isinstance(expr, sympy.Add | sympy.Max | act.relu):
        return max(known)
    if isinstance(expr, sympy.Mul | act.leaky_relu):  # leaky_relu(x, s) is x or s*x
        return sum(known)
    if isinstance(expr, act.leaky_step):  # 1 or s
        return known[1]
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return known[0] * int(expr.exp)
    return None
