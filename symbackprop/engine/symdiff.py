"""Differentiate a composed SymPy loss with SymEngine: the symbolic proofs' derivative, fast.

``sympy.diff`` of a deep composed loss re-walks its result at every level of the tree (seconds
a parameter on a softmax network); SymEngine applies the same sum, product, power and chain rules
in C++.  Each activation (``sigma``, ``relu``, ...) and ``Max`` enters SymEngine as an undefined
function, so SymEngine's chain rule leaves ``Derivative(sigma(u), u)`` standing for its slope, and
that is then replaced by the function's own SymPy ``fdiff``: the rule ``sympy.diff`` itself applies.  Everything else
(``exp``, ``log``, ``tanh``, powers, rationals) is SymEngine's own.

A tree this module does not know (a float, a function it has no translation for) gives ``None``,
and the caller proves with ``sympy.diff`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import sympy
from sympy import Expr

from . import activations as act
from .rational import is_zero_rational

if TYPE_CHECKING:
    import symengine as se
else:
    se = None  # SymEngine: imported by the first Composed (see _load_symengine)


def _load_symengine() -> None:
    """Import SymEngine when the first proof needs it: the commands that prove nothing (verify, mark, new, the
    practice server's marking) start without it.  SymEngine's wrapper loads NumPy where it can, for its array
    conversions, which the proofs never use: four fifths of its import time (0.2 s), so it is imported with NumPy
    out of reach (unless something loaded NumPy before), and NumPy stays importable afterwards.
    Threads may race here harmlessly: the import is locked, and each assigns the same module."""
    global se
    if se is None:
        hidden = "numpy" not in sys.modules
        if hidden:
            sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy: ImportError, as if absent
        try:
            import symengine
        finally:
            if hidden and sys.modules.get("numpy", 0) is None:
                del sys.modules["numpy"]
        se = symengine


#: SymPy's own functions, by the names of their SymEngine equivalents.
_NATIVE = {sympy.exp: "exp", sympy.log: "log", sympy.tanh: "tanh"}
#: The activations' SymPy classes (and max): SymEngine sees each as an undefined function of its name.
_OURS: dict[str, type[sympy.Function]] = {
    cls.__name__: cls for cls in (act.sigma, act.step, act.relu, act.leaky_step, act.leaky_relu, act.softplus,
                                  act.expo, sympy.Max)}


class Untranslatable(Exception):
    """A tree with a part SymEngine is not given here (the caller falls back to ``sympy.diff``)."""


class Composed:
    """One SymPy expression in SymEngine, differentiated by any of its symbols; shared subtrees are
    translated once (the memo), as are the slopes of the activations."""

    def __init__(self, expr: Expr) -> None:
        _load_symengine()
        self.memo: dict[Expr, se.Basic] = {}
        self.slopes: dict[tuple[type, int, int], tuple[se.Basic, list[se.Basic]]] = {}
        self.expr = self.of(expr)

    def of(self, expr: Expr) -> se.Basic:
        """``expr`` in SymEngine (raises `Untranslatable`)."""
        done = self.memo.get(expr)
        if done is None:
            done = self.memo[expr] = self._translate(expr)
        return done

    def _translate(self, expr: Expr) -> se.Basic:
        if expr.is_Symbol:
            return se.Symbol(expr.name)
        if expr.is_Rational:
            return se.Rational(int(expr.p), int(expr.q))
        if expr.is_Add:
            return se.Add(*[self.of(a) for a in expr.args])
        if expr.is_Mul:
            return se.Mul(*[self.of(a) for a in expr.args])
        if expr.is_Pow:
            return se.Pow(self.of(expr.base), self.of(expr.exp))
        if expr.func in _NATIVE:
            return getattr(se, _NATIVE[expr.func])(*[self.of(a) for a in expr.args])
        name = getattr(expr.func, "__name__", "")
        if _OURS.get(name) is expr.func:
            return se.Function(name)(*[self.of(a) for a in expr.args])
        raise Untranslatable(type(expr).__name__)

    def diff(self, symbol: sympy.Symbol) -> se.Basic:
        """d expr / d symbol, every activation's slope written out by its ``fdiff``."""
        derivative = self.expr.diff(se.Symbol(symbol.name))
        slopes: dict[se.Basic, se.Basic] = {}
        for node in derivative.atoms(se.Subs):  # Subs(Derivative(f(xi), xi), xi, u): f' at u
            if len(node.args) != 3:  # one variable, one point
                raise Untranslatable(str(node))
            slopes[node] = self._slope(node.args[0], node.args[2])
        inside = {node.args[0] for node in slopes}
        for node in derivative.atoms(se.Derivative) - inside:  # Derivative(f(x), x): f' at a bare symbol
            slopes[node] = self._slope(node, node.args[1])
        return derivative.xreplace(slopes) if slopes else derivative

    def _slope(self, derivative: se.Basic, point: se.Basic) -> se.Basic:
        """``Derivative(f(..., v, ...), v)`` at ``v = point``: SymPy's partial derivative of ``f`` in v's
        place at those arguments; a kink's ``Heaviside`` as ``step`` (step(0) = 0, the lecture's convention)."""
        applied, variables = derivative.args[0], derivative.args[1:]
        ours = _OURS.get(str(applied.get_name())) if isinstance(applied, se.FunctionSymbol) else None
        if ours is None or len(variables) != 1 or list(applied.args).count(variables[0]) != 1:
            raise Untranslatable(str(derivative))
        place = list(applied.args).index(variables[0])
        key = (ours, len(applied.args), place)
        if key not in self.slopes:
            placeholders = [sympy.Symbol(f"_arg{i}") for i in range(len(applied.args))]
            partial = ours(*placeholders).fdiff(place + 1).replace(sympy.Heaviside, lambda z, *_: act.step(z))
            self.slopes[key] = (self.of(partial), [self.of(p) for p in placeholders])
        slope, placeholders = self.slopes[key]
        at = [point if i == place else a for i, a in enumerate(applied.args)]
        return _flat_arguments(slope.subs(dict(zip(placeholders, at, strict=True))))

    def agrees(self, symbol: sympy.Symbol, formula: Expr, names: Mapping[Expr, Expr] | None = None) -> bool:
        """d expr / d symbol minus ``formula`` is 0 as a rational function of its atoms, after ``names``
        (function applications -> symbols) are put in.  False: not decided here (the caller goes on to
        ``sympy.diff`` and SymPy's slower tests, which also tell a real mismatch)."""
        try:
            difference = self.diff(symbol) - self.of(formula)
            if names:
                difference = difference.xreplace({self.of(k): self.of(v) for k, v in names.items()})
        except (Untranslatable, RecursionError):  # RecursionError: deeper than Python's stack: SymPy's turn
            return False
        return bool(is_zero_rational(difference))


def _flat_arguments(expr: se.Basic) -> se.Basic:
    """``expr`` with the arguments of its outer function applications written as SymPy writes them.

    SymEngine keeps ``-(a + b)`` where SymPy distributes it (``-a - b``); a slope put together here
    (max's ``step(u - v)`` at ``v = a + b``) must name the same application as the SymPy formula it is
    compared with, so a number times a sum is distributed in its arguments (only the outer ones: the
    inner ones are the composed expression's own, translated from SymPy)."""
    if isinstance(expr, se.FunctionSymbol):
        return expr.func(*[_distributed(a) for a in expr.args])
    if not expr.args:
        return expr
    return expr.func(*[_flat_arguments(a) for a in expr.args])


def _distributed(expr: se.Basic) -> se.Basic:
    """A sum with each ``number * sum`` term multiplied out (SymPy's rule for a number times a sum)."""
    if expr.is_Mul and len(expr.args) == 2 and expr.args[0].is_Number and expr.args[1].is_Add:
        return se.Add(*[_distributed(expr.args[0] * a) for a in expr.args[1].args])
    if expr.is_Add:
        return se.Add(*[_distributed(a) for a in expr.args])
    return expr


def composed(expr: Expr) -> Composed | None:
    """``expr`` ready to differentiate in SymEngine, or None where a part has no translation here."""
    try:
        return Composed(expr)
    except (Untranslatable, RecursionError):
        return None


__all__ = ["Composed", "Untranslatable", "composed"]
