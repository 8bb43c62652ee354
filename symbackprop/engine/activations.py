"""Activation functions and losses as SymPy objects, each with its derivative.

Every activation is a SymPy ``Function`` whose ``fdiff`` returns the derivative
the way a lecture writes it (``sigma(z)*(1 - sigma(z))``), so that
``sympy.diff`` of a network built from them prints like the chain rule.  Each
activation also knows its derivative in terms of its own output ``a`` where a
lecture uses that form (``a*(1 - a)`` for the sigmoid, ``1 - a**2`` for tanh).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from sympy import Expr, Function, Rational, exp, log, tanh

from .written import written_product, written_sum


class sigma(Function):  # noqa: N801  (SymPy convention: functions are lower-case classes)
    """The logistic sigmoid 1/(1 + e^-z)."""

    def fdiff(self, argindex: int = 1) -> Expr:
        return sigma(self.args[0]) * (1 - sigma(self.args[0]))

    @classmethod
    def eval(cls, z: Expr) -> Expr | None:
        if z.is_zero:
            return Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return 1 / (1 + exp(-z))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real


class step(Function):  # noqa: N801
    """The Heaviside step with step(0) = 0: relu's derivative (the usual convention)."""

    def fdiff(self, argindex: int = 1) -> Expr:
        return sympy.S.Zero

    @classmethod
    def eval(cls, z: Expr) -> Expr | None:
        if z.is_number and z.is_real:
            return sympy.S.One if z > 0 else sympy.S.Zero
        return None


class relu(Function):  # noqa: N801
    """max(0, z)."""

    def fdiff(self, argindex: int = 1) -> Expr:
        return step(self.args[0])

    @classmethod
    def eval(cls, z: Expr) -> Expr | None:
        if z.is_number and z.is_real:
            return z if z > 0 else sympy.S.Zero
        return None


class leaky_step(Function):  # noqa: N801
    """leaky_relu's derivative: 1 for z > 0, the slope otherwise."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> Expr:
        return sympy.S.Zero

    @classmethod
    def eval(cls, z: Expr, slope: Expr) -> Expr | None:
        if z.is_number and z.is_real:
            return sympy.S.One if z > 0 else slope
        return None


class leaky_relu(Function):  # noqa: N801
    """z for z > 0, slope*z otherwise."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> Expr:
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        return leaky_step(*self.args)

    @classmethod
    def eval(cls, z: Expr, slope: Expr) -> Expr | None:
        if z.is_number and z.is_real:
            return z if z > 0 else slope * z
        return None


class softplus(Function):  # noqa: N801
    """ln(1 + e^z), whose derivative is the sigmoid."""

    def fdiff(self, argindex: int = 1) -> Expr:
        return sigma(self.args[0])

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return log(1 + exp(z))


class expo(Function):  # noqa: N801
    """e^z for softmax.  Same derivative as exp, but SymPy does not merge
    ``expo(a)*expo(b)`` into ``expo(a + b)``, so each ``e^{z_k}`` stays one
    recognisable factor (the symbolic proof names it again)."""

    def fdiff(self, argindex: int = 1) -> Expr:
        return self

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return exp(z)


@dataclass(frozen=True)
class Activation:
    """One elementwise activation (softmax is handled by the network: it is not elementwise)."""

    name: str
    #: f(z) as a SymPy expression builder
    apply: Callable[[Expr], Expr]
    #: f'(z) written with the unit's own symbols: (a, z) -> expression; the lecture's form
    local_slope: Callable[[Expr, Expr], Expr]
    #: LaTeX of the definition and of the derivative in the quick reference
    definition_latex: str
    output_range: str  # "(0, 1)", "(-1, 1)", "[0, inf)", "R", ...


def decimal_latex(value: Expr) -> str:
    """A spec number as the spec wrote it (``0.01``, not ``\\frac{1}{100}``) when it is a finite decimal."""
    r = sympy.Rational(value)
    q, places = int(r.q), 0
    for prime in (2, 5):
        count = 0
        while q % prime == 0:
            q, count = q // prime, count + 1
        places = max(places, count)
    if q != 1:  # 1/3: no finite decimal
        return str(sympy.latex(r))
    digits = str(abs(int(r.p)) * 10 ** places // int(r.q)).rjust(places + 1, "0")
    text = digits if not places else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if r < 0 else "") + text


