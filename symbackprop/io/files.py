"""Reading input files with a size cap, and writing output files atomically.

Every file symbackprop writes goes through here: a temporary name in the target folder, then
``os.replace``, so an error (or an interrupt) never leaves a half-written file behind, and an
error becomes one line naming the path (:class:`OutputError`).  New files get the usual
permissions (0o666 minus the umask).

Every file a user hands in (spec, answers, roster) is read with :func:`read_capped`, which never
trusts the size the file system reports: ``/dev/zero`` or a pipe says 0 bytes and never ends.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputError

#: the size cap of every input file (spec, answers file, roster)
MAX_INPUT_BYTES = 1_000_000
_CHUNK = 1 << 20


def read_capped(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of ``path``, from any kind of file (more than ``limit``: too big).

    Raises OSError like ``open``; the caller words it for its kind of file.
    """
    with open(path, "rb") as inp:
        return inp.read(limit + 1)


def _write(out: BinaryIO, data: bytes) -> None:
    """The one place output bytes are written (tests make it fail with ENOSPC)."""
    out.write(data)


_PROBLEMS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
             errno.EACCES: "permission denied", errno.EPERM: "permission denied",
             errno.EROFS: "read-only file system"}


def _problem(err: OSError) -> str:
    return _PROBLEMS.get(err.errno or 0) or err.strerror or str(err)


def output_error(path: str | Path, err: OSError) -> OutputError:
    """``cannot write PATH: the disk is full`` (one line naming the path)."""
    return OutputError(f"cannot write {path}: {_problem(err)}")


def _nearest_existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            return folder
    return Path(".")


def _folder_problem(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` (made when missing), or None."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing}: permission denied"
    return None


def check_output_folder(folder: str | Path, what: str = "-o") -> Path:
    """Fail early (before any work) when ``folder`` cannot be an output folder: a file is in the way,
    or the nearest existing folder is not writable."""
    folder = Path(folder)
    problem = _folder_problem(folder)
    if problem:
        raise OutputError(f"{what} {folder}: {problem}")
    return folder


def check_output_file(path: str | Path, what: str = "-o") -> Path:
    """Fail early when ``path`` cannot be written as a file: it is a folder, or its folder cannot be made."""
    path = Path(path)
    problem = "is a folder; give a file name" if path.is_dir() else _folder_problem(path.parent)
    if problem:
        raise OutputError(f"{what} {path}: {problem}")
    return path


def _prepare(dest: Path) -> Path:
    """Check ``dest`` can be a file and create its folder; the temporary name next to it."""
    if dest.is_dir():
        raise OutputError(f"cannot write {dest}: it is a folder; give a file name")
    existing = _nearest_existing(dest.parent)
    if not existing.is_dir():
        raise OutputError(f"cannot write {dest}: {existing} is not a folder")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the folder {dest.parent}: {_problem(err)}") from None
    return dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"


def _fill(path: Path, chunks: Iterable[bytes]) -> None:
    """Create ``path`` (it must not exist) from ``chunks``; remove it again on any error."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                _write(out, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_new(path: str | Path, data: bytes) -> Path:
    """Create ``path`` (it must not exist) holding ``data``; an error removes it and names ``path``."""
    path = Path(path)
    try:
        _fill(path, [data])
    except OSError as err:
        raise output_error(path, err) from None
    return path


def _chunks(src: str | Path) -> Iterator[bytes]:
    with open(src, "rb") as inp:
        while chunk := inp.read(_CHUNK):
            yield chunk


def _atomic(dest: Path, chunks: Iterable[bytes]) -> Path:
    tmp = _prepare(dest)
    try:
        _fill(tmp, chunks)
        os.replace(tmp, dest)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise output_error(dest, err) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path``; return ``path``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return _atomic(Path(path), [payload])


def copy_atomic(src: str | Path, dest: str | Path) -> Path:
    """Copy ``src`` to ``dest``; return ``dest``."""
    return _atomic(Path(dest), _chunks(src))
