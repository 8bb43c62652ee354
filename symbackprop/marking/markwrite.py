"""Write a marking run's files: the PDFs are compiled first (in a temporary folder), then every file
is written atomically, so a LaTeX error leaves no half-written set of outputs.

The marked sheets are not compiled one by one (300 LaTeX runs): sheets with the same preamble are
put into one document (``mark_sheets.tex.j2``), each starting on a new page with a named
destination, compiled once, and cut into one PDF per student (:mod:`..io.pdfsplit`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..io.files import copy_atomic, write_atomic
from ..io.pdf import compile_many
from .markfiles import MarkFiles

__all__ = ["combined_sheets", "write_mark_files"]

BEGIN = "\\begin{document}"
END = "\\end{document}"


def combined_sheets(sheets: Sequence[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(combined LaTeX, [(named destination, relative path of that sheet's PDF)])], one per preamble."""
    from ..documents.render import Tex, render_tex

    groups: dict[str, list[tuple[str, str]]] = {}
    for tex, rel in sheets:
        preamble, _, rest = tex.partition(BEGIN)
        body = rest.rsplit(END, 1)[0]
        groups.setdefault(preamble + BEGIN, []).append((body, rel))
    out = []
    for n, (preamble, members) in enumerate(groups.items(), start=1):
        named = [{"dest": f"symbackprop-sheet-{n}-{k}", "body": Tex(body), "rel": rel}
                 for k, (body, rel) in enumerate(members, start=1)]
        source = render_tex("mark_sheets.tex.j2", preamble=Tex(preamble), sheets=named)
        out.append((source, [(s["dest"], s["rel"]) for s in named]))
    return out


def write_mark_files(files: MarkFiles, out_dir: Path, workers: int = 2) -> list[Path]:
    """Every file under ``out_dir``; returns the paths written (in a fixed order)."""
    from ..io.pdfsplit import split_pdf  # pikepdf is loaded by marking with PDFs only

    staged = Path(tempfile.mkdtemp(prefix="symbackprop-mark-"))
    try:
        combined = combined_sheets(files.sheets)
        jobs = [(tex, staged / rel) for tex, rel in files.pdfs]
        jobs += [(tex, staged / f"combined-{n}.pdf") for n, (tex, _) in enumerate(combined, start=1)]
        if jobs:
            compile_many(jobs, workers=workers)
        for n, (_, parts) in enumerate(combined, start=1):
            split_pdf(staged / f"combined-{n}.pdf", [(dest, staged / rel) for dest, rel in parts])
        written = [write_atomic(out_dir / rel, data) for rel, data in sorted(files.files.items())]
        pdfs = [rel for _, rel in files.pdfs] + [rel for _, parts in combined for _, rel in parts]
        written += [copy_atomic(staged / rel, out_dir / rel) for rel in sorted(pdfs)]
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return written
