"""Numeric arithmetic lines a student can redo with a pocket calculator.

A line is ``symbol = <expression with numbers> = result``.  The result is the
engine's full-precision value rounded for display; the operands are shown at
the display precision when that reproduces the result, otherwise with more
significant digits (or scientific notation) until it does.  So every line
holds when redone with exactly the numbers printed: ``line_reproduces`` is the
judge, used both to choose the precision and by the tests.  A result shown with
significant digits (``2.27e-4``, ``1.30e8``) gets operands with significant digits.
Only where no readable precision reproduces the result (a saturated unit's slope
``1 - 1.000^2 = 5.2e-63`` would need 64-digit operands) does the line say
``\\approx`` instead of ``=`` before the result.

Leaves of the spec (inputs, targets, parameters, the learning rate) are exact
and always shown exactly (``0.15``, ``0.50``).

    >>> from symbackprop.engine.solution import solve
    >>> s = solve()
    >>> quantity_line(s, "dE/dw2").latex()
    '\\\\frac{\\\\partial E}{\\\\partial w_{2}} = 0.00453 \\\\cdot 0.10 = 0.000'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any

import sympy
from sympy import Expr, Symbol

from ..engine.decimalexpr import exact_decimal_value
from ..engine.evaluate import BALL, Compiler, EvaluationError, certified_value, exact_input
from ..engine.numbers import Certified, display, round_half_up, significant, work_context
from ..engine.printer import BackpropPrinter, _is_negative
from ..engine.solution import Solution

#: quantity kinds whose value is exact spec data, shown as given (an optimizer's too: its hyperparameters,
#: step counter and state before the first step)
LEAF_KINDS = ("input", "target", "weight", "bias", "learning_rate", "hyper", "previous")
#: how many extra digits a line may try before it settles for ``\approx``
MAX_DIGIT_LEVEL = 40
#: the longest operand text (in characters) a line shows; past it the line says ``\approx``
MAX_OPERAND = 24
#: the precision of the operands of an ``\approx`` line
APPROX_LEVEL = 2
#: from this magnitude a result is shown in scientific notation (only values after the update get
#: there: ``readable.MAX_COMPUTED`` bounds the others), with this many significant digits
LARGE = Decimal(10) ** 12
SCIENTIFIC_DIGITS = 6


# -- number texts -----------------------------------------------------------------

def exact_text(value: Decimal) -> str:
    """An exact spec value as given: ``0.15``, ``0.10``, ``0.50``, ``-1``; at least two decimals."""
    if value == value.to_integral_value():
        return str(int(value))
    text = f"{value.normalize():f}"
    decimals = len(text.split(".")[1])
    return f"{value.quantize(Decimal(1).scaleb(-max(2, decimals))):f}"


def scientific_text(value: Decimal, digits: int) -> str:
    """``digits`` significant digits; ``m.mme<k>`` (``1.30e8``, ``2.27e-4``) outside 0.001 to 1000."""
    text = significant(value, digits)
    rounded = number_value(text)
    if rounded.is_zero():  # 0 exactly, or a ball around 0 whose sign is undecided: 0.000 (|v| < 5e-4)
        return text
    if "e" not in text and not Decimal("0.001") <= abs(rounded) < 1000:
        mantissa = significant(rounded.scaleb(-rounded.adjusted()), digits)
        text = f"{mantissa}e{rounded.adjusted()}"
    return text


def operand_text(value: Decimal, decimals: int, level: int, scientific: bool = False) -> str:
    """A computed value at precision ``level``: 0 = the display, higher = more digits.

    Small values gain significant digits (``0.00453``, then ``4.533e-5`` style
    below 1e-4); others gain decimals.  For a ``scientific`` result (``1.30e8``) every
    operand has ``3 + level`` significant digits; from ``LARGE`` on, ``SCIENTIFIC_DIGITS + level``.
    """
    if scientific:
        return scientific_text(value, 3 + level)
    if abs(value) >= LARGE:  # relu(-1.12609e23) after a wild update: not 36 digits
        return scientific_text(value, SCIENTIFIC_DIGITS + level)
    if level == 0:
        return display(value, decimals)
    if abs(value) < Decimal("0.1"):
        return significant(value, 2 + level)
    return display(value, decimals + level)


def number_value(text: str) -> Decimal:
    """The exact value of a plain number text (``0.378``, ``-4.53e-05``)."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None


