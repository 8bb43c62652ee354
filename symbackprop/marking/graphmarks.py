"""The marker of a computation graph (a `GraphSolution`, whatever builder made it): the graph rules' slips.

Each gradient is the sum over the name's uses of upstream x local; the slips a student makes in it,
each recomputed exactly for a wrong value (the verdicts and the formula comparison are `marker`'s):

* a use left out of a shared name's sum (an RNN's weight missing a time step: the answer is the sum
  over a subset of the uses);
* a multiply gate's inputs not swapped (the local derivative taken as the operand's own value);
* a max gate routing the gradient to the other input;
* a local derivative's sign slipped;
* the upstream gradient not multiplied in (the local derivative alone);
* a max gate computed as min, forward.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, localcontext
from typing import Any

import sympy
from sympy import Expr

from ..engine.activations import FORMULA_FUNCTIONS
from ..engine.graph import GraphSolution, Use, gate_kind
from ..engine.naming import Name
from ..engine.network import Quantity
from ..engine.numbers import round_half_up, work_context
from ..engine.rnnspec import time_step
from .marker import Exercise, Marker, Slips
from .words import Said

#: a shared name with at most this many uses has every subset of its uses tried; more: each one left out
MAX_SUBSET_USES = 6
#: the names a graph's formulas may call: the MLP's functions and max
GRAPH_FUNCTIONS = {**FORMULA_FUNCTIONS, "max": sympy.Max}


def graph_exercise(solution: GraphSolution) -> Exercise:
    """What the marker needs of a solved graph: leaves, nodes, then gradients (the output's first)."""
    spec, latex = solution.spec, solution.symbol_latex
    quantities: dict[str, Quantity] = {}
    for leaf in spec.leaves:
        quantities[leaf.name] = Quantity(Name(leaf.name, latex[leaf.name]), leaf.symbol, leaf.kind)
    for node in spec.nodes:
        quantities[node.name] = Quantity(Name(node.name, latex[node.name]), node.symbol, "node", node.definition)
    for g in solution.gradients.values():
        quantities[g.name] = Quantity(Name(g.name, latex[g.name]), g.symbol, "gradient", g.formula)
    exact = {name: getattr(value, "exact", None) is not None for name, value in solution.values.items()}
    return Exercise(spec.title, spec.decimals, quantities, solution.values, exact,
                    {leaf.name: leaf.value for leaf in spec.leaves}, solution.printer.doprint, GRAPH_FUNCTIONS,
                    frozenset(("node",)), frozenset(("gradient",)), len(spec.nodes) + 1)


class GraphMarker(Marker):
    """The generic marking with a graph's slips and random points near the spec's values."""

    solution: GraphSolution

    def __init__(self, solution: GraphSolution, **settings: Any):
        super().__init__(graph_exercise(solution), **settings)
        self.solution = solution
        self.local_programs: dict[tuple[str, Expr], Callable[[list[Decimal]], Decimal]] = {}
        self.handout_paths: dict[int, list[Decimal]] = {}  # by decimals
        self.definition_of = {n.name: n.definition for n in solution.spec.nodes}

    def rounded_paths_at(self, decimals: int) -> list[list[Decimal]]:
        """The lecture's path, and the handout's: each gate's local derivative rounded too, before it multiplies
        the (rounded) upstream gradient, each use's share rounded, their sum rounded (``df/du = (-0.53) 0.37 =
        -0.20``, where the lecture's path multiplies the unrounded e^-1 = 0.3679)."""
        path = self.handout_paths.get(decimals)
        if path is None:
            path = self.handout_paths[decimals] = self._handout_path(decimals)
        return [self.rounded_at(decimals), path]

    def _handout_path(self, decimals: int) -> list[Decimal]:
        slots = list(self.exact)
        gradients, output = self.solution.gradients, self.solution.spec.output
        try:
            with localcontext(work_context()):
                for step in self.steps:
                    if self.quantities[step.name].kind != "gradient":
                        slots[step.slot] = round_half_up(step.program(slots), decimals)
                        continue
                    total = Decimal(0)
                    for use in self.solution.gradients_by_name[step.name].uses:
                        share = round_half_up(self._local(use)(slots), decimals)
                        if use.consumer != output:
                            upstream = slots[self.index[gradients[use.consumer].name]]
                            share = round_half_up(upstream * share, decimals)
                        total += share
                    slots[step.slot] = round_half_up(total, decimals)
        except (ArithmeticError, KeyError):  # a step the rounded inputs cannot take: the lecture's path alone
            return self.rounded_at(decimals)
        return slots

    def _local(self, use: Use) -> Callable[[list[Decimal]], Decimal]:
        program = self.local_programs.get((use.consumer, use.local))
        if program is None:
            program = self.local_programs[use.consumer, use.local] = self.compiler(use.local)
        return program

    def _term(self, use: Use, local: Expr | None = None, upstream: bool = True) -> Expr:
        """One use's share, upstream x local (the local as given, or the right one)."""
        local = use.local if local is None else local
        if not upstream or use.consumer == self.solution.spec.output:
            return local
        return self.solution.gradients[use.consumer].symbol * local

    def _sum(self, uses: Iterable[Use], changed: Mapping[str, Expr] | None = None, upstream: bool = True) -> Expr:
        """The sum over ``uses``, a consumer's local replaced where ``changed`` says."""
        changed = changed or {}
        terms = [self._term(u, changed.get(u.consumer), upstream) for u in uses]
        return sympy.Add(*terms)

    def _slips(self, a: Quantity) -> Slips:
        if a.kind == "node" and isinstance(a.definition, sympy.Max):
            smaller = -sympy.Max(*(-x for x in a.definition.args))
            yield Said("took_min", name=self._name(a.name)), {a.name: smaller}
        g = self.solution.gradients_by_name.get(a.name)
        if g is None or not g.uses:
            return
        yield from self._missing_uses(a.name, g.of, g.uses)
        for use in g.uses:
            yield from self._local_slips(a.name, g.of, use, g.uses)
        upstream = [u for u in g.uses if u.consumer != self.solution.spec.output]
        if upstream:
            names = [self._name(f"d{self.solution.spec.output}/d{u.consumer}") for u in upstream]
            yield Said("upstream_missing", names=names), {a.name: self._sum(g.uses, upstream=False)}

    def _slip_written(self, q: Quantity, student: Expr) -> Said | None:
        """A gradient's formula that is exactly one of its own slips (a use left out, a gate's rule not applied)."""
        return self._written_as(q, student, self._slips(q)) if q.kind == "gradient" else None

    def _missing_uses(self, name: str, of: str, uses: tuple[Use, ...]) -> Slips:
        """A shared name's gradient summed over only some of its uses (an RNN step, a kernel position left out)."""
        if len(uses) < 2:
            return
        sizes = range(len(uses) - 1, 0, -1) if len(uses) <= MAX_SUBSET_USES else (len(uses) - 1,)
        for size in sizes:
            for kept in itertools.combinations(uses, size):
                left_out = [u for u in uses if u not in kept]
                yield self._left_out(name, of, uses, kept, left_out), {name: self._sum(kept)}

    def _left_out(self, name: str, of: str, uses: tuple[Use, ...], kept: tuple[Use, ...], left_out: list[Use]) -> Said:
        """Why a sum over some uses is wrong; an RNN's weight, used once per time step, names the steps."""
        steps = [time_step(u.consumer) for u in uses] if self.solution.spec.kind == "rnn" else []
        if steps and None not in steps and len(set(steps)) == len(steps):
            return Said("missing_time_steps", name=self._name(name), of=self._name(of),
                        steps=[str(time_step(u.consumer)) for u in left_out], kept=len(kept), uses=len(uses))
        return Said("missing_uses", name=self._name(name), of=self._name(of),
                    consumers=[self._name(u.consumer) for u in left_out], kept=len(kept), uses=len(uses))

    def _local_slips(self, name: str, of: str, use: Use, uses: tuple[Use, ...]) -> Slips:
        """One use's local derivative taken wrongly: the gate's rule not applied, or its sign slipped."""
        definition = self.definition_of[use.consumer]
        operand = self.quantities[of].symbol
        gate, where = gate_kind(definition), self._name(use.consumer)
        if gate == "mul":
            yield (Said("inputs_not_swapped", gate=where, of=self._name(of), own=self._formula(operand),
                        local=self._formula(use.local)), {name: self._sum(uses, {use.consumer: operand})})
        if gate == "max":
            yield Said("max_misrouted", gate=where), {name: self._sum(uses, {use.consumer: 1 - use.local})}
        if use.local != 0:
            yield (Said("local_sign_slipped", gate=where, of=self._name(of), flipped=self._formula(-use.local),
                        right=self._formula(use.local)), {name: self._sum(uses, {use.consumer: -use.local})})

    def _random_leaves(self, rng: random.Random, leaves: Mapping[str, Any]) -> dict[str, sympy.Rational]:
        """Each leaf moved by up to 30 % of its size, keeping its sign (a log's argument stays positive)."""
        out = {}
        for name, value in leaves.items():
            size = abs(value) if value != 0 else sympy.Rational(1, 2)
            sign = -1 if value < 0 else 1
            out[name] = sign * size * sympy.Rational(rng.randint(70, 130), 100)
        return out


__all__ = ["GRAPH_FUNCTIONS", "GraphMarker", "graph_exercise"]
