"""The backward pass on any DAG of named scalar nodes, each gradient proven and every value exact.

A node's sensitivity is the sum over its consumers of the consumer's sensitivity times the
local derivative (so a name used twice, or by two gates, sums over its uses).  Each leaf's
chain-rule formula, composed down to the leaves, is proven equal to ``sympy.diff`` of the
composed output; values are exact rationals while the arithmetic keeps them so, else
certified balls (`evaluate.certified_value`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

import flint
import sympy
from sympy import Expr, Symbol

from . import activations as act
from .derive import _is_zero
from .evaluate import BALL, DECIMAL, Compiler, Domain, EvaluationError, Step, certified_value, exact_input
from .examtable import check_vary_names
from .graphspec import GraphSpec
from .kinds import load_graph
from .numbers import display, full_text
from .printer import BackpropPrinter
from .rational import is_zero_rational
from .symdiff import Composed, composed

#: agreement (significant digits, a rigorous bound) the fallback check at the spec's point requires
REQUIRED_DIGITS = 40


class Use(NamedTuple):
    """One use of a name by a consumer gate: the gradient flows back through ``local``."""

    consumer: str
    local: Expr


@dataclass(frozen=True)
class Gradient:
    """The output's gradient with respect to one name, as the sum over that name's uses."""

    name: str  # ``df/dx``
    of: str  # ``x``
    symbol: Symbol
    uses: tuple[Use, ...]
    formula: Expr  # sum of consumer gradient x local derivative (1 for the output itself)


@dataclass(frozen=True)
class GraphProof:
    leaf: str
    method: str  # "symbolic" or "at the point"
    proven: bool
    detail: str


@dataclass(frozen=True)
class GraphSolution:
    spec: GraphSpec
    gradients: MappingProxyType[str, Gradient]  # by the name they differentiate by
    values: MappingProxyType[str, Decimal]  # every leaf, node and gradient name
    proofs: MappingProxyType[str, GraphProof]
    #: by (consumer, name): the local derivative's value, and upstream x local (this use's share)
    locals: MappingProxyType[tuple[str, str], Decimal]
    shares: MappingProxyType[tuple[str, str], Decimal]
    #: what the layers above derive from the solution once and read many times (as Solution.memo: an
    #: exam variant's asked values and LMS problem text)
    memo: dict[object, object] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def all_proven(self) -> bool:
        return all(p.proven for p in self.proofs.values())

    def display(self, name: str) -> str:
        return display(self.values[name], self.spec.decimals)

    def full(self, name: str) -> str:
        return full_text(self.values[name])

    @cached_property
    def gradients_by_name(self) -> dict[str, Gradient]:
        """The gradients by their own names (``df/dx``), not by what they differentiate by."""
        return {g.name: g for g in self.gradients.values()}

    @cached_property
    def symbol_latex(self) -> dict[str, str]:
        """Every name's LaTeX: a leaf or node as SymPy writes it (``x0``: ``x_{0}``), a gradient as a fraction."""
        out = sympy.latex(self.spec.output_node.symbol)
        names = {leaf.name: sympy.latex(leaf.symbol) for leaf in self.spec.leaves}
        names.update({node.name: sympy.latex(node.symbol) for node in self.spec.nodes})
        names.update({g.name: rf"\frac{{\partial {out}}}{{\partial {names[g.of]}}}" for g in self.gradients.values()})
        return names

    @cached_property
    def printer(self) -> BackpropPrinter:
        return BackpropPrinter(self.symbol_latex)


def _local(definition: Expr, symbol: Symbol) -> Expr:
    """d definition / d symbol with max's and relu's kink as step(0) = 0, the MLP's convention; a sum whose
    terms share a number keeps it outside, as a teacher writes it: (y - t)/2, not SymPy's y/2 - t/2."""
    local = sympy.diff(definition, symbol).replace(sympy.Heaviside, lambda z, *_: act.step(z))
    if isinstance(local, sympy.Add):
        content, primitive = local.as_content_primitive()
        if content != 1:
            return sympy.Mul(content, primitive, evaluate=False)
    return local