def number_latex(text: str) -> str:
    """LaTeX of a plain number text; negative and scientific numbers get parentheses.

    ``-0.35`` -> ``\\left(-0.35\\right)``, ``4.53e-05`` -> ``\\left(4.53 \\times 10^{-5}\\right)``,
    so they can stand anywhere in a product or a power.
    """
    body = text
    if "/" in text:
        p, q = text.lstrip("-").split("/")
        body = rf"{'-' if text.startswith('-') else ''}\frac{{{p}}}{{{q}}}"
    elif "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        body = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    if body != text or text.startswith("-"):
        return rf"\left({body}\right)"
    return body


def result_latex(text: str) -> str:
    """LaTeX of a result (stands alone: no parentheses)."""
    latex = number_latex(text)
    if latex.startswith(r"\left("):
        return latex[len(r"\left("):-len(r"\right)")]
    return latex


# -- evaluating a line from its displayed numbers -------------------------------------

def evaluate_with(expr: Expr, operands: Mapping[Symbol, str]) -> Decimal:
    """The exact value of ``expr`` with the operand texts (a certified ball for transcendental parts)."""
    return _evaluate_exact(expr, {s: _fraction_of(text) for s, text in operands.items()})


def _fraction_of(text: str) -> Fraction:
    try:
        return Fraction(text)  # "0.378", "-4.53e-05", "-133/120"
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a number: {text!r}") from None


def _evaluate_exact(expr: Expr, values: Mapping[Symbol, Decimal | Fraction]) -> Decimal:
    symbols = tuple(values)
    return certified_value(_ball_program(expr, symbols), [exact_input(values[s]) for s in symbols])


@functools.lru_cache(maxsize=4096)  # SymPy finds an expression's symbols afresh each time it is asked
def symbols_of(expr: Expr) -> list[Symbol]:
    """The free symbols of ``expr``, by name (do not change the list)."""
    return sorted(expr.free_symbols, key=lambda s: s.name)


@functools.lru_cache(maxsize=4096)  # every variant of an exam checks the same expressions' lines
def _ball_program(expr: Expr, symbols: tuple[Symbol, ...]) -> Callable[[list[Any]], Any]:
    return Compiler({s: i for i, s in enumerate(symbols)}, BALL)(expr)


def rounds_to(value: Decimal, result: str) -> bool:
    """Does ``value`` round half-up to the displayed ``result`` (at the result's last digit)?
    A fraction result (``-133/120``) must be the exact value itself."""
    if "/" in result:
        return isinstance(value, Certified) and value.exact == _fraction_of(result)
    shown = number_value(result)
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    places = -exponent
    return round_half_up(value, places) == shown


def line_reproduces(expr: Expr, operands: Mapping[Symbol, str], result: str) -> bool:
    """True when ``expr`` computed from the displayed operand texts rounds to ``result``.

    Rounded operands can leave a function's domain (``ln 0``, a division by ``0``): no.  Sums and products
    of decimals are worked exactly in Decimals; the rest as certified balls.
    """
    try:
        exact = _exact_value(expr, operands) if "/" not in result else None
        return rounds_to(exact if exact is not None else evaluate_with(expr, operands), result)
    except (ArithmeticError, EvaluationError):  # e.g. ln(0.000): too few digits shown for this line
        return False


def _exact_value(expr: Expr, operands: Mapping[Symbol, str]) -> Decimal | None:
    """The exact value of a sum or product of decimal operand texts (None: a fraction operand, or not an
    exact expression: see :func:`.exact_decimal_value`)."""
    values = []
    for text in operands.values():
        if "/" in text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
        if not value.is_finite():
            return None
        values.append(value)
    return exact_decimal_value(expr, tuple(operands), values)


def _terminates(value: Decimal) -> bool:
    return isinstance(value, Certified) and value.exact is not None and fraction_text(value) is None


def fraction_text(value: Decimal) -> str | None:
    """``p/q`` for an exact value whose decimals never end (a mean over 3 examples), else None:
    the one way to show it that reproduces an exact tie such as ``(-133/120) 0.9 = -0.9975``."""
    exact = value.exact if isinstance(value, Certified) else None
    if exact is None:
        return None
    q = exact.denominator
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return None if q == 1 else f"{exact.numerator}/{exact.denominator}"


# -- printing ---------------------------------------------------------------------------

