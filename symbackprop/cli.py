"""The ``symbackprop`` command: thin, parses flags, calls the API, maps errors to exit codes.

Exit codes: 0 success, 1 a mismatch or a wrong answer, 2 bad input.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .errors import SymbackpropError, UsageError
from .hints import expected, quoted

if TYPE_CHECKING:
    from .engine.graph import GraphSolution
    from .engine.graphspec import GraphSpec
    from .engine.solution import Solution
    from .engine.spec import Spec


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        raise UsageError(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value off a flag's list (or an unknown command): the closest one and the list, as everywhere."""
        if action.choices is not None and value not in action.choices:
            choices = [str(c) for c in action.choices]
            raise argparse.ArgumentError(action, f"unknown value {quoted(str(value))}{expected(str(value), choices)}")


def _spec_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", default=None,
                        help="network spec (TOML); the built-in lecture network when omitted")


def _templates_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--templates", default=None, metavar="DIR",
                        help="your own templates, used before the shipped ones (wins over the spec's "
                             "[templates] dir; start one with `symbackprop templates --copy DIR`)")


def _lang_arg(parser: argparse.ArgumentParser, what: str, words: str = "lang") -> None:
    parser.add_argument("--lang", default=None, metavar="CODE",
                        help=f"language of {what}: en (default) or de, or a {words}/CODE.j2 of your templates "
                             "(wins over the spec's [templates] lang)")


