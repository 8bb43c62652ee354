"""The class summary a teacher reads instead of 300 reports: points per student, verdict totals, and
the most common mistakes per quantity (as text, and as a LaTeX page with a bar chart)."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

from ..io.texttable import text_table
from .classmarks import ClassMarks, verdict_labels, verdict_totals
from .gradebook import points_text

__all__ = ["class_summary_tex", "class_summary_text", "top_mistakes"]

#: mistakes listed (and drawn) in the summary
TOP_MISTAKES = 15


def top_mistakes(marks: ClassMarks, limit: int = TOP_MISTAKES) -> list[tuple[str, str, int]]:
    """(quantity, diagnosis, students), most students first; of as many, a mistake before a gap, then
    in the variants' asked order."""
    order = {name: i for m in marks.marked for i, (name, _) in enumerate(m.verdicts)}
    tally: Counter[tuple[str, str]] = marks.mistakes()
    not_answered = marks.words.not_answered
    ranked = sorted(tally.items(), key=lambda item: (-item[1], item[0][1] == not_answered,
                                                     order.get(item[0][0], 0), item[0][1]))
    return [(name, what, n) for (name, what), n in ranked[:limit]]


def _mean(marks: ClassMarks) -> tuple[Fraction, Fraction]:
    n = len(marks.marked)
    if not n:
        return Fraction(0), Fraction(0)
    return (sum((m.points for m in marks.marked), Fraction(0)) / n,
            sum((m.possible for m in marks.marked), Fraction(0)) / n)


def _totals(marks: ClassMarks) -> list[tuple[str, int]]:
    labels = verdict_labels(marks.words)
    return [(labels[v], n) for v, n in verdict_totals(marks.marked).items() if n]


def class_summary_text(marks: ClassMarks, title: str) -> str:
    """The summary for the terminal and ``summary.txt``, in the marks' words."""
    w = marks.words
    lines = [f"{title}: {marks.summary()}"]
    if marks.marked:
        mean, possible = _mean(marks)
        lines.append(f"{w.class_mean(points_text(mean), points_text(possible))}; {w.class_answers(_totals(marks))}")
        lines.append("")
        rows = [tuple(w.class_columns)]
        rows += [(m.student_id or m.name or "-", m.variant, f"{points_text(m.points)}/{points_text(m.possible)}",
                  m.verdicts_text()) for m in marks.marked]
        lines += text_table(rows)
    mistakes = top_mistakes(marks)
    if mistakes:
        lines += ["", f"{w.mistakes_title}:"]
        lines += text_table([tuple(w.mistake_columns), *((q, d, str(n)) for q, d, n in mistakes)])
    if marks.skipped:
        lines += ["", f"{w.skipped_title}:"] + [f"  {s.line()}" for s in marks.skipped]
    if marks.absent:
        lines += ["", w.no_response(marks.absent)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def class_summary_tex(marks: ClassMarks, title: str, latex_names: dict[str, str]) -> str:
    """The summary as a LaTeX document (``mark_summary.tex.j2``): the template draws the chart."""
    from ..documents.render import Tex, header_comment, render_tex, tex_escape

    mean, possible = _mean(marks)
    parts = marks.mistake_parts()
    mistakes: list[dict[str, Any]] = [
        {"symbol": Tex(f"${latex_names[q]}$") if q in latex_names else q, "name": q,
         "what": Tex("".join(f"${latex}$" if latex else str(tex_escape(text)) for text, latex in parts[(q, what)])),
         "n": n}
        for q, what, n in top_mistakes(marks)]
    students = [{"id": m.student_id, "name": m.name, "variant": m.variant,
                 "points": points_text(m.points), "possible": points_text(m.possible),
                 "right": m.right, "total": len(m.verdicts)} for m in marks.marked]
    return render_tex("mark_summary.tex.j2", w=marks.words, header=Tex(header_comment()), title=title,
                      summary=marks.summary(),
                      mean=points_text(mean), possible=points_text(possible), totals=_totals(marks),
                      mistakes=mistakes, most=max((m["n"] for m in mistakes), default=1), students=students,
                      skipped=[s.line() for s in marks.skipped], absent=marks.absent)
