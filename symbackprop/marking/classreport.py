"""The class summary a teacher reads instead of 300 reports: points per student, verdict totals, and
the most common mistakes per quantity (as text, and as a LaTeX page with a bar chart)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..io.texttable import text_table
from .classmarks import ClassMarks, verdict_labels, verdict_totals
from .gradebook import points_text

__all__ = ["class_summary_tex", "class_summary_text", "top_blanks", "top_mistakes"]

#: mistakes listed (and drawn) in the summary
TOP_MISTAKES = 15
#: quantities listed as left blank most often
TOP_BLANKS = 10


def _asked_order(marks: ClassMarks) -> dict[str, int]:
    return {name: i for m in marks.marked for i, (name, _) in enumerate(m.verdicts)}


def top_mistakes(marks: ClassMarks, limit: int = TOP_MISTAKES) -> list[tuple[str, str, int]]:
    """(quantity, diagnosis, students) for the answers given and not marked correct, most students first, then in
    the variants' asked order.  A value left blank is not a mistake to teach from: a few students who stopped early
    would otherwise fill the chart (they are counted by :func:`top_blanks`)."""
    order = _asked_order(marks)
    not_answered = marks.words.not_answered
    tally = [(key, n) for key, n in marks.mistakes().items() if key[1] != not_answered]
    ranked = sorted(tally, key=lambda item: (-item[1], order.get(item[0][0], 0), item[0][1]))
    return [(name, what, n) for (name, what), n in ranked[:limit]]


def top_blanks(marks: ClassMarks, limit: int = TOP_BLANKS) -> list[tuple[str, int]]:
    """(quantity, students) for the asked values left blank, most students first, then in the asked order (where a
    class ran out of time shows as the last quantities)."""
    order = _asked_order(marks)
    not_answered = marks.words.not_answered
    tally = [(name, n) for (name, what), n in marks.mistakes().items() if what == not_answered]
    return sorted(tally, key=lambda item: (-item[1], order.get(item[0], 0)))[:limit]


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
    blanks = top_blanks(marks)
    if blanks:
        lines += ["", f"{w.blanks_title}:"]
        lines += text_table([tuple(w.blank_columns), *((q, str(n)) for q, n in blanks)])
    if marks.skipped:
        lines += ["", f"{w.skipped_title}:"] + [f"  {s.line()}" for s in marks.skipped]
    if marks.absent:
        lines += ["", w.no_response(marks.absent)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def class_summary_tex(marks: ClassMarks, title: str, latex_names: dict[str, str]) -> str:
    """The summary as a LaTeX document (``mark_summary.tex.j2``): the template draws the chart."""
    from ..documents.render import Tex, header_comment, render_tex, tex_prose

    def symbol(q: str) -> Tex | str:
        return Tex(f"${latex_names[q]}$") if q in latex_names else q

    mean, possible = _mean(marks)
    parts = marks.mistake_parts()
    mistakes: list[dict[str, Any]] = [
        {"symbol": symbol(q), "name": q,
         "what": Tex("".join(f"${latex}$" if latex else str(tex_prose(text)) for text, latex in parts[(q, what)])),
         "n": n}
        for q, what, n in top_mistakes(marks)]
    blanks = [{"symbol": symbol(q), "name": q, "n": n} for q, n in top_blanks(marks)]
    students = [{"id": m.student_id, "name": m.name, "variant": m.variant,
                 "points": points_text(m.points), "possible": points_text(m.possible),
                 "right": m.right, "total": len(m.verdicts)} for m in marks.marked]
    return render_tex("mark_summary.tex.j2", w=marks.words, header=Tex(header_comment()), title=title,
                      summary=marks.summary(),
                      mean=points_text(mean), possible=points_text(possible), totals=_totals(marks),
                      mistakes=mistakes, blanks=blanks, most=max((m["n"] for m in mistakes), default=1),
                      students=students,
                      skipped=[s.line() for s in marks.skipped], absent=marks.absent)