def _after_spec(commands: Any, name: str, what: str, operand: tuple[str, str, str],
                options: str) -> argparse.ArgumentParser:
    """A command whose operands are an optional spec, then ``operand`` (dest, metavar, help); it reads
    the teacher's templates too."""
    dest, metavar, help_text = operand
    sub = commands.add_parser(name, help=what,
                              usage=f"symbackprop {name} [SPEC] {metavar} {options} [--templates DIR]")
    sub.add_argument(dest, nargs="+", metavar=f"[SPEC] {metavar}",
                     help=f"{help_text}, after an optional spec (default: the lecture network)")
    _templates_arg(sub)
    return sub


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, built once a process (``main`` called again, from a notebook or a
    test, reuses it: parsing leaves it as it was; each command's ``run`` is bound here)."""
    parser = _Parser(prog="symbackprop", description="Backpropagation lecture material from a network spec.")
    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="prove every gradient equal to its chain-rule formula")
    _spec_arg(check)
    check.set_defaults(run=_check)

    export = commands.add_parser("export", help="every quantity as JSON on stdout")
    _spec_arg(export)
    export.set_defaults(run=_export)

    new = commands.add_parser("new", help="print a new spec with random nice values")
    new.add_argument("--layers", default="2,2,1", help="unit counts, inputs first (default 2,2,1)")
    new.add_argument("--activation", default="sigmoid", help="hidden activation (default sigmoid)")
    new.add_argument("--output", default=None, help="output activation (default: fits the loss)")
    new.add_argument("--loss", default="half_sse", help="half_sse, mse, bce or cross_entropy")
    new.add_argument("--seed", type=int, default=0)
    new.add_argument("--scheme", choices=("sequential", "indexed"), default=None, help="notation")
    new.set_defaults(run=_new)

    worksheet = commands.add_parser("worksheet", help="the lecture handout of a spec (.tex, .pdf or .md)")
    _spec_arg(worksheet)
    worksheet.add_argument("-o", "--output-dir", default="output", help="folder to write into (default output/)")
    worksheet.add_argument("--pdf", action="store_true", help="also compile <name>.pdf (needs TeX Live)")
    worksheet.add_argument("--format", choices=("tex", "md"), default="tex", help="tex (default) or md")
    worksheet.add_argument("--sections", default=None,
                           help="comma-separated subset of: problem,activation,diagram,forward,equations,"
                                "walkthrough,chain,summary,update,reference,verification")
    worksheet.add_argument("--chain", default=None, metavar="PARAM",
                           help="parameter of the expanded chain (default: a first-layer weight whose path "
                                "has no zero factor)")
    worksheet.add_argument("--edge-values", action="store_true", help="label diagram edges with values")
    _lang_arg(worksheet, "the handout")
    _templates_arg(worksheet)
    worksheet.set_defaults(run=_worksheet)

    verify = _after_spec(commands, "verify", "mark hand-derived values and formulas (an answers file)",
                         ("paths", "ANSWERS", "answers file (TOML or .csv)"),
                         "[--format text|json|tex] [-o FILE] [--lang CODE]")
    verify.add_argument("--format", choices=("text", "json", "tex"), default=None,
                        help="report format (default text; from -o's suffix when given)")
    verify.add_argument("-o", "--output", default=None, help="write the report here (.pdf: a compiled marked sheet)")
    _lang_arg(verify, "the report", "lang/marking")
    verify.set_defaults(run=_verify)

    snippet = _after_spec(commands, "snippet", "one formula as LaTeX, Markdown, SVG or PNG (for slides)",
                          ("args", "NAME", "quantity name (dE/dw1, z_o, w5')"),
                          "[--form FORM] [--format FORMAT] [-o FILE]")
    snippet.add_argument("--form", choices=("symbolic", "chain", "expanded", "numeric"), default="symbolic",
                         help="symbolic (default), chain, expanded or numeric")
    snippet.add_argument("--format", choices=SNIPPET_FORMATS, default=None,
                         help="tex (default: paste inside \\[ \\]), md ($$...$$), svg or png (a picture); "
                              "-o's suffix when it is one of these")
    snippet.add_argument("-o", "--output", default=None, help="write here (svg/png default: <name>-<form>.<format>)")
    snippet.set_defaults(run=_snippet)

    slides = commands.add_parser("slides", help="a 16:9 Beamer deck of one backprop step (.tex, .pdf)")
    _spec_arg(slides)
    slides.add_argument("-o", "--output-dir", default="output", help="folder to write into (default output/)")
    slides.add_argument("--pdf", action="store_true", help="also compile <name>-slides.pdf (needs TeX Live)")
    _lang_arg(slides, "a computation graph's deck (a network's is in English)")
    _templates_arg(slides)
    slides.set_defaults(run=_slides)

    exam = commands.add_parser("exam", help="randomized fair exam variants: sheets, keys, answers, Moodle/Canvas")
    _spec_arg(exam)
    exam.add_argument("--variants", type=int, default=None, help="number of variants (default 1, or one per student)")
    exam.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same bytes)")
    exam.add_argument("-o", "--output-dir", default="exam", help="folder of the set (default exam/)")
    exam.add_argument("--pdf", action="store_true", help="also compile questions.pdf and keys.pdf (needs TeX Live)")
    exam.add_argument("--roster", default=None, help="CSV with a header (name[,id]): one variant per student")
    exam.add_argument("--ask", default=None, help="comma-separated subset of: forward,loss,deltas,gradients,update")
    exam.add_argument("--moodle", action="store_true", help="also write moodle.xml (one Cloze question per variant)")
    exam.add_argument("--qti", action="store_true", help="also write canvas-qti.zip (one quiz per variant)")
    exam.add_argument("--layout", default=None, choices=("roomy", "compact"),
                      help="question sheets with room to work under each task group (roomy, the default) or "
                           "the boxes alone (compact); wins over the spec's [exam] layout")
    _lang_arg(exam, "the sheets and keys")
    _templates_arg(exam)
    exam.set_defaults(run=_exam)

    marker = commands.add_parser("mark", help="mark a whole class against each student's own exam variant",
                                 usage="symbackprop mark EXAM_DIR RESPONSES [RESPONSES ...] [--policy FILE] "
                                       "[--gradebook moodle|canvas] [--assignment NAME] [-o DIR] [--pdf] [--lang CODE] "
                                       "[--templates DIR]")
    marker.add_argument("exam_dir", metavar="EXAM_DIR", help="the folder `symbackprop exam` wrote (index.csv)")
    marker.add_argument("responses", nargs="+", metavar="RESPONSES",
                        help="a folder of answers files (named by student id or vNNN), a Moodle \"Responses\" "
                             "CSV or a Canvas \"Student Analysis\" CSV")
    marker.add_argument("--policy", default=None, metavar="FILE",
                        help="credits per verdict: a TOML with a [marking] table, or a spec with [exam.marking]")
    marker.add_argument("--gradebook", choices=("moodle", "canvas"), default="moodle",
                        help="gradebook CSV to write (default moodle)")
    marker.add_argument("--assignment", default=None, help="the gradebook's grade column (default: the exam title)")
    marker.add_argument("-o", "--output-dir", default=None,
                        help="folder for the gradebook, summary and sheets (default EXAM_DIR/marks)")
    marker.add_argument("--pdf", action="store_true", help="also a marked sheet PDF per student and summary.pdf")
    _lang_arg(marker, "the marked sheets and the summary", "lang/marking")
    _templates_arg(marker)
    marker.set_defaults(run=_mark)

    templates = commands.add_parser("templates", help="copy the shipped templates into a folder, to restyle")
    templates.add_argument("--copy", required=True, metavar="DIR", help="an empty or new folder to copy them into")
    templates.set_defaults(run=_templates)

    practice = commands.add_parser("practice", help="a local web page: work a drawn exercise, get verify's verdicts")
    _spec_arg(practice)
    practice.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free)")
    practice.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                                                              "machine only; 0.0.0.0 for a class)")
    practice.add_argument("--open", action="store_true", help="open the page in the default browser")
    practice.set_defaults(run=_practice)
    return parser


