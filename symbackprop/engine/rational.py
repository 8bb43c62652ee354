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
    """Each subexpression as a numerator polynomial over a product of powers of denominator factors (each
    factor the numerator of a base raised to a negative power, numbered once); each shared subexpression
    converted once.

    A sum is put over the least product of its terms' factors (each factor to the highest power a term has),
    not over the product of its terms' denominators: that product grows with every term, and the derivative
    of a softmax loss over three examples (hundreds of terms over powers of a few sums of exponentials) ran
    out of memory.  Every factor is a nonzero polynomial, so the expression is 0 exactly when its numerator is.
    """

    def __init__(self, ctx: flint.fmpq_mpoly_ctx, atoms: dict[Expr, int]) -> None:
        self.ctx, self.atoms, self.gens = ctx, atoms, ctx.gens()
        self.one = self.constant(1, 1)
        self.memo: dict[Expr, tuple[flint.fmpq_mpoly, dict[int, int]]] = {}
        #: the denominators' factors, and the factor of each base met with a negative power
        self.factors: list[flint.fmpq_mpoly] = []
        self.factor_of: dict[Expr, int] = {}
        self.powers: dict[tuple[int, int], flint.fmpq_mpoly] = {}

    def constant(self, p: int, q: int) -> flint.fmpq_mpoly:
        return self.ctx.from_dict({(0,) * self.ctx.nvars(): flint.fmpq(p, q)})

    def of(self, expr: Expr) -> tuple[flint.fmpq_mpoly, dict[int, int]]:
        """(numerator, {factor: power}) of ``expr``."""
        if expr not in self.memo:
            self.memo[expr] = self._convert(expr)
        return self.memo[expr]

    def _product(self, powers: dict[int, int]) -> flint.fmpq_mpoly:
        """The product of these factors' powers."""
        product = self.one
        for f, k in powers.items():
            if k:
                power = self.powers.get((f, k))
                if power is None:
                    power = self.powers[f, k] = self.factors[f] ** k
                product = product * power
        return product

    def _convert(self, expr: Expr) -> tuple[flint.fmpq_mpoly, dict[int, int]]:
        if expr.is_Rational:
            return self.constant(int(expr.p), int(expr.q)), {}
        if expr.is_Add:
            terms = [self.of(arg) for arg in expr.args]
            common: dict[int, int] = {}
            for _, den in terms:
                for f, k in den.items():
                    common[f] = max(common.get(f, 0), k)
            num = self.constant(0, 1)
            for n, den in terms:
                num = num + (n * self._product({f: k - den.get(f, 0) for f, k in common.items()}) if common else n)
            return num, common
        if expr.is_Mul:
            num, powers = self.one, dict[int, int]()
            for arg in expr.args:
                n, den = self.of(arg)
                num = num * n
                for f, k in den.items():
                    powers[f] = powers.get(f, 0) + k
            return num, powers
        if expr.is_Pow and expr.exp.is_Integer:
            num, den = self.of(expr.base)
            k = int(expr.exp)
            if k >= 0:
                return num**k, {f: j * k for f, j in den.items()}
            if num == 0:
                raise ZeroDivisionError
            factor = self.factor_of.get(expr.base)
            if factor is None:
                factor = self.factor_of[expr.base] = len(self.factors)
                self.factors.append(num)
            return self._product({g: j * -k for g, j in den.items()}), {factor: -k}
        return self.gens[self.atoms[expr]], {}
