"""A graph-kind spec's training steps against an independent implementation, value by value.

The reference is written here from scratch: the forward and backward pass of CS231n's circuit
``f = (x + y) z`` (https://cs231n.github.io/optimization-2/: at x = -2, y = 5, z = -4, f = -12,
df/dy = z = -4, df/dz = x + y = 3) and of examples/rnn.toml (a one-unit tanh RNN over three steps,
backpropagation through time by hand), in Fraction where the arithmetic is rational and mpmath at
60 digits where it is not; and the update rules as PyTorch's documentation states them
(torch.optim.SGD with momentum/nesterov/weight_decay, RMSprop, Adam, AdamW). The engine's export
must agree to 35 significant digits, and exactly where it says a value is exact.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath
import pytest
from test_graph_documents import RNN_TWO_UNITS
from test_slides import _compile
from texarith import checked_lines

from symbackprop.cli import main
from symbackprop.documents.graphhandout import render_graph_handout
from symbackprop.documents.graphreport import graph_export_data
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.graphtrain import train_graph
from symbackprop.engine.kinds import loads_graph
from symbackprop.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
mpmath.mp.dps = 60
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CIRCUIT = """learning_rate = {lr}
steps = 3
[optimizer]
{table}
[graph]
inputs = {{ x = -2 }}
parameters = {{ y = 5, z = -4 }}
nodes = {{ q = "x + y", f = "q * z" }}
"""

#: (the [optimizer] table, PyTorch's hyperparameters for the reference)
RULES = {
    "sgd": ('name = "sgd"', {"name": "sgd"}),
    "nesterov": ('name = "momentum"\nmomentum = 0.5\nnesterov = true\nweight_decay = 0.1',
                 {"name": "momentum", "momentum": "0.5", "nesterov": True, "weight_decay": "0.1"}),
    "momentum": ('name = "momentum"', {"name": "momentum", "momentum": "0.9"}),
    "rmsprop": ('name = "rmsprop"\nalpha = 0.9\nepsilon = 0.001',
                {"name": "rmsprop", "alpha": "0.9", "epsilon": "0.001"}),
    "adam": ('name = "adam"\nweight_decay = 0.05', {"name": "adam", "weight_decay": "0.05"}),
    "adamw": ('name = "adam"\ndecoupled = true', {"name": "adamw", "weight_decay": "0.01"}),
}


def circuit_grad(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """f = (x + y) z and its gradients by the chain rule, x = -2 an input."""
    q = -2 + p["y"]
    return q * p["z"], {"y": p["z"], "z": q}


def rnn_grad(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """examples/rnn.toml by hand: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), y = W_hy h_3 + b_y,
    E = (y - 0.5)^2 / 2; backpropagation through time sums each shared weight over t."""
    xs, h = [mpmath.mpf(1), mpmath.mpf("-0.5"), mpmath.mpf(2)], [mpmath.mpf(0)]
    for x in xs:
        h.append(mpmath.tanh(p["W_xh"] * x + p["W_hh"] * h[-1] + p["b_h"]))
    y = p["W_hy"] * h[3] + p["b_y"]
    dy = y - mpmath.mpf("0.5")
    g = {"W_hy": dy * h[3], "b_y": dy, "W_xh": 0, "W_hh": 0, "b_h": 0}
    dh = dy * p["W_hy"]
    for t in (3, 2, 1):
        da = dh * (1 - h[t] ** 2)
        g["W_xh"] += da * xs[t - 1]
        g["W_hh"] += da * h[t - 1]
        g["b_h"] += da
        dh = da * p["W_hh"]
    return dy**2 / 2, g


def torch_steps(grad: Any, params: dict[str, Any], lr: Any, hp: dict[str, Any], steps: int, num: Any,
                sqrt: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """PyTorch's documented algorithms, step by step: every gradient, state and new parameter by name."""
    p = dict(params)
    wd = num(hp.get("weight_decay", "0"))
    state: dict[str, Any] = {k: 0 for k in p}
    second: dict[str, Any] = {k: 0 for k in p}
    rows, history = [], []
    for t in range(1, steps + 1):
        loss, g = grad(p)
        history.append(loss)
        row: dict[str, Any] = {}
        new = {}
        for k, theta in p.items():
            gk = g[k]
            row[f"df/d{k}" if "y" in p else f"dE/d{k}"] = gk
            if hp["name"] != "adamw" and wd:
                gk = gk + wd * theta
                row[f"g_{k}"] = gk
            if hp["name"] == "sgd":
                new[k] = theta - lr * gk
            elif hp["name"] == "momentum":
                mu = num(hp["momentum"])
                state[k] = mu * state[k] + gk  # b_t = mu b_{t-1} + g_t (b_1 = g_1, dampening 0)
                row[f"v_{k}"] = state[k]
                new[k] = theta - lr * (gk + mu * state[k] if hp.get("nesterov") else state[k])
            elif hp["name"] == "rmsprop":
                alpha, eps = num(hp["alpha"]), num(hp["epsilon"])
                state[k] = alpha * state[k] + (1 - alpha) * gk**2
                row[f"s_{k}"] = state[k]
                new[k] = theta - lr * gk / (sqrt(state[k]) + eps)
            else:  # adam, adamw: theta <- theta (1 - lr lambda) first (AdamW), then the Adam step
                b1, b2, eps = num("0.9"), num("0.999"), num("1e-8")
                state[k] = b1 * state[k] + (1 - b1) * gk
                second[k] = b2 * second[k] + (1 - b2) * gk**2
                mhat, vhat = state[k] / (1 - b1**t), second[k] / (1 - b2**t)
                row.update({f"m_{k}": state[k], f"v_{k}": second[k], f"mhat_{k}": mhat, f"vhat_{k}": vhat})
                decayed = theta * (1 - lr * wd) if hp["name"] == "adamw" else theta
                new[k] = decayed - lr * mhat / (sqrt(vhat) + eps)
            row[f"{k}'"] = new[k]
        p = new
        rows.append(row)
    history.append(grad(p)[0])
    return rows, history


