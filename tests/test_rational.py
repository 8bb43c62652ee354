"""engine/rational: the fast zero test behind the symbolic proofs decides what it should, and a
proof built on it still catches a wrong chain-rule formula."""

from __future__ import annotations

import dataclasses

import pytest
import sympy
from sympy import E, Float, Rational, exp, symbols

from symbackprop.engine.derive import derive, prove_symbolically
from symbackprop.engine.generate import new_spec
from symbackprop.engine.rational import is_zero_rational
from symbackprop.engine.spec import loads_spec
from symbackprop.errors import DerivationMismatch

x, y, s, t = symbols("x y s t")
sig = sympy.Function("sigma")


@pytest.mark.parametrize("expr", [
    x / (x + 1) + 1 / (x + 1) - 1,
    (x + y) ** 3 - x**3 - 3 * x**2 * y - 3 * x * y**2 - y**3,
    s * (1 - s) * (s - t) - (s**2 - s * t) * (1 - s),
    Rational(1, 3) * (x - t) + Rational(2, 3) * (x - t) - x + t,
    sig(x + y) ** 2 / sig(x + y) - sig(x + y),  # a function application is one atom
    (s / (s + t)) * (1 + t / s) - 1,
    1 / (1 / x) - x,
])
def test_identities_are_zero(expr):
    assert is_zero_rational(expr) is True


@pytest.mark.parametrize("expr", [
    x - y,
    x / (x + 1) - 1,
    s * (1 - s) - s * (1 + s),
    Rational(1, 3) * x - Rational(333, 1000) * x,  # no rounding anywhere
    sig(x) - sig(y),
    exp(x + y) - exp(x) * exp(y),  # true, but not as atoms: the callers go on to SymPy
    E - x,
])
def test_non_identities_are_not(expr):
    assert is_zero_rational(expr) is False


def test_no_exact_reading_is_none():
    assert is_zero_rational(Float("0.5") * x - y) is None  # a float: SymPy's tests decide
    over_zero = sympy.Pow(sympy.Add(x, -x, evaluate=False), -1, evaluate=False)  # 1/(x - x)
    assert is_zero_rational(over_zero + x) is None


@pytest.mark.parametrize(("activation", "loss", "units"), [("identity", "half_sse", 1), ("identity", "mse", 2)])
def test_a_wrong_chain_formula_is_caught(activation, loss, units):
    """A first-layer gradient's chain formula off by a factor (or by a sign) fails the symbolic proof.
    (Identity units: with sigmoid units SymPy's last resort, simplify, takes minutes to give up.)"""
    spec = loads_spec(new_spec([1, 1, units], activation=activation, loss=loss, seed=3))
    for change in (lambda d: 2 * d, lambda d: -d):
        network = derive(spec, prove=False).network
        name = network.grad(network.parameters[0].name)
        q = network.quantities[name]
        network.quantities[name] = dataclasses.replace(q, definition=change(q.definition))
        with pytest.raises(DerivationMismatch, match="sympy.diff of the loss and the chain-rule formula differ"):
            prove_symbolically(network)
    assert all(p.proven for p in prove_symbolically(derive(spec, prove=False).network).values())
