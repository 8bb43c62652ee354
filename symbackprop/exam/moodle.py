"""Moodle XML: one Cloze ("embedded answers") question per exam variant.

Each asked value is a NUMERICAL subquestion ``{1:NUMERICAL:=0.378:0.0005}``:
full marks within half a unit of the last displayed decimal of the key's value
(the same answers ``symbackprop verify`` accepts at the displayed decimals).
Math is written in ``\\( \\)`` (MathJax / Moodle's TeX filter); the worked
solution (every asked quantity's formula, the numbers put in, the result) is
the question's general feedback.  Questions are preceded by a ``category``
pseudo-question, as Moodle's importer documents.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..documents.render import GENERATED_BY
from ..engine.examtable import ASK_TITLES
from ..io.usertext import xml_clean
from ..notation.lines import quantity_line
from .lms import math_html, problem_html, tolerance
from .variants import Variant, asked_values

__all__ = ["feedback_html", "moodle_xml", "question_html", "variant_tag"]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def question_html(variant: Variant, ask: Sequence[str]) -> str:
    s = variant.solution
    d = s.spec.decimals
    tol = tolerance(d)
    parts = [problem_html(s),
             f"<p>Compute one forward pass, the backward pass and one gradient-descent step. Give each value "
             f"rounded to {d} decimal places.</p>"]
    items = asked_values(variant, ask)
    group = None
    rows: list[str] = []
    for item in items:
        if item.group != group:
            if rows:
                parts.append("<ul>" + "".join(rows) + "</ul>")
                rows = []
            group = item.group
            parts.append(f"<p><strong>{html.escape(ASK_TITLES[group])}</strong></p>")
        rows.append(f"<li>{math_html(item.latex)} = {{1:NUMERICAL:={item.display}:{tol}}}</li>")
    if rows:
        parts.append("<ul>" + "".join(rows) + "</ul>")
    parts.append(variant_tag(variant))
    return "\n".join(parts)


def variant_tag(variant: Variant) -> str:
    """The line that names the variant in Moodle's Responses report (its question-text column), so that
    ``symbackprop mark`` marks each row against the right key."""
    return f"<p><small>symbackprop variant {variant.label}</small></p>"


def feedback_html(variant: Variant, ask: Sequence[str]) -> str:
    """The worked solution: each asked quantity as formula = numbers = result."""
    s = variant.solution
    parts = [f"<p>Worked solution (variant {variant.label}; values rounded half-up to {s.spec.decimals} "
             "decimals):</p>"]
    group = None
    for item in asked_values(variant, ask):
        if item.group != group:
            group = item.group
            parts.append(f"<p><strong>{html.escape(ASK_TITLES[group])}</strong></p>")
        formula = s.formula(item.name)
        rhs = quantity_line(s, item.name).rhs()
        text = f"{item.latex} = {formula} = {rhs}" if formula else f"{item.latex} = {rhs}"
        parts.append(f"<p>{math_html(text)}</p>")
    return "\n".join(parts)


def moodle_xml(variants: Sequence[Variant], ask: Sequence[str], category: str = "symbackprop exam") -> str:
    """The whole quiz: a category, then one Cloze question per variant."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!-- {GENERATED_BY} -->", "<quiz>",
           '  <question type="category">',
           f"    <category><text>{html.escape('$course$/top/' + category)}</text></category>",
           "  </question>"]
    for v in variants:
        name = f"{v.solution.spec.title} - variant {v.label}"
        if v.student:
            name += f" - {v.student.name}"
        out += [
            '  <question type="cloze">',
            f"    <name><text>{html.escape(name)}</text></name>",
            f'    <questiontext format="html"><text>{_cdata(question_html(v, ask))}</text></questiontext>',
            f'    <generalfeedback format="html"><text>{_cdata(feedback_html(v, ask))}</text></generalfeedback>',
            "    <penalty>0.3333333</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{html.escape(f'symbackprop-{v.seed}-{v.label}')}</idnumber>",
            "  </question>",
        ]
    out.append("</quiz>")
    return xml_clean("\n".join(out) + "\n")
