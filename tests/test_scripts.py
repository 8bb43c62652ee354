"""Non-Latin names and titles (issue 10, item 11): Arabic, Hebrew, Greek, Cyrillic and CJK print as text,
right-to-left runs in their direction, through LuaLaTeX with the same sandbox; Latin stays pdfLaTeX."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from conftest import need

from symbackprop.documents.handout import render_worksheet
from symbackprop.documents.render import Tex, latex_environment, render_tex, tex_escape
from symbackprop.documents.slides import render_slides
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import load_spec
from symbackprop.exam import build as exam_module
from symbackprop.exam.build import build_exam
from symbackprop.exam.variants import Student
from symbackprop.io.pdf import _engine, compile_pdf
from symbackprop.io.pdfsplit import split_pdf
from symbackprop.io.scripts import FONTS, SCRIPTS, is_script_char, rtl_runs, scripts_in
from symbackprop.marking.answers import loads_toml
from symbackprop.marking.reports import report_tex
from symbackprop.marking.verify import mark

NAMES = {
    "arabic": "مريم الحسن",
    "hebrew": "דוד כהן",
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "cyrillic": "Иван Петров",
    "cjk": "王小明 やまだ 김민준",
}
PAYLOAD = '\\directlua{os.execute("touch PWNED")}'


def test_scripts_in_and_the_character_set():
    assert scripts_in("Zoë O'Brien ∂E/∂w 100%") == []
    assert scripts_in(" ".join(NAMES.values())) == list(SCRIPTS)
    for script, name in NAMES.items():
        assert scripts_in(name) == [script], name
        assert all(is_script_char(ch) for ch in name if not ch.isspace()), name
    # not letters of these scripts: bidi controls, emoji, unassigned code points, Latin
    for ch in "\u202e\u200f\U0001f600\u0378\u05ff aé":
        assert not is_script_char(ch), hex(ord(ch))
    assert set(FONTS) == set(SCRIPTS)


def test_right_to_left_runs_are_marked_and_joined_as_unicode_does():
    assert rtl_runs("Zoë") == [("Zoë", False)]
    assert rtl_runs("Name: مريم الحسن / דוד כהן (2), Иван") == [
        ("Name: ", False), ("مريم الحسن / דוד כהן", True), (" (2), Иван", False)]
    escaped = tex_escape("مريم / Иван")
    assert escaped == "\\bgroup\\textdir TRT مريم\\egroup{} / Иван"


def test_latin_documents_keep_the_pdflatex_preamble(lecture):
    tex = render_worksheet(lecture)
    assert "\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n\\usepackage{lmodern}\n" in tex
    assert "babel" not in tex and _engine(tex, "pdf") == "pdflatex"


def test_a_document_with_a_script_gets_babel_and_only_its_fonts():
    tex = render_tex("_test_minimal.tex.j2", title="Иван and " + PAYLOAD)
    assert "\\usepackage{babel}" in tex and "{russian}" in tex and "NotoSerif}" in tex
    assert "CJK" not in tex and "arabic" not in tex and "fontenc" not in tex  # unused scripts cost nothing
    assert "\\textbackslash{}directlua" in tex and _engine(tex, "pdf") == "lualatex"


def test_a_document_is_rendered_once_and_its_font_block_filled_in():
    """The document's text is rendered once (a title's str() is taken once), then the font block is
    filled in for the scripts it holds: the same block fonts.tex.j2 gives when told the scripts."""

    class Title:
        calls = 0

        def __str__(self) -> str:
            Title.calls += 1
            return "Ελένη"

    tex = render_tex("_test_minimal.tex.j2", title=Title())
    assert Title.calls == 1 and "\x00" not in tex
    block = latex_environment().get_template("fonts.tex.j2").render(scripts=["greek"])
    assert tex == "\\documentclass{article}\n" + block + "\\begin{document}\nΕλένη\n\\end{document}\n"
    assert "{greek}" in block and "NotoSerif}" in block


def _lualatex() -> None:
    found = shutil.which("lualatex") and all(
        subprocess.run(["kpsewhich", name], capture_output=True).returncode == 0
        for name in ("NotoNaskhArabic-Regular.ttf", "NotoSerifHebrew-Regular.ttf", "NotoSerif-Regular.ttf",
                     "NotoSerifCJK-Regular.ttc", "lmroman10-regular.otf"))
    need(bool(found), "LuaLaTeX and the Noto fonts (apt-get install texlive-luatex fonts-noto-core fonts-noto-cjk)")


def _text(pdf: Path) -> str:
    """pdftotext's words, NFKC (Arabic presentation forms -> letters), without bidi marks."""
    raw = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True,
                         text=True).stdout
    return "".join(ch for ch in unicodedata.normalize("NFKC", raw) if ch not in "\u202a\u202b\u202c\u202d\u202e")