def _leaky(slope: Rational) -> Activation:
    return Activation(
        name="leaky_relu",
        apply=lambda z: leaky_relu(z, slope),
        local_slope=lambda a, z: leaky_step(z, slope),
        definition_latex=rf"\mathrm{{lrelu}}(z) = \max({decimal_latex(slope)} z, z)",
        output_range="R",
    )


ELEMENTWISE: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid", sigma, lambda a, z: a * (1 - a), r"\sigma(z) = \frac{1}{1 + e^{-z}}", "(0, 1)"
    ),
    "tanh": Activation(
        "tanh", tanh, lambda a, z: 1 - a**2,
        r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}", "(-1, 1)"
    ),
    "relu": Activation("relu", relu, lambda a, z: step(z), r"\mathrm{relu}(z) = \max(0, z)", "[0, inf)"),
    "softplus": Activation(
        "softplus", softplus, lambda a, z: sigma(z), r"\mathrm{softplus}(z) = \ln(1 + e^{z})", "(0, inf)"
    ),
    "identity": Activation("identity", lambda z: z, lambda a, z: sympy.S.One, r"f(z) = z", "R"),
}

#: the activations a derivative writes with their own symbol, (ASCII, LaTeX): sigma'(z), tanh'(z)
_OWN_SYMBOLS = {"sigmoid": ("sigma", r"\sigma"), "tanh": ("tanh", r"\tanh")}


def function_symbol(name: str) -> tuple[str, str]:
    """How activation ``name`` is written in ``f'(z)`` or ``f'(a)``, (ASCII, LaTeX): its own symbol, or f."""
    return _OWN_SYMBOLS.get(name, ("f", "f"))


ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "softmax")
LOSS_NAMES = ("half_sse", "mse", "bce", "cross_entropy")


def activation(name: str, slope: Rational | None = None) -> Activation:
    """The elementwise activation called ``name`` (``leaky_relu`` needs its slope)."""
    if name == "leaky_relu":
        return _leaky(slope if slope is not None else Rational(1, 100))
    return ELEMENTWISE[name]


def softmax(zs: Sequence[Expr]) -> list[Expr]:
    """softmax(z)_j = e^{z_j} / sum_k e^{z_k}, written out so SymPy differentiates it."""
    denominator = sympy.Add(*[expo(z) for z in zs])
    return [expo(z) / denominator for z in zs]


def loss_expression(name: str, outputs: Sequence[Expr], targets: Sequence[Expr]) -> Expr:
    """One example's loss over all output units."""
    pairs = list(zip(outputs, targets, strict=True))

    def total(terms: list[Expr]) -> Expr:
        return terms[0] if len(terms) == 1 else written_sum(*terms)

    # unevaluated products keep the lecture's form: 1/2 (yhat - t)^2, -(t ln yhat + ...)
    if name == "half_sse":
        return written_product(Rational(1, 2), total([(y - t) ** 2 for y, t in pairs]))
    if name == "mse":
        return written_product(Rational(1, len(pairs)), total([(y - t) ** 2 for y, t in pairs]))
    if name == "bce":
        terms = [written_sum(t * log(y), (1 - t) * log(1 - y)) for y, t in pairs]
        return written_product(-1, total(terms))
    if name == "cross_entropy":
        return written_product(-1, total([t * log(y) for y, t in pairs]))
    raise ValueError(f"unknown loss {name!r}")


#: The functions a user may write in a formula, by the names they type.
FORMULA_FUNCTIONS: dict[str, Callable[..., Expr]] = {
    "sigma": sigma,
    "sigmoid": sigma,
    "tanh": tanh,
    "relu": relu,
    "softplus": softplus,
    "step": step,
    "exp": exp,
    "log": log,
    "ln": log,
    "sqrt": sympy.sqrt,
}
