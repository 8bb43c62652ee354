"""Tests for symbackprop.marking.answers: the text as written survives, every file-level problem is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbackprop.errors import AnswerError
from symbackprop.marking.answers import Answer, classify, load_answers, loads_csv, loads_toml

ROOT = Path(__file__).resolve().parent.parent


def entries(text: str) -> list[tuple[str, str, str]]:
    return [(a.name, a.text, a.form) for a in loads_toml(text).entries]


# -- TOML -------------------------------------------------------------------------

def test_strings_keep_trailing_zeros_and_are_classified():
    assert entries('z_h1 = "0.378"\n"dE/dw5" = "0.030"\nh1 = "sigma(z_h1)"\n') == [
        ("z_h1", "0.378", "value"), ("dE/dw5", "0.030", "value"), ("h1", "sigma(z_h1)", "formula")]


def test_bare_toml_numbers_keep_their_text():
    # parse_float=str: 0.030 must not become 0.03
    assert entries("E = 0.030\nz_o = 1.10\nb = 7\nc = 2.26e-4\n") == [
        ("E", "0.030", "value"), ("z_o", "1.10", "value"), ("b", "7", "value"), ("c", "2.26e-4", "value")]


def test_sections_allow_a_value_and_a_formula_for_one_name():
    text = '[values]\n"dE/dz_o" = "0.047"\n[formulas]\n"dE/dz_o" = "(yhat - t)*yhat*(1 - yhat)"\n'
    assert entries(text) == [("dE/dz_o", "0.047", "value"), ("dE/dz_o", "(yhat - t)*yhat*(1 - yhat)", "formula")]


def test_sections_force_the_form():
    # a number under [formulas] is a (constant) formula; a word under [values] a value (marked invalid later)
    assert entries('[formulas]\nt = "0.5"\n[values]\nh1 = "sigma(z_h1)"\n') == [
        ("t", "0.5", "formula"), ("h1", "sigma(z_h1)", "value")]


def test_sheet_fields():
    answers = loads_toml('[sheet]\nstudent = "A. Student"\ntitle = "Quiz 3"\n[values]\nt = "0.5"\n')
    assert (answers.sheet.student, answers.sheet.title) == ("A. Student", "Quiz 3")


@pytest.mark.parametrize("text, message", [
    ("z_h1 = ", "not valid TOML"),
    ("z_h1 = true", "true/false is not an answer"),
    ("z_h1 = [1, 2]", "a list is not an answer"),
    ("[z_h1]\na = 1", "is a table"),
    ('[sheet]\nteacher = "x"\nt = "1"', "[sheet] has no field 'teacher'"),
    ("", "no answers found"),
    ('t = "0.5"\n[values]\nt = "0.50"', "'t' has two values"),
])
def test_toml_problems_are_one_line_errors(text, message):
    with pytest.raises(AnswerError, match=None) as err:
        loads_toml(text, "sheet.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("sheet.toml: ")
    assert "\n" not in str(err.value)


# -- CSV --------------------------------------------------------------------------

def test_csv_with_header_comments_and_kinds():
    answers = loads_csv('name,answer\n# forward pass\nz_h1,0.378\nh1,sigma(z_h1)\n"dE/dw5","0.030",value\n'
                        'dE/db3,dE/dz_o,formula\n')
    assert [(a.name, a.text, a.form) for a in answers.entries] == [
        ("z_h1", "0.378", "value"), ("h1", "sigma(z_h1)", "formula"), ("dE/dw5", "0.030", "value"),
        ("dE/db3", "dE/dz_o", "formula")]


@pytest.mark.parametrize("text, message", [
    ("z_h1\n", "expected name,answer[,kind], got 1 cell"),
    ("z_h1,0.378,number\n", "kind must be value or formula"),
    # a newline inside quotes would join "0.3" and "78" into 0.378, marked right
    ('name,answer\nz_h1,"0.3\n78"\nh1,0.593\n', "row 2: a quoted cell is not closed on its line"),
    ('z_h1,"0.3\r\n78"\n', "row 1: a quoted cell is not closed on its line"),
    ('z_h1,"0.378\n', "row 1: a quoted cell is not closed on its line"),
    ('z_h1,0.378\nh1,"0.5\n', "row 2: a quoted cell is not closed on its line"),
    ('z_h1,"0.3"78\n', "row 1: not valid CSV"),
])
def test_csv_problems(text, message):
    with pytest.raises(AnswerError) as err:
        loads_csv(text, "sheet.csv")
    assert message in str(err.value)
    assert str(err.value).startswith("sheet.csv: ") and "\n" not in str(err.value)


def test_csv_quoted_commas_and_quotes_on_one_line_still_read():
    answers = loads_csv('"dE/dw5","0.030"\nh1,"sigma(z_h1, 1)"\nx,"a""b"\n')
    assert [a.text for a in answers.entries] == ["0.030", "sigma(z_h1, 1)", 'a"b']


# -- files ------------------------------------------------------------------------

def test_load_by_suffix(tmp_path):
    (tmp_path / "a.csv").write_text("z_h1,0.378\n", encoding="utf-8")
    (tmp_path / "a.toml").write_text('z_h1 = "0.378"\n', encoding="utf-8")
    assert load_answers(tmp_path / "a.csv").entries == (Answer("z_h1", "0.378", "value", "row 1"),)
    assert load_answers(tmp_path / "a.toml").entries == (Answer("z_h1", "0.378", "value"),)


def test_binary_file(tmp_path):
    path = tmp_path / "photo.toml"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(AnswerError, match="a binary file"):
        load_answers(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('z_h1 = "0.378" # café'.encode("latin-1"))
    with pytest.raises(AnswerError, match="not UTF-8"):
        load_answers(path)


def test_ten_megabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text('h1 = "' + "x" * 10_000_000 + '"\n', encoding="utf-8")
    with pytest.raises(AnswerError, match="at most 1,000,000"):
        load_answers(path)


def test_missing_file(tmp_path):
    with pytest.raises(AnswerError, match="nope.toml: no such answers file"):
        load_answers(tmp_path / "nope.toml")


def test_the_shipped_example_reads():
    answers = load_answers(ROOT / "examples" / "lecture_printed_answers.toml")
    values = {a.name: a.text for a in answers.entries if a.form == "value"}
    assert values["dE/dw2"] == "0.001" and values["b2'"] == "0.348" and values["E'"] == "0.030"
    assert sum(a.form == "formula" for a in answers.entries) >= 10


@pytest.mark.parametrize("text, form", [
    ("0.378", "value"), ("-0.5", "value"), (".5", "value"), ("2.26e-4", "value"), ("nan", "value"),
    ("Infinity", "value"), ("yhat - t", "formula"), ("sigma(z_h1)", "formula"), ("1/2", "formula"),
    ("e", "formula"),
])
def test_classify(text, form):
    assert classify(text) == form


def test_csv_rows_are_numbered_by_the_files_lines():
    """Comment and blank lines count, as an editor shows them (the 5th line was "row 2"); one cell, not "1 cells"."""
    with pytest.raises(AnswerError, match=r"^a.csv: row 5: expected name,answer\[,kind\], got 1 cell$"):
        loads_csv("# c1\n# c2\n\nname,answer\nyhat\n", "a.csv")
    assert loads_csv("# c\nz_h1,0.378\n", "a.csv").entries[0].where == "row 2"
