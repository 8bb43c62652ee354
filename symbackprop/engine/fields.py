"""Typed getters for the fields of a spec's TOML tables, each refusal one line naming the field.

The spec (:mod:`.spec`) and its ``[exam]`` table (:mod:`.examtable`) read their fields through one
:class:`Fields`, so a number, a whole number, a string, a flag or a list of strings is checked, and
its error worded, the same way everywhere; only the error class and the field prefix differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sympy

from ..errors import SpecError, SymbackpropError
from ..hints import clip, expected, quoted, show
from ..io.usertext import text_problem
from .numbers import parse_decimal_text

#: every number in a spec is 0 or between MIN_MAGNITUDE and MAX_MAGNITUDE in magnitude,
#: with at most MAX_SIGNIFICANT significant digits
MAX_MAGNITUDE = 10**6
MIN_MAGNITUDE_EXPONENT = -6
MAX_SIGNIFICANT = 15


class DecimalText(str):
    """A TOML float kept as its source text (``tomllib``'s ``parse_float`` hook): never a binary float."""


def range_problem(text: str) -> str:
    """Why a number (its decimal text) is outside the accepted range, or "" (README "Limits")."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return ""  # not a number at all: the parser says so
    if not value.is_finite() or value.is_zero():
        return ""
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    if value.copy_abs() > MAX_MAGNITUDE:
        return f"{clip(text.strip(), 40)} is too large (numbers must lie between -{MAX_MAGNITUDE} and {MAX_MAGNITUDE})"
    if value.adjusted() < MIN_MAGNITUDE_EXPONENT:
        return (f"{clip(text.strip(), 40)} is too small (a nonzero number must be at least "
                f"0.{'0' * (-MIN_MAGNITUDE_EXPONENT - 1)}1 in magnitude)")
    if len(digits) > MAX_SIGNIFICANT:
        return f"{clip(text.strip(), 40)} has {len(digits)} significant digits (at most {MAX_SIGNIFICANT})"
    return ""


class Fields:
    """Reads fields of one source's tables: ``SOURCE: PREFIXfield: problem`` on any bad value."""

    def __init__(self, source: str, error: type[SymbackpropError] = SpecError, prefix: str = ""):
        self.source = source
        self.error = error
        self.prefix = prefix

    def fail(self, fieldname: str, problem: str) -> SymbackpropError:
        return self.error(f"{self.source}: {self.prefix}{fieldname}: {problem}")

    def known(self, table: dict[str, Any], known: Sequence[str], where: str = "") -> None:
        """Refuse the first key of ``table`` that is not in ``known`` (``where``: the table's dotted name)."""
        for key in table:
            if key not in known:
                raise self.fail(f"{where}.{key}" if where else key, f"unknown field{expected(key, known)}")

    def table(self, data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table")
        return value

    def number(self, value: Any, fieldname: str) -> sympy.Rational:
        """An exact number within the accepted range, from a TOML integer, float text or quoted decimal."""
        if isinstance(value, bool):
            raise self.fail(fieldname, f"{show(value)} is not a number")
        if isinstance(value, int):
            problem = range_problem(str(value))
            if problem:
                raise self.fail(fieldname, problem)
            return sympy.Rational(value)
        if isinstance(value, str):  # DecimalText or a quoted decimal
            problem = range_problem(value)
            if problem:
                raise self.fail(fieldname, problem)
            try:
                return parse_decimal_text(value)
            except ValueError:
                raise self.fail(fieldname, f"{quoted(value, 40)} is not a number") from None
        raise self.fail(fieldname, f"{show(value)} is not a number")

    def number_in(self, value: Any, fieldname: str, low: int, high: int) -> sympy.Rational:
        """A number in [low, high]."""
        try:
            number = self.number(value, fieldname)
        except self.error:
            number = None
        if number is None or not low <= number <= high:
            raise self.fail(fieldname, f"must be a number in [{low}, {high}], got {show(value)}")
        return number

    def integer(self, value: Any, fieldname: str, low: int, high: int | None) -> int:
        """A whole number in [low, high]; ``high`` None leaves the upper bound to the caller."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(fieldname, f"must be a whole number, got {show(value)}")
        if high is None and value < low:
            raise self.fail(fieldname, f"must be at least {low}, got {value}")
        if high is not None and not low <= value <= high:
            raise self.fail(fieldname, f"must be between {low} and {high}, got {value}")
        return value

    def flag(self, value: Any, fieldname: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(fieldname, f"must be true or false, got {show(value)}")
        return value

    def text(self, value: Any, fieldname: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or isinstance(value, DecimalText):
            raise self.fail(fieldname, f"must be a string, got {show(value)}")
        if choices is not None and value not in choices:
            raise self.fail(fieldname, f"unknown value {show(value)}{expected(value, choices)}")
        return value

    def free_text(self, value: Any, fieldname: str) -> str:
        """A title or author: printed on sheets and exported to XML, so short and without control characters."""
        text = self.text(value, fieldname)
        problem = text_problem(text)
        if problem:
            raise self.fail(fieldname, problem)
        return text

    def strings(self, value: Any, fieldname: str, example: str) -> list[str]:
        """A list of strings (``example`` shows one in the message)."""
        if not isinstance(value, list) or not all(isinstance(v, str) and not isinstance(v, DecimalText)
                                                  for v in value):
            raise self.fail(fieldname, f"must be a list of strings like {example}")
        return value
