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
from operator import itemgetter

from markupsafe import Markup

from ..documents.render import GENERATED_BY, render_html
from ..io.usertext import xml_clean
from ..notation.lines import quantity_line
from .lms import math_html, name, problem_html, tolerance
from .variants import Variant, asked_values, grouped

__all__ = ["feedback_html", "moodle_xml", "question_html", "variant_tag"]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def question_html(variant: Variant, ask: Sequence[str]) -> str:
    """The question text: the exercise, then a NUMERICAL Cloze field per asked value (the template words it)."""
    s = variant.solution
    tol = tolerance(s.spec.decimals)
    items = [{"group": item.group, "latex": math_html(item.latex), "field": f"{{1:NUMERICAL:={item.display}:{tol}}}"}
             for item in asked_values(variant, ask)]
    return render_html("lms/moodle_question.html.j2", problem=Markup(problem_html(s)), decimals=s.spec.decimals,
                       groups=grouped(items, itemgetter("group")), tag=Markup(variant_tag(variant)))


def variant_tag(variant: Variant) -> str:
    """The line that names the variant in Moodle's Responses report (its question-text column), so that
    ``symbackprop mark`` marks each row against the right key."""
    return f"<p><small>symbackprop variant {variant.label}</small></p>"


def feedback_html(variant: Variant, ask: Sequence[str]) -> str:
    """The worked solution: each asked quantity as formula = numbers = result."""
    s = variant.solution
    items = []
    for item in asked_values(variant, ask):
        formula = s.formula(item.name)
        rhs = quantity_line(s, item.name).rhs()
        items.append({"group": item.group,
                      "line": math_html(f"{item.latex} = {formula} = {rhs}" if formula else f"{item.latex} = {rhs}")})
    return render_html("lms/moodle_feedback.html.j2", label=variant.label, decimals=s.spec.decimals,
                       groups=grouped(items, itemgetter("group")))


def moodle_xml(variants: Sequence[Variant], ask: Sequence[str], category: str = "symbackprop exam") -> str:
    """The whole quiz: a category, then one Cloze question per variant."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!-- {GENERATED_BY} -->", "<quiz>",
           '  <question type="category">',
           f"    <category><text>{html.escape('$course$/top/' + category)}</text></category>",
           "  </question>"]
    for v in variants:
        quiz = name("quiz", title=v.solution.spec.title, label=v.label, student=v.student.name if v.student else "")
        out += [
            '  <question type="cloze">',
            f"    <name><text>{html.escape(quiz)}</text></name>",
            f'    <questiontext format="html"><text>{_cdata(question_html(v, ask))}</text></questiontext>',
            f'    <generalfeedback format="html"><text>{_cdata(feedback_html(v, ask))}</text></generalfeedback>',
            "    <penalty>0.3333333</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{html.escape(f'symbackprop-{v.seed}-{v.label}')}</idnumber>",
            "  </question>",
        ]
    out.append("</quiz>")
    return xml_clean("\n".join(out) + "\n")
