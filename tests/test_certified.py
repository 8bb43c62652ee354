"""Exact rationals and certified digits (issue 9), and evaluation that never overflows (issue 10.13).

References are hand-checked fractions and an mpmath evaluation written out here; every
command runs through the CLI as a user would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy

from symbackprop.cli import main
from symbackprop.engine.derive import Derivation, derive
from symbackprop.engine.evaluate import evaluate
from symbackprop.engine.generate import new_spec
from symbackprop.engine.numbers import Certified, display, display_decision, full_decision, full_text, significant
from symbackprop.engine.spec import loads_spec
from symbackprop.errors import DerivationMismatch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

def identity_spec(loss: str, units: int, parameters: str, examples: list[str], reduction: str = "sum") -> str:
    """A one-layer identity network (every value rational) as spec text."""
    rows = "".join(f"[[examples]]\n{example}\n" for example in examples)
    return (f'title = "A tie"\ndecimals = 3\nlearning_rate = 0.5\nloss = "{loss}"\nreduction = "{reduction}"\n'
            f'[network]\ninputs = 1\nlayers = [{{ units = {units}, activation = "identity" }}]\n'
            f"[parameters]\n{parameters}\n{rows}")


# an identity layer of 3 units under mse: dE/dw1 = (2/3)(yhat1 - t1) x1 = (2/3)(0.28 - 1.9425) 0.9
TIE_MSE = identity_spec("mse", 3, "w1 = 0.2\nw2 = 0.25\nw3 = -0.5\nb1 = 0.1\nb2 = 0.1\nb3 = 0.2",
                        ["x1 = 0.9\nt1 = 1.9425\nt2 = 0.35\nt3 = 0.3"])
# the mean over 3 examples of (yhat - t) with yhat = 0.5: (1 + 1 + 0.9925) / 3 = 0.9975
TIE_MEAN = identity_spec("half_sse", 1, "w1 = 0.5\nb1 = 0", ["x1 = 1\nt = -0.5", "x1 = 1\nt = -0.5",
                                                              "x1 = 1\nt = -0.4925"], reduction="mean")


def run(tmp_path: Path, command: str, spec: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``symbackprop COMMAND spec`` through the CLI's ``main``, in this process (a fresh Python
    per command cost three times the work: test_cli runs the console entry itself)."""
    path = tmp_path / "spec.toml"
    path.write_text(spec)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([command, str(path), *flags])
    return subprocess.CompletedProcess(["symbackprop", command, str(path), *flags], code, out.getvalue(),
                                       err.getvalue())


def export(tmp_path: Path, spec: str) -> dict[str, dict]:
    done = run(tmp_path, "export", spec)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return {q["name"]: q for q in data["quantities"]} | {"loss_history": data["loss_history"]}


def forty(value: Fraction) -> str:
    """40 significant digits of an exact fraction, half-up, by integer arithmetic alone."""
    if value == 0:
        return "0"
    sign, value = ("-" if value < 0 else ""), abs(value)
    exponent = 0
    while value >= 10:
        value, exponent = value / 10, exponent + 1
    while value < 1:
        value, exponent = value * 10, exponent - 1
    digits = int(value * 10**39 + Fraction(1, 2))  # half-up
    if digits == 10**40:
        digits, exponent = 10**39, exponent + 1
    text = str(digits)
    if exponent >= 0:
        return f"{sign}{text[:exponent + 1]}.{text[exponent + 1:]}"
    return f"{sign}0.{'0' * (-exponent - 1)}{text}"


