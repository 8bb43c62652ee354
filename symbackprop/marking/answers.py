"""Answers files: what a student derived by hand, as they wrote it.

TOML (the default)::

    [sheet]                       # optional: printed on the marked sheet
    student = "A. Student"

    z_h1 = "0.378"                # a string that reads as a number is a value
    "dE/dw5" = "0.028"            # names with / or ' need quotes (TOML keys)
    h1 = "sigma(z_h1)"            # any other string is a formula

    [values]                      # optional explicit sections: a name may have
    "dE/dz_o" = "0.047"           # both a value and a formula
    [formulas]
    "dE/dz_o" = "(yhat - t)*yhat*(1 - yhat)"

Values should be strings so that trailing zeros count (``"0.030"`` has three
decimals).  A bare TOML number (``z_h1 = 0.378``) is accepted and keeps its
text exactly as written (the file is read with ``parse_float=str``).

CSV (a file ending in ``.csv``): rows ``name,answer`` or ``name,answer,kind``
with kind ``value`` or ``formula`` (empty: decided as in TOML); an optional
first row ``name,answer[,kind]`` is a header.  ``#`` starts a comment line.
Each row is one line: a quoted cell may hold commas but not a line break
(an unclosed quote is an error naming its row, never a joined answer).

File-level problems (not UTF-8, binary, bad TOML, too large, a value that is
neither a string nor a number) raise :class:`AnswerError`; problems of one
entry (an unknown name, an unreadable formula) are left to the marking, which
reports them per row.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AnswerError
from ..hints import count, quoted
from ..io.files import InputKind, read_input
from ..io.tomltext import TomlProblem, parse_toml

#: The largest number of entries in one file.
MAX_ENTRIES = 5_000
#: The tables with a meaning of their own; every other key is a quantity name.
SECTIONS = ("values", "formulas", "sheet")
SHEET_FIELDS = ("student", "title")

FORMS = ("value", "formula")

# What reads as a number (and is marked as one): decimals, scientific notation,
# and the non-numbers a float parser would accept, so they get a clear verdict.
_NUMBER_LIKE = re.compile(
    r"\s*[+-]?((\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d+)?|nan|inf|infinity)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """One entry: a quantity name and the text written for it."""

    name: str
    text: str
    form: str  # "value" or "formula"
    #: where it came from, for messages: "line 4" (CSV) or "[formulas]" (TOML)
    where: str = ""


@dataclass(frozen=True)
class Sheet:
    """Whose work it is and on what: the student, the exercise's title, the file it came from (an answers
    file carries it in, a marking report carries it on)."""

    student: str = ""
    title: str = ""
    source: str = "<answers>"


@dataclass(frozen=True)
class Answers:
    entries: tuple[Answer, ...]
    sheet: Sheet = Sheet()


def looks_like_number(text: str) -> bool:
    return _NUMBER_LIKE.fullmatch(text) is not None


def classify(text: str) -> str:
    """``"value"`` when the text reads as a number, ``"formula"`` otherwise."""
    return "value" if looks_like_number(text) else "formula"


def load_answers(path: str | Path) -> Answers:
    """Read a TOML or CSV answers file (CSV when the name ends in ``.csv``)."""
    path = Path(path)
    text = read_input(path, InputKind("answers file", "TOML or CSV", AnswerError))
    if path.suffix.lower() == ".csv":
        return loads_csv(text, str(path))
    return loads_toml(text, str(path))


def loads_toml(text: str, source: str = "<answers>") -> Answers:
    try:
        data = parse_toml(text, parse_float=str)
    except TomlProblem as err:
        hint = ' (write answers as strings: "0.378")' if err.huge_integer else ""
        raise AnswerError(f"{source}: not valid TOML: {err}{hint}") from None
    entries: list[Answer] = []
    sheet: dict[str, str] = {}
    spec_tables = [t for t in ("network", "parameters", "examples", "graph", "rnn", "conv1d") if t in data]
    if spec_tables and not any(t in data for t in ("values", "formulas")):  # the spec given where answers belong
        raise AnswerError(f"{source}: a spec ([{spec_tables[0]}]), not an answers file: give the answers file "
                          "after the spec")
    for key, value in data.items():
        if key == "sheet":
            sheet = _sheet(value, source)
        elif key in ("values", "formulas"):
            if not isinstance(value, dict):
                raise AnswerError(f"{source}: [{key}] must be a table of name = \"answer\" lines")
            form = key[:-1]
            entries.extend(Answer(name, _text(v, name, source), form, f"[{key}]") for name, v in value.items())
        else:
            answer = _text(value, key, source)
            entries.append(Answer(key, answer, classify(answer)))
    return _answers(entries, sheet, source)


def loads_csv(text: str, source: str = "<answers>") -> Answers:
    # rows are numbered by the file's lines (comments and blank lines counted, as an editor shows them)
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    entries = []
    for k, (number, line) in enumerate(lines):
        row = _csv_row(line, f"{source}: row {number}")
        cells = [cell.strip() for cell in row]
        if k == 0 and [c.lower() for c in cells[:2]] == ["name", "answer"]:
            continue
        if len(cells) not in (2, 3):
            raise AnswerError(f"{source}: row {number}: expected name,answer[,kind], got {count(len(cells), 'cell')}")
        name, answer = cells[0], cells[1]
        kind = cells[2].lower() if len(cells) == 3 and cells[2] else classify(answer)
        if kind not in FORMS:
            raise AnswerError(f"{source}: row {number}: kind must be value or formula, not {quoted(kind, 20)}")
        entries.append(Answer(name, answer, kind, f"row {number}"))
    return _answers(entries, {}, source)


def _csv_row(line: str, where: str) -> list[str]:
    """One line as one row: a quoted cell must close on its line (a newline inside quotes would join two
    rows into one answer, ``"0.3`` + ``78"`` read as 0.378)."""
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as err:
        problem = "a quoted cell is not closed on its line" if "end of data" in str(err) else f"not valid CSV ({err})"
        raise AnswerError(f"{where}: {problem}; write each answer on one line, quotes closed") from None


def _answers(entries: list[Answer], sheet: dict[str, str], source: str) -> Answers:
    if len(entries) > MAX_ENTRIES:
        raise AnswerError(f"{source}: {len(entries):,} answers; the limit is {MAX_ENTRIES:,}")
    if not entries:
        raise AnswerError(f"{source}: no answers found (expected lines like z_h1 = \"0.378\")")
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if (entry.name, entry.form) in seen:
            raise AnswerError(f"{source}: {quoted(entry.name)} has two {entry.form}s")
        seen.add((entry.name, entry.form))
    return Answers(tuple(entries), Sheet(sheet.get("student", ""), sheet.get("title", ""), source))


def _text(value: Any, name: str, source: str) -> str:
    """A TOML value as the text the student wrote (floats arrive as their source text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        raise AnswerError(f"{source}: {quoted(name)}: true/false is not an answer; write \"0.378\" or a formula")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        raise AnswerError(f"{source}: {quoted(name)} is a table; only [values], [formulas] and [sheet] may be "
                          "tables (quote names with dots: \"a.b\" = ...)")
    raise AnswerError(f"{source}: {quoted(name)}: a {type(value).__name__} is not an answer; "
                      "write the answer as a string")


def _sheet(value: Any, source: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise AnswerError(f"{source}: [sheet] must be a table (student = \"...\")")
    sheet = {}
    for key, text in value.items():
        if key not in SHEET_FIELDS:
            raise AnswerError(f"{source}: [sheet] has no field {quoted(key, 40)} (fields: {', '.join(SHEET_FIELDS)})")
        if not isinstance(text, str) or len(text) > 200:
            raise AnswerError(f"{source}: [sheet] {key} must be a string of at most 200 characters")
        sheet[key] = text
    return sheet
