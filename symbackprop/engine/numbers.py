"""Exact numbers in, rounded text out: the only place symbackprop rounds.

Values from a spec are parsed from their decimal *text* into exact rationals
(never through ``float``).  The engine (``evaluate.py``) keeps every rational
value as an exact rational and every transcendental one as a ball (a midpoint
with a rigorous radius); it hands them on as `Certified` values: a Decimal
with ``WORK_DIGITS`` significant digits for arithmetic, which also knows its
exact value or how to enclose it ever tighter.

Every rounded text goes through `decide`: a digit is printed only once the
value's enclosure decides it, so a tie like ``-0.9975`` rounds half-up (away
from zero) as ``-0.998``, and never ``-0.000``.  `decision` also says whether the
enclosure decided every digit (export's ``certified``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import MAX_PREC, ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from typing import NamedTuple, TypeAlias

import flint
import sympy
from flint import arb

#: Significant digits of every computed value's Decimal (the guard digits included).
WORK_DIGITS = 80
#: the largest decimal exponent of any Decimal symbackprop makes
MAX_EXPONENT = 999_999
#: Significant digits that `full_text` prints (export's ``value``).
FULL_DIGITS = 40
#: How often an enclosure is tightened (each level doubles its precision) before a value
#: that still straddles a rounding boundary is reported undecided (see `decision`).
MAX_TIGHTENINGS = 4

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?")

#: exact lower and upper bounds of a value, tighter as the level grows
Enclosure: TypeAlias = Callable[[int], tuple[Decimal, Decimal]]
Number: TypeAlias = Decimal | sympy.Rational | Fraction | int


def work_context() -> Context:
    """The arithmetic context of every computed value."""
    return Context(prec=WORK_DIGITS, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT)


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


def decimal_text(value: sympy.Rational) -> str:
    """A spec's finite decimal as plain digits (``0.00000001`` for 1e-8): hyperparameters in the check
    table, the export and messages; nothing is rounded (the value came from decimal text)."""
    return format(Decimal(int(value.p)) / Decimal(int(value.q)), "f")


def to_decimal(value: Number) -> Decimal:
    """An exact rational as a working-precision Decimal (exact when it terminates)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    p, q = int(value.numerator), int(value.denominator)
    return _WORK.divide(Decimal(p), Decimal(q))


#: `work_context`, made once for the hot `to_decimal` (nothing changes it; a fresh one per call took half its time)
_WORK = work_context()


class Certified(Decimal):
    """A computed value: a working-precision Decimal that knows its true value.

    ``exact`` is the value as a Fraction when it is rational (``exact: true`` in export);
    otherwise ``enclose(level)`` gives exact bounds, tighter at each level, and ``ball`` is the
    first of them as the engine computed it (a display it decides is read from it directly).
    Arithmetic on it yields plain Decimals; rounding it (`display`, `full_text`, ...) is certified.
    """

    __slots__ = ("exact", "enclose", "ball", "shown")
    exact: Fraction | None
    enclose: Enclosure | None
    ball: arb | None
    #: its displays found so far, by decimals (a sheet shows one value in several places)
    shown: dict[int, Decision] | None

    @classmethod
    def of(cls, approx: Decimal, exact: Fraction | None = None, enclose: Enclosure | None = None,
           ball: arb | None = None) -> Certified:
        value = cls(approx)
        value.exact, value.enclose, value.ball, value.shown = exact, enclose, ball, None
        return value

    def __copy__(self) -> Certified:
        return self  # immutable, like Decimal

    def __deepcopy__(self, memo: object) -> Certified:
        return self

    def __reduce__(self) -> tuple[object, ...]:  # type: ignore[override]
        """Pickled with its exact value; a ball's enclosure (a closure over the engine) is not kept."""
        return _restore, (str(self), self.exact)


def _restore(text: str, exact: Fraction | None) -> Certified:
    return Certified.of(Decimal(text), exact=exact)


def rational(value: Fraction | sympy.Rational | int) -> Certified:
    """An exact rational as a Certified value."""
    fraction = Fraction(int(value.numerator), int(value.denominator))
    return Certified.of(to_decimal(fraction), exact=fraction)


