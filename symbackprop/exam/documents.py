"""One variant's files: its question sheet, answer key, answers file, variant spec, and the set's index."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import sympy

from ..documents.context import handout_context
from ..documents.handout import PARTIALS
from ..documents.render import Tex, header_comment, render_tex, words
from ..engine.numbers import display
from ..errors import ExamError
from ..io.tomltext import Table, toml_document
from ..io.usertext import csv_text
from .variants import Variant, asked_values, grouped

__all__ = ["answers_toml", "document", "index_csv", "key_body", "question_body", "variant_bodies", "variant_spec_toml"]

QUESTION_SECTIONS = ("problem", "diagram")


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
    return _question(variant, handout_context(variant.solution, QUESTION_SECTIONS, lang=lang), ask, early_rounding,
                     layout)


def key_body(variant: Variant, ask: Sequence[str], lang: str = "en") -> str:
    """One variant's answer key (no preamble): the handout's worked solution, then the table of asked values."""
    return _key(variant, handout_context(variant.solution, lang=lang), ask)


def variant_bodies(variant: Variant, ask: Sequence[str], early_rounding: bool = True, layout: str = "roomy",
                   lang: str = "en") -> tuple[str, str]:
    """(:func:`question_body`, :func:`key_body`) of one variant from one handout context: the sheet's
    problem and diagram are the key's."""
    ctx = handout_context(variant.solution, lang=lang)
    return _question(variant, ctx, ask, early_rounding, layout), _key(variant, ctx, ask)


def _question(variant: Variant, ctx: dict[str, Any], ask: Sequence[str], early_rounding: bool, layout: str) -> str:
    groups = grouped(asked_values(variant, ask), attrgetter("group"))
    return render_tex("exam/question_body.tex.j2", problem=ctx["problem"], diagram=ctx["diagram"], w=ctx["w"],
                      groups=groups, early_rounding=early_rounding, layout=layout,
                      **_common(variant, variant.solution.spec.title))


def _key(variant: Variant, ctx: dict[str, Any], ask: Sequence[str]) -> str:
    groups = grouped(asked_values(variant, ask), attrgetter("group"))
    common = _common(variant, variant.solution.spec.title)
    shown = {name: value for name, value in ctx.items() if name not in ("title", "decimals")}  # the common ones
    partials = {name: f"handout/{stem}.tex.j2" for name, stem in PARTIALS.items()}
    return render_tex("exam/key_body.tex.j2", partials=partials, groups=groups, **common, **shown)


def document(template: str, bodies: Sequence[str], title: str, lang: str = "en") -> str:
    """A whole document (preamble and all) around the bodies of one or more variants, in ``lang``."""
    return render_tex(template, bodies=[Tex(b) for b in bodies], title=title, w=words(lang))


def answers_toml(variant: Variant, ask: Sequence[str]) -> str:
    """The key as an answers file ``symbackprop verify`` reads (every asked value, as displayed)."""
    student = variant.student
    sheet = {"student": student.name if student else "", "title": variant.solution.spec.title}
    values = [(item.name, item.display) for item in asked_values(variant, ask)]
    return toml_document(_comments(variant, "answer key of variant"), {},
                         [Table("[sheet]", sheet), Table("[values]", values, quote_keys=True)])


def variant_spec_toml(variant: Variant) -> str:
    """The variant as a complete spec file: ``symbackprop verify variants/v001.toml answers/v001.toml``."""
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
    return toml_document(_comments(variant, "exam variant"), top,
                         [Table("[notation]", notation), Table("[network]", network),
                          Table("[parameters]", parameters, quote_keys=True), *examples])


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
