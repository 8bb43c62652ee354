"""A computation graph's side of a practice exercise (any `GraphSolution`, whichever table built it): what
it asks, its page (the circuit as SVG, the given values, the gates), its worked lines and its names.

The exercise is drawn, checked and served by `exercise` as an MLP's is; only what a graph shows and how
its names read differ, and nothing here knows which builder made the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sympy
from sympy import Expr, Symbol

from ..documents.graphhandout import worked_lines
from ..engine.graph import GraphSolution
from ..engine.numbers import display
from ..exam.variants import graph_asked_names
from ..marking.graphmarks import GRAPH_FUNCTIONS, graph_exercise
from ..notation.circuit import formula_tex, graph_name_tex, name_tex
from ..notation.circuitsvg import circuit_svg
from ..notation.lines import exact_text

Tasks = tuple[tuple[str, str, tuple[str, ...]], ...]


def graph_groups(solution: GraphSolution, ask: Sequence[str]) -> dict[str, list[str]]:
    """The asked names by task: the gates' values (forward) and each input's and parameter's gradient."""
    return dict(graph_asked_names(solution.spec, ask))


def graph_page(seed: int, solution: GraphSolution, tasks: Tasks) -> dict[str, Any]:
    """What the page shows of a graph: the circuit with the given values on their wires (the gates' values
    too when the forward pass is not asked), the inputs and parameters, each gate's formula, the tasks."""
    spec, d = solution.spec, solution.spec.decimals
    leaves = {leaf.name for leaf in spec.leaves}
    forward_shown = not any(key == "forward" for key, _, _ in tasks)
    values = {name: display(v, d) for name, v in solution.values.items() if name in leaves or forward_shown}
    svg = circuit_svg(spec, values, {}, display(Decimal(1), d))
    given = [{"name": leaf.name, "latex": name_tex(leaf.name), "value": exact_text(solution.values[leaf.name])}
             for leaf in spec.leaves]
    items = [{"key": key, "title": title, "items": [{"name": n, "latex": graph_name_tex(spec, n)} for n in names]}
             for key, title, names in tasks]
    gates = [f"{name_tex(n.name)} = {formula_tex(n.definition)}" for n in spec.nodes]
    first = spec.leaves[0].name
    examples = [spec.nodes[0].text, sympy.sstr(solution.gradients[first].formula, order="none")]
    return {"seed": seed, "title": spec.title, "decimals": d, "svg": svg, "given": given, "tasks": items,
            "rule": [], "rule_title": "", "gates": gates, "examples": examples}


def graph_step_lines(solution: GraphSolution) -> dict[str, str]:
    """Every asked quantity's worked line (a gate's forward line, a leaf's gradient as a sum over its uses)."""
    return {name: str(line) for name, line in worked_lines(solution).items()}


def graph_reader(solution: GraphSolution) -> tuple[dict[str, Symbol], dict[str, Any], Callable[[Expr], str]]:
    """What reads a typed formula of this graph: its names (as export gives them), its functions, its printer."""
    symbols = {name: q.symbol for name, q in graph_exercise(solution).quantities.items()}
    return symbols, GRAPH_FUNCTIONS, solution.printer.doprint


__all__ = ["graph_groups", "graph_page", "graph_reader", "graph_step_lines"]
