"""Plain-text tables for the terminal: columns padded to their widest cell, a rule under the header."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[str]], last_rule: int | None = None) -> list[str]:
    """The lines of a table whose first row is the header; the last column is left unpadded, and its
    rule is ``last_rule`` dashes (default: as wide as the column)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    rule = [*widths[:-1], widths[-1] if last_rule is None else last_rule]
    lines.insert(1, "  ".join("-" * w for w in rule))
    return lines
