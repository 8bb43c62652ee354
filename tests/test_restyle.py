"""Teachers restyle without touching Python: their template folder goes in front of the shipped one.

The reference is the golden handout (tests/golden/lecture_handout.tex, made without any teacher
folder): a teacher's template changes exactly its own lines, and a folder that changes nothing
(a copy of the shipped set, or templates the handout never asks for) changes no byte.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.documents.render import render_tex, shipped_templates, template_folder
from symbackprop.documents.snippets import forms_of, snippet
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import lecture_text, load_spec

GOLDEN = Path(__file__).resolve().parent / "golden" / "lecture_handout.tex"
SHIPPED = Path(__file__).resolve().parent.parent / "templates"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: the teacher's two changes: the one box macro (every boxed delta, gradient and update) prints its
#: argument plainly, and the summary section gets another title in the words template
BOX_OLD = "\\BLOCK{ macro boxed(x) }\\boxed{\\VAR{x}}\\BLOCK{ endmacro }\n"
BOX_NEW = "\\BLOCK{ macro boxed(x) }\\VAR{x}\\BLOCK{ endmacro }\n"
WORD_OLD, WORD_NEW = '"summary": "Gradient summary"', '"summary": "All gradients at a glance"'
TITLE_OLD, TITLE_NEW = "\\section{Gradient summary}\n", "\\section{All gradients at a glance}\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def restyled_folder(root: Path) -> Path:
    """A teacher folder holding only the two templates the teacher changed."""
    folder = root / "mine"
    (folder / "lang").mkdir(parents=True)
    for name, old, new in (("macros.tex.j2", BOX_OLD, BOX_NEW), ("lang/en.j2", WORD_OLD, WORD_NEW)):
        text = (SHIPPED / name).read_text(encoding="utf-8")
        assert text.count(old) == 1
        (folder / name).write_text(text.replace(old, new), encoding="utf-8")
    return folder


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def unboxed(tex: str) -> str:
    """``tex`` with every ``\\boxed{...}`` replaced by its argument (braces matched)."""
    out, i = [], 0
    while (start := tex.find("\\boxed{", i)) >= 0:
        out.append(tex[i:start])
        depth, j = 1, start + len("\\boxed{")
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            j += 1
        out.append(unboxed(tex[start + len("\\boxed{"):j - 1]))
        i = j
    return "".join(out) + tex[i:]


def test_a_teacher_template_changes_its_lines_and_nothing_else(tmp_path, capsys):
    golden = GOLDEN.read_text(encoding="utf-8")
    assert golden.count(TITLE_OLD) == 1 and golden.count("\\boxed{") > 20  # what the teacher changes
    code, out, err = run(capsys, "worksheet", "-o", str(tmp_path / "out"), "--templates",
                         str(restyled_folder(tmp_path)))
    assert (code, err) == (0, "") and out.split() == [str(tmp_path / "out" / "lecture.tex")]
    restyled = (tmp_path / "out" / "lecture.tex").read_text(encoding="utf-8")
    assert "\\boxed" not in restyled and restyled.count(TITLE_NEW) == 1
    assert restyled == unboxed(golden).replace(TITLE_OLD, TITLE_NEW)
    removed, added = changed_lines(golden, restyled)
    assert len(removed) == len(added) > 10 and all("\\boxed{" in line for line in removed if line != TITLE_OLD)


def test_the_markdown_box_is_one_macro_too(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    text = (SHIPPED / "macros.md.j2").read_text(encoding="utf-8")
    old = "{% macro boxed(x) %}\\boxed{{ '{' }}{{ x }}{{ '}' }}{% endmacro %}"
    assert text.count(old) == 1
    (folder / "macros.md.j2").write_text(text.replace(old, "{% macro boxed(x) %}{{ x }}{% endmacro %}"))
    run(capsys, "worksheet", "-o", str(tmp_path / "plain"), "--format", "md")
    run(capsys, "worksheet", "-o", str(tmp_path / "out"), "--format", "md", "--templates", str(folder))
    plain = (tmp_path / "plain" / "lecture.md").read_text(encoding="utf-8")
    assert plain.count("\\boxed{") > 20
    assert (tmp_path / "out" / "lecture.md").read_text(encoding="utf-8") == unboxed(plain)


def test_the_deck_and_the_snippets_box_through_the_one_macro_too(tmp_path, capsys):
    """The slides' boxed results and updates, and a snippet's expanded chain, are drawn by the templates:
    without boxes the deck is the shipped deck unboxed, line for line."""
    folder = restyled_folder(tmp_path)
    run(capsys, "slides", "-o", str(tmp_path / "plain"))
    run(capsys, "slides", "-o", str(tmp_path / "out"), "--templates", str(folder))
    plain = (tmp_path / "plain" / "lecture-slides.tex").read_text(encoding="utf-8")
    assert plain.count("\\boxed{") > 15
    assert (tmp_path / "out" / "lecture-slides.tex").read_text(encoding="utf-8") == unboxed(plain)
    s = solve()
    shipped = [snippet(s, name, form).latex for name in ("dE/dw5", "dE/dw1", "E") for form in forms_of(s, name)]
    assert sum(text.count("\\boxed{") for text in shipped) == 6  # three symbolic, three numeric
    with template_folder(folder):
        assert [snippet(s, name, form).latex for name in ("dE/dw5", "dE/dw1", "E")
                for form in forms_of(s, name)] == [unboxed(text) for text in shipped]


def test_the_restyled_handout_compiles_without_boxes(tmp_path, capsys, tex):
    from symbackprop.io.pdf import compile_pdf

    run(capsys, "worksheet", "-o", str(tmp_path / "out"), "--templates", str(restyled_folder(tmp_path)))
    pdf = compile_pdf((tmp_path / "out" / "lecture.tex").read_text(encoding="utf-8"), tmp_path / "restyled.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    assert "All gradients at a glance" in text and "Gradient summary" not in text


def test_templates_the_folder_lacks_come_from_the_shipped_set(tmp_path, capsys):
    """A folder of unrelated files (and a template nobody includes) renders the golden handout."""
    folder = tmp_path / "mine"
    (folder / "handout").mkdir(parents=True)
    (folder / "handout" / "99_unknown.tex.j2").write_text("\\section{never used}\n", encoding="utf-8")
    (folder / "notes.txt").write_text("my ideas\n", encoding="utf-8")
    code, _, err = run(capsys, "worksheet", "-o", str(tmp_path / "out"), "--templates", str(folder))
    assert (code, err) == (0, "")
    assert (tmp_path / "out" / "lecture.tex").read_bytes() == GOLDEN.read_bytes()


def test_the_folder_is_in_front_only_inside_its_scope(tmp_path):
    (tmp_path / "_test_minimal.tex.j2").write_text("mine: \\VAR{title}\n", encoding="utf-8")
    shipped = render_tex("_test_minimal.tex.j2", title="a_b", items=[])
    with template_folder(tmp_path):
        assert render_tex("_test_minimal.tex.j2", title="a_b", items=[]) == "mine: a\\_b\n"  # still escaped
        with template_folder(None):  # None keeps the folder in front
            assert render_tex("_test_minimal.tex.j2", title="a_b", items=[]) == "mine: a\\_b\n"
    assert render_tex("_test_minimal.tex.j2", title="a_b", items=[]) == shipped != "mine: a\\_b\n"


@pytest.mark.parametrize("command", [
    ["worksheet"], ["slides"], ["snippet", "dE/dw1"], ["exam"], ["verify", "answers.toml", "-o", "r.tex"]])
def test_a_bad_folder_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    for bad in ("nowhere", "a-file"):
        code, out, err = run(capsys, *command, "--templates", bad)
        assert (code, out) == (2, "")
        assert err == f"symbackprop: error: --templates {bad}: no such folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written


@pytest.mark.parametrize("retired", ["lms/qti_question.html.j2", "lms/words.html.j2"])
def test_a_folder_with_a_template_no_longer_used_is_refused_in_one_line(tmp_path, capsys, retired):
    """A teacher's copy of a template an earlier version shipped would silently not apply: the run names it and
    where its text lives now, and writes nothing."""
    folder = tmp_path / "mine"
    (folder / retired).parent.mkdir(parents=True)
    (folder / retired).write_text("my words\n", encoding="utf-8")
    for command in (["exam", "--qti", "-o", str(tmp_path / "set")], ["worksheet", "-o", str(tmp_path / "out")]):
        code, out, err = run(capsys, *command, "--templates", str(folder))
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and f"{retired} is no longer used" in err and "now); move your changes" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def spec_with(tmp_path: Path, table: str) -> Path:
    spec = tmp_path / "course" / "net.toml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(lecture_text() + "\n[templates]\n" + table, encoding="utf-8")
    return spec


def test_the_spec_setting_is_relative_to_the_spec_and_the_flag_wins(tmp_path, capsys, monkeypatch):
    spec = spec_with(tmp_path, 'dir = "mine"\n')
    shutil.move(restyled_folder(tmp_path), tmp_path / "course" / "mine")
    monkeypatch.chdir(tmp_path)  # not the spec's folder: the setting is still found
    assert load_spec(spec).templates == spec.parent / "mine"
    code, _, err = run(capsys, "worksheet", str(spec), "-o", "a")
    assert (code, err) == (0, "")
    assert TITLE_NEW in (tmp_path / "a" / "net.tex").read_text(encoding="utf-8")
    (tmp_path / "plain").mkdir()  # an empty teacher folder: the flag wins, so the shipped look
    code, _, err = run(capsys, "worksheet", str(spec), "-o", "b", "--templates", "plain")
    assert (code, err) == (0, "")
    assert TITLE_OLD in (tmp_path / "b" / "net.tex").read_text(encoding="utf-8")


@pytest.mark.parametrize(("table", "problem"), [
    ('dir = "missing"\n', "templates.dir: 'missing' is not a folder (looked for "),
    ("dir = 3\n", "templates.dir: must be a string, got 3"),
    ('folder = "x"\n', "templates.folder: unknown field (expected one of: dir, lang)"),
    ('lang = "fr"\n', "templates.lang: unknown language 'fr' (known: de, en)"),
    ('lang = "../x"\n', "templates.lang: '../x' is not a language code (like en or de)"),
    ("lang = 7\n", "templates.lang: must be a string, got 7"),
])
def test_a_bad_templates_setting_names_the_field(tmp_path, capsys, table, problem):
    spec = spec_with(tmp_path, table)
    code, out, err = run(capsys, "worksheet", str(spec), "-o", str(tmp_path / "out"))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"symbackprop: error: {spec}: {problem}")
    assert not (tmp_path / "out").exists()


def test_copy_round_trip_gives_the_same_bytes(tmp_path, capsys):
    copy = tmp_path / "copy"
    code, out, err = run(capsys, "templates", "--copy", str(copy))
    assert (code, err) == (0, "")
    names = sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.j2") if not p.name.startswith("_"))
    assert out.split() == [str(copy / name) for name in names] and len(names) == len(shipped_templates()) > 30
    for name in names:
        assert (copy / name).read_bytes() == (SHIPPED / name).read_bytes(), name
    code, _, err = run(capsys, "worksheet", "-o", str(tmp_path / "out"), "--templates", str(copy))
    assert (code, err) == (0, "")
    assert (tmp_path / "out" / "lecture.tex").read_bytes() == GOLDEN.read_bytes()
    for folder, extra in (("plain", []), ("copied", ["--templates", str(copy)])):
        assert run(capsys, "slides", "-o", str(tmp_path / folder), *extra)[0] == 0
    assert (tmp_path / "copied" / "lecture-slides.tex").read_bytes() == \
        (tmp_path / "plain" / "lecture-slides.tex").read_bytes()


def test_copy_refuses_a_folder_with_files(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.tex.j2").write_text("keep me\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    for target, what in (("full", "is not empty"), ("a-file", "is a file")):
        code, out, err = run(capsys, "templates", "--copy", str(tmp_path / target))
        assert (code, out) == (2, "")
        assert err == f"symbackprop: error: --copy {tmp_path / target}: {what}; give a new or empty folder\n"
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["mine.tex.j2"]
    (tmp_path / "empty").mkdir()
    assert run(capsys, "templates", "--copy", str(tmp_path / "empty"))[0] == 0


@pytest.mark.parametrize(("command", "written"), [
    (["worksheet", "-o", "out"], "out/lecture.tex"),
    (["slides", "-o", "out"], "out/lecture-slides.tex"),
    (["exam", "-o", "out"], "out/questions.tex"),
    (["verify", str(EXAMPLES / "lecture_printed_answers.toml"), "-o", "out/report.tex"], "out/report.tex"),
])
def test_every_rendering_command_reads_the_teacher_folder(tmp_path, capsys, monkeypatch, command, written):
    """The shared font block, overridden once, shows in every whole document each command writes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    fonts = (SHIPPED / "fonts.tex.j2").read_text(encoding="utf-8")
    (tmp_path / "mine" / "fonts.tex.j2").write_text("% the teacher's fonts\n" + fonts, encoding="utf-8")
    code, _, err = run(capsys, *command, "--templates", "mine")
    assert code in (0, 1) and err == ""  # verify: 1 when the answers have mistakes
    assert "\n% the teacher's fonts\n" in (tmp_path / written).read_text(encoding="utf-8")


