"""Tests for symbackprop.marking.verify: marking against the lecture's printed values and hand arithmetic.

References are independent of the code under test: the numbers the reference lecture prints,
and arithmetic done by hand (written out next to each case) or with Python's decimal module.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from decimal import Decimal, getcontext
from pathlib import Path

import pytest
import sympy
from example_specs import network_specs

from symbackprop import cli
from symbackprop.documents.render import tex_prose
from symbackprop.engine.solution import solve
from symbackprop.marking.answers import Answer, Answers, Sheet, load_answers
from symbackprop.marking.reports import report_data, report_json, report_tex, report_text, typed_pieces
from symbackprop.marking.verify import Report, _Marker, _text, mark

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "lecture_printed_answers.toml"


@pytest.fixture(scope="module")
def lecture():
    return solve(None, prove=False)


def marked(solution, *entries: tuple[str, str, str]) -> Report:
    return mark(solution, Answers(tuple(Answer(n, t, f) for n, t, f in entries)))


def one(solution, name: str, text: str, form: str = "value"):
    (row,) = marked(solution, (name, text, form)).rows
    return row


# -- the lecture's own printed values ---------------------------------------------------

#: The lecture's values that come from rounding intermediates, with the full-precision display.
EARLY_ROUNDING = {"dE/dw2": ("0.001", "0.000"), "b2'": ("0.348", "0.347"), "z_h1'": ("0.376", "0.375"),
                  "z_o'": ("1.066", "1.065")}


def test_lecture_printed_values(lecture):
    report = mark(lecture, load_answers(EXAMPLE))
    values = {r.name: r for r in report.rows if r.form == "value"}
    assert len(values) == 51
    for name, (given, full) in EARLY_ROUNDING.items():
        assert (values[name].given, values[name].expected, values[name].verdict) == (given, full, "early_rounding")
        assert f"full precision gives {full}" in values[name].why
    for name, row in values.items():
        if name not in EARLY_ROUNDING:
            assert row.verdict == "correct", (name, row)
    # a few printed values, checked against the lecture's text
    assert (values["E'"].given, values["E'"].expected) == ("0.030", "0.030")
    assert (values["dE/dz_o"].given, values["dE/dz_o"].expected) == ("0.047", "0.047")
    assert all(r.verdict == "correct" and r.why == "" for r in report.rows if r.form == "formula")
    assert report.counts["early_rounding"] == 4
    assert report.exit_code == 1  # early rounding is not full marks


def test_the_rounded_path_is_the_lectures_arithmetic(lecture):
    path = _Marker(lecture).rounded_path
    index = _Marker(lecture).index
    # z_h1 = 0.15(0.05) + 0.20(0.10) + 0.35 = 0.3775 -> 0.378; dE/dz_h1 = 0.019 * 0.241 -> 0.005
    assert path[index["z_h1"]] == Decimal("0.378")
    assert path[index["dE/dz_h1"]] == Decimal("0.005")
    # dE/dw2 = 0.005 * 0.10 = 0.0005 -> 0.001 (half-up); b2' = 0.35 - 0.50(0.005) = 0.3475 -> 0.348
    assert path[index["dE/dw2"]] == Decimal("0.001")
    assert path[index["b2'"]] == Decimal("0.348")
    # z_h1' = 0.150(0.05) + 0.200(0.10) + 0.348 = 0.3755 -> 0.376
    assert path[index["z_h1'"]] == Decimal("0.376")


# -- decimals -------------------------------------------------------------------------------

@pytest.mark.parametrize("given, verdict", [
    # dE/dw5 = 0.0278593161...
    ("0.028", "correct"), ("0.0279", "correct"), ("0.02786", "correct"), ("2.786e-2", "correct"),
    ("2.79 x 10^-2", "correct"), ("0.03", "too_few_decimals"), ("3e-2", "too_few_decimals"),
    ("0.0278", "wrong"), ("0.027", "wrong"), ("0.03000", "wrong"),
])
def test_decimals_written_decide(lecture, given, verdict):
    assert one(lecture, "dE/dw5", given).verdict == verdict


def test_too_few_decimals_says_so(lecture):
    row = one(lecture, "dE/dw5", "0.03")
    assert row.why == "2 decimals given, 3 asked; 0.028 at full precision"


@pytest.mark.parametrize("name, given, verdict", [
    ("z_h1", "0.3775", "correct"),  # exact: 0.15(0.05) + 0.20(0.10) + 0.35
    ("z_h1", "0.377500", "correct"),
    ("z_h1", "0.38", "too_few_decimals"),
    ("z_h2", "0.393", "correct"),  # 0.3925 half-up (ties-to-even would give 0.392)
    ("z_h2", "0.392", "wrong"),
    ("x1", "0.05", "correct"),  # a given value, written exactly
    ("t", "0.5", "correct"),
    ("w1", "0.16", "wrong"),
])
def test_exact_values_and_half_up(lecture, name, given, verdict):
    assert one(lecture, name, given).verdict == verdict


def test_expected_is_shown_at_the_students_decimals(lecture):
    assert one(lecture, "h1", "0.59").expected == "0.593"
    assert one(lecture, "h1", "0.5933").expected == "0.5933"  # sigma(0.3775) = 0.59326999...


# -- carried forward --------------------------------------------------------------------------

def test_error_carried_forward(lecture):
    report = marked(lecture, ("dE/dz_o", "0.050", "value"),
                    ("dE/dw5", "0.030", "value"),  # 0.050 x 0.5933 = 0.02966 -> 0.030 (true 0.028)
                    ("dE/dh1", "0.020", "value"),  # 0.050 x 0.40 = 0.020 (true 0.019)
                    ("b3'", "0.575", "value"))  # 0.60 - 0.50 x 0.050 = 0.575 (true 0.577)
    verdicts = {r.name: (r.verdict, r.why) for r in report.rows}
    assert verdicts["dE/dz_o"][0] == "wrong"
    for name in ("dE/dw5", "dE/dh1", "b3'"):
        verdict, why = verdicts[name]
        assert verdict == "carried_forward", name
        assert "dE/dz_o = 0.050" in why


def test_carried_forward_needs_the_right_method(lecture):
    # 0.050 x 0.45 = 0.0225 -> 0.023: dE/dh1 from the wrong delta *and* the wrong weight is wrong
    report = marked(lecture, ("dE/dz_o", "0.050", "value"), ("dE/dh1", "0.023", "value"))
    assert [r.verdict for r in report.rows] == ["wrong", "wrong"]


def test_rounded_but_right_operands_are_early_rounding_not_carried_forward(lecture):
    # dE/dz_h1 = 0.005 is right; 0.005 x 0.10 = 0.0005 -> 0.001
    report = marked(lecture, ("dE/dz_h1", "0.005", "value"), ("dE/dw2", "0.001", "value"))
    assert [r.verdict for r in report.rows] == ["correct", "early_rounding"]


def test_intermediates_rounded_to_the_students_own_decimals(lecture):
    # at 2 decimals throughout: z_h1 = 0.38, h1 = 0.59, z_o = 0.40(0.59) + 0.45(0.60) + 0.60 = 1.106 -> 1.11
    row = one(lecture, "z_o", "1.11")
    assert row.verdict in ("too_few_decimals", "early_rounding")


# -- diagnoses ----------------------------------------------------------------------------------

getcontext().prec = 60


def sig(x: Decimal) -> Decimal:
    return 1 / (1 + (-x).exp())


def test_sigma_of_a_reference():
    # the reference for the sigma'(a) case below, by Python's decimal module alone
    h1 = sig(Decimal("0.3775"))
    yhat = sig(Decimal("0.40") * h1 + Decimal("0.45") * sig(Decimal("0.3925")) + Decimal("0.60"))
    d_h1 = (yhat - Decimal("0.5")) * yhat * (1 - yhat) * Decimal("0.40")
    wrong = d_h1 * sig(h1) * (1 - sig(h1))
    assert round(wrong, 3) == Decimal("0.004") and round(d_h1 * h1 * (1 - h1), 3) == Decimal("0.005")


@pytest.mark.parametrize("name, given, why", [
    ("dE/dw6", "-0.028", "sign flipped (expected 0.028)"),
    # 0.047 x 0.45 = 0.0211 -> 0.021 (true 0.019)
    ("dE/dh1", "0.021", "w6 used instead of w5 in dE/dh1"),
    # delta without h1(1 - h1): 0.0188 -> 0.019 (true 0.005)
    ("dE/dz_h1", "0.019", "the activation slope h1*(1 - h1) is missing from dE/dz_h1"),
    # sigma(h1)(1 - sigma(h1)) = 0.229: 0.0188 x 0.229 = 0.0043 -> 0.004
    ("dE/dz_h1", "0.004", "dE/dz_h1 uses sigma(h1)*(1 - sigma(h1)) (sigma'(a), the slope at the activation)"),
    # gradient = delta: dE/dz_h2 = 0.00508 -> 0.005 (true 0.000)
    ("dE/dw3", "0.005", "the local input x1 is missing from dE/dw3"),
    # 0.40 + 0.50(0.0279) = 0.414 (true 0.386)
    ("w5'", "0.414", "the step was added"),
    # 0.25(0.05) + 0.20(0.10) + 0.35 = 0.3825 -> 0.383
    ("z_h1", "0.383", "w3 used instead of w1 in z_h1"),
    # w1 and w2 swapped: 0.20(0.05) + 0.15(0.10) + 0.35 = 0.375
    ("z_h1", "0.375", "w1 and w2 swapped in z_h1"),
    # dE/dw5 with dE/dw6's local input h2: 0.04696 x 0.5969 = 0.02803 -> 0.02803 (5 d.p. tells them apart)
    ("dE/dw5", "0.02803", "dE/dw5 computed as dE/dw6"),
])
def test_diagnoses(lecture, name, given, why):
    row = one(lecture, name, given)
    assert row.verdict == "wrong"
    assert why in row.why


def test_another_output_units_delta_in_a_formula_is_named():
    """Softmax + cross-entropy, two outputs: dE/dw8 (into o2) written with o1's delta.  The factors differ by the
    deltas' forms in outputs and targets (t1*yhat2 + t2*yhat2 - t2 ...); the sheet names the deltas instead."""
    solution = solve(ROOT / "examples" / "lecture_2out_softmax_ce.toml")
    row = mark(solution, Answers((Answer("dE/dw8", "dE/dz_o1*h2", "formula"),))).rows[0]
    assert (row.verdict, row.why) == ("wrong", "dE/dz_o1 used instead of dE/dz_o2")
    assert row.why_parts[0] == ("dE/dz_o1", r"\frac{\partial E}{\partial z_{o_{1}}}")
    right = mark(solution, Answers((Answer("dE/dw8", "dE/dz_o2*h2", "formula"),))).rows[0]
    assert right.verdict == "correct"