class NumericPrinter(BackpropPrinter):
    """Prints an expression with numbers in place of symbols; products get an explicit dot."""

    def _juxtapose(self, factors: list[Expr]) -> str:
        parts = []
        for f in factors:
            if f.is_Number and f == 1 and len(factors) > 1:
                continue
            text = self._print(f)
            if sympy.printing.precedence.precedence(f) < sympy.printing.precedence.PRECEDENCE["Mul"]:
                text = rf"\left({text}\right)"
            parts.append(text)
        return r" \cdot ".join(parts) if parts else "1"


def print_terms(printer: BackpropPrinter, expr: Expr) -> list[str]:
    """A sum's terms as ``printer`` prints them, each with its sign (``+ 0.3``, ``- 0.5``), the first without.

    Used to break long sums over several aligned rows.
    """
    if not isinstance(expr, sympy.Add):
        return [printer.doprint(expr)]
    args = list(expr.args)
    ordered = [t for t in args if not _is_negative(t)] + [t for t in args if _is_negative(t)]
    out = []
    for i, term in enumerate(ordered):
        if _is_negative(term):
            body = printer.doprint(-term)
            if isinstance(-term, sympy.Add):
                body = rf"\left({body}\right)"
            out.append(f"- {body}" if i else f"-{body}")
        else:
            body = printer.doprint(term)
            out.append(f"+ {body}" if i else body)
    return out


_DOUBLE_PARENS = re.compile(r"\\left\(\\left\((-?[0-9.]+(?: \\times 10\^\{-?\d+\})?)\\right\) ?\\right\)")

#: an expression's substituted LaTeX cut at its numbers, by (expression, its symbols' names, which numbers carry
#: a superscript): the printer's choices depend on those alone, never on a number's digits (a number prints
#: in parentheses when negative, scientific or a fraction, whatever its place), so every variant of an exam
#: prints a line's shape once and fills in its own numbers
_SHAPES: dict[tuple[Expr, tuple[str, ...], tuple[bool, ...]], tuple[str, ...]] = {}
SHAPES_KEPT = 4096
_HOLE = re.compile("\x00([0-9]+)\\^?\x00")


def substituted_latex(expr: Expr, numbers: Mapping[str, str]) -> str:
    """``expr`` printed by :class:`NumericPrinter` with each symbol (by name) replaced by its number's LaTeX."""
    names = tuple(sorted(numbers))
    raised = tuple("^" in numbers[n] for n in names)
    key = (expr, names, raised)
    pieces = _SHAPES.get(key)
    if pieces is None:  # a hole keeps a superscript where its number has one (SymPy braces a raised base)
        holes = {n: f"\x00{k}{'^' if up else ''}\x00" for k, (n, up) in enumerate(zip(names, raised, strict=True))}
        pieces = tuple(_HOLE.split(NumericPrinter(holes).doprint(expr)))
        if len(_SHAPES) >= SHAPES_KEPT:
            _SHAPES.clear()
        _SHAPES[key] = pieces
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if i % 2:
            piece = numbers[names[int(piece)]]
            if piece[:1].isdigit() and _JUXTAPOSED.search(out[-1]):  # 1/2 0.751 reads as a mixed number
                out[-1] = out[-1][:-1] + r" \cdot "
        out.append(piece)
    return "".join(out)


#: a factor SymPy sets beside the next one with a space (a coefficient ``\frac{1}{2}``, a subscript's digit): a
#: number there takes ``\cdot``, as SymPy's printer gives two numbers side by side
_JUXTAPOSED = re.compile(r"[0-9]\}* $")


