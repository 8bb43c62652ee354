"""One variant's files: its question sheet, answer key, answers file, variant spec, and the set's index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from ..context import handout_context
from ..errors import ExamError
from ..examtable import ASK_GROUPS, ASK_TITLES
from ..handout import PARTIALS
from ..numbers import display
from ..render import Tex, header_comment, render_tex, tex_escape
from ..tomltext import toml_string
from ..usertext import csv_text
from .variants import Asked, Variant, asked_values

__all__ = ["answers_toml", "document", "index_csv", "key_body", "question_body", "variant_spec_toml"]

QUESTION_SECTIONS = ("problem", "diagram")


def _common(variant: Variant, title: str) -> dict[str, Any]:
    student = variant.student
    return {
        "label": variant.label,
        "seed": str(variant.seed),
        "title": title,
        "student_name": tex_escape(student.name) if student else Tex(r"\rule{5cm}{0.4pt}"),
        "student_header": tex_escape(student.name) if student else Tex(r"Name: \rule{4cm}{0.4pt}"),
        "student_id": student.id if student else "",
        "decimals": variant.solution.spec.decimals,
    }


def _groups(items: list[Asked]) -> list[dict[str, Any]]:
    """Asked values by group, packed two per row for the boxes / three per row for the key table."""
    out = []
    for group in ASK_GROUPS:
        members = [a for a in items if a.group == group]
        if members:
            out.append({"title": ASK_TITLES[group], "items": members,
                        "pairs": [members[i:i + 2] for i in range(0, len(members), 2)],
                        "triples": [members[i:i + 3] for i in range(0, len(members), 3)]})
    return out


def question_body(variant: Variant, ask: Sequence[str], early_rounding: bool = True) -> str:
    """One variant's question sheet (no preamble): the problem, the diagram, the boxes. No computed value."""
    s = variant.solution
    ctx = handout_context(s, QUESTION_SECTIONS)
    items = asked_values(variant, ask)
    return render_tex("exam/question_body.tex.j2", problem=ctx["problem"], diagram=ctx["diagram"],
                      groups=_groups(items), early_rounding=early_rounding, **_common(variant, s.spec.title))


def key_body(variant: Variant, ask: Sequence[str]) -> str:
    """One variant's answer key (no preamble): the handout's worked solution, then the table of asked values."""
    s = variant.solution
    ctx = handout_context(s)
    # the worked solution, the answer table, then the handout's appendix (verification)
    partials = [f"handout/{PARTIALS[name]}.tex.j2" for name in ctx["sections"] if name != "verification"]
    appendix = [f"handout/{PARTIALS[name]}.tex.j2" for name in ctx["sections"] if name == "verification"]
    items = asked_values(variant, ask)
    common = _common(variant, s.spec.title)
    for shared in ("title", "decimals"):
        ctx.pop(shared)
    return render_tex("exam/key_body.tex.j2", partials=partials, appendix=appendix, groups=_groups(items),
                      **common, **ctx)


def document(template: str, bodies: Sequence[str], title: str) -> str:
    """A whole document (preamble and all) around the bodies of one or more variants."""
    return render_tex(template, bodies=[Tex(b) for b in bodies], title=title)


def answers_toml(variant: Variant, ask: Sequence[str]) -> str:
    """The key as an answers file ``symbackprop verify`` reads (every asked value, as displayed)."""
    lines = [header_comment(comment="#").rstrip("\n"),
             f"# answer key of variant {variant.label}, seed {variant.seed}", "[sheet]"]
    student = variant.student
    lines.append(f"student = {toml_string(student.name if student else '')}")
    lines.append(f"title = {toml_string(variant.solution.spec.title)}")
    lines.append("")
    lines.append("[values]")
    for item in asked_values(variant, ask):
        lines.append(f"{toml_string(item.name)} = {toml_string(item.display)}")
    return "\n".join(lines) + "\n"


def variant_spec_toml(variant: Variant) -> str:
    """The variant as a complete spec file: ``symbackprop verify variants/v001.toml answers/v001.toml``."""
    spec = variant.solution.spec
    n = spec.notation
    lines = [header_comment(comment="#").rstrip("\n"), f"# exam variant {variant.label}, seed {variant.seed}",
             f"title = {toml_string(spec.title)}", f"author = {toml_string(spec.author)}",
             f"decimals = {spec.decimals}", f"learning_rate = {toml_string(_exact(spec.learning_rate))}",
             f"loss = {toml_string(spec.loss)}", f"reduction = {toml_string(spec.reduction)}",
             f"steps = {spec.steps}", "", "[notation]"]
    for key in ("scheme", "pre", "act", "loss", "target", "input"):
        lines.append(f"{key} = {toml_string(getattr(n, key))}")
    lines += ["", "[network]", f"inputs = {spec.n_inputs}", "layers = ["]
    for layer in spec.layers:
        slope = f", slope = {toml_string(_exact(layer.slope))}" if layer.slope is not None else ""
        lines.append(f"  {{ units = {layer.units}, activation = {toml_string(layer.activation)}{slope} }},")
    lines += ["]", f"bias = {toml_string('shared' if spec.shared_bias else 'per_neuron')}",
              "frozen = [" + ", ".join(toml_string(f) for f in sorted(spec.frozen)) + "]", "", "[parameters]"]
    for name, value in spec.parameters.items():
        lines.append(f"{toml_string(name)} = {toml_string(_exact(value))}")
    namer = spec.namer()
    for example in spec.examples:
        lines += ["", "[[examples]]"]
        for k, x in enumerate(example.inputs, start=1):
            lines.append(f"{toml_string(namer.input(k).ascii)} = {toml_string(_exact(x))}")
        for j, t in enumerate(example.targets, start=1):
            lines.append(f"{toml_string(namer.target(j).ascii)} = {toml_string(_exact(t))}")
    return "\n".join(lines) + "\n"


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