def _scaled(integer: int, exponent: int) -> Decimal:
    """``integer * 10**exponent`` exactly (no int -> str conversion, which Python caps at 4300 digits)."""
    value = Decimal(integer)
    # the context made once per precision (a fresh Context took two thirds of the time of this hot path)
    return value.scaleb(exponent, context=_rounding_context(max(WORK_DIGITS, value.adjusted() + 2)))


def dyadic_decimal(mantissa: int, exponent: int) -> Decimal:
    """``mantissa * 2**exponent`` as an exact Decimal (every dyadic rational terminates)."""
    if exponent >= 0:
        return Decimal(mantissa << exponent)
    return _scaled(mantissa * 5 ** -exponent, exponent)


def _rational_enclosure(value: Fraction) -> tuple[Decimal, Decimal]:
    """Exact bounds of a rational, equal when it terminates, else two decimals so close
    (twice as many digits as its numerator and denominator) that no rounding lies between."""
    p, q = value.numerator, value.denominator
    twos = (q & -q).bit_length() - 1
    rest = q >> twos
    fives = 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest == 1:  # terminates: exact
        n = max(twos, fives)
        return (_scaled(p * 2 ** (n - twos) * 5 ** (n - fives), -n),) * 2
    k = (abs(p).bit_length() + q.bit_length()) * 2 // 3 + 2 * WORK_DIGITS  # > twice their decimal digits
    low = (p * 10**k) // q
    return _scaled(low, -k), _scaled(low + 1, -k)


def enclosure(value: Number, level: int = 0) -> tuple[Decimal, Decimal]:
    """Exact lower and upper bounds of a value at a refinement level."""
    if isinstance(value, Certified):
        if value.exact is not None:
            return _rational_enclosure(value.exact)
        if value.enclose is not None:
            return value.enclose(level)
    if isinstance(value, Decimal):
        return value, value
    if isinstance(value, int):
        return Decimal(value), Decimal(value)
    return _rational_enclosure(Fraction(int(value.numerator), int(value.denominator)))


class Decision(NamedTuple):
    """A rounded text, and whether the value's enclosure decided every digit of it."""

    text: str
    decided: bool


def _zero_text(low: Decimal, high: Decimal, decimals: int) -> str | None:
    """``0.00...0`` with as many of ``decimals`` places as the bounds decide (both ends round
    half-up to zero there), or None when not even ``0`` is decided."""
    bound = max(abs(low), abs(high))
    for places in range(decimals, -1, -1):
        if bound < Decimal(5).scaleb(-places - 1):
            return f"{Decimal(0).scaleb(-places):f}"
    return None


def decision(value: Number, render: Callable[[Decimal], str], zero_decimals: int = 0) -> Decision:
    """``render`` of the true value once the value's enclosure decides it, and whether it did.

    Rationals are decided at once (their enclosure is exact, or too tight to straddle a
    rounding boundary).  A ball is tightened (recomputed at twice the precision) up to
    ``MAX_TIGHTENINGS`` times.  One that still straddles a boundary then is within 10^-1000 or so
    of it, and the result says ``decided=False``:

    * a ball that straddles 0 (an exact 0 computed in ball arithmetic, e.g. the gradient of a
      softmax layer's shared bias, is never decided: its ball always holds both signs) prints
      as ``0.00...0`` with ``zero_decimals`` places, only when every point of the ball rounds
      half-up to that text: ``0.000...0`` with 40 places claims |v| < 5e-41 (so |v| < 1e-40),
      and nothing about the value's sign or significant digits.  Fewer places when the ball is
      wider (never a digit the ball does not decide);
    * any other ball is taken to lie on the boundary (a tie, rounded away from zero).
    """
    if type(value) is Decimal:  # noqa: E721 - the fast path of plain Decimals
        return Decision(render(value), True)
    low = high = Decimal(0)
    for level in range(MAX_TIGHTENINGS + 1):
        low, high = enclosure(value, level)
        text = render(low)
        if low == high or render(high) == text:
            return Decision(text, True)
    if low <= 0 <= high:
        zero = _zero_text(low, high, zero_decimals)
        return Decision(render(Decimal(0)) if zero is None else zero, False)
    a, b = Decimal(render(low)), Decimal(render(high))
    with localcontext(Context(prec=len(a.as_tuple().digits) + len(b.as_tuple().digits) + 10,
                              Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT)):
        return Decision(render((a + b) / 2), False)


