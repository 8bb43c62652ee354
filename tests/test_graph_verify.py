"""verify on computation graphs: published values marked correct, planted mistakes with their stated verdicts.

References: CS231n "Backpropagation, Intuitions" (cs231n.github.io/optimization-2/): f = (x + y) z at
x = -2, y = 5, z = -4 gives q = x + y = 3, f = -12, df/dq = z = -4, df/dx = df/dy = -4, df/dz = q = 3;
the sigmoid-gate circuit (examples/graph_cs231n.toml) gives f = 0.73, dx = [0.39, -0.59],
dw = [-0.20, -0.39, 0.20].  Every other value is hand arithmetic, written next to its case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_graph import CS231N_ADD_MUL as ADD_MUL

from symbackprop.cli import main
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import loads_graph
from symbackprop.marking.answers import Answer, Answers
from symbackprop.marking.reports import report_data, report_tex, report_text
from symbackprop.marking.verify import mark

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "graph_cs231n.toml"


# a weight w shared by two steps (as an RNN's is): hand values at x1 = 1, x2 = -0.5, w = 0.5, u = 2
#   a1 = 0.5, h1 = 0.5, m = u h1 = 1, a2 = w x2 + m = 0.75, f = a2^2 = 0.5625
#   df/da2 = 2 a2 = 1.5, df/dm = 1.5, df/dh1 = 1.5 u = 3, df/da1 = 3 (relu' = 1), df/du = 1.5 h1 = 0.75
#   df/dw = df/da1 x1 + df/da2 x2 = 3 - 0.75 = 2.25; df/dx2 = df/da2 w = 0.75; df/dx1 = df/da1 w = 1.5
SHARED = """
[graph]
decimals = 3
inputs = { x1 = 1, x2 = -0.5 }
parameters = { w = 0.5, u = 2 }
[graph.nodes]
a1 = "w * x1"
h1 = "relu(a1)"
m = "u * h1"
a2 = "w * x2 + m"
f = "a2 * a2"
"""

# a max gate: m = max(x, y) = 4 routes all of df/dm = z = 3 to x; f = 12, df/dx = 3, df/dy = 0, df/dz = 4
MAX = """
[graph]
inputs = { x = 4, y = 2, z = 3 }
[graph.nodes]
m = "max(x, y)"
f = "m * z"
"""


@pytest.fixture(scope="module")
def add_mul():
    return solve_graph(loads_graph(ADD_MUL, "addmul"), prove=False)


@pytest.fixture(scope="module")
def shared():
    return solve_graph(loads_graph(SHARED, "shared"), prove=False)


def rows(solution, *entries: tuple[str, str, str]):
    report = mark(solution, Answers(tuple(Answer(n, t, f) for n, t, f in entries)))
    return {(r.name, r.form): r for r in report.rows}, report


def verdicts(solution, *entries: tuple[str, str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    return {key: (r.verdict, r.why) for key, r in rows(solution, *entries)[0].items()}


def test_the_published_values_are_correct(add_mul):
    got = verdicts(add_mul, ("q", "3.00", "value"), ("f", "-12.00", "value"), ("df/dq", "-4.00", "value"),
                   ("df/dx", "-4.00", "value"), ("df/dy", "-4.00", "value"), ("df/dz", "3.00", "value"),
                   ("df/dx", "df/dq", "formula"), ("df/dz", "x + y", "formula"), ("df/dq", "z", "formula"))
    assert set(got.values()) == {("correct", "")}, got


def test_the_sigmoid_gate_values_and_early_rounding():
    s = solve_graph(str(EXAMPLE), prove=False)
    got = verdicts(s, ("f", "0.73", "value"), ("df/dx1", "-0.59", "value"), ("df/dw0", "-0.20", "value"),
                   ("df/dw2", "0.2", "value"), ("df/dx0", "0.38", "value"))
    assert got[("f", "value")] == got[("df/dx1", "value")] == got[("df/dw0", "value")] == ("correct", "")
    assert got[("df/dw2", "value")][0] == "too_few_decimals"
    # intermediates rounded to 2 decimals: h = 1.37, df/dh = -1/1.37^2 = -0.5328 -> -0.53,
    # df/du = -0.53 exp(-1) = -0.19498 -> -0.19, df/da = 0.19, df/dx0 = 0.19 w0 = 0.38 (exactly 0.39)
    assert got[("df/dx0", "value")] == ("early_rounding", "intermediates rounded to 2 decimals; full precision "
                                                          "gives 0.39")


def test_a_shared_weight_missing_a_use(shared):
    # 3.000 = df/da1 x1 alone (the use by a2 left out); -0.750 = df/da2 x2 = 1.5(-0.5) alone
    for given, left_out in (("3.000", "a2"), ("-0.750", "a1")):
        got = verdicts(shared, ("df/dw", given, "value"))[("df/dw", "value")]
        assert got == ("wrong", f"df/dw misses the use of w by {left_out} (the sum over 1 of its 2 uses)")
    formula = verdicts(shared, ("df/dw", "df/da2*x2", "formula"))[("df/dw", "formula")]
    assert formula == ("wrong", "df/dw misses the use of w by a1 (the sum over 1 of its 2 uses)")
    both = verdicts(shared, ("df/dw", "df/da1*x1 + df/da2*x2", "formula"), ("df/dw", "2.250", "value"))
    assert set(both.values()) == {("correct", "")}


def test_gate_rules_not_applied(shared):
    got = verdicts(shared, ("df/du", "3.000", "value"), ("df/dx2", "0.500", "value"), ("df/dx1", "-1.500", "value"))
    # df/du with u's own value as the local derivative: 1.5 u = 3 (not 1.5 h1 = 0.75)
    assert got[("df/du", "value")] == ("wrong", "the multiply gate m's inputs not swapped: the local derivative "
                                                "of u taken as its own value u instead of h1")
    # df/dx2 = w = 0.5 alone, df/da2 = 1.5 not multiplied in
    assert got[("df/dx2", "value")] == ("wrong", "the upstream gradient df/da2 not multiplied in (the local "
                                                 "derivative alone)")
    assert got[("df/dx1", "value")] == ("wrong", "sign flipped (expected 1.500)")
    formula = verdicts(shared, ("df/du", "df/dm*u", "formula"))[("df/du", "formula")]
    assert formula[0] == "wrong" and "inputs not swapped" in formula[1]


def test_max_routes_to_the_larger_input():
    s = solve_graph(loads_graph(MAX, "max"), prove=False)
    got = verdicts(s, ("df/dy", "3.00", "value"), ("df/dx", "3.00", "value"), ("df/dm", "3.00", "value"))
    assert got[("df/dx", "value")] == got[("df/dm", "value")] == ("correct", "")
    assert got[("df/dy", "value")] == ("wrong", "the max gate m routed the gradient to the other input")
    assert verdicts(s, ("df/dy", "step(y - x)*df/dm", "formula"))[("df/dy", "formula")] == ("correct", "")
    assert verdicts(s, ("m", "2.00", "value"))[("m", "value")] == ("wrong", "m took the smaller input (min, not max)")


def test_carried_forward_from_the_students_own_wrong_upstream(add_mul):
    # df/dq = -5 (wrong: z = -4); df/dx = df/dq x 1 = -5 from it, df/dz = q = 3 untouched
    got = verdicts(add_mul, ("df/dq", "-5.00", "value"), ("df/dx", "-5.00", "value"), ("df/dz", "3.00", "value"))
    assert got[("df/dq", "value")][0] == "wrong"
    assert got[("df/dx", "value")] == ("carried_forward", "right method applied to your df/dq = -5.00; full "
                                                          "precision gives -4.00")
    assert got[("df/dz", "value")] == ("correct", "")


def test_unknown_names_and_report_formats(add_mul, shared):
    report = rows(add_mul, ("dE/dx", "1", "value"), ("df/dx", "-4.00", "value"))[1]
    assert report.rows[-1].verdict == "invalid" and "did you mean" in report.rows[-1].why
    report = rows(shared, ("df/dw", "df/da2*x2", "formula"), ("df/dw", "3.000", "value"))[1]
    data = report_data(report)
    assert [r["verdict"] for r in data["rows"]] == ["wrong", "wrong"] and data["exit_code"] == 1
    assert "misses the use of w by a2" in report_text(report)
    tex = report_tex(report)
    assert r"\frac{\partial f}{\partial w}" in tex and r"\frac{\partial f}{\partial a_{1}}" in tex


def test_the_command(tmp_path, capsys):
    spec, answers = tmp_path / "g.toml", tmp_path / "a.toml"
    spec.write_text(ADD_MUL)
    answers.write_text('f = "-12.00"\n"df/dz" = "-3.00"\n')
    assert main(["verify", str(spec), str(answers)]) == 1
    out = capsys.readouterr().out
    assert "sign flipped (expected 3.00)" in out and "1 of 2 right" in out
    assert main(["verify", str(spec), str(answers), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["right"] == 1
    answers.write_text('f = "-12.00"\n')
    assert main(["verify", str(spec), str(answers)]) == 0


def test_the_marked_sheet_compiles(tmp_path, tex):
    spec, answers, out = tmp_path / "g.toml", tmp_path / "a.toml", tmp_path / "r.pdf"
    spec.write_text(SHARED)
    answers.write_text('"df/dw" = "3.000"\n[formulas]\n"df/du" = "df/dm*u"\n')
    assert main(["verify", str(spec), str(answers), "-o", str(out)]) == 1
    assert out.read_bytes().startswith(b"%PDF")


def test_three_time_steps_one_left_out():
    # s_t = w x_t + s_(t-1): ds3/dw = x1 + x2 + x3 = 1 + 2 + 4 = 7; leaving out step 1, 2 or 3 gives 6, 5 or 3
    s = solve_graph(loads_graph("""
