"""Reading input files with a size cap, and writing output files atomically.

Every file symbackprop writes goes through here: a temporary name in the target folder, then
``os.replace``, so an error (or an interrupt) never leaves a half-written file behind, and an
error becomes one line naming the path (:class:`OutputError`).  New files get the usual
permissions (0o666 minus the umask).

Every file a user hands in (spec, answers, roster) is read with :func:`read_input`: one policy
(at most ``MAX_INPUT_BYTES``, UTF-8 with an optional byte-order mark, no NUL bytes) and one wording
of each refusal, naming the file.  :func:`read_capped` never trusts the size the file system
reports: ``/dev/zero`` or a pipe says 0 bytes and never ends.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputError, SymbackpropError

#: the size cap of every input file (spec, answers file, roster)
MAX_INPUT_BYTES = 1_000_000
_CHUNK = 1 << 20


def read_capped(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of ``path``, from any kind of file (more than ``limit``: too big).

    Raises OSError like ``open``; the caller words it for its kind of file.
    """
    with open(path, "rb") as inp:
        return inp.read(limit + 1)


@dataclass(frozen=True)
class InputKind:
    """What a user's file should be, for the wording of a refusal: ``InputKind("spec file", "TOML", SpecError)``."""

    noun: str  # "spec file", "answers file", "roster"
    form: str  # the text format: "TOML", "TOML or CSV", "CSV"
    error: type[SymbackpropError]

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"


def read_input(path: str | Path, kind: InputKind, where: str = "", limit: int = MAX_INPUT_BYTES) -> str:
    """The text of a user's file, or ``kind.error`` with one line naming it (``where``: default the path).

    At most ``limit`` bytes; UTF-8, a leading byte-order mark dropped (spreadsheets and Windows
    editors write one); a NUL byte marks a binary file (a photo, a PDF, UTF-16 text).
    """
    where = where or str(path)
    try:
        raw = read_capped(path, limit)
    except FileNotFoundError:
        raise kind.error(f"{where}: no such {kind.noun}") from None
    except OSError as err:
        raise kind.error(f"{where}: cannot read the {kind.noun} ({_problem(err)})") from None
    if len(raw) > limit:
        raise kind.error(f"{where}: too large ({kind.a_noun} may have at most {limit:,} bytes)")
    if b"\x00" in raw:
        raise kind.error(f"{where}: a binary file, not {kind.a_noun} ({kind.form} text)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise kind.error(f"{where}: not UTF-8 text (byte {err.start}); {kind.a_noun} is {kind.form} text "
                         "saved as UTF-8") from None


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


#: why a path cannot be an output file (an atomic write would put a plain file in place of a device)
_NOT_A_FILE = "is a device, a pipe or a socket, not a file; give a file name"


def _special(path: Path) -> bool:
    """Whether ``path`` is a device, a pipe or a socket (an atomic write would put a plain file in its place)."""
    return path.exists() and not path.is_file() and not path.is_dir()


def check_output_file(path: str | Path, what: str = "-o") -> Path:
    """Fail early when ``path`` cannot be written as a file: it is a folder, a device, a pipe or a socket, or its
    folder cannot be made."""
    path = Path(path)
    problem = ("is a folder; give a file name" if path.is_dir()
               else _NOT_A_FILE if _special(path)
               else _folder_problem(path.parent))
    if problem:
        raise OutputError(f"{what} {path}: {problem}")
    return path


def _prepare(dest: Path) -> Path:
    """Check ``dest`` can be a file and create its folder; the temporary name next to it."""
    if dest.is_dir():
        raise OutputError(f"cannot write {dest}: it is a folder; give a file name")
    if _special(dest):
        raise OutputError(f"cannot write {dest}: it {_NOT_A_FILE}")
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