def test_a_snippet_picture_takes_the_teacher_page(tmp_path, capsys, monkeypatch, tex):
    """snippet --format svg compiles the teacher's standalone page: here, red formulas."""
    monkeypatch.chdir(tmp_path)
    page = (SHIPPED / "snippet_standalone.tex.j2").read_text(encoding="utf-8")
    red = page.replace("{amsmath,amssymb}", "{amsmath,amssymb,xcolor}")
    red = red.replace("$\\displaystyle", "\\color{red}$\\displaystyle")
    assert red.count("xcolor") == 1 and red.count("\\color{red}") == 1
    (tmp_path / "red").mkdir()
    (tmp_path / "red" / "snippet_standalone.tex.j2").write_text(red, encoding="utf-8")
    for name, extra in (("plain.svg", []), ("red.svg", ["--templates", "red"])):
        assert run(capsys, "snippet", "dE/dw5", "--format", "svg", "-o", name, *extra)[0] == 0
    assert "fill:rgb(100%,0%,0%)" in (tmp_path / "red.svg").read_text(encoding="utf-8")
    assert "fill:rgb(100%,0%,0%)" not in (tmp_path / "plain.svg").read_text(encoding="utf-8")


def test_exam_and_report_words_come_from_the_templates(tmp_path, capsys, monkeypatch):
    """A translation is a template set: the group titles of the sheets and keys (the words file), the LMS
    texts, and the verdicts."""
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    for name in ("lang/en.j2", "lms/lang/en.html.j2", "lang/marking/en.j2"):
        text = (SHIPPED / name).read_text(encoding="utf-8")
        changed = text.replace('"Gradients"', '"Gradienten"').replace('"early rounding"', '"zu früh gerundet"')
        assert changed != text
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (mine / name).write_text(changed, encoding="utf-8")
    for folder, extra in (("plain", []), ("de", ["--templates", "mine"])):
        assert run(capsys, "exam", "--variants", "2", "--moodle", "--qti", "-o", folder, *extra)[0] == 0
    for name in ("questions.tex", "keys.tex", "moodle.xml"):
        before = (tmp_path / "plain" / name).read_text(encoding="utf-8")
        removed, added = changed_lines(before, (tmp_path / "de" / name).read_text(encoding="utf-8"))
        assert removed and [line.replace("Gradienten", "Gradients") for line in added] == removed, name
    assert (tmp_path / "plain" / "canvas-qti.zip").read_bytes() != (tmp_path / "de" / "canvas-qti.zip").read_bytes()
    answers = str(EXAMPLES / "lecture_printed_answers.toml")
    assert run(capsys, "verify", answers, "-o", "report.tex", "--templates", "mine")[0] == 1
    report = Path("report.tex").read_text(encoding="utf-8")
    assert "zu früh gerundet: 4" in report and report.count(r"\textbf{zu früh gerundet}") == 4
    code, out, _ = run(capsys, "verify", answers, "--templates", "mine")
    assert code == 1 and out.splitlines()[-1].endswith("61 correct, 4 zu früh gerundet (The lecture's printed values)")
    assert sum(" zu früh gerundet " in line for line in out.splitlines()[:-1]) == 4  # the table's rows


