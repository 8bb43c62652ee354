"""Cut a combined PDF into one file per variant at its named destinations (pikepdf, qpdf underneath).

``symbackprop exam --pdf`` compiles two combined documents (every question sheet, every key) and
cuts them here.  Each variant's first page carries an invisible named destination
(``\\pdfdest name{symbackprop-v007}``, see ``templates/exam/preamble.tex.j2``), so the page ranges
come from the PDF's own name tree, not from reading its text.  qpdf copies the objects a variant's
pages use once (fonts included) and, with ``deterministic_id``, derives the ``/ID`` from the content:
the same input gives the same bytes.  The document information (dates from ``SOURCE_DATE_EPOCH``)
is carried over from the combined PDF.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pikepdf

from ..errors import SymbackpropError

__all__ = ["PdfSplitError", "destinations", "split_pdf"]


class PdfSplitError(SymbackpropError):
    """The combined PDF cannot be split (not a PDF, or a marker is missing or out of order)."""


def destinations(pdf: pikepdf.Pdf) -> dict[str, int]:
    """Named destination -> 0-based page index (the name tree and the old ``/Dests`` dictionary)."""
    index = {page.obj.objgen: k for k, page in enumerate(pdf.pages)}
    out: dict[str, int] = {}
    for name, value in _named(pdf):
        target = value.get("/D") if isinstance(value, pikepdf.Dictionary) else value
        if isinstance(target, pikepdf.Array) and len(target) and target[0].objgen in index:
            out.setdefault(name, index[target[0].objgen])
    return out


def _named(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Object]]:
    names = pdf.Root.get("/Names")
    if names is not None and "/Dests" in names:
        yield from pikepdf.NameTree(names.Dests).items()
    old = pdf.Root.get("/Dests")
    if isinstance(old, pikepdf.Dictionary):
        for key, value in old.items():
            yield key[1:], value


def split_pdf(pdf: Path, parts: Sequence[tuple[str, Path]]) -> list[Path]:
    """Cut ``pdf`` into one file per ``(destination name, out path)``: each part runs from its named
    destination's page to the page before the next part's (the last to the end).

    The parts must start, in the given order, on page 1 and then on strictly later pages.
    """
    label = Path(pdf).name
    try:
        source = pikepdf.open(pdf)
    except (pikepdf.PdfError, ValueError) as err:
        raise PdfSplitError(f"{label}: not a PDF qpdf can read ({err})") from None
    with source:
        dests = destinations(source)
        starts = []
        for name, _ in parts:
            if name not in dests:
                raise PdfSplitError(f"{label}: no page marked {name!r}")
            starts.append(dests[name])
        if starts and starts[0] != 0:
            raise PdfSplitError(f"{label}: {parts[0][0]!r} is on page {starts[0] + 1}, not page 1")
        for k in range(1, len(starts)):
            if starts[k] <= starts[k - 1]:
                raise PdfSplitError(f"{label}: {parts[k][0]!r} (page {starts[k] + 1}) does not start after "
                                    f"{parts[k - 1][0]!r} (page {starts[k - 1] + 1})")
        ends = starts[1:] + [len(source.pages)]
        written = []
        for (_, out), first, end in zip(parts, starts, ends, strict=True):
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            _extract(source, first, end, out)
            written.append(out)
        return written


def _extract(source: pikepdf.Pdf, first: int, end: int, out: Path) -> None:
    """Pages ``first`` up to (not including) ``end`` as a PDF of their own, deterministically."""
    with pikepdf.new() as part:
        part.pages.extend(source.pages[first:end])
        if "/Info" in source.trailer:
            part.trailer.Info = part.copy_foreign(source.trailer.Info)
        part.save(out, deterministic_id=True, min_version=source.pdf_version)
