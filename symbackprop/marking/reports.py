"""A marking report in three formats: a text table, JSON, and a LaTeX marked sheet."""

from __future__ import annotations

import json
from typing import Any

from ..io.texttable import text_table
from .verify import VERDICTS, Report, cell_text

__all__ = ["report_data", "report_json", "report_tex", "report_text"]


def report_text(report: Report) -> str:
    """A table for the terminal: name, given, expected, verdict, why; then the totals."""
    header = ("name", "given", "expected", "verdict", "why")
    cells = [(r.name, cell_text(r.given, 36), cell_text(r.expected, 36), r.label, r.why) for r in report.rows]
    lines = text_table([header, *cells], last_rule=3)
    title = f"{report.title}: " if report.title else ""
    who = f" ({report.student})" if report.student else ""
    lines.append("")
    lines.append(f"{title}{report.totals_text()}{who}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def report_data(report: Report) -> dict[str, Any]:
    return {
        "title": report.title,
        "student": report.student,
        "source": report.source,
        "decimals": report.decimals,
        "right": report.n_right,
        "total": len(report.rows),
        "totals": report.counts,
        "exit_code": report.exit_code,
        "rows": [{"name": r.name, "form": r.form, "given": r.given, "expected": r.expected,
                  "verdict": r.verdict, "label": r.label, "why": r.why} for r in report.rows],
    }


def report_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


def report_tex(report: Report) -> str:
    """A marked sheet a teacher can return (LaTeX); every piece of user text is escaped by the template."""
    from ..documents.render import (  # Jinja2 only for this format: text stays quick
        Tex,
        header_comment,
        render_tex,
        tex_escape,
    )

    rows = []
    for r in report.rows:
        symbol = Tex(f"${r.latex}$") if r.latex else r.name
        if r.form == "formula" and r.expected_latex:
            expected: str = Tex(f"${r.expected_latex}$")
        else:
            expected = r.expected
        # the formulas a diagnosis names as math (the project's printer), the words around them escaped
        why: str = (Tex("".join(f"${latex}$" if latex else tex_escape(text) for text, latex in r.why_parts))
                    if r.why_parts else r.why)
        tall = r"\frac" in f"{r.latex} {r.expected_latex} " + "".join(latex for _, latex in r.why_parts)
        rows.append({"symbol": symbol, "given": r.given, "expected": expected, "verdict": r.verdict,
                     "label": r.label, "why": why, "tall": tall})
    counts = [(VERDICTS[v], n) for v, n in report.counts.items() if n]
    return render_tex("verify_report.tex.j2", header=Tex(header_comment()), title=report.title or "answers",
                      student=report.student, source=report.source, decimals=report.decimals,
                      right=report.n_right, total=len(report.rows), counts=counts, rows=rows)


FORMATS = {"text": report_text, "json": report_json, "tex": report_tex}