@dataclass(frozen=True)
class Line:
    """One arithmetic line: ``label = expression with numbers = result``."""

    label: str  # LaTeX of the left-hand side
    expr: Expr
    operands: dict[Symbol, str]  # the displayed number text of every symbol
    result: str  # displayed result (plain text, e.g. "0.378" or "2.27e-04")
    level: int  # 0 = operands at the display precision
    approx: bool = False  # no readable precision reproduces the result: ``\approx`` before it

    def reproduces(self) -> bool:
        return line_reproduces(self.expr, self.operands, self.result)

    @property
    def relation(self) -> str:
        """The relation before the result: ``=``, or ``\\approx`` when the operands are rounded too far."""
        return r"\approx" if self.approx else "="

    def printer(self) -> NumericPrinter:
        return NumericPrinter({s.name: number_latex(t) for s, t in self.operands.items()})

    def substituted(self) -> str:
        return self._substituted

    @functools.cached_property
    def _substituted(self) -> str:  # printed once: a key, its feedback and the row measures all read it
        # a function of a negative number: tanh(-0.490), not tanh((-0.490))
        numbers = {s.name: number_latex(t) for s, t in self.operands.items()}
        return _DOUBLE_PARENS.sub(r"\\left(\1\\right)", substituted_latex(self.expr, numbers))

    def is_trivial(self) -> bool:
        """``dE/db1 = 0.005 = 0.005``: a bare symbol (or a constant slope), nothing to compute."""
        return isinstance(self.expr, Symbol) or bool(self.expr.is_Number)

    def rhs(self) -> str:
        """``substituted = result`` (or ``≈``), the result last: a template boxes it (``boxed`` macro)."""
        result = result_latex(self.result)
        substituted = "" if self.is_trivial() else self.substituted()
        if substituted in ("", result):  # nothing to compute (``u = -d = -1.00``, not ``= -1.00 = -1.00``)
            return result
        return f"{substituted} {self.relation} {result}"

    def latex(self) -> str:
        return f"{self.label} = {self.rhs()}"

    def terms(self) -> list[str]:
        """The substituted side as printed terms (``t1``, ``+ t2``, ...), to break over rows; a sum inside one
        big bracket (``-(t1 ln y1 + ...)``, ``1/2 ((...)^2 + ...)``) opens as ``\\Bigl( ... \\Bigr)`` around them."""
        printer = self.printer()
        prefix, suffix, body = "", "", self.expr
        args = self.expr.args
        if isinstance(self.expr, sympy.Mul) and isinstance(args[-1], sympy.Add) and all(a.is_Number for a in args[:-1]):
            coefficient = sympy.Mul(*args[:-1])
            prefix = "-" if coefficient == -1 else printer.doprint(coefficient) + " "
            prefix, suffix, body = prefix + r"\Bigl(", r"\Bigr)", args[-1]
        terms = print_terms(printer, body)
        terms[0] = prefix + terms[0]
        terms[-1] += suffix
        return terms


def approx_latex(value: Decimal, digits: int = 4) -> str:
    """LaTeX of ``value`` to ``digits`` significant digits (after an ``\\approx``): plain from 1e-4 to
    1e6, ``a \\times 10^{k}`` outside (an exploding loss: ``1.456 \\times 10^{23}``, not 24 digits)."""
    text = significant(value, digits)
    if value.is_finite() and abs(number_value(text)) >= 10 ** 6:
        text = scientific_text(value, digits)
    return result_latex(text)


def result_text(value: Decimal, decimals: int) -> str:
    """The displayed result of a line: the display, or ``SCIENTIFIC_DIGITS`` significant digits in
    scientific notation from ``LARGE`` on (a loss that explodes after the update: ``1.45584e23``, not
    ``145583932873915271124317.531250000000``)."""
    if value.is_finite() and abs(value) >= LARGE:
        return scientific_text(value, SCIENTIFIC_DIGITS)
    return display(value, decimals)


def make_line(label: str, expr: Expr, values: Mapping[Symbol, Decimal], exact: Iterable[Symbol],
              value: Decimal, decimals: int, result: str | None = None,
              floors: Mapping[Symbol, int] | None = None) -> Line:
    """The line for ``expr`` (worth ``value``) with the fewest digits that reproduce its result.

    ``values`` gives each symbol's full-precision value; symbols in ``exact`` are
    spec data, shown exactly at every level; ``floors``: an operand's own least level (see
    :func:`agreeing_level`).
    """
    exact = set(exact)
    floors = floors or {}
    if result is None:
        result = result_text(value, decimals)
    scientific = "e" in result
    symbols = symbols_of(expr)

    def operands_at(level: int) -> dict[Symbol, str]:
        return {s: exact_text(values[s]) if s in exact else
                operand_text(values[s], decimals, max(level, floors.get(s, 0)), scientific) for s in symbols}

    longest = max(MAX_OPERAND, len(result) + 4)  # a long result (12 decimals of 1e9) needs as long operands
    for level in range(MAX_DIGIT_LEVEL + 1):
        operands = operands_at(level)
        if level and any(len(operands[s]) > longest for s in symbols if s not in exact):
            break
        if line_reproduces(expr, operands, result):
            return Line(label, expr, operands, result, level)
    fractions = {s: text for s in symbols if s not in exact and (text := fraction_text(values[s]))}
    if fractions:  # an exact tie after a division by 3: the operand as its fraction reproduces it
        operands = {s: fractions.get(s) or (exact_text(values[s]) if s in exact or _terminates(values[s])
                                            else operand_text(values[s], decimals, MAX_DIGIT_LEVEL)) for s in symbols}
        if line_reproduces(expr, operands, result):
            return Line(label, expr, operands, result, MAX_DIGIT_LEVEL + 1)
    # no readable operand reproduces it (a saturated slope of 5.2e-63): the line says \approx, not =
    return Line(label, expr, operands_at(APPROX_LEVEL), result, APPROX_LEVEL, approx=True)


