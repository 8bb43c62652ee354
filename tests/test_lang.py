"""A translation is a template set: ``--lang de`` writes the whole handout in German (tex and md).

The English handout is the golden file of test_handout; the German one has its own golden file.  Every
word comes from ``templates/lang/<lang>.j2``, so the German output holds no English prose, and the
German words file defines every phrase the English one does.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.documents.handout import render_worksheet
from symbackprop.documents.render import languages, latex_environment
from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import lecture_text, loads_spec
from symbackprop.io.pdf import compile_pdf, latex_env

GOLDEN_DE = Path(__file__).parent / "golden" / "lecture_handout_de.tex"
GOLDEN_EN = Path(__file__).parent / "golden" / "lecture_handout.tex"
#: English words that never occur in German prose (checked outside maths)
ENGLISH = re.compile(r"\b(the|of|and|with|is|are|each|every|layer|hidden|output|gradients?|example|loss|"
                     r"summary|update|rounded|shown|weight)\b", re.I)


@pytest.fixture(scope="module")
def lecture():
    return solve()


@pytest.fixture(scope="module")
def german(lecture) -> str:
    return render_worksheet(lecture, lang="de")


def prose(text: str) -> str:
    """``text`` without its maths, TikZ picture and LaTeX commands: the words a reader reads."""
    text = re.sub(r"\\begin\{(align|gather|equation|tikzpicture)\*?\}.*?\\end\{\1\*?\}", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\\\[.*?\\\]|\$[^$]*\$", " ", text, flags=re.S)
    text = re.sub(r"\\sbox\{[^\n]*", " ", text)  # the diagram's one long line
    text = re.sub(r"^%.*$|<!--.*?-->", " ", text, flags=re.M)
    return re.sub(r"\\[a-zA-Z]+", " ", text)


def test_german_golden(german):
    assert german == GOLDEN_DE.read_text(encoding="utf-8")


def test_the_english_handout_is_unchanged_by_the_language_machinery(lecture):
    assert render_worksheet(lecture, lang="en") == GOLDEN_EN.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["tex", "md"])
@pytest.mark.parametrize("name", ["lecture", "two_examples_frozen", "softmax_like", "big"])
def test_german_prose_has_no_english_words(name, fmt):
    text = {"lecture": lecture_text(),
            "two_examples_frozen": lecture_text().replace('bias = "per_neuron"', 'bias = "per_neuron"\nfrozen = ["w1"]')
            + "\n[[examples]]\nx1 = 0.20\nx2 = -0.30\nt = 0.90\n",
            "softmax_like": new_spec([2, 3, 2], loss="bce", seed=4),
            "big": new_spec([4, 8, 8, 2], activation="tanh")}[name]
    out = render_worksheet(solve(loads_spec(text, source=name)), fmt, lang="de")
    assert "Übersicht der Gradienten" in out and "Gradient summary" not in out
    english = sorted({m.group().lower() for m in ENGLISH.finditer(prose(out))} - {"gradient"})
    assert english == [], english


def test_the_german_words_define_every_english_phrase():
    env = latex_environment()
    names = {lang: {n for n in dir(env.get_template(f"lang/{lang}.j2").module) if not n.startswith("_")}
             for lang in ("en", "de")}
    assert names["en"] == names["de"] and len(names["en"]) > 80
    assert languages() == ["de", "en"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lang_flag_writes_german_tex_and_md(tmp_path, capsys):
    for fmt in ("tex", "md"):
        code, out, err = run(capsys, "worksheet", "--lang", "de", "--format", fmt, "-o", str(tmp_path))
        assert (code, err) == (0, "") and out.split() == [str(tmp_path / f"lecture.{fmt}")]
    assert (tmp_path / "lecture.tex").read_bytes() == GOLDEN_DE.read_bytes()
    md = (tmp_path / "lecture.md").read_text(encoding="utf-8")
    assert md.startswith("<!--") and "## Übersicht der Gradienten" in md and "\\boxed{" in md


@pytest.mark.parametrize("lang", ["fr", "../en", "EN", ""])
def test_an_unknown_language_is_one_line_exit_2_no_files(tmp_path, capsys, lang):
    code, out, err = run(capsys, "worksheet", "--lang", lang, "-o", str(tmp_path / "out"))
    assert (code, out) == (2, "")
    assert err == f"symbackprop: error: --lang: unknown language {lang!r} (known: de, en)\n"
    assert not (tmp_path / "out").exists()


def spec_with(tmp_path: Path, table: str) -> Path:
    spec = tmp_path / "net.toml"
    spec.write_text(lecture_text() + "\n[templates]\n" + table, encoding="utf-8")
    return spec


def test_the_spec_sets_the_language_and_the_flag_wins(tmp_path, capsys):
    spec = spec_with(tmp_path, 'lang = "de"\n')
    assert run(capsys, "worksheet", str(spec), "-o", str(tmp_path / "a"))[0] == 0
    assert "\\section{Übersicht der Gradienten}" in (tmp_path / "a" / "net.tex").read_text(encoding="utf-8")
    assert run(capsys, "worksheet", str(spec), "--lang", "en", "-o", str(tmp_path / "b"))[0] == 0
    assert "\\section{Gradient summary}" in (tmp_path / "b" / "net.tex").read_text(encoding="utf-8")


def test_a_teacher_folder_adds_a_language(tmp_path, capsys):
    """A translation is one file: the German words under another name are a new language."""
    folder = tmp_path / "mine" / "lang"
    folder.mkdir(parents=True)
    de = (Path(__file__).resolve().parent.parent / "templates" / "lang" / "de.j2").read_text(encoding="utf-8")
    old, new = "Übersicht der Gradienten", "Gradienten auf einen Blick"
    (folder / "xx.j2").write_text(de.replace(old, new), encoding="utf-8")
    code, _, err = run(capsys, "worksheet", "--lang", "xx", "--templates", str(tmp_path / "mine"),
                       "-o", str(tmp_path))
    assert (code, err) == (0, "")
    text = (tmp_path / "lecture.tex").read_text(encoding="utf-8")
    assert text == GOLDEN_DE.read_text(encoding="utf-8").replace(old, new)


def test_the_german_pdf_compiles_with_umlauts_and_no_overfull_lines(tex, german, tmp_path):
    (tmp_path / "doc.tex").write_text(german, encoding="utf-8")
    for _ in range(2):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                                 "doc.tex"], cwd=tmp_path, env=latex_env(), capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout.decode(errors="replace")[-2000:]
    assert "Overfull" not in (tmp_path / "doc.log").read_text(errors="replace")
    pdf = compile_pdf(german, tmp_path / "de.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    for phrase in ("Übersicht der Gradienten", "Vorwärtsdurchlauf", "Präaktivierungen", "Verifikation"):
        assert phrase in text, phrase


def test_the_exam_key_takes_its_words_from_the_same_template(tmp_path, capsys):
    """The answer key includes the handout's sections: its policy sentence and titles are the words file's."""
    code, _, err = run(capsys, "exam", "--variants", "1", "-o", str(tmp_path / "set"))
    assert (code, err) == (0, "")
    key = (tmp_path / "set" / "keys.tex").read_text(encoding="utf-8")
    policy = "All displayed values are rounded half-up (a tie away from zero) to 3 decimals;"
    assert "\\textbf{Rounding policy.} " + policy in key
    assert "\\section{Gradient summary}" in key and "Tex(" not in key and "\\textquotesingle" not in key


def _lms_prose(html_text: str) -> str:
    """The words of an LMS question text: no maths, no tags, no Cloze fields, no machine tags."""
    text = re.sub(r"\\\(.*?\\\)", " ", html_text, flags=re.S)
    text = re.sub(r"<[^>]*>|\{1:NUMERICAL:[^}]*\}|symbackprop variant \d+|\[v\d+ [^\]]+\]", " ", text)
    return text


def test_the_lms_texts_of_a_german_exam_are_german(tmp_path, capsys):
    """``--lang de`` words the Moodle and Canvas question texts, feedback and quiz names from
    ``lms/lang/de.html.j2``; the tags ``symbackprop mark`` reads back stay as they are."""
    import html
    import zipfile
    code, _, err = run(capsys, "exam", "--variants", "2", "--moodle", "--qti", "--lang", "de",
                       "-o", str(tmp_path / "set"))
    assert (code, err) == (0, "")
    moodle = (tmp_path / "set" / "moodle.xml").read_text(encoding="utf-8")
    texts = re.findall(r"<!\[CDATA\[(.*?)\]\]>", moodle, flags=re.S)
    assert len(texts) == 4  # each variant's question text and its worked solution
    for text in texts:
        assert not ENGLISH.findall(_lms_prose(text)), _lms_prose(text)
    assert "<name><text>Backpropagation - Variante 001</text></name>" in moodle
    assert ("Ein vorwärtsgerichtetes Netz mit 2 Eingaben und Schichten aus 2 Sigmoid-Einheiten, 1 Sigmoid-Einheit"
            in moodle)
    assert "<p><strong>Vorwärtsdurchlauf</strong></p>" in moodle and "<p>Lösungsweg (Variante 002;" in moodle
    assert "<p><small>symbackprop variant 002</small></p>" in moodle  # what mark finds in the Responses report
    with zipfile.ZipFile(tmp_path / "set" / "canvas-qti.zip") as zf:
        quiz = zf.read("symbackprop_0_v001/symbackprop_0_v001.xml").decode("utf-8")
        meta = zf.read("symbackprop_0_v001/assessment_meta.xml").decode("utf-8")
    shown = [html.unescape(t) for t in re.findall(r'<mattext texttype="text/html">(.*?)</mattext>', quiz, flags=re.S)]
    assert len(shown) == 1 + 2 * 29  # the intro, then each value's question and feedback
    for text in shown:
        assert not ENGLISH.findall(_lms_prose(text)), _lms_prose(text)
    assert 'title="Das Netz"' in quiz and "vom Wert der Lösung abweicht, ist richtig." in shown[0]
    assert shown[1].startswith("<p>Vorwärtsdurchlauf: ") and "[v001 z_h1]" in shown[1]
    assert "<title>Backpropagation - Variante 001</title>" in meta and "<description>Variante 001, Startwert 0" in meta
    # the English export is the same question with English words
    assert run(capsys, "exam", "--variants", "2", "--moodle", "-o", str(tmp_path / "en"))[0] == 0
    english = (tmp_path / "en" / "moodle.xml").read_text(encoding="utf-8")
    assert "<p><strong>Forward pass</strong></p>" in english and "Vorwärts" not in english
    assert re.findall(r"\{1:NUMERICAL:[^}]*\}", english) == re.findall(r"\{1:NUMERICAL:[^}]*\}", moodle)


@pytest.mark.parametrize("example, sentences", [
    ("graph_cs231n.toml", ["<p>Ein Berechnungsgraph berechnet \\(f = ", "<p>Gatter: \\(a = w_{0} x_{0}\\), ",
                           "<p>Berechnen Sie die Werte des Schaltkreises im Vorwärtsdurchlauf und den Gradienten"]),
    ("adam.toml", ["<p>Aktualisieren Sie jeden trainierbaren Parameter einmal mit Adam (der Zustand vor dem Schritt "
                   "ist 0, t = 1), hier ausgeschrieben für \\(w_{1}\\):</p>", "<p>Gleichungen: "]),
])
def test_a_german_graph_or_optimizer_exam_has_german_lms_texts(tmp_path, capsys, example, sentences):
    """A computation graph's question (its function, gates, task) and an optimizer's update rule are worded
    by ``lms/lang/de.html.j2`` too; the English export keeps its words."""
    spec = str(Path(__file__).resolve().parent.parent / "examples" / example)
    code, _, err = run(capsys, "exam", spec, "--variants", "1", "--moodle", "--lang", "de", "-o", str(tmp_path / "de"))
    assert (code, err) == (0, "")
    moodle = (tmp_path / "de" / "moodle.xml").read_text(encoding="utf-8")
    texts = re.findall(r"<!\[CDATA\[(.*?)\]\]>", moodle, flags=re.S)
    assert len(texts) == 2
    for text in texts:
        assert not ENGLISH.findall(_lms_prose(text)), _lms_prose(text)
    for sentence in sentences:
        assert sentence in texts[0]
    assert run(capsys, "exam", spec, "--variants", "1", "--moodle", "-o", str(tmp_path / "en"))[0] == 0
    english = (tmp_path / "en" / "moodle.xml").read_text(encoding="utf-8")
    said = "A computation graph computes" if example.startswith("graph") else "Update every trainable parameter"
    assert said in english and "Gatter" not in english and "Aktualisieren" not in english


def test_the_german_lms_words_define_every_english_word():
    from symbackprop.documents.render import html_environment
    from symbackprop.exam.lms import lms_languages
    env = html_environment()
    names = {lang: {n for n in dir(env.get_template(f"lms/lang/{lang}.html.j2").module) if not n.startswith("_")}
             for lang in ("en", "de")}
    assert names["en"] == names["de"]
    assert {"group_titles", "network", "quiz", "task", "rule", "graph", "gates"} <= names["en"]
    assert lms_languages() == ["de", "en"]


def test_a_language_without_lms_words_is_one_line_for_an_lms_export(tmp_path, capsys):
    """A teacher's ``lang/xx.j2`` words the sheets; the Moodle/Canvas texts need ``lms/lang/xx.html.j2``."""
    folder = tmp_path / "mine" / "lang"
    folder.mkdir(parents=True)
    de = (Path(__file__).resolve().parent.parent / "templates" / "lang" / "de.j2").read_text(encoding="utf-8")
    (folder / "xx.j2").write_text(de, encoding="utf-8")
    common = ["exam", "--variants", "1", "--lang", "xx", "--templates", str(tmp_path / "mine")]
    code, out, err = run(capsys, *common, "--moodle", "-o", str(tmp_path / "a"))
    assert (code, out) == (2, "") and not (tmp_path / "a").exists()
    assert err == ("symbackprop: error: --lang: no Moodle/Canvas words for 'xx' (add lms/lang/xx.html.j2 to your "
                   "templates; known: de, en)\n")
    assert run(capsys, *common, "-o", str(tmp_path / "b"))[0] == 0  # the sheets alone need no LMS words
    lms = tmp_path / "mine" / "lms" / "lang"
    lms.mkdir(parents=True)
    (lms / "xx.html.j2").write_text((Path(__file__).resolve().parent.parent / "templates" / "lms" / "lang" /
                                     "de.html.j2").read_text(encoding="utf-8"), encoding="utf-8")
    assert run(capsys, *common, "--qti", "-o", str(tmp_path / "c"))[0] == 0
