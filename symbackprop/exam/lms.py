"""What both LMS exports (Moodle, Canvas) share: the problem as HTML, inline math, the names, the tolerance."""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup

from ..documents.graphhandout import graph_sheet, worked_lines
from ..documents.render import html_environment, markdown_environment, render_html
from ..documents.update_rule import rule_for_first
from ..engine.graph import GraphSolution
from ..engine.naming import STEP
from ..engine.solution import Solution
from ..errors import UsageError
from ..hints import quoted
from ..notation.lines import exact_text, quantity_line

__all__ = ["check_lms_lang", "lms_languages", "math_html", "name", "problem_html", "tolerance", "worked"]

#: the LMS texts' words: ``lms/lang/<code>.html.j2``, one file per language
LMS_LANG = "lms/lang/{}.html.j2"


def lms_languages() -> list[str]:
    """The languages the Moodle and Canvas question texts can be written in (shipped, and a teacher's)."""
    loader = html_environment().loader
    assert loader is not None
    head, tail = LMS_LANG.split("{}")
    return sorted(n[len(head):-len(tail)] for n in loader.list_templates()
                  if n.startswith(head) and n.endswith(tail) and "/" not in n[len(head):])


def check_lms_lang(lang: str, field: str = "lang") -> None:
    """One clear line, naming ``field``, for a language whose LMS words file is missing."""
    known = lms_languages()
    if lang not in known:
        raise UsageError(f"{field}: no Moodle/Canvas words for {quoted(lang, 30)} (add {LMS_LANG.format(lang)} "
                         f"to your templates; known: {', '.join(known)})", setting=field)


def tolerance(decimals: int) -> str:
    """Half a unit in the last displayed decimal: ``0.0005`` at 3 decimals."""
    return f"{Decimal(5).scaleb(-decimals - 1):f}"


def name(which: str, lang: str = "en", **values: object) -> str:
    """A plain-text name from ``lms/lang/<lang>.html.j2`` (``quiz``: "Title - variant 001 - Ada"), read
    without HTML escaping; the writer escapes it."""
    return str(getattr(markdown_environment().get_template(LMS_LANG.format(lang)).module, which)(**values))


def math_html(latex: str) -> Markup:
    """Inline math for HTML (the text is escaped: ``<`` in LaTeX would break the HTML); a template prints
    it as it is."""
    return Markup(r"\(" + html.escape(latex, quote=False) + r"\)")


def problem_html(solution: Solution | GraphSolution, lang: str = "en") -> str:
    """The network, its equations and its values (no computed value): ``lms/problem.html.j2`` lays them
    out; a computation graph's function, gates and values: ``lms/graph_problem.html.j2``; both in the words
    of ``lms/lang/<lang>.html.j2`` (made once per solution and language: Moodle's question and Canvas's
    first item show it)."""
    key = ("problem_html", lang)
    found = solution.memo.get(key)
    if not isinstance(found, str):
        found = solution.memo[key] = _problem_html(solution, lang)
    return found


def _problem_html(solution: Solution | GraphSolution, lang: str) -> str:
    if isinstance(solution, GraphSolution):
        graph = graph_sheet(solution, forward_shown=False)
        return render_html(
            "lms/graph_problem.html.j2", lang=lang, function=math_html(f"{graph['output']} = {graph['function']}"),
            gates=[math_html(f"{n['tex']} = {n['formula']}") for n in graph["nodes"]],
            # each value as the sheet's circuit writes it on its wire (w0 = -2.00, not -2)
            values=[math_html(f"{leaf['tex']} = {leaf['value']}") for leaf in graph["leaves"]])
    spec, net = solution.spec, solution.network
    return render_html(
        "lms/problem.html.j2", lang=lang, n_inputs=spec.n_inputs, n_examples=net.n_examples,
        layers=[{"size": layer.size, "activation": layer.activation_name} for layer in net.layers],
        loss=math_html(f"{net[net.loss_name].latex} = {solution.formula(net.loss_name)}"),
        equations=[math_html(f"{q.latex} = {solution.formula(q.name)}") for q in net.of_kind("pre", "act")],
        values=[math_html(f"{q.latex} = {exact_text(solution.value(q.name))}")
                for q in net.of_kind("input", "target", "weight", "bias", "learning_rate", "hyper")
                if q.name != STEP.ascii],
        rule=_rule(solution),
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


def _rule(solution: Solution) -> dict[str, object] | None:
    """An ``[optimizer]`` rule written for the first trainable parameter (every parameter the same way)."""
    written = rule_for_first(solution)
    if written is None or solution.spec.optimizer is None:
        return None
    first, lines = written
    return {"name": solution.spec.optimizer.name, "param": math_html(solution.latex(first.name)),
            "lines": [math_html(line) for line in lines]}