def _styled(args: argparse.Namespace, spec: Spec | None) -> AbstractContextManager[None]:
    """Render with the teacher's templates in front: ``--templates`` wins over the spec's ``[templates] dir``."""
    from .documents.render import template_folder

    return template_folder(args.templates if args.templates is not None or spec is None else spec.templates)


def _check_templates_flag(args: argparse.Namespace) -> None:
    folder = getattr(args, "templates", None)
    if folder is not None and not Path(folder).is_dir():
        raise UsageError(f"--templates {folder}: no such folder")


def _templates(args: argparse.Namespace) -> int:
    """Copy the shipped set into an empty (or new) folder; print every file written."""
    from .documents.render import shipped_templates
    from .io.files import write_atomic

    target = Path(args.copy)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is not empty" if target.is_dir() else "is a file"
        raise UsageError(f"--copy {target}: {what}; give a new or empty folder")
    written = [write_atomic(target / name, text) for name, text in sorted(shipped_templates().items())]
    for path in written:  # printed after the last write: a closed pipe cannot stop the copy half-way
        print(path)
    return 0


def _lang(args: argparse.Namespace, spec: Spec | GraphSpec) -> tuple[str, str]:
    """The documents' language and the setting that chose it: --lang wins over the spec's [templates] lang."""
    if args.lang is not None:
        return args.lang, "--lang"
    return spec.lang or "en", f"{spec.source}: templates.lang"


def _solved(path: str | None, prove: bool = False) -> tuple[Solution | GraphSolution, Spec | None]:
    """The spec at ``path`` solved (a computation graph, or an MLP), and the MLP's spec (None: a graph, whose
    documents use the shipped templates or --templates)."""
    from .engine.solution import Solution, solve_any

    solution = solve_any(path, prove=prove)
    return solution, solution.spec if isinstance(solution, Solution) else None


