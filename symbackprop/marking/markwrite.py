"""Write a marking run's files into its locked output folder (:mod:`..io.outfolder`): everything is made in a
hidden temporary folder inside it, the PDFs compiled there first, then moved into place, so a LaTeX error
leaves no half-written set of outputs, and a rerun moves an earlier marking it changes to ``previous-N/``
(never a file symbackprop did not write).

The marked sheets are not compiled one by one (300 LaTeX runs): sheets with the same preamble are
put into one document (``mark_sheets.tex.j2``), each starting on a new page with a named
destination, compiled once, and cut into one PDF per student (:mod:`..io.pdfsplit`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from ..io.outfolder import MARKS, locked_target, staging, write_staged
from ..io.outfolder import commit as commit_folder
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


def write_mark_files(files: MarkFiles, out_dir: Path, workers: int = 2) -> tuple[list[Path], Path | None]:
    """Every file under ``out_dir`` (locked while written): the paths written (in a fixed order), and where an
    earlier marking it changed was kept (None: there was none, or the same bytes came out)."""
    from ..io.pdfsplit import split_pdf  # pikepdf is loaded by marking with PDFs only

    with locked_target(out_dir, MARKS) as target, staging(target) as staged:
        combined = combined_sheets(files.sheets)
        build = staged / ".combined"
        jobs = [(tex, staged / rel) for tex, rel in files.pdfs]
        jobs += [(tex, build / f"combined-{n}.pdf") for n, (tex, _) in enumerate(combined, start=1)]
        for _, path in jobs:
            path.parent.mkdir(parents=True, exist_ok=True)
        if jobs:
            compile_many(jobs, workers=workers)
        for n, (_, parts) in enumerate(combined, start=1):
            split_pdf(build / f"combined-{n}.pdf", [(dest, staged / rel) for dest, rel in parts])
        shutil.rmtree(build, ignore_errors=True)  # the combined documents: not outputs
        write_staged(staged, files.files)
        pdfs = [rel for _, rel in files.pdfs] + [rel for _, parts in combined for _, rel in parts]
        kept = commit_folder(target, staged)
    return [out_dir / rel for rel in [*sorted(files.files), *sorted(pdfs)]], kept
