"""Read a graph node's formula (spec text) into a SymPy expression by an AST whitelist, never by eval.

The text goes through :func:`ast.parse` (which only builds a syntax tree); every node of
the tree must be one of: a number, a known name, ``+ - * / **``, unary ``+ -`` or a call of
a whitelisted function with positional arguments.  SymPy objects are built by hand; numbers
are exact Rationals from their digits; a power's exponent must be a small whole number (or
an expression of names, kept symbolic), so ``9**9**9`` is refused before any arithmetic.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

import sympy
from sympy import Expr, Symbol

from ..hints import clip, did_you_mean, quoted
from . import activations as act

MAX_FORMULA = 300  # characters of one node's formula
MAX_TREE = 120  # syntax-tree nodes of one formula
MAX_POWER = 12  # |n| of a numeric exponent
MAX_LITERAL_DIGITS = 15  # digits of one number as written


#: the functions a node may call, by the name written in the spec
FUNCTIONS: dict[str, tuple[int, Callable[..., Expr]]] = {
    "exp": (1, sympy.exp), "log": (1, sympy.log), "max": (2, sympy.Max),
    "sigmoid": (1, act.sigma), "tanh": (1, sympy.tanh), "relu": (1, act.relu), "softplus": (1, act.softplus),
}

_BINARY: dict[type, Callable[[Expr, Expr], Expr]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_NAMED: dict[type, str] = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Compare: "comparisons",
    ast.BoolOp: "and/or", ast.Lambda: "lambda", ast.IfExp: "if/else", ast.Starred: "starred arguments",
    ast.Tuple: "tuples", ast.List: "lists", ast.Dict: "dicts", ast.Set: "sets",
}


class FormulaError(ValueError):
    """A formula the whitelist refuses; the message is the problem only (the caller names the field)."""


def read_formula(text: str, names: Mapping[str, Symbol]) -> Expr:
    """The expression ``text`` writes over ``names`` (inputs, parameters, earlier nodes)."""
    if len(text) > MAX_FORMULA:
        raise FormulaError(f"formula longer than {MAX_FORMULA} characters")
    if not text.isascii() or any(c in text for c in "\n\r\t;#\\'\"`"):
        raise FormulaError(f"{quoted(clip(text, 40))}: only ASCII names, numbers, + - * / ** ( ) , are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise FormulaError(f"{quoted(clip(text, 40))} is not a formula") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_TREE:
        raise FormulaError(f"formula has more than {MAX_TREE} parts")
    return _Builder(text, names).build(tree.body)


class _Builder:
    def __init__(self, text: str, names: Mapping[str, Symbol]):
        self.text = text
        self.names = names

    def build(self, node: ast.AST) -> Expr:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise FormulaError(f"unknown name {quoted(node.id)}{did_you_mean(node.id, self.names)}")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.build(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self._power(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise FormulaError("division by 0")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _NAMED.get(type(node), ast.dump(node).split("(")[0] if not isinstance(node, ast.BinOp)
                          else f"the operator {type(node.op).__name__}")
        raise FormulaError(f"{what} not allowed (only + - * / **, numbers, names and "
                           f"{', '.join(FUNCTIONS)})")

    def _number(self, node: ast.Constant) -> Expr:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"{quoted(clip(repr(node.value), 20))} is not a number")
        written = ast.get_source_segment(self.text.strip(), node) or ""
        if sum(c.isdigit() for c in written) > MAX_LITERAL_DIGITS or "e" in written.lower() or "_" in written:
            raise FormulaError(f"number {quoted(clip(written, 20))}: write plain decimals of at most "
                               f"{MAX_LITERAL_DIGITS} digits")
        return sympy.Rational(written)

    def _power(self, node: ast.BinOp) -> Expr:
        base = self.build(node.left)
        exponent = self.build(node.right)
        if exponent.is_number:
            if not exponent.is_Integer or abs(int(exponent)) > MAX_POWER:
                raise FormulaError(f"a numeric exponent must be a whole number from -{MAX_POWER} to {MAX_POWER}")
            if base == 0 and exponent < 0:
                raise FormulaError("division by 0")
            if base.is_Rational and (int(base.p).bit_length() + int(base.q).bit_length()) * abs(int(exponent)) > 2000:
                raise FormulaError("a power whose value is too large")
        elif base.is_number:
            raise FormulaError("a number raised to a formula: write exp(...) instead")
        return sympy.Pow(base, exponent)

    def _call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise FormulaError(f"cannot call {quoted(called)}: functions are {', '.join(FUNCTIONS)}")
        arity, function = FUNCTIONS[node.func.id]
        if node.keywords or len(node.args) != arity:
            raise FormulaError(f"{node.func.id} takes {arity} argument{'s' if arity > 1 else ''}")
        args = [self.build(a) for a in node.args]
        if all(a.is_number for a in args):
            raise FormulaError(f"{node.func.id} of numbers only: write its value")
        return function(*args)


__all__ = ["FUNCTIONS", "FormulaError", "read_formula"]
