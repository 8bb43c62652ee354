"""What both LMS exports (Moodle, Canvas) say alike: the problem as HTML, inline math, the tolerance."""

from __future__ import annotations

import html
from decimal import Decimal

from ..engine.solution import Solution
from ..notation.lines import exact_text

__all__ = ["math_html", "problem_html", "tolerance"]


def tolerance(decimals: int) -> str:
    """Half a unit in the last displayed decimal: ``0.0005`` at 3 decimals."""
    return f"{Decimal(5).scaleb(-decimals - 1):f}"


def math_html(latex: str) -> str:
    """Inline math for HTML (the text is escaped: ``<`` in LaTeX would break the HTML)."""
    return r"\(" + html.escape(latex, quote=False) + r"\)"


def problem_html(solution: Solution) -> str:
    """The network, its equations and its values (no computed value)."""
    spec, net = solution.spec, solution.network
    layers = ", ".join(f"{layer.size} {layer.activation_name}" for layer in net.layers)
    loss = math_html(f"{net[net.loss_name].latex} = {solution.formula(net.loss_name)}")
    plural = "s" if net.n_examples > 1 else ""
    parts = [f"<p>A feed-forward network with {spec.n_inputs} inputs and layers of {html.escape(layers)} units "
             f"(the last is the output), trained on {net.n_examples} example{plural} with the loss {loss}.</p>"]
    equations = [math_html(f"{q.latex} = {solution.formula(q.name)}") for q in net.of_kind("pre", "act")]
    parts.append("<p>Equations: " + ", ".join(equations) + ".</p>")
    given = [math_html(f"{q.latex} = {exact_text(solution.value(q.name))}")
             for q in net.of_kind("input", "target", "weight", "bias", "learning_rate")]
    parts.append("<p>Values: " + ", ".join(given) + ".</p>")
    if spec.frozen:
        parts.append("<p>Frozen (not updated): " + ", ".join(math_html(net[p].latex) for p in sorted(spec.frozen))
                     + ".</p>")
    return "\n".join(parts)
