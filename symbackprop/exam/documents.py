"""One variant's files: its question sheet, answer key, answers file, variant spec, and the set's index."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import sympy

from ..documents.context import handout_context
from ..documents.graphhandout import GRAPH_PARTIALS, graph_context, graph_sheet
from ..documents.handout import PARTIALS
from ..documents.render import Tex, header_comment, render_tex, words
from ..engine.graph import GraphSolution
from ..engine.kinds import loads_graph
from ..engine.numbers import display
from ..engine.rnnspec import SHAPES as RNN_SHAPES
from ..engine.rnnspec import entry_name, rnn_layout, step_name
from ..errors import ExamError
from ..io.tomltext import Bare, Table, toml_document
from ..io.usertext import csv_text
from .variants import Variant, asked_values, grouped

__all__ = ["answers_toml", "document", "index_csv", "key_body", "question_body", "variant_bodies", "variant_spec_toml"]

QUESTION_SECTIONS = ("problem", "diagram")
#: a network key's partials: the handout's
HANDOUT_PARTIALS = {name: f"handout/{stem}.tex.j2" for name, stem in PARTIALS.items()}


def _common(variant: Variant, title: str) -> dict[str, Any]:
    """What every sheet says about its variant: the templates decide the name line and the header."""
    student = variant.student
    return {
        "label": variant.label,
        "seed": str(variant.seed),
        "title": title,
        "student": student.name if student else "",
        "student_id": student.id if student else "",
        "decimals": variant.solution.spec.decimals,
    }


def question_body(variant: Variant, ask: Sequence[str], early_rounding: bool = True, layout: str = "roomy",
                  lang: str = "en") -> str:
    """One variant's question sheet (no preamble): the problem, the diagram, the boxes. No computed value.

    ``layout`` (``[exam] layout``) and ``lang`` (a words file ``lang/<lang>.j2``) go to the templates,
    which decide what a roomy or compact sheet looks like and every word on it."""
    s = variant.solution
    if isinstance(s, GraphSolution):  # the circuit to fill in: the gates' values shown unless asked
        return render_tex("exam/graph_question_body.tex.j2", graph=graph_sheet(s, "forward" not in ask), w=words(lang),
                          groups=grouped(asked_values(variant, ask), attrgetter("group")),
                          early_rounding=early_rounding, layout=layout, second_pass=0,
                          **_common(variant, s.spec.title))
    return _question(variant, handout_context(s, QUESTION_SECTIONS, lang=lang), ask, early_rounding, layout)


def key_body(variant: Variant, ask: Sequence[str], lang: str = "en") -> str:
    """One variant's answer key (no preamble): the handout's worked solution, then the table of asked values."""
    s = variant.solution
    if isinstance(s, GraphSolution):  # the graph's handout: the circuit with values above, gradients below
        ctx = graph_context(s, lang) | {"sections": ["graph", "verification"]}
        return _key(variant, ctx, ask, dict(zip(ctx["sections"], GRAPH_PARTIALS, strict=True)))
    return _key(variant, handout_context(s, lang=lang), ask, HANDOUT_PARTIALS)


def variant_bodies(variant: Variant, ask: Sequence[str], early_rounding: bool = True, layout: str = "roomy",
                   lang: str = "en") -> tuple[str, str]:
    """(:func:`question_body`, :func:`key_body`) of one variant; a network's from one handout context (the
    sheet's problem and diagram are the key's)."""
    if isinstance(variant.solution, GraphSolution):
        return question_body(variant, ask, early_rounding, layout, lang), key_body(variant, ask, lang)
    ctx = handout_context(variant.solution, lang=lang)
    return _question(variant, ctx, ask, early_rounding, layout), _key(variant, ctx, ask, HANDOUT_PARTIALS)


def _question(variant: Variant, ctx: dict[str, Any], ask: Sequence[str], early_rounding: bool, layout: str) -> str:
    groups = grouped(asked_values(variant, ask), attrgetter("group"))
    return render_tex("exam/question_body.tex.j2", problem=ctx["problem"], diagram=ctx["diagram"], w=ctx["w"],
                      groups=groups, early_rounding=early_rounding, layout=layout,
                      second_pass=sum(1 for _ in variant.solution.network.of_kind("pre", "act")),
                      **_common(variant, variant.solution.spec.title))


def _key(variant: Variant, ctx: dict[str, Any], ask: Sequence[str], partials: dict[str, str]) -> str:
    groups = grouped(asked_values(variant, ask), attrgetter("group"))
    common = _common(variant, variant.solution.spec.title)
    shown = {name: value for name, value in ctx.items() if name not in ("title", "decimals")}  # the common ones
    return render_tex("exam/key_body.tex.j2", partials=partials, groups=groups, **common, **shown)


def document(template: str, bodies: Sequence[str], title: str, lang: str = "en") -> str:
    """A whole document (preamble and all) around the bodies of one or more variants, in ``lang``."""
    plots = any(r"\begin{axis}" in b for b in bodies)  # an optimizer's loss curve (pgfplots) in a key
    return render_tex(template, bodies=[Tex(b) for b in bodies], title=title, w=words(lang), plots=plots)


def answers_toml(variant: Variant, ask: Sequence[str]) -> str:
    """The key as an answers file ``symbackprop verify`` reads (every asked value, as displayed)."""
    student = variant.student
    sheet = {"student": student.name if student else "", "title": variant.solution.spec.title}
    values = [(item.name, item.display) for item in asked_values(variant, ask)]
    return toml_document(_comments(variant, "answer key of variant"), {},
                         [Table("[sheet]", sheet), Table("[values]", values, quote_keys=True)])


def variant_spec_toml(variant: Variant) -> str:
    """The variant as a complete spec file: ``symbackprop verify variants/v001.toml answers/v001.toml``."""
    if variant.is_graph:
        return rnn_spec_toml(variant) if variant.spec.kind == "rnn" else graph_spec_toml(variant)
    spec = variant.solution.spec
    top = {"title": spec.title, "author": spec.author, "decimals": spec.decimals,
           "learning_rate": _exact(spec.learning_rate), "loss": spec.loss, "reduction": spec.reduction,
           "steps": spec.steps}
    notation = {key: getattr(spec.notation, key) for key in ("scheme", "pre", "act", "loss", "target", "input")}
    layers = [{"units": layer.units, "activation": layer.activation}
              | ({"slope": _exact(layer.slope)} if layer.slope is not None else {}) for layer in spec.layers]
    network = {"inputs": spec.n_inputs, "layers": layers, "bias": "shared" if spec.shared_bias else "per_neuron",
               "frozen": sorted(spec.frozen)}
    parameters = {name: _exact(value) for name, value in spec.parameters.items()}
    namer = spec.namer()
    examples = [Table("[[examples]]", [(namer.input(k).ascii, _exact(x)) for k, x in enumerate(example.inputs, 1)]
                      + [(namer.target(j).ascii, _exact(t)) for j, t in enumerate(example.targets, 1)],
                      quote_keys=True)
                for example in spec.examples]
    optimizer = [] if spec.optimizer is None else [
        Table("[optimizer]", {k: _exact(v) if isinstance(v, sympy.Rational) else v
                              for k, v in spec.optimizer.table().items()})]
    return toml_document(_comments(variant, "exam variant"), top,
                         [Table("[notation]", notation), Table("[network]", network),
                          Table("[parameters]", parameters, quote_keys=True), *examples, *optimizer])


def graph_spec_toml(variant: Variant) -> str:
    """A graph variant as a ``[graph]`` spec (whichever table built the graph: its gates as formulas over
    earlier names, its drawn inputs and parameters), read back to the same gates before it is written."""
    spec = variant.spec
    top = {"title": spec.title, "decimals": spec.decimals, "output": spec.output}
    for kind in ("input", "parameter"):  # a builder's other data (an RNN's initial state, its targets): inputs
        leaves = {leaf.name: Bare(_exact(leaf.value)) for leaf in spec.leaves
                  if (leaf.kind == "parameter") == (kind == "parameter")}
        if leaves:
            top[kind + "s"] = leaves
    tables = [Table("[graph]", top), Table("[graph.nodes]", [(n.name, n.text) for n in spec.nodes])]
    return _read_back(variant, tables, "the gates written as formulas do not read back the same")


def _read_back(variant: Variant, tables: list[Table], problem: str) -> str:
    """The variant's spec file of ``tables`` (and its language), refused unless it reads back to the same gates."""
    spec = variant.spec
    if spec.lang:
        tables.append(Table("[templates]", {"lang": spec.lang}))
    text = toml_document(_comments(variant, "exam variant"), {}, tables)
    again = loads_graph(text, f"variants/{variant.stem}.toml")
    # compared as text: a builder may make its names without assumptions
    if _gate_texts(tuple(n.definition for n in again.nodes)) != _gate_texts(tuple(n.definition for n in spec.nodes)):
        raise ExamError(f"exam: variant {variant.label}: {problem}")
    return text


