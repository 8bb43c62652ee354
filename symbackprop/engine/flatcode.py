"""Compile SymPy expressions into the Python source of one flat function over a slot array.

The exam's judge runs the same few dozen steps on tens of thousands of draws; the closures of
:class:`.evaluate.Compiler` cost a Python call per node of every expression.  The source written here does
the very same operations of the same domain in the same order (a sum from the domain's zero, term by term;
a product of more than two factors from its one), so every value is the closure's, bit for bit; only the
calls between them are gone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import CodeType
from typing import Any

import sympy
from sympy import Expr, Symbol

from . import activations as act
from .evaluate import Domain, _power, _square

__all__ = ["FlatCompiler"]


class FlatCompiler:
    """Python source of SymPy expressions over named symbols (``v[3] * v[7]``), the constants and functions
    of one domain bound by name; :meth:`function` compiles lines of it into one function."""

    def __init__(self, slot_of: dict[Symbol, int], domain: Domain):
        self.slot_of = slot_of
        self.domain = domain
        positive, zero, one = domain.positive, domain.zero, domain.one
        self.names: dict[str, Any] = {
            "zero": zero, "one": one, "positive": positive, "_square": _square, "_power": _power, "_d": domain,
            "_relu": lambda x: x if positive(x) else zero,
            "_leaky": lambda x, slope: x if positive(x) else slope * x,
            "_max": lambda *xs: functools.reduce(lambda a, b: a if positive(a - b) else b, xs)}
        self._bound: dict[int, str] = {}

    def _bind(self, obj: Any) -> str:
        """A name for ``obj`` in the compiled source (one per object)."""
        name = self._bound.get(id(obj))
        if name is None:
            name = self._bound[id(obj)] = f"_k{len(self._bound)}"
            self.names[name] = obj
        return name

    def source(self, expr: Expr, slots: str = "v") -> str:
        """The source of ``expr`` over the slot array named ``slots``: :class:`.evaluate.Compiler`'s operations."""
        d = self.domain
        if isinstance(expr, Symbol):
            return f"{slots}[{self.slot_of[expr]}]"
        if expr.is_Rational:
            return self._bind(d.constant(sympy.Rational(expr)))
        if isinstance(expr, sympy.Add):
            # the Compiler's order: the terms that are not products of two symbols, then those products
            products = [a for a in expr.args if isinstance(a, sympy.Mul) and len(a.args) == 2
                        and all(isinstance(f, Symbol) for f in a.args)]
            gathered = {id(m) for m in products}
            terms = [self.source(a, slots) for a in expr.args if id(a) not in gathered]
            terms += [self.source(m, slots) for m in products]
            return "(" + " + ".join(["zero", *terms]) + ")"
        if isinstance(expr, sympy.Mul):
            parts = [self.source(a, slots) for a in expr.args]
            return "(" + " * ".join(parts if len(parts) == 2 else ["one", *parts]) + ")"
        if isinstance(expr, sympy.Pow):
            base, n = self.source(expr.base, slots), expr.exp
            if n.is_Integer:
                k = int(n)
                if k == 2:
                    return f"_square({base})"
                return f"({base} ** {k})" if k > 0 else f"(1 / ({base} ** {-k}))"
            if n == sympy.Rational(1, 2):
                return f"{self._bind(d.sqrt)}({base})"
            return f"_power(_d, {base}, {self.source(n, slots)})"
        if type(expr) in d.unary:
            return f"{self._bind(d.unary[type(expr)])}({self.source(expr.args[0], slots)})"
        if isinstance(expr, act.relu):
            return f"_relu({self.source(expr.args[0], slots)})"
        if isinstance(expr, act.step):
            return f"(one if positive({self.source(expr.args[0], slots)}) else zero)"
        if isinstance(expr, act.leaky_relu | act.leaky_step):
            arg, slope = self.source(expr.args[0], slots), self._bind(d.constant(sympy.Rational(expr.args[1])))
            if isinstance(expr, act.leaky_relu):
                return f"_leaky({arg}, {slope})"
            return f"(one if positive({arg}) else {slope})"
        if isinstance(expr, sympy.Max):  # a graph's max gate
            return "_max(" + ", ".join(self.source(a, slots) for a in expr.args) + ")"
        raise TypeError(f"cannot evaluate {type(expr).__name__}: {expr}")

    def function(self, params: str, lines: list[str], extra: dict[str, Any] | None = None) -> Callable[..., Any]:
        """``def f(params): lines`` compiled, the domain's names and ``extra`` bound in it."""
        text = f"def _flat({params}):\n" + "".join(f"    {line}\n" for line in lines or ["pass"])
        names = dict(self.names) | (extra or {})
        exec(_compiled(text), names)  # noqa: S102 - our own source, from SymPy trees we built
        fn: Callable[..., Any] = names["_flat"]
        return fn


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> CodeType:
    """The code of one function's source: the same rules of many networks (a unit's slope, a drawer made
    again for another spec of one structure) are compiled once."""
    return compile(text, "<flatcode>", "exec")
