"""Write a built set into its locked folder, compiling and cutting its PDFs on the way."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import OutputError
from ..io.outfolder import Target, commit, locked_target, staging, write_staged
from .build import ExamSet
from .pdfjobs import run_pdf_jobs

__all__ = ["write_exam", "write_locked"]


def write_exam(exam: ExamSet, out_dir: str | Path, workers: int = 2) -> Path:
    """Lock ``out_dir`` and write the set into it (see :func:`write_locked`)."""
    with locked_target(out_dir) as target:
        write_locked(exam, target, workers)
    return target.path


def write_locked(exam: ExamSet, target: Target, workers: int = 2,
                 progress: Callable[[int, int, str], None] | None = None) -> Path | None:
    """Write the set into a locked target folder via a hidden temporary folder inside it (compiling
    the PDFs there first, ``progress`` hearing when each is done); return where the earlier set was
    kept, if it was."""
    with staging(target) as tmp:
        try:
            write_staged(tmp, exam.files)
            if exam.pdf_jobs:
                run_pdf_jobs(exam.pdf_jobs, tmp, workers, progress)
            _normalise_modes(tmp)
        except OutputError as err:  # name the file where it was going, not the temporary folder
            raise OutputError(str(err).replace(str(tmp), str(target.path))) from None
        except OSError as err:
            raise OutputError(f"-o {target.path}: cannot write the set ({err.strerror or err})") from None
        return commit(target, tmp)


def _normalise_modes(root: Path) -> None:
    os.chmod(root, 0o755)
    for path in root.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