def test_mse_tie_is_exact_and_rounds_half_up(tmp_path):
    q = export(tmp_path, TIE_MSE)
    assert q["dE/dw1"]["display"] == "-0.998"  # the 80-digit Decimal engine showed -0.997
    assert q["dE/dw1"]["value"] == "-0.9975" + "0" * 36 and q["dE/dw1"]["exact"]
    # dE/dyhat1 = (2/3)(0.28 - 1.9425) = -133/120, a fraction that does not terminate
    assert q["dE/dyhat1"]["value"] == forty(Fraction(-133, 120)) == "-1.108333333333333333333333333333333333333"
    assert q["dE/dyhat1"]["exact"]
    # E = (1.6625^2 + 0.025^2 + 0.55^2) / 3
    assert Fraction(q["E"]["value"]) == Fraction("1.6625") ** 2 / 3 + Fraction("0.025") ** 2 / 3 + \
        Fraction("0.55") ** 2 / 3 == Fraction("1.02234375")
    assert all(item["exact"] for name, item in q.items() if name != "loss_history")


def test_mean_over_three_examples_tie(tmp_path):
    q = export(tmp_path, TIE_MEAN)
    assert q["dE/dw1"]["display"] == q["dE/db1"]["display"] == "0.998"  # was 0.997
    assert q["dE/dw1"]["exact"] and q["dE/dz_o@1"]["value"] == forty(Fraction(1, 3))
    assert "0.998" in run(tmp_path, "check", TIE_MEAN).stdout
    # after one step w1' = 0.5 - 0.5 * 0.9975 = 0.00125, b1' = -0.49875: yhat' = -0.4975 for each x1 = 1
    y = Fraction("0.00125") + Fraction("-0.49875")
    e_after = sum((y - t) ** 2 / 2 for t in (Fraction("-0.5"), Fraction("-0.5"), Fraction("-0.4925"))) / 3
    assert q["loss_history"][1] == forty(e_after)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_networks_are_exact(tmp_path, activation):
    spec = (EXAMPLES / "lecture.toml").read_text().replace('"sigmoid"', f'"{activation}"')
    spec = spec.replace("w6 = 0.45", "w6 = -0.45").replace("x2 = 0.10", "x2 = -1.5")  # h2 on the slope < 0
    q = export(tmp_path, spec)
    assert all(item["exact"] for name, item in q.items() if name != "loss_history")
    f = Fraction
    slope = f(1, 100) if activation == "leaky_relu" else f(0)
    def act(z: Fraction) -> Fraction:
        return z if z > 0 else slope * z
    def d(z: Fraction) -> Fraction:
        return f(1) if z > 0 else slope
    x1, x2, t = f("0.05"), f("-1.5"), f("0.5")
    z1, z2 = f("0.15") * x1 + f("0.2") * x2 + f("0.35"), f("0.25") * x1 + f("0.3") * x2 + f("0.35")
    assert z1 > 0 > z2
    zo = f("0.4") * act(z1) - f("0.45") * act(z2) + f("0.6")
    delta = (act(zo) - t) * d(zo)
    expected = {"z_h2": z2, "h2": act(z2), "yhat": act(zo), "E": (act(zo) - t) ** 2 / 2,
                "dE/dw5": delta * act(z1), "dE/dw4": delta * f("-0.45") * d(z2) * x2}
    for name, value in expected.items():
        assert q[name]["value"] == forty(value), name


def test_sigmoid_of_zero_is_exact(tmp_path):
    spec = (EXAMPLES / "lecture.toml").read_text()
    for old, new in (("x1 = 0.05", "x1 = 0"), ("x2 = 0.10", "x2 = 0"), ("b1 = 0.35", "b1 = 0"),
                     ("b2 = 0.35", "b2 = 0"), ("w5 = 0.40", "w5 = 0.005"), ("w6 = 0.45", "w6 = 0"),
                     ("b3 = 0.60", "b3 = -0.0025"), ("t = 0.50", "t = 0.4975")):
        spec = spec.replace(old, new)
    q = export(tmp_path, spec)
    assert q["h1"]["exact"] and q["h1"]["value"] == "0.5" + "0" * 39
    assert q["z_o"]["exact"] and q["z_o"]["value"] == "0"  # 0.005 * 1/2 - 0.0025
    assert q["yhat"]["exact"] and q["yhat"]["value"] == "0.5" + "0" * 39  # sigmoid(0) = 1/2 again
    # yhat - t = 0.0025, a tie decided on the exact value; delta = 0.0025 / 4 = 0.000625
    assert q["dE/dyhat"]["exact"] and q["dE/dyhat"]["display"] == "0.003"
    assert q["dE/dz_o"]["exact"] and q["dE/dz_o"]["display"] == "0.001"


