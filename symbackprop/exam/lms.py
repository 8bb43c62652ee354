"""What both LMS exports (Moodle, Canvas) share: the problem as HTML, inline math, the names, the tolerance."""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup

from ..documents.graphhandout import graph_sheet, worked_lines
from ..documents.render import markdown_environment, render_html
from ..engine.graph import GraphSolution
from ..engine.solution import Solution
from ..notation.circuit import name_tex
from ..notation.lines import exact_text, quantity_line

__all__ = ["math_html", "name", "problem_html", "tolerance", "worked"]


def tolerance(decimals: int) -> str:
    """Half a unit in the last displayed decimal: ``0.0005`` at 3 decimals."""
    return f"{Decimal(5).scaleb(-decimals - 1):f}"


def name(which: str, **values: object) -> str:
    """A plain-text name from ``lms/names.txt.j2`` (``quiz``: "Title - variant 001 - Ada"); the writer escapes it."""
    return str(getattr(markdown_environment().get_template("lms/names.txt.j2").module, which)(**values))


def math_html(latex: str) -> Markup:
    """Inline math for HTML (the text is escaped: ``<`` in LaTeX would break the HTML); a template prints
    it as it is."""
    return Markup(r"\(" + html.escape(latex, quote=False) + r"\)")


def problem_html(solution: Solution | GraphSolution) -> str:
    """The network, its equations and its values (no computed value): ``lms/problem.html.j2`` words them; a
    computation graph's function, gates and values: ``lms/graph_problem.html.j2``."""
    if isinstance(solution, GraphSolution):
        graph = graph_sheet(solution, forward_shown=False)
        return render_html(
            "lms/graph_problem.html.j2", function=math_html(f"{graph['output']} = {graph['function']}"),
            gates=[math_html(f"{n['tex']} = {n['formula']}") for n in graph["nodes"]],
            values=[math_html(f"{name_tex(leaf.name)} = {exact_text(solution.values[leaf.name])}")
                    for leaf in solution.spec.leaves])
    spec, net = solution.spec, solution.network
    return render_html(
        "lms/problem.html.j2", n_inputs=spec.n_inputs, n_examples=net.n_examples,
        layers=[{"size": layer.size, "activation": layer.activation_name} for layer in net.layers],
        loss=math_html(f"{net[net.loss_name].latex} = {solution.formula(net.loss_name)}"),
        equations=[math_html(f"{q.latex} = {solution.formula(q.name)}") for q in net.of_kind("pre", "act")],
        values=[math_html(f"{q.latex} = {exact_text(solution.value(q.name))}")
                for q in net.of_kind("input", "target", "weight", "bias", "learning_rate")],
        frozen=[math_html(net[p].latex) for p in sorted(spec.frozen)])


def worked(solution: Solution | GraphSolution, items: Sequence[tuple[str, str]], formula: bool = True) -> list[str]:
    """Each asked value's worked line (LaTeX) for an LMS key's feedback, from its ``(name, latex)``: a network's
    ``latex = formula = numbers = result`` (without the formula: ``latex = numbers = result``); a graph's
    gate or gradient line as its handout works it."""
    if isinstance(solution, GraphSolution):
        lines = worked_lines(solution)
        return [str(lines[name]) for name, _ in items]
    out = []
    for name, latex in items:
        rhs = quantity_line(solution, name).rhs()
        shown = solution.formula(name) if formula else ""
        out.append(f"{latex} = {shown} = {rhs}" if shown else f"{latex} = {rhs}")
    return out
