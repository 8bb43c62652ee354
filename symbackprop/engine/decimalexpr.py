"""Expressions that map short decimals to short decimals (sums, products, whole powers, relu, max: no exp,
log or division), and their exact value at given decimals, worked in Decimals with every rounding trapped."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded, localcontext

import sympy
from sympy import Expr, Symbol

from . import activations as act
from .evaluate import DECIMAL, Compiler, Program
from .numbers import MAX_EXPONENT

__all__ = ["exact_decimal_value", "is_exact_expression"]

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