def _words_in_order(name: str, text: str) -> bool:
    """Every word of ``name`` in ``text``, letters in logical order (pdftotext may reorder whole RTL words)."""
    return all(word in text for word in name.split())


def test_handout_and_exam_sheet_print_every_script(tex, tmp_path, monkeypatch):
    _lualatex()
    monkeypatch.chdir(tmp_path)
    everyone = " / ".join(NAMES.values())
    spec = dataclasses.replace(load_spec(None), title=f"{NAMES['arabic']} {NAMES['cjk']} {PAYLOAD}",
                               author=everyone)
    handout = render_worksheet(solve(spec), sections=["problem"])
    monkeypatch.setattr(exam_module, "load_roster", lambda path: [Student("s1", everyone), Student("s2", "Ελένη")])
    exam = build_exam(None, spec=spec, roster="class.csv", seed=1, ask="forward", pdf=True)
    sheets = exam.pdf_jobs[0]  # questions.tex: both variants, cut at each one's named destination
    for source in (handout, sheets.source):
        assert _engine(source, "pdf") == "lualatex"
    combined = compile_pdf(sheets.source, tmp_path / "questions.pdf", runs=1)
    first, second = split_pdf(combined, [(name, tmp_path / rel.replace("/", "-")) for name, rel in sheets.singles])
    assert "Ελένη" in _text(second) and "Ελένη" not in _text(first)
    pdfs = [compile_pdf(handout, tmp_path / "handout.pdf", runs=1), first]
    for pdf in pdfs:
        text = _text(pdf)
        assert "[U+" not in text
        for script, name in NAMES.items():
            assert _words_in_order(name, text), (pdf.name, script, text[:400])
        assert "\\directlua{os.execute(\"touch PWNED\")}" in text.replace("\n", " ")
    assert not (tmp_path / "PWNED").exists()
    fonts = subprocess.run(["pdffonts", str(pdfs[1])], capture_output=True, text=True, check=True).stdout
    for face in ("NotoNaskhArabic", "NotoSerifHebrew", "NotoSerif-Regular", "NotoSerifCJK", "LMRoman10"):
        assert face in fonts, fonts


def test_lualatex_runs_no_shell_commands_from_lua_and_is_deterministic(tex, tmp_path, monkeypatch):
    """Even trusted LaTeX calling Lua cannot run a program (shell escape is off); output bytes repeat."""
    _lualatex()
    monkeypatch.chdir(tmp_path)
    body = Tex("Ελένη \\directlua{tex.print('exec=' .. tostring(os.execute('touch RAN'))"
               " .. ' popen=' .. tostring(io.popen('echo hi')))}")
    source = render_tex("_test_minimal.tex.j2", title=body)
    first = compile_pdf(source, tmp_path / "a.pdf", runs=1).read_bytes()
    text = _text(tmp_path / "a.pdf")
    assert "Ελένη" in text and "exec=nil" in text and "popen=nil" in text
    assert not (tmp_path / "RAN").exists()
    assert compile_pdf(source, tmp_path / "b.pdf", runs=1).read_bytes() == first
    assert tex_escape(PAYLOAD) == ("\\textbackslash{}directlua\\{os.execute(\\textquotedbl{}touch PWNED"
                                   "\\textquotedbl{})\\}")


def test_decks_and_marking_reports_get_the_scripts_too(lecture):
    spec = dataclasses.replace(load_spec(None), author=NAMES["hebrew"] + ", " + NAMES["cjk"])
    deck = render_slides(solve(spec))
    assert _engine(deck, "pdf") == "lualatex" and "{hebrew}" in deck and "]{NotoSansCJK}" in deck  # sans: a deck
    answers = loads_toml(f'z_h1 = "0.378"\n[sheet]\nstudent = "{NAMES["arabic"]}"\ntitle = "{NAMES["greek"]}"\n')
    report = report_tex(mark(lecture, answers))
    assert _engine(report, "pdf") == "lualatex" and "{arabic}" in report and "{greek}" in report
    assert "\\bgroup\\textdir TRT " + NAMES["arabic"] + "\\egroup{}" in report and NAMES["greek"] in report


@pytest.mark.parametrize("name", ["slides/preamble", "verify_report"])
def test_other_documents_include_the_font_block(name):
    template = (Path(__file__).resolve().parent.parent / "templates" / f"{name}.tex.j2").read_text(encoding="utf-8")
    assert '\\BLOCK{ include "fonts.tex.j2" }' in template and "fontenc" not in template


@pytest.mark.parametrize("name", ["slides", "graph_slides"])
def test_every_deck_has_the_shared_preamble(name):
    template = (Path(__file__).resolve().parent.parent / "templates" / f"{name}.tex.j2").read_text(encoding="utf-8")
    assert '\\BLOCK{ include "slides/preamble.tex.j2" }' in template and "documentclass" not in template
