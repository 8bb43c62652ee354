"""Moodle XML: parsed with ElementTree and checked against Moodle's documented Cloze structure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from symbackprop.exam.build import build_exam
from symbackprop.exam.lms import tolerance
from symbackprop.exam.variants import asked_values

#: Moodle's embedded-answer syntax for a NUMERICAL subquestion: {weight:NUMERICAL:=answer:tolerance}
CLOZE_NUMERICAL = re.compile(r"\{(\d*):(?:NUMERICAL|NM):=(-?\d+(?:\.\d+)?):(\d+(?:\.\d+)?)\}")
ALL = ("forward", "loss", "deltas", "gradients", "update")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exam():
    return build_exam(None, variants=3, seed=4, moodle=True)


@pytest.fixture(scope="module")
def quiz(exam):
    return ET.fromstring(exam.files["moodle.xml"])


def test_tolerance_is_half_a_unit_of_the_last_decimal():
    assert tolerance(3) == "0.0005"
    assert tolerance(2) == "0.005"
    assert tolerance(0) == "0.5"


def test_structure_follows_moodles_xml_format(quiz, exam):
    assert quiz.tag == "quiz"
    questions = quiz.findall("question")
    assert questions[0].get("type") == "category"
    assert questions[0].find("category/text").text == "$course$/top/symbackprop exam"
    cloze = questions[1:]
    assert [q.get("type") for q in cloze] == ["cloze"] * 3
    for q, v in zip(cloze, exam.variants, strict=True):
        assert q.find("name/text").text == f"Backpropagation - variant {v.label}"
        assert q.find("questiontext").get("format") == "html"
        assert q.find("generalfeedback").get("format") == "html"
        assert q.find("idnumber").text == f"symbackprop-4-{v.label}"
        assert float(q.find("penalty").text) >= 0


def test_every_asked_value_is_a_numerical_subquestion_with_the_tolerance(quiz, exam):
    for q, v in zip(quiz.findall("question")[1:], exam.variants, strict=True):
        text = q.find("questiontext/text").text
        fields = CLOZE_NUMERICAL.findall(text)
        asked = asked_values(v, ALL)
        assert [(w, a, t) for w, a, t in fields] == [("1", item.display, "0.0005") for item in asked]
        for item in asked:
            # the exact value lies within the tolerance of the key: Moodle accepts the careful answer
            exact = v.solution.value(item.name)
            assert abs(exact - Decimal(item.display)) <= Decimal("0.0005")
        # math is in \( \), never in $ ... $
        assert r"\(" in text and "$" not in text.replace("$course$", "")
        assert text.count(r"\(") == text.count(r"\)")


# Moodle's own parser (question/type/multianswer/questiontype.php, qtype_multianswer_extract_question):
# ANSWER_REGEX finds the first subquestion, NUMERICAL_ALTERNATIVE_REGEX splits answer:tolerance, and the
# match is replaced by {#n} before the next search. Ported to Python (PCRE's alternation in a look-behind
# becomes three look-behinds).
_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
_NUMERICAL_ALTERNATIVE = re.compile(rf"^({_NUMBER})(:{_NUMBER})?$", re.S)
_ALT = (r"(=|%(-?[0-9]+(?:[.,][0-9]*)?)%)?(.+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$))"
        r"(#(.*?(?<!\\)(?=[~}]|$)))?")
_TYPES = (r"(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
          r"(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
          r"(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
_ANSWER = re.compile(rf"\{{([0-9]*):({_TYPES}):({_ALT}(~{_ALT})*)\}}", re.S)


def _moodle_alternatives(text: str) -> list[tuple[str, str, str, list[tuple[str, str, str, str]]]]:
    """(weight, type, whole field, [(fraction, answer, tolerance, feedback), ...]) per subquestion, as Moodle's
    importer reads them: its loop over ANSWER_ALTERNATIVE_REGEX, the fraction "1" for "=", else the percent / 100."""
    out = []
    position = 1
    while (match := _ANSWER.search(text)) is not None:
        alternatives, answers = match.group(16), []
        while alternatives:
            alt = re.match(rf"~?{_ALT}", alternatives, re.S)
            assert alt is not None, alternatives
            numbers = _NUMERICAL_ALTERNATIVE.match(alt.group(3))
            assert numbers is not None, alt.group(3)
            fraction = "1" if alt.group(1) == "=" else str(Decimal(alt.group(2)) / 100) if alt.group(2) else "0"
            answers.append((fraction, numbers.group(1), numbers.group(6), alt.group(5) or ""))
            alternatives = alternatives[alt.end():]
        out.append((match.group(1), match.group(2), match.group(0), answers))
        text = text.replace(match.group(0), f"{{#{position}}}", 1)
        position += 1
    return out


def _moodle_subquestions(text: str) -> list[tuple[str, str, str, str]]:
    """(weight, type, answer, tolerance) per subquestion: its one answer, at full marks."""
    out = []
    for weight, kind, _, answers in _moodle_alternatives(text):
        assert len(answers) == 1 and answers[0][0] == "1", answers
        out.append((weight, kind, answers[0][1], answers[0][2]))
    return out


def test_moodles_cloze_parser_reads_every_field(quiz, exam):
    for q, v in zip(quiz.findall("question")[1:], exam.variants, strict=True):
        parsed = _moodle_subquestions(q.find("questiontext/text").text)
        assert parsed == [("1", "NUMERICAL", item.display, "0.0005") for item in asked_values(v, ALL)]


def test_general_feedback_is_the_worked_solution(quiz, exam):
    v = exam.variants[0]
    feedback = quiz.findall("question")[1].find("generalfeedback/text").text
    for item in asked_values(v, ALL):
        assert item.display in feedback
    # the forward line of z_h1 with its numbers: w1 x1 + w2 x2 + b1
    s = v.solution
    assert "z_{h_{1}} = w_{1} x_{1} + w_{2} x_{2} + b_{1}" in feedback
    assert s.display("z_h1") in feedback


def test_no_value_in_the_question_text_outside_the_cloze_fields(quiz, exam):
    for q, v in zip(quiz.findall("question")[1:], exam.variants, strict=True):
        text = CLOZE_NUMERICAL.sub("{}", q.find("questiontext/text").text)
        for item in asked_values(v, ALL):
            assert not re.search(rf"(?<![\d.]){re.escape(item.display)}(?!\d)", text), item.name


def test_roster_names_are_xml_escaped(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text('name\n"<b>Ann & Bob</b> ]]>"\n', encoding="utf-8")
    exam = build_exam(None, seed=1, roster=roster, moodle=True)
    quiz = ET.fromstring(exam.files["moodle.xml"])
    assert quiz.findall("question")[1].find("name/text").text.endswith("<b>Ann & Bob</b> ]]>")


def test_a_value_rounded_as_you_go_gets_the_policys_early_rounding_credit(tmp_path):
    """Where the set's early-rounding rule had to be relaxed (softmax), a value rounded as you go may differ
    from the key: its field takes it as a second answer at the marking policy's credit, with feedback, as
    Moodle's importer reads it; symbackprop verify marks the same value "early rounding" (the marker works
    out the rounded path on its own), and the key's own value still gets full marks."""
    from symbackprop.marking.answers import Answer, Answers
    from symbackprop.marking.verify import mark

    spec = tmp_path / "softmax.toml"
    text = (ROOT / "examples" / "lecture_2out_softmax_ce.toml").read_text(encoding="utf-8")
    spec.write_text(text + "\n[exam.marking]\nearly_rounding = 0.25\n", encoding="utf-8")
    exam = build_exam(spec, variants=4, seed=3, moodle=True)
    assert "early rounding" in exam.report.relaxed
    quiz = ET.fromstring(exam.files["moodle.xml"])
    seconds = 0
    for q, v in zip(quiz.findall("question")[1:], exam.variants, strict=True):
        fields = _moodle_alternatives(q.find("questiontext/text").text)
        asked = asked_values(v, ALL)
        assert len(fields) == len(asked)
        entries = []
        for (_, _, _, answers), item in zip(fields, asked, strict=True):
            assert answers[0] == ("1", item.display, "0.0005", "")
            if len(answers) == 2:
                fraction, rounded, tol, feedback = answers[1]
                assert (fraction, tol) == ("0.25", "0.0005") and rounded == v.early[item.name] != item.display
                assert feedback.startswith("Rounded as you go")
                seconds += 1
            entries.append(Answer(item.name, answers[-1][1], "value"))
        verdicts = {row.name: row.verdict for row in mark(v.solution, Answers(tuple(entries))).rows}
        for (_, _, _, answers), item in zip(fields, asked, strict=True):
            assert verdicts[item.name] == ("early_rounding" if len(answers) == 2 else "correct"), item.name
    assert seconds >= 4  # the softmax set's values do come out otherwise when rounded as you go


def test_a_strict_set_and_a_policy_without_early_credit_have_one_answer_per_field(tmp_path, quiz):
    """The lecture's set keeps its early-rounding rule strict (nothing differs), and a policy that gives early
    rounding no credit adds no second answer."""
    for q in quiz.findall("question")[1:]:
        assert all(len(answers) == 1 for *_, answers in _moodle_alternatives(q.find("questiontext/text").text))
    spec = tmp_path / "softmax.toml"
    text = (ROOT / "examples" / "lecture_2out_softmax_ce.toml").read_text(encoding="utf-8")
    spec.write_text(text + "\n[exam.marking]\nearly_rounding = 0\n", encoding="utf-8")
    xml = build_exam(spec, variants=4, seed=3, moodle=True).files["moodle.xml"].decode()
    assert "~%" not in xml and "NUMERICAL" in xml
