"""The one safe LaTeX compile path (PDF, SVG, PNG).

Every document is compiled in a fresh temporary directory with

* ``latexmk -norc`` (no latexmkrc is read, not even one in the cwd),
* ``-no-shell-escape`` and ``shell_escape=f`` (no ``\\write18``),
* ``openin_any=p`` / ``openout_any=p`` (TeX may not read or write absolute
  paths, parent directories or dot files: ``\\input{/etc/hostname}`` fails),
* ``-interaction=nonstopmode -halt-on-error`` and stdin closed (never waits),
* a timeout that kills the whole process group (infinite macro loops),
* pdfLaTeX, or LuaLaTeX for a document with non-Latin script text (the same
  flags; with shell escape off LuaTeX also refuses Lua's ``os.execute`` and
  ``io.popen``.  Lua's ``io.open`` is not bound by ``openin_any``, and
  ``--safer`` would stop luaotfload, so the guard there is the escaping: user
  text never reaches ``\\directlua``),
* ``SOURCE_DATE_EPOCH`` (default ``0``) + ``FORCE_SOURCE_DATE=1``: the same
  input gives the same PDF bytes.

Errors are raised as :class:`~symbackprop.errors.LatexMissingError` or
:class:`~symbackprop.errors.LatexBuildError`, each with a one-line message.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from symbackprop.errors import LatexBuildError, LatexMissingError, UsageError
from symbackprop.io.files import copy_atomic
from symbackprop.io.scripts import LUALATEX_PACKAGES, scripts_in

__all__ = [
    "TEX_PACKAGES",
    "compile_many",
    "SETTLE",
    "compile_pdf",
    "latex_env",
    "png_from_tex",
    "svg_from_tex",
    "tex_available",
]

#: Debian packages providing everything the templates use.
TEX_PACKAGES = (
    "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures latexmk"
)
_TEX_HINT = f"apt-get install {TEX_PACKAGES}"
_TMP_PREFIX = "symbackprop-latex-"
LUALATEX = "lualatex"
#: LuaLaTeX's first run on a machine builds its font caches (a minute and more with the CJK fonts)
LUALATEX_TIMEOUT = 300.0
_JOBNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# "! LaTeX Error: ..." (also after a file name TeX just opened: "(./x.aux)! Unable to read an entire
# line") or, with -file-line-error, "./document.tex:3: Undefined ..."
_ERROR_LINE_RE = re.compile(r"^(?:[^!\n]*\)\s*)?(!.*)$|^(\S[^:\n]*:\d+: .*)$", re.MULTILINE)
# what TeX prints before it writes a log: "pdflatex: fatal: invalid ... $SOURCE_DATE_EPOCH: abc."
_FATAL_RE = re.compile(r"^\S+: fatal: .*$", re.MULTILINE)
#: the latest date TeX accepts in SOURCE_DATE_EPOCH (9999-12-31)
_MAX_EPOCH = 253402300799


def tex_available() -> bool:
    """True when both ``latexmk`` and ``pdflatex`` are on PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def latex_env() -> dict[str, str]:
    """The environment every TeX-related subprocess runs with."""
    env = dict(os.environ)
    env.pop("TEXMFOUTPUT", None)
    env.update(
        openin_any="p",
        openout_any="p",
        shell_escape="f",
        FORCE_SOURCE_DATE="1",
        # one error per log line, no wrapping at 79 columns
        max_print_line="10000",
        error_line="254",
        half_error_line="238",
    )
    env.setdefault("SOURCE_DATE_EPOCH", "0")
    return env


