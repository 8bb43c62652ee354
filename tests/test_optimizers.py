"""The ``[optimizer]`` rules against values worked out by hand, and its table's validation.

The network has one trainable parameter: ``yhat = w1 x1 (+ b1, frozen at 0)``, ``x1 = 2``, ``t = 3``,
``E = (2 w1 - 3)^2 / 2``, so ``dE/dw1 = 2 (2 w1 - 3)``, and at ``w1 = 0.5`` the gradient is ``-4`` and
``E = 2``.  Every expected value below is worked out in its test's docstring or comments from the
rules as PyTorch documents them (torch.optim.SGD, RMSprop, Adam, AdamW), not from the engine.
The random-network comparison of every rule with an independent implementation is in
tests/test_oracle.py (``test_optimizer_network``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from symbackprop.cli import main
from symbackprop.engine.derive import derive
from symbackprop.engine.evaluate import Evaluation, evaluate
from symbackprop.engine.spec import loads_spec
from symbackprop.errors import SpecError

F = Fraction
ONE_PARAMETER = """learning_rate = 0.1
steps = {steps}
[network]
inputs = 1
layers = [{{ units = 1, activation = "identity" }}]
frozen = ["biases"]
[parameters]
w1 = 0.5
b1 = 0
[[examples]]
x1 = 2
t = 3
[optimizer]
{table}
"""


def run(table: str, steps: int = 1) -> Evaluation:
    spec = loads_spec(ONE_PARAMETER.format(steps=steps, table=table))
    return evaluate(derive(spec))


def exact(value: object) -> Fraction:
    fraction = getattr(value, "exact", None)
    assert fraction is not None, f"{value} is not exact"
    return fraction


def test_sgd_one_step_and_the_defaults_named() -> None:
    """w1' = 0.5 - 0.1 (-4) = 0.9; E' = (1.8 - 3)^2 / 2 = 0.72."""
    ev = run('name = "sgd"')
    assert exact(ev["dE/dw1"]) == -4 and exact(ev["w1'"]) == F("0.9") and exact(ev["E'"]) == F("0.72")
    assert [set(step) for step in ev.steps] == [{"dE/dw1", "dE/db1", "w1'", "b1'"}]


def test_momentum_two_steps() -> None:
    """PyTorch: v_1 = g_1 = -4, w_1 = 0.5 + 0.1*4 = 0.9; g_2 = 2(1.8 - 3) = -2.4,
    v_2 = 0.9(-4) - 2.4 = -6, w_2 = 0.9 + 0.6 = 1.5, where E = (3 - 3)^2/2 = 0."""
    ev = run('name = "momentum"', steps=2)
    first, second = ev.steps
    assert exact(first["v_w1"]) == -4 and exact(first["w1'"]) == F("0.9")
    assert exact(second["dE/dw1"]) == F("-2.4") and exact(second["v_w1"]) == -6 and exact(second["w1'"]) == F("1.5")
    assert [exact(e) for e in ev.loss_history] == [2, F("0.72"), 0]
    assert exact(ev["v_w1-"]) == 0 and exact(ev["mu"]) == F("0.9")


def test_nesterov_two_steps() -> None:
    """v_1 = -4, step g + mu v = -4 - 3.6 = -7.6, w_1 = 0.5 + 0.76 = 1.26, E_1 = (2.52 - 3)^2/2 = 0.1152;
    g_2 = 2(2.52 - 3) = -0.96, v_2 = -3.6 - 0.96 = -4.56, step -0.96 - 4.104 = -5.064, w_2 = 1.7664."""
    ev = run('name = "momentum"\nnesterov = true', steps=2)
    assert exact(ev.steps[0]["w1'"]) == F("1.26") and exact(ev.loss_history[1]) == F("0.1152")
    assert exact(ev.steps[1]["v_w1"]) == F("-4.56") and exact(ev.steps[1]["w1'"]) == F("1.7664")


def test_rmsprop_exact_first_step_and_a_certified_root() -> None:
    """Defaults (alpha 0.99, eps 1e-8): s_1 = 0.01 * 16 = 0.16, sqrt = 0.4 exactly, so
    w_1 = 0.5 + 0.4 / 0.40000001 = 1/2 + 40000000/40000001 (a rational).  With eps = 0.1:
    w_1 = 0.5 + 0.4/0.5 = 1.3; g_2 = 2(2.6 - 3) = -0.8, s_2 = 0.99*0.16 + 0.01*0.64 = 0.1648,
    w_2 = 1.3 + 0.08/(sqrt(0.1648) + 0.1): irrational, a certified ball."""
    ev = run('name = "rmsprop"')
    assert exact(ev["s_w1"]) == F("0.16") and exact(ev["w1'"]) == F(1, 2) + F(40000000, 40000001)
    ev = run('name = "rmsprop"\nepsilon = 0.1', steps=2)
    assert exact(ev.steps[0]["w1'"]) == F("1.3") and exact(ev.steps[1]["s_w1"]) == F("0.1648")
    w2 = ev.steps[1]["w1'"]
    assert getattr(w2, "exact", None) is None
    with mpmath.workdps(50):
        expected = mpmath.mpf("1.3") + mpmath.mpf("0.08") / (mpmath.sqrt(mpmath.mpf("0.1648")) + mpmath.mpf("0.1"))
        assert abs(mpmath.mpf(str(w2)) - expected) < mpmath.mpf("1e-35")


def test_adam_bias_correction() -> None:
    """Defaults: m_1 = 0.1(-4) = -0.4, v_1 = 0.001*16 = 0.016, m^_1 = -0.4/(1 - 0.9) = -4,
    v^_1 = 0.016/(1 - 0.999) = 16, w_1 = 0.5 + 0.1*4/(4 + 1e-8) = 1/2 + 40000000/400000001.
    With eps = 1: w_1 = 0.5 + 0.4/5 = 0.58; g_2 = 2(1.16 - 3) = -3.68, m_2 = -0.36 - 0.368 = -0.728,
    v_2 = 0.999*0.016 + 0.001*13.5424 = 0.0295264, m^_2 = -0.728/0.19, v^_2 = 0.0295264/0.001999."""
    ev = run('name = "adam"')
    assert [exact(ev[n]) for n in ("m_w1", "v_w1", "mhat_w1", "vhat_w1")] == [F("-0.4"), F("0.016"), -4, 16]
    assert exact(ev["w1'"]) == F(1, 2) + F(40000000, 400000001)
    ev = run('name = "adam"\nepsilon = 1', steps=2)
    second = ev.steps[1]
    assert exact(ev.steps[0]["w1'"]) == F("0.58") and exact(second["dE/dw1"]) == F("-3.68")
    assert exact(second["m_w1"]) == F("-0.728") and exact(second["v_w1"]) == F("0.0295264")
    assert exact(second["mhat_w1"]) == F("-0.728") / F("0.19")
    assert exact(second["vhat_w1"]) == F("0.0295264") / F("0.001999")
    with mpmath.workdps(50):
        mhat, vhat = mpmath.mpf("0.728") / mpmath.mpf("0.19"), mpmath.mpf("0.0295264") / mpmath.mpf("0.001999")
        expected = mpmath.mpf("0.58") + mpmath.mpf("0.1") * mhat / (mpmath.sqrt(vhat) + 1)
        assert abs(mpmath.mpf(str(second["w1'"])) - expected) < mpmath.mpf("1e-35")


def test_weight_decay_coupled_and_decoupled() -> None:
    """SGD, lambda = 0.5: coupled g = -4 + 0.5*0.5 = -3.75, w' = 0.5 + 0.375 = 0.875; decoupled
    w' = 0.5 - 0.1*0.5*0.5 + 0.4 = 0.875 too (for SGD the two agree).  Adam (eps = 1) parts them:
    AdamW (lambda 0.01 by default) w' = 0.5 - 0.0005 + 0.4/5 = 0.5795; coupled lambda 0.01:
    g = -3.995, m^ = -3.995, v^ = 3.995^2, w' = 0.5 + 0.1*3.995/4.995 = 1/2 + 799/9990."""
    coupled = run('name = "sgd"\nweight_decay = 0.5')
    assert exact(coupled["g_w1"]) == F("-3.75") and exact(coupled["w1'"]) == F("0.875")
    assert exact(run('name = "sgd"\nweight_decay = 0.5\ndecoupled = true')["w1'"]) == F("0.875")
    adamw = run('name = "adam"\nepsilon = 1\ndecoupled = true')
    assert exact(adamw["lambda"]) == F("0.01") and exact(adamw["w1'"]) == F("0.5795")
    adam_l2 = run('name = "adam"\nepsilon = 1\nweight_decay = 0.01')
    assert exact(adam_l2["g_w1"]) == F("-3.995") and exact(adam_l2["w1'"]) == F(1, 2) + F(799, 9990)