def test_transcendental_digits_are_certified(lecture):
    """Every lecture value's 40 digits against mpmath at 80 digits (an independent evaluation)."""
    mpmath.mp.dps = 80
    f = mpmath.mpf
    s = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    h1 = s(f("0.15") * f("0.05") + f("0.2") * f("0.1") + f("0.35"))
    h2 = s(f("0.25") * f("0.05") + f("0.3") * f("0.1") + f("0.35"))
    y = s(f("0.4") * h1 + f("0.45") * h2 + f("0.6"))
    for name, value in {"h1": h1, "h2": h2, "yhat": y, "E": (y - f("0.5")) ** 2 / 2,
                        "dE/dw5": (y - f("0.5")) * y * (1 - y) * h1}.items():
        assert full_text(lecture.value(name)) == full_text(Decimal(mpmath.nstr(value, 75, strip_zeros=False))), name


def test_rounding_waits_for_the_ball_to_decide():
    levels: list[int] = []

    def enclose(level: int) -> tuple[Decimal, Decimal]:
        levels.append(level)
        return ((Decimal("0.00249"), Decimal("0.00251")) if level == 0
                else (Decimal("0.0024999"), Decimal("0.00249995")))

    value = Certified.of(Decimal("0.0025"), enclose=enclose)  # the midpoint alone would say 0.003
    assert display(value, 3) == "0.002" and levels == [0, 1]
    tie = Certified.of(Decimal("0.0025"), enclose=lambda level: (Decimal("0.0025") - Decimal(10) ** -(50 + level),
                                                                  Decimal("0.0025") + Decimal(10) ** -(50 + level)))
    assert display(tie, 3) == "0.003"  # never decided: it is the tie, and half-up rounds away from 0
    around_zero = Certified.of(Decimal(0), enclose=lambda level: (Decimal("-1e-60"), Decimal("1e-60")))
    # its sign is never decided: no exact "0", only the places every point of the ball rounds to
    assert display(around_zero, 3) == "0.000" and significant(around_zero, 3) == "0.000"
    assert full_decision(around_zero) == ("0." + "0" * 40, False)  # |v| < 5e-41, nothing more
    assert display_decision(around_zero, 3) == ("0.000", True)  # every point of the ball displays 0.000
    wide_zero = Certified.of(Decimal(0), enclose=lambda level: (Decimal("-3e-20"), Decimal("1e-25")))
    assert full_decision(wide_zero) == ("0." + "0" * 19, False)  # 20 places would claim |v| < 5e-21
    assert full_decision(tie) == ("0.002500000000000000000000000000000000000000", True)
    assert full_decision(Certified.of(Decimal(0), exact=Fraction(0))) == ("0", True)  # an exact 0 is "0"
    third = Certified.of(Decimal(1) / 3, exact=Fraction(1, 3))
    assert full_text(third) == "0." + "3" * 40 and display(Fraction(-9975, 10000), 3) == "-0.998"


def test_reverse_mode_check_catches_a_wrong_gradient():
    """The end-to-end check of networks above 40 parameters fails on a gradient off by 1e-30."""
    spec = loads_spec(new_spec([3, 6, 5, 2], activation="tanh", loss="half_sse", seed=7))
    def off_by(relative: sympy.Rational) -> Derivation:
        derivation = derive(spec)
        quantities = derivation.network.quantities
        q = quantities["dE/dw(1)[2,3]"]
        quantities[q.name] = dataclasses.replace(q, definition=q.definition * (1 + relative))
        return derivation

    with pytest.raises(DerivationMismatch, match=r"dE/dw\(1\)\[2,3\].*agree to only (29|30) digits"):
        evaluate(off_by(sympy.Rational(1, 10**30)))
    evaluate(off_by(sympy.Rational(1, 10**50)))  # 1e-50 is beyond the 40 digits the check requires


