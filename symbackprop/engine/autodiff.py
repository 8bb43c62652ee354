"""Reverse-mode differentiation of the forward definitions, in ball arithmetic.

The end-to-end check of the gradients of networks too large for a whole symbolic
proof.  It shares nothing with the delta formulas the handout derives: each forward
definition (``z = w*a + ... + b``, ``a = tanh(z)``, ``E = 1/2 (yhat - t)^2``) is
walked here with the textbook derivative of each elementary function, and the
adjoints are swept back from the loss.  Every value is an exact rational or an
``arb`` ball, so the derivative it finds is an enclosure of the true derivative
of the loss (no step size, no truncation error), which the chain-rule value must
share to the stated number of digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy
from sympy import Expr, Symbol

from . import activations as act

#: (value, {slot: partial derivative of the value in that slot's quantity})
Dual = tuple[Any, dict[int, Any]]
Slots = list[Any]


def _scaled(partials: dict[int, Any], factor: Any) -> dict[int, Any]:
    return {k: factor * v for k, v in partials.items()}


def _merged(parts: Sequence[dict[int, Any]]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for part in parts:
        for k, v in part.items():
            out[k] = out[k] + v if k in out else v
    return out


class DualCompiler:
    """Closures ``slots -> (value, partials)`` over the engine's number domain (`evaluate.BALL`)."""

    def __init__(self, slot_of: dict[Symbol, int], domain: Any):
        self.slot_of = slot_of
        self.d = domain

    def __call__(self, expr: Expr) -> Callable[[Slots], Dual]:
        d = self.d
        if isinstance(expr, Symbol):
            i = self.slot_of[expr]
            one = d.one
            return lambda v: (v[i], {i: one})
        if expr.is_Rational:
            c = d.constant(sympy.Rational(expr))
            return lambda v: (c, {})
        parts = [self(a) for a in expr.args]
        if isinstance(expr, sympy.Add):
            def add(v: Slots) -> Dual:
                duals = [p(v) for p in parts]
                return sum((x for x, _ in duals), start=d.zero), _merged([g for _, g in duals])
            return add
        if isinstance(expr, sympy.Mul):
            def mul(v: Slots) -> Dual:
                duals = [p(v) for p in parts]
                values = [x for x, _ in duals]
                grads = []
                for k, (_, g) in enumerate(duals):  # product rule: the other factors times this one's slope
                    others = math.prod(values[:k] + values[k + 1:], start=d.one)
                    grads.append(_scaled(g, others))
                return math.prod(values, start=d.one), _merged(grads)
            return mul
        if isinstance(expr, sympy.Pow):
            return self._pow(expr, parts)
        return self._function(expr, parts)

    def _pow(self, expr: sympy.Pow, parts: list[Callable[[Slots], Dual]]) -> Callable[[Slots], Dual]:
        d, base = self.d, parts[0]
        if expr.exp.is_Integer:
            k = int(expr.exp)

            def power(v: Slots) -> Dual:
                b, g = base(v)
                below = b ** (k - 1) if k > 1 else d.one if k == 1 else 1 / b ** (1 - k)
                return below * b, _scaled(g, k * below)
            return power
        exponent = parts[1]

        def general(v: Slots) -> Dual:  # b^e = exp(e ln b): d = b^e (e'/1 ln b + e b'/b)
            (b, gb), (e, ge) = base(v), exponent(v)
            value = d.power(b, e)
            log_b = d.unary[sympy.log](b)
            return value, _merged([_scaled(ge, value * log_b), _scaled(gb, value * e / b)])
        return general

    def _function(self, expr: Expr, parts: list[Callable[[Slots], Dual]]) -> Callable[[Slots], Dual]:
        d, arg = self.d, parts[0]
        kind = type(expr)
        if kind in (act.relu, act.step, act.leaky_relu, act.leaky_step):
            slope = d.constant(sympy.Rational(expr.args[1])) if len(expr.args) > 1 else d.zero

            def piecewise(v: Slots) -> Dual:
                z, g = arg(v)
                up = d.positive(z)
                if kind is act.relu:
                    return (z, g) if up else (d.zero, {})
                if kind is act.leaky_relu:
                    return (z, g) if up else (slope * z, _scaled(g, slope))
                return (d.one if up else slope), {}
            return piecewise
        fn = d.unary[kind]
        slope_of: dict[type, Callable[[Any, Any], Any]] = {  # f'(z) from z and f(z)
            act.sigma: lambda z, s: s * (1 - s),
            sympy.tanh: lambda z, t: 1 - t * t,
            act.softplus: lambda z, f: d.unary[act.sigma](z),
            sympy.exp: lambda z, e: e,
            act.expo: lambda z, e: e,
            sympy.log: lambda z, f: 1 / z,
        }
        slope_fn = slope_of[kind]

        def apply(v: Slots) -> Dual:
            z, g = arg(v)
            value = fn(z)
            return value, _scaled(g, slope_fn(z, value))
        return apply


def gradient(program: Sequence[tuple[int, Callable[[Slots], Dual]]], slots: Slots, loss: int) -> dict[int, Any]:
    """d loss / d slot for every slot the loss depends on: one forward walk, one sweep back.

    ``program`` is the forward definitions in evaluation order as (slot, dual closure);
    ``slots`` holds every value (the closures recompute what they need inside a definition).
    """
    partials = {slot: dual(slots)[1] for slot, dual in program}
    adjoint: dict[int, Any] = {loss: 1}
    for slot, _ in reversed(program):
        a = adjoint.get(slot)
        if a is None:
            continue
        for dep, partial in partials[slot].items():
            term = a * partial
            adjoint[dep] = adjoint[dep] + term if dep in adjoint else term
    return adjoint


__all__ = ["DualCompiler", "gradient"]
