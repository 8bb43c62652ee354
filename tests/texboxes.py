"""TeX's own measure of an expanded chain's boxes and rows (for the handout's and the slides' tests).

A box (``\\makebox[W pt]{$...$}``) must hold its brace and label, or it runs into its neighbour; a row
must fit the text width.  TeX sets each in the document's class and size and reports the widths.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from symbackprop.io.pdf import latex_env

BOX = re.compile(r"\\makebox\[([\d.]+)pt\]\{\$(.*?)\$\}(?= \\cdot|$| \\\\)")


def check_boxes(rows: list[tuple[str, str]], tmp_path: Path, preamble: str, begin: str, end: str,
                size: str = "") -> int:
    """Assert that every box of ``rows`` (name, row) holds its content and every row fits the text width (less a
    flush-left display's indent), as
    TeX measures them (``size``: the font size command the rows are set at); returns how many boxes there were."""
    boxes = [(name, float(w), b) for name, row in rows for w, b in BOX.findall(row)]
    flat = [(name, row.replace("&", "")) for name, row in rows]
    body = "\n".join([rf"\setbox0\hbox{{{size}${b}$}}\typeout{{BOX {i} \the\wd0}}" for i, (_, _, b) in enumerate(boxes)]
                     + [rf"\setbox0\hbox{{{size}$\displaystyle {r}$}}\typeout{{ROW {i} \the\wd0}}"
                        for i, (_, r) in enumerate(flat)])
    # the room of a display: the text width, less the indent of flush-left displays (fleqn) where there is one
    width = r"\typeout{TEXTWIDTH \the\dimexpr\textwidth\ifdefined\mathindent-\mathindent\fi\relax}"
    (tmp_path / "m.tex").write_text(preamble + begin + "\n" + width + "\n" + body + "\n"
                                    + end + "\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "m.tex"], cwd=tmp_path,
                         env=latex_env(), capture_output=True, text=True, timeout=120)
    measured = dict(re.findall(r"(BOX \d+|ROW \d+) ([\d.]+)pt", run.stdout))
    text_width = float(re.findall(r"TEXTWIDTH ([\d.]+)pt", run.stdout)[0])
    assert len(measured) == len(boxes) + len(flat), run.stdout[-2000:]
    for i, (name, width, b) in enumerate(boxes):
        assert float(measured[f"BOX {i}"]) <= width, (name, b, measured[f"BOX {i}"], width)  # never into a neighbour
    for i, (name, r) in enumerate(flat):
        assert float(measured[f"ROW {i}"]) <= text_width, (name, r, measured[f"ROW {i}"])
    return len(boxes)