def test_derivations_of_one_structure_share_compiled_steps_and_a_replaced_quantity_has_its_own():
    """The engine compiles a network's steps once per set of quantities: two specs of one structure (other
    values) run the same steps to their own values; a caller's replaced definition runs its own."""
    from symbackprop.engine.evaluate import Engine

    one, two = (loads_spec(new_spec([2, 3, 2], activation="tanh", seed=s)) for s in (1, 2))
    first, second = derive(one, prove=False), derive(two, prove=False)
    assert first.network.quantities is not second.network.quantities
    assert Engine(first.network).steps is Engine(second.network).steps
    assert evaluate(first).values["E"] != evaluate(second).values["E"]
    assert evaluate(second).values["E"] == evaluate(derive(two, prove=False)).values["E"]
    changed = derive(two, prove=False)
    quantities = changed.network.quantities
    quantities["E"] = dataclasses.replace(quantities["E"], definition=quantities["E"].definition * 2)
    assert Engine(changed.network).steps is not Engine(second.network).steps
    doubled, single = Fraction(evaluate(changed).values["E"]), Fraction(evaluate(second).values["E"])
    assert abs(doubled - 2 * single) < Fraction(1, 10**60)


# -- an exact value computed in ball arithmetic (the oracle's network 126) -----------------------

#: softmax ignores a common shift of its logits, so the gradient of the shared output bias is exactly
#: 0 (sum_j dE/dz_j = 0 in every example) and b(2)' = 2 - 2 * 0 = 2 exactly, both held as balls
SHARED_SOFTMAX_BIAS = """title = "Oracle network 126"
decimals = 3
learning_rate = 2
loss = "half_sse"
reduction = "sum"
steps = 2

[notation]
scheme = "indexed"

[network]
inputs = 4
layers = [
  { units = 2, activation = "leaky_relu", slope = 0.3 },
  { units = 2, activation = "softmax" },
]
bias = "shared"
frozen = ["w(1)[1,2]", "b(1)", "w(1)[1,3]"]

[parameters]
"w(1)[1,1]" = -0.45
"w(1)[1,2]" = -0.38
"w(1)[1,3]" = -0.86
"w(1)[1,4]" = 0.04
"b(1)" = -0.95
"w(1)[2,1]" = 0.77
"w(1)[2,2]" = 0.63
"w(1)[2,3]" = 0.05
"w(1)[2,4]" = -0.99
"w(2)[1,1]" = 0.79
"w(2)[1,2]" = 0.95
"b(2)" = 2
"w(2)[2,1]" = -0.17
"w(2)[2,2]" = 0.04

[[examples]]
"x[1]" = 0.85
"x[2]" = 0.33
"x[3]" = -0.34
"x[4]" = 0.82
"t[1]" = 0.02
"t[2]" = 0.98

[[examples]]
"x[1]" = 0.25
"x[2]" = 0.74
"x[3]" = 0.84
"x[4]" = -0.62
"t[1]" = 1.00
"t[2]" = 0.00

[[examples]]
"x[1]" = 1.00
"x[2]" = -0.93
"x[3]" = 0.36
"x[4]" = 0.50
"t[1]" = 0.00
"t[2]" = 1.00

"""


