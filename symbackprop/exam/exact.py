"""Which values of a variant every careful student computes exactly: sums and products of the drawn short
decimals (and relu, max), as opposed to values through an exp, a log or a division."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import sympy

from ..engine import activations as act
from ..engine.evaluate import Step

__all__ = ["exact_slots"]

_EXACT_FUNCTIONS = (act.relu, act.leaky_relu, act.step, act.leaky_step)


def _exact_expression(expr: sympy.Expr) -> bool:
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


def exact_slots(index: Mapping[str, int], leaves: Iterable[str], steps: Iterable[Step],
                definition: Callable[[str], sympy.Expr]) -> frozenset[int]:
    """The slots of the leaves and of every step computed from exact slots by an exact expression."""
    exact: set[int] = {index[name] for name in leaves}
    for step in steps:
        if step.depends <= exact and _exact_expression(definition(step.name)):
            exact.add(step.slot)
    return frozenset(exact)
