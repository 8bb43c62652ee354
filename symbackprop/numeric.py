"""Exact evaluation of every quantity, finite differences, and SGD steps.

Each definition is compiled once into a small closure over a slot array of
``Decimal`` values and run in topological order (the order quantities were
added).  Spec values enter as exact decimals; sums and products of them stay
exact (the ``Inexact`` flag of the decimal context tells us when they do not),
transcendental values carry ``WORK_DIGITS`` significant digits.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal, Inexact, localcontext

import sympy
from sympy import Expr, Symbol

from . import activations as act
from .derive import Derivation, Proof
from .errors import DerivationMismatch
from .network import Network
from .numbers import WORK_DIGITS, to_decimal, work_context

Slots = list[Decimal]
Program = Callable[[Slots], Decimal]

#: precision and step of the finite-difference check
FD_DIGITS = 100
FD_STEP = Decimal("1e-30")
#: the agreement the proof requires (significant digits)
FD_REQUIRED_DIGITS = 40

FORWARD_KINDS = ("pre", "act", "loss")


@dataclass
class Evaluation:
    """Every quantity's value, by ASCII name."""

    network: Network
    values: dict[str, Decimal]
    exact: dict[str, bool]
    #: loss after each SGD step: [E, E', E'', ...] (len = steps + 1)
    loss_history: list[Decimal] = field(default_factory=list)

    def __getitem__(self, name: str) -> Decimal:
        return self.values[name]


# -- compiling SymPy expressions into closures ----------------------------------

def _one(x: Decimal) -> Decimal:
    return Decimal(1) if x > 0 else Decimal(0)


def _sigmoid(x: Decimal) -> Decimal:
    if x.is_zero():
        return Decimal("0.5")
    return 1 / (1 + (-x).exp())


def _tanh(x: Decimal) -> Decimal:
    if x.is_zero():
        return Decimal(0)
    e2 = (2 * x).exp()
    return (e2 - 1) / (e2 + 1)


def _softplus(x: Decimal) -> Decimal:
    return (1 + x.exp()).ln()


UNARY: dict[type, Callable[[Decimal], Decimal]] = {
    act.sigma: _sigmoid,
    sympy.tanh: _tanh,
    act.relu: lambda x: x if x > 0 else Decimal(0),
    act.step: _one,
    act.softplus: _softplus,
    sympy.exp: lambda x: x.exp(),
    act.expo: lambda x: x.exp(),
    sympy.log: lambda x: x.ln(),
}


class Compiler:
    """Turns SymPy expressions over named symbols into closures over slots."""

    def __init__(self, slot_of: dict[Symbol, int]):
        self.slot_of = slot_of

    def __call__(self, expr: Expr) -> Program:
        if isinstance(expr, Symbol):
            i = self.slot_of[expr]
            return lambda v: v[i]
        if expr.is_Rational:
            constant = to_decimal(sympy.Rational(expr))
            return lambda v: constant
        if isinstance(expr, sympy.Add):
            return self._add(expr)
        if isinstance(expr, sympy.Mul):
            parts = [self(a) for a in expr.args]
            if len(parts) == 2:
                p, q = parts
                return lambda v: p(v) * q(v)
            return lambda v: math.prod((part(v) for part in parts), start=Decimal(1))
        if isinstance(expr, sympy.Pow):
            base = self(expr.base)
            n = expr.exp
            if n.is_Integer:
                k = int(n)
                return (lambda v: base(v) ** k) if k > 0 else (lambda v: 1 / base(v) ** (-k))
            if n == sympy.Rational(1, 2):
                return lambda v: base(v).sqrt()
            exponent = self(n)
            return lambda v: (exponent(v) * base(v).ln()).exp()
        if type(expr) in UNARY:
            fn, arg = UNARY[type(expr)], self(expr.args[0])
            return lambda v: fn(arg(v))
        if isinstance(expr, act.leaky_relu | act.leaky_step):
            arg, slope = self(expr.args[0]), to_decimal(sympy.Rational(expr.args[1]))
            if isinstance(expr, act.leaky_relu):
                return lambda v: arg(v) if arg(v) > 0 else slope * arg(v)
            return lambda v: Decimal(1) if arg(v) > 0 else slope
        raise TypeError(f"cannot evaluate {type(expr).__name__}: {expr}")

    def _add(self, expr: Expr) -> Program:
        # z = sum w*a + b is the hot path: gather products through C-level map()
        products = [a for a in expr.args if isinstance(a, sympy.Mul) and len(a.args) == 2
                    and all(isinstance(f, Symbol) for f in a.args)]
        rest = [self(a) for a in expr.args if a not in products]
        if len(products) >= 4:
            left = operator.itemgetter(*[self.slot_of[m.args[0]] for m in products])
            right = operator.itemgetter(*[self.slot_of[m.args[1]] for m in products])
            def dot(v: Slots) -> Decimal:
                offset = sum((r(v) for r in rest), start=Decimal(0))
                return sum(map(operator.mul, left(v), right(v)), start=offset)

            return dot
        parts = rest + [self(m) for m in products]
        return lambda v: sum((part(v) for part in parts), start=Decimal(0))


