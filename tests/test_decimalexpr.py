"""Sums and products of displayed decimals worked exactly in Decimals: the value the certified balls give,
and None wherever a rounding would be needed (an exp, a division, a result too long)."""

from __future__ import annotations

import random
from decimal import Decimal

import sympy

from symbackprop.engine import activations as act
from symbackprop.engine.decimalexpr import exact_decimal_value, is_exact_expression
from symbackprop.notation.lines import evaluate_with, line_reproduces

x, y, z = sympy.symbols("x y z")
EXACT = [x * y + z, sympy.Rational(1, 2) * (x - y) ** 2, x * y * z - z, act.relu(x * y - z), sympy.Max(x, y) * z,
         act.leaky_relu(x - y, sympy.Rational(1, 100)) + z, x - sympy.Rational(1, 2) * y * z]
INEXACT = [act.sigma(x) * y, x / y + z, sympy.exp(x), sympy.log(y) * z, x * sympy.Rational(1, 3), sympy.sqrt(x)]


def test_which_expressions_are_exact():
    assert all(is_exact_expression(e) for e in EXACT)
    assert not any(is_exact_expression(e) for e in INEXACT)


def test_exact_values_are_the_certified_ones_and_inexact_ones_are_refused():
    symbols = (x, y, z)
    assert exact_decimal_value(x * y + z, symbols, [Decimal("0.15"), Decimal("0.05"), Decimal("0.35")]) == \
        Decimal("0.3575")
    assert exact_decimal_value(x / y, symbols, [Decimal(1), Decimal(3), Decimal(0)]) is None
    assert exact_decimal_value(x ** 3000, (x,), [Decimal("1.5")]) is None  # 3000 digits: not worked here
    rng = random.Random(3)
    for _ in range(400):
        texts = [f"{rng.randrange(-2000, 2000) / 10 ** rng.randrange(0, 5):.{rng.randrange(1, 5)}f}" for _ in symbols]
        texts[rng.randrange(3)] = rng.choice(["0.0005", "-1.25e-05", texts[0]])
        operands = dict(zip(symbols, texts, strict=True))
        for expr in EXACT:
            exact = exact_decimal_value(expr, symbols, [Decimal(t) for t in texts])
            certified = evaluate_with(expr, operands)
            assert exact == certified and certified.exact is not None, (expr, texts)
            for places in (1, 2, 3, 4):  # the result a line shows, ties included: the same verdict both ways
                result = f"{exact.quantize(Decimal(1).scaleb(-places)):f}"
                assert line_reproduces(expr, operands, result) == (
                    Decimal(result) == Decimal(f"{certified:f}").quantize(Decimal(1).scaleb(-places),
                                                                           rounding="ROUND_HALF_UP"))
