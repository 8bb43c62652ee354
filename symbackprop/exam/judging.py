"""The numbers a draw is judged with: Decimals at ``JUDGE_DIGITS``, their functions at ``FUNCTION_DIGITS``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Context, Decimal, localcontext

from ..engine.evaluate import DECIMAL

__all__ = ["FUNCTION_DIGITS", "JUDGE", "JUDGE_DIGITS", "judge_context"]

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
