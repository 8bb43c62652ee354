"""Numeric lines a student can redo: values against the lecture, and the reproduction rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sweeps import size

from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec
from symbackprop.errors import UsageError
from symbackprop.layout import ROW_WIDTH, line_rows, tex_width
from symbackprop.notation.chains import chain_for
from symbackprop.notation.lines import (
    NumericPrinter,
    exact_text,
    line_reproduces,
    make_line,
    number_latex,
    precise_text,
    product_line,
    quantity_line,
    substituted_latex,
)


@pytest.fixture(scope="module")
def lecture():
    return solve()


X, Y = sympy.symbols("X Y", real=True)


def test_the_lectures_dE_dw2_does_not_reproduce_at_three_decimals():
    # 0.005 x 0.10 = 0.0005 -> 0.001, but the true gradient 0.00045325 x ... shows 0.000
    assert not line_reproduces(sympy.Mul(X, Y, evaluate=False), {X: "0.005", Y: "0.10"}, "0.000")
    assert line_reproduces(sympy.Mul(X, Y, evaluate=False), {X: "0.00453", Y: "0.10"}, "0.000")
    assert line_reproduces(sympy.Mul(X, Y, evaluate=False), {X: "0.005", Y: "0.10"}, "0.001")  # half-up


def test_scientific_results_round_at_their_last_digit():
    assert line_reproduces(sympy.Mul(X, Y, evaluate=False), {X: "0.2514", Y: "0.0009"}, "2.26e-4")
    assert not line_reproduces(sympy.Mul(X, Y, evaluate=False), {X: "0.2514", Y: "0.0009"}, "2.27e-4")


@pytest.mark.parametrize(("name", "latex"), [
    ("z_h1", r"z_{h_{1}} = 0.15 \cdot 0.05 + 0.20 \cdot 0.10 + 0.35 = 0.378"),
    ("h1", r"h_{1} = \sigma\left(0.378\right) = 0.593"),
    ("z_o", r"z_{o} = 0.40 \cdot 0.593 + 0.45 \cdot 0.597 + 0.60 = 1.106"),
    ("yhat", r"\hat{y} = \sigma\left(1.106\right) = 0.751"),
    ("E", r"E = \frac{1}{2} \left(0.751 - 0.50\right)^{2} = 0.032"),
    ("dE/dyhat", r"\frac{\partial E}{\partial \hat{y}} = 0.751 - 0.50 = 0.251"),
    ("dE/dh1", r"\frac{\partial E}{\partial h_{1}} = 0.047 \cdot 0.40 = 0.019"),
    ("dE/dw5", r"\frac{\partial E}{\partial w_{5}} = 0.047 \cdot 0.593 = 0.028"),
    ("dE/dw1", r"\frac{\partial E}{\partial w_{1}} = 0.005 \cdot 0.05 = 0.000"),
    # the lecture's 0.005 x 0.10 = 0.001 is wrong: 0.0045325 x 0.10 = 0.00045 -> 0.000
    ("dE/dw2", r"\frac{\partial E}{\partial w_{2}} = 0.00453 \cdot 0.10 = 0.000"),
    ("w5'", r"{w_{5}}' = 0.40 - 0.50 \cdot 0.028 = 0.386"),
    ("b3'", r"{b_{3}}' = 0.60 - 0.50 \cdot 0.047 = 0.577"),
    # the lecture printed 0.348 (from 0.35 - 0.50 x 0.005); at full precision b2' = 0.34746
    ("b2'", r"{b_{2}}' = 0.35 - 0.50 \cdot 0.00508 = 0.347"),
    ("E'", r"{E}' = \frac{1}{2} \left(0.744 - 0.50\right)^{2} = 0.030"),
])
def test_lecture_lines(lecture, name, latex):
    line = quantity_line(lecture, name)
    assert line.latex() == latex
    assert line.reproduces()


def test_post_update_values_are_the_full_precision_ones(lecture):
    # the lecture printed z_h1' = 0.376 and z_o' = 1.066 from rounded intermediates
    assert quantity_line(lecture, "z_h1'").result == "0.375"
    assert quantity_line(lecture, "z_o'").result == "1.065"
    assert quantity_line(lecture, "z_h1'").level > 0  # rounded operands would give 0.376


def test_output_delta_closed_form(lecture):
    line = quantity_line(lecture, "dE/dz_o", explicit=True)
    assert line.latex() == r"\frac{\partial E}{\partial z_{o}} = \left(0.751 - 0.50\right) \cdot 0.751 \cdot " \
                           r"\left(1 - 0.751\right) = 0.047"


def test_sigmoid_of_the_displayed_z_rounds_to_the_displayed_activation(lecture):
    for name in ("h1", "h2", "yhat", "h1'", "h2'", "yhat'"):
        line = quantity_line(lecture, name)
        (z_text,) = line.operands.values()
        sigma = Decimal(1) / (1 + (-Decimal(z_text)).exp())
        assert sigma.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) == Decimal(line.result), name


def test_every_quantity_line_of_the_lecture_reproduces(lecture):
    for q in lecture.network.quantities.values():
        if q.definition is not None:
            assert quantity_line(lecture, q.name).reproduces(), q.name


@settings(max_examples=size(200, 50), deadline=None)
@given(st.lists(st.decimals(min_value=Decimal("-3"), max_value=Decimal("3"), places=6, allow_nan=False),
                min_size=2, max_size=5))
def test_make_line_always_finds_a_reproducing_precision(values):
    symbols = [sympy.Symbol(f"v{i}") for i in range(len(values))]
    expr = sympy.Add(sympy.Mul(symbols[0], symbols[1], evaluate=False), *symbols[2:], evaluate=False)
    exact = dict(zip(symbols, values, strict=True))
    value = values[0] * values[1] + sum(values[2:], Decimal(0))
    line = make_line("v", expr, exact, [], value, 3)
    assert line.reproduces()
    # and the checker agrees with plain exact arithmetic on the printed operands
    shown = [Decimal(line.operands[s]) for s in symbols]
    redo = shown[0] * shown[1] + sum(shown[2:], Decimal(0))
    assert abs(redo - Decimal(line.result)) <= Decimal("0.0005")


def test_number_texts():
    assert exact_text(Decimal("0.1")) == "0.10"
    assert exact_text(Decimal("0.125")) == "0.125"
    assert exact_text(Decimal("-1")) == "-1"
    assert number_latex("-0.35") == r"\left(-0.35\right)"
    assert number_latex("4.53e-05") == r"\left(4.53 \times 10^{-5}\right)"
    assert precise_text(Decimal("0.000226625")) == "2.27e-4"
    assert precise_text(Decimal("0.0312")) == "0.0312"


def test_product_line_shows_more_digits_only_when_needed():
    line = product_line("p", [(Decimal("0.0045325"), False), (Decimal("0.1"), True)], 3)
    assert line.substituted() == r"0.00453 \cdot 0.10"
    line = product_line("p", [(Decimal("0.25136"), False), (Decimal("0.18681"), False)], 3)
    assert line.substituted() == r"0.251 \cdot 0.187" and line.result == "0.047"


def test_long_sums_break_over_rows():
    symbols = sympy.symbols("a0:9")
    expr = sympy.Add(*[sympy.Mul(s, s, evaluate=False) for s in symbols], evaluate=False)
    values = {s: Decimal("-0.4567") for s in symbols}
    line = make_line("z", expr, values, [], Decimal(9) * Decimal("0.4567") ** 2, 3)
    rows = line_rows(line)
    assert len(rows) > 1 and all(r.startswith(r"&\quad") for r in rows[1:])
    assert all(tex_width(r) <= ROW_WIDTH for r in rows)


def test_lecture_chain(lecture):
    chain = chain_for(lecture)
    assert chain.parameter == "w1" and chain.single_path
    assert chain.path == ["w_{1}", "z_{h_{1}}", "h_{1}", "z_{o}", r"\hat{y}", "E"]
    assert [f.formula for f in chain.factors] == [r"\hat{y} - t", r"\hat{y} \left(1 - \hat{y}\right)", "w_{5}",
                                                   r"h_{1} \left(1 - h_{1}\right)", "x_{1}"]
    # dE/dw1 = 0.00045325... x 0.05 = 2.2663e-4: the lecture's 2.26e-4 came from rounded factors
    assert chain.line.result == "2.27e-4" and chain.line.reproduces()
    assert chain.gradient == "0.000"


RELU_332 = new_spec([3, 3, 2], activation="relu", seed=1)  # h1 and h2 are dead on its example


def test_default_chain_avoids_a_dead_unit():
    # by hand from the spec: z_h1 = -0.6*0.9 + 0.8*0.15 - 0.8*0.5 - 0.1 < 0 and z_h2 < 0, z_h3 = 0.0275 > 0;
    # so w1..w6 have only zero paths, w7 (x1 -> h3) the first live one, through o1 (unit 1 first)
    assert "w1 = -0.60" in RELU_332 and "w7 = 0.20" in RELU_332 and "w12 = 0.35" in RELU_332
    s = solve(loads_spec(RELU_332))
    x = [Fraction(9, 10), Fraction(15, 100), Fraction(1, 2)]
    rows = [([Fraction(-60, 100), Fraction(80, 100), Fraction(-80, 100)], Fraction(-10, 100)),
            ([Fraction(-65, 100), Fraction(55, 100), Fraction(40, 100)], Fraction(25, 100)),
            ([Fraction(20, 100), Fraction(-35, 100), Fraction(-70, 100)], Fraction(25, 100))]
    h = [max(Fraction(0), sum(w * xi for w, xi in zip(ws, x, strict=True)) + b) for ws, b in rows]
    assert h[0] == h[1] == 0 and h[2] == Fraction(275, 10000)
    yhat1 = Fraction(-95, 100) * h[0] + Fraction(20, 100) * h[1] + Fraction(35, 100) * h[2] + Fraction(45, 100)
    chain = chain_for(s)
    assert chain.parameter == "w7" and chain.units == [(1, 3), (2, 1)]
    assert chain.path == ["w_{7}", "z_{h_{3}}", "h_{3}", "z_{o_{1}}", r"\hat{y}_{1}", "E"]
    term = (yhat1 - Fraction(-95, 100)) * Fraction(35, 100) * 1 * x[0]  # dE/dyhat1 . w12 . relu' . x1
    assert [Fraction(f.value) for f in chain.factors] == [yhat1 + Fraction(95, 100), Fraction(35, 100), 1, x[0]]
    assert Fraction(chain.factors[0].value * chain.factors[1].value * chain.factors[3].value) == term != 0
    # an explicit parameter into a live unit keeps its own (live) path; one into a dead unit keeps unit 1s
    assert chain_for(s, "b3").units == [(1, 3), (2, 1)] and chain_for(s, "w1").units == [(1, 1), (2, 1)]


@pytest.mark.parametrize("layers", [[2, 3, 1], [3, 3, 2], [2, 4, 3, 2], [3, 2, 2, 2]])
@pytest.mark.parametrize("seed", range(6))
def test_default_chain_is_live_when_a_first_layer_gradient_is(layers, seed):
    s = solve(loads_spec(new_spec(layers, activation="relu", seed=seed)))
    first = [p for p in s.network.parameters if p.layer == 1 and p.kind == "weight"]
    chain = chain_for(s)
    # a nonzero gradient is a sum of path terms, so one of its paths is nonzero: the default finds one
    if any(s.value(s.network.grad(p.name)) != 0 for p in first):
        assert all(f.value != 0 for f in chain.factors), (layers, seed, chain.parameter)


def test_chain_for_any_parameter(lecture):
    chain = chain_for(lecture, "b3")
    assert chain.factors[-1].formula == "1" and chain.line.result == "0.0470"
    with pytest.raises(UsageError, match="did you mean 'w6'"):
        chain_for(lecture, "w9")


NUMBER_TEXTS = st.sampled_from(["0.35", "-0.35", "4.53e-05", "-1.2e+07", "1/3", "-2/7", "12", "0.000"])


@settings(max_examples=size(150, 40), deadline=None)
@given(st.lists(NUMBER_TEXTS, min_size=4, max_size=4), st.integers(0, 5))
def test_a_lines_shape_printed_once_fills_in_any_numbers_as_printing_them_would(texts, which):
    """The substituted line is its shape (printed once, holes for the numbers) filled in: the same text as the
    printer gives with the numbers themselves, whatever their signs, superscripts and fractions."""
    a, b, c, d = sympy.symbols("a b c d")
    expr = [a * b + c - d, sympy.exp(-a) * (1 - b) ** 2, (a - b) ** 2 / 2 + c**3, 1 / (1 + sympy.exp(-(a * b + c))),
            -a * (b * sympy.log(c) + (1 - b) * sympy.log(1 - d)), a**b * c / d][which]
    numbers = {s.name: number_latex(t) for s, t in zip((a, b, c, d), texts, strict=True)}
    assert substituted_latex(expr, numbers) == NumericPrinter(numbers).doprint(expr)
    assert substituted_latex(expr, numbers) == NumericPrinter(numbers).doprint(expr)  # the shape from the cache