def decide(value: Number, render: Callable[[Decimal], str], zero_decimals: int = 0) -> str:
    """The text of `decision`: ``render`` of the true value, decided by its enclosure."""
    return decision(value, render, zero_decimals).text


@functools.lru_cache(maxsize=64)
def _quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


@functools.lru_cache(maxsize=64)
def _rounding_context(digits: int) -> Context:
    return Context(prec=digits, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT)


#: quantize is exact at any precision that holds its result (it raises otherwise): one context for all
_ROUNDING = Context(prec=MAX_PREC, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT)


def _half_up(value: Decimal, decimals: int) -> Decimal:
    """The one rounding rule: half-up (away from zero on a tie), ``-0`` made ``0``."""
    return _rounded(value, _quantum(decimals))


def _rounded(value: Decimal, quantum: Decimal) -> Decimal:
    result = value.quantize(quantum, rounding=ROUND_HALF_UP, context=_ROUNDING)
    return abs(result) if result.is_zero() else result  # no "-0.000"


def half_up(decimals: int) -> Callable[[Decimal], Decimal]:
    """:func:`round_half_up` of plain Decimals to ``decimals`` places, as one function (the exam's judge
    rounds every value of thousands of draws)."""
    return functools.partial(_rounded, quantum=_quantum(decimals))


def round_half_up(value: Number, decimals: int) -> Decimal:
    """Round half-up (away from zero on a tie) to ``decimals`` places; ``-0`` becomes ``0``."""
    if type(value) is Decimal:  # noqa: E721 - the fast path of plain Decimals
        return _half_up(value, decimals)
    return Decimal(display(value, decimals))


def display_decision(value: Number, decimals: int) -> Decision:
    """`display`'s text, and whether the enclosure decided it (a rational's always: see :func:`_rational_display`);
    found once for each value and decimals."""
    if type(value) is not Certified:
        return _display_decision(value, decimals)
    shown = value.shown
    if shown is None:
        shown = value.shown = {}
    found = shown.get(decimals)
    if found is None:
        found = shown[decimals] = _display_decision(value, decimals)
    return found


def _display_decision(value: Number, decimals: int) -> Decision:
    if type(value) is Certified:
        exact = value.exact
        if exact is not None and decimals <= WORK_DIGITS:
            text = _rational_display(exact.numerator, exact.denominator, decimals)
            if text is not None:
                return Decision(text, True)
        elif value.ball is not None and decimals <= WORK_DIGITS:
            text = _ball_display(value.ball, decimals)
            if text is not None:
                return Decision(text, True)
    return decision(value, lambda v: f"{_half_up(v, decimals):f}", decimals)


def _rational_display(p: int, q: int, decimals: int) -> str | None:
    """``p/q`` (q > 0) half-up to ``decimals`` places in whole numbers, as :func:`decision` renders it from the
    rational's enclosure (exact, or tight enough that no rounding boundary lies inside when ``decimals`` is at
    most ``WORK_DIGITS``): the same text without building 160-digit bounds.  None for a value too long for
    Python's int -> str."""
    units = (2 * abs(p) * 10**decimals + q) // (2 * q)  # |p/q| * 10^decimals, half-up
    if units.bit_length() > 10_000:
        return None
    return _units_text(units, decimals, negative=p < 0)


def _units_text(units: int, decimals: int, negative: bool) -> str:
    """``units / 10^decimals`` as plain digits, ``-`` when ``negative`` and not 0."""
    digits = str(units)
    if decimals:
        digits = digits.rjust(decimals + 1, "0")
        digits = f"{digits[:-decimals]}.{digits[-decimals:]}"
    return "-" + digits if negative and units else digits