def test_a_teachers_folder_compiles_only_its_own_templates(tmp_path, monkeypatch):
    """The shipped templates are compiled once a process whatever folder is in front (their code is shared by
    name, file and text); the teacher's own, and an edited one, are compiled and used."""
    import jinja2

    from symbackprop.documents.render import latex_environment

    compiled: list[str | None] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return original(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    latex_environment(None).get_template("macros.tex.j2")  # compiled here, or earlier in this process
    for k, text in enumerate(("Mine", "Mine, edited")):
        folder = tmp_path / str(k)
        (folder / "handout").mkdir(parents=True)
        (folder / "handout" / "08_summary.tex.j2").write_text(text)
        env = latex_environment(folder)
        compiled.clear()
        env.get_template("macros.tex.j2")
        assert compiled == []
        assert env.get_template("handout/08_summary.tex.j2").render() == text
        assert compiled == ["handout/08_summary.tex.j2"]


def test_a_words_file_copied_before_a_macro_was_added_takes_the_shipped_one(tmp_path, capsys):
    """A teacher's lang/en.j2 copied by an earlier version lacks macros added since (this session's
    ``working_apart``); the exam sheets had stopped with a Jinja2 traceback.  The shipped file's macro now says
    what the copy leaves out, and the teacher's own words still win."""
    folder = tmp_path / "mine"
    assert run(capsys, "templates", "--copy", str(folder))[0] == 0
    words = folder / "lang" / "en.j2"
    text = words.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines(keepends=True) if "macro working_apart" not in line]
    assert len(kept) == len(text.splitlines()) - 1
    words.write_text("".join(kept).replace("}Working\\BLOCK", "}Scratch\\BLOCK"), encoding="utf-8")
    code, _, err = run(capsys, "exam", "--variants", "1", "--seed", "1", "--templates", str(folder),
                       "-o", str(tmp_path / "set"))
    assert (code, err) == (0, "")
    sheet = (tmp_path / "set" / "questions" / "v001.tex").read_text(encoding="utf-8")
    assert "{Scratch}" in sheet and "Working, for the boxes on the previous page" in sheet


