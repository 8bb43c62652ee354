"""What a class answered, read into one submission per row: a folder of answers files, Moodle's quiz
"Responses" report, or Canvas's quiz "Student Analysis" report.

* **Folder** (or one ``.toml`` file): one answers file per student (``*.toml`` / ``*.csv``, as
  ``symbackprop verify`` reads them), named by the student's id (``s001.toml``,
  ``ada@uni.edu.toml``) or by the variant (``v007.toml``).
* **Moodle** (Results > Responses, download as CSV, with "Question text" and "Response" shown):
  ``Last name, First name``, the site's identity fields (``Email address``, ``ID number``), the
  attempt's state, times and grade, then per question ``Question N``, ``Response N``, ``Right answer N``
  (checked against Moodle's code: mod/quiz/classes/local/reports/attempts_report.php
  ``add_user_columns`` and mod/quiz/report/responses/report.php, with the strings of
  lang/en/moodle.php, question/lang ``questionx`` and quiz_responses ``responsex``).  Students by the
  ``Email address`` / ``ID number`` columns; each ``Question N`` cell names the variant (the exported
  question text ends in "symbackprop variant 007"), and the ``Response N`` cell of a Cloze question
  reads ``part 1: 0.378; part 2: 0.393; ...`` (Moodle's own wording, ``part {i}: {response}`` joined
  with ``; ``): part *i* is the variant's *i*-th asked value.
* **Canvas** (Quiz statistics > Student Analysis): ``name, id, sis_id, [root_account,] section,
  section_id, section_sis_id, submitted, [attempt,]`` then per question ``<question id>: <question
  text, tags stripped>`` (the text carries ``[v007 z_h1]``) and its points, then ``n correct, n
  incorrect, score`` (instructure/canvas-lms app/models/quizzes/quiz_statistics/student_analysis.rb
  ``to_csv``).  ``sis_id`` and ``section_sis_id`` are there only for a user who may see SIS ids
  (``includes_sis_ids?``), so the report is known by its question columns and the columns it always has.

A row that cannot be read becomes a submission with a ``problem`` (one line, the row named); the
rest are still read.  Nothing is dropped without a line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AnswerError
from ..hints import clip, count, quoted
from ..io.files import InputKind, read_input
from .answers import Answer, Answers, Sheet, load_answers
from .examset import ExamFolder

__all__ = ["Identity", "Submission", "read_all", "read_responses"]

#: a responses CSV of a large class (300 students x 30 values is about 300 KB)
MAX_RESPONSES_BYTES = 50_000_000
#: what the exported question texts carry (exam/moodle.py, exam/qti.py)
MOODLE_TAG = re.compile(r"symbackprop variant v?(\d+)", re.IGNORECASE)
CANVAS_TAG = re.compile(r"\[v(\d+) ([^\]\s]+)\]")
_PART = re.compile(r"(?:^|;\s*)part (\d+):\s?")
_MOODLE_RESPONSE = re.compile(r"response (\d+)")
_CANVAS_QUESTION = re.compile(r"\d+: ")
#: the columns every Student Analysis report has (sis_id only for a user who may see SIS ids)
CANVAS_COLUMNS = frozenset({"section", "section_id", "submitted", "n correct", "n incorrect", "score"})
_NO_RESPONSE = ("", "-")


@dataclass(frozen=True)
class Identity:
    """Who a row is, by every identifier the platform gave."""

    name: str = ""
    email: str = ""
    id_number: str = ""  # Moodle's ID number, a roster id, an answers file's name
    canvas_id: str = ""
    sis_id: str = ""
    section: str = ""

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.id_number, self.email, self.sis_id, self.canvas_id) if i)


@dataclass(frozen=True)
class Submission:
    """One row (or file): who, which variant it says it answers, and the answers (or why not)."""

    where: str  # "responses.csv row 4"
    who: Identity
    variant: str | None = None
    answers: Answers | None = None
    problem: str = ""


@dataclass
class _Table:
    source: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def read_all(paths: Sequence[str | Path], folder: ExamFolder) -> list[Submission]:
    """The submissions of every path; a file that cannot be read at all is one skipped submission (its
    line says why), unless no path can be read: then its error (one line, exit 2)."""
    out: list[Submission] = []
    errors: list[AnswerError] = []
    for path in paths:
        try:
            out.extend(read_responses(path, folder))
        except AnswerError as err:
            errors.append(err)
            out.append(Submission(str(path), Identity(), problem=f"not read: {str(err).removeprefix(f'{path}: ')}"))
    if errors and len(errors) == len(paths):
        raise errors[0]
    return out


def read_responses(path: str | Path, folder: ExamFolder) -> list[Submission]:
    """Every submission in ``path`` (a folder of answers files, or a Moodle or Canvas CSV); a file that
    is none of these raises :class:`AnswerError` (one line)."""
    path = Path(path)
    if path.is_dir():
        return list(_folder(path, folder))
    if path.suffix.lower() == ".toml":  # named on its own, an unreadable file is an error (in a folder: skipped)
        submission = _answers_file(path, folder)
        if submission.answers is None:
            raise AnswerError(f"{path}: {submission.problem}")
        return [submission]
    table = _read_csv(path)
    lowered = [h.strip().lower() for h in table.header]
    if any(_MOODLE_RESPONSE.fullmatch(h) for h in lowered):
        return list(_moodle(table, folder))
    if CANVAS_COLUMNS <= set(lowered) and any(_CANVAS_QUESTION.match(h) for h in table.header):
        return list(_canvas(table, folder))
    raise AnswerError(f"{path}: neither a Moodle \"Responses\" report (no \"Response 1\" column) nor a Canvas "
                      f"\"Student Analysis\" report (no section, submitted and score columns); "
                      f"header: {clip(', '.join(table.header))}")


def _read_csv(path: Path) -> _Table:
    text = read_input(path, InputKind("responses report", "CSV", AnswerError), limit=MAX_RESPONSES_BYTES)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise AnswerError(f"{path}: not valid CSV: {err}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise AnswerError(f"{path}: empty: no header row")
    header = [h.strip() for h in rows[0]]
    table = _Table(str(path), header)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            table.rows.append((number, {"": f"{count(len(row), 'cell')}, the header has {len(header)}"}))
        else:
            table.rows.append((number, {h.lower(): cell.strip() for h, cell in zip(header, row, strict=True)}))
    return table


def _each(table: _Table, read: Callable[[str, dict[str, str]], Submission]) -> Iterator[Submission]:
    """``read(where, cells by lowered header)`` of each row; a row of the wrong width is skipped, said."""
    for number, row in table.rows:
        where = f"{table.source} row {number}"
        yield Submission(where, Identity(), problem=row[""]) if "" in row else read(where, row)


# -- a folder of answers files -------------------------------------------------------------

def _folder(path: Path, folder: ExamFolder) -> Iterator[Submission]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".toml", ".csv") and p.is_file())
    if not files:
        raise AnswerError(f"{path}: no answers files (*.toml or *.csv named by student id or variant) in it")
    for file in files:
        yield _answers_file(file, folder)


def _answers_file(file: Path, folder: ExamFolder) -> Submission:
    """One answers file, named by the student's id or by the variant (``v007.toml``)."""
    stem = file.stem
    named = re.fullmatch(r"[vV]\d+", stem) is not None
    variant = folder.variant_of(stem) if named else None
    if named and variant is None:  # v009.toml beside a set of five
        labels = sorted(folder.variants)
        return Submission(str(file), Identity(), None,
                          problem=f"variant {stem[1:]} is not in this set ({labels[0]} to {labels[-1]})")
    who = Identity() if variant else Identity(id_number=stem)
    try:
        answers = load_answers(file)
    except AnswerError as err:
        return Submission(str(file), who, variant, problem=str(err).removeprefix(f"{file}: "))
    if answers.sheet.student and not who.name:
        who = Identity(name=answers.sheet.student, id_number=who.id_number)
    return Submission(str(file), who, variant, answers)


