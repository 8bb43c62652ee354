"""The marking's words live in templates/lang/marking/<lang>.j2: English byte-identical to the reports
before they moved, German for every verdict and diagnosis, and a teacher's file overriding one sentence.

References: the English golden files are the `verify` outputs captured before the words left the Python
code; the German sentences are the translation written out by hand next to each planted mistake (the
same planted mistakes, and the same hand arithmetic, as test_verify and test_graph_verify).
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import jinja2
import pytest
from test_graph_verify import SHARED

from symbackprop.cli import main
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import loads_graph
from symbackprop.engine.solution import solve
from symbackprop.marking.answers import Answer, Answers, load_answers
from symbackprop.marking.reports import report_data, report_tex, report_text
from symbackprop.marking.verify import mark

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/lecture_printed_answers.toml"
GOLDEN = ROOT / "tests" / "golden"
WORDS = ROOT / "templates" / "lang" / "marking"
PACKAGE = ROOT / "symbackprop"


@pytest.fixture(scope="module")
def lecture():
    return solve(None, prove=False)


def german(solution, *entries: tuple[str, str, str]):
    return mark(solution, Answers(tuple(Answer(n, t, f) for n, t, f in entries)), lang="de")


def _run(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(ROOT)
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- English: the same bytes as before the words moved ------------------------------------------------

@pytest.mark.parametrize("fmt, golden", [("text", "verify_lecture_printed.txt"),
                                         ("json", "verify_lecture_printed.json")])
def test_english_reports_are_the_golden_bytes(capsys, monkeypatch, fmt, golden):
    code, out, _ = _run(capsys, monkeypatch, "verify", EXAMPLE, "--format", fmt)
    assert code == 1  # four values the lecture rounded early
    assert out == (GOLDEN / golden).read_text(encoding="utf-8")
    assert _run(capsys, monkeypatch, "verify", EXAMPLE, "--format", fmt, "--lang", "en")[1] == out


# -- German ----------------------------------------------------------------------------------------

def test_german_report_of_the_lectures_printed_answers(capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, "verify", EXAMPLE, "--lang", "de")
    assert (code, err) == (1, "")
    assert out == (GOLDEN / "verify_lecture_printed_de.txt").read_text(encoding="utf-8")
    head, *rows = out.splitlines()
    assert head.split() == ["Name", "gegeben", "erwartet", "Urteil", "Begründung"]
    # dE/dw2 = dE/dz_h1 x2 = 0.005 x 0.10 = 0.0005 -> 0.001 from the rounded delta; exactly 0.00047 -> 0.000
    assert re.search(r"dE/dw2\s+0\.001\s+0\.000\s+zu früh gerundet\s+Zwischenergebnisse auf 3 Nachkommastellen "
                     r"gerundet; volle Genauigkeit ergibt 0\.000$", out, re.M)
    assert out.splitlines()[-1] == ("Backpropagation: 61 von 65 richtig: 61 richtig, 4 zu früh gerundet "
                                    "(The lecture's printed values)")
    data = json.loads(_run(capsys, monkeypatch, "verify", EXAMPLE, "--lang", "de", "--format", "json")[1])
    assert {r["label"] for r in data["rows"]} == {"richtig", "zu früh gerundet"}
    assert {r["verdict"] for r in data["rows"]} == {"correct", "early_rounding"}  # keys stay keys


def test_every_verdict_in_german(lecture):
    report = german(lecture, ("h1", "0.593", "value"),
                    ("z_h1", "0.38", "value"),  # 0.3775 -> 0.38 at the 2 decimals written
                    ("dE/dw2", "0.001", "value"),  # 0.005 x 0.10 from the rounded delta (exactly 0.00047)
                    ("dE/dw5", "0.030", "value"),  # wrong (0.028)
                    ("w5'", "0.385", "value"),  # 0.40 - 0.50 x 0.030 = 0.385 (true 0.386): carried forward
                    ("dE/dw7", "0.1", "value"))
    text = report_text(report)
    for label in ("richtig", "zu wenige Nachkommastellen", "zu früh gerundet", "Folgefehler", "falsch", "ungültig"):
        assert re.search(rf"\s{label}\s", text), label
    assert "richtiger Rechenweg, angewandt auf Ihre Angaben dE/dw5 = 0.030; volle Genauigkeit ergibt 0.386" in text
    assert "2 Nachkommastellen angegeben, 3 verlangt; 0.378 bei voller Genauigkeit" in text
    assert "unbekannte Größe 'dE/dw7'" in text
    assert report.totals_text() == ("1 von 6 richtig: 1 richtig, 1 zu wenige Nachkommastellen, 1 zu früh gerundet, "
                                    "1 Folgefehler, 1 falsch, 1 ungültig")
    labels = {r["verdict"]: r["label"] for r in report_data(report)["rows"]}
    assert labels["too_few_decimals"] == "zu wenige Nachkommastellen" and labels["invalid"] == "ungültig"


@pytest.mark.parametrize("name, given, form, why", [
    ("dE/dw6", "-0.028", "value", "Vorzeichen vertauscht (erwartet 0.028)"),
    ("dE/dh1", "0.021", "value", "w6 statt w5 in dE/dh1 verwendet"),
    ("dE/dz_h1", "0.019", "value", "die Aktivierungsableitung h1*(1 - h1) fehlt in dE/dz_h1"),
    ("dE/dz_h1", "0.004", "value", "dE/dz_h1 verwendet sigma(h1)*(1 - sigma(h1)) (sigma'(a), die Ableitung an "
                                   "der Aktivierung) statt h1*(1 - h1)"),
    ("dE/dw3", "0.005", "value", "die lokale Eingabe x1 fehlt in dE/dw3"),
    ("w5'", "0.414", "value", "der Schritt (theta + eta*dE/dtheta) wurde addiert statt subtrahiert"),
    ("z_h1", "0.375", "value", "w1 und w2 in z_h1 vertauscht"),
    ("dE/dw5", "0.02803", "value", "dE/dw5 als dE/dw6 berechnet (Delta und lokale Eingabe des benachbarten "
                                   "Gewichts w6)"),
    ("dE/dw5", "dE/dz_o", "formula", "fehlender Faktor h1"),
    ("dE/dh1", "dE/dz_o*w6", "formula", "fehlender Faktor w5, überzähliger Faktor w6"),
    ("dE/dyhat", "t - yhat", "formula", "unterscheidet sich im Vorzeichen"),
    ("dE/dz_o", "2*(yhat - t)*yhat*(1 - yhat)", "formula", "überzähliger konstanter Faktor 2"),
    ("dE/dz_h1", "dE/dh1*sigma(h1)*(1 - sigma(h1))", "formula",
     "sigma(h1)*(1 - sigma(h1)) (sigma'(h1), die Ableitung an der Aktivierung) statt h1*(1 - h1) verwendet"),
    ("dE/dw6", "dE/dz_o*h2 + h1", "formula", "überzähliger Term h1"),
    ("yhat", "yhat", "formula", "zirkulär: die Formel verwendet yhat selbst"),
    ("z_o", "dE/dz_o", "formula", "zirkulär: dE/dz_o wird aus z_o berechnet"),
    ("dE/dyhat", "yhat - 0.5", "formula",
     "richtiger Wert für diese Aufgabe, aber nicht die allgemeine Formel; eine Zahl steht, wo t hingehört"),
    ("h1", "(1 + tanh(z_h1/2))/2", "formula", "numerisch an 3 Zufallspunkten geprüft"),
])
def test_every_diagnosis_in_german(lecture, name, given, form, why):
    (row,) = german(lecture, (name, given, form)).rows
    assert row.why == why
    if any(latex for _, latex in row.why_parts):  # the pieces the LaTeX sheet prints as maths, in German too
        assert "".join(text for text, _ in row.why_parts) == why


def test_a_graphs_diagnoses_in_german():
    shared = solve_graph(loads_graph(SHARED, "shared"), prove=False)
    rows = {r.name: r.why for r in german(shared, ("df/dw", "3.000", "value"), ("df/du", "3.000", "value"),
                                                  ("df/dx2", "0.500", "value")).rows}
    # df/dw = df/da1 x1 + df/da2 x2 = 3 - 0.75; 3.000 leaves out a2's use; df/du = 1.5 u = 3 (not 1.5 h1)
    assert rows["df/dw"] == "df/dw lässt die Verwendung von w in a2 aus (die Summe über 1 seiner 2 Verwendungen)"
    assert rows["df/du"] == ("die Eingaben des Multiplikationsgatters m nicht vertauscht: die lokale Ableitung "
                             "nach u als dessen eigener Wert u statt h1 genommen")
    assert rows["df/dx2"] == ("der vorgelagerte Gradient df/da2 nicht hineinmultipliziert (nur die lokale "
                              "Ableitung)")


def test_german_marked_sheet_escapes_and_words_it(lecture):
    tex = report_tex(german(lecture, ("dE/dw5", "0.03", "value"), ("dE/dz_h1", "dE/dh1", "formula")))
    assert r"{\Large\bfseries Bewertete Antworten: Backpropagation}" in tex
    assert r"Größe & Gegeben & Erwartet & & Urteil und Begründung \\" in tex
    assert r"\textbf{zu wenige Nachkommastellen}: 2 Nachkommastellen angegeben" in tex
    assert r"fehlender Faktor $h_{1} \left(1 - h_{1}\right)$" in tex


def test_unknown_language_is_one_line(capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, "verify", EXAMPLE, "--lang", "xx")
    assert (code, out) == (2, "")
    assert err == "symbackprop: error: --lang: no marking words for 'xx' (known: de, en)\n"


def test_the_specs_templates_lang_chooses_german(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "lecture.toml"
    spec.write_text((ROOT / "examples" / "lecture.toml").read_text() + '\n[templates]\nlang = "de"\n')
    code, out, _ = _run(capsys, monkeypatch, "verify", str(spec), EXAMPLE)
    assert code == 1 and "61 von 65 richtig" in out
    assert "61 of 65 right" in _run(capsys, monkeypatch, "verify", str(spec), EXAMPLE, "--lang", "en")[1]


# -- a teacher's words ---------------------------------------------------------------------------------

def test_a_teachers_words_file_overrides_one_diagnosis(tmp_path, capsys, monkeypatch):
    words = tmp_path / "mine" / "lang" / "marking"
    words.mkdir(parents=True)
    # only the one sentence: every other one comes from the shipped file
    (words / "en.j2").write_text("{% macro sign_flipped(expected) %}check the sign: {{ expected }} is right"
                                 "{% endmacro %}\n")
    answers = tmp_path / "a.toml"
    answers.write_text('[values]\n"dE/dw6" = "-0.028"\n"dE/dw3" = "0.005"\nh1 = "0.593"\n')
    code, out, _ = _run(capsys, monkeypatch, "verify", str(answers), "--templates", str(tmp_path / "mine"))
    assert code == 1
    assert re.search(r"dE/dw6\s+-0\.028\s+0\.028\s+wrong\s+check the sign: 0\.028 is right$", out, re.M)
    assert re.search(r"dE/dw3\s+0\.005\s+0\.000\s+wrong\s+the local input x1 is missing from dE/dw3$", out, re.M)
    assert out.splitlines()[-1] == "Backpropagation: 1 of 3 right: 1 correct, 2 wrong"
    plain = _run(capsys, monkeypatch, "verify", str(answers))[1]
    assert "sign flipped (expected 0.028)" in plain and "check the sign" not in plain


def test_a_teachers_own_language_falls_back_to_english(tmp_path, capsys, monkeypatch):
    words = tmp_path / "mine" / "lang" / "marking"
    words.mkdir(parents=True)
    (words / "nl.j2").write_text('{% set verdicts = {"correct": "goed", "wrong": "fout"} %}'
                                 "{% macro sign_flipped(expected) %}teken omgedraaid (verwacht {{ expected }})"
                                 "{% endmacro %}\n")
    answers = tmp_path / "a.toml"
    answers.write_text('[values]\n"dE/dw6" = "-0.028"\n"dE/dw3" = "0.005"\nh1 = "0.593"\n')
    code, out, _ = _run(capsys, monkeypatch, "verify", str(answers), "--templates", str(tmp_path / "mine"),
                        "--lang", "nl")
    assert code == 1
    assert re.search(r"dE/dw6\s+-0\.028\s+0\.028\s+fout\s+teken omgedraaid \(verwacht 0\.028\)$", out, re.M)
    assert re.search(r"dE/dw3\s+0\.005\s+0\.000\s+fout\s+the local input x1 is missing from dE/dw3$", out, re.M)
    assert out.splitlines()[-1] == "Backpropagation: 1 of 3 right: 1 goed, 2 fout"


# -- the words files themselves ---------------------------------------------------------------------------

def _macros(lang: str) -> dict[str, list[str]]:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WORDS))
    module = env.get_template(f"{lang}.j2").module
    return {name: list(value.arguments) for name in dir(module) if not name.startswith("_")
            and isinstance(value := getattr(module, name), jinja2.runtime.Macro)}


def test_every_diagnosis_the_code_names_has_its_words_in_every_language():
    said = set()
    for path in (PACKAGE / "marking").glob("*.py"):
        said |= set(re.findall(r'Said\("(\w+)"', path.read_text()))
    en, de = _macros("en"), _macros("de")
    assert len(said) > 35 and said <= set(en)
    assert en == de  # the same macros, with the same parameters


def test_every_german_sentence_differs_from_the_english():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WORDS))
    modules = {lang: env.get_template(f"{lang}.j2").module for lang in ("en", "de")}
    samples = {"names": ["a", "b"], "consumers": ["a"], "lost": ["t"], "sources": [("h1", "0.5")],
               "counts": [("wrong", 1)], "inputs": ["x1"], "others": [("wrong", 1)], "totals": [("wrong", 1)],
               "ids": ["s1"], "steps": ["3"], "examples": ["0.25", "2.26e-4"], "terms": ["a"], "units": ["b"],
               "used": "sigmoid", "used_f": "sigmoid", "right": "identity", "f": "relu"}
    for name, arguments in _macros("en").items():
        args = {a: samples.get(a, 2) for a in arguments}
        english, german_ = (str(getattr(modules[lang], name)(**args)) for lang in ("en", "de"))
        assert english != german_, name


def test_a_report_marked_in_a_worker_comes_back_in_its_language(lecture):
    report = german(lecture, ("dE/dw6", "-0.028", "value"))
    again = pickle.loads(pickle.dumps(report))
    assert again.words.lang == "de" and again.totals_text() == "0 von 1 richtig: 1 falsch"


def test_a_value_that_is_not_a_number_is_said_in_the_reports_language(lecture):
    """The parser's reasons for a value that is not a number come from the words too (a German sheet had said them
    in English); the numbers it suggests are typed text in the tex report, not prose with a circumflex."""
    report = german(lecture, ("z_h1", "0.3.5", "value"), ("E", ",5", "value"), ("h2", "1_0", "value"))
    why = {r.name: r.why for r in report.rows}
    assert why == {"z_h1": "'0.3.5' ist keine Zahl (erwartet z. B. 0.25, -1.5, 2.26e-4 oder 2.26 x 10^-4)",
                   "E": "',5': bitte einen Dezimalpunkt statt eines Kommas schreiben",
                   "h2": "Zifferntrenner '_' sind in '1_0' nicht erlaubt"}
    english = mark(lecture, Answers((Answer("z_h1", "0.3.5", "value"),)))
    assert english.rows[0].why == "'0.3.5' is not a number (expected e.g. 0.25, -1.5, 2.26e-4 or 2.26 x 10^-4)"
    tex = report_tex(english)
    assert r"$\texttt{2.26e-4}$ or $\texttt{2.26 x 10\textasciicircum{}-4}$)" in tex


def test_the_english_file_is_the_english_golden(lecture):
    loaded = load_answers(ROOT / EXAMPLE)
    assert report_text(mark(lecture, loaded)) == report_text(mark(lecture, loaded, lang="en"))
