"""The files ``symbackprop mark`` writes, rendered in memory first (nothing is written until all are
ready): the gradebook, the class summary, and one marked sheet per student."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .classmarks import ClassMarks, Marked
from .classreport import class_summary_tex, class_summary_text
from .gradebook import gradebook_csv, points_text
from .reports import Counted, report_tex, report_text

__all__ = ["MarkFiles", "mark_files", "sheet_stem"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass
class MarkFiles:
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes
    pdfs: list[tuple[str, str]] = field(default_factory=list)  # (LaTeX, relative path of its PDF)
    sheets: list[tuple[str, str]] = field(default_factory=list)  # the same, for the marked sheets


def sheet_stem(m: Marked) -> str:
    """A file name for a student's sheet: their id made safe, and the variant (ids may repeat once made safe)."""
    ident = _UNSAFE.sub("_", m.student_id).strip("._") or "student"
    return f"{ident[:60]}-v{m.variant}"


def _sheet_head(m: Marked) -> str:
    """Who, the variant, the points and the verdicts: the first line of a student's marked sheet."""
    return m.report.words.sheet_head(m.name or m.student_id, m.student_id, m.variant, points_text(m.points),
                                     points_text(m.possible), m.verdicts_text())


def _counted(m: Marked) -> Counted:
    """What the student's sheet counts: the head line, the asked values, the ones left empty."""
    return Counted(_sheet_head(m), m.asked, m.unanswered)


def _sheet_text(m: Marked) -> str:
    return report_text(m.report, _counted(m))


def mark_files(marks: ClassMarks, title: str, gradebook: str, assignment: str, pdf: bool = False) -> MarkFiles:
    """Every output of a marking run, as bytes (and the LaTeX of the PDFs ``--pdf`` asks for)."""
    out = MarkFiles()
    out.files[f"gradebook-{gradebook}.csv"] = gradebook_csv(marks.marked, gradebook, assignment).encode()
    out.files["summary.txt"] = class_summary_text(marks, title).encode()
    latex = {r.name: r.latex for m in marks.marked for r in m.report.rows if r.latex}
    summary_tex = class_summary_tex(marks, title, latex)
    out.files["summary.tex"] = summary_tex.encode()
    for m in marks.marked:
        stem = sheet_stem(m)
        out.files[f"sheets/{stem}.txt"] = _sheet_text(m).encode()
        if pdf:
            out.sheets.append((report_tex(m.report, _counted(m)), f"sheets/{stem}.pdf"))
    if pdf:
        out.pdfs.append((summary_tex, "summary.pdf"))
    return out
