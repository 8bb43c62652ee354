"""Question sheets people can use: room to work (roomy or compact), the first task on the page of the values
and the diagram, and every word of the sheets and keys from the language's words file (en, de)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.engine.examtable import settings_from_table
from symbackprop.errors import ExamError
from symbackprop.exam.build import build_exam
from symbackprop.io.pdf import compile_pdf

ROOT = Path(__file__).resolve().parent.parent
EXAM_SPEC = ROOT / "examples" / "exam_lecture.toml"


@pytest.fixture
def relu_spec(tmp_path, capsys) -> Path:
    """The 3-3-2 relu spec of issue 12 (20 parameters: a long parameter list and a big first task)."""
    assert main(["new", "--layers", "3,3,2", "--activation", "relu", "--seed", "1"]) == 0
    path = tmp_path / "r.toml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    return path


def _working_lines(sheet: str) -> dict[str, int]:
    """Each group's working space (in lines of 7.5 mm), by the group title above it."""
    found = re.findall(r"\\textbf\{([^}]*)\}\\par\\nobreak.*?\\examworking(?:fit|first)\{(\d+)\}", sheet, re.S)
    return {title: int(lines) for title, lines in found}


def test_roomy_sheet_sizes_the_working_space_by_what_each_group_asks(relu_spec):
    """3-3-2: 10 forward values (1 line each), the loss (2 lines, at least 3), 5 deltas (1.5 each, 7.5 rounds
    to 8), 20 gradients (capped at 16 lines, 12 cm), 20 updates (half a line each), then the loss after the
    update: a second forward pass (10 lines) and the loss (2); compact: the boxes alone."""
    roomy = build_exam(relu_spec, variants=1, seed=1)
    sheet = roomy.files["questions/v001.tex"].decode("utf-8")
    assert _working_lines(sheet) == {"Forward pass": 10, "Loss": 3, "Deltas (error signals)": 8, "Gradients": 16,
                                     "Updated parameters": 10, "Loss after the update": 12}
    # in the sheet's order: the loss after the update last, after the updates it needs (it came second: rv5 7)
    assert list(_working_lines(sheet)) == ["Forward pass", "Loss", "Deltas (error signals)", "Gradients",
                                           "Updated parameters", "Loss after the update"]
    compact = build_exam(relu_spec, variants=1, seed=1, layout="compact")
    text = compact.files["questions/v001.tex"].decode("utf-8")
    assert not re.search(r"\\examworking(fit|first)\{\d", text)
    assert text.count("\\answerbox") == sheet.count("\\answerbox") == 1 + 57  # its definition, 57 boxes
    assert compact.files["keys/v001.tex"] == roomy.files["keys/v001.tex"]  # a key has no working space


