"""A marking report in three formats: a text table, JSON, and a LaTeX marked sheet."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..io.scripts import rtl_runs
from ..io.texttable import text_table
from .verify import Report, Row, cell_text

__all__ = ["Counted", "report_data", "report_json", "report_tex", "report_text", "typed_pieces"]


@dataclass(frozen=True)
class Counted:
    """What a class's marked sheet counts: the asked values (their verdicts make the points, the head line
    says them) and the rows left empty, shown in the asked order among the marked ones."""

    head: str  # the sheet's first line: who, the variant, the points, the asked values' verdicts
    asked: tuple[str, ...]
    unanswered: tuple[Row, ...] = ()

    def rows(self, report: Report) -> list[Row]:
        """The report's rows with each unanswered value before the first row of a later asked name."""
        order = {name: i for i, name in enumerate(self.asked)}
        pending = sorted(self.unanswered, key=lambda r: order[r.name])
        out: list[Row] = []
        for row in report.rows:
            at = order.get(row.name)
            while pending and at is not None and order[pending[0].name] < at:
                out.append(pending.pop(0))
            out.append(row)
        return out + pending

    def also(self, report: Report) -> tuple[int, int] | None:
        """(right, rows) of the marked rows that earn no points (formulas, names not asked); None when none."""
        asked = set(self.asked)
        others = [r for r in report.rows if not (r.form == "value" and r.name in asked)]
        return (sum(r.right for r in others), len(others)) if others else None


def report_text(report: Report, counted: Counted | None = None) -> str:
    """A table for the terminal, then the totals: ``verify_report.txt.j2`` words it, the code pads the columns.
    ``counted``: a class's sheet (its head line instead of the totals, its empty answers among the rows)."""
    from ..documents.render import render_markdown  # the plain-text environment: nothing escaped

    def table(rows: list[list[str]]) -> str:
        return "\n".join(text_table(rows, last_rule=3))

    rows = [{"name": r.name, "given": cell_text(r.given, 36), "expected": cell_text(r.expected, 36),
             "verdict": r.verdict, "why": r.why} for r in (counted.rows(report) if counted else report.rows)]
    text = render_markdown("verify_report.txt.j2", w=report.words, table=table, rows=rows, title=report.sheet.title,
                           student=report.sheet.student, right=report.n_right, total=len(report.rows),
                           counts=report.labelled_counts(), head=counted.head if counted else "", counted=counted,
                           also=counted.also(report) if counted else None)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def report_data(report: Report) -> dict[str, Any]:
    return {
        "title": report.sheet.title,
        "student": report.sheet.student,
        "source": report.sheet.source,
        "decimals": report.decimals,
        "right": report.n_right,
        "total": len(report.rows),
        "totals": report.counts,
        "exit_code": report.exit_code,
        "rows": [{"name": r.name, "form": r.form, "given": r.given, "expected": r.expected,
                  "verdict": r.verdict, "label": report.words.verdicts[r.verdict], "why": r.why} for r in report.rows],
    }


def report_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


def report_tex(report: Report, counted: Counted | None = None) -> str:
    """A marked sheet a teacher can return (LaTeX); every piece of user text is escaped by the template.
    ``counted``: a class's sheet (its head line instead of the result, its empty answers among the rows).

    The rows carry meaning (the symbol and formulas as LaTeX, the typed answer in pieces, the verdict's
    key); ``verify_report.tex.j2`` decides the words, the marks, the columns and where lines break.
    """
    from ..documents.render import Tex, render_tex, tex_prose  # Jinja2 only for this format: text stays quick

    rows = []
    for r in (counted.rows(report) if counted else report.rows):
        symbol = Tex(f"${r.latex}$") if r.latex else r.name
        if r.form == "formula" and r.expected_latex:
            expected: str = Tex(f"${r.expected_latex}$")
        elif _NUMBER.fullmatch(r.expected):  # a displayed value: its minus sign a minus, not a hyphen
            expected = Tex(f"${r.expected}$")
        else:
            expected = r.expected
        # the formulas a diagnosis names as math (the project's printer), the words around them escaped
        why: str = (Tex("".join(f"${latex}$" if latex else tex_prose(text) for text, latex in r.why_parts))
                    if r.why_parts else tex_prose(r.why))
        tall = r"\frac" in f"{r.latex} {r.expected_latex} " + "".join(latex for _, latex in r.why_parts)
        rows.append({"symbol": symbol, "given": typed_pieces(r.given), "expected": expected,
                     "verdict": r.verdict, "why": why, "tall": tall})
    counts = [(v, n) for v, n in report.counts.items() if n]
    sheet = report.sheet
    return render_tex("verify_report.tex.j2", w=report.words, title=sheet.title, student=sheet.student,
                      source=sheet.source, decimals=report.decimals, right=report.n_right, total=len(report.rows),
                      counts=counts, rows=rows, head=counted.head if counted else "",
                      also=counted.also(report) if counted else None)


#: a displayed value (``-0.950``, ``2.26e-4`` is not one: it stays as written)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


#: Operators a typed formula may break after (``**`` and ``^`` bind too tightly to break at).
_BREAK_AFTER = frozenset("+-*=,;")


def typed_pieces(text: str) -> list[dict[str, Any]]:
    """A typed answer in the pieces a line may break between, each with the bracket depth of its break.

    A piece ends after a binary operator or a comma (and the spaces after it); a sign (``-x``, ``(-1)``,
    ``1e-4``), ``**``, and a ``/`` without spaces (``dE/dw1``) never end one, and spaces alone never
    do: ``sigma( z_h2 )`` stays whole.  Its ``units`` are its characters, a Hebrew or Arabic run kept whole.
    """
    text = unicodedata.normalize("NFC", text)  # the template escapes it character by character
    pieces: list[dict[str, Any]] = []
    start = depth = i = 0
    while i < len(text):
        ch = text[i]
        depth += (ch in "([{") - (ch in ")]}")
        end = i + 1
        if text.startswith("**", i):
            end = i + 2
        elif (ch in _BREAK_AFTER and not _is_sign(text, i)) or text.startswith("/ ", i):
            while text.startswith(" ", end):
                end += 1
            if end < len(text):
                pieces.append({"text": text[start:end], "depth": max(depth, 0)})
                start = end
        i = end
    pieces.append({"text": text[start:], "depth": 0})
    for piece in pieces:  # what the template escapes one by one: a character, or a right-to-left run whole
        piece["units"] = [unit for run, rtl in rtl_runs(piece["text"]) for unit in ([run] if rtl else run)]
    return pieces


def _is_sign(text: str, i: int) -> bool:
    """Whether the ``+`` or ``-`` at ``i`` is a sign: first, after an operator or bracket, or in ``1e-4``."""
    if text[i] not in "+-":
        return False
    before = text[:i].rstrip()
    if not before or before[-1] in "([{,;=+-*/^":
        return True
    return i >= 2 and text[i - 1] in "eE" and (text[i - 2].isdigit() or text[i - 2] == ".")


FORMATS = {"text": report_text, "json": report_json, "tex": report_tex}
