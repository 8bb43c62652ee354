"""Mark a whole class: each submission against its own student's variant, scored by a marking policy,
with every row read accounted for (marked, or skipped with one line saying why).

A submission is matched to a student of ``index.csv`` by any id it carries (ID number, e-mail, SIS
id; case does not count); the variant is the student's.  A response that says it answers another
variant (the question text, the file name) is skipped, not marked against the wrong key.  A set
made without a roster has no students: then the response's own variant is used.  Each asked value
earns its verdict's credit (:class:`~symbackprop.engine.examtable.MarkingPolicy`); values a student
left empty earn the ``missing`` credit; formulas and names the variant does not ask are marked (the
sheet shows them) but do not count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from ..engine.examtable import MarkingPolicy
from ..engine.graph import GraphSolution
from ..engine.solution import Solution
from ..workers import ordered_map
from .examset import ExamFolder, student_key
from .responses import Identity, Submission
from .verify import VERDICTS, Report, Row, mark
from .words import MarkingWords, marking_words

__all__ = ["ClassMarks", "Marked", "Skipped", "diagnosis", "diagnosis_parts", "mark_class", "verdict_labels"]

#: an asked value left empty: its verdict key
MISSING = "missing"


def verdict_labels(words: MarkingWords) -> dict[str, str]:
    """Every verdict's label in ``words``, and a value left empty's."""
    return {**words.verdicts, MISSING: words.not_answered}


@dataclass(frozen=True)
class Marked:
    """One student's marked answers and points."""

    where: str
    who: Identity
    student_id: str  # the roster's id (or the best id the row gives, for a set without a roster)
    name: str
    variant: str
    report: Report
    verdicts: tuple[tuple[str, str], ...]  # (asked name, verdict key or "missing"), in asked order
    points: Fraction
    possible: Fraction
    #: the asked values left empty, as rows of the marked sheet (verdict ``missing``, the key's value expected)
    unanswered: tuple[Row, ...] = ()

    @property
    def asked(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.verdicts)

    @property
    def right(self) -> int:
        return sum(verdict == "correct" for _, verdict in self.verdicts)

    def verdicts_text(self) -> str:
        """``27 of 29 right: 1 carried forward, 1 not answered`` (in the report's words)."""
        counts = Counter(verdict for _, verdict in self.verdicts)
        labels = verdict_labels(self.report.words)
        others = [(labels[v], counts[v]) for v in (*VERDICTS, MISSING) if counts[v] and v != "correct"]
        return self.report.words.student_verdicts(self.right, len(self.verdicts), others)


@dataclass(frozen=True)
class Skipped:
    where: str
    message: str

    def line(self) -> str:
        return f"{self.where}: skipped: {self.message}"


@dataclass
class ClassMarks:
    marked: list[Marked] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # the roster's students with no response: "id (name)" or "id"
    policy: MarkingPolicy = field(default_factory=MarkingPolicy)
    has_roster: bool = False
    #: the words of the sheets and the summary
    words: MarkingWords = field(default_factory=marking_words)

    @property
    def read(self) -> int:
        return len(self.marked) + len(self.skipped)

    def summary(self) -> str:
        """``7 rows read: 6 marked, 1 skipped; 0 students without a response``."""
        line = self.words.rows_read(self.read, len(self.marked), len(self.skipped))
        return line + (self.words.without_response(len(self.absent)) if self.has_roster else "")

    def mistakes(self) -> Counter[tuple[str, str]]:
        """(quantity, diagnosis) -> how many students, for every asked value not marked correct."""
        return Counter({key: len(rows) for key, rows in self._mistakes().items()})

    def mistake_parts(self) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
        """(quantity, diagnosis) -> the diagnosis in pieces (text, LaTeX), for the summary to print as maths."""
        return {key: diagnosis_parts(rows[0], self.words) for key, rows in self._mistakes().items()}

    def _mistakes(self) -> dict[tuple[str, str], list[Row | None]]:
        found: dict[tuple[str, str], list[Row | None]] = {}
        for m in self.marked:
            rows = {r.name: r for r in m.report.rows if r.form == "value"}
            for name, verdict in m.verdicts:
                if verdict != "correct":
                    row = rows.get(name)
                    found.setdefault((name, diagnosis(row, self.words)), []).append(row)
        return found


def diagnosis(row: Row | None, words: MarkingWords | None = None) -> str:
    """The mistake in a few words: the verdict, and for a wrong value the slip verify names
    (``wrong: sign flipped``); no row is ``not answered``."""
    return "".join(text for text, _ in diagnosis_parts(row, words))


def diagnosis_parts(row: Row | None, words: MarkingWords | None = None) -> tuple[tuple[str, str], ...]:
    """:func:`diagnosis` in pieces (text, LaTeX), as ``Row.why_parts``: a name or formula it names has its LaTeX
    (the summary's chart prints it as maths); the slip is cut before its first bracket or semicolon."""
    words = words or marking_words()
    if row is None:
        return ((str(words.not_answered), ""),)
    if not (row.verdict == "wrong" and row.why):
        return ((str(words.verdicts[row.verdict]), ""),)
    slip: list[tuple[str, str]] = []
    for text, latex in row.why_parts or ((row.why, ""),):
        cut = min((i for i in (text.find(" ("), text.find(";")) if i >= 0), default=-1) if not latex else -1
        slip.append((text if cut < 0 else text[:cut], latex))
        if cut >= 0:
            break
    while slip and not slip[-1][1] and not slip[-1][0].strip():
        slip.pop()
    if slip and not slip[-1][1]:
        slip[-1] = (slip[-1][0].rstrip(), "")
    if slip and not slip[0][1]:
        slip[0] = (slip[0][0].lstrip(), "")
    before, _, after = str(words.wrong_because(_SLIP)).partition(_SLIP)  # the words around the slip: the template's
    return tuple(part for part in ((before, ""), *slip, (after, "")) if part[0] or part[1])


