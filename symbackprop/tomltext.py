"""TOML text for the files symbackprop writes: strings and keys quoted so they read back as written."""

from __future__ import annotations

__all__ = ["toml_key", "toml_string"]


def toml_string(text: str) -> str:
    """A basic TOML string: quotes and backslashes escaped, control characters as ``\\uXXXX``."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(name: str) -> str:
    """A bare key where TOML allows one (``[A-Za-z0-9_-]``), a quoted key otherwise."""
    return name if name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name) else toml_string(name)