@functools.lru_cache(maxsize=256)  # every variant of a set has the same gates
def _gate_texts(definitions: tuple[sympy.Expr, ...]) -> tuple[str, ...]:
    return tuple(str(d) for d in definitions)


def rnn_spec_toml(variant: Variant) -> str:
    """An RNN variant as an ``[rnn]`` spec (so verify names a missing time step as one), its drawn values in
    the table's own shapes, read back to the same gates before it is written."""
    spec = variant.spec
    lay = rnn_layout(spec)
    value = {leaf.name: Bare(_exact(leaf.value)) for leaf in spec.leaves}

    def shaped(base: str, rows: int, cols: int) -> Any:
        """A number, a list or a list of rows, as the table writes a matrix of this shape (h0: by unit)."""
        name = (lambda i, j: step_name("h", 0, i, rows)) if base == "h0" else (
            lambda i, j: entry_name(base, rows, cols, i, j))
        entries = [[value[name(i, j)] for j in range(cols)] for i in range(rows)]
        return entries[0][0] if rows == cols == 1 else [e for row in entries for e in row] if 1 in (rows, cols) \
            else entries

    steps = [[value[step_name("x", t, i, lay.size)] for i in range(lay.size)] for t in range(1, lay.steps + 1)]
    top = {"title": spec.title, "decimals": spec.decimals, "hidden": lay.hidden, "activation": lay.activation,
           "output": "every" if len(lay.outputs) > 1 else "last", "loss": lay.loss,
           "inputs": [s[0] if lay.size == 1 else s for s in steps], "targets": [value[f"t{t}"] for t in lay.outputs],
           "h0": shaped("h0", lay.hidden, 1)}
    parameters = {base: shaped(base, *shape(lay.hidden, lay.size)) for base, shape in RNN_SHAPES.items()}
    tables = [Table("[rnn]", top), Table("[rnn.parameters]", parameters)]
    return _read_back(variant, tables, "the [rnn] table written does not read back the same gates")


def _comments(variant: Variant, what: str) -> list[str]:
    return [header_comment(comment="#").rstrip("\n"), f"# {what} {variant.label}, seed {variant.seed}"]


def _exact(value: sympy.Rational) -> str:
    """An exact decimal's text (spec values are decimals; other rationals as 40 decimals would lose them)."""
    places = _decimals_of(value)
    if places < 0:
        raise ExamError(f"exam: the value {value} has no finite decimal form")
    return display(value, places)


def _decimals_of(value: sympy.Rational) -> int:
    q = int(sympy.Rational(value).q)
    for places in range(0, 40):
        if (10**places) % q == 0:
            return places
    return -1


def index_csv(variants: Sequence[Variant]) -> str:
    """The set's table of contents (names neutralised for spreadsheets: ``=HYPERLINK(...)`` prints as text)."""
    return csv_text(["variant", "seed", "student_id", "student_name", "questions", "key", "answers"],
                    ([v.label, v.seed, v.student.id if v.student else "", v.student.name if v.student else "",
                      f"questions/{v.stem}.tex", f"keys/{v.stem}.tex", f"answers/{v.stem}.toml"] for v in variants))
