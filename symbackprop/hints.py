"""User text in error messages: quoted short, and a "did you mean" for a mistyped name.

Every message about an unknown name ends with :func:`did_you_mean` (an open set: quantity names)
or :func:`expected` (a closed list, shown with the closest entry first).  One place for all of it,
so that no message echoes a 100 KB name and every search for a close name has the same cost bound:
at most ``MAX_COMPARED`` candidates are compared with difflib, picked by a cheap prefilter (length,
then shared character pairs).
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterable, Sequence
from functools import lru_cache

#: Characters of user text shown in a message (longer text ends in "...").
MAX_SHOWN = 60
#: Candidates compared exactly (difflib) after the prefilter.
MAX_COMPARED = 20
#: Names longer than this get no suggestion (no real name is that long).
MAX_NAME = 200


def count(n: int, word: str) -> str:
    """``1 cell``, ``3 cells``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` on one line, at most ``limit`` characters (the cut marked with "...")."""
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` clipped and quoted the way repr quotes it, but a backslash shown as one backslash
    (repr would double it: 0.378\\input); control characters escaped (\\x01)."""
    text = clip(text, limit)
    quote = '"' if "'" in text and '"' not in text else "'"
    body = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return quote + body.replace(quote, "\\" + quote) + quote


def show(value: object, limit: int = MAX_SHOWN) -> str:
    """Any value from a user's file for a message: text quoted, anything else by its clipped repr."""
    return quoted(value, limit) if isinstance(value, str) else clip(repr(value), limit)


def listed(items: str | Sequence[str], field: str, what: str) -> tuple[list[str], str | None]:
    """``"a, b"`` or ``["a", "b,c"]`` -> (the stripped names, or the problem with the list): a list with no
    name, or with an empty item (``"a,,b"``, ``"a,"``), which a command would otherwise skip silently."""
    parts = items.split(",") if isinstance(items, str) else [part for item in items for part in item.split(",")]
    names = [part.strip() for part in parts]
    if not any(names):
        return [], f"{field}: name at least one {what}"
    if "" in names:
        if isinstance(items, str):
            return [], f"{field}: an empty item in {quoted(items)} (two commas in a row, or one at an end)"
        k = next(k for k, item in enumerate(items, 1) if not all(part.strip() for part in item.split(",")))
        return [], f"{field}: item {k} {quoted(items[k - 1])} has an empty name"
    return names, None


def chosen(items: str | Sequence[str], field: str, choices: Sequence[str], noun: str,
           what: str) -> tuple[list[str], str | None]:
    """A :func:`listed` choice among ``choices``: (the chosen ones in the order of ``choices``, or the problem: an
    empty list or item, or an unknown ``noun``); ``what`` names what a list must hold."""
    names, problem = listed(items, field, what)
    unknown = next((name for name in names if name not in choices), None)
    if problem is None and unknown is not None:
        problem = f"{field}: unknown {noun} {quoted(unknown)}{expected(unknown, tuple(choices), some=True)}"
    return ([] if problem else [c for c in choices if c in names]), problem


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'dE/dw5'?)' for the closest choice, or ''."""
    close = closest(name, choices)
    return f" (did you mean {close!r}?)" if close else ""


def closest(name: str, choices: Iterable[str]) -> str:
    """The choice closest to ``name`` (a mistyped name), or '' when none is close."""
    if not name or len(name) > MAX_NAME:
        return ""
    return _closest(name, tuple(choices))


def expected(name: str, choices: Sequence[str], some: bool = False) -> str:
    """' (did you mean 'tanh'? expected one of: relu, sigmoid, tanh)', or without the question when
    nothing is close; ``some``: a comma list may name several (``expected some of: forward,loss``)."""
    listed = f"expected some of: {','.join(choices)}" if some else f"expected one of: {', '.join(choices)}"
    close = _closest(name, tuple(choices)) if name and len(name) <= MAX_NAME else ""
    return f" (did you mean {close!r}? {listed})" if close else f" ({listed})"


@lru_cache(maxsize=1024)
def _closest(name: str, choices: tuple[str, ...]) -> str:
    folded = name.replace(" ", "").lower()
    for choice in choices:
        if choice.replace(" ", "").lower() == folded:
            return choice
    grams = _pairs(name)
    window = max(3, len(name) // 2)
    scored = [(len(grams & g) / len(grams | g), choice) for choice, size, g in _index(choices)
              if abs(size - len(name)) <= window]
    top = [choice for _, choice in heapq.nlargest(MAX_COMPARED, scored)]
    close = difflib.get_close_matches(name, top, n=1, cutoff=0.5)
    return close[0] if close else ""


@lru_cache(maxsize=8)
def _index(choices: tuple[str, ...]) -> list[tuple[str, int, frozenset[str]]]:
    return [(c, len(c), _pairs(c)) for c in choices]


def _pairs(text: str) -> frozenset[str]:
    """Adjacent character pairs, plus the first character (so one-letter names have one)."""
    return frozenset([text[:1]] + [text[i:i + 2] for i in range(len(text) - 1)])
