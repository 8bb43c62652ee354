"""The work a variant asks of a student, and the band of work every variant of a set must keep."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..engine.numbers import half_up

__all__ = ["Band", "significant_digits", "work"]


def significant_digits(text: str) -> int:
    """The digits a student works with in a displayed value: ``0.050`` -> 1, ``-1.250`` -> 3."""
    return len(text.lstrip("-").replace(".", "").strip("0"))


@dataclass(frozen=True)
class Band:
    """The work every variant of a set must have: ``low <= work <= high`` around the probe's median."""

    median: int
    low: int
    high: int

    def holds(self, amount: int) -> bool:
        return self.low <= amount <= self.high


def work(slots: list[Decimal], operands: list[tuple[int, list[int]]], decimals: int) -> int:
    """The work of a variant: over every asked value, the significant digits of each displayed
    operand it is computed from, leaving out operands of 0 and of 1 or -1 (nothing to multiply or
    add).  A dead unit, a zero input or a tiny gradient lowers it; long operands raise it."""
    shown: dict[int, int] = {}
    total = 0
    rounded = half_up(decimals)
    for _, depends in operands:
        for slot in depends:
            digits = shown.get(slot)
            if digits is None:
                value = rounded(slots[slot])
                digits = shown[slot] = 0 if value.is_zero() or abs(value) == 1 else significant_digits(f"{value:f}")
            total += digits
    return total