def test_wrong_without_a_diagnosis_still_shows_the_expected_value(lecture):
    row = one(lecture, "dE/dz_o", "0.123")
    assert (row.verdict, row.expected, row.why) == ("wrong", "0.047", "")


# -- formulas ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, formula", [
    ("dE/dw5", "dE/dz_o*h1"),
    ("dE/dw5", "(yhat - t)*yhat*(1 - yhat)*h1"),  # inlined delta
    ("dE/dw5", "h1*yhat*(yhat - t) - h1*yhat^2*(yhat - t)"),  # expanded
    ("h1", "sigma(z_h1)"),
    ("h1", "sigma(w1*x1 + w2*x2 + b1)"),
    ("h1", "1/(1 + exp(-z_h1))"),
    ("dE/dh1", "w5*dE/dz_o"),
    ("E", "(yhat - t)^2/2"),
    ("E", "0.5*yhat^2 - yhat*t + t^2/2"),
    ("dE/dw1", "(yhat - t)*yhat*(1 - yhat)*w5*h1*(1 - h1)*x1"),  # the lecture's section 4.4
    ("dE/dz_h1", "(sigma(z_o) - t)*sigma(z_o)*(1 - sigma(z_o))*w5*sigma(z_h1)*(1 - sigma(z_h1))"),
    ("w5'", "w5 - eta*dE/dz_o*h1"),
    ("z_o'", "w5'*h1' + w6'*h2' + b3'"),
    ("dE/db3", "dE/dz_o"),
])
def test_equivalent_formulas_are_correct(lecture, name, formula):
    row = one(lecture, name, formula, "formula")
    assert (row.verdict, row.why) == ("correct", "")


