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
from collections.abc import Iterable, Mapping
from typing import Any

import sympy
from sympy import Expr

from ..engine.activations import FORMULA_FUNCTIONS
from ..engine.graph import GraphSolution, Use, gate_kind
from ..engine.naming import Name
from ..engine.network import Quantity
from ..engine.rnnspec import time_step
from .marker import Exercise, Marker, Slips

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
        self.definition_of = {n.name: n.definition for n in solution.spec.nodes}

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
            yield f"{self._name(a.name)} took the smaller input (min, not max)", {a.name: smaller}
        g = self.solution.gradients_by_name.get(a.name)
        if g is None or not g.uses:
            return
        yield from self._missing_uses(a.name, g.of, g.uses)
        for use in g.uses:
            yield from self._local_slips(a.name, g.of, use, g.uses)
        upstream = [u for u in g.uses if u.consumer != self.solution.spec.output]
        if upstream:
            names = ", ".join(self._name(f"d{self.solution.spec.output}/d{u.consumer}") for u in upstream)
            yield (f"the upstream gradient {names} not multiplied in (the local derivative alone)",
                   {a.name: self._sum(g.uses, upstream=False)})

    def _slip_written(self, q: Quantity, student: Expr) -> str:
        """A gradient's formula that is exactly one of its own slips (a use left out, a gate's rule not applied)."""
        if q.kind != "gradient":
            return ""
        for why, overrides in self._slips(q):
            wrong = overrides.get(q.name)
            if wrong is not None and sympy.expand(student - wrong) == 0:
                return why
        return ""

    def _missing_uses(self, name: str, of: str, uses: tuple[Use, ...]) -> Slips:
        """A shared name's gradient summed over only some of its uses (an RNN step, a kernel position left out)."""
        if len(uses) < 2:
            return
        sizes = range(len(uses) - 1, 0, -1) if len(uses) <= MAX_SUBSET_USES else (len(uses) - 1,)
        for size in sizes:
            for kept in itertools.combinations(uses, size):
                left_out = [u for u in uses if u not in kept]
                yield self._left_out(name, of, uses, kept, left_out), {name: self._sum(kept)}

    def _left_out(self, name: str, of: str, uses: tuple[Use, ...], kept: tuple[Use, ...], left_out: list[Use]) -> str:
        """Why a sum over some uses is wrong; an RNN's weight, used once per time step, names the steps."""
        steps = [time_step(u.consumer) for u in uses] if self.solution.spec.kind == "rnn" else []
        if steps and None not in steps and len(set(steps)) == len(steps):
            missed = ", ".join(str(time_step(u.consumer)) for u in left_out)
            return (f"{self._name(name)} misses time step{'s' if len(left_out) > 1 else ''} {missed} of "
                    f"{self._name(of)} (backpropagation through time sums over every step: {len(kept)} of its "
                    f"{len(uses)} steps summed)")
        consumers = ", ".join(self._name(u.consumer) for u in left_out)
        word = "use" if len(left_out) == 1 else "uses"
        return (f"{self._name(name)} misses the {word} of {self._name(of)} by {consumers} (the sum over "
                f"{len(kept)} of its {len(uses)} uses)")

    def _local_slips(self, name: str, of: str, use: Use, uses: tuple[Use, ...]) -> Slips:
        """One use's local derivative taken wrongly: the gate's rule not applied, or its sign slipped."""
        definition = self.definition_of[use.consumer]
        operand = self.quantities[of].symbol
        gate, where = gate_kind(definition), self._name(use.consumer)
        if gate == "mul":
            yield (f"the multiply gate {where}'s inputs not swapped: the local derivative of {self._name(of)} "
                   f"taken as its own value {self._formula(operand)} instead of {self._formula(use.local)}",
                   {name: self._sum(uses, {use.consumer: operand})})
        if gate == "max":
            yield (f"the max gate {where} routed the gradient to the other input",
                   {name: self._sum(uses, {use.consumer: 1 - use.local})})
        if use.local != 0:
            yield (f"the sign of the local derivative of {where} by {self._name(of)} slipped "
                   f"({self._formula(-use.local)} instead of {self._formula(use.local)})",
                   {name: self._sum(uses, {use.consumer: -use.local})})

    def _random_leaves(self, rng: random.Random, leaves: Mapping[str, Any]) -> dict[str, sympy.Rational]:
        """Each leaf moved by up to 30 % of its size, keeping its sign (a log's argument stays positive)."""
        out = {}
        for name, value in leaves.items():
            size = abs(value) if value != 0 else sympy.Rational(1, 2)
            sign = -1 if value < 0 else 1
            out[name] = sign * size * sympy.Rational(rng.randint(70, 130), 100)
        return out


__all__ = ["GRAPH_FUNCTIONS", "GraphMarker", "graph_exercise"]