#: stands for the slip while the words around it are found
_SLIP = "\x00slip\x00"


def mark_class(folder: ExamFolder, submissions: Iterable[Submission], policy: MarkingPolicy,
               workers: int = 1, lang: str = "en") -> ClassMarks:
    """Mark every submission; the rest of the class is still marked when a row is skipped.  With
    ``workers`` > 1 a large class is marked in that many processes (same results, same order); the
    sheets and the summary are worded in ``lang``."""
    out = ClassMarks(policy=policy, has_roster=folder.has_roster, words=marking_words(lang))
    first: dict[str, str] = {}
    jobs: list[_Job] = []
    for sub in submissions:
        if sub.problem or sub.answers is None:
            out.skipped.append(Skipped(sub.where, sub.problem or "no answers"))
            continue
        found = _student(folder, sub)
        if isinstance(found, str):
            out.skipped.append(Skipped(sub.where, found))
            continue
        label, student_id, name = found
        key = student_key(student_id) if student_id else f"variant {label}"
        if key in first:
            out.skipped.append(Skipped(sub.where, f"a second response of {student_id or key} (the first, at "
                                                  f"{first[key]}, is marked)"))
            continue
        first[key] = sub.where
        jobs.append((sub, label, student_id, name))
    out.marked = _score_all(folder, jobs, policy, workers, lang)
    marked_ids = {student_key(m.student_id) for m in out.marked}
    out.absent = [f"{v.student_id} ({v.student_name})" if v.student_name and v.student_name != v.student_id
                  else v.student_id
                  for v in folder.variants.values() if v.student_id and student_key(v.student_id) not in marked_ids]
    return out


_Job = tuple[Submission, str, str, str]  # the submission, its variant, student id and name
#: classes smaller than this are marked in this process (starting workers costs more than it saves)
PARALLEL_FROM = 40


def _score_all(folder: ExamFolder, jobs: list[_Job], policy: MarkingPolicy, workers: int,
               lang: str) -> list[Marked]:
    return ordered_map(lambda job: _score(folder, *job, policy, lang), jobs, workers, least=PARALLEL_FROM)


def _student(folder: ExamFolder, sub: Submission) -> tuple[str, str, str] | str:
    """(variant, student id, name) of a submission, or why it cannot be marked."""
    if folder.has_roster and sub.who.ids:
        label = next((folder.by_student[k] for i in sub.who.ids if (k := student_key(i)) in folder.by_student), None)
        if label is None:
            hint = ("; Canvas's own id only: download the report as a user who may see SIS ids (sis_id)"
                    if sub.who.ids == (sub.who.canvas_id,) else "")
            return f"unknown student {' / '.join(sub.who.ids)} (not in index.csv{hint})"
        v = folder.variants[label]
        if sub.variant is not None and sub.variant != label:
            return (f"a response to variant {sub.variant}, but {v.student_id} has variant {label} "
                    "(not marked against another student's key)")
        return label, v.student_id, v.student_name or sub.who.name
    if sub.variant is None:
        return ("no variant: the set has no roster and the response names no variant"
                if not folder.has_roster else "no student id and no variant in the response")
    v = folder.variants[sub.variant]
    return sub.variant, v.student_id or next(iter(sub.who.ids), ""), v.student_name or sub.who.name


def _score(folder: ExamFolder, sub: Submission, label: str, student_id: str, name: str,
           policy: MarkingPolicy, lang: str) -> Marked:
    assert sub.answers is not None
    asked = folder.variants[label].asked
    report = mark(folder.solution(label), sub.answers, lang=lang)
    report = replace(report, sheet=replace(report.sheet, student=name or report.sheet.student, source=sub.where))
    value_verdict: dict[str, str] = {}
    for row in report.rows:
        if row.form == "value":
            value_verdict.setdefault(row.name, row.verdict)
    verdicts = tuple((n, value_verdict.get(n, MISSING)) for n in asked)
    variant = folder.variants[label]
    unanswered = tuple(Row(n, "value", "", key, MISSING, latex=_symbol_latex(folder.solution(label), n))
                       for n, key in zip(asked, variant.keys, strict=True) if n not in value_verdict)
    credit = sum((policy.credits[v] for _, v in verdicts), Fraction(0))
    scale = policy.out_of / len(asked) if policy.out_of is not None and asked else Fraction(1)
    possible = policy.out_of if policy.out_of is not None else Fraction(len(asked))
    return Marked(sub.where, sub.who, student_id, name, label, report, verdicts, credit * scale, possible, unanswered)


def _symbol_latex(solution: Solution | GraphSolution, name: str) -> str:
    """A quantity's symbol in LaTeX ("" for a name the solution does not know)."""
    if isinstance(solution, GraphSolution):
        return solution.symbol_latex.get(name, "")
    return solution.latex(name) if name in solution.network.quantities else ""


def verdict_totals(marked: Sequence[Marked]) -> dict[str, int]:
    """How many asked values got each verdict (and how many were left empty), over the class."""
    totals = dict.fromkeys([*VERDICTS, MISSING], 0)
    for m in marked:
        for _, verdict in m.verdicts:
            totals[verdict] += 1
    return totals