@contextmanager
def ball_bits(bits: int) -> Iterator[None]:
    """Balls computed inside carry ``bits`` bits of midpoint precision."""
    saved, flint.ctx.prec = flint.ctx.prec, bits
    try:
        yield
    finally:
        flint.ctx.prec = saved


_HALF = arb(0.5)


def _ball_display(ball: arb, decimals: int) -> str | None:
    """The display of every point of ``ball`` (half-up to ``decimals`` places, as :func:`decision` renders it from
    the ball's bounds when they agree) in ball arithmetic, without building Decimal bounds; None when the ball
    does not decide it (it holds 0, or a rounding boundary), for :func:`decision` to tighten."""
    negative = ball < 0
    if not negative and not ball > 0:  # holds 0 (or is not finite)
        return None
    with ball_bits(ball.mid().bits() + 64 + 4 * decimals):  # the scaling adds far less than the ball's radius
        units = (abs(ball) * 10**decimals + _HALF).floor().unique_fmpz()
    if units is None or units.bit_length() > 10_000:  # (Python's int -> str stops at 4300 digits)
        return None
    return _units_text(int(units), decimals, negative)


def display(value: Number, decimals: int) -> str:
    """The text a student sees: half-up to ``decimals`` places, ``0.000`` never ``-0.000``."""
    return display_decision(value, decimals).text


@functools.lru_cache(maxsize=64)
def _significant_context(digits: int) -> Context:
    return Context(prec=digits, rounding=ROUND_HALF_UP, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT)


def _significant_digits(value: Decimal, digits: int) -> Decimal:
    """``value`` half-up to ``digits`` significant digits (the context made once: every export value comes here)."""
    return _significant_context(digits).plus(value)


def _full(value: Decimal, digits: int) -> str:
    if value.is_zero():
        return "0"
    rounded = _significant_digits(value, digits)
    if rounded.adjusted() >= digits or rounded.adjusted() <= -30:
        return f"{rounded:.{digits - 1}e}"
    return f"{rounded:.{max(0, digits - 1 - rounded.adjusted())}f}"


def full_decision(value: Number, digits: int = FULL_DIGITS) -> Decision:
    """`full_text`'s text, and whether the enclosure decided all of its digits (export's ``certified``)."""
    return decision(value, lambda v: _full(v, digits), digits)


def full_text(value: Number, digits: int = FULL_DIGITS) -> str:
    """``digits`` significant digits (export's ``value``), half-up; plain notation where reasonable.

    Exact values keep their trailing zeros: ``0.3775`` prints as ``0.3775000...0`` with ``digits``
    significant digits, so every value carries the same stated precision.  An exact 0 prints as
    ``0``; a ball around 0 whose sign is never decided as ``0.000...0`` with ``digits`` places,
    which claims |v| < 0.5e-``digits`` and no more (see `decision`).
    """
    return full_decision(value, digits).text


def _significant(value: Decimal, digits: int) -> str:
    if value.is_zero():
        return "0"
    rounded = _significant_digits(value, digits)
    if rounded.is_zero():
        return "0"
    return f"{rounded:f}" if rounded.adjusted() >= -4 else f"{rounded:.{digits - 1}e}"


def significant(value: Number, digits: int) -> str:
    """``digits`` significant digits, half-up; scientific notation below 1e-3.

    Used where the fixed decimals of the display would hide an operand
    (``0.000453`` rather than ``0.000``).  A ball around 0 whose sign is never decided prints
    as ``0.000...0`` with ``digits`` places (|v| < 0.5e-``digits``), never as an exact ``0``.
    """
    return decide(value, lambda v: _significant(v, digits), digits)


__all__ = ["Certified", "Decision", "FULL_DIGITS", "WORK_DIGITS", "decide", "decision",
           "display", "display_decision", "dyadic_decimal", "enclosure", "full_decision", "full_text",
           "half_up", "parse_decimal_text", "rational", "round_half_up", "significant", "to_decimal", "work_context"]