# -- Moodle's Responses report ---------------------------------------------------------------

def _moodle(table: _Table, folder: ExamFolder) -> Iterator[Submission]:
    slots = sorted({int(m.group(1)) for h in table.header if (m := _MOODLE_RESPONSE.fullmatch(h.strip().lower()))})
    if not any(f"question {n}" in (h.lower() for h in table.header) for n in slots):
        raise AnswerError(f"{table.source}: a Moodle Responses report without the \"Question\" text columns; "
                          "download it again with \"Question text\" shown (it names each row's variant)")
    return _each(table, lambda where, row: _moodle_row(where, row, slots, folder))


def _moodle_row(where: str, row: dict[str, str], slots: list[int], folder: ExamFolder) -> Submission:
    first, last = row.get("first name", ""), row.get("last name", row.get("surname", ""))
    who = Identity(name=" ".join(f"{first} {last}".split()), email=row.get("email address", ""),
                   id_number=row.get("id number", ""))
    found = [(n, m.group(1)) for n in slots if (m := MOODLE_TAG.search(row.get(f"question {n}", "")))]
    if not found:
        if any(cell.lower().startswith("overall average") for cell in row.values()):
            return Submission(where, who, problem="Moodle's \"Overall average\" row, not a student")
        return Submission(where, who, problem="no Question cell names a symbackprop variant "
                                              "(\"symbackprop variant NNN\")")
    slot, text = found[0]
    variant = folder.variant_of(text)
    if variant is None:
        return Submission(where, who, problem=f"the question names variant {text}, which the set does not have")
    return _cloze(where, who, variant, row.get(f"response {slot}", ""), folder)


