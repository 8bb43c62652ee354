"""A graph-kind spec's training as meaning for its handout's update section: the rule, the first step
written out for one parameter, every step's gradients, states and new values, and the output's curve.

The same templates as the network handout's (``optimizer_rows``, ``optimizer_head``, ``loss_curve``) write
the rule and its look; ``handout/graph_update.tex.j2`` the section around them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sympy
from sympy import Symbol

from ..engine.graph import GraphSolution
from ..engine.graphtrain import GraphTraining, train_graph
from ..engine.numbers import decimal_text, display
from ..layout import formula_line_rows
from ..notation.circuit import name_tex
from ..notation.lines import approx_latex, make_line
from .render import Tex
from .update_rule import SHOWN_STEPS, STATE_DIGITS, curve_meaning, settings_meaning, state_text


def _exact(value: Any) -> Decimal:
    """A spec's exact number (a hyperparameter, t, a state of 0) as the Decimal it was written as."""
    return Decimal(decimal_text(sympy.Rational(value)))


def graph_update(solution: GraphSolution) -> dict[str, Any] | None:
    """The update section's meaning (``update``: ``optimizer`` and the output's LaTeX); None: no training."""
    training = train_graph(solution, {leaf.name: name_tex(leaf.name) for leaf in solution.spec.leaves})
    if training is None:
        return None
    d = solution.spec.decimals
    o = settings_meaning(training.training.optimizer, [(latex, _exact(v)) for _, latex, v in training.hyper])
    steps = []
    for t, values in enumerate(training.steps[:SHOWN_STEPS], start=1):
        rows = [{"param": Tex(name_tex(p)), "values": [Tex(approx_latex(values[n], STATE_DIGITS))
                                                        for n in training.names[p][:-1]],
                 "updated": Tex(display(values[training.names[p][-1]], d))} for p in training.parameters]
        steps.append({"t": t, "rows": rows})
    first = training.parameters[0]
    o |= curve_meaning(training.history) | {"param": Tex(name_tex(first)), "steps": steps,
                                           "lines": _first_step(solution, training, first)}
    kinds = {leaf.kind for leaf in solution.spec.leaves}
    return {"optimizer": o, "loss": Tex(name_tex(solution.spec.output)),
            "stays": [k for k in ("input", "target", "state") if k in kinds]}  # what training leaves as it is


def _first_step(solution: GraphSolution, training: GraphTraining, param: str) -> list[Tex]:
    """``m_z = beta1 m_z^- + (1 - beta1) df/dz = 0.9 * 0 + 0.1 * 3 = 0.3``: each quantity of the first step,
    as rows of an ``align*`` (a line too wide for the page goes on, aligned at its =)."""
    d = solution.spec.decimals
    first = training.steps[0]
    values: dict[Symbol, Decimal] = {s: _exact(v) for s, v in training.given.items()}
    values.update({training.where[n]: v for n, v in first.items()})
    values.update({leaf.symbol: solution.values[leaf.name] for leaf in solution.spec.leaves})
    names = {s: tex for s, tex in training.latex.items()}
    names.update({leaf.symbol: name_tex(leaf.name) for leaf in solution.spec.leaves})
    out = name_tex(solution.spec.output)
    names.update({g.symbol: rf"\left(\frac{{\partial {out}}}{{\partial {name_tex(g.of)}}}\right)"
                  for g in solution.gradients.values()})
    exact = set(training.given) | {leaf.symbol for leaf in solution.spec.leaves}
    lines = []
    states = training.names[param][1:-1]
    for name in training.names[param][1:]:
        definition = training.definitions[name]
        symbol = training.where[name]
        result = state_text(first[name], d) if name in states else None  # the new value: its display
        line = make_line(names[symbol], definition, values, exact & definition.free_symbols, first[name], d, result)
        head = f"{names[symbol]} &= {sympy.latex(definition, order='none', symbol_names=names)}"
        lines += [Tex(r) for r in formula_line_rows(head, line)]  # as a graph's forward lines
    return lines


__all__ = ["graph_update"]
