"""One practice exercise from a seed: its page data, its marking by verify, its worked lines; an MLP's, or
a computation graph's of any kind (what a graph shows is `graphexercise`'s).

Stateless by design: everything is recomputed from (the teacher's spec, the seed) on each request, so
no student's answers are kept where another could read them.  The exercise is drawn exactly like exam
variant 1 of that seed (fair values, the ``[exam]`` ranges), so a shared address shows the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..documents.update_rule import rule_for_first
from ..engine.evaluate import leaf_values
from ..engine.graph import GraphSolution
from ..engine.solution import Solution
from ..errors import SymbackpropError
from ..exam.drawing import draw_variants
from ..exam.variants import asked_names
from ..marking.answers import Answer, Answers, Sheet, classify
from ..marking.verify import mark
from ..notation.diagram import diagram, value_labels
from ..notation.lines import exact_text, quantity_line
from ..notation.svg import layout_svg
from .graphexercise import graph_groups, graph_page, graph_reader, graph_step_lines

#: seeds are whole numbers in [0, MAX_SEED]
MAX_SEED = 10**9
#: characters of one answer (mathparse's own limit on a formula is 2,000)
MAX_ANSWER = 2000
#: seconds of symbolic work for one "check" (past it a formula's numeric verdict stands, with a note)
CHECK_SECONDS = 0.5
#: the tasks, in the lecture's order; "loss" is asked before the deltas, the loss after the update last
TASKS = (("forward", "Forward pass"), ("loss", "Loss"), ("deltas", "Deltas (error signals)"),
         ("gradients", "Gradients"), ("update", "Update (gradient descent)"), ("after", "Loss after the update"))


class PracticeError(SymbackpropError):
    """A request the app cannot answer (a bad seed, an unknown quantity, an answer too long)."""


@dataclass(frozen=True)
class Exercise:
    seed: int
    solution: Solution | GraphSolution
    tasks: tuple[tuple[str, str, tuple[str, ...]], ...]  # (key, title, quantity names)

    @property
    def asked(self) -> frozenset[str]:
        return frozenset(n for _, _, names in self.tasks for n in names)

    @cached_property
    def graph_lines(self) -> dict[str, str]:
        """A graph's worked lines, made once for the steps and the solution."""
        assert isinstance(self.solution, GraphSolution)
        return graph_step_lines(self.solution)


def parse_seed(text: str | None) -> int:
    if text is None or not text.isdigit() or len(text) > 10 or int(text) > MAX_SEED:
        raise PracticeError(f"seed: a whole number from 0 to {MAX_SEED}, got {(text or '')[:20]!r}")
    return int(text)


def draw(base: Solution | GraphSolution, seed: int) -> Exercise:
    """The fair exercise of this seed (exam variant 1 of ``seed``)."""
    settings = base.spec.exam
    variant = draw_variants(base, settings, 1, seed)[0][0]
    s = variant.solution
    if isinstance(s, GraphSolution):
        groups = graph_groups(s, settings.ask)
        return Exercise(seed, s, tuple((key, title, tuple(groups[key])) for key, title in TASKS if groups.get(key)))
    groups = dict(asked_names(s.network, settings.ask, variant.unasked))
    loss = groups.pop("loss", [])
    groups["loss"] = [n for n in loss if s.network[n].kind == "loss"]
    groups["after"] = [n for n in loss if s.network[n].kind == "post_loss"]
    tasks = tuple((key, title, tuple(groups[key])) for key, title in TASKS if groups.get(key))
    return Exercise(seed, s, tasks)


def page_data(ex: Exercise) -> dict[str, Any]:
    """What the page shows: the diagram (SVG), the given values and the tasks (no computed value)."""
    s = ex.solution
    if isinstance(s, GraphSolution):
        return graph_page(ex.seed, s, ex.tasks)
    net = s.network
    values = leaf_values(net)
    picture = diagram(net, True, None, value_labels(net, {n: s.value(n) for n in values}))
    assert picture.layout is not None
    # an optimizer's state before the first step is 0 by definition: said by its rule, not listed
    given = [{"name": n, "latex": s.latex(n), "value": exact_text(s.value(n))} for n in values
             if net[n].kind != "previous"]
    tasks = [{"key": key, "title": title, "items": [{"name": n, "latex": s.latex(n)} for n in names]}
             for key, title, names in ex.tasks]
    rule: list[str] = []
    rule_title = ""
    written = rule_for_first(s)
    if written is not None and s.spec.optimizer is not None:
        first, rule = written
        rule_title = (f"Update rule ({s.spec.optimizer.name}), written for {first.name}; every parameter the same "
                      "way, each state 0 before the first step:")
    return {"seed": ex.seed, "title": s.spec.title, "decimals": s.spec.decimals, "svg": layout_svg(picture.layout),
            "given": given, "tasks": tasks, "rule": rule, "rule_title": rule_title}


def check(ex: Exercise, answers: Mapping[str, Any]) -> dict[str, Any]:
    """verify's verdict and reason for every non-empty answer, the earlier ones carried forward."""
    entries = []
    for name, text in answers.items():
        if name not in ex.asked:
            raise PracticeError(f"answers: {name[:40]!r} is not asked in this exercise")
        if not isinstance(text, str):
            raise PracticeError(f"answers: {name}: the answer must be text")
        if len(text) > MAX_ANSWER:
            raise PracticeError(f"answers: {name}: at most {MAX_ANSWER} characters, got {len(text):,}")
        if text.strip():
            entries.append(Answer(name, text.strip(), classify(text)))
    if not entries:
        return {"rows": {}, "totals": "nothing to check yet"}
    report = mark(ex.solution, Answers(tuple(entries), Sheet(source="<page>")), seconds=CHECK_SECONDS)
    rows = {r.name: {"verdict": r.verdict, "label": r.label, "why": r.why, "form": r.form,
                     "why_parts": [list(p) for p in r.why_parts]} for r in report.rows}
    return {"rows": rows, "totals": report.totals_text()}


def step(ex: Exercise, name: str) -> dict[str, str]:
    """The worked line of one asked quantity (its formula with the numbers in, and the result)."""
    if name not in ex.asked:
        raise PracticeError(f"name: {name[:40]!r} is not asked in this exercise")
    if isinstance(ex.solution, GraphSolution):
        return {"name": name, "latex": ex.graph_lines[name]}
    return {"name": name, "latex": quantity_line(ex.solution, name).latex()}


def preview(ex: Exercise, text: str) -> dict[str, str]:
    """The LaTeX of what the student typed, parsed as verify parses it (a number stays as written)."""
    from ..engine.activations import FORMULA_FUNCTIONS
    from ..marking.mathparse import parse_formula

    if not isinstance(text, str) or len(text) > MAX_ANSWER:
        raise PracticeError(f"text: at most {MAX_ANSWER} characters")
    if not text.strip():
        return {"latex": ""}
    if classify(text) == "value":
        return {"latex": text.strip()}
    s = ex.solution
    if isinstance(s, GraphSolution):
        symbols, functions, printer = graph_reader(s)
    else:
        symbols = {name: q.symbol for name, q in s.network.quantities.items()}
        functions, printer = FORMULA_FUNCTIONS, s.printer.doprint
    try:
        expr = parse_formula(text, symbols, functions)
    except (SymbackpropError, ValueError, RecursionError) as err:
        return {"latex": "", "error": str(err).splitlines()[0][:300]}
    return {"latex": printer(expr)}
