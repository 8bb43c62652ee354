"""Decide that a SymPy expression is 0 as a rational function, with FLINT polynomials (fast).

The proofs in ``derive`` reduce "the chain rule equals SymPy's diff" to: a difference, in which
every activation applied to its argument has been named by a symbol, is 0 as a rational function
of independent atoms.  ``sympy.together`` and ``sympy.expand`` decide that in seconds a
parameter; the same question over FLINT's sparse rational polynomials takes milliseconds.

Every part that is not ``+``, ``*``, an integer power or a rational number (a symbol, a function
application, a constant such as ``E``) is read as an independent atom.  A numerator that is the
zero polynomial then proves the difference 0 wherever it is defined, whatever the atoms stand
for.  A nonzero numerator proves nothing (two atoms may be related, as ``exp(a + b)`` and
``exp(a)*exp(b)`` are), so callers go on to SymPy's slower tests.
"""

from __future__ import annotations

import flint
from sympy import Expr


def is_zero_rational(expr: Expr) -> bool | None:
    """True: ``expr`` is 0 as a rational function of its atoms.  False: its numerator is not the
    zero polynomial.  None: it has no exact reading here (a float, a division by 0)."""
    atoms: dict[Expr, int] = {}
    if not _collect(expr, atoms, set()):
        return None
    ctx = flint.fmpq_mpoly_ctx.get(("g", max(1, len(atoms))))
    try:
        numerator, _ = _Fractions(ctx, atoms).of(expr)
    except ZeroDivisionError:
        return None
    return bool(numerator == 0)


def _collect(expr: Expr, atoms: dict[Expr, int], seen: set[Expr]) -> bool:
    """Number the atoms of ``expr``; False when a number in it is not rational (a float)."""
    if expr in seen:
        return True
    seen.add(expr)
    if expr.is_Rational:
        return True
    if expr.is_Add or expr.is_Mul:
        return all(_collect(arg, atoms, seen) for arg in expr.args)
    if expr.is_Pow and expr.exp.is_Integer:
        return _collect(expr.base, atoms, seen)
    if expr.is_Number:
        return False
    atoms.setdefault(expr, len(atoms))
    return True


class _Fractions:
    """Each subexpression as (numerator, denominator) polynomials, each shared one converted once."""

    def __init__(self, ctx: flint.fmpq_mpoly_ctx, atoms: dict[Expr, int]) -> None:
        self.ctx, self.atoms, self.gens = ctx, atoms, ctx.gens()
        self.one = self.constant(1, 1)
        self.memo: dict[Expr, tuple[flint.fmpq_mpoly, flint.fmpq_mpoly]] = {}

    def constant(self, p: int, q: int) -> flint.fmpq_mpoly:
        return self.ctx.from_dict({(0,) * self.ctx.nvars(): flint.fmpq(p, q)})

    def of(self, expr: Expr) -> tuple[flint.fmpq_mpoly, flint.fmpq_mpoly]:
        if expr not in self.memo:
            self.memo[expr] = self._convert(expr)
        return self.memo[expr]

    def _convert(self, expr: Expr) -> tuple[flint.fmpq_mpoly, flint.fmpq_mpoly]:
        if expr.is_Rational:
            return self.constant(int(expr.p), int(expr.q)), self.one
        if expr.is_Add:
            num, den = self.of(expr.args[0])
            for arg in expr.args[1:]:
                n, d = self.of(arg)
                num, den = (num + n, den) if d == den else (num * d + n * den, den * d)
            return num, den
        if expr.is_Mul:
            num, den = self.one, self.one
            for arg in expr.args:
                n, d = self.of(arg)
                num, den = num * n, den * d
            return num, den
        if expr.is_Pow and expr.exp.is_Integer:
            num, den = self.of(expr.base)
            k = int(expr.exp)
            if k < 0:
                if num == 0:
                    raise ZeroDivisionError
                num, den, k = den, num, -k
            return num**k, den**k
        return self.gens[self.atoms[expr]], self.one
