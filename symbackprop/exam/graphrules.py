"""What drawing needs to know of a computation graph (any `GraphSpec`, whichever table built it): its
leaves on grids of nice decimals scaled to the spec's own values, its forward-then-backward steps, what
it asks, and its own rules.

* **max tie**: a max gate's inputs display the same at the sheet's decimals (which wins, and so where the
  gradient goes, is then not the student's to see); **undefined**: a relu on its kink.
* **saturation**: an asked gradient that went through an exp, a log or a division shows a single
  significant digit (``0.03`` at 2 decimals; at fewer decimals, ``0.1`` is the least): a saturated gate
  (a sigmoid far from 0) left the student next to nothing to compute;
* **zero gradients**: an asked gradient displays as 0, unless a max or relu gate *routes* it away: it
  is exactly 0, and would not be if every such gate passed its upstream gradient on (the lesson of a max
  gate, not a trivial draw).  A gradient that is merely tiny (a saturated sigmoid) or 0 because a value
  on its path is 0 is rejected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from decimal import Decimal

import sympy
from sympy import Expr, Symbol

from ..engine import activations as act
from ..engine.evaluate import Compiler, remembering_domain
from ..engine.examtable import ExamSettings, Grid
from ..engine.flatcode import FlatCompiler
from ..engine.graph import GraphSolution, graph_steps
from ..engine.graphspec import GraphSpec
from ..engine.numbers import round_half_up
from .exact import exact_slots
from .judging import JUDGE
from .variants import graph_asked_names

__all__ = ["GraphFamily", "default_grid"]

#: values that make a step trivial, for every input and parameter: nothing to multiply or add
TRIVIAL = (0, 1, -1)


def default_grid(values: list[sympy.Rational]) -> Grid:
    """The grid of one kind of leaf, scaled to the spec's own values of that kind: ``[-m, m]`` with
    ``m`` the largest magnitude (at least 1, rounded up), in steps of 0.1 (m = 1), 0.5 (m up to 5) or 1."""
    top = max(1, math.ceil(max((abs(v) for v in values), default=1)))
    step = sympy.Rational(1, 10) if top == 1 else sympy.Rational(1, 2) if top <= 5 else sympy.Integer(1)
    return Grid(sympy.Integer(-top), sympy.Integer(top), step)


class GraphFamily:
    """A graph's side of the drawing: :class:`.drawing.Drawer` asks it what varies and what is unfair."""

    nothing_asked = "a computation graph asks forward and gradients only"

    def __init__(self, base: GraphSolution, settings: ExamSettings):
        spec = self.spec = base.spec
        self.decimals = spec.decimals
        domain = remembering_domain(JUDGE)
        self.index, self.steps, self.definitions = graph_steps(spec, base.gradients, domain)
        symbols = [leaf.symbol for leaf in spec.leaves] + [n.symbol for n in spec.nodes] + \
            [g.symbol for g in base.gradients.values()]
        #: the steps' source for the judge's flat passes (see :mod:`.passes`), in the same domain
        self.flat = FlatCompiler({s: self.index[s.name] for s in symbols}, domain)
        self.leaves = {leaf.name: leaf.value for leaf in spec.leaves}
        self.kinds = {leaf.name: leaf.kind for leaf in spec.leaves}
        self.grids = {kind: default_grid([leaf.value for leaf in spec.leaves if leaf.kind == kind])
                      for kind in set(self.kinds.values())}
        self.asked = graph_asked_names(spec, settings.ask)
        slot_of = {leaf.symbol: self.index[leaf.name] for leaf in spec.leaves}
        slot_of.update({node.symbol: self.index[node.name] for node in spec.nodes})
        compiler = Compiler(slot_of)
        #: each max gate's inputs, each relu's argument (programs over the slots)
        self.maxes: list[list[Callable[[list[Decimal]], Decimal]]] = []
        self.kinks: list[Callable[[list[Decimal]], Decimal]] = []
        for node in spec.nodes:
            for part in sympy.preorder_traversal(node.definition):
                if isinstance(part, sympy.Max):
                    self.maxes.append([compiler(a) for a in part.args])
                elif isinstance(part, act.relu):
                    self.kinks.append(compiler(part.args[0]))
        self.asked_gradients = [self.index[n] for group, names in self.asked if group == "gradients" for n in names]
        self._open = self._open_steps(base, slot_of)
        #: an inexact asked gradient shown below this has one significant digit (at 2 decimals or more): a
        #: saturated gate (sigmoid, exp); an exact one (sums and products of the drawn values) is what it is
        self._two_digits = Decimal(10).scaleb(-max(2, self.decimals))
        exact = exact_slots(self.index, self.leaves, self.steps, self.definition)
        self._inexact_gradients = [slot for slot in self.asked_gradients if slot not in exact]

    def _open_steps(self, base: GraphSolution, slot_of: dict[Symbol, int],
                    ) -> list[tuple[int, Callable[[list[Decimal]], Decimal]]]:
        """The backward pass with every routing gate passing its gradient on (each step(.) of a local
        derivative taken as 1), each gradient in the slot after the real ones at the same offset: where a
        real 0 would not be 0."""
        size = len(self.index)
        rename = {g.symbol: Symbol(f"open {g.name}") for g in base.gradients.values()}
        compiler = Compiler(slot_of | {rename[g.symbol]: size + self.index[g.name] for g in base.gradients.values()})
        return [(size + self.index[g.name],
                 compiler(g.formula.replace(act.step, lambda *_: sympy.S.One).xreplace(rename)))
                for g in base.gradients.values()]

    def definition(self, name: str) -> Expr:
        return self.definitions[name]

    def rounds_as_you_go(self, inexact: bool) -> bool:
        """Whether the early-rounding rule starts strict when ``[exam]`` leaves it out: only when every asked
        value is exact.  Through an exp, a log or a division, values rounded as you go rarely agree at the
        sheet's decimals, and the few draws that do would all share one forward pass (every variant of the
        sigmoid circuit had ``d = 0.75``); the sheet then asks for unrounded working instead."""
        return not inexact

    def leaf_grid(self, name: str, settings: ExamSettings) -> tuple[Grid | None, tuple[int, ...]]:
        """The leaf's grid (``[exam.vary]`` first, then its kind's group as ``[exam]`` writes it, else the kind's
        scaled grid; None: fixed) and its trivial values."""
        group = self.kinds[name] + "s"
        if name in settings.overrides:
            return settings.overrides[name], TRIVIAL
        return (settings.groups[group] if group in settings.groups else self.grids[self.kinds[name]]), TRIVIAL

    def reject(self, slots: list[Decimal], rules: ExamSettings) -> str | None:
        d = self.decimals
        if any(kink(slots).is_zero() for kink in self.kinks):
            return "undefined"
        for inputs in self.maxes:
            shown = [round_half_up(i(slots), d) for i in inputs]
            if len(set(shown)) < len(shown):
                return "max tie"
        gradients = {slot: round_half_up(slots[slot], d) for slot in self.asked_gradients}
        if not rules.allow_saturation and any(0 < abs(gradients[slot]) < self._two_digits
                                               for slot in self._inexact_gradients):
            return "saturation"
        if rules.allow_zero_gradients:
            return None
        zero = [slot for slot, v in gradients.items() if v.is_zero()]
        if zero and not all(slots[slot].is_zero() for slot in zero):
            return "zero gradients"
        if zero:  # exactly 0: routed away by a max or relu gate, or a 0 on the path?
            opened = slots + [Decimal(0)] * len(slots)
            for slot, program in self._open:
                opened[slot] = program(opened)
            if any(round_half_up(opened[len(slots) + slot], d).is_zero() for slot in zero):
                return "zero gradients"
        return None

    def spec_for(self, values: dict[str, sympy.Rational]) -> GraphSpec:
        """The base spec with these leaf values."""
        return dataclasses.replace(self.spec, leaves=tuple(dataclasses.replace(leaf, value=values[leaf.name])
                                                           for leaf in self.spec.leaves))