def _exam(args: argparse.Namespace) -> int:
    """Validate everything cheap first, then draw, render and write the set."""
    from .documents.handout import check_lang
    from .engine.examtable import parse_ask
    from .engine.graphspec import GraphSpec
    from .engine.kinds import load_any
    from .errors import ExamError
    from .exam.build import build_exam
    from .exam.write import write_locked
    from .io.outfolder import locked_target

    if args.variants is not None and args.variants < 1:
        raise ExamError(f"--variants: must be at least 1, got {args.variants}")
    ask = parse_ask(args.ask) if args.ask is not None else None
    # read once (a pipe gives it only once): the templates before the lock; a graph kind by its table
    spec = load_any(args.spec)
    network = spec if not isinstance(spec, GraphSpec) else None
    lang, field = _lang(args, spec)
    with _styled(args, network):
        check_lang(lang, field)  # the teacher's folder may add a language; a bad one fails before the lock
    # locked from the first check to the last move
    with locked_target(args.output_dir) as target, _styled(args, network):
        progress = _progress_printer("exam")
        exam = build_exam(args.spec, variants=args.variants, seed=args.seed, roster=args.roster, ask=ask,
                          moodle=args.moodle, qti=args.qti, pdf=args.pdf, spec=spec, progress=progress,
                          lang=lang, layout=args.layout)
        kept = write_locked(exam, target, progress=progress)
    if kept is not None:
        print(f"{target.path}: the earlier set moved to {kept} (the new set differs from it)")
    elif target.had_set:
        print(f"{target.path}: the earlier set's files come out with the same bytes: nothing moved")
    print(f"{target.path}: {exam.summary()}")
    return 0


def _mark(args: argparse.Namespace) -> int:
    """Mark the class; exit 0 when every row was marked, 1 when a row was skipped (each said on stderr)."""
    from .engine.examtable import MarkingPolicy
    from .engine.graphspec import GraphSpec
    from .io.outfolder import MARKS, check_target
    from .marking.classmarks import mark_class
    from .marking.examset import load_exam_folder
    from .marking.markfiles import mark_files
    from .marking.markwrite import write_mark_files
    from .marking.policyfile import load_policy
    from .marking.responses import read_all
    from .marking.words import check_marking_lang
    from .workers import available_workers

    policy = load_policy(args.policy) if args.policy is not None else MarkingPolicy()
    out_dir = Path(args.output_dir) if args.output_dir is not None else Path(args.exam_dir) / "marks"
    folder = load_exam_folder(args.exam_dir)  # a folder that is no exam set is named as such, not as -o
    check_target(out_dir, MARKS)  # refused before any marking; locked while written
    submissions = read_all(args.responses, folder)
    first = next(iter(folder.variants))
    spec = folder.solution(first).spec
    lang, field = _lang(args, spec)
    with _styled(args, None if isinstance(spec, GraphSpec) else spec):  # a graph has no [templates] dir
        check_marking_lang(lang, field)  # the teacher's folder may add a language
        marks = mark_class(folder, submissions, policy, workers=min(2, available_workers()), lang=lang)
        for skipped in marks.skipped:
            print(f"symbackprop: {skipped.line()}", file=sys.stderr)
        if not marks.marked:  # nothing to write: an earlier marking stays as it is
            raise UsageError(f"{', '.join(map(str, args.responses))}: no response could be marked "
                             f"({len(marks.skipped)} skipped); nothing written")
        files = mark_files(marks, spec.title, args.gradebook, args.assignment or spec.title, pdf=args.pdf)
        written, kept = write_mark_files(files, out_dir)
    if kept is not None:
        print(f"{out_dir}: the earlier marking moved to {kept} (the new one differs from it)")
    print(f"{out_dir}: wrote {len(written)} files ({', '.join(sorted(_top(written, out_dir)))})")
    if not folder.has_roster:
        print(f"{out_dir}: the set has no roster: the gradebook names each row by its variant, which a learning "
              "platform cannot match to a student (an exam with --roster gives ids)")
    print(f"{spec.title}: {marks.summary()}")
    return 1 if marks.skipped else 0


