"""Every notation decision in one place: a SymPy ``LatexPrinter`` for backprop.

* symbols print as the network names them (``z_{h_{1}}``, ``\\hat{y}``,
  ``\\frac{\\partial E}{\\partial w_{5}}``);
* products keep the order the derivation built them in (delta first, then
  the local factor: ``\\frac{\\partial E}{\\partial z_{o}} h_{1}``) and are
  written by juxtaposition, as lectures do;
* sums put positive terms first (``\\hat{y} - t``, not ``- t + \\hat{y}``);
* ``sigma``, ``relu``, ``step`` ... print as the lecture writes them.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy import Expr
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from .activations import decimal_latex
from .network import Network

#: How each activation's name is written (the printer, the glossary and the matrix form share it).
ACTIVATION_LATEX = {
    "sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}", "leaky_relu": r"\operatorname{lrelu}",
    "softplus": r"\operatorname{softplus}", "identity": r"\operatorname{id}", "softmax": r"\operatorname{softmax}",
}


#: The indicator function's symbol (relu's slope is ``INDICATOR[z > 0]``): a glyph every font has.
INDICATOR = r"\mathbf{1}"


def piecewise_slope_latex(slope: Expr) -> str:
    """relu's or leaky_relu's derivative as a lecture writes it: 1 for z > 0, the slope for z <= 0."""
    return rf"\begin{{cases}} 1, & z > 0 \\ {decimal_latex(slope)}, & z \le 0 \end{{cases}}"


class BackpropPrinter(LatexPrinter):
    """LaTeX for one network's expressions."""

    printmethod = "_backprop_latex"

    def __init__(self, symbol_latex: dict[str, str] | None = None, **settings: Any):
        settings.setdefault("order", "none")
        super().__init__(settings)
        self.symbol_latex = symbol_latex or {}

    # -- atoms ----------------------------------------------------------------
    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:  # noqa: N802
        if expr.name in self.symbol_latex:
            return self.symbol_latex[expr.name]
        return str(super()._print_Symbol(expr))

    def parenthesize_super(self, s: str) -> str:
        """A symbol raised to a power: a fraction-shaped name (``dE/dw1`` prints as a ``\\frac``) gets
        parentheses, or its square would read as the square of the denominator."""
        if s.startswith(r"\frac"):
            return rf"\left({s}\right)"
        return str(super().parenthesize_super(s))

    def _function(self, name: str, expr: Expr) -> str:
        return rf"{name}\left({self._print(expr.args[0])}\right)"

    def _print_sigma(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(self._function(ACTIVATION_LATEX["sigmoid"], expr), exp)

    def _print_relu(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(self._function(ACTIVATION_LATEX["relu"], expr), exp)

    def _print_softplus(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(self._function(ACTIVATION_LATEX["softplus"], expr), exp)

    def _print_leaky_relu(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(self._function(ACTIVATION_LATEX["leaky_relu"], expr), exp)

    def _print_expo(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(rf"e^{{{self._print(expr.args[0])}}}", exp)

    def _print_step(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        # the indicator in bold: \mathbb{1} has no glyph in amsfonts (it prints a crossed-out sign)
        return self._with_power(rf"{INDICATOR}[{self._print(expr.args[0])} > 0]", exp)

    def _print_leaky_step(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        # 1 where z > 0, the slope elsewhere: relu's indicator twice, the slope as the spec wrote it (0.01)
        z, slope = expr.args
        zs = self._print(z)
        return self._with_power(
            rf"\left({INDICATOR}[{zs} > 0] + {decimal_latex(slope)} \cdot {INDICATOR}[{zs} \le 0]\right)", exp)

    @staticmethod
    def _with_power(text: str, exp: str | None) -> str:
        return text if exp is None else rf"{text}^{{{exp}}}"

    # -- structure ------------------------------------------------------------
    def _print_Add(self, expr: sympy.Add, order: str | None = None) -> str:  # noqa: N802
        terms = list(expr.args)
        positive = [t for t in terms if not _is_negative(t)]
        negative = [t for t in terms if _is_negative(t)]
        out = ""
        for i, term in enumerate(positive + negative):
            if _is_negative(term):
                body = self._print(-term)
                if isinstance(-term, sympy.Add):
                    body = rf"\left({body}\right)"
                out += f" - {body}" if i else f"-{body}"
            else:
                body = self._print(term)
                out += f" + {body}" if i else body
        return out

    def _print_Mul(self, expr: sympy.Mul) -> str:  # noqa: N802
        # SymPy's _print_Pow hands a reciprocal 1/h here as it stands: one factor, not (h, -1)
        factors = list(expr.args) if isinstance(expr, sympy.Mul) else [expr]
        sign = ""
        if factors and factors[0].is_Number and factors[0].is_negative:
            sign, factors = "-", ([-factors[0]] if factors[0] != -1 else []) + factors[1:]
        coefficient = ""
        if factors and factors[0].is_Rational and not factors[0].is_Integer:
            c = factors.pop(0)
            coefficient = rf"\frac{{{c.p}}}{{{c.q}}} "
        numerators = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        denominators = [1 / f for f in factors if f.is_Pow and f.exp.is_negative]
        if denominators:
            top = self._fraction_part(numerators)
            return rf"{sign}{coefficient}\frac{{{top}}}{{{self._fraction_part(denominators)}}}"
        body = self._juxtapose(factors)
        if sign and isinstance(expr, sympy.Mul) and len(factors) == 1 and isinstance(factors[0], sympy.Add):
            body = rf"\left({self._print(factors[0])}\right)"
        return sign + coefficient + body

    def _fraction_part(self, factors: list[Expr]) -> str:
        """A numerator or denominator: one factor needs no parentheses inside \\frac."""
        if not factors:
            return "1"
        return self._print(factors[0]) if len(factors) == 1 else self._juxtapose(factors)

    def _print_tanh(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(self._function(ACTIVATION_LATEX["tanh"], expr), exp)

    def _print_log(self, expr: Expr, exp: str | None = None) -> str:  # noqa: N802
        return self._with_power(rf"\ln\left({self._print(expr.args[0])}\right)", exp)

    def _juxtapose(self, factors: list[Expr]) -> str:
        parts: list[str] = []
        for f in factors:
            if f.is_Number and f == 1 and len(factors) > 1:
                continue
            text = self._print(f)
            if precedence(f) < PRECEDENCE["Mul"] or (f.is_Number and parts):
                text = rf"\left({text}\right)" if not f.is_Number else text
            if parts and (f.is_Number or parts[-1][-1:].isdigit() and text[:1].isdigit()):
                parts.append(r"\cdot " + text)
            else:
                parts.append(text)
        return " ".join(parts) if parts else "1"


def _is_negative(term: Expr) -> bool:
    # a number's own sign (``is_negative``), not SymPy's ``term < 0`` (a relational built and decided)
    if term.is_Number:
        return bool(term.is_negative)
    if isinstance(term, sympy.Mul) and term.args and term.args[0].is_Number:
        return bool(term.args[0].is_negative)
    return False


def with_condition(condition: str) -> str:
    """The condition a closed form uses, after it (softmax + cross-entropy: the targets sum to 1)."""
    return rf" \quad \text{{(with }} {condition}\text{{)}}" if condition else ""


def condition_latex(printer: BackpropPrinter, condition: Expr | None) -> str:
    """``t_{1} + t_{2} + t_{3} = 1``, the condition a closed form holds under ("" for none);
    a long sum as ``t_{1} + t_{2} + \\cdots + t_{10} = 1``."""
    if condition is None:
        return ""
    lhs, rhs = condition.args
    terms = [printer.doprint(t) for t in sympy.Add.make_args(lhs)]
    if len(terms) > 4:
        terms = [*terms[:2], r"\cdots", terms[-1]]
    return " + ".join(terms) + " = " + printer.doprint(rhs)


def printer_for(network: Network) -> BackpropPrinter:
    return BackpropPrinter({q.name: q.latex for q in network.quantities.values()})


def partial(numerator: str, denominator: str) -> str:
    r"""``\frac{\partial E}{\partial w_{5}}`` from the two symbols' LaTeX."""
    return rf"\frac{{\partial {numerator}}}{{\partial {denominator}}}"