def agree(text: str, expected: Any) -> bool:
    """The export's 40 digits against the reference's to 35 significant digits."""
    got, want = mpmath.mpf(text), mpmath.mpf(expected) if not isinstance(expected, Fraction) else \
        mpmath.mpf(expected.numerator) / expected.denominator
    return bool(abs(got - want) <= mpmath.mpf(10) ** -35 * max(1, abs(want)))


def compare(export: dict[str, Any], rows: list[dict[str, Any]], history: list[Any]) -> None:
    opt = export["optimizer"]
    assert len(opt["steps"]) == len(rows) == 3
    for step, row in zip(opt["steps"], rows, strict=True):
        assert set(step["values"]) == set(row), (sorted(step["values"]), sorted(row))
        for name, want in row.items():
            assert agree(step["values"][name], want), (step["step"], name, step["values"][name], want)
    assert len(opt["history"]) == 4
    for got, want in zip(opt["history"], history, strict=True):
        assert agree(got, want), (got, want)


@pytest.mark.parametrize("rule", RULES)
def test_the_circuit_trains_as_pytorch_documents(rule: str) -> None:
    table, hp = RULES[rule]
    spec = loads_graph(CIRCUIT.format(lr="0.25", table=table))
    solution = solve_graph(spec)
    rational = rule in ("sgd", "momentum", "nesterov")
    num = Fraction if rational else mpmath.mpf
    params = {"y": num(5), "z": num(-4)}
    rows, history = torch_steps(circuit_grad, params, num("0.25"), hp, 3, num, mpmath.sqrt)
    compare(graph_export_data(solution), rows, history)
    if rational:  # no root: every value exact, equal to the reference's fraction
        training = train_graph(solution)
        assert training is not None
        for step, row in zip(training.steps, rows, strict=True):
            for name, want in row.items():
                assert getattr(step[name], "exact", None) == want, (name, step[name], want)
        assert [getattr(v, "exact", None) for v in training.history] == history


@pytest.mark.parametrize("rule", RULES)
def test_the_rnn_example_trains_as_pytorch_documents(rule: str) -> None:
    table, hp = RULES[rule]
    text = f"learning_rate = 0.1\nsteps = 3\n[optimizer]\n{table}\n" + (EXAMPLES / "rnn.toml").read_text()
    solution = solve_graph(loads_graph(text))
    params = {k: mpmath.mpf(v) for k, v in
              {"W_xh": "0.5", "W_hh": "-0.8", "b_h": "0.1", "W_hy": "1.5", "b_y": "-0.2"}.items()}
    rows, history = torch_steps(rnn_grad, params, mpmath.mpf("0.1"), hp, 3, mpmath.mpf, mpmath.sqrt)
    compare(graph_export_data(solution), rows, history)


def test_the_first_step_is_cs231n_s_gradient_and_no_fields_no_training() -> None:
    """Step 1's gradients are the published ones (df/dz = 3, df/dy = -4); a spec without the fields
    exports as before (no optimizer object)."""
    spec = loads_graph(CIRCUIT.format(lr="0.25", table='name = "sgd"'))
    first = graph_export_data(solve_graph(spec))["optimizer"]["steps"][0]["values"]
    assert Decimal(first["df/dz"]) == 3 and Decimal(first["df/dy"]) == -4 and Decimal(first["z'"]) == Decimal("-4.75")
    plain = loads_graph((EXAMPLES / "graph_cs231n.toml").read_text())
    assert plain.training is None and "optimizer" not in graph_export_data(solve_graph(plain))