def _top(paths: Sequence[Path], root: Path) -> set[str]:
    """The top-level names of written files: ``sheets/`` once, not 300 times."""
    return {p.relative_to(root).parts[0] + ("/" if len(p.relative_to(root).parts) > 1 else "") for p in paths}


#: characters of the progress bar
BAR_WIDTH = 30
#: what snippet writes (its --format, or -o's suffix)
SNIPPET_FORMATS = ("tex", "md", "svg", "png")


def _progress_printer(command: str) -> Callable[..., None] | None:
    """A progress bar, ``command: what [#####-----] done/total``, on one self-overwriting stderr line, when
    stderr is a terminal (piped, as in tests and CI, nothing is printed)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, what: str = "drawing") -> None:
        filled = BAR_WIDTH * done // max(1, total)
        end = "\n" if done == total else ""
        print(f"\r{command}: {what:9s} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total}", end=end,
              file=sys.stderr, flush=True)

    return show


def _check(args: argparse.Namespace) -> int:
    from .documents.graphreport import graph_check_table
    from .documents.report import check_table

    return 0 if _report(args.spec, graph_check_table, check_table).all_proven else 1


def _export(args: argparse.Namespace) -> int:
    from .documents.graphreport import graph_export_json
    from .documents.report import export_json

    _report(args.spec, graph_export_json, export_json)
    return 0


def _report(spec: str | None, of_graph: Callable[[Any], str],
            of_network: Callable[[Any], str]) -> Solution | GraphSolution:
    """The spec solved and proven, its report written to stdout (a graph kind's or a network's)."""
    from .engine.graph import GraphSolution

    solution, _ = _solved(spec, prove=True)
    sys.stdout.write(of_graph(solution) if isinstance(solution, GraphSolution) else of_network(solution))
    return solution


def _new(args: argparse.Namespace) -> int:
    from .engine.generate import new_spec, parse_layers

    sys.stdout.write(new_spec(parse_layers(args.layers), activation=args.activation, loss=args.loss,
                              seed=args.seed, output=args.output, scheme=args.scheme))
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Print or write the marking report; the exit code says how the answers did."""
    from .io.files import check_output_file, write_atomic
    from .marking.answers import load_answers
    from .marking.reports import FORMATS
    from .marking.verify import mark
    from .marking.words import check_marking_lang

    if len(args.paths) > 2:
        raise UsageError("verify takes [SPEC] ANSWERS: at most two paths")
    if args.output:
        check_output_file(args.output)
    spec, answers_path = (None, args.paths[0]) if len(args.paths) == 1 else args.paths
    out = Path(args.output) if args.output else None
    suffix = out.suffix.lower() if out else ""
    by_suffix = {".txt": "text", ".json": "json", ".tex": "tex", ".pdf": "tex"}
    if suffix and suffix not in by_suffix and args.format is None:
        raise UsageError(f"-o {args.output}: a {suffix} file is none of verify's formats "
                         "(.txt, .json, .tex, .pdf); give one of these, or --format")
    fmt = args.format or by_suffix.get(suffix, "text")
    if suffix == ".pdf" and fmt != "tex":
        raise UsageError(f"-o {args.output}: a PDF is made from --format tex, not {fmt}")
    answers = load_answers(answers_path)
    solution, mlp = _solved(spec)
    lang, field = _lang(args, solution.spec)
    with _styled(args, mlp):
        check_marking_lang(lang, field)  # the teacher's folder may add a language
        report = mark(solution, answers, lang=lang)
        text = FORMATS[fmt](report)
    if out is None:
        sys.stdout.write(text)
        return report.exit_code
    if suffix == ".pdf":
        from .io.pdf import compile_pdf

        compile_pdf(text, out, jobname="verify")
    else:
        write_atomic(out, text)  # a write error is already one line naming the path (files.output_error)
    print(f"wrote {out}: {report.totals_text()}")
    return report.exit_code