@pytest.mark.parametrize(("edit", "problem"), [
    ("\\section{\\VAR{ nosuchthing }", "handout/01_problem.tex.j2, line 1: 'nosuchthing' is undefined"),
    ("\\BLOCK{ if }\\section{", "handout/01_problem.tex.j2, line 1: Expected an expression"),
])
def test_an_error_in_a_teachers_template_is_one_line_and_writes_nothing(tmp_path, capsys, edit, problem):
    """A teacher's template with an undefined name or a syntax error had stopped with a Jinja2 traceback: it is one
    line naming the template and its line, exit 2, and no output folder."""
    folder = tmp_path / "mine"
    assert run(capsys, "templates", "--copy", str(folder))[0] == 0
    page = folder / "handout" / "01_problem.tex.j2"
    page.write_text(page.read_text(encoding="utf-8").replace("\\section{", edit, 1), encoding="utf-8")
    code, out, err = run(capsys, "worksheet", "--templates", str(folder), "-o", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and problem in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_a_words_table_copied_before_a_key_was_added_takes_the_shipped_key(tmp_path, capsys):
    """A copy of lang/en.j2 whose exam_groups has no "after" (the loss after the update, asked on its own since this
    session): the shipped table fills in that key, the teacher's other group titles stay; a macro whose copy takes
    fewer arguments than the code now passes is one line naming it, not a traceback."""
    folder = tmp_path / "mine"
    assert run(capsys, "templates", "--copy", str(folder))[0] == 0
    words = folder / "lang" / "en.j2"
    text = words.read_text(encoding="utf-8")
    old = ', "after": "Loss after the update"} }'
    assert old in text
    words.write_text(text.replace(old, "} }").replace('"gradients": "Gradients"', '"gradients": "Slopes"'),
                     encoding="utf-8")
    code, _, err = run(capsys, "exam", "--variants", "1", "--seed", "1", "--templates", str(folder),
                       "-o", str(tmp_path / "set"))
    assert (code, err) == (0, "")
    sheet = (tmp_path / "set" / "questions" / "v001.tex").read_text(encoding="utf-8")
    assert "Loss after the update" in sheet and "{Slopes}" in sheet and "{Gradients}" not in sheet
    older = tmp_path / "older"  # (another folder: this process keeps the first one's words as it read them)
    assert run(capsys, "templates", "--copy", str(older))[0] == 0
    (older / "lang" / "en.j2").write_text(
        text.replace("macro gloss_pre_activations(l, L, n=2)", "macro gloss_pre_activations(l, L)"), encoding="utf-8")
    code, _, err = run(capsys, "worksheet", "--templates", str(older), "-o", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and "macro 'gloss_pre_activations' takes not more than 2" in err
    assert not (tmp_path / "out").exists()
