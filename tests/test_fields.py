"""The spec and its [exam] table read their fields through one set of typed getters: the same bad
value gets the same words wherever it is written (only the field's name differs)."""

from __future__ import annotations

import re

import pytest

from symbackprop.engine.spec import lecture_text, loads_spec
from symbackprop.errors import SymbackpropError

#: (a top-level spec field, an [exam] field) of one type, and bad values for it
CASES = [
    ("decimals", "max_draws", ['"3"', "true", "2.5"]),
    ("steps", "max_draws", ["0", "1000001"]),
    ("title", "ask", ["3"]),
]


def _problem(text: str) -> str:
    with pytest.raises(SymbackpropError) as caught:
        loads_spec(text, source="s.toml")
    return str(caught.value)


def _without(text: str, key: str) -> str:
    return re.sub(rf"^{key} = .*\n", "", text, flags=re.M)


@pytest.mark.parametrize("spec_field, exam_field, bad", CASES)
def test_one_bad_value_one_wording_in_the_spec_and_its_exam_table(spec_field, exam_field, bad):
    for value in bad:
        top = _problem(f"{spec_field} = {value}\n" + _without(lecture_text(), spec_field))
        exam = _problem(lecture_text() + f"\n[exam]\n{exam_field} = {value}\n")
        assert top.startswith(f"s.toml: {spec_field}: ") and exam.startswith(f"s.toml: exam.{exam_field}: ")
        problem = top.split(": ", 2)[2]
        if exam_field == "ask":  # a list field: the same words for a value that is not a list of strings
            assert exam.split(": ", 2)[2].startswith("must be a list of strings"), exam
            continue
        if spec_field == "steps":  # the bounds differ, the wording does not
            problem = re.sub(r"\d+ and \d+", "1 and 1000000", problem)
        assert exam.split(": ", 2)[2] == problem, (top, exam)


def test_unknown_fields_are_worded_alike():
    top = _problem("colour = 1\n" + lecture_text())
    exam = _problem(lecture_text() + "\n[exam]\ncolour = 1\n")
    assert top.split(": ", 2)[2].split(" (")[0] == exam.split(": ", 2)[2].split(" (")[0] == "unknown field"