def test_the_layout_setting_and_flag(tmp_path, capsys, relu_spec):
    assert settings_from_table({}).layout == "roomy"
    assert settings_from_table({"layout": "compact"}).layout == "compact"
    for bad, problem in (("tight", "unknown value 'tight' (expected one of: roomy, compact)"),
                         (1, "must be a string, got 1")):
        with pytest.raises(ExamError) as err:
            settings_from_table({"layout": bad}, "s.toml")
        assert str(err.value).startswith(f"s.toml: exam.layout: {problem.split(' (')[0]}")
    spec = tmp_path / "c.toml"
    spec.write_text(relu_spec.read_text(encoding="utf-8") + '\n[exam]\nlayout = "compact"\n', encoding="utf-8")
    assert not re.search(r"\\examworking(fit|first)\{\d", build_exam(spec).files["questions.tex"].decode("utf-8"))
    assert "\\examworkingfit{" in build_exam(spec, layout="roomy").files["questions.tex"].decode("utf-8")
    assert main(["exam", str(spec), "--layout", "tight", "-o", str(tmp_path / "set")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layout" in err and "tight" in err and not (tmp_path / "set").exists()


UNROUNDED = {"en": ("3 decimal places (carry intermediate results unrounded, or with at least 5 decimals: round only "
                     "what goes in a box).",
                     "Carry intermediate results unrounded, or with at least 5 decimals: round only the value "
                     "you enter."),
             "de": ("3 Nachkommastellen gerundet (rechnen Sie mit ungerundeten Zwischenergebnissen oder mit mindestens "
                    "5 Nachkommastellen: gerundet wird nur, was ins Kästchen kommt).",
                    "Rechnen Sie mit ungerundeten Zwischenergebnissen oder mit mindestens 5 Nachkommastellen: gerundet "
                    "wird nur der Wert, den Sie eintragen.")}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_set_whose_early_rounding_rule_was_relaxed_asks_for_unrounded_working(relu_spec, lang):
    """3-3-2 relu: the probe relaxes the early-rounding rule, so rounding as you go may change a value (Moodle
    gives it the early-rounding credit). The sheet, Moodle's question text and Canvas's first item say to carry
    intermediates unrounded or with two decimals more (as a graph's sheet does); they used to say nothing, and
    a student who rounded as the lecture allows lost half the points of a third of the fields (rv5 1). The
    lecture's set, under the strict rule, still says rounding as you go is fine."""
    import zipfile
    from io import BytesIO

    sheet_words, lms_words = UNROUNDED[lang]
    relaxed = build_exam(relu_spec, variants=2, seed=1, moodle=True, qti=True, lang=lang)
    assert relaxed.report.relaxed == ("early rounding",)
    for name in ("questions/v001.tex", "questions/v002.tex", "questions.tex"):
        assert " ".join(relaxed.files[name].decode("utf-8").split()).count(sheet_words) == relaxed.files[
            name].decode("utf-8").count("\\examsetvariant{"), name
    assert relaxed.files["moodle.xml"].decode("utf-8").count(lms_words) == 2
    with zipfile.ZipFile(BytesIO(relaxed.files["canvas-qti.zip"])) as zf:
        quizzes = [n for n in zf.namelist() if n.endswith(".xml") and "_v00" in n.split("/")[-1]]
        assert len(quizzes) == 2 and all(lms_words in zf.read(n).decode("utf-8") for n in quizzes)
    strict = build_exam(EXAM_SPEC, variants=1, seed=1, moodle=True, qti=True, lang=lang)
    assert not strict.report.relaxed and strict.report.early_rounding
    assert sheet_words.split(" (")[1][:20] not in strict.files["questions.tex"].decode("utf-8")
    assert lms_words not in strict.files["moodle.xml"].decode("utf-8")


def test_the_loss_after_the_update_is_asked_after_the_updates_everywhere(relu_spec):
    """E' needs the updated parameters and a second forward pass: the sheet, the key's answer table, the
    answers file, Moodle's question and feedback and Canvas's items all ask it last, in its own group after
    the updated parameters (it was asked second, with E, before the deltas: rv5 7); E stays second."""
    import zipfile
    from io import BytesIO

    exam = build_exam(relu_spec, variants=1, seed=1, moodle=True, qti=True)
    order = ["Forward pass", "Loss", "Deltas (error signals)", "Gradients", "Updated parameters",
             "Loss after the update"]
    sheet = exam.files["questions/v001.tex"].decode("utf-8")
    assert re.findall(r"\\noindent\\textbf\{([^}]*)\}\\par\\nobreak", sheet) == order
    key = exam.files["keys/v001.tex"].decode("utf-8")
    assert re.findall(r"\\multicolumn\{6\}\{@\{\}l\}\{\\textbf\{([^}]*)\}\}", key) == order
    answers = re.findall(r'^"([^"]+)" = ', exam.files["answers/v001.toml"].decode("utf-8"), re.M)
    assert answers[-1] == "E'" and answers[10] == "E" and answers.index("E") < answers.index("dE/dz_o1")
    moodle = exam.files["moodle.xml"].decode("utf-8")
    assert re.findall(r"<strong>([^<]*)</strong>", moodle) == order * 2  # the question, then its feedback
    with zipfile.ZipFile(BytesIO(exam.files["canvas-qti.zip"])) as zf:
        quiz = next(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith("v001/symbackprop_1_v001.xml"))
    tags = re.findall(r'<item ident="[^"]*_q\d+" title="\[v001 ([^\]]*)\]">', quiz)
    assert tags == answers  # each item in the answers file's order, E' last


ENGLISH_ON_SHEETS = re.compile(r"\b(exercise sheet|answer key|Instructions|What to compute|Forward pass|Working|"
                               r"Variant|seed|page|Answer table|Gradients|Updated parameters|rounded half-up)\b")


def test_german_sheets_and_keys(tmp_path, capsys):
    """--lang de and [templates] lang = "de" give the same German set: babel, no English word of the sheet."""
    assert main(["exam", str(EXAM_SPEC), "--lang", "de", "-o", str(tmp_path / "flag")]) == 0
    spec = tmp_path / "de.toml"
    spec.write_text(EXAM_SPEC.read_text(encoding="utf-8") + '\n[templates]\nlang = "de"\n', encoding="utf-8")
    assert main(["exam", str(spec), "-o", str(tmp_path / "spec")]) == 0
    capsys.readouterr()
    for name in ("questions.tex", "keys.tex"):
        flag = (tmp_path / "flag" / name).read_text(encoding="utf-8")
        assert flag == (tmp_path / "spec" / name).read_text(encoding="utf-8")
        assert "\\usepackage[provide=*,ngerman]{babel}" in flag
        body = flag.split("\\begin{document}")[1]
        assert ENGLISH_ON_SHEETS.findall(body) == [], name
    sheet = (tmp_path / "flag" / "questions.tex").read_text(encoding="utf-8")
    for phrase in ("Aufgabenblatt", "Anleitung.", "\\section{Das Netz}", "\\section{Zu berechnen}",
                   "Vorwärtsdurchlauf", "Gradienten", "Nebenrechnung", "Variante \\examvariant, Seite \\thepage"):
        assert phrase in sheet, phrase
    key = (tmp_path / "flag" / "keys.tex").read_text(encoding="utf-8")
    for phrase in ("Lösungen", "Lösungstabelle (Variante 001)", "Übersicht der Gradienten", "Aktualisierte Parameter"):
        assert phrase in key, phrase
    english = (tmp_path / "en")
    assert main(["exam", str(EXAM_SPEC), "-o", str(english)]) == 0
    assert "exercise sheet" in (english / "questions.tex").read_text(encoding="utf-8")


def test_an_unknown_language_is_one_line_before_any_file(tmp_path, capsys):
    assert main(["exam", str(EXAM_SPEC), "--lang", "xx", "-o", str(tmp_path / "set")]) == 2
    err = capsys.readouterr().err
    assert err == "symbackprop: error: --lang: unknown language 'xx' (known: de, en)\n"
    assert not (tmp_path / "set").exists()


def _pdf_pages(tex_source: str, out: Path) -> list[str]:
    compile_pdf(tex_source, out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, check=True).stdout
    return text.decode().split("\f")[:-1]


@pytest.mark.parametrize("layout", ["roomy", "compact"])
def test_the_first_task_is_on_the_page_of_the_values_and_the_diagram(tex, tmp_path, relu_spec, layout):
    """3-3-2 relu, German: page 1 holds the parameters (the last one's row), the diagram (its last weight's
    label) and the first group's boxes, its last box included; the symbols come last."""
    exam = build_exam(relu_spec, variants=1, seed=1, layout=layout, lang="de")
    pages = _pdf_pages(exam.files["questions/v001.tex"].decode("utf-8"), tmp_path / "q.pdf")
    first = pages[0]
    assert "b5 = " in first and "w15" in first.split("b5 = ")[1]  # the last parameter, then the diagram
    boxes = first.split("Vorwärtsdurchlauf")[-1]  # the first group's labels (ŷ as pdftotext spells it)
    assert "Zu berechnen" in first and [label in boxes for label in ("zh1 =", "zh3 =", "h3 =", "2 =")] == [True] * 4
    assert "Symbole und Gleichungen" not in first and "Symbole und Gleichungen" in "".join(pages[1:])
    assert ("Nebenrechnung" in "".join(pages)) == (layout == "roomy")


@pytest.mark.parametrize("example", ["lecture", "lecture_2out_softmax_ce"])
def test_a_small_networks_first_group_keeps_its_working_frame_on_the_first_page(tex, tmp_path, example):
    """The lecture's sheet: the diagram gives up a little height so that the forward pass's frame to work in
    stays under its boxes on page 1 (it used to open page 2, a quarter of page 1 left empty); the loss's frame
    is on page 2 with its boxes.  Two softmax outputs: the smallest diagram leaves too little for the 8 lines
    asked, but more than half of them, so the frame shrinks to the rest of page 1 instead of opening page 2."""
    from symbackprop.engine.spec import load_spec

    exam = build_exam(None, spec=load_spec(ROOT / "examples" / f"{example}.toml"), variants=1, seed=1)
    sheet = exam.files["questions/v001.tex"].decode("utf-8")
    pages = _pdf_pages(sheet, tmp_path / "q.pdf")
    first = pages[0]
    assert "Forward pass" in first and first.count("Working") == 1
    assert first.index("Forward pass") < first.index("Working")
    assert "Loss" in pages[1] and pages[1].index("Working") > pages[1].index("Loss")
    assert "Working" not in pages[1].split("Loss")[0]  # page 2 opens with the loss, not a frame
    assert sheet.count("\\examworkingfirst{8}" if example != "lecture" else "\\examworkingfirst{6}") == 1


LATER_GROUPS = ("Deltas (error signals)", "Gradients", "Updated parameters", "Loss after the update")


@pytest.mark.parametrize("layers", ["2,2,2-softmax", "3,6,2", "2,3,2-softmax", "3,3,2-relu"])
def test_every_later_groups_frame_is_on_the_page_of_its_boxes(tex, tmp_path, capsys, layers):
    """After the first group, a group starts a new page unless its boxes and at least half its frame fit; the
    frame then shrinks to the rest of the page if it must, so it is never alone at the top of the next page
    (each of these sheets had one there: the loss's of 3-6-2, the gradients' of 2-2-2 softmax)."""
    shape, _, kind = layers.partition("-")
    args = ["new", "--layers", shape, "--seed", "2"]
    if kind == "softmax":
        args += ["--loss", "cross_entropy"]
    elif kind == "relu":
        args += ["--activation", "relu", "--seed", "1"]
    assert main(args) == 0
    spec = tmp_path / "s.toml"
    spec.write_text(capsys.readouterr().out, encoding="utf-8")
    exam = build_exam(spec, variants=1, seed=1)
    pages = _pdf_pages(exam.files["questions/v001.tex"].decode("utf-8"), tmp_path / "q.pdf")
    for title in LATER_GROUPS:
        on = [page for page in pages if title in page]
        assert len(on) == 1, title
        assert "Working" in on[0].split(title, 1)[1], title  # its frame after its boxes, on that page
    for page in pages[2:]:  # no page opens with a frame (page 2 may: the first group's, too big for page 1)
        if "Working" in page:
            assert any(t in page.split("Working", 1)[0] for t in (*LATER_GROUPS, "Loss", "Forward pass")), page[:300]


@pytest.mark.parametrize("sheet", ["rnn", "rnn_adamw", "2,4,3", "2,4,3-de"])
def test_the_first_tasks_boxes_fit_where_the_room_is_there(tex, tmp_path, capsys, sheet):
    """The heading of the tasks and the first group's boxes go on page 1 whenever they fit there, on a compact
    sheet and on a roomy one; a roomy sheet's frame follows them on that page, or opens page 2 saying whose boxes
    it is for.  These sheets had about 5 cm left under the circuit or the smallest diagram, enough for the boxes
    (a one-unit RNN's 8, a 2-4-3 network's 14) but not for the old estimate of heading, boxes and a spare row:
    their tasks opened page 2.  In German the 2-4-3 sheet's values run a line longer: the boxes fit beside the
    smallest diagram by about 3 pt, which only the legend's measured height (not an estimate of 5 lines for its 3)
    finds."""
    sheet, _, lang = sheet.partition("-")
    if sheet.startswith("2"):
        assert main(["new", "--layers", sheet, "--seed", "1"]) == 0
        spec = tmp_path / "s.toml"
        spec.write_text(capsys.readouterr().out, encoding="utf-8")
        last = "y\u03023 ="  # the first group's last box, ŷ3, as pdftotext spells it (y, combining hat)
    else:
        spec, last = ROOT / "examples" / f"{sheet}.toml", "y3 ="
    tasks, forward, working, apart = (
        ("Zu berechnen", "Vorwärtsdurchlauf", "Nebenrechnung", "Nebenrechnung zu den Kästchen der vorigen Seite")
        if lang else ("What to compute", "Forward pass", "Working", "Working, for the boxes on the previous page"))
    for layout in ("compact", "roomy"):
        exam = build_exam(spec, variants=1, seed=1, lang=lang or "en", layout=layout)
        pages = _pdf_pages(exam.files["questions/v001.tex"].decode("utf-8"), tmp_path / f"{layout}.pdf")
        # (2-4-3: the instructions ask for unrounded working, a line more, and its 14 boxes no longer fit beside
        # the smallest diagram: its tasks open page 2, the boxes with their heading)
        n = 0 if sheet.startswith("rnn") else 1
        on = pages[n]
        assert tasks in on and last in on.split(forward)[-1], (layout, on[-600:])
        if layout == "roomy":  # the frame under the boxes, or opening the next page with its word saying so
            assert working in on.split(last)[-1] or _opens_with_a_frame(pages[n + 1], apart), pages[n + 1][:300]


def _opens_with_a_frame(page: str, working: str = "Working") -> bool:
    """Whether a page's first line under the header is a frame to work in (away from its boxes)."""
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    return len(lines) > 1 and lines[1].startswith(working)


@pytest.mark.parametrize("sheet", ["lecture", "relu", "softmax", "graph_cs231n", "rnn"])
def test_the_first_groups_frame_stays_on_the_page_of_its_boxes_or_says_whose_it_is(tex, tmp_path, capsys, sheet):
    """rv5 6: on four of these five sets the forward pass's boxes ended page 1 and their frame opened page 2,
    a frame alone with nothing to say whose it was.  The first task stays on page 1 with the values and the
    diagram (which shrinks for its frame, but not below a legible size: at its old least, 0.12 of the page, a
    3-3-2 network's weight labels were 3 pt high); the frame follows its boxes on page 1 where at least 2 of its
    lines fit, else it opens page 2 saying "for the boxes on the previous page".  No other page opens with a
    frame."""
    if sheet in ("relu", "softmax"):
        args = ["--activation", "relu", "--seed", "1"] if sheet == "relu" else [
            "--output", "softmax", "--loss", "cross_entropy", "--seed", "2"]
        assert main(["new", "--layers", "3,3,2" if sheet == "relu" else "2,3,2", *args]) == 0
        spec = tmp_path / "s.toml"
        spec.write_text(capsys.readouterr().out, encoding="utf-8")
    else:
        spec = EXAM_SPEC if sheet == "lecture" else ROOT / "examples" / f"{sheet}.toml"
    exam = build_exam(spec, variants=2)
    pages = _pdf_pages(exam.files["questions.tex"].decode("utf-8"), tmp_path / "q.pdf")
    firsts = [n for n, page in enumerate(pages) if "Forward pass" in page]
    assert len(firsts) == 2 and all("exercise sheet" in pages[n].split("Forward pass")[0] for n in firsts)
    apart = "Working, for the boxes on the previous page"
    for n in firsts:
        assert "Working" in pages[n].split("Forward pass")[1] or _opens_with_a_frame(pages[n + 1], apart)
    opening = [n for n, page in enumerate(pages) if _opens_with_a_frame(page)]
    assert all(n - 1 in firsts and _opens_with_a_frame(pages[n], apart) for n in opening), opening
    assert (sheet in ("relu", "softmax", "rnn")) == bool(opening)  # the lecture and the graph keep it on page 1


#: a heading or a group's title as pdftotext prints it: "3    Symbols and equations", "Glossary (what ...)."
HEADING = re.compile(r"^\s*(\d+\s+[A-Z][a-z].*|Glossary \(.*|Forward pass|Gradients|Loss \(before.*|Deltas \(.*|"
                     r"Updated parameters)\s*$")


def _ends_with_heading(page: str) -> str | None:
    """The page's last line (above the footer) when it is a heading or a title, else None."""
    lines = [line for line in page.splitlines() if line.strip() and "Variant 001, page" not in line]
    return lines[-1].strip() if lines and HEADING.match(lines[-1]) else None


def test_no_page_ends_with_a_heading_its_table_left_behind(tex, tmp_path, relu_spec):
    """A longtable may start a page, so a heading or title just above one (the glossary's, the answer table's)
    could stay alone at the foot of the page before: the 3-3-2 relu sheet asking only for gradients ended its
    page 2 with "Symbols and equations" and the glossary's title.  Now each keeps its table's first rows."""
    exam = build_exam(relu_spec, variants=1, seed=1, ask="gradients")
    for name in ("questions/v001.tex", "keys/v001.tex"):
        pages = _pdf_pages(exam.files[name].decode("utf-8"), tmp_path / "d.pdf")
        assert "Glossary (what each symbol means)." in "".join(pages)
        assert [(n, _ends_with_heading(p)) for n, p in enumerate(pages, 1) if _ends_with_heading(p)] == [], name


def test_the_answer_tables_heading_and_note_stay_with_its_rows(tex, tmp_path):
    """The German compact key of the lecture network had ended a page with "11 Lösungstabelle (Variante 001)" and
    its note, the table on the next: the heading, the note and the first rows now share a page."""
    exam = build_exam(None, variants=1, seed=0, lang="de", layout="compact")
    pages = _pdf_pages(exam.files["keys/v001.tex"].decode("utf-8"), tmp_path / "k.pdf")
    page = next(p for p in pages if "Lösungstabelle" in p)
    assert "Vorwärtsdurchlauf" in page.split("Lösungstabelle", 1)[1], page[-400:]