def test_defaults_learning_rate_and_one_sgd_step() -> None:
    spec = loads_graph('steps = 2\n[graph]\ninputs = { x = 3 }\nparameters = { w = 1 }\nnodes = { f = "w * w * x" }')
    assert spec.training is not None and spec.training.learning_rate == Fraction(1, 10)
    assert spec.training.optimizer.name == "sgd"
    training = train_graph(solve_graph(spec))
    assert training is not None  # w' = 1 - 0.1 * 6 = 0.4; w'' = 0.4 - 0.1 * 2.4 = 0.16
    assert [getattr(s["w'"], "exact", None) for s in training.steps] == [Fraction(2, 5), Fraction(4, 25)]


@pytest.mark.parametrize(("head", "message"), [
    ("learning_rate = 0", "learning_rate: must be positive"),
    ("steps = 101", "steps: must be between 1 and 100, got 101"),
    ("steps = true", "steps: must be a whole number"),
    ('[optimizer]\nname = "adagrad"', "optimizer.name: unknown value 'adagrad'"),
    ('[optimizer]\nname = "sgd"\nmomentum = 0.9', "optimizer.momentum: sgd does not use it"),
    ('[optimizer]\nname = "adam"\nbeta2 = 1', "optimizer.beta2: must lie in [0, 1)"),
])
def test_a_bad_training_field_is_one_line(tmp_path: Path, capsys: Any, head: str, message: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(head + '\n[graph]\ninputs = { x = 1 }\nparameters = { w = 2 }\nnodes = { f = "w * x" }\n')
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SpecError, match="no parameters to train"):
        loads_graph('steps = 2\n[graph]\ninputs = { x = 1 }\nnodes = { f = "x * x" }')