def backward(spec: GraphSpec) -> dict[str, Gradient]:
    """Every name's gradient, consumers before producers (reverse topological order)."""
    out = spec.output
    gradients: dict[str, Gradient] = {}
    uses: dict[str, list[Use]] = {}
    for node in spec.nodes:
        for symbol in sorted(node.definition.free_symbols, key=str):
            uses.setdefault(symbol.name, []).append(Use(node.name, _local(node.definition, symbol)))
    names = [n.name for n in reversed(spec.nodes)] + [leaf.name for leaf in spec.leaves]
    for name in names:
        mine = tuple(u for u in uses.get(name, []) if u.consumer in gradients)
        formula = sympy.S.One if name == out else sympy.Add(
            *[(1 if u.consumer == out else gradients[u.consumer].symbol) * u.local for u in mine], evaluate=False)
        gradients[name] = Gradient(f"d{out}/d{name}", name, Symbol(f"d{out}/d{name}", real=True), mine, formula)
    return gradients


def _composed(spec: GraphSpec, gradients: dict[str, Gradient]) -> dict[Symbol, Expr]:
    """Every node and gradient symbol as an expression over the leaves only."""
    inlined: dict[Symbol, Expr] = {}
    for node in spec.nodes:
        inlined[node.symbol] = node.definition.xreplace(inlined)
    for g in gradients.values():  # consumers first: each formula's gradient symbols are known
        inlined[g.symbol] = g.formula.xreplace(inlined)
    return inlined


class _Run:
    """The graph compiled once over slots (leaves, nodes, gradients) and run step by step, once per ball
    precision: a deep graph (an RNN unrolled through time) is never evaluated as its inlined tree."""

    def __init__(self, spec: GraphSpec, gradients: dict[str, Gradient]):
        self.spec = spec
        symbols = ([leaf.symbol for leaf in spec.leaves] + [n.symbol for n in spec.nodes]
                   + [g.symbol for g in gradients.values()])
        self.slot = {symbol: i for i, symbol in enumerate(symbols)}
        self.compiler = Compiler(self.slot, BALL)
        defined = [(n.symbol, n.definition) for n in spec.nodes] + [(g.symbol, g.formula) for g in gradients.values()]
        self.steps = [(self.slot[symbol], self.compiler(definition)) for symbol, definition in defined]
        self.inputs = [exact_input(f"{leaf.value.p}/{leaf.value.q}") for leaf in spec.leaves]
        self.runs: dict[int, tuple[list[Any], list[int]]] = {}  # by precision: slots, steps done

    def _slots(self, upto: int) -> list[Any]:
        """The slots with the first ``upto`` steps run at the current precision (a failing step fails
        only the values that need it)."""
        slots, done = self.runs.setdefault(flint.ctx.prec, ([*self.inputs, *[None] * len(self.steps)], [0]))
        for i, program in self.steps[done[0]:upto]:
            slots[i] = program(slots)
            done[0] += 1
        return slots

    def value(self, expr: Expr, name: str) -> Decimal:
        """``expr`` over the graph's names, certified: exact while the arithmetic is, else a ball."""
        program = self.compiler(expr)
        needed = [self.slot[s] for s in expr.free_symbols]
        upto = max((i - len(self.inputs) + 1 for i in needed), default=0)
        try:
            return certified_value(lambda _: program(self._slots(upto)), self.inputs)
        except EvaluationError as err:
            raise EvaluationError(f"{self.spec.source}: {name}: {err}") from None


def solve_graph(spec: GraphSpec | str, prove: bool = True) -> GraphSolution:
    """The graph's forward values, backward gradients and each leaf gradient's proof."""
    if not isinstance(spec, GraphSpec):
        spec = load_graph(spec)
    check_vary_names(spec.exam, [leaf.name for leaf in spec.leaves], spec.source)
    return _evaluated(spec, backward(spec), prove)


def solve_graph_values(base: GraphSolution, spec: GraphSpec) -> GraphSolution:
    """The same graph at other leaf values (an exam variant), on the base's gradients: nothing derived again.
    The base's proofs carry over when every one is symbolic (they hold whatever the values); proofs at the
    point are not redone."""
    symbolic = all(p.method == "symbolic" for p in base.proofs.values())
    solved = _evaluated(spec, dict(base.gradients), prove=False)
    return solved if not symbolic else dataclasses.replace(solved, proofs=base.proofs)