def test_numeric_fallback_is_named(lecture):
    # sigma(z) = (1 + tanh(z/2))/2: true, but not something expand() shows
    row = one(lecture, "h1", "(1 + tanh(z_h1/2))/2", "formula")
    assert (row.verdict, row.why) == ("correct", "checked numerically at 3 random points")


@pytest.mark.parametrize("name, formula, why", [
    ("dE/dw5", "dE/dz_o", "missing factor h1"),
    ("dE/dw1", "dE/dz_h1*x1*x2", "extra factor x2"),
    ("dE/dyhat", "t - yhat", "differs by sign"),
    ("dE/dz_o", "2*(yhat - t)*yhat*(1 - yhat)", "extra constant factor 2"),
    ("dE/dz_o", "(yhat - t)*yhat", "missing factor 1 - yhat"),
    ("dE/dz_h1", "dE/dh1*h1", "missing factor 1 - h1"),
    ("dE/dz_h1", "dE/dh1", "missing factor h1*(1 - h1)"),
    ("dE/dh1", "dE/dz_o*w6", "missing factor w5, extra factor w6"),
    ("dE/dz_h1", "dE/dh1*sigma(h1)*(1 - sigma(h1))",
     "sigma(h1)*(1 - sigma(h1)) (sigma'(h1), the slope at the activation) used instead of h1*(1 - h1)"),
    ("dE/dw6", "dE/dz_o*h2 + h1", "extra term h1"),
    ("yhat", "yhat", "circular: the formula uses yhat itself"),
    ("z_o", "dE/dz_o", "circular: dE/dz_o is computed from z_o"),
    # t = 0.50 in this exercise: right number, wrong formula
    ("dE/dyhat", "yhat - 0.5",
     "right value for this exercise, but not the general formula; a number stands where t belongs"),
])
def test_wrong_formulas_say_why(lecture, name, formula, why):
    row = one(lecture, name, formula, "formula")
    assert row.verdict == "wrong"
    assert row.why.startswith(why), row.why


def test_formula_expected_is_the_chain_rule_step(lecture):
    row = one(lecture, "dE/dz_o", "yhat - t", "formula")
    assert row.expected == "dE/dyhat*yhat*(1 - yhat)"
    assert r"\frac{\partial E}{\partial \hat{y}}" in row.expected_latex


# -- names ----------------------------------------------------------------------------------------

def test_unknown_name_suggests(lecture):
    row = one(lecture, "dE/dw55", "0.028")
    assert row.verdict == "invalid"
    assert row.why == "unknown quantity 'dE/dw55' (did you mean 'dE/dw5'?)"
    row = one(lecture, "dE/dw5", "dE/dz_0*h1", "formula")
    assert row.verdict == "invalid" and "did you mean 'dE/dz_o'" in row.why


def test_unknown_rows_come_last_and_make_the_exit_code_2(lecture):
    report = marked(lecture, ("bogus", "1", "value"), ("z_h1", "0.378", "value"))
    assert [r.name for r in report.rows] == ["z_h1", "bogus"]
    assert report.exit_code == 2


def test_all_right_exits_0(lecture):
    assert marked(lecture, ("z_h1", "0.378", "value"), ("h1", "sigma(z_h1)", "formula")).exit_code == 0


# -- every example network: the engine's own displays and definitions mark as correct ---------------

@pytest.mark.parametrize("spec", [p.name for p in network_specs()])
def test_self_consistency_on_every_example(spec):
    solution = solve(ROOT / "examples" / spec, prove=False)
    entries = []
    for q in solution.network.quantities.values():
        entries.append(Answer(q.name, solution.display(q.name), "value"))
        if q.definition is not None:
            entries.append(Answer(q.name, _text(q.definition), "formula"))
    report = mark(solution, Answers(tuple(entries)))
    assert [(r.name, r.form, r.why) for r in report.rows if r.verdict != "correct"] == []


