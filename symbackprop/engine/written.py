"""Sums and products kept as written: SymPy's ``Add(*terms, evaluate=False)``, built directly.

SymPy's constructor with ``evaluate=False`` looks the arguments up in its cache, sympifies each and scans
them for constructor postprocessors before it calls ``_from_args``; the derivation builds tens of thousands
of such sums and products over symbols it made itself, where all of that finds nothing to do.  These build
the same expression (equal, with the same arguments in the same order) from ``_from_args`` alone.
"""

from __future__ import annotations

import sympy
from sympy import Basic, Expr

__all__ = ["written_product", "written_sum"]


def _expressions(args: tuple[object, ...]) -> tuple[Expr, ...]:
    return tuple(a if isinstance(a, Basic) else sympy.sympify(a, strict=True) for a in args)


def written_sum(*terms: object) -> Expr:
    """``sympy.Add(*terms, evaluate=False)``: no term dropped, none merged, the order kept."""
    return sympy.Add._from_args(_expressions(terms))


def written_product(*factors: object) -> Expr:
    """``sympy.Mul(*factors, evaluate=False)``: no factor dropped, none merged, the order kept."""
    return sympy.Mul._from_args(_expressions(factors))
