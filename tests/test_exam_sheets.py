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
    found = re.findall(r"\\textbf\{([^}]*)\}\\par\\nobreak.*?\\examworkingfit\{(\d+)\}", sheet, re.S)
    return {title: int(lines) for title, lines in found}


def test_roomy_sheet_sizes_the_working_space_by_what_each_group_asks(relu_spec):
    """3-3-2: 10 forward values (1 line each), 2 losses (2 each), 5 deltas (1.5 each, 7.5 rounds to 8),
    20 gradients (capped at 16 lines, 12 cm), 20 updates (half a line each); compact: the boxes alone."""
    roomy = build_exam(relu_spec, variants=1, seed=1)
    sheet = roomy.files["questions/v001.tex"].decode("utf-8")
    assert _working_lines(sheet) == {"Forward pass": 10, "Loss (before and after the update)": 4,
                                     "Deltas (error signals)": 8, "Gradients": 16, "Updated parameters": 10}
    compact = build_exam(relu_spec, variants=1, seed=1, layout="compact")
    text = compact.files["questions/v001.tex"].decode("utf-8")
    assert "\\examworkingfit{" not in text
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
    assert "\\examworkingfit{" not in build_exam(spec).files["questions.tex"].decode("utf-8")
    assert "\\examworkingfit{" in build_exam(spec, layout="roomy").files["questions.tex"].decode("utf-8")
    assert main(["exam", str(spec), "--layout", "tight", "-o", str(tmp_path / "set")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layout" in err and "tight" in err and not (tmp_path / "set").exists()


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
    assert "Loss (before and after the update)" in pages[1] and pages[1].index("Working") > pages[1].index("Loss")
    assert "Working" not in pages[1].split("Loss (before")[0]  # page 2 opens with the loss, not a frame
    assert sheet.count("\\examworkingfit{8}" if example != "lecture" else "\\examworkingfit{6}") == 1


LATER_GROUPS = ("Loss (before and after the update)", "Deltas (error signals)", "Gradients", "Updated parameters")


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
            assert any(t in page.split("Working", 1)[0] for t in (*LATER_GROUPS, "Forward pass")), page[:300]


@pytest.mark.parametrize("sheet", ["rnn", "rnn_adamw", "2,4,3", "2,4,3-de"])
def test_the_first_tasks_boxes_fit_where_the_room_is_there(tex, tmp_path, capsys, sheet):
    """The heading of the tasks and the first group's boxes go on page 1 whenever they fit there, however
    little is left for the frame (which then opens page 2).  These sheets had about 5 cm left under the
    circuit or the smallest diagram, enough for the boxes (a one-unit RNN's 8, a 2-4-3 network's 14) but not
    for the old estimate of heading, boxes and a spare row: their tasks opened page 2.  In German the 2-4-3
    sheet's values run a line longer: the boxes fit beside the smallest diagram by about 3 pt, which only the
    legend's measured height (not an estimate of 5 lines for its 3) finds."""
    sheet, _, lang = sheet.partition("-")
    if sheet.startswith("2"):
        assert main(["new", "--layers", sheet, "--seed", "1"]) == 0
        spec = tmp_path / "s.toml"
        spec.write_text(capsys.readouterr().out, encoding="utf-8")
        last = "y\u03023 ="  # the first group's last box, ŷ3, as pdftotext spells it (y, combining hat)
    else:
        spec, last = ROOT / "examples" / f"{sheet}.toml", "y3 ="
    exam = build_exam(spec, variants=1, seed=1, lang=lang or "en")
    pages = _pdf_pages(exam.files["questions/v001.tex"].decode("utf-8"), tmp_path / "q.pdf")
    first = pages[0]
    tasks, forward, working = ("Zu berechnen", "Vorwärtsdurchlauf", "Nebenrechnung") if lang else (
        "What to compute", "Forward pass", "Working")
    assert tasks in first and last in first.split(forward)[-1], first[-600:]
    assert working not in first and pages[1].lstrip().startswith((working, "A small RNN", "Backpropagation"))


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
