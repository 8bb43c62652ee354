"""TOML in and out: every file symbackprop writes in TOML (answers keys, variant specs, ``new``) is
spelled here, so strings, keys and tables read back exactly as they were meant; and every TOML file
it reads (specs, answers) is parsed here, so a hostile file fails the same way everywhere."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Bare", "Table", "TomlProblem", "parse_toml", "toml_document", "toml_key", "toml_string", "toml_value"]


class TomlProblem(ValueError):
    """Why a text is not TOML we read, in words for one error line (``huge_integer`` marks Python's
    4300-digit limit, whose advice depends on the file)."""

    def __init__(self, message: str, huge_integer: bool = False):
        super().__init__(message)
        self.huge_integer = huge_integer


def parse_toml(text: str, parse_float: Callable[[str], Any]) -> dict[str, Any]:
    """``tomllib.loads`` with every way it fails on hostile input turned into :class:`TomlProblem`."""
    try:
        return tomllib.loads(text, parse_float=parse_float)
    except tomllib.TOMLDecodeError as err:
        raise TomlProblem(str(err)) from None
    except RecursionError:
        raise TomlProblem("arrays or tables nested too deeply") from None
    except ValueError as err:  # Python's limit on the digits of an integer (4300)
        huge = "digits" in str(err)
        raise TomlProblem("an integer with thousands of digits" if huge else str(err), huge_integer=huge) from None


class Bare(str):
    """A value written as it is: a number's decimal text (``0.5``), not a string."""


@dataclass(frozen=True)
class Table:
    """``[header]`` (or ``[[header]]``, written as given) and its ``key = value`` lines; ``quote_keys``
    quotes every key (quantity names in files a student edits), else only where TOML needs it."""

    header: str
    pairs: Mapping[str, Any] | Sequence[tuple[str, Any]]
    quote_keys: bool = False


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


def toml_value(value: Any) -> str:
    """A string, a :class:`Bare` number, a bool, an int, an inline table (a dict), or an array (an array
    of inline tables one to a line)."""
    if isinstance(value, Bare):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, Mapping) for v in value):
            return "[\n" + "".join(f"  {toml_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _pairs(pairs: Mapping[str, Any] | Sequence[tuple[str, Any]], quote_keys: bool) -> list[str]:
    items: Iterable[tuple[str, Any]] = pairs.items() if isinstance(pairs, Mapping) else pairs
    key = toml_string if quote_keys else toml_key
    return [f"{key(k)} = {toml_value(v)}" for k, v in items]


def toml_document(comments: Sequence[str], top: Mapping[str, Any], tables: Sequence[Table]) -> str:
    """The ``comments`` (whole lines, each starting with ``#``), the top-level pairs, then each table
    after a blank line (none right after the comments)."""
    lines = list(comments)
    lines += _pairs(top, False)
    for table in tables:
        if len(lines) > len(comments):
            lines.append("")
        lines.append(table.header)
        lines += _pairs(table.pairs, table.quote_keys)
    return "\n".join(lines) + "\n"