def test_indexed_names(tmp_path):
    from symbackprop.engine.generate import new_spec, parse_layers

    path = tmp_path / "net.toml"
    path.write_text(new_spec(parse_layers("3,4,2"), activation="tanh", loss="half_sse", seed=4, output=None,
                             scheme="indexed"), encoding="utf-8")
    solution = solve(path, prove=False)
    value = solution.display("dE/dw(1)[2,3]")
    report = marked(solution, ("dE/dw(1)[2,3]", value, "value"), ("dE/dw(1)[2,3]", "dE/dz(1)[2]*x[3]", "formula"),
                    ("a(1)[2]", "tanh(z(1)[2])", "formula"), ("dE/dz(1)[2]", "dE/da(1)[2]*a(1)[2]", "formula"))
    verdicts = {(r.name, r.form): (r.verdict, r.why) for r in report.rows}
    assert verdicts[("dE/dw(1)[2,3]", "value")] == ("correct", "")
    assert verdicts[("dE/dw(1)[2,3]", "formula")] == ("correct", "")
    assert verdicts[("a(1)[2]", "formula")] == ("correct", "")
    # tanh's slope is 1 - a^2, not the sigmoid's a(1 - a)
    assert verdicts[("dE/dz(1)[2]", "formula")] == (
        "wrong", "missing factor (1 - a(1)[2])*(1 + a(1)[2]), extra factor a(1)[2]")


# -- hostile input -------------------------------------------------------------------------------

HOSTILE = [
    ("formula", "__import__('os').system('touch x')"),
    ("formula", "().__class__.__base__"),
    ("formula", "9**9**9"),
    ("formula", "10^{10^{10}}"),
    ("formula", "(" * 10_000 + "x1" + ")" * 10_000),
    ("formula", "-" * 1_500 + "x1"),
    ("formula", "x" * 10_000_000),
    ("value", "x" * 10_000_000),
    ("value", "NaN"),
    ("formula", "nan"),
    ("value", "1" + "0" * 5_000),
    ("value", "0." + "3" * 5_000),
    ("formula", "3" * 5_000),
    ("formula", "(w1 + w2 + w3 + w4 + w5 + w6 + b1 + b2 + b3)^100"),
    ("formula", "(w1 + w2 + w3 + w4 + w5 + w6 + b1 + b2 + b3)^-100"),
    ("formula", "exp(exp(exp(9)))"),
    ("formula", "log(-1)"),
    ("value", "1e999"),
    ("formula", "lambda: x1"),
    ("formula", "\x00\x01\x02"),
]


@pytest.mark.parametrize("form, text", HOSTILE, ids=lambda x: x[:30] if isinstance(x, str) else None)
def test_hostile_input_gets_a_verdict_fast_and_runs_nothing(lecture, tmp_path, monkeypatch, form, text):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    row = one(lecture, "h1", text, form)
    assert time.perf_counter() - start < 1.0
    assert row.verdict in ("invalid", "wrong")
    assert len(row.why) <= 200 and len(row.given) <= 80
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("content", [bytes(range(256)) * 40, b'h1 = "' + b"x" * 10_000_000 + b'"\n',
                                     b"h1 = nan\n", b"h1 = 1e999999999\n"])
def test_hostile_files_through_the_command(tmp_path, capsys, content):
    path = tmp_path / "answers.toml"
    path.write_bytes(content)
    start = time.perf_counter()
    code = cli.main(["verify", str(path)])
    assert time.perf_counter() - start < 2.0
    assert code == 2
    err = capsys.readouterr().err
    assert err == "" or (err.startswith("symbackprop: error: ") and err.count("\n") == 1)


# -- reports -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(lecture):
    # dE/dh2 = 0.019 is wrong (w5 for w6); dE/dz_h2 = 0.019 x 0.597(0.403) = 0.00457 -> 0.0046 carries it forward
    answers = Answers((Answer("z_h1", "0.378", "value"), Answer("dE/dw2", "0.001", "value"),
                       Answer("dE/dw5", "dE/dz_o", "formula"), Answer("dE/dh2", "0.019", "value"),
                       Answer("dE/dz_h2", "0.0046", "value"), Answer("h1", "0.59", "value"),
                       Answer("zz", "1", "value")),
                      Sheet(student="A & B_% {x} #1 ~^\\", source="sheet_1.toml"))
    return mark(lecture, answers)


def test_text_report(mixed):
    text = report_text(mixed)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "given", "expected", "verdict", "why"]
    assert any(line.split()[:4] == ["dE/dw2", "0.001", "0.000", "early"] for line in lines)
    assert lines[-1] == ("Backpropagation: 1 of 7 right: 1 correct, 1 too few decimals, 1 early rounding, "
                         "1 carried forward, 2 wrong, 1 invalid (A & B_% {x} #1 ~^\\)")


def test_json_report(mixed):
    data = json.loads(report_json(mixed))
    assert data == report_data(mixed)
    assert (data["right"], data["total"], data["exit_code"]) == (1, 7, 2)
    assert data["totals"]["carried_forward"] == 1
    row = next(r for r in data["rows"] if r["name"] == "dE/dw5" and r["form"] == "formula")
    assert (row["verdict"], row["why"], row["expected"]) == ("wrong", "missing factor h1", "dE/dz_o*h1")


