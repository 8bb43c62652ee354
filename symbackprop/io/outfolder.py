"""The folder of a set of outputs (an exam set, a class's marking): recognised by the marker symbackprop
writes, locked while written, and never losing a file symbackprop did not write.

* A set's folder holds its kind's marker (``.symbackprop-exam.json``, ``.symbackprop-marks.json``): the
  version that wrote it and the list of the files it wrote.  Only a folder with a valid marker of its kind
  (or an empty or new folder) is written into; any other folder is refused (a folder that merely holds an
  ``index.csv`` is not a set).
* A run locks the folder (``flock`` on the folder itself, so no lock file is left behind) from its
  first check to its last rename: a second run into the same folder fails at once.
* The new set is written into a hidden temporary folder inside the target, then its files are
  moved into place, the marker last.  A file of the earlier set that the new set would change or
  drop is not deleted: the whole earlier set (its listed files and marker) moves to
  ``previous-N/``.  A rerun that gives the same bytes replaces them and keeps no copy.  Files the
  teacher added stay where they are; one in the way of a new file stops the run before anything
  moves.
* ``-o .`` and ``-o ..`` work like any folder (nothing is renamed over the folder itself).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import OutputError
from .files import read_capped, write_new

__all__ = ["EXAM", "MARKER", "MARKS", "TMP_PREFIX", "Kind", "Target", "check_target", "commit", "locked_target",
           "staging", "write_staged"]

#: the threads that write a set's files, and the number of files from which they are used
WRITE_THREADS = 4
WRITE_THREADS_FROM = 16


@dataclass(frozen=True)
class Kind:
    """What a folder holds: its marker's name, and how the messages name it and the command that writes it."""

    marker: str
    what: str  # "an exam set"
    command: str  # "symbackprop exam"


EXAM = Kind(".symbackprop-exam.json", "an exam set", "symbackprop exam")
MARKS = Kind(".symbackprop-marks.json", "a marking", "symbackprop mark")
MARKER = EXAM.marker
MARKER_FORMAT = 1
TMP_PREFIX = ".symbackprop-tmp-"
PREVIOUS = "previous-"


class ExamFolderError(OutputError):
    """The target folder cannot take the set (one line naming the folder, exit 2)."""


@dataclass
class Target:
    """A locked target folder and what it held when the lock was taken."""

    path: Path
    created: bool  # made by this run (removed again if the run fails)
    had_set: bool = False  # held an earlier set (its marker) when the lock was taken
    kind: Kind = EXAM


def _fail(target: Path, problem: str) -> ExamFolderError:
    return ExamFolderError(f"-o {target}: {problem}")


def _valid_rel(rel: object, kind: Kind) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return not PurePosixPath(rel).is_absolute() and all(p not in ("", ".", "..") for p in parts) \
        and str(PurePosixPath(*parts)) == rel and parts[0] != kind.marker


def read_marker(folder: Path, kind: Kind = EXAM) -> list[str] | None:
    """The files the earlier set wrote (from its marker); None when the folder has no marker."""
    marker = folder / kind.marker
    if not marker.exists() and not marker.is_symlink():
        return None
    problem = f"{kind.marker} is not a marker symbackprop wrote; move it away or choose another folder"
    if marker.is_symlink() or not marker.is_file():
        raise _fail(folder, problem)
    try:
        data = json.loads(read_capped(marker).decode("utf-8"))
    except (OSError, ValueError):
        raise _fail(folder, problem) from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("generator") != "symbackprop" or not isinstance(files, list) \
            or not all(_valid_rel(rel, kind) for rel in files):
        raise _fail(folder, problem)
    return list(files)


def marker_bytes(files: list[str], kind: Kind = EXAM) -> bytes:
    """The marker of a set of ``files`` (relative paths): the same set gives the same bytes."""
    from .. import __version__

    data = {"generator": "symbackprop", "version": __version__, "format": MARKER_FORMAT,
            "note": f"written by {kind.command}; a rerun moves the files listed here to previous-N/ "
                    "(never a file it did not write)",
            "files": sorted(files)}
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _entries(folder: Path) -> list[str]:
    """The folder's entries, leaving out the temporary folders of runs that were killed."""
    return [e.name for e in folder.iterdir() if not e.name.startswith(TMP_PREFIX)]