def test_check_ends_with_the_rule_and_export_carries_it(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CIRCUIT.format(lr="0.25", table='name = "momentum"\nnesterov = true'))
    assert main(["check", str(path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    # Nesterov mu = 0.9, lr 0.25: z' = -4 - 0.25 (3 + 0.9 * 3) = -5.425, y' = 5 + 0.25 * 7.6 = 6.9,
    # f' = 4.9 * -5.425 = -26.5825; the later steps from the reference, rounded half-up
    _, history = torch_steps(circuit_grad, {"y": Fraction(5), "z": Fraction(-4)}, Fraction(1, 4),
                             {"name": "momentum", "momentum": "0.9", "nesterov": True}, 3, Fraction, None)
    shown = [f"{Decimal(v.numerator) / Decimal(v.denominator):.2f}" for v in history]
    assert shown[1] == "-26.58" and all((v * 200).denominator != 1 or (v * 100).denominator == 1 for v in history)
    assert last == ("Update rule: momentum (Nesterov) (mu = 0.9); the output f over 3 steps: "
                    + " -> ".join(shown) + ".")
    assert main(["export", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["optimizer"]["name"] == "momentum" and data["optimizer"]["nesterov"] is True
    assert Decimal(data["optimizer"]["steps"][0]["values"]["z'"]) == Decimal("-5.425")


#: (spec text, language): the widest first-step lines (AdamW's decoupled term, an RNN's two units over
#: 11 parameters and more steps than the tables show), a coupled decay with Nesterov, German words
HANDOUTS = {
    "circuit_adamw": (CIRCUIT.format(lr="0.25", table='name = "adam"\ndecoupled = true'), "en"),
    "rnn2_rmsprop": ("learning_rate = 0.01\nsteps = 7\n[optimizer]\nname = \"rmsprop\"\nweight_decay = 0.001\n"
                     + RNN_TWO_UNITS, "en"),
    "conv_nesterov_de": ("learning_rate = 0.05\nsteps = 4\n[optimizer]\nname = \"momentum\"\nnesterov = true\n"
                         "weight_decay = 0.01\n" + (EXAMPLES / "conv1d.toml").read_text(), "de"),
}


@pytest.mark.parametrize("case", HANDOUTS)
def test_the_update_section_fits_its_pages_and_its_lines_hold(tex: None, case: str, tmp_path: Path) -> None:
    text, lang = HANDOUTS[case]
    document = render_graph_handout(solve_graph(loads_graph(text, "g")), lang)
    section = document[document.index(r"\section{Parameter" if lang == "en" else r"\section{Parameteraktual"):]
    assert r"\begin{axis}" in section and r"\usepackage{pgfplots}" in document
    assert len(checked_lines(section)) >= 2  # the first step's lines: every substitution's arithmetic holds
    if case.startswith("rnn2"):  # 5 of 7 steps in tables, every step on the curve
        assert section.count(r"\textit{Step $t") == 5 and "The first 5 of the 7 steps" in section
        assert section.count(")(") == 7  # 8 points: before the first step, after each of 7
    if case == "circuit_adamw":  # f goes below 0: the axis is not floored
        assert "ymin=0" not in section and r"\eta \lambda \theta" in section
    log = _compile(document, tmp_path)
    assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log, log[-1500:]


def test_a_handout_without_training_has_no_update_section_and_markdown_has_one() -> None:
    document = render_graph_handout(solve_graph(loads_graph((EXAMPLES / "rnn.toml").read_text(), "g")))
    assert "Parameter update" not in document and "pgfplots" not in document
    text, _ = HANDOUTS["rnn2_rmsprop"]
    markdown = render_graph_handout(solve_graph(loads_graph(text, "g")), fmt="md")
    section = markdown[markdown.index("## Parameter update: RMSprop"):markdown.index("Verification")]
    assert section.count("*Step $t = ") == 5 and "The first 5 of the 7 steps" in section
    assert r"s_{W_{xh,1}} &= \alpha s^{-}_{W_{xh,1}}" in section


@pytest.mark.parametrize("rule", ["adamw", "nesterov"])
def test_forty_steps_of_the_rnn_stay_with_the_reference(rule: str) -> None:
    """Many steps carry the states and the ball precision along: E after each of 40 steps to 35 digits."""
    table, hp = RULES[rule]
    text = f"learning_rate = 0.1\nsteps = 40\n[optimizer]\n{table}\n" + (EXAMPLES / "rnn.toml").read_text()
    training = train_graph(solve_graph(loads_graph(text)))
    assert training is not None
    params = {k: mpmath.mpf(v) for k, v in
              {"W_xh": "0.5", "W_hh": "-0.8", "b_h": "0.1", "W_hy": "1.5", "b_y": "-0.2"}.items()}
    _, history = torch_steps(rnn_grad, params, mpmath.mpf("0.1"), hp, 40, mpmath.mpf, mpmath.sqrt)
    assert len(training.history) == 41
    assert all(agree(str(got), want) for got, want in zip(training.history, history, strict=True))


def test_committed_rnn_adamw_handout_is_current(tmp_path: Path) -> None:
    assert main(["worksheet", str(EXAMPLES / "rnn_adamw.toml"), "-o", str(tmp_path)]) == 0
    committed = EXAMPLES.parent / "output" / "rnn_adamw.tex"
    assert committed.read_text(encoding="utf-8") == (tmp_path / "rnn_adamw.tex").read_text(encoding="utf-8")


def test_the_deck_of_a_training_spec_shows_the_rule_its_first_step_and_the_curve() -> None:
    """examples/rnn_adamw.toml on slides: AdamW's rule (one equation a row), the first step written out, and
    the loss curve at the training's own history (the engine's, compared above with the reference)."""
    import re

    from symbackprop.documents.graphslides import render_graph_slides

    solution = solve_graph(loads_graph((EXAMPLES / "rnn_adamw.toml").read_text(encoding="utf-8"), "r"))
    deck = render_graph_slides(solution)
    frames = deck.split(r"\begin{frame}")
    rule = [f for f in frames if "Parameter update: AdamW" in f]
    assert len(rule) >= 3 and r"\hat{m}_{\theta} &= \frac{m_{\theta}}{1 - \beta_{1}^{t}} \\" in rule[0]
    assert any("The first step written out for" in f for f in rule)
    training = train_graph(solution, {})
    assert training is not None
    points = re.findall(r"\((\d+),(-?[0-9.]+)\)", rule[-1])
    assert [int(t) for t, _ in points] == list(range(len(training.history)))
    history = training.history
    assert all(abs(Decimal(y) - Decimal(v)) <= Decimal("5e-7") for (_, y), v in zip(points, history, strict=True))
    assert r"\usepackage{pgfplots}" in deck


@pytest.mark.parametrize(("example", "extra", "stays"), [
    ("rnn_adamw.toml", "", "(the inputs, the targets and the initial state stay)"),
    ("conv1d.toml", "learning_rate = 0.5\nsteps = 2\n", "(the inputs and the targets stay)"),
    ("graph_cs231n.toml", "learning_rate = 0.5\nsteps = 2\n", "(the inputs stay)"),
])
def test_the_training_note_names_what_the_kind_keeps(tmp_path, example, extra, stays):
    """It said "inputs, targets and an initial state stay ... so that E decreases" for every kind: a convolution
    has no initial state, CS231n's circuit no targets, and a loss that grows did not decrease."""
    spec = tmp_path / example
    spec.write_text(extra + (ROOT / "examples" / example).read_text(encoding="utf-8"), encoding="utf-8")
    tex = render_graph_handout(solve_graph(str(spec)))
    assert f"Training moves the parameters only {stays} to lower $" in tex and "decreases:" not in tex
    german = render_graph_handout(solve_graph(str(spec)), lang="de")
    assert "um $" in german and "zu senken" in german