def _cloze(where: str, who: Identity, variant: str, cell: str, folder: ExamFolder) -> Submission:
    """``part 1: 0.378; part 2: ; part 3: 0,393`` -> the variant's asked values (an empty part is missing)."""
    asked = folder.variants[variant].asked
    if cell.strip() in _NO_RESPONSE:
        return Submission(where, who, variant, Answers((), Sheet(who.name, source=where)))
    marks = list(_PART.finditer(cell))
    if not marks or marks[0].start() != 0:
        return Submission(where, who, variant, problem=f"the response {quoted(cell, 40)} does not read "
                                                       "\"part 1: ...; part 2: ...\"")
    numbers = [int(m.group(1)) for m in marks]
    if numbers != list(range(1, len(numbers) + 1)):
        return Submission(where, who, variant, problem=f"the response's parts are numbered {_numbers(numbers)}, "
                                                       "not 1, 2, 3, ...")
    if len(numbers) != len(asked):
        return Submission(where, who, variant, problem=f"{len(numbers)} parts, but variant {variant} asks "
                                                       f"{len(asked)} values (a response to another question?)")
    ends = [m.start() for m in marks[1:]] + [len(cell)]
    texts = [cell[m.end():end].strip() for m, end in zip(marks, ends, strict=True)]
    return Submission(where, who, variant, _answers(asked, texts, who, where))


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:6]))
    return shown + (", ..." if len(numbers) > 6 else "")


def _answers(asked: tuple[str, ...], texts: list[str], who: Identity, where: str) -> Answers:
    entries = []
    for name, text in zip(asked, texts, strict=True):
        if text:
            entries.append(Answer(name, text, "value", where))  # a number box: text is marked invalid
    return Answers(tuple(entries), Sheet(who.name, source=where))


# -- Canvas's Student Analysis report --------------------------------------------------------

def _canvas(table: _Table, folder: ExamFolder) -> Iterator[Submission]:
    columns: list[tuple[str, str, str]] = []  # (lowered header, variant, quantity)
    for header in table.header:
        tag = CANVAS_TAG.search(header)
        if _CANVAS_QUESTION.match(header) and tag:
            variant = folder.variant_of(tag.group(1))
            if variant is None:
                raise AnswerError(f"{table.source}: the column {quoted(header, 50)} names variant {tag.group(1)}, "
                                  "which the set does not have (a report of another exam?)")
            if tag.group(2) not in folder.variants[variant].asked:
                raise AnswerError(f"{table.source}: the column {quoted(header, 50)} names {quoted(tag.group(2))}, "
                                  f"which variant {variant} does not ask")
            columns.append((header.lower(), variant, tag.group(2)))
    if not columns:
        raise AnswerError(f"{table.source}: a Canvas report whose question columns carry no \"[vNNN name]\" tag "
                          "(import the quiz from canvas-qti.zip of `symbackprop exam`)")
    return _each(table, lambda where, row: _canvas_row(where, row, columns, folder))


def _canvas_row(where: str, row: dict[str, str], columns: list[tuple[str, str, str]],
                folder: ExamFolder) -> Submission:
    who = Identity(name=row.get("name", ""), canvas_id=row.get("id", ""), sis_id=row.get("sis_id", ""),
                   section=row.get("section", ""))
    answered = [(variant, name, row[h]) for h, variant, name in columns if row.get(h, "")]
    variants = sorted({v for v, _, _ in answered} or {v for _, v, _ in columns})
    if len(variants) != 1:
        return Submission(where, who, problem=f"answers to {len(variants)} variants in one row "
                                              f"({', '.join(variants)})")
    variant = variants[0]
    asked = folder.variants[variant].asked
    given = {name: text for _, name, text in answered}
    return Submission(where, who, variant, _answers(asked, [given.get(n, "") for n in asked], who, where))