def _require(*programs: str, hint: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        raise LatexMissingError(f"{', '.join(missing)} not found on PATH; install: {hint}")


def _check_args(jobname: str, runs: int | None) -> None:
    if not _JOBNAME_RE.fullmatch(jobname):
        raise ValueError(f"invalid jobname {jobname!r}: use letters, digits, '_' and '-'")
    if runs is not None and runs < 1 and runs != SETTLE:
        raise ValueError("runs must be None (latexmk decides), SETTLE or >= 1")


def _run(cmd: Sequence[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` in its own process group; on timeout kill the whole group."""
    with subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=latex_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise
        except BaseException:
            _kill_group(proc)
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _first_error(workdir: Path, jobname: str, output: bytes) -> str:
    log = workdir / f"{jobname}.log"
    text = ""
    if log.is_file():
        text = log.read_text(encoding="utf-8", errors="replace")
        match = _ERROR_LINE_RE.search(text)
        if match:
            return (match.group(1) or match.group(2)).strip()
    # No error line in the log (or no log): TeX's own fatal line, else the last line latexmk printed.
    printed = output.decode("utf-8", "replace")
    fatal = _FATAL_RE.search(printed) or _ERROR_LINE_RE.search(printed)
    if fatal:
        return fatal.group(0).strip()
    lines = [ln.strip() for ln in printed.splitlines() if ln.strip()]
    return lines[-1] if lines else "no error message"


def check_environment() -> None:
    """Refuse a ``SOURCE_DATE_EPOCH`` TeX would reject (it stops before writing any log)."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is not None and not (value.isascii() and value.isdigit() and int(value) <= _MAX_EPOCH):
        raise UsageError(f"SOURCE_DATE_EPOCH={value[:40]!r}: must be a whole number of seconds since "
                         "1970-01-01 (e.g. 0), or unset")


def _engine(tex_source: str, mode: str) -> str:
    """LuaLaTeX for a document with non-Latin script text (see :mod:`symbackprop.io.scripts`), else pdfLaTeX."""
    if mode != "pdf":
        return "latex"
    return LUALATEX if scripts_in(tex_source) else "pdflatex"


def _require_engine(tex_source: str) -> None:
    if _engine(tex_source, "pdf") == LUALATEX:
        _require(LUALATEX, hint=f"apt-get install {LUALATEX_PACKAGES} (for non-Latin text)")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _compile_in(workdir: Path, tex_source: str, jobname: str, timeout: float,
                runs: int | None, mode: str) -> Path:
    """Compile ``tex_source`` inside ``workdir``; return the output (pdf or dvi) path.

    On failure raise LatexBuildError and leave ``workdir`` in place.
    """
    tex_file = workdir / f"{jobname}.tex"
    tex_file.write_text(tex_source, encoding="utf-8")
    engine = _engine(tex_source, mode)
    common = ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
              "-file-line-error"]
    if engine == LUALATEX:
        timeout = max(timeout, LUALATEX_TIMEOUT)
    if runs == SETTLE:
        cmds = [[engine, *common, f"-jobname={jobname}", tex_file.name]] * MAX_PASSES
    elif runs is None:
        flag = "-lualatex" if engine == LUALATEX else f"-{mode}"
        cmds = [["latexmk", "-norc", flag, *common, f"-jobname={jobname}", tex_file.name]]
    else:
        cmds = [[engine, *common, f"-jobname={jobname}", tex_file.name]] * runs
    where = f"(files kept in {workdir}: {tex_file.name}, {jobname}.log)"
    written: dict[str, bytes] = {}
    for done, cmd in enumerate(cmds, start=1):
        if runs == SETTLE and done > 1 and not _pass_needed(workdir, jobname, written, done - 1):
            break
        written = _generated(workdir, jobname)
        try:
            result = _run(cmd, workdir, timeout)
        except subprocess.TimeoutExpired:
            raise LatexBuildError(
                f"LaTeX timed out after {timeout:g} s {where}"
            ) from None
        if result.returncode != 0:
            error = _one_line(_first_error(workdir, jobname, result.stdout))
            raise LatexBuildError(f"LaTeX failed: {error} {where}")
    output = workdir / f"{jobname}.{mode}"
    if not output.is_file():
        raise LatexBuildError(f"LaTeX produced no {mode.upper()} file {where}")
    return output


#: ``runs`` for "as many passes as change something" (pdflatex run directly, see :func:`_pass_needed`)
SETTLE = -1
#: passes at most (a document whose auxiliary files never settle)
MAX_PASSES = 5
#: what asks for another pass: the kernel's "Rerun to get cross-references right", "There were undefined
#: references", longtable's "Table widths have changed. Rerun LaTeX.", hyperref's and rerunfilecheck's
_RERUN_RE = re.compile(r"Rerun|undefined references|have changed")
#: what a first pass may leave in the .aux that the next pass would read without effect: the table of contents'
#: entries (they reach the document through a .toc file, whose absence the log shows), longtable's column
#: widths (longtable asks for a rerun when they matter), the kernel's page count (a package that shows it asks
#: for a rerun: lastpage's reference is undefined); a line starting with a space continues an entry
_HARMLESS_AUX_RE = re.compile(r"\\relax\s*$|\\@writefile\{|\\gdef \\LT@|\\gdef \\@abspage@last\{\d+\}\s*$|\s")


def _generated(workdir: Path, jobname: str) -> dict[str, bytes]:
    """The auxiliary files a pass wrote (everything but the source, log and output), by name."""
    keep = {f"{jobname}.{ext}" for ext in ("tex", "log", "pdf", "dvi")}
    return {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file() and p.name not in keep}


def _pass_needed(workdir: Path, jobname: str, before: dict[str, bytes], done: int) -> bool:
    """Whether another pass can change the document: its log asks for one; or, after the first pass, the
    document looked for an auxiliary file other than the .aux (``No file x.toc.``) or the .aux holds more
    than harmless entries; after a later pass, an auxiliary file changed (latexmk's rule)."""
    log = (workdir / f"{jobname}.log").read_text(encoding="utf-8", errors="replace")
    if _RERUN_RE.search(log):
        return True
    if done > 1:
        return _generated(workdir, jobname) != before
    missing = re.findall(r"^No file (\S+)\.$", log, re.MULTILINE)
    if any(name != f"{jobname}.aux" for name in missing):
        return True
    aux = workdir / f"{jobname}.aux"
    lines = aux.read_text(encoding="utf-8", errors="replace").splitlines() if aux.is_file() else []
    return not all(_HARMLESS_AUX_RE.match(line) for line in lines if line)


def compile_pdf(tex_source: str, out_pdf: Path, *, jobname: str = "document",
                timeout: float = 120, runs: int | None = None) -> Path:
    """Compile LaTeX source to ``out_pdf`` (replaced atomically); return ``out_pdf``.

    ``runs=None`` lets latexmk decide how many passes are needed; ``runs=N``
    runs pdflatex exactly N times instead (no latexmk needed); ``runs=SETTLE``
    runs it again only while a pass can change the result (see :func:`_pass_needed`):
    once for a document that reads nothing back from its auxiliary files.  ``jobname`` is the
    ASCII name of the files inside the temporary directory, whatever ``out_pdf`` is
    called.  The temporary directory is removed once the PDF is built (even when
    copying it to ``out_pdf`` fails) and kept (named in the error) when LaTeX fails.
    """
    _check_args(jobname, runs)
    check_environment()
    _require(*(["latexmk"] if runs is None else []), "pdflatex", hint=_TEX_HINT)
    _require_engine(tex_source)
    workdir = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
    pdf = _compile_in(workdir, tex_source, jobname, timeout, runs, "pdf")
    try:
        return copy_atomic(pdf, Path(out_pdf))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def compile_many(jobs: Sequence[tuple[str, Path]], workers: int = 2, *,
                 timeout: float = 120, runs: int | None = None) -> list[Path]:
    """Compile several ``(tex_source, out_pdf)`` pairs in parallel threads.

    Returns the output paths in input order.  Every job runs to completion; if
    any failed, the first failure (in input order) is raised.
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    _check_args("document", runs)
    _require(*(["latexmk"] if runs is None else []), "pdflatex", hint=_TEX_HINT)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(compile_pdf, src, Path(out), timeout=timeout, runs=runs)
                   for src, out in jobs]
    return [f.result() for f in futures]


def svg_from_tex(standalone_tex: str, out_svg: Path, *, timeout: float = 120, runs: int | None = 1) -> Path:
    """Compile a standalone document with pdflatex and convert page 1 with ``pdftocairo -svg``.

    Glyphs come out as paths, so the SVG is self-contained.  One pdflatex run is enough for
    a formula (no references to resolve); ``runs=None`` lets latexmk decide.
    """
    return _convert(standalone_tex, Path(out_svg), ["-svg"], "figure.svg", timeout, runs)


def png_from_tex(standalone_tex: str, out_png: Path, *, dpi: int = 300,
                 timeout: float = 120, runs: int | None = 1) -> Path:
    """Compile a standalone document with pdflatex (one run, as for SVG) and rasterise page 1."""
    return _convert(standalone_tex, Path(out_png), ["-png", "-singlefile", "-r", str(int(dpi))], "figure.png",
                    timeout, runs)


def _convert(standalone_tex: str, out: Path, options: list[str], result_name: str, timeout: float,
             runs: int | None) -> Path:
    """pdflatex, then pdftocairo with ``options`` on page 1; the one picture path."""
    _require("pdflatex", *(["latexmk"] if runs is None else []), hint=_TEX_HINT)
    _require("pdftocairo", hint="apt-get install poppler-utils")
    _require_engine(standalone_tex)
    check_environment()
    workdir = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
    pdf = _compile_in(workdir, standalone_tex, "figure", timeout, runs, "pdf")
    where = f"(files kept in {workdir})"
    target = "figure.svg" if "-svg" in options else "figure"
    try:
        result = _run(["pdftocairo", *options, "-f", "1", "-l", "1", pdf.name, target], workdir, timeout)
    except subprocess.TimeoutExpired:
        raise LatexBuildError(f"pdftocairo timed out after {timeout:g} s {where}") from None
    picture = workdir / result_name
    if result.returncode != 0 or not picture.is_file():
        msg = _one_line(_first_error(workdir, "-", result.stdout))
        raise LatexBuildError(f"pdftocairo failed: {msg} {where}")
    try:
        return copy_atomic(picture, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
