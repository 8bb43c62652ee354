"""A class roster (CSV with a name and an optional id column): one student per variant."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..engine.examtable import MAX_VARIANTS
from ..errors import ExamError
from ..hints import count, quoted
from ..io.files import InputKind, read_input
from ..io.usertext import text_problem
from .variants import Student

__all__ = ["load_roster", "loads_roster"]

_NAME_COLUMNS = ("name", "student", "student name", "full name")
_ID_COLUMNS = ("id", "student id", "student_id", "sid", "email", "login")


def load_roster(path: str | Path) -> list[Student]:
    """A CSV with a header row naming a ``name`` column and optionally an ``id`` column."""
    try:
        text = read_input(path, InputKind("roster", "CSV", ExamError), f"roster {path}")
    except ExamError as err:  # the setting named, so that the CLI can say --roster
        raise ExamError(str(err), setting="roster") from None
    return loads_roster(text, str(path))


def _problem(source: str, problem: str) -> ExamError:
    """One line naming the roster setting, the file and the problem (the CLI names its flag)."""
    return ExamError(f"roster {source}: {problem}", setting="roster")


def loads_roster(text: str, source: str = "<roster>") -> list[Student]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as err:
        raise _problem(source, f"not valid CSV: {err}") from None
    if not rows:
        raise _problem(source, "empty roster")
    header = [cell.strip().lower() for cell in rows[0]]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:  # which of two name columns holds the name? (the second had been dropped silently)
        raise _problem(source, f"the header names the column {', '.join(repr(h) for h in twice)} twice")
    name_col = next((i for i, h in enumerate(header) if h in _NAME_COLUMNS), None)
    if name_col is None:
        raise _problem(source, "the first row must be a header with a name column (e.g. \"id,name\")")
    id_col = next((i for i, h in enumerate(header) if h in _ID_COLUMNS), None)
    students: list[Student] = []
    first_row: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise _problem(source, f"row {line}: {count(len(row), 'cell')}, the header has {len(header)}")
        name = " ".join(row[name_col].split())
        if not name:
            raise _problem(source, f"row {line}: empty name")
        ident = " ".join(row[id_col].split()) if id_col is not None else name
        if not ident:
            raise _problem(source, f"row {line}: empty id")
        for what, text in (("name", name), ("id", ident)):
            problem = text_problem(text)
            if problem:
                raise _problem(source, f"row {line}: the {what} {problem}")
        if ident in first_row:
            what = "id" if id_col is not None else "name (add an id column to tell them apart)"
            raise _problem(source, f"row {line}: duplicate {what} {quoted(ident)} (first on row {first_row[ident]})")
        first_row[ident] = line
        students.append(Student(ident, name))
    if not students:
        raise _problem(source, "no students below the header")
    if len(students) > MAX_VARIANTS:
        raise _problem(source, f"{len(students)} students; at most {MAX_VARIANTS}")
    return students
