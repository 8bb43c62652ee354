"""Equation rows as meaning for the templates: parts (maths, boxes, equations) and their displays.

A display is ``{"rows": [[part, ...], ...], "centred": bool}``; a part is maths (``Tex``), a box
``{"box": [lines]}`` or an equation ``{"lhs", "formula", "substituted", "result", ...}``.  The templates'
macros (``macros.tex.j2``) draw them; the handout (:mod:`.context`) and the deck (:mod:`.slides`) build
them, and :func:`text_of` gives the maths a row's width is measured on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..layout import ROW_WIDTH, break_row, even_rows
from ..layout import line_rows as aligned_rows
from ..layout import pack as pack_rows
from ..layout import tex_width as visible_width
from ..notation.lines import Line, result_latex
from .render import Tex

#: one part of an equation row: maths, or ``{"box": [lines]}`` (the templates' ``boxed`` macro draws it)
Part = str | dict[str, Any]
Row = list[Part]


def box(*lines: str, aligned: bool = False) -> dict[str, Any]:
    """A boxed part: one line, or (``aligned``) rows that the template aligns inside the box."""
    return {"box": [Tex(line) for line in lines], "aligned": aligned or len(lines) > 1}


def row_of(row: str | Row) -> Row:
    return [Tex(row)] if isinstance(row, str) else [p if isinstance(p, dict) else Tex(p) for p in row]


def text_of(row: Row) -> str:
    """The row's maths as the shipped templates print it, boxes left out (``visible_width`` does not count
    ``\\boxed``): what the width of a row is measured on."""
    return "".join(p if isinstance(p, str) else _box_measure(p) if "box" in p else _equation_measure(p) for p in row)


def _box_measure(part: dict[str, Any]) -> str:
    lines = part["box"]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}" if part["aligned"] else lines[0]


def _equation_measure(eq: dict[str, Any]) -> str:
    right = [eq["formula"], eq["substituted"]]
    text = " = ".join(side for side in right if side is not None)
    if eq["result"] is not None:
        text += (" \\approx " if eq["approx"] else " = ") + eq["result"] if text else eq["result"]
    return f"{eq['lhs']} &= {text}"


def equation(line: Line, boxed: bool = False) -> dict[str, Any]:
    """One arithmetic line as meaning: ``lhs = substituted (= or ≈) result``, the result ``boxed`` or not."""
    return {"lhs": Tex(line.label), "formula": None,
            "substituted": None if line.is_trivial() else Tex(line.substituted()),
            "approx": line.approx, "result": Tex(result_latex(line.result)), "boxed": boxed}


def formula(lhs: str, rhs: str) -> dict[str, Any]:
    """One symbolic equation as meaning: ``lhs = rhs`` (the right side a formula, nothing computed)."""
    return {"lhs": Tex(lhs), "formula": Tex(rhs), "substituted": None, "approx": False, "result": None,
            "boxed": False}


def formula_rows(lhs: str, rhs: str) -> list[Row]:
    """``lhs = rhs`` as one equation part when it fits a row, else broken over aligned rows of maths."""
    rows = break_row(f"{lhs} &= {rhs}")
    return [[formula(lhs, rhs)]] if len(rows) == 1 else [row_of(r) for r in rows]


def block(rows: Iterable[str | Row], centred: bool = False) -> dict[str, Any]:
    """One equation display: rows of parts; the templates pick the environment (``centred``: gathered)."""
    return {"rows": [row_of(r) for r in rows if r], "centred": centred}


def boxed_result(line: Line, rows: list[str]) -> list[Row]:
    """``Line.rows()`` with its result boxed: the last row ends with the result."""
    result = result_latex(line.result)
    assert rows[-1].endswith(result), rows[-1]
    return [row_of(r) for r in rows[:-1]] + [[Tex(rows[-1][:-len(result)]), box(result)]]


def line_rows(line: Line, boxed: bool = False) -> list[Row]:
    """An arithmetic line: one equation part when it fits a row, else rows of maths (the result boxed)."""
    rows = aligned_rows(line)
    if rows == [f"{line.label} &= {line.rhs()}"]:
        return [[equation(line, boxed)]]
    return boxed_result(line, rows) if boxed else [row_of(r) for r in rows]


def joined(items: Sequence[Row], sep: str) -> Row:
    """Rows' parts one after the other, ``sep`` between them."""
    out: Row = []
    for i, item in enumerate(items):
        out += ([Tex(sep)] if i else []) + item
    return out


def pack(items: Sequence[str | Row], per_row: int, sep: str = r", \quad ", width: float = ROW_WIDTH) -> list[Row]:
    """At most ``per_row`` items a row, and fewer where long numbers (15 digits) would pass ``width``; as many
    rows as that takes, filled evenly where they fit so (3 + 2, not 4 + 1; 3 + 2 + 2, not 3 + 3 + 1)."""
    parts = [row_of(item) for item in items]
    widths, gap = [visible_width(text_of(p)) for p in parts], visible_width(sep)
    rows = pack_rows(widths, width, gap=gap, most=per_row)
    even = even_rows(len(parts), len(rows))
    if len(even) == len(rows) and all(sum(widths[i] for i in row) + gap * (len(row) - 1) <= width for row in even):
        rows = even
    return [joined([parts[i] for i in row], sep) for row in rows]
