"""Draw a set of variants and render every file of it in memory (nothing is written)."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..documents.handout import check_lang
from ..documents.render import templates_read_once
from ..engine.examtable import MAX_VARIANTS, ExamSettings, check_layout, parse_ask
from ..engine.graph import solve_graph
from ..engine.graphspec import GraphSpec
from ..engine.kinds import load_any
from ..engine.solution import solve
from ..engine.spec import Spec
from ..errors import ExamError
from ..workers import available_workers, ordered_map
from .documents import answers_toml, document, index_csv, variant_bodies, variant_spec_toml
from .drawing import SetReport, draw_variants, reasons_text
from .lms import check_lms_lang
from .moodle import moodle_question, moodle_quiz
from .pdfjobs import PdfJob, pdf_jobs
from .qti import qti_files, qti_zip
from .roster import load_roster
from .variants import Variant

__all__ = ["ExamSet", "build_exam"]


@dataclass
class ExamSet:
    """A drawn set: its variants, what was rejected, and every file's bytes."""

    variants: list[Variant]
    report: SetReport
    ask: tuple[str, ...]
    title: str
    files: dict[str, bytes]  # relative path -> bytes
    pdf_jobs: list[PdfJob]  # what the pdf setting compiles (and cuts into one PDF per variant)

    @property
    def rejected(self) -> Counter[str]:
        return self.report.rejected

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        draws = len(self.variants) + self.n_rejected
        spread = self.report.spread()
        n = len(self.variants)
        return (f"{n} variant{'' if n == 1 else 's'} from {draws} draws; {self.n_rejected} rejected"
                f"{' (' + reasons_text(self.rejected) + ')' if self.n_rejected else ''}"
                f"{'; ' + spread if spread else ''}")


def build_exam(spec_path: str | Path | None, variants: int | None = None, seed: int = 0,
               roster: str | Path | None = None, ask: str | Sequence[str] | None = None,
               moodle: bool = False, qti: bool = False, pdf: bool = False, spec: Spec | GraphSpec | None = None,
               settings: ExamSettings | None = None,
               progress: Callable[..., None] | None = None, lang: str | None = None,
               layout: str | None = None, workers: int | None = None) -> ExamSet:
    """Draw the variants and render every file in memory (nothing is written); ``settings`` default to
    the spec's ``[exam]`` table, ``progress(done, total, what)`` hears how far it got.  ``lang`` (default:
    the spec's ``[templates] lang``, else English) words the sheets and keys; ``layout`` overrides
    ``[exam] layout``; the variants are rendered in ``workers`` processes (default: one per core), the
    same bytes as in one."""
    students = load_roster(roster) if roster is not None else None
    if students is not None and variants is not None and variants != len(students):
        raise ExamError(f"variants {variants} but the roster has {len(students)} students; leave it out "
                        "(the roster sets the number of variants)", setting="variants")
    count = len(students) if students is not None else (1 if variants is None else variants)
    if count < 1:
        raise ExamError(f"variants: must be at least 1, got {count}", setting="variants")
    if count > MAX_VARIANTS:
        raise ExamError(f"variants: at most {MAX_VARIANTS}, got {count}", setting="variants")
    if spec is None:  # read once (a pipe gives it only once), [exam] included; a graph kind by its table
        spec = load_any(spec_path)
    if settings is None:
        settings = spec.exam
    if ask is not None:
        settings = dataclasses.replace(settings, ask=parse_ask(ask))
    if layout is not None:
        settings = dataclasses.replace(settings, layout=check_layout(layout))
    if lang is None:
        lang, field = spec.lang or "en", f"{spec.source}: templates.lang"
    else:
        field = "lang"
    check_lang(lang, field)  # before any drawing: a language without words is one line
    if moodle or qti:
        check_lms_lang(lang, field)
    # proved once: every variant shares its derivation and proofs
    base = solve_graph(spec) if isinstance(spec, GraphSpec) else solve(spec)
    workers = available_workers() if workers is None else workers
    title = spec.title
    with templates_read_once():
        files = functools.partial(_variant_files, ask=settings.ask, layout=settings.layout, lang=lang, title=title,
                                  moodle=moodle, qti=qti)

        def warm() -> None:
            """The base exercise's files, made and dropped while the workers draw (when there are workers): what
            rendering builds once and keeps (compiled templates, each line's LaTeX shape) is then built before
            the renderers fork, not once in each."""
            files(Variant(0, "0", seed, base.spec, None, 0, base), early_rounding=settings.early_rounding is not False)

        drawn, report = draw_variants(base, settings, count, seed, students, progress, workers, meanwhile=warm)
        render = functools.partial(files, early_rounding=report.early_rounding)
        tell = (lambda done, total: progress(done, total, "rendering")) if progress else None
        return _assemble(drawn, report, settings, title, lang, ordered_map(render, drawn, workers, tell),
                         moodle, qti, pdf)


def _assemble(drawn: list[Variant], report: SetReport, settings: ExamSettings, title: str, lang: str,
              rendered: list[_Rendered], moodle: bool, qti: bool, pdf: bool) -> ExamSet:
    """The set from its variants' rendered texts: each variant's files, the combined documents and exports."""
    files: dict[str, bytes] = {}
    for v, r in zip(drawn, rendered, strict=True):
        files[f"questions/{v.stem}.tex"] = r.question_document.encode()
        files[f"keys/{v.stem}.tex"] = r.key_document.encode()
        files[f"answers/{v.stem}.toml"] = r.answers.encode()
        files[f"variants/{v.stem}.toml"] = r.spec.encode()
    files["questions.tex"] = document("exam_questions.tex.j2", [r.question for r in rendered], title, lang).encode()
    files["keys.tex"] = document("exam_key.tex.j2", [r.key for r in rendered], title, lang).encode()
    files["index.csv"] = index_csv(drawn).encode()
    if moodle:
        files["moodle.xml"] = moodle_quiz(r.moodle for r in rendered).encode()
    if qti:
        files["canvas-qti.zip"] = qti_zip(drawn, settings.ask, title, [r.qti for r in rendered])
    return ExamSet(drawn, report, settings.ask, title, files, pdf_jobs(files, drawn) if pdf else [])


@dataclass(frozen=True)
class _Rendered:
    """One variant's texts, made in a worker process (text travels back; a solved network would not)."""

    question: str  # the sheet's body
    key: str  # the key's body
    question_document: str  # the sheet alone, preamble and all
    key_document: str
    answers: str
    spec: str
    moodle: str  # its Cloze question ("" when not asked for)
    qti: tuple[str, str]  # its QTI assessment and settings (empty when not asked for)


def _variant_files(v: Variant, ask: tuple[str, ...], early_rounding: bool, layout: str, lang: str, title: str,
                   moodle: bool, qti: bool) -> _Rendered:
    question, key = variant_bodies(v, ask, early_rounding, layout, lang)
    return _Rendered(question, key, document("exam_questions.tex.j2", [question], title, lang),
                     document("exam_key.tex.j2", [key], title, lang), answers_toml(v, ask), variant_spec_toml(v),
                     moodle_question(v, ask, lang, early_rounding) if moodle else "",
                     qti_files(v, ask, lang, early_rounding) if qti else ("", ""))
