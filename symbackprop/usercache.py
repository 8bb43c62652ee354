"""The user cache (``$XDG_CACHE_HOME/symbackprop``): it saves time, and it is never trusted.

A file in it is used only when it and its folder belong to this user and nobody else may write
them (a shared or planted cache could otherwise feed compiled templates or raw LaTeX to the next
run); whoever reads a file validates what is in it, and anything odd means: derive again.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "private_dir", "read_json", "write_json"]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/symbackprop`` (or ``~/.cache/symbackprop``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symbackprop"


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else (no symlink followed)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def private_dir(*parts: str) -> Path | None:
    """The cache folder (``parts`` below it), created private; None when it is not private or not writable."""
    folder = cache_dir().joinpath(*parts)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    chain = [cache_dir(), *(cache_dir().joinpath(*parts[:k]) for k in range(1, len(parts) + 1))]
    return folder if all(_private(p) for p in chain) else None


def read_json(name: str) -> Any | None:
    """A cache file's JSON (None: missing, unreadable, not private, not JSON); the caller validates it."""
    folder = private_dir()
    if folder is None or not _private(folder / name):
        return None
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(name: str, data: Any) -> None:
    """Write a cache file atomically (private; a cache is optional, so failures pass silently)."""
    folder = private_dir()
    if folder is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, folder / name)
    except OSError:
        pass
