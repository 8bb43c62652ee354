"""The combined PDFs of a set: which to compile, and where to cut each into one PDF per variant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..io.pdf import SETTLE, compile_pdf
from .variants import Variant

__all__ = ["PdfJob", "destination", "pdf_jobs", "run_pdf_jobs"]


@dataclass(frozen=True)
class PdfJob:
    """A combined document to compile, then to cut into one PDF per variant at its marked pages."""

    source: str  # LaTeX
    pdf: str  # relative path of the combined PDF
    singles: tuple[tuple[str, str], ...]  # (named destination, relative path of that variant's PDF)


def destination(variant: Variant) -> str:
    """The named destination on a variant's first page (``\\examsetvariant`` in the exam preamble)."""
    return f"symbackprop-v{variant.label}"


def pdf_jobs(files: dict[str, bytes], variants: Sequence[Variant]) -> list[PdfJob]:
    """questions.pdf and keys.pdf, each cut into questions/vNNN.pdf and keys/vNNN.pdf."""
    return [PdfJob(files[f"{kind}.tex"].decode(), f"{kind}.pdf",
                   tuple((destination(v), f"{kind}/{v.stem}.pdf") for v in variants))
            for kind in ("questions", "keys")]


def run_pdf_jobs(jobs: Sequence[PdfJob], root: Path, workers: int,
                 progress: Callable[[int, int, str], None] | None = None) -> None:
    """Compile the combined documents in parallel, each in as many passes as change something (one:
    the sheets read nothing back); cut each into its variants as soon as it is done (the question
    sheets finish first, so their cutting overlaps the keys' compile)."""
    from ..io.pdfsplit import split_pdf  # pikepdf is loaded by a set with PDFs only

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(compile_pdf, job.source, root / job.pdf, runs=SETTLE) for job in jobs]
        try:
            if progress:
                progress(0, len(jobs), "compiling")
            for done, (job, future) in enumerate(zip(jobs, futures, strict=True), start=1):
                split_pdf(future.result(), [(name, root / rel) for name, rel in job.singles])
                if progress:
                    progress(done, len(jobs), "compiling")
        finally:
            for future in futures:
                future.cancel()
