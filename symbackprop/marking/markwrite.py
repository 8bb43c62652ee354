"""Write a marking run's files: the PDFs are compiled first (in a temporary folder), then every file
is written atomically, so a LaTeX error leaves no half-written set of outputs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..io.files import copy_atomic, write_atomic
from ..io.pdf import compile_many
from .markfiles import MarkFiles

__all__ = ["write_mark_files"]


def write_mark_files(files: MarkFiles, out_dir: Path, workers: int = 2) -> list[Path]:
    """Every file under ``out_dir``; returns the paths written (in a fixed order)."""
    staged = Path(tempfile.mkdtemp(prefix="symbackprop-mark-"))
    try:
        if files.pdfs:
            compile_many([(tex, staged / rel) for tex, rel in files.pdfs], workers=workers)
        written = [write_atomic(out_dir / rel, data) for rel, data in sorted(files.files.items())]
        written += [copy_atomic(staged / rel, out_dir / rel) for _, rel in files.pdfs]
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return written
