"""Writing output files atomically: a temporary name in the target folder, then ``os.replace``.

Every file symbackprop writes goes through here, so an error (or an interrupt) never leaves a
half-written file behind.  New files get the usual permissions (0o666 minus the umask).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def _temporary(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path``; return ``path``."""
    path = Path(path)
    tmp = _temporary(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def copy_atomic(src: str | Path, dest: str | Path) -> Path:
    """Copy ``src`` to ``dest``; return ``dest``."""
    dest = Path(dest)
    tmp = _temporary(dest)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
