"""The Python API's main object: one exercise, derived, proven and evaluated.

    >>> from symbackprop import solve
    >>> s = solve()                      # the built-in lecture network
    >>> s.display("dE/dw5")
    '0.028'
    >>> s.value("E")                     # a certified Decimal (numbers.Certified)
    Decimal('0.03159219909552025669289923726921300000107566...')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sympy import Expr

from ..errors import SymbackpropError
from ..hints import did_you_mean, quoted
from .derive import Derivation, Proof, derive, structure
from .evaluate import Evaluation, leaf_values
from .examtable import check_vary_names
from .network import Network, Quantity
from .numbers import display, full_text
from .printer import BackpropPrinter, condition_latex, printer_for
from .readable import evaluate_readable
from .spec import Spec, load_spec

if TYPE_CHECKING:
    from .graph import GraphSolution


class UnknownQuantity(SymbackpropError):
    """A quantity name that the network does not have."""


@dataclass
class Solution:
    spec: Spec
    derivation: Derivation
    evaluation: Evaluation
    #: what the layers above derive from the solution once and read many times (notation's arithmetic
    #: lines: a key, its Moodle feedback and its QTI feedback show the same lines)
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: what depends on the network's structure only (a definition's LaTeX), shared by the solutions on one
    #: derivation (an exam's variants: see :func:`solve_values`)
    shared: dict[object, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def network(self) -> Network:
        return self.derivation.network

    @property
    def proofs(self) -> Mapping[str, Proof]:
        """Each parameter's proof that its gradient equals its chain-rule formula, complete."""
        return self.evaluation.proofs

    @property
    def all_proven(self) -> bool:
        return all(p.proven for p in self.proofs.values())

    @cached_property
    def printer(self) -> BackpropPrinter:
        return printer_for(self.network)

    @property
    def names(self) -> list[str]:
        return list(self.network.quantities)

    def quantity(self, name: str) -> Quantity:
        try:
            return self.network.quantities[name]
        except KeyError:
            raise UnknownQuantity(f"unknown quantity {quoted(name)}{did_you_mean(name, self.names)}") from None

    def value(self, name: str) -> Decimal:
        self.quantity(name)
        return self.evaluation.values[name]

    def display(self, name: str) -> str:
        key = ("display", name)
        text = self.memo.get(key)
        if not isinstance(text, str):
            text = self.memo[key] = display(self.value(name), self.spec.decimals)
        return text

    def full(self, name: str) -> str:
        return full_text(self.value(name))

    def latex(self, name: str) -> str:
        """The quantity's symbol."""
        return self.quantity(name).latex

    def formula(self, name: str, explicit: bool = False) -> str:
        """LaTeX of its definition (``explicit``: the closed form of an output delta)."""
        key = ("formula", name, explicit)
        text = self.shared.get(key)
        if text is None:
            q = self.quantity(name)
            expr = q.explicit if explicit and q.explicit is not None else q.definition
            text = self.shared[key] = "" if expr is None else self.printer.doprint(expr)
        return text

    def latex_of(self, expr: Expr) -> str:
        """LaTeX of an expression in the network's symbols (a unit's local slope, a definition): it depends
        on the structure only, so it is printed once for the solutions on one derivation."""
        key = ("latex", expr)
        text = self.shared.get(key)
        if text is None:
            text = self.shared[key] = self.printer.doprint(expr)
        return text

    def condition(self, name: str) -> str:
        """LaTeX of the condition its closed form holds under (``t_{1} + t_{2} = 1`` for softmax +
        cross-entropy's ``yhat - t``); "" when the closed form is an identity."""
        return condition_latex(self.printer, self.quantity(name).condition)

    def __repr__(self) -> str:
        """One line (the dataclass repr printed the whole spec, network and every value: 42 kB)."""
        sizes = "-".join(str(n) for n in [self.spec.n_inputs] + [layer.size for layer in self.network.layers])
        acts = "/".join(dict.fromkeys(layer.activation_name for layer in self.network.layers))
        loss = self.network.loss_name
        return (f"<Solution {self.spec.title!r}: {sizes} {acts}, {self.spec.loss}, "
                f"{len(self.network.parameters)} parameters, {loss} = {self.display(loss)}>")

    def _repr_latex_(self) -> str:
        rows = [rf"{self.latex(q.name)} &= {self.formula(q.name)}"
                for q in self.network.of_kind("pre", "act", "loss")]
        return r"$\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$"


def solve(spec: Spec | str | Path | None = None, prove: bool = True) -> Solution:
    """Derive, prove and evaluate one exercise (the lecture network when ``spec`` is None); marking
    passes ``prove=False``: it needs the definitions, not ``check``'s proofs."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    derivation = derive(spec, prove=prove)
    check_vary_names(spec.exam, list(leaf_values(derivation.network)), spec.source)
    evaluation = evaluate_readable(derivation, spec.source)
    return Solution(spec, derivation, evaluation)


def solve_any(path: str | Path | None, prove: bool = True) -> Solution | GraphSolution:
    """The spec at ``path`` solved whatever its kind (read once, a pipe too): a network's `Solution`, or a
    graph kind's `GraphSolution` (None: the lecture network); ``prove=False`` where only the definitions
    are needed (marking, practice)."""
    from .graph import solve_graph
    from .graphspec import GraphSpec
    from .kinds import load_any

    spec = load_any(path)
    return solve_graph(spec, prove=prove) if isinstance(spec, GraphSpec) else solve(spec, prove=prove)


def solve_values(base: Solution, spec: Spec) -> Solution:
    """``spec`` solved on ``base``'s derivation: the two differ only in their leaf values (weights,
    inputs, targets, learning rate), which the evaluation reads from ``network.spec``, so the chain
    rule and its symbolic proofs (most of the work, seconds for a softmax network) are done once per
    network; pending ``local+ad`` proofs are completed at the new values by the evaluation."""
    if structure(spec) != structure(base.spec):
        raise ValueError("solve_values: the spec's network differs from the base solution's")
    derivation = Derivation(dataclasses.replace(base.network, spec=spec), base.derivation.proofs)
    solved = Solution(spec, derivation, evaluate_readable(derivation, spec.source))
    solved.shared = base.shared  # the same definitions, printed once
    return solved
