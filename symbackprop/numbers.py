"""Exact numbers in, rounded text out: the only place symbackprop rounds.

Values from a spec are parsed from their decimal *text* into exact rationals
(never through ``float``).  Computed values are ``decimal.Decimal`` at
``WORK_DIGITS`` significant digits: exact whenever the arithmetic is (sums and
products of spec decimals), and with ~80 correct digits otherwise (sigmoid,
exp, log, division).  Display rounding is half-up on that value, to a fixed
number of decimals, and never yields ``-0.000``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

import sympy

#: Significant digits of every computed value (the guard digits included).
WORK_DIGITS = 80
#: Significant digits that `full_text` prints (export's ``value``).
FULL_DIGITS = 40

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?")


def work_context() -> Context:
    """The arithmetic context of every computed value."""
    return Context(prec=WORK_DIGITS, Emax=999_999, Emin=-999_999)


def parse_decimal_text(text: str) -> sympy.Rational:
    """``"0.15"`` -> ``Rational(3, 20)``; raises ``ValueError`` on anything else.

    Accepts plain decimals and scientific notation, nothing that Python's
    ``float()`` would also accept by accident (``nan``, ``inf``, ``1_0``).
    """
    text = text.strip()
    if len(text) > 200 or not _DECIMAL_TEXT.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a decimal number")
    fraction = Fraction(text)  # exact: Fraction parses decimal text without float
    return sympy.Rational(fraction.numerator, fraction.denominator)


def to_decimal(value: sympy.Rational | Fraction | int | Decimal) -> Decimal:
    """An exact rational as a working-precision Decimal (exact when it terminates)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    p, q = int(value.numerator), int(value.denominator)
    with localcontext(work_context()):
        return Decimal(p) / Decimal(q)


def round_half_up(value: Decimal | sympy.Rational | Fraction | int, decimals: int) -> Decimal:
    """Round half-up (away from zero on a tie) to ``decimals`` places; ``-0`` becomes ``0``."""
    exact = to_decimal(value) if not isinstance(value, Decimal) else value
    quantum = Decimal(1).scaleb(-decimals)
    with localcontext(Context(prec=WORK_DIGITS + 20, Emax=999_999, Emin=-999_999)):
        rounded = exact.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = abs(rounded)  # no "-0.000"
    return rounded


def display(value: Decimal | sympy.Rational | Fraction | int, decimals: int) -> str:
    """The text a student sees: half-up to ``decimals`` places, ``0.000`` never ``-0.000``."""
    return f"{round_half_up(value, decimals):f}"


def full_text(value: Decimal, digits: int = FULL_DIGITS) -> str:
    """``digits`` significant digits (export's ``value``), half-up; plain notation where reasonable.

    Exact values keep their trailing zeros: ``0.3775`` prints as ``0.3775000...0`` with ``digits``
    significant digits, so every value carries the same stated precision.
    """
    if value.is_zero():
        return "0"
    with localcontext(Context(prec=digits, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)):
        rounded = +value
    if rounded.adjusted() >= digits or rounded.adjusted() <= -30:
        return f"{rounded:.{digits - 1}e}"
    return f"{rounded:.{max(0, digits - 1 - rounded.adjusted())}f}"


def significant(value: Decimal, digits: int) -> str:
    """``digits`` significant digits, half-up; scientific notation below 1e-3.

    Used where the fixed decimals of the display would hide an operand
    (``0.000453`` rather than ``0.000``).
    """
    if value.is_zero():
        return "0"
    with localcontext(Context(prec=digits, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)):
        rounded = +value
    if rounded.is_zero():
        return "0"
    return f"{rounded:f}" if rounded.adjusted() >= -4 else f"{rounded:.{digits - 1}e}"