def _practice(args: argparse.Namespace) -> int:
    """Serve the practice page until interrupted; a bad spec or [exam] fails before listening."""
    from .practice.server import make_server

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    try:
        server = make_server(args.spec, args.host, args.port)  # a bad spec or [exam]: one line, before listening
    except OSError as err:
        raise UsageError(f"--host {args.host} --port {args.port}: cannot listen ({err.strerror or err})") from None
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
    print(f"practice: serving {url} (Ctrl-C stops it)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)  # a service manager's SIGTERM stops it as Ctrl-C does: its markers too

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _worksheet(args: argparse.Namespace) -> int:
    from .documents.handout import check_lang, parse_sections, worksheet_name, write_worksheet
    from .engine.graphspec import GraphSpec
    from .engine.kinds import load_any
    from .engine.solution import solve
    from .io.files import check_output_folder

    sections = parse_sections(args.sections)  # bad flags fail before any work
    if args.pdf and args.format != "tex":
        raise UsageError("--pdf needs --format tex")
    check_output_folder(args.output_dir)
    spec = load_any(args.spec)
    if isinstance(spec, GraphSpec):
        return _graph_worksheet(args, spec)
    solution = solve(spec)
    lang, field = _lang(args, solution.spec)
    with _styled(args, solution.spec):
        check_lang(lang, field)  # the teacher's folder may add a language
        paths = write_worksheet(solution, args.output_dir, worksheet_name(args.spec), pdf=args.pdf,
                                fmt=args.format, sections=sections, chain=args.chain,
                                edge_values=args.edge_values, lang=lang)
    for path in paths:
        print(path)
    return 0


def _graph_worksheet(args: argparse.Namespace, spec: GraphSpec) -> int:
    """A computation graph's handout: its own sections, so --sections, --chain and --edge-values are refused
    rather than ignored."""
    from .documents.graphhandout import write_graph_handout
    from .documents.handout import worksheet_name
    from .engine.graph import solve_graph

    for flag, given in (("--sections", args.sections), ("--chain", args.chain),
                        ("--edge-values", args.edge_values or None)):
        if given is not None:
            raise UsageError(f"{flag}: not available for a computation graph ([graph]) yet")
    solution = solve_graph(spec)
    with _styled(args, None):
        lang = _graph_lang(args, solution.spec)
        paths = write_graph_handout(solution, args.output_dir, worksheet_name(args.spec), pdf=args.pdf, lang=lang,
                                    fmt=args.format)
    for path in paths:
        print(path)
    return 0


def _graph_lang(args: argparse.Namespace, spec: GraphSpec) -> str:
    """A graph document's language, checked (inside the templates in use): --lang wins over [templates] lang."""
    from .documents.handout import check_lang

    lang, field = _lang(args, spec)
    check_lang(lang, field)
    return lang


def _snippet(args: argparse.Namespace) -> int:
    from .documents.snippets import snippet, write_snippet
    from .engine.graph import GraphSolution
    from .engine.solution import Solution

    if len(args.args) > 2:
        raise UsageError("snippet takes [SPEC] NAME: at most two arguments")
    fmt = args.format or "tex"
    if args.output is not None:
        from .io.files import check_output_file

        check_output_file(args.output)
        # the file's suffix says the format, as verify's -o does; a --format that says otherwise is refused
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in SNIPPET_FORMATS:
            if args.format not in (None, suffix):
                raise UsageError(f"-o {args.output}: a .{suffix} file, but --format {args.format}")
            fmt = suffix
        elif suffix and args.format is None:
            raise UsageError(f"-o {args.output}: a .{suffix} file is none of snippet's formats "
                             f"({', '.join('.' + f for f in SNIPPET_FORMATS)}); give one of these, or --format")
    spec, name = (None, args.args[0]) if len(args.args) == 1 else args.args
    solution, mlp = _solved(spec, prove=True)
    with _styled(args, mlp):
        if mlp is None:
            from .documents.graphsnippets import graph_snippet

            assert isinstance(solution, GraphSolution)
            snip = graph_snippet(solution, name, args.form)
        else:
            assert isinstance(solution, Solution)
            snip = snippet(solution, name, args.form)
        text, path = write_snippet(snip, fmt, args.output)
    if text is not None:
        sys.stdout.write(text)
    if path is not None:
        print(path)
    return 0


def _slides(args: argparse.Namespace) -> int:
    from .documents.handout import worksheet_name
    from .documents.slides import write_slides
    from .engine.graph import GraphSolution
    from .engine.solution import Solution
    from .io.files import check_output_folder

    check_output_folder(args.output_dir)
    solution, mlp = _solved(args.spec, prove=True)
    name = worksheet_name(args.spec)
    with _styled(args, mlp):
        if mlp is None:
            from .documents.graphslides import write_graph_slides

            assert isinstance(solution, GraphSolution)
            paths = write_graph_slides(solution, args.output_dir, name, pdf=args.pdf,
                                       lang=_graph_lang(args, solution.spec))
        else:
            assert isinstance(solution, Solution)
            if args.lang not in (None, "en"):
                raise UsageError(f"--lang {args.lang}: a network's deck is in English only so far")
            paths = write_slides(solution, args.output_dir, name, pdf=args.pdf)
    for path in paths:
        print(path)
    return 0


#: The flag that stands for each setting an error message may start with (below the CLI, messages
#: name settings: ``variants: must be at least 1``; the command line says ``--variants: must be ...``).
SETTING_FLAGS = {name: "--" + name for name in ("variants", "ask", "roster", "layers", "activation", "loss",
                                                "chain", "sections", "format", "form", "pdf", "lang",
                                                "layout", "output")}


def _worded(err: SymbackpropError) -> str:
    """The error's one line, with the flag in place of the setting it starts with."""
    text = str(err)
    flag = SETTING_FLAGS.get(err.setting)
    return flag + text[len(err.setting):] if flag else text


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare ``symbackprop`` is ``symbackprop --help``: the usage and the commands
            parser.print_help()
            return 0
        _check_templates_flag(args)  # a bad folder fails before any work
        return int(args.run(args))
    except SymbackpropError as err:
        print(f"symbackprop: error: {_worded(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("symbackprop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:  # a file problem no command words itself: still one line, exit 2
        where = f"{err.filename}: " if err.filename else ""
        print(f"symbackprop: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except Exception as err:
        said = _template_error(err)
        if said is None:
            raise
        print(f"symbackprop: error: {said}", file=sys.stderr)  # a teacher's template: one line, exit 2
        return 2


def _template_error(err: Exception) -> str | None:
    """A Jinja2 error as one line naming the template and its line (``template handout/01_problem.tex.j2, line 5:
    'nosuchthing' is undefined``; a macro called with arguments a teacher's older copy of it lacks): a teacher's
    edited template is input like a spec.  None for any other error."""
    macro_call = isinstance(err, TypeError) and str(err).startswith("macro '")  # a copied macro, older arguments
    if not (type(err).__module__.startswith("jinja2") or macro_call):
        return None
    import traceback

    name, line = getattr(err, "filename", None), getattr(err, "lineno", None)  # a syntax error knows its place
    if name is None:  # else the innermost template frame of the traceback
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.endswith(".j2")]
        name, line = (frames[-1].filename, frames[-1].lineno) if frames else (None, None)
    where = f"template {name}" + (f", line {line}" if line else "") + ": " if name else "template: "
    return where + str(getattr(err, "message", None) or err).splitlines()[0]


def run() -> NoReturn:
    """The console entry point: ``main``, then leave without the interpreter's teardown.

    Tearing down SymPy's caches at exit takes longer than writing a whole handout (about
    80 ms); by the time ``main`` returns every file is closed and every temporary folder
    removed, so only the standard streams need flushing.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a closed pipe: nothing left to say
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