def check_target(out_dir: str | Path, kind: Kind = EXAM) -> Path:
    """Refuse (one line) a target that is not a new folder, an empty folder or a set of ``kind``."""
    target = Path(out_dir)
    if not (target.exists() or target.is_symlink()):
        parent = _existing_ancestor(target)
        if not parent.is_dir():
            raise _fail(target, f"{parent} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise _fail(target, f"cannot write in {parent}: permission denied")
        return target
    if not target.is_dir():
        raise _fail(target, "exists and is not a folder")
    try:
        entries = _entries(target)
    except OSError as err:
        raise _fail(target, f"cannot read the folder ({err.strerror or err})") from None
    if entries and read_marker(target, kind) is None:
        raise _fail(target, f"exists and is not {kind.what} (no {kind.marker}); choose a new or empty folder")
    if not os.access(target, os.W_OK | os.X_OK):
        raise _fail(target, "cannot write in the folder: permission denied")
    return target


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path``'s parents that exists (as any other command's ``-o``, a set's folder may be
    several new folders deep)."""
    parent = path.absolute().parent
    while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
        parent = parent.parent
    return parent


@contextmanager
def locked_target(out_dir: str | Path, kind: Kind = EXAM) -> Iterator[Target]:
    """Check ``out_dir``, create it (and its missing parents) if needed and hold its lock; a failed run
    removes the folders it made."""
    target = check_target(out_dir, kind)
    made: list[Path] = []  # the folders this run creates, outermost first
    if not target.exists():
        for folder in [*reversed(target.absolute().parents), target.absolute()]:
            if folder.exists():
                continue
            try:
                folder.mkdir()
                made.append(folder)
            except FileExistsError:
                pass
            except OSError as err:
                for left in reversed(made):
                    _remove_empty(left)
                raise _fail(target, f"cannot create the folder {folder} ({err.strerror or err})") from None
    created = bool(made) and made[-1] == target.absolute()
    try:
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise _fail(target, f"cannot open the folder ({err.strerror or err})") from None
    locked = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise _fail(target, f"another {kind.command} is writing into this folder; "
                                    "wait for it to finish or choose another folder") from None
            raise _fail(target, f"cannot lock the folder ({err.strerror or err})") from None
        locked = True
        check_target(target, kind)  # what it holds may have changed while we waited for nothing
        yield Target(target, created, read_marker(target, kind) is not None, kind)
    except BaseException:
        if locked:
            for folder in reversed(made):
                _remove_empty(folder)
        raise
    finally:
        os.close(fd)  # releases the lock


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


@contextmanager
def staging(target: Target) -> Iterator[Path]:
    """A hidden temporary folder inside the target; removed whatever happens (and those of killed
    runs with it: under the lock no other run is using them)."""
    for stale in target.path.glob(f"{TMP_PREFIX}*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=target.path))
    except OSError as err:
        raise _fail(target.path, f"cannot write in the folder ({err.strerror or err})") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _files_under(root: Path) -> list[str]:
    """The relative paths of the regular files under ``root`` (links neither followed nor listed)."""
    found = []
    for folder, _, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and os.path.isfile(path):
                found.append((rel / name).as_posix())
    return sorted(found)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if a.is_symlink() or not a.is_file() or a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _check_way(target: Path, rel: str, ours: set[str], folders_seen: set[str]) -> None:
    """Refuse when a new file's path is blocked by something symbackprop did not write (``folders_seen``: the
    folders on the way found clear, each looked at once)."""
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts)):
        name = "/".join(parts[:i])
        if name in folders_seen:
            continue
        folder = target.joinpath(*parts[:i])
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise _fail(target, f"{name} is in the way of {rel} (not a folder symbackprop "
                                f"made); move it away or choose another folder")
        folders_seen.add(name)
    dest = target / rel
    if (dest.exists() or dest.is_symlink()) and rel not in ours:
        raise _fail(target, f"{rel} exists and symbackprop did not write it; move it away or choose "
                            f"another folder")


def write_staged(staged: Path, files: Mapping[str, bytes]) -> None:
    """Each of ``files`` (by its path relative to ``staged``) written new into the staging folder.

    The folders first, then the files by a few threads: creating a file is the kernel's work (about a
    millisecond of system time each on a virtual machine's ext4), which threads spread over the cores.
    The first error cancels the writes not yet begun and is raised once the running ones end (the staging
    folder is then removed whole)."""
    paths = [(staged / rel, data) for rel, data in files.items()]
    for folder in sorted({dest.parent for dest, _ in paths}):
        folder.mkdir(parents=True, exist_ok=True)
    if len(paths) < WRITE_THREADS_FROM:
        for dest, data in paths:
            write_new(dest, data)
        return
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for _ in pool.map(lambda item: write_new(*item), paths):
            pass


def _move(src: Path, dest: Path, made: set[Path]) -> None:
    """Move ``src`` to ``dest``, making its folder (``made``: the folders made or found so far)."""
    if dest.parent not in made:
        dest.parent.mkdir(parents=True, exist_ok=True)
        made.add(dest.parent)
    os.replace(src, dest)


def _previous_name(target: Path) -> Path:
    n = 1
    while (target / f"{PREVIOUS}{n}").exists() or (target / f"{PREVIOUS}{n}").is_symlink():
        n += 1
    return target / f"{PREVIOUS}{n}"


def _prune(target: Path, rels: list[str]) -> None:
    """Remove the folders of moved files when they are left empty (never a non-empty one)."""
    folders = {target.joinpath(*PurePosixPath(rel).parts[:i])
               for rel in rels for i in range(1, len(PurePosixPath(rel).parts))}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        _remove_empty(folder)


def _present(root: Path, rel: str) -> bool:
    """``rel`` exists under ``root`` through real folders only (a link never leads a move outside)."""
    parts = PurePosixPath(rel).parts
    if any(root.joinpath(*parts[:i]).is_symlink() for i in range(1, len(parts))):
        return False
    return (root / rel).exists() or (root / rel).is_symlink()


def commit(target: Target, staged: Path) -> Path | None:
    """Write the marker, move the staged set into the target (the marker last); return where the
    earlier set was kept (None: there was none, or the new set has the same bytes).

    The earlier set moves to ``previous-N/`` only when the new set would change or drop one of its
    files; identical bytes are simply replaced.
    """
    root, marker = target.path, target.kind.marker
    new = [rel for rel in _files_under(staged) if rel != marker]
    write_new(staged / marker, marker_bytes(new, target.kind))
    earlier = read_marker(root, target.kind) or []
    ours, clear = set(earlier), set[str]()
    for rel in new:
        _check_way(root, rel, ours, clear)
    present = [rel for rel in earlier if _present(root, rel)]
    new_set = set(new)
    kept = None
    if any(rel not in new_set or not _same_bytes(root / rel, staged / rel) for rel in present):
        kept = _previous_name(root)
        try:
            kept.mkdir()
            made_kept: set[Path] = set()
            for rel in present:
                _move(root / rel, kept / rel, made_kept)
            os.replace(root / marker, kept / marker)
        except OSError as err:
            raise _fail(root, f"cannot move the earlier set to {kept.name}/ ({err.strerror or err}); "
                              f"its files are in {root} and {kept}") from None
        _prune(root, present)
    try:
        made: set[Path] = set()
        for rel in [*new, marker]:
            _move(staged / rel, root / rel, made)
    except OSError as err:
        raise _fail(root, f"cannot move the new set into place ({err.strerror or err})") from None
    if target.created:
        os.chmod(root, 0o755)
    return kept