def test_exact_zero_gradient_in_a_ball_prints_only_proven_digits(tmp_path):
    """b(2)' = 2 exactly was exported as 2.000000000000000000027105054312137610851 (its ball's ends
    rounded at 66 bits, 2^-65 off): now every digit is decided, and the undecidable sign of the
    exactly-0 gradient is printed as the proven bound |v| < 5e-41, marked certified false."""
    q = export(tmp_path, SHARED_SOFTMAX_BIAS)
    updated, grad = q["b(2)'"], q["dE/db(2)"]
    assert updated["value"] == "2." + "0" * 39 and updated["display"] == "2.000"
    assert updated["certified"] and not updated["exact"]  # a ball, decided to all 40 digits
    assert grad["value"] == "0." + "0" * 40 and grad["display"] == "0.000"
    assert grad["certified"] is False and grad["exact"] is False  # |v| < 5e-41 proven, its sign is not
    assert q["b(2)"]["value"] == "2." + "0" * 39 and q["b(2)"]["exact"] and q["b(2)"]["certified"]
    undecided = sorted(name for name, item in q.items() if name != "loss_history" and not item["certified"])
    assert undecided == ["dE/db(2)"]


def test_tightening_recomputes_the_chain():
    """Each level of b(2)'s enclosure reruns the network at twice the bits: its width shrinks
    (the ends were once rounded at the midpoint's 1 bit + 64, the same 2^-65 at every level)."""
    from flint import arb, fmpq

    from symbackprop.engine.evaluate import ball_bounds

    spec = loads_spec(SHARED_SOFTMAX_BIAS)
    value = evaluate(derive(spec, prove=False))["b(2)'"]
    widths = [high - low for low, high in (value.enclose(level) for level in range(3))]
    assert widths[0] < Decimal("1e-80")
    assert widths[1] < widths[0] * Decimal("1e-80") and widths[2] < widths[1] * Decimal("1e-80")
    ball = arb(2, fmpq(1, 2**313))  # arb(midpoint, radius); the radius is rounded up a little
    mantissa, exponent = (int(n) for n in ball.rad().man_exp())
    low, high = ball_bounds(ball, 320)
    assert 2 - Fraction(low) == Fraction(high) - 2 == Fraction(mantissa) * Fraction(2) ** exponent


# -- issue 10, item 13: values that overflowed 80-digit Decimals --------------------------------

def _edit(name: str, *pairs: tuple[str, str]) -> str:
    text = (EXAMPLES / name).read_text()
    for pattern, new in pairs:
        text, n = re.subn(pattern, new, text, flags=re.M)
        assert n, pattern
    return text


@pytest.mark.parametrize("spec", [
    _edit("lecture.toml", (r"^w1 = .*", "w1 = -1e6")),
    _edit("lecture.toml", (r"^learning_rate = .*", "learning_rate = 1e6")),
    _edit("lecture.toml", (r"^x1 = .*", "x1 = -1e6")),
    _edit("lecture_2out_softmax_ce.toml", (r"^w5 = .*", "w5 = -1e6")),
    _edit("lecture_2out_sigmoid_bce.toml", (r"^w5 = .*", "w5 = 40"), (r"^t1 = .*", "t1 = 0")),
    _edit("lecture.toml", (r"^w5 = .*", "w5 = 1e6"), (r"^x2 = .*", "x2 = 1e-6")),
], ids=["w1=-1e6", "eta=1e6", "x1=-1e6", "softmax-w5=-1e6", "bce-t=0-w5=40", "w5=1e6"])
def test_large_values_evaluate(tmp_path, spec):
    """The issue's reproducers at the edge of the accepted range (|v| <= 1e6) are computed, not refused."""
    for command in ("check", "export"):
        done = run(tmp_path, command, spec)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("spec", [
    _edit("lecture.toml", (r"^w1 = .*", "w1 = -1e8")),
    _edit("lecture.toml", (r"^learning_rate = .*", "learning_rate = 1e8")),
    _edit("lecture.toml", (r"^x1 = .*", "x1 = -1e50")),
    _edit("lecture_2out_softmax_ce.toml", (r"^w5 = .*", "w5 = 1e8")),
], ids=["w1=-1e8", "eta=1e8", "x1=-1e50", "softmax-w5=1e8"])
def test_values_past_the_range_are_refused_in_one_line(tmp_path, spec):
    """The issue's own reproducers lie outside the documented range: one line naming the field, exit 2."""
    done = run(tmp_path, "export", spec)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "too large" in done.stderr and "1000000" in done.stderr