def graph_steps(spec: GraphSpec, gradients: Mapping[str, Gradient], domain: Domain = DECIMAL,
                ) -> tuple[dict[str, int], list[Step], dict[str, Expr]]:
    """The forward pass, then the backward pass, as steps over slots (the order a student works in): slot
    of every name, the steps (compiled to ``domain``: an exam's judge works its functions to fewer
    digits), and each computed name's definition (a gate's formula, a gradient's sum over uses of
    upstream times local)."""
    symbols = [leaf.symbol for leaf in spec.leaves] + [n.symbol for n in spec.nodes] + \
        [g.symbol for g in gradients.values()]
    slot_of = {symbol: i for i, symbol in enumerate(symbols)}
    compiler = Compiler(slot_of, domain)
    computed = [(n.name, n.symbol, n.definition) for n in spec.nodes] + \
        [(g.name, g.symbol, g.formula) for g in gradients.values()]
    steps = [Step(slot_of[symbol], name, compiler(expr), frozenset(slot_of[s] for s in expr.free_symbols))
             for name, symbol, expr in computed]
    return {symbol.name: i for symbol, i in slot_of.items()}, steps, {name: expr for name, _, expr in computed}


def _evaluated(spec: GraphSpec, gradients: dict[str, Gradient], prove: bool) -> GraphSolution:
    run = _Run(spec, gradients)
    values: dict[str, Decimal] = {}
    for leaf in spec.leaves:
        values[leaf.name] = run.value(leaf.symbol, leaf.name)
    for node in spec.nodes:
        values[node.name] = run.value(node.symbol, node.name)
    for g in gradients.values():
        values[g.name] = run.value(g.symbol, g.name)
    locals_: dict[tuple[str, str], Decimal] = {}
    shares: dict[tuple[str, str], Decimal] = {}
    for g in gradients.values():
        for u in g.uses:
            upstream = 1 if u.consumer == spec.output else gradients[u.consumer].symbol
            locals_[u.consumer, g.of] = run.value(u.local, f"d{u.consumer}/d{g.of}")
            shares[u.consumer, g.of] = run.value(upstream * u.local, g.name)
    proofs = {}
    if prove:
        inlined = _composed(spec, gradients)
        fast = composed(inlined[spec.output_node.symbol])
        proofs = {leaf.name: _prove(spec, gradients[leaf.name], inlined, run, fast) for leaf in spec.leaves}
    return GraphSolution(spec, MappingProxyType(gradients), MappingProxyType(values), MappingProxyType(proofs),
                         MappingProxyType(locals_), MappingProxyType(shares))


def gate_kind(definition: Expr) -> str:
    """How a gate passes its upstream gradient on: ``add`` distributes it, ``mul`` (of two names) swaps
    the inputs' values, ``max`` routes it to the larger input, ``fn`` times its own local derivative."""
    operands = definition.free_symbols
    if isinstance(definition, sympy.Add) and all(sympy.diff(definition, s) == 1 for s in operands):
        return "add"
    if isinstance(definition, sympy.Mul) and len(definition.args) == 2 and all(a.is_Symbol for a in definition.args):
        return "mul"
    if isinstance(definition, sympy.Max):
        return "max"
    return "fn"


def _prove(spec: GraphSpec, gradient: Gradient, inlined: dict[Symbol, Expr], run: _Run,
           fast: Composed | None) -> GraphProof:
    """The composed chain-rule formula against the derivative of the composed output, as rational functions
    of their function applications (each ``tanh(...)`` one atom: fast however deep the graph): SymEngine's
    diff first, then sympy.diff, then by simplification; where none decides, the chain rule and sympy.diff
    are evaluated at the spec's point in ball arithmetic."""
    leaf = next(lf for lf in spec.leaves if lf.name == gradient.of)
    uses = f"the chain rule over {len(gradient.uses)} use(s)"
    if fast is not None and fast.agrees(leaf.symbol, inlined[gradient.symbol]):
        return GraphProof(leaf.name, "symbolic", True, f"{uses} equals symengine.diff of the composed output")
    direct = _local(inlined[spec.output_node.symbol], leaf.symbol)
    difference = inlined[gradient.symbol] - direct
    if is_zero_rational(difference) or _is_zero(difference):
        return GraphProof(leaf.name, "symbolic", True,
                          f"{uses} equals sympy.diff of the composed output")
    a, b = run.value(gradient.symbol, gradient.name), run.value(direct, gradient.name)
    scale = max(abs(a), Decimal("1e-10"))
    agree = abs(a - b) / scale < Decimal(10) ** -REQUIRED_DIGITS
    return GraphProof(leaf.name, "at the point", bool(agree),
                      f"the chain rule and sympy.diff agree to {REQUIRED_DIGITS} digits at the spec's values"
                      if agree else f"chain rule {a:.12e} but sympy.diff gives {b:.12e}")


__all__ = ["GraphSolution", "Gradient", "Use", "backward", "gate_kind", "graph_steps", "solve_graph",
           "solve_graph_values"]
