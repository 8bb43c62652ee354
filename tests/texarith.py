"""An independent reader of the handout's arithmetic: LaTeX text in, exact Fraction out.

It shares no code with symbackprop: it tokenises the displayed LaTeX, evaluates
numbers, + - \\cdot \\times, implicit products, \\frac, powers, \\sigma, \\tanh,
\\ln, e^{..}, relu and the indicator, and checks that every ``expr = number`` in
a display rounds (half-up, at the number's last digit) to that number.  Rational arithmetic
is exact (so an exact tie such as ``-133/120 * 0.9 = -0.998`` is decided); \\sigma, \\tanh,
\\ln and e^{..} are evaluated with 60-digit Decimals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from fractions import Fraction

CTX = Context(prec=60, Emax=99999, Emin=-99999)
_TOKEN = re.compile(r"\s*(\\[A-Za-z]+|\d+\.?\d*|[-+*/^(){}\[\]>,]|.)")
_FUNCS = {r"\sigma", r"\tanh", r"\ln", r"\operatorname"}
_SKIP = {r"\left", r"\right", r"\Bigl", r"\Bigr", r"\boxed", r"\!", r"\,"}
_LITERAL = re.compile(r"^\s*(?:\\boxed\{)?\s*(-?\d+(?:\.\d+)?)(?:\s*\\times\s*10\^\{(-?\d+)\})?\s*\}?\s*$")


class NotNumeric(Exception):
    pass


def tokens(text: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text):
        tok = tok.strip()
        if not tok or tok in _SKIP:
            continue
        if tok in (r"\cdot", r"\times"):
            tok = "*"
        out.append(tok)
    return out


@dataclass
class Parser:
    toks: list[str]
    i: int = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise NotNumeric(f"expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Fraction:
        value = self.expr()
        if self.peek() is not None:
            raise NotNumeric(f"trailing {self.peek()!r}")
        return value

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def starts_factor(self, tok: str | None) -> bool:
        return tok is not None and (tok[0].isdigit() or tok in ("(", "{", r"\frac", "e", r"\mathbf") or tok in _FUNCS)

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() == "*" or self.starts_factor(self.peek()):
            if self.peek() == "*":
                self.take()
            value *= self.unary()
        return value

    def unary(self) -> Fraction:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.power()

    def power(self) -> Fraction:
        if self.peek() == "e":
            self.take()
            self.take("^")
            return _via_decimal(self.group(), Decimal.exp)
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.group()
            if exponent.denominator != 1:
                raise NotNumeric("non-integer power")
            return base ** int(exponent)
        return base

    def group(self) -> Fraction:
        if self.peek() in ("{", "("):
            return self.atom()
        tok = self.take()
        if not tok[0].isdigit():
            raise NotNumeric(tok)
        return Fraction(tok)

    def atom(self) -> Fraction:
        tok = self.take()
        if tok[0].isdigit():
            return Fraction(tok)
        if tok in ("(", "{"):
            value = self.expr()
            self.take(")" if tok == "(" else "}")
            return value
        if tok == r"\frac":
            top = self.atom()
            bottom = self.atom()
            return top / bottom
        if tok == r"\operatorname":
            self.take("{")
            name = "".join(iter(lambda: self.take(), "}"))
            if name != "relu":
                raise NotNumeric(name)
            return max(self.atom(), Fraction(0))
        if tok == r"\mathbf":
            self.take("{")
            self.take("1")
            self.take("}")
            self.take("[")
            value = self.expr()
            relation = self.take()  # > (relu's slope) or \le (leaky relu's other half)
            self.take("0")
            self.take("]")
            if relation not in (">", r"\le"):
                raise NotNumeric(relation)
            return Fraction(1) if (value > 0) == (relation == ">") else Fraction(0)
        if tok in _FUNCS:
            x = self.atom()
            if tok == r"\sigma":
                return _via_decimal(x, lambda d: 1 / (1 + (-d).exp()))
            if tok == r"\tanh":
                return _via_decimal(x, lambda d: ((2 * d).exp() - 1) / ((2 * d).exp() + 1))
            return _via_decimal(x, Decimal.ln)
        raise NotNumeric(tok)


def _via_decimal(x: Fraction, fn: Callable[[Decimal], Decimal]) -> Fraction:
    """A transcendental function at 60 significant digits, back as the exact value of that Decimal."""
    with localcontext(CTX):
        return Fraction(fn(Decimal(x.numerator) / Decimal(x.denominator)))


def value(text: str) -> Fraction:
    return Parser(tokens(text)).parse()


def literal(text: str) -> Decimal | None:
    """A displayed number (``0.378``, ``\\boxed{0.047}``, ``2.27 \\times 10^{-4}``), or None."""
    match = _LITERAL.match(text)
    if not match:
        return None
    mantissa, exponent = match.group(1), match.group(2)
    return Decimal(f"{mantissa}e{exponent}") if exponent else Decimal(mantissa)


def rounds_to(x: Fraction, shown: Decimal) -> bool:
    """Half-up (away from zero on a tie) at ``shown``'s last digit, on the exact value."""
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    scaled = abs(x) / Fraction(10) ** exponent
    rounded = int(scaled + Fraction(1, 2))  # floor(|x| 10^-e + 1/2): half-up in magnitude
    return Fraction(rounded if x >= 0 else -rounded) * Fraction(10) ** exponent == Fraction(shown)


_DISPLAY = re.compile(r"\\begin\{(align|gather|equation)\*\}(.*?)\\end\{\1\*\}", re.S)


def display_rows(tex: str) -> list[str]:
    """Every row of every display, continuation rows (``&\\quad + ...``, ``&= 0.010``) joined to theirs."""
    rows: list[str] = []
    for match in _DISPLAY.finditer(tex):
        for row in match.group(2).split("\\\\"):
            row = row.strip()
            if row.startswith(r"&\quad") and rows:
                rows[-1] += " " + row[len(r"&\quad"):]
            elif row.startswith("&=") and rows:  # a line broken before its result
                rows[-1] += " " + row[1:]
            else:
                rows.append(row)
    return rows


def checked_lines(tex: str) -> list[tuple[str, str]]:
    """All ``expression = number`` pairs of the document's displays, each verified; returns them.

    Raises AssertionError naming the first line whose arithmetic does not hold.
    """
    checked = []
    for row in display_rows(tex):
        for segment in re.split(r",\s*&|,\s*\\quad", row):
            parts = [p.replace("&", "").strip() for p in re.split(r"=|\\to", segment)]
            for left, right in zip(parts, parts[1:], strict=False):
                shown = literal(right)
                if shown is None or literal(left) is not None:
                    continue
                try:
                    x = value(left)
                except (NotNumeric, ArithmeticError):
                    continue
                assert rounds_to(x, shown), f"{left} = {x} does not round to {right}"
                checked.append((left, right))
    return checked