@dataclass(frozen=True)
class Step:
    slot: int
    name: str
    program: Program
    depends: frozenset[int]


def compile_network(network: Network, kinds: Sequence[str] | None = None) -> tuple[dict[str, int], list[Step]]:
    slot_of = {q.symbol: i for i, q in enumerate(network.quantities.values())}
    compiler = Compiler(slot_of)
    steps = []
    for q in network.quantities.values():
        if q.definition is None or (kinds is not None and q.kind not in kinds):
            continue
        depends = frozenset(slot_of[s] for s in q.definition.free_symbols)
        steps.append(Step(slot_of[q.symbol], q.name, compiler(q.definition), depends))
    return {q.name: i for q, i in zip(network.quantities.values(), range(len(slot_of)), strict=True)}, steps


def leaf_values(network: Network) -> dict[str, sympy.Rational]:
    """The spec's exact values of every leaf quantity, by name."""
    spec = network.spec
    values: dict[str, sympy.Rational] = {"eta": spec.learning_rate}
    values.update(spec.parameters)
    for e, example in enumerate(spec.examples, start=1):
        for k, x in enumerate(example.inputs, start=1):
            values[network.unit_name("act", 0, k, e)] = x
        for j, t in enumerate(example.targets, start=1):
            values[network.namer.for_example(network.namer.target(j), e, network.n_examples).ascii] = t
    return values


def evaluate(derivation: Derivation) -> Evaluation:
    """Every quantity's value; also completes the local+fd proofs and the k-step loss history."""
    network = derivation.network
    index, steps = compile_network(network)
    slots: Slots = [Decimal(0)] * len(index)
    exact = {}
    context = work_context()
    with localcontext(context) as ctx:
        for name, value in leaf_values(network).items():
            ctx.clear_flags()
            slots[index[name]] = to_decimal(value)
            exact[name] = not ctx.flags[Inexact]
        names = list(index)
        for step in steps:
            ctx.clear_flags()
            slots[step.slot] = step.program(slots)
            exact[step.name] = not ctx.flags[Inexact] and all(exact[names[d]] for d in step.depends)
    values = {name: slots[i] for name, i in index.items()}
    evaluation = Evaluation(network, values, exact)
    evaluation.loss_history = loss_history(network, values)
    if any(p.method == "local+fd" for p in derivation.proofs.values()):
        derivation.proofs = check_finite_differences(derivation, evaluation)
    return evaluation


