"""1-D convolution specs ([conv1d]): an independent forward and backward pass (Fraction where the values
are rational, mpmath at 60 digits where tanh or the sigmoid make them transcendental) compared value by value
with ``symbackprop export``; the proofs; the handout's sums over positions and max-pool routing; bad input."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from symbackprop.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "conv1d.toml"
EXACT = ("identity", "relu")  # the activations that keep every value rational
mpmath.mp.dps = 60


# --------------------------------------------------------------------------- the independent oracle


def _act(name: str, z):
    """(a, da/dz) at z, by the textbook definitions."""
    if name == "identity":
        return z, 1
    if name == "relu":
        return (z, 1) if z > 0 else (0 * z, 0)  # the derivative at 0 taken as 0 (step(0) = 0)
    if name == "tanh":
        a = mpmath.tanh(z)
        return a, 1 - a * a
    a = 1 / (1 + mpmath.exp(-z))
    return a, a * (1 - a)


def oracle(case: dict) -> tuple[dict[str, object], dict[str, object]]:
    """Every node's value and every name's gradient (``dE/d<name>``) of one case, by hand: the padded input,
    the kernel slid with its stride, the activation, pooling (max: the strict winner takes the upstream
    gradient, a tie gives none), the dense output and the loss; then the same steps backwards."""
    exact = case["activation"] in EXACT
    num = Fraction if exact else (lambda text: mpmath.mpf(Fraction(text).numerator) / Fraction(text).denominator)
    x, w, v = ([num(str(n)) for n in case[key]] for key in ("x", "w", "v"))
    b, c, t = (num(str(case[key])) for key in ("b", "c", "target"))
    k, s, pad = len(w), case["stride"], case["padding"]
    xp = [0] * pad + list(x) + [0] * pad
    positions = (len(xp) - k) // s + 1
    z = [sum(w[m] * xp[i * s + m] for m in range(k)) + b for i in range(positions)]
    a, slope = zip(*(_act(case["activation"], zi) for zi in z), strict=True)
    values: dict[str, object] = {f"z{i + 1}": z[i] for i in range(positions)}
    stem = "z"
    if case["activation"] != "identity":
        values.update({f"a{i + 1}": a[i] for i in range(positions)})
        stem = "a"
    if case["pooling"] != "none":
        size, step = case["pool_size"], case["pool_stride"]
        windows = [list(range(j * step, j * step + size)) for j in range((positions - size) // step + 1)]
        pooled = [max(a[i] for i in win) if case["pooling"] == "max" else sum(a[i] for i in win) / size
                  for win in windows]
        values.update({f"p{j + 1}": pooled[j] for j in range(len(windows))})
        stem = "p"
    else:
        windows, pooled = [[i] for i in range(positions)], list(a)
    y = sum(vj * pj for vj, pj in zip(v, pooled, strict=True)) + c
    e = (y - t) ** 2 / 2 if case["loss"] == "half_sse" else (y - t) ** 2
    values.update({"y": y, "E": e})
    # backwards
    dy = (y - t) if case["loss"] == "half_sse" else 2 * (y - t)
    grads: dict[str, object] = {"E": 1, "y": dy, "c": dy, "t": -dy}
    grads.update({f"v{j + 1}": dy * pooled[j] for j in range(len(v))})
    dpooled = [dy * vj for vj in v]
    da = [0 * dy] * positions
    if case["pooling"] != "none":
        grads.update({f"p{j + 1}": dpooled[j] for j in range(len(windows))})
        for j, win in enumerate(windows):
            for i in win:
                if case["pooling"] == "avg":
                    da[i] += dpooled[j] / len(win)
                elif all(a[i] > a[o] for o in win if o != i):
                    da[i] += dpooled[j]
    else:
        da = dpooled
    if case["activation"] != "identity":
        grads.update({f"a{i + 1}": da[i] for i in range(positions)})
    dz = [da[i] * slope[i] for i in range(positions)]
    grads.update({f"z{i + 1}": dz[i] for i in range(positions)})
    grads["b"] = sum(dz)
    for m in range(k):
        grads[f"w{m + 1}"] = sum(dz[i] * xp[i * s + m] for i in range(positions))
    dx = [0 * dy] * len(xp)
    for i in range(positions):
        for m in range(k):
            dx[i * s + m] += dz[i] * w[m]
    grads.update({f"x{j + 1}": dx[j + pad] for j in range(len(x))})
    assert stem in {"z", "a", "p"}
    return values, grads


def _half_up(value, decimals: int) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else \
        Decimal(mpmath.nstr(value, 50, strip_zeros=False))
    shown = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return str(shown.copy_abs() if shown == 0 else shown)


def _terminates(value: Fraction) -> bool:
    q = value.denominator
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def _toml(case: dict) -> str:
    lines = ["[conv1d]"]
    for key, value in case.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


#: drawn across the features: kernel 1..3, stride 1 and 2, padding 0 and 1, every activation, every pooling,
#: both losses; inputs with ties (integers: equal maxima, relu at 0) and with long decimals
CASES = [
    dict(x=[1, -2, 3], w=[0.5], b=0.25, stride=1, padding=0, activation="identity", pooling="none",
         v=[1, -1, 0.5], c=0, target=1, loss="half_sse"),
    dict(x=[1, 2, 1, 2, 3], w=[1, 1], b=0, stride=1, padding=0, activation="relu", pooling="max", pool_size=2,
         pool_stride=2, v=[1, 1], c=0, target=0, loss="half_sse"),  # p1 = max(3, 3): a tie
    dict(x=[0.3, -1.2, 2.5, 0.7], w=[0.2, -0.4, 0.1], b=-0.05, stride=1, padding=1, activation="tanh",
         pooling="avg", pool_size=2, pool_stride=2, v=[0.6, -0.3], c=0.2, target=0.5, loss="half_sse"),
    dict(x=[1.5, -0.5, 2, -1, 0.25], w=[0.3, -0.2, 0.5], b=0.1, stride=2, padding=1, activation="sigmoid",
         pooling="max", pool_size=2, pool_stride=1, v=[1.2, -0.7], c=-0.1, target=0.3, loss="mse"),
    dict(x=[2, -1, 0.5, 3, -2, 1], w=[-1, 0.5], b=0.5, stride=2, padding=0, activation="relu", pooling="avg",
         pool_size=3, pool_stride=3, v=[0.75], c=0.125, target=-1, loss="mse"),
    dict(x=[0.1, 0.2, -0.3, 0.4, 0.5], w=[1, -2, 1], b=0, stride=1, padding=0, activation="identity",
         pooling="max", pool_size=3, pool_stride=1, v=[3], c=0, target=0.2, loss="half_sse"),
    dict(x=[-1, 2, -3, 4], w=[0.25], b=-0.5, stride=1, padding=0, activation="sigmoid", pooling="avg",
         pool_size=2, pool_stride=2, v=[1, -1], c=0.5, target=0.25, loss="half_sse"),
    dict(x=[0.5, -1.5, 1, 2, -0.5], w=[0.2, 0.3, -0.1], b=0, stride=2, padding=0, activation="tanh",
         pooling="none", v=[0.4, -0.6], c=0.1, target=0, loss="mse"),
    dict(x=[3, -1, 2, 0], w=[1, -1], b=0.5, stride=1, padding=1, activation="relu", pooling="none",
         v=[0.5, -0.25, 1, 0.75, -1], c=0, target=2, loss="half_sse"),
    dict(x=[0, 1, 0, 1, 0, 1], w=[1, 0, -1], b=0, stride=1, padding=1, activation="relu", pooling="max",
         pool_size=2, pool_stride=2, v=[1, 2, -1], c=0, target=1, loss="half_sse"),  # relu at 0, ties of 0s
]


@pytest.mark.parametrize("case", CASES, ids=[f"k{len(c['w'])}s{c['stride']}p{c['padding']}-{c['activation']}-"
                                             f"{c['pooling']}" for c in CASES])
def test_export_matches_an_independent_convolution(case, tmp_path, capsys):
    spec = tmp_path / "case.toml"
    spec.write_text(_toml({"decimals": 3, **case}), encoding="utf-8")
    assert main(["export", str(spec)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "conv1d"
    values, grads = oracle(case)
    exported = {n["name"]: n for n in data["nodes"]}
    exported_grads = {g["of"]: g for g in data["gradients"]}
    assert set(exported) == set(values) and set(exported_grads) == set(grads)
    exact = case["activation"] in EXACT
    for table, truth in ((exported, values), (exported_grads, grads)):
        for name, expected in truth.items():
            got = table[name]
            number = Fraction(expected) if exact else expected
            assert got["display"] == _half_up(number, 3), (name, got["display"], number)
            if exact or (table is exported and name[0] == "z"):  # z_i: rational before any tanh or sigmoid
                assert got["exact"], name
            if exact and _terminates(number):
                assert Fraction(got["value"]) == number, (name, got["value"], number)
            else:  # 40 significant digits of 1/3, or of a transcendental value
                error = abs(mpmath.mpf(Fraction(got["value"]).numerator) / Fraction(got["value"]).denominator
                            - (mpmath.mpf(number.numerator) / number.denominator if exact else number))
                assert error <= mpmath.mpf("1e-35") * max(1, abs(number)), name
    assert all(p["proven"] for p in data["proofs"]) and len(data["proofs"]) == len(data["leaves"])


# --------------------------------------------------------------------------- the commands on the example


def test_check_proves_every_gradient(capsys):
    assert main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "15 of 15 gradients proven equal to the chain rule" in out and "[conv1d]" in out
    # the shared kernel weight's chain rule is its sum over the positions that read a real input
    assert "dE/dz2*x2 + dE/dz3*x4 + dE/dz4*x6" in out
    assert "dE/dz1 + dE/dz2 + dE/dz3 + dE/dz4" in out


def test_handout_sums_over_positions_and_routes_max(tmp_path):
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path)]) == 0
    tex = (tmp_path / "conv1d.tex").read_text(encoding="utf-8")
    assert "The shared kernel: its gradient is a sum over positions" in tex
    # w1 meets the padded zero at position 1: its term is written with 0, and the numbers reproduce -0.553
    assert r"\frac{\partial E}{\partial z_{1}} \, 0 + \frac{\partial E}{\partial z_{2}} \, x_{2}" in tex
    assert "= -0.553" in tex.replace(r"\mathbf", "")
    assert r"$p_{1}$ & $a_{1} = 0.600, a_{2} = 4.225$ & $0.079$ & $a_{2}$ (all of it, $0.079$)" in tex
    assert r"\tilde{x} = \left(0, x_{1}" in tex
    committed = EXAMPLE.parent.parent / "output" / "conv1d.tex"
    assert committed.read_text(encoding="utf-8") == tex
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path), "--lang", "de"]) == 0
    assert "Der geteilte Kernel" in (tmp_path / "conv1d.tex").read_text(encoding="utf-8")


def test_a_tie_routes_to_no_position(tmp_path):
    spec = tmp_path / "tie.toml"
    spec.write_text(_toml({"decimals": 2, **CASES[1]}), encoding="utf-8")
    assert main(["worksheet", str(spec), "-o", str(tmp_path)]) == 0
    tex = (tmp_path / "tie.tex").read_text(encoding="utf-8")
    assert r"$p_{1}$ & $a_{1} = 3.00, a_{2} = 3.00$ & $8.00$ & none: a tie, $\mathrm{step}(0) = 0$" in tex
    assert r"$p_{2}$ & $a_{3} = 3.00, a_{4} = 5.00$ & $8.00$ & $a_{4}$ (all of it, $8.00$)" in tex
    assert "PyTorch would give it to the first maximum" in tex


def test_worksheet_pdf_compiles(tmp_path, tex):
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path), "--pdf"]) == 0
    assert (tmp_path / "conv1d.pdf").stat().st_size > 10_000


# --------------------------------------------------------------------------- bad input


GOOD = 'x = [1, 2, 3, 4]\nw = [1, -1]\nv = [1, 1, 1]\ntarget = 1\n'


@pytest.mark.parametrize(("body", "problem"), [
    (GOOD.replace("x = [1, 2, 3, 4]\n", ""), "conv1d.x: missing"),
    (GOOD.replace("[1, 2, 3, 4]", "[]"), "conv1d.x: must be a list of 1 to 8 numbers"),
    (GOOD.replace("[1, 2, 3, 4]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"), "conv1d.x: must be a list of 1 to 8"),
    (GOOD.replace("[1, 2, 3, 4]", '[1, "two", 3, 4]'), "conv1d.x[1]: 'two' is not a number"),
    (GOOD.replace("[1, -1]", "[1, -1, 2, 1, 1]"), "conv1d.w: must be a list of 1 to 4 numbers"),
    (GOOD.replace("[1, -1]", "[1, 1e9]"), "conv1d.w[1]: 1e9 is too large"),
    (GOOD + "padding = 2\n", "conv1d.padding: must be between 0 and 1, got 2"),
    (GOOD + "stride = 0\n", "conv1d.stride: must be between 1 and 3, got 0"),
    (GOOD.replace("[1, 2, 3, 4]", "[1, 2, 3]").replace("[1, 1, 1]", "[1]") + "stride = 2\n",
     "conv1d.stride: x3 lies in no window"),
    (GOOD + 'activation = "softmax"\n', "conv1d.activation: unknown value 'softmax'"),
    (GOOD + 'pooling = "min"\n', "conv1d.pooling: unknown value 'min'"),
    (GOOD + "pool_size = 2\n", 'conv1d.pool_size: only with pooling = "max" or "avg"'),
    (GOOD + 'pooling = "max"\npool_size = 2\n', "conv1d.pool_stride: windows of 2 with stride 2 leave"),
    (GOOD + 'pooling = "max"\npool_size = 5\n', "conv1d.pool_size: must be between 2 and 3, got 5"),
    (GOOD.replace("[1, 1, 1]", "[1, 1]"), "conv1d.v: needs 3 weight(s), one per value the dense output reads"),
    (GOOD + 'loss = "bce"\n', "conv1d.loss: unknown value 'bce'"),
    (GOOD + "kernel = 3\n", "conv1d.kernel: unknown field"),
    (GOOD + 'title = "a\\u0007b"\n', "conv1d.title:"),
    ('x = [1, 2, 3]\nw = [1, -1, 1, 1]\nv = [1]\ntarget = 1\n',
     "conv1d.w: a kernel of 4 is longer than the padded input (3 + 2*0 = 3)"),
])
def test_bad_specs_one_line_exit_2_no_output(body, problem, tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text("[conv1d]\n" + body, encoding="utf-8")
    for argv in (["check", str(spec)], ["worksheet", str(spec), "-o", str(tmp_path / "out")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and problem in err, err
        assert err.startswith(f"symbackprop: error: {spec}: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", CASES[:6])
def test_layout_read_back_from_the_nodes(case):
    """The handout reads the windows back from the built nodes: they are the padded input's windows."""
    from symbackprop.engine.convspec import conv_layout
    from symbackprop.engine.kinds import loads_graph

    layout = conv_layout(loads_graph(_toml(case), "case.toml"))
    k, s, pad, n = len(case["w"]), case["stride"], case["padding"], len(case["x"])
    expected = [tuple(j if 0 <= (j := i * s + m - pad) < n else None for m in range(k))
                for i in range((n + 2 * pad - k) // s + 1)]
    assert list(layout.windows) == expected
    assert (layout.stride if len(expected) > 1 else s, layout.padding, layout.activation, layout.pooling,
            layout.loss) == (s, pad, case["activation"], case["pooling"], case["loss"])


def test_crossing_kernel_wires_keep_their_labels_apart(tmp_path):
    """Stride 1, kernel 3: the wire x3 -> z1 (rising a row) crosses x2 -> z2 (falling a row) midway; their
    labels sit a quarter along from either end, the level wire's in the middle."""
    spec = tmp_path / "cross.toml"
    spec.write_text(_toml(dict(x=[1, 2, 3, 4], w=[1, 1, 1], v=[1, 1], target=0)), encoding="utf-8")
    assert main(["worksheet", str(spec), "-o", str(tmp_path)]) == 0
    tex = (tmp_path / "cross.tex").read_text(encoding="utf-8")
    assert r"\draw[->] (x3) -- node[fwd, pos=0.75] {$3.00$} node[bwd, pos=0.75] {$15.00$} (z1);" in tex
    assert r"\draw[->] (x2) -- node[fwd, pos=0.25] {$2.00$} node[bwd, pos=0.25] {$15.00$} (z2);" in tex
    assert r"\draw[->] (x2) -- node[fwd] {$2.00$} node[bwd] {$15.00$} (z1);" in tex  # level: the middle


def test_a_gates_rule_is_prose_with_a_typeset_apostrophe():
    """The words' sentences for a gate's rule and a verification method are the template's own LaTeX: "the gate's
    local derivative" with a typeset apostrophe, not a typewriter quote (\\textquotesingle) from escaping."""
    from symbackprop.documents.graphhandout import render_graph_handout
    from symbackprop.engine.graph import solve_graph
    from symbackprop.engine.kinds import load_any

    tex = render_graph_handout(solve_graph(load_any(EXAMPLE)))
    assert "times the gate's local derivative." in tex and "\\textquotesingle" not in tex


def test_the_target_is_a_target():
    """t was a leaf of kind "input" (the summary said "input" beside dE/dt, the RNN says "target"), and an exam
    asked dE/dt, a gradient no student needs."""
    from symbackprop.engine.graph import solve_graph
    from symbackprop.exam.build import build_exam

    solution = solve_graph(str(EXAMPLE))
    assert {leaf.name: leaf.kind for leaf in solution.spec.leaves}["t"] == "target"
    keys = build_exam(EXAMPLE, variants=1, seed=1).files["answers/v001.toml"].decode()
    assert '"dE/dt"' not in keys and '"dE/dw1"' in keys