[graph]
inputs = { x1 = 1, x2 = 2, x3 = 4 }
parameters = { w = 0.5 }
[graph.nodes]
s1 = "w * x1"
s2 = "w * x2 + s1"
s3 = "w * x3 + s2"
""", "steps"), prove=False)
    for given, left_out in (("6.00", "s1"), ("5.00", "s2"), ("3.00", "s3")):
        got = verdicts(s, ("ds3/dw", given, "value"))[("ds3/dw", "value")]
        assert got == ("wrong", f"ds3/dw misses the use of w by {left_out} (the sum over 2 of its 3 uses)")
    assert verdicts(s, ("ds3/dw", "4.00", "value"))[("ds3/dw", "value")][1].endswith("(the sum over 1 of its 3 uses)")


def test_a_local_derivatives_sign_slipped():
    # b feeds d = a - b and m = b c; f = d + m: df/db = -1 + c = 2 at a = 1, b = 2, c = 3; the subtraction's
    # local derivative taken as +1 gives 1 + 3 = 4
    s = solve_graph(loads_graph("""
[graph]
inputs = { a = 1, b = 2, c = 3 }
[graph.nodes]
d = "a - b"
m = "b * c"
f = "d + m"
""", "minus"), prove=False)
    assert verdicts(s, ("df/db", "2.00", "value"))[("df/db", "value")] == ("correct", "")
    assert verdicts(s, ("df/db", "4.00", "value"))[("df/db", "value")] == (
        "wrong", "the sign of the local derivative of d by b slipped (1 instead of -1)")


def test_random_points_stay_where_the_graph_is_defined():
    # log(x - y) at x = 1.1, y = 1: a random point may make x - y negative; such a draw is drawn again
    s = solve_graph(loads_graph('[graph]\ninputs = { x = 1.1, y = 1 }\n[graph.nodes]\na = "x - y"\nf = "log(a)"\n',
                                "log"), prove=False)
    got = verdicts(s, ("df/dy", "-1/(x - y)", "formula"), ("df/da", "1/a", "formula"), ("m", "max(x, y)", "formula"))
    assert got[("df/dy", "formula")] == got[("df/da", "formula")] == ("correct", "")
    assert got[("m", "formula")][0] == "invalid"  # no such name
    # df/da = 1/a = 10 (a = 0.1); a student who wrote 1/x: 1/1.1 = 0.909..., wrong
    assert verdicts(s, ("df/da", "1/x", "formula"))[("df/da", "formula")][0] == "wrong"


def test_the_handouts_own_rounded_lines_are_early_rounding_not_wrong():
    """The CS231n handout rounds each gate's local derivative before it multiplies: df/du = (-0.53) 0.37 = -0.20
    (e^-1 at 2 decimals), so a student who follows it gets df/dx0 = 0.40, which was "wrong"; the lecture's path
    (the local unrounded, -0.53 * 0.3679 = -0.19) still gives 0.38.  Worked by hand from the notes' numbers:
    f = 1/1.37 = 0.73, df/dh = -1/1.37^2 = -0.53, df/du = -0.53 * 0.37 = -0.1961 -> -0.20, df/dd = 0.20,
    df/da = 0.20, df/dx0 = 0.20 * w0 = 0.40, df/dw0 = 0.20 * x0 = -0.20."""
    solution = solve_graph(str(Path(__file__).resolve().parent.parent / "examples" / "graph_cs231n.toml"))
    rows = {r.name: r for r in mark(solution, Answers((Answer("df/dx0", "0.40", "value"),
                                                       Answer("df/dx1", "-0.60", "value"),
                                                       Answer("df/dw2", "0.20", "value")))).rows}
    assert rows["df/dx0"].verdict == "early_rounding"
    assert rows["df/dw2"].verdict == "correct"  # 0.1966 -> 0.20 either way
    # df/dx1 = df/db * w1 = 0.20 * (-3) = -0.60 by the handout's path, -0.59 at full precision
    assert rows["df/dx1"].verdict == "early_rounding"
    assert mark(solution, Answers((Answer("df/dx0", "0.41", "value"),))).rows[0].verdict == "wrong"
