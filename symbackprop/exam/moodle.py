"""Moodle XML: one Cloze ("embedded answers") question per exam variant.

Each asked value is a NUMERICAL subquestion ``{1:NUMERICAL:=0.378:0.0005}``:
full marks within half a unit of the last displayed decimal of the key's value
(the same answers ``symbackprop verify`` accepts at the displayed decimals); where the value rounded as
you go differs from the key (the set's early-rounding rule relaxed), it is a second answer at the marking
policy's early-rounding credit: ``{1:NUMERICAL:=0.427:0.0005~%50%0.428:0.0005#...}``.
Math is written in ``\\( \\)`` (MathJax / Moodle's TeX filter); the worked
solution (every asked quantity's formula, the numbers put in, the result) is
the question's general feedback.  Questions are preceded by a ``category``
pseudo-question, as Moodle's importer documents.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter

from markupsafe import Markup

from ..documents.render import GENERATED_BY, render_html
from ..io.usertext import xml_clean
from .lms import math_html, name, problem_html, tolerance, worked
from .variants import Asked, Variant, asked_values, grouped

__all__ = ["feedback_html", "moodle_question", "moodle_quiz", "moodle_xml", "question_html", "variant_tag"]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def question_html(variant: Variant, ask: Sequence[str], lang: str = "en", early_rounding: bool = True) -> str:
    """The question text: the exercise, then a NUMERICAL Cloze field per asked value (the template words it;
    without ``early_rounding``, the set's rule relaxed, it asks for intermediates carried unrounded)."""
    s = variant.solution
    tol = tolerance(s.spec.decimals)
    credit = variant.spec.exam.marking.credits["early_rounding"]
    # (before, after) the value rounded as you go in a field's second answer; none at no credit
    early = (f"~%{_percent(credit)}%", f":{tol}#{_cloze_text(name('early_feedback', lang))}") if credit else None
    items = [{"group": item.group, "latex": math_html(item.latex),
              "field": f"{{1:NUMERICAL:={item.display}:{tol}{_early(variant, item, early)}}}"}
             for item in asked_values(variant, ask)]
    return render_html("lms/moodle_question.html.j2", lang=lang, problem=Markup(problem_html(s, lang)),
                       decimals=s.spec.decimals, groups=grouped(items, itemgetter("group")),
                       tag=Markup(variant_tag(variant)), graph=variant.is_graph, early_rounding=early_rounding)


def _early(variant: Variant, item: Asked, alternative: tuple[str, str] | None) -> str:
    """The second answer of a field, ``~%50%0.377:0.0005#...``: the value rounded as you go, where it differs
    from the key, at the marking policy's early-rounding credit (as ``symbackprop mark`` gives it)."""
    rounded = variant.early.get(item.name)
    return "" if alternative is None or rounded in (None, item.display) else rounded.join(alternative)


def _percent(credit: Fraction) -> str:
    """A credit as Moodle's Cloze percentage: ``50``, ``33.33333``."""
    return format((Decimal(credit.numerator) * 100 / credit.denominator).quantize(Decimal("0.00001")).normalize(), "f")


def _cloze_text(text: str) -> str:
    """Feedback inside a Cloze field: its syntax characters escaped as Moodle reads them."""
    return re.sub(r"([}~#\\])", r"\\\1", text)


def variant_tag(variant: Variant) -> str:
    """The line that names the variant in Moodle's Responses report (its question-text column), so that
    ``symbackprop mark`` marks each row against the right key."""
    return f"<p><small>symbackprop variant {variant.label}</small></p>"


def feedback_html(variant: Variant, ask: Sequence[str], lang: str = "en") -> str:
    """The worked solution: each asked quantity as formula = numbers = result."""
    s = variant.solution
    asked = asked_values(variant, ask)
    lines = worked(s, [(item.name, item.latex) for item in asked])
    items = [{"group": item.group, "line": math_html(line)} for item, line in zip(asked, lines, strict=True)]
    return render_html("lms/moodle_feedback.html.j2", lang=lang, label=variant.label, decimals=s.spec.decimals,
                       groups=grouped(items, itemgetter("group")))


def moodle_question(variant: Variant, ask: Sequence[str], lang: str = "en", early_rounding: bool = True) -> str:
    """One variant's Cloze question (the ``<question>`` element, lines without the last newline), worded in
    ``lms/lang/<lang>.html.j2``."""
    v = variant
    text = question_html(v, ask, lang, early_rounding)
    quiz = name("quiz", lang, title=v.spec.title, label=v.label, student=v.student.name if v.student else "")
    return "\n".join([
        '  <question type="cloze">',
        f"    <name><text>{html.escape(quiz)}</text></name>",
        f'    <questiontext format="html"><text>{_cdata(text)}</text></questiontext>',
        f'    <generalfeedback format="html"><text>{_cdata(feedback_html(v, ask, lang))}</text></generalfeedback>',
        "    <penalty>0.3333333</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{html.escape(f'symbackprop-{v.seed}-{v.label}')}</idnumber>",
        "  </question>",
    ])


def moodle_quiz(questions: Iterable[str], category: str = "symbackprop exam") -> str:
    """The whole quiz: a category, then the questions (each from :func:`moodle_question`)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!-- {GENERATED_BY} -->", "<quiz>",
           '  <question type="category">',
           f"    <category><text>{html.escape('$course$/top/' + category)}</text></category>",
           "  </question>", *questions, "</quiz>"]
    return xml_clean("\n".join(out) + "\n")


def moodle_xml(variants: Sequence[Variant], ask: Sequence[str], category: str = "symbackprop exam",
               lang: str = "en", early_rounding: bool = True) -> str:
    """The whole quiz: a category, then one Cloze question per variant."""
    return moodle_quiz((moodle_question(v, ask, lang, early_rounding) for v in variants), category)