# -- lines of a solution ------------------------------------------------------------------

def values_of(solution: Solution, expr: Expr) -> tuple[dict[Symbol, Decimal], set[Symbol]]:
    """Full-precision values of the symbols of ``expr`` and which of them are spec leaves."""
    network = solution.network
    values = solution.evaluation.values
    out: dict[Symbol, Decimal] = {}
    exact: set[Symbol] = set()
    for s in symbols_of(expr):
        assert isinstance(s, Symbol)
        q = network.by_symbol[s]
        out[s] = values[q.name]
        if q.kind in LEAF_KINDS:
            exact.add(s)
    return out, exact


def quantity_line(solution: Solution, name: str, explicit: bool = False, result: str | None = None) -> Line:
    """The line of one quantity from its definition (``explicit``: an output delta's closed form); made
    once per solution (finding the fewest digits that reproduce the result is the expensive part)."""
    key = ("quantity_line", name, explicit, result)
    line = solution.memo.get(key)
    if not isinstance(line, Line):
        line = solution.memo[key] = _quantity_line(solution, name, explicit, result)
    return line


def _quantity_line(solution: Solution, name: str, explicit: bool, result: str | None) -> Line:
    q = solution.quantity(name)
    expr = q.explicit if explicit and q.explicit is not None else q.definition
    if expr is None:
        raise ValueError(f"{name} is a leaf: it has no arithmetic line")
    values, exact = values_of(solution, expr)
    value = solution.value(name)
    return make_line(q.latex, expr, values, exact, value, solution.spec.decimals, result)


def expression_value(solution: Solution, expr: Expr) -> Decimal:
    """The full-precision value of an expression over the network's quantities."""
    values, _ = values_of(solution, expr)
    return _evaluate_exact(expr, values)


def expression_line(solution: Solution, label: str, expr: Expr, value: Decimal | None = None) -> Line:
    """A line for an expression over the network's quantities (e.g. a local slope ``h1 (1 - h1)``)."""
    values, exact = values_of(solution, expr)
    if value is None:
        value = expression_value(solution, expr)
    return make_line(label, expr, values, exact, value, solution.spec.decimals)


def precise_text(value: Decimal, digits: int = 3) -> str:
    """``digits`` significant digits; scientific below 0.001 (``2.27e-4``), as the lecture's ``2.26 x 10^-4``,
    and from 1000 (``1.30e8``: ``130000000`` would claim nine digits)."""
    return scientific_text(value, digits)


def product_line(label: str, factors: list[tuple[Decimal, bool]], decimals: int,
                 result: str | None = None, value: Decimal | None = None, floors: Sequence[int] = ()) -> Line:
    """``label = f1 . f2 . ... = result`` for given factor values (``True``: exact spec data); ``floors``: each
    factor's least operand level (:func:`agreeing_level`), in order."""
    symbols = [Symbol(f"_f{i}") for i in range(len(factors))]
    expr = sympy.Mul(*symbols, evaluate=False)
    values = {s: v for s, (v, _) in zip(symbols, factors, strict=True)}
    exact = {s for s, (_, is_exact) in zip(symbols, factors, strict=True) if is_exact}
    if value is None:
        with localcontext(work_context()):
            value = Decimal(1)
            for v, _ in factors:
                value *= v
    return make_line(label, expr, values, exact, value, decimals, result, dict(zip(symbols, floors, strict=False)))


def agreeing_level(value: Decimal, recomputed: Decimal, decimals: int) -> int:
    """The least operand level at which ``value`` prints as ``recomputed`` does: a factor given without its own
    line (a gate's local derivative) whose display a student would not get from the numbers shown (sigma'(a)
    at the exact a is 0.197499, at the shown a = -0.990 it is 0.19752) is printed with the digits on which the
    two agree (0.1975); 0 where they agree at the display, or on no level."""
    for level in range(MAX_DIGIT_LEVEL + 1):
        if operand_text(value, decimals, level) == operand_text(recomputed, decimals, level):
            return level
    return 0
