"""Which values of a variant every careful student computes exactly: sums and products of the drawn short
decimals (and relu, max), as opposed to values through an exp, a log or a division."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import sympy

from ..engine.decimalexpr import is_exact_expression
from ..engine.evaluate import Step

__all__ = ["exact_slots"]


def exact_slots(index: Mapping[str, int], leaves: Iterable[str], steps: Iterable[Step],
                definition: Callable[[str], sympy.Expr]) -> frozenset[int]:
    """The slots of the leaves and of every step computed from exact slots by an exact expression."""
    exact: set[int] = {index[name] for name in leaves}
    for step in steps:
        if step.depends <= exact and is_exact_expression(definition(step.name)):
            exact.add(step.slot)
    return frozenset(exact)