def test_tex_report_escapes_user_text(mixed):
    tex = report_tex(mixed)
    assert tex.startswith("% Generated by symbackprop")
    assert r"A \& B\_\% \{x\} \#1 \textasciitilde{}\textasciicircum{}\textbackslash{}" in tex
    assert r"sheet\_1.toml" in tex
    assert r"\frac{\partial E}{\partial z_{o}} h_{1}" in tex  # the expected formula, typeset
    assert r"Result: 1 of 7 right." in tex


def test_pdf_marked_sheet(tmp_path, tex):
    out = tmp_path / "marked.pdf"
    assert cli.main(["verify", str(EXAMPLE), "-o", str(out)]) == 1
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    words = " ".join(text.split())
    assert "Result: 61 of 65 right. correct: 61; early rounding: 4." in words
    assert "precision gives 1.065" in words


# -- the command ------------------------------------------------------------------------------------

def test_command_exit_codes_and_formats(tmp_path, capsys):
    right = tmp_path / "right.toml"
    right.write_text('z_h1 = "0.378"\nh1 = "sigma(z_h1)"\n', encoding="utf-8")
    assert cli.main(["verify", str(right)]) == 0
    assert "2 of 2 right" in capsys.readouterr().out
    assert cli.main(["verify", str(ROOT / "examples" / "lecture.toml"), str(EXAMPLE), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["totals"]["early_rounding"] == 4
    out = tmp_path / "report.json"
    assert cli.main(["verify", str(EXAMPLE), "-o", str(out)]) == 1
    assert json.loads(out.read_text(encoding="utf-8"))["right"] == 61
    assert cli.main(["verify", "a", "b", "c"]) == 2
    assert "at most two paths" in capsys.readouterr().err


def test_command_in_a_fresh_process(tmp_path):
    """verify in a process of its own: its report, nothing on stderr, and no SymEngine loaded (it proves nothing;
    symdiff imports SymEngine for the first proof)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(["python", "-X", "importtime", "-m", "symbackprop", "verify", str(EXAMPLE)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    timed = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[-1].strip() for line in timed]
    assert done.returncode == 1 and len(timed) == len(done.stderr.splitlines())  # nothing else on stderr
    assert "sympy" in imported and "symengine" not in imported
    assert done.stdout.splitlines()[-1].endswith("61 of 65 right: 61 correct, 4 early rounding "
                                                  "(The lecture's printed values)")


def test_no_float_on_the_marking_path():
    for module in ("verify", "marker", "graphmarks"):
        source = (ROOT / "symbackprop" / "marking" / f"{module}.py").read_text(encoding="utf-8")
        assert "float(" not in source and "evalf" not in source
    assert sympy.Rational("0.3775") == sympy.Rational(151, 400)  # the kind of exactness relied upon


def test_readme_shows_the_real_report():
    report = mark(solve(None, prove=False), load_answers(EXAMPLE))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert report_text(report).rstrip() in readme


DIAGNOSED = (Answer("dE/dz_h1", "dE/dh1", "formula"), Answer("dE/dz_h1", "0.019", "value"),
             Answer("dE/dz_o", "(yhat - t)*yhat", "formula"), Answer("dE/dw1", "dE/dz_h1*x1*x2", "formula"),
             Answer("dE/dz_h2", "dE/dh2*sigma(h2)*(1 - sigma(h2))", "formula"))


def test_diagnosed_formulas_come_as_latex_pieces(lecture):
    """The "why" keeps its plain text; its formulas also come printed by the project's printer."""
    rows = {(r.name, r.form): r for r in mark(lecture, Answers(DIAGNOSED)).rows}
    assert len(rows) == len(DIAGNOSED)
    formula, value = rows["dE/dz_h1", "formula"], rows["dE/dz_h1", "value"]
    assert formula.why == "missing factor h1*(1 - h1)"
    assert value.why == "the activation slope h1*(1 - h1) is missing from dE/dz_h1"
    assert formula.why_parts == (("missing factor ", ""), ("h1*(1 - h1)", r"h_{1} \left(1 - h_{1}\right)"))
    assert value.why_parts[-1] == ("dE/dz_h1", r"\frac{\partial E}{\partial z_{h_{1}}}")
    assert rows["dE/dz_h2", "formula"].why_parts[:3] == (
        ("sigma(h2)*(1 - sigma(h2))", r"\sigma\left(h_{2}\right) \left(1 - \sigma\left(h_{2}\right)\right)"),
        (" (", ""), ("sigma'(h2)", r"\sigma'\left(h_{2}\right)"))
    for r in rows.values():  # the pieces are the text, and every formula named has its LaTeX
        assert "".join(text for text, _ in r.why_parts) == r.why and any(latex for _, latex in r.why_parts)
    plain = mark(lecture, Answers((Answer("dE/dw2", "0.001", "value"),))).rows[0]
    assert plain.why.startswith("intermediates rounded") and plain.why_parts == ()


def test_a_value_that_is_no_formula_of_the_exercise_is_not_called_a_formula(lecture):
    """'abc' as a value had been "'abc' is a formula; a number is asked here" (rv5 15): it names nothing of the
    exercise, so it is just not a number; a formula over its names is still called one."""
    report = mark(lecture, Answers((Answer("dE/dw1", "abc", "value"), Answer("h1", "sigma(z_h1)", "value"))))
    why = {r.name: r.why for r in report.rows}
    assert why["dE/dw1"] == "'abc' is not a number (expected e.g. 0.25, -1.5, 2.26e-4 or 2.26 x 10^-4)"
    assert why["h1"] == "'sigma(z_h1)' is a formula; a number is asked here"


def test_a_slip_with_decimals_left_out_says_both(lecture):
    """"-0.4" for z_h1 = 0.378 (shown -0.378 to 1 decimal) had said only "sign flipped" (rv5 15): the decimals the
    student left out are said too, as a too-few-decimals answer says them."""
    row = mark(lecture, Answers((Answer("z_h1", "-0.4", "value"),))).rows[0]
    assert (row.verdict, row.why) == ("wrong", "sign flipped (expected 0.378); and 1 decimal given, 3 asked")
    row = mark(lecture, Answers((Answer("z_h1", "-0.378", "value"),))).rows[0]
    assert row.why == "sign flipped (expected 0.378)"


def test_a_number_in_a_why_has_a_minus_sign_not_a_hyphen(lecture):
    """The marked sheet printed "your z_h1 = -1.000" with a hyphen beside the tables' maths minus (rv5 12)."""
    report = mark(lecture, Answers((Answer("z_h1", "-1.000", "value"), Answer("h1", "0.269", "value"))))
    assert report.rows[1].why == "right method applied to your z_h1 = -1.000; full precision gives 0.593"
    carried = next(line for line in report_tex(report).splitlines() if "right method" in line)
    assert r"$z_{h_{1}}$ = \ensuremath{-}1.000; full precision gives 0.593" in carried
    assert tex_prose("x1-2, w1 - 2, 1e-5, (-0.5") == r"x1-2, w1 - 2, 1e-5, (\ensuremath{-}0.5"


def test_tex_report_prints_why_formulas_as_math(lecture):
    tex = report_tex(mark(lecture, Answers(DIAGNOSED)))
    body = tex.split(r"\midrule")[1]
    assert r"missing factor $h_{1} \left(1 - h_{1}\right)$" in body
    assert r"is missing from $\frac{\partial E}{\partial z_{h_{1}}}$" in body
    assert r"extra factor $x_{2}$" in body and r"missing factor $1 - \hat{y}$" in body
    whys = [row.split("&")[-1] for row in body.split("\\\\\n") if "&" in row]
    assert len(whys) == len(DIAGNOSED) and not any("*" in why for why in whys)  # no ASCII formula in a why
    # a row with a fraction in it stands tall enough not to touch the next one
    rows = [r for r in body.split("\\\\\n") if "&" in r]
    assert rows and all((r"\tallrow" in r) == (r"\frac" in r) for r in rows)


@pytest.mark.tex
def test_pdf_marked_sheet_of_diagnoses(tex, tmp_path):
    from symbackprop.io.pdf import compile_pdf

    out = compile_pdf(report_tex(mark(solve(), Answers(DIAGNOSED))), tmp_path / "r.pdf", runs=1)
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "wrong: missing factor 1 −" in text and "wrong: extra factor x2" in text
    assert "h1*(1 - h1)" not in text  # the formula typeset, not typed



# -- the typed answer in the tex report: kept together, or broken after an operator -----------------

@pytest.mark.parametrize(("typed", "pieces"), [
    ("sigma( z_h2 )", ["sigma( z_h2 )"]),  # spaces alone never break
    ("0.0  2", ["0.0  2"]),
    ("dE/dh2 * sigma(h2) * (1 - sigma(h2))", ["dE/dh2 * ", "sigma(h2) * ", "(1 - ", "sigma(h2))"]),
    ("-x1*w1 + 1e-4 - -2", ["-x1*", "w1 + ", "1e-4 - ", "-2"]),  # signs and exponents stay whole
    ("x**2*(y - 1)", ["x**2*", "(y - ", "1)"]),
    ("dE/dz_o / 2", ["dE/dz_o / ", "2"]),
    ("a+", ["a+"]),
    ("", [""]),
])
def test_typed_pieces_break_only_after_operators(typed, pieces):
    got = typed_pieces(typed)
    assert [p["text"] for p in got] == pieces and "".join(pieces) == typed
    assert [p["depth"] for p in got][:-1] == [t.count("(") - t.count(")") for t in
                                             ("".join(pieces[:k + 1]) for k in range(len(pieces) - 1))]


LONG = "dE/dh2 * sigma(h2) * (1 - sigma(h2)) + 0*w1*w2*w3*w4*x1*x2*b1*b2*b3*w5*w6*eta*t"


def test_tex_report_keeps_typed_spaces_and_breaks_after_operators(lecture):
    tex = report_tex(marked(lecture, ("h2", "sigma( z_h2 )", "formula"), ("dE/dz_h2", LONG, "formula")))
    cells = [row.split(" & ")[1] for row in tex.split(r"\midrule")[1].split("\\\\\n") if " & " in row]
    assert len(cells) == 2
    # a space the student typed is a tie (never a line break); no break between the characters around it
    assert r"(~z\typedcharbreak{}\_\typedcharbreak{}h\typedcharbreak{}2~)" in cells[0]
    assert r"\typedbreak" not in cells[0]
    # breaks after the operators: three outside brackets, one inside, then one after each of 13 factors
    assert cells[1].count(r"\typedbreak{0}") == 3 + 13 and cells[1].count(r"\typedbreak{1}") == 1
    letters = cells[1].replace(r"\typedcharbreak{}", "").replace("~", " ")
    assert "dE/dh2 *" in letters and r"0*\typedbreak{0}w1*" in letters


@pytest.mark.tex
def test_pdf_typed_answers_stay_in_their_column(tex, tmp_path):
    """Every word of a long typed answer ends left of the Expected column; a short one stays on one line."""
    from symbackprop.io.pdf import compile_pdf

    report = marked(solve(), ("h2", "sigma( z_h2 )", "formula"), ("dE/dz_h2", LONG, "formula"),
                    ("dE/dw5", "dE/dz_o*h1*w1*w2*w3*w4*x1*x2*b1*b2*b3*w5*w6*eta*t*x1*x2", "formula"))
    pdf = compile_pdf(report_tex(report), tmp_path / "r.pdf", runs=1)
    words = [(x0, y0, x1, w) for x0, y0, x1, _, w in _words(pdf)]
    given_x, head_y = next((x0, y0) for x0, y0, _, w in words if w == "Given")
    expected_x = next(x0 for x0, _, _, w in words if w == "Expected")
    legend_y = next(y0 for _, y0, _, w in words if w == "(follow-through)")
    # (a cell's text starts a few points left of its header's word: the column edge is 8 points left)
    typed = [(x0, y0, x1, w) for x0, y0, x1, w in words
             if given_x - 8 <= x0 < expected_x - 8 and head_y + 5 < y0 < legend_y - 5]
    assert typed and all(x1 < expected_x - 8 for _, _, x1, _ in typed)
    assert [w for *_, w in typed][:3] == ["sigma(", "z_h2", ")"]
    assert len({y0 for _, y0, _, w in typed if w in ("sigma(", "z_h2", ")")}) == 1
    # the long answers came out whole (no character lost at a break)
    assert "".join(w for *_, w in typed[3:]) == (LONG + "dE/dz_o*h1*w1*w2*w3*w4*x1*x2*b1*b2*b3*w5*w6*eta*t*x1*x2"
                                                 ).replace(" ", "")


def _words(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    import re

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


@pytest.mark.tex
def test_pdf_a_fraction_ending_a_long_why_keeps_off_the_next_row(tex, tmp_path):
    """dE/db3's diagnosis wraps and ends in dE/dz_o; the plain w1' row below stays clear of it."""
    from symbackprop.io.pdf import compile_pdf

    report = marked(solve(), ("dE/db3", "0.3", "value"), ("w1'", "0.150", "value"))
    tex = report_tex(report)
    assert tex.count("\\tallrowend \\\\\n") == 1  # the tall row's last cell ends with room below
    words = _words(compile_pdf(tex, tmp_path / "r.pdf", runs=1))
    why_x = next(x0 for x0, _, _, _, w in words if w == "Verdict") - 8
    top = next(y0 for x0, y0, _, _, w in words if x0 >= why_x and w == "correct")  # the w1' row
    fraction = [w for w in words if w[0] >= why_x and w[4] in ("∂E", "∂z", "o") and w[1] < top]
    assert len(fraction) == 3 and top - max(y1 for _, _, _, y1, _ in fraction) >= 2  # points of white


def test_names_and_formulas_in_every_diagnosis_come_as_latex(lecture):
    """A slip and a carried-forward source name quantities, an added step its formula: the tex report prints them as
    math."""
    answers = (Answer("dE/dh2", "0.019", "value"), Answer("dE/dz_h2", "0.0046", "value"),
               Answer("w5'", "0.414", "value"))
    rows = {r.name: r for r in mark(lecture, Answers(answers)).rows}
    grad_h2 = r"\frac{\partial E}{\partial h_{2}}"
    assert rows["dE/dh2"].why_parts == (("w5", "w_{5}"), (" used instead of ", ""), ("w6", "w_{6}"),
                                        (" in ", ""), ("dE/dh2", grad_h2))
    assert rows["dE/dz_h2"].why == "right method applied to your dE/dh2 = 0.019; full precision gives 0.0051"
    assert ("dE/dh2", grad_h2) in rows["dE/dz_h2"].why_parts
    assert rows["w5'"].why_parts[:2] == (("the step was added (", ""),  # on w5's own row: not named again
                                         ("theta + eta*dE/dtheta", r"\theta + \eta \frac{\partial E}{\partial \theta}"))
    tex = report_tex(mark(lecture, Answers(answers)))
    whys = [row.split("&")[-1] for row in tex.split(r"\midrule")[1].split("\\\\\n") if "&" in row]
    assert len(whys) == 3 and not any(ascii_name in why for why in whys for ascii_name in ("dE/d", "w5'", "eta*"))


def test_typed_units_keep_accents_and_right_to_left_runs_whole():
    pieces = typed_pieces("cafe\u0301 + שלום עולם*x")
    assert [p["units"] for p in pieces] == [["c", "a", "f", "é", " ", "+", " "], ["שלום עולם", "*"], ["x"]]


@pytest.mark.tex
def test_pdf_typed_text_in_other_scripts_is_printed(tex, tmp_path):
    """Hebrew, Cyrillic and CJK typed in an answer show in the Given column (the mono family has their fonts)."""
    from symbackprop.io.pdf import compile_pdf

    report = marked(solve(), ("h1", "cafe\u0301 + שלום", "formula"), ("h2", "Иван + 中文", "formula"))
    pdf = compile_pdf(report_tex(report), tmp_path / "r.pdf", runs=1)
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert all(word in text for word in ("café", "Иван", "中文")) and ("שלום" in text or "םולש" in text)


@pytest.mark.parametrize(("name", "text", "verdict"), [
    ("h1", "1", "wrong"),  # 0.593: a whole number where 3 decimals are asked
    ("yhat", "1", "wrong"),  # 0.751 rounds to 1, but so would anything from 0.5 to 1.5
    ("w5'", "0", "wrong"),  # 0.386
    ("dE/dz_o", "0.0", "wrong"),  # 0.047 shows a digit at 3 decimals: 0.0 says nothing about it
    ("dE/dw1", "0", "too_few_decimals"),  # 0.000227 shows as 0.000: 0 is only short of decimals
    ("dE/dw2", "0.0", "too_few_decimals"),
    ("h1", "0.6", "too_few_decimals"),
    ("z_h1", "0.38", "too_few_decimals"),
])
def test_a_whole_number_or_a_zero_is_too_coarse_for_partial_credit(lecture, name, text, verdict):
    """"1" for 0.751 or "0" for 0.386 was "too few decimals" (half credit by default), and a sheet of 1s earned
    "carried forward" on every later value; now such an answer is wrong, with the reason; a zero for a value
    that shows as 0.000 and a rounded value with decimals keep "too few decimals"."""
    row = one(lecture, name, text)
    assert row.verdict == verdict
    if verdict == "wrong":
        assert "too coarse" in row.why


def test_a_sheet_of_ones_earns_no_follow_through(lecture):
    names = ["z_h1", "h1", "z_h2", "h2", "z_o", "yhat", "E", "dE/dz_o", "dE/dw5", "dE/dz_h1", "dE/dw1", "w1'"]
    rows = marked(lecture, *[(n, "1", "value") for n in names]).rows
    assert {row.verdict for row in rows} == {"wrong"}


def test_the_slope_slip_names_the_networks_own_activation():
    """tanh'(h1) on a tanh network (it said sigma'(a) whatever the activation), as a value and as a formula."""
    from symbackprop.engine.generate import new_spec
    from symbackprop.engine.spec import loads_spec

    tanh = solve(loads_spec(new_spec([2, 3, 1], activation="tanh", loss="bce", seed=7)), prove=False)
    wrong = tanh.value("dE/dh1") * (1 - Decimal(str(sympy.tanh(sympy.Float(str(tanh.value("h1")), 50))))**2)
    value = one(tanh, "dE/dz_h1", str(wrong.quantize(Decimal("0.001"))))
    assert "uses 1 - tanh(h1)**2 (tanh'(a), the slope at the activation)" in value.why
    formula = one(tanh, "dE/dz_h1", "dE/dh1*(1 - tanh(h1)^2)", "formula")
    assert "(tanh'(h1), the slope at the activation) used instead of" in formula.why and "sigma" not in formula.why


def test_a_value_right_to_the_asked_decimals_but_not_to_those_written_says_so(lecture):
    """The decimals written decide (STACK's rule: 0.5932 for 0.59326 is wrong), but it had come with no reason;
    a slip that the extra digits show (w6's gradient for w5's, 0.02803 for 0.02786) keeps its own diagnosis."""
    row = one(lecture, "h1", "0.5932")
    assert (row.verdict, row.why) == ("wrong", "right to the 3 decimals asked, not to the 4 written "
                                               "(0.5933 at full precision)")
    slip = one(lecture, "dE/dw5", "0.02803")
    assert slip.verdict == "wrong" and slip.why.startswith("dE/dw5 computed as dE/dw6")
    assert one(lecture, "h1", "0.5936").why == ""  # 0.594 at 3 decimals: simply wrong


def test_a_rational_identity_is_proven_not_checked_numerically():
    """bce's dE/dz_o written as yhat - t: dE/dyhat yhat (1 - yhat) with dE/dyhat = (yhat - t)/(yhat (1 - yhat))
    cancels to it; expanding alone did not see it, and the formula was "checked numerically ... (too large to
    compare symbolically)", false for a two-symbol formula."""
    from symbackprop.engine.generate import new_spec
    from symbackprop.engine.spec import loads_spec

    bce = solve(loads_spec(new_spec([2, 3, 1], activation="tanh", loss="bce", seed=7)), prove=False)
    for name, text in (("dE/dz_o", "yhat - t"), ("dE/dyhat", "(yhat - t)/(yhat*(1 - yhat))")):
        row = one(bce, name, text, "formula")
        assert (row.verdict, row.why) == ("correct", "")
    assert one(bce, "dE/dz_o", "t - yhat", "formula").verdict == "wrong"


def test_no_early_rounding_where_nothing_was_computed_before(lecture):
    """z_h1 = w1 x1 + w2 x2 + b1 comes from given data alone: 0.3780 for 0.3775 was "early rounding: intermediates
    rounded to 3 decimals", but there is no intermediate; it is the value rounded and padded, wrong to the 4
    decimals written.  A value computed from others keeps its early-rounding credit (the lecture's b2')."""
    row = one(lecture, "z_h1", "0.3780")
    assert (row.verdict, row.why) == ("wrong", "right to the 3 decimals asked, not to the 4 written "
                                               "(0.3775 at full precision)")
    assert one(lecture, "b2'", "0.348").verdict == "early_rounding"


@pytest.mark.parametrize(("text", "verdict"), [("0e-3", "correct"), ("0.000e0", "correct"),
                                               ("0.0e0", "too_few_decimals"), ("0e0", "too_few_decimals")])
def test_a_zero_in_scientific_notation_counts_the_decimals_it_writes(lecture, text, verdict):
    """0e-3 writes 3 decimals of dE/dw1 = 0.000227 (it had counted 0: "too few decimals")."""
    assert one(lecture, "dE/dw1", text).verdict == verdict
