"""Free text from users (titles, authors, roster names) on its way into XML and CSV.

Spec and roster validation call :func:`text_problem`, so a title or name that an
output format cannot carry is refused with one line naming the field.  The XML
writers still pass their documents through :func:`xml_clean` (a second line:
XML 1.0 has no escape for U+0001 or U+FFFE, a parser refuses the whole file),
and every CSV the tool writes goes through :func:`csv_text`, which neutralises
cells a spreadsheet would run as formulas (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

__all__ = ["MAX_TEXT_CHARS", "csv_cell", "csv_text", "text_problem", "xml_clean"]

#: The longest title, author or name: a line on a sheet (and far below TeX's line buffer).
MAX_TEXT_CHARS = 200

# Characters XML 1.0 cannot carry, escaped or not (its Char production): C0 controls
# but tab/LF/CR, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: the ASCII characters ``_NOT_XML`` matches: the control characters but tab and the line ends
_ASCII_NOT_XML = bytes(c for c in range(128) if _NOT_XML.match(chr(c)))
# A cell a spreadsheet reads as a formula (or a DDE command) when it starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def text_problem(text: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Why ``text`` cannot be a title or a name (None when it can), to follow "the title": too long, or it
    holds a control character."""
    if len(text) > max_chars:
        return f"is {len(text):,} characters long (at most {max_chars})"
    bad = _NOT_XML.search(text)
    if bad:
        return (f"holds the control character U+{ord(bad.group()):04X} (character {bad.start() + 1}), "
                "which XML cannot carry; remove it")
    return None


def xml_clean(document: str) -> str:
    """``document`` without the characters XML 1.0 cannot carry."""
    if document.isascii():  # only the control characters to drop: deleted from its bytes, four times as fast
        return document.encode("ascii").translate(None, _ASCII_NOT_XML).decode("ascii")
    return _NOT_XML.sub("", document)


def csv_cell(value: object) -> str:
    """A cell's text, prefixed with ``'`` when a spreadsheet would read it as a formula (numbers stay)."""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV file (``\\n`` line ends), every cell through :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in header])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return out.getvalue()