@pytest.mark.parametrize(("table", "message"), [
    ('name = "adagrad"', "optimizer.name: unknown value 'adagrad' "
                         "(did you mean 'adam'? expected one of: sgd, momentum, rmsprop, adam)"),
    ('name = "adam"\nmomentum = 0.9', "optimizer.momentum: adam does not use it"),
    ('name = "adam"\nbeta1 = 1', "optimizer.beta1: must lie in [0, 1), got 1"),
    ('name = "adam"\nbeta2 = "x"', "optimizer.beta2: 'x' is not a number"),
    ('name = "rmsprop"\nepsilon = 0', "optimizer.epsilon: must lie in (0, 1], got 0"),
    ('name = "rmsprop"\nepsilon = 1e-20', "optimizer.epsilon: '1e-20' is too small"),
    ('name = "momentum"\nnesterov = 1', "optimizer.nesterov: must be true or false, got 1"),
    ('name = "momentum"\nmomentum = 0\nnesterov = true', "optimizer.nesterov: needs a momentum above 0"),
    ('name = "sgd"\nweight_decay = 2', "optimizer.weight_decay: must lie in [0, 1], got 2"),
    ('name = "sgd"\nlr = 0.1', "optimizer.lr: unknown field (expected one of: name, weight_decay, decoupled)"),
])
def test_a_bad_field_is_one_line_naming_it(table: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(ONE_PARAMETER.format(steps=1, table=table), source="s.toml")
    text = str(info.value)
    assert text.startswith("s.toml: " + message) and "\n" not in text


def test_cli_export_carries_each_step_and_a_bad_table_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "adam.toml"
    path.write_text(ONE_PARAMETER.format(steps=3, table='name = "adam"\nepsilon = 1'), encoding="utf-8")
    assert main(["export", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)["optimizer"]
    assert data["name"] == "adam" and [s["step"] for s in data["steps"]] == [1, 2, 3]
    assert data["steps"][0]["values"]["w1'"].startswith("0.58000")
    assert main(["check", str(path)]) == 0
    assert "Update rule: adam (beta1 = 0.9, beta2 = 0.999, epsilon = 1)" in capsys.readouterr().out
    path.write_text(ONE_PARAMETER.format(steps=1, table='name = "adam"\nbeta1 = 2'), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "optimizer.beta1" in err and "Traceback" not in err


# -- the handout --------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def handout(name: str, **options: str) -> str:
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.engine.solution import solve

    return render_worksheet(solve(ROOT / "examples" / f"{name}.toml"), **options)


@pytest.fixture(scope="module")
def adam_tex() -> str:
    return handout("adam")


def test_adam_handout_shows_the_rule_its_state_per_step_and_the_loss_curve(adam_tex: str) -> None:
    from texarith import checked_lines

    # the class's name in typewriter, breakable at its dots ("torch.optim.SGD" had run 31 pt into the margin)
    assert r"\section{Parameter update: AdamW}" in adam_tex
    assert r"\texttt{torch.\allowbreak optim.\allowbreak AdamW}" in adam_tex
    assert r"\hat{m}_{\theta} &= \frac{m_{\theta}}{1 - \beta_{1}^{t}}" in adam_tex
    assert r"\theta' &= \theta - \eta \lambda \theta - \eta \frac{\hat{m}_{\theta}}" in adam_tex
    assert r"\epsilon = 10^{-8},\quad \lambda = 0.01" in adam_tex
    assert r"\textbf{Decoupled weight decay (as AdamW does):}" in adam_tex
    # the first step of w5 written out, its state 0 before the step and t = 1 shown exactly
    # the state to 4 significant digits, as the tables below show it and the next line uses it: v had read
    # "= 0.000" before a line that divided 7.76e-7, and v-hat "0.001" before the root of 0.0007761
    assert r"m_{w_{5}} &= 0.90 \cdot 0 + \left(1 - 0.90\right) \cdot 0.02786 = 0.002786" in adam_tex
    assert r"\frac{0.002786}{1 - 0.90^{1}} = 0.02786" in adam_tex
    assert r"\cdot 0.027859^{2} = 7.761 \times 10^{-7}" in adam_tex
    assert r"\hat{v}_{w_{5}} &= \frac{\left(7.761 \times 10^{-7}\right)}{1 - 0.999^{1}} = 0.0007761" in adam_tex
    assert r"\frac{0.02786}{\sqrt{0.0007761} + 0.00000001}" in adam_tex
    # one table per step (4), with 9 parameter rows each, and the loss curve over the 4 steps
    assert [adam_tex.count(rf"Step $t = {t}$") for t in range(1, 6)] == [1, 1, 1, 1, 0]
    assert adam_tex.count(r"\hat{v}_{\theta}$ & $\theta'$") == 4
    assert r"\usepackage{pgfplots}" in adam_tex and adam_tex.count(r"\addplot") == 1
    assert "coordinates {(0,0.031592)(1,0.020856)" in adam_tex
    # every arithmetic line the independent reader understands holds (roots are beyond it)
    assert len(checked_lines(adam_tex)) == 34


def test_committed_adam_showcase_is_current(adam_tex: str) -> None:
    assert (ROOT / "output" / "adam.tex").read_text(encoding="utf-8") == adam_tex


def test_momentum_handout_names_the_coupled_decay_and_its_lines_hold() -> None:
    from texarith import checked_lines

    tex = handout("momentum")
    assert r"\section{Parameter update: SGD with momentum}" in tex
    assert r"\textbf{L2 weight decay as a loss term (coupled):}" in tex
    assert r"g_{\theta} &= \frac{\partial E}{\partial \theta} + \lambda \theta" in tex
    assert r"g_{w_{5}} &= 0.02786 + 0.001 \cdot 0.40 = 0.02826" in tex
    lines = checked_lines(tex)
    assert len(lines) == 42 and (r"0.90 \cdot 0 + 0.02826", "0.02826") in lines  # the lecture's 39 + g, v, w5'
    md = handout("momentum", fmt="md")
    assert "**L2 weight decay as a loss term (coupled):**" in md and md.count("| $w_{5}$ |") == 4
    assert "Parameteraktualisierung: SGD mit Momentum" in handout("momentum", lang="de")


def test_one_step_has_no_curve_and_plain_specs_no_plot_package() -> None:
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.engine.solution import solve

    text = (ROOT / "examples" / "adam.toml").read_text(encoding="utf-8").replace("steps = 4", "steps = 1")
    tex = render_worksheet(solve(loads_spec(text)))
    assert r"Step $t = 1$" in tex and r"\addplot" not in tex and "pgfplots" not in tex


@pytest.mark.parametrize("example", ["adam.toml", "momentum.toml"])
def test_an_exam_asks_for_the_optimizers_update_and_its_keys_hold(tmp_path: Path, capsys, example: str) -> None:
    """An exam of an [optimizer] spec: the sheet states the rule and its hyperparameters, every variant's
    spec carries the [optimizer] table (verify marks its own key all correct), and every value of every
    key is the independent oracle's (tests/oracle.py: PyTorch's algorithm boxes, no engine code)."""
    import tomllib

    from oracle import display as oracle_display
    from oracle import evaluate as oracle_evaluate

    out = tmp_path / "exam"
    assert main(["exam", str(ROOT / "examples" / example), "--variants", "3", "-o", str(out), "--moodle"]) == 0
    capsys.readouterr()
    question = (out / "questions" / "v001.tex").read_text(encoding="utf-8")
    assert r"\theta' &= \theta" in question and "Hyperparameters:" in question
    assert "Update every trainable parameter" in (out / "moodle.xml").read_text(encoding="utf-8")
    for variant in sorted((out / "variants").glob("v*.toml")):
        spec_text = variant.read_text(encoding="utf-8")
        assert "[optimizer]" in spec_text
        answers = out / "answers" / variant.name
        assert main(["verify", str(variant), str(answers)]) == 0
        capsys.readouterr()
        reference = oracle_evaluate(spec_text)
        asked = tomllib.loads(answers.read_text(encoding="utf-8"))["values"]
        assert any(name.endswith("'") for name in asked)  # the updated parameters are asked
        for name, shown in asked.items():
            assert shown == oracle_display(reference.values[name], reference.decimals)[0], (variant.name, name)


def test_the_deck_teaches_the_optimizers_rule_its_first_step_and_the_loss_curve() -> None:
    """The one-parameter Adam network of test_adam_bias_correction on slides: the rule (one equation a row),
    w1's first step with the values worked out there, its new value, and the loss curve at the exact losses."""
    from symbackprop.documents.slides import render_slides
    from symbackprop.engine.solution import solve

    solution = solve(loads_spec(ONE_PARAMETER.format(steps=2, table='name = "adam"\nepsilon = 1')))
    deck = render_slides(solution)
    frames = deck.split(r"\begin{frame}")
    rule = next(f for f in frames if "The update rule" in f)
    assert r"\hat{m}_{\theta} &= \frac{m_{\theta}}{1 - \beta_{1}^{t}} \\" in rule  # narrow: one a row
    assert r"\beta_{1} = 0.90" in rule and r"\eta = 0.10" in rule
    first = next(f for f in frames if "first step" in f)
    assert r"\hat{m}_{w_{1}} &= \frac{\left(-0.400\right)}{1 - 0.90^{1}}" in first
    assert r"\boxed{0.580}" in first  # w1' = 0.50 - 0.10 (-4) / (sqrt(16) + 1)
    curve = next(f for f in frames if "The loss over the steps" in f)
    history = solution.evaluation.loss_history
    assert len(history) == 3
    points = re.findall(r"\((\d+),(-?[0-9.]+)\)", curve)
    assert [int(t) for t, _ in points] == [0, 1, 2]
    assert all(abs(Decimal(y) - loss) <= Decimal("5e-7") for (_, y), loss in zip(points, history, strict=True))
    assert r"\usepackage{pgfplots}" in deck
    assert r"\usepackage{pgfplots}" not in render_slides(solve())  # the plain deck stays as it was


def test_the_deck_and_the_handout_write_out_the_same_parameter_one_whose_gradient_shows() -> None:
    """examples/adam.toml (the lecture network, 4 steps): dE/dw1 shows as 0.000 at 3 decimals, so writing out w1's
    first step would read 0.000 for m, v and both corrections; the handout writes out w5 (the output layer's first),
    and the deck now does too (it had written out w1).  Its subtitle counts the 4 steps."""
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.documents.slides import render_slides
    from symbackprop.engine.solution import solve

    solution = solve(ROOT / "examples" / "adam.toml")
    assert solution.display("dE/dw1") == "0.000" and solution.display("dE/dw5") != "0.000"
    deck = render_slides(solution)
    assert r"Written out for $w_{5}$" in deck and r"Written out for $w_{1}$" not in deck
    assert r"\subtitle{4 training steps of a 2-2-1 network" in deck
    assert r"The first step written out for $w_{5}$" in render_worksheet(solution)
    assert r"\subtitle{One training step of a 2-2-1 network" in render_slides(solve())


def test_a_network_without_hidden_layers_gets_its_handout() -> None:
    """The one-parameter network of the tests above (no hidden layer: the reference section has no
    hidden step), under Adam, in both formats; its first step as worked out in test_adam_bias_correction."""
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.engine.solution import solve

    solution = solve(loads_spec(ONE_PARAMETER.format(steps=2, table='name = "adam"\nepsilon = 1')))
    tex = render_worksheet(solution)
    assert r"{w_{1}}' &= 0.50 - 0.10 \cdot \frac{\left(-4.000\right)}{\sqrt{16.000} + 1} = \boxed{0.580}" in tex
    assert r"\hat{m}_{w_{1}} &= \frac{\left(-0.400\right)}{1 - 0.90^{1}} = -4.000" in tex
    assert "Step $t = 2$" in render_worksheet(solution, fmt="md")


@pytest.mark.parametrize(("table", "decimals", "given", "verdict", "why"), [
    # Adam, eps = 1 (test_adam_bias_correction): w1' = 0.5 + 0.4/5 = 0.58
    ('name = "adam"\nepsilon = 1', 3, "0.580", "correct", ""),
    ('name = "adam"\nepsilon = 1', 3, "0.900", "wrong", "the plain gradient step"),  # 0.5 - 0.1 (-4)
    # m = -0.4, v = 0.016 uncorrected: 0.5 + 0.1 * 0.4 / (sqrt(0.016) + 1) = 0.53551
    ('name = "adam"\nepsilon = 1', 3, "0.536", "wrong", "Adam's bias correction left out"),
    # AdamW: 0.5 - 0.1*0.01*0.5 + 0.4/5 = 0.5795; without the decay 0.58
    ('name = "adam"\nepsilon = 1\ndecoupled = true', 4, "0.5800", "wrong", "decoupled weight decay"),
    # SGD with L2 0.5: g = -4 + 0.25, w1' = 0.875; without the L2 term 0.9
    ('name = "sgd"\nweight_decay = 0.5', 3, "0.900", "wrong", "the L2 term"),
])
def test_verify_marks_an_optimizers_update_and_names_its_slips(tmp_path: Path, capsys, table: str, decimals: int,
                                                               given: str, verdict: str, why: str) -> None:
    """A student's w1' under an [optimizer] rule, marked against the rule, with the rule's usual slips named."""
    spec = tmp_path / "spec.toml"
    spec.write_text(f"decimals = {decimals}\n" + ONE_PARAMETER.format(steps=1, table=table), encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text(f'[values]\n"w1\'" = "{given}"\n', encoding="utf-8")
    assert main(["verify", str(spec), str(answers), "--format", "json"]) in (0, 1)
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["verdict"] == verdict and why in row["why"], row


def test_check_writes_the_rule_as_the_spec_does(capsys) -> None:
    """epsilon = 1e-8 as the spec writes it (it printed 0.00000001) and "over 4 steps" (not "4 step(s)")."""
    assert main(["check", str(ROOT / "examples" / "adam.toml")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert "epsilon = 1e-8)" in last and "the loss over 4 steps: 0.032 -> " in last


@pytest.mark.parametrize("example", ["momentum.toml", "adam.toml"])
def test_the_state_heading_stays_with_its_first_table(tex, example, tmp_path) -> None:
    """momentum's "The optimizer's state, step by step" and its intro sat at the foot of page 5, a third of it
    empty, and its tables began on page 6: the intro and the first step's table are one box now, and the
    heading goes with them."""
    import subprocess

    spec = Path(__file__).resolve().parent.parent / "examples" / example
    assert main(["worksheet", str(spec), "--pdf", "-o", str(tmp_path)]) == 0
    pdf = tmp_path / example.replace(".toml", ".pdf")
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout.split("\f")
    page = next(p for p in pages if "The optimizer’s state, step by step" in p or "The optimizer's state" in p)
    assert "Step t = 1" in page.split("step by step", 1)[1], page[-600:]
