"""``symbackprop worksheet``: the lecture handout of any spec, as LaTeX (PDF) or Markdown.

Files are written atomically (a temporary file in the target folder, then
``os.replace``), so an error never leaves a half-written handout behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from ..engine.solution import Solution
from ..errors import UsageError
from ..hints import chosen, expected, quoted
from ..io.files import write_atomic
from .context import SECTIONS, handout_context
from .render import languages, plain_brackets, render_markdown, render_tex

FORMATS = ("tex", "md")
#: the partial template of every section, in the lecture's order
PARTIALS = {name: f"{i:02d}_{name}" for i, name in enumerate(SECTIONS, start=1)}


def parse_sections(text: str | Sequence[str] | None) -> list[str]:
    """``"problem,forward"`` -> the sections in the lecture's order; None = all of them."""
    if text is None:
        return list(SECTIONS)
    names, problem = chosen(text, "sections", SECTIONS, "section", "section (" + ",".join(SECTIONS) + ")")
    if problem:
        raise UsageError(problem, setting="sections")
    return names


def check_lang(lang: str, field: str = "lang") -> None:
    """One clear line, naming ``field``, for a language without a words template."""
    known = languages()
    if lang not in known:
        raise UsageError(f"{field}: unknown language {quoted(lang, 30)} (known: {', '.join(known)})", setting=field)


def render_worksheet(solution: Solution, fmt: str = "tex", sections: Sequence[str] | None = None,
                     chain: str | None = None, edge_values: bool = False, lang: str = "en") -> str:
    """The handout's text, in ``lang`` (a words template ``templates/lang/<lang>.j2``)."""
    if fmt not in FORMATS:
        raise UsageError(f"format: unknown format {quoted(fmt)}{expected(fmt, FORMATS)}", setting="format")
    check_lang(lang)
    chosen = parse_sections(sections)
    context = handout_context(solution, chosen, chain=chain, edge_values=edge_values, lang=lang)
    partials = [f"handout/{PARTIALS[name]}.{fmt}.j2" for name in chosen]
    if fmt == "tex":
        return render_tex("handout.tex.j2", partials=partials, **context)
    return plain_brackets(render_markdown("handout.md.j2", partials=partials, **context))


def write_worksheet(solution: Solution, out_dir: str | Path, name: str, pdf: bool = False, fmt: str = "tex",
                    sections: Sequence[str] | None = None, chain: str | None = None,
                    edge_values: bool = False, lang: str = "en") -> list[Path]:
    """Write ``out_dir/<name>.tex`` (or ``.md``), and ``<name>.pdf`` with ``pdf``; return the paths.

    Everything is rendered (and compiled) before anything is written.
    """
    if pdf and fmt != "tex":
        raise UsageError("pdf needs the tex format", setting="pdf")
    return write_document(render_worksheet(solution, fmt, sections, chain, edge_values, lang), out_dir, name, pdf, fmt)


def write_document(text: str, out_dir: str | Path, name: str, pdf: bool, fmt: str) -> list[Path]:
    """``out_dir/<name>.<fmt>`` and, with ``pdf``, ``<name>.pdf`` compiled first: a LaTeX error writes nothing, and
    a failed write (a full disk) takes back what this call wrote, the folders it made included."""
    out = Path(out_dir)
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # innermost first
    written: list[Path] = []
    try:
        if pdf:
            from ..io.pdf import compile_pdf

            # compile into the target folder atomically first: a LaTeX error writes nothing; the
            # fixed ASCII jobname lets any file name (réseau.toml) through and keeps the bytes the same
            compile_pdf(text, out / f"{name}.pdf", jobname="handout")
            written.append(out / f"{name}.pdf")
        written.insert(0, write_atomic(out / f"{name}.{fmt}", text.encode("utf-8")))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return written


def worksheet_name(spec_path: str | Path | None) -> str:
    """``<stem>`` of the spec file, ``lecture`` for the built-in network."""
    return "lecture" if spec_path is None else Path(spec_path).stem