def test_bce_saturated_sigmoid_is_computed_right(tmp_path):
    """t = 0 and yhat = sigmoid(~24) = 1 - 4e-11: log(1 - yhat) is finite and certified."""
    q = export(tmp_path, _edit("lecture_2out_sigmoid_bce.toml", (r"^w5 = .*", "w5 = 40"), (r"^t1 = .*", "t1 = 0")))
    mpmath.mp.dps = 300
    f = mpmath.mpf
    s = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    h1 = s(f("0.15") * f("0.05") + f("0.2") * f("0.1") + f("0.35"))
    h2 = s(f("0.25") * f("0.05") + f("0.3") * f("0.1") + f("0.35"))
    names = {n: q[n]["value"] for n in ("yhat1", "yhat2", "E")}
    w = {k: f(v) for k, v in re.findall(r"^(w\d|b\d) = (\S+)", _edit("lecture_2out_sigmoid_bce.toml",
                                                                        (r"^w5 = .*", "w5 = 40")), re.M)}
    y1 = s(w["w5"] * h1 + w["w6"] * h2 + w["b3"])
    y2 = s(w["w7"] * h1 + w["w8"] * h2 + w["b4"])
    t2 = f(re.search(r"^t2 = (\S+)", (EXAMPLES / "lecture_2out_sigmoid_bce.toml").read_text(), re.M).group(1))
    expected = -(mpmath.log(1 - y1) + t2 * mpmath.log(y2) + (1 - t2) * mpmath.log(1 - y2))
    assert names["E"] == full_text(Decimal(mpmath.nstr(expected, 80, strip_zeros=False)))
    assert names["yhat1"] == full_text(Decimal(mpmath.nstr(y1, 80, strip_zeros=False)))
    assert names["yhat1"].startswith("0.9999999")  # saturated: 1 - yhat1 is tiny, yet certified


def test_out_of_reach_value_is_refused_in_one_line(tmp_path):
    # softmax with w5 = 1e6: dE/dyhat2 = -1/yhat2 is about -e^(5e5), far past what a page can print
    done = run(tmp_path, "export", _edit("lecture_2out_softmax_ce.toml", (r"^w5 = .*", "w5 = 1e6")))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "dE/dyhat2" in done.stderr and "Traceback" not in done.stderr


def test_worksheet_shows_the_tie_with_its_exact_operand(tmp_path):
    """The walkthrough redoes -133/120 * 0.9 exactly: no rounded operand reproduces the tie -0.998."""
    from texarith import checked_lines

    done = run(tmp_path, "worksheet", TIE_MSE, "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    tex = (tmp_path / "spec.tex").read_text(encoding="utf-8")
    assert r"\left(-\frac{133}{120}\right) \cdot 0.90 = \boxed{-0.998}" in tex
    assert not re.search(r"-0\.997(?!5)", tex)  # the exact -0.9975 is shown too
    lines = checked_lines(tex)
    assert any(r"\frac{133}{120}" in left and right.endswith("-0.998}") for left, right in lines)


def test_worksheet_of_a_saturated_unit_is_refused_in_one_line(tmp_path):
    """bce with t = 0 and yhat = 1 - e^-238: dE/dyhat1 = 1/(1 - yhat1) = 2.75e103 is past the values a
    page prints (README, Limits); the worksheet says so in one line instead of a traceback, and writes nothing."""
    spec = _edit("lecture_2out_sigmoid_bce.toml", (r"^w5 = .*", "w5 = 400"), (r"^t1 = .*", "t1 = 0"))
    done = run(tmp_path, "worksheet", spec, "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "dE/dyhat1 = 2.75e+103" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