def loss_history(network: Network, values: dict[str, Decimal]) -> list[Decimal]:
    """[E, E after step 1, ..., E after step k]: repeated full-batch SGD steps."""
    spec = network.spec
    history = [values[network.loss_name], values[network.loss_name + "'"]]
    if spec.steps <= 1:
        return history
    # later steps reuse the compiled forward + backward program on updated parameters
    index, steps = compile_network(network, ("pre", "act", "loss", "d_act", "d_pre", "grad"))
    forward = [step for step in steps if network[step.name].kind in FORWARD_KINDS]
    slots: Slots = [Decimal(0)] * len(index)
    for name, i in index.items():
        slots[i] = values[name]
    for p in network.parameters:  # start from the parameters after the first step
        slots[index[p.name]] = values[p.name + "'"]
    eta = values["eta"]
    with localcontext(work_context()):
        for _ in range(spec.steps - 1):
            for step in steps:  # forward and backward at the current parameters
                slots[step.slot] = step.program(slots)
            for p in network.parameters:  # all gradients first, then every update at once
                if not p.frozen:
                    slots[index[p.name]] -= eta * slots[index[network.namer.grad_ascii(p.name)]]
            for step in forward:  # the loss at the new parameters
                slots[step.slot] = step.program(slots)
            history.append(slots[index[network.loss_name]])
    return history


# -- finite differences ---------------------------------------------------------

def check_finite_differences(derivation: Derivation, evaluation: Evaluation) -> dict[str, Proof]:
    """Central differences of the loss in each parameter, at FD_DIGITS, against the chain rule.

    Only the forward steps downstream of the perturbed parameter are recomputed.
    """
    network = derivation.network
    index, steps = compile_network(network, FORWARD_KINDS)
    loss_slot = index[network.loss_name]
    base: Slots = [Decimal(0)] * len(index)
    for name, i in index.items():
        base[i] = evaluation.values[name]
    proofs = dict(derivation.proofs)
    # relu/leaky_relu units sitting exactly on their kink (z = 0): the loss is not differentiable
    # there, so no finite difference through them can agree; the chain rule uses relu'(0) = 0
    kinks = {index[q.name] for q in network.of_kind("act")
             if q.layer and network.layers[q.layer - 1].activation_name in ("relu", "leaky_relu")
             and base[index[network.unit_name("pre", q.layer, q.unit or 0, q.example or 1)]].is_zero()}
    with localcontext(Context(prec=FD_DIGITS, Emax=999_999, Emin=-999_999)):
        for p in network.parameters:
            slot = index[p.name]
            affected = {slot}
            downstream = []
            for step in steps:
                if step.depends & affected:
                    affected.add(step.slot)
                    downstream.append(step)
            if kinks & affected:
                proofs[p.name] = replace(
                    proofs[p.name], proven=True, digits=None,
                    detail="local rules proven symbolically; a relu unit on its path sits at z = 0, where "
                           "the loss is not differentiable (convention relu'(0) = 0), so no finite difference")
                continue
            sides = []
            for sign in (1, -1):
                v = list(base)
                v[slot] = base[slot] + sign * FD_STEP
                for step in downstream:
                    v[step.slot] = step.program(v)
                sides.append(v[loss_slot])
            fd = (sides[0] - sides[1]) / (2 * FD_STEP)
            chain = evaluation.values[network.namer.grad_ascii(p.name)]
            error = abs(fd - chain)
            scale = max(abs(chain), Decimal("1e-10"))
            digits = 60 if error.is_zero() else max(0, int(-(error / scale).log10()))
            proven = digits >= FD_REQUIRED_DIGITS
            if not proven:
                raise DerivationMismatch(
                    f"{network.namer.grad_ascii(p.name)}: chain rule {chain:.12e} and finite "
                    f"differences {fd:.12e} agree to only {digits} digits")
            proofs[p.name] = replace(
                proofs[p.name], proven=True, digits=min(digits, 60),
                detail=f"local rules proven symbolically; central difference (h = 1e-30, "
                       f"{FD_DIGITS} digits) agrees to {min(digits, 60)} significant digits")
    return proofs


__all__ = ["Evaluation", "evaluate", "WORK_DIGITS", "check_finite_differences", "leaf_values"]
