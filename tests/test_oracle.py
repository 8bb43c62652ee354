"""Every value of ``symbackprop export`` against an independent oracle, over random networks.

The oracle (tests/oracle.py) shares no code with the engine: it reads the spec TOML itself and
computes the forward pass, loss, deltas, gradients, SGD update, post-update pass and the loss
history by hand-written reverse mode at 100 digits (mpmath).  ``random_spec(seed)`` writes spec
TOML text drawn across every spec feature (hidden activations, output/loss pairs, 1-3 outputs,
0-3 hidden layers, shared and per-neuron biases, frozen parameters, both notations, renamed
letters, 1-3 examples with sum and mean, 1-3 steps, learning rates, decimals) and sizes from 2
to over 40 parameters.  Each network is one test case named by its seed, so a failure is
reproduced by ``pytest tests/test_oracle.py -k 'network[SEED]'``; its spec text is printed.

Every exported value must agree with the oracle to a relative difference of 1e-30 (the engine
exports 40 significant digits), every exported name must be one the oracle computed and vice
versa.  The tests at the end show that a wrong value, a swap, a missing name and a wrong loss
history entry are all caught.  Run with ``-s`` to see the summary (networks, features, largest
relative difference, time) that the module prints at its end.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import oracle
import pytest
from oracle import CTX

N_NETWORKS = 220
TOLERANCE = CTX.mpf("1e-30")
#: both values below this are the same zero (the oracle's residue of an exact 0 is ~1e-100)
ZERO = CTX.mpf("1e-90")

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
#: (output activation, loss): every pair the spec format accepts
PAIRS = (("sigmoid", "half_sse"), ("sigmoid", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy"),
         ("identity", "half_sse"), ("identity", "mse"), ("tanh", "half_sse"), ("tanh", "mse"),
         ("relu", "half_sse"), ("relu", "mse"), ("leaky_relu", "half_sse"), ("leaky_relu", "mse"),
         ("softplus", "half_sse"), ("softplus", "mse"), ("softmax", "half_sse"), ("softmax", "mse"))
RENAMES = {"pre": ("net", "s"), "act": ("out", "a", "g"), "loss": ("L", "J", "Loss"),
           "target": ("y", "d", "target"), "input": ("i", "u", "inp")}
RATES = ("0.5", "0.1", "0.25", "1", "0.05", "0.75", "1.5", "2", "0.3", "1.0", "0.125")


# -- random specs ---------------------------------------------------------------------------------

@dataclass
class Features:
    hidden: list[str]
    output: str
    loss: str
    outputs: int
    parameters: int
    trainable: int
    bias: str
    frozen: str
    scheme: str
    renamed: bool
    examples: int
    reduction: str
    steps: int
    extras: set[str] = field(default_factory=set)


def _decimal(rng: random.Random, low: int, high: int, places: int = 2) -> str:
    """A decimal text with ``places`` decimals in [low, high], drawn without any float."""
    scale = 10**places
    v = rng.randint(low * scale, high * scale)
    sign, v = ("-" if v < 0 else ""), abs(v)
    return f"{sign}{v // scale}.{v % scale:0{places}d}" if places else f"{sign}{v}"


def _value(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return _decimal(rng, -1, 1, 3)
    if r < 0.12:
        return _decimal(rng, -1, 2, 0)
    if r < 0.16:
        return f'"{_decimal(rng, -1, 1)}"'  # a quoted decimal is a number too
    return _decimal(rng, -1, 1)


def _targets(rng: random.Random, output: str, loss: str, k: int) -> list[str]:
    if output == "softmax" and (loss == "cross_entropy" or rng.random() < 0.5):
        if rng.random() < 0.5:  # one-hot
            hot = rng.randrange(k)
            return ["1.00" if j == hot else "0.00" for j in range(k)]
        cuts = sorted(rng.randint(0, 100) for _ in range(k - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        return [f"{p // 100}.{p % 100:02d}" for p in parts]
    low, high = {"sigmoid": (0, 1), "softmax": (0, 1), "tanh": (-1, 1), "relu": (0, 2),
                 "softplus": (0, 2)}.get(output, (-2, 2))
    return [_decimal(rng, low, high) for _ in range(k)]


def _shape(rng: random.Random, seed: int, output: str) -> tuple[int, list[int], int]:
    """(inputs, hidden widths, outputs); every fifth seed has over 40 parameters."""
    min_out = 2 if output == "softmax" else 1
    while True:
        outputs = rng.randint(min_out, 3)
        if seed % 5 == 4:
            inputs, hidden = rng.randint(3, 5), [rng.randint(4, 6) for _ in range(rng.randint(1, 2))]
        else:
            inputs, hidden = rng.randint(1, 4), [rng.randint(1, 4) for _ in range(rng.randint(0, 3))]
        sizes = [inputs, *hidden, outputs]
        n = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
        if (n > 40) == (seed % 5 == 4):
            return inputs, hidden, outputs


def random_spec(seed: int) -> tuple[str, Features]:
    """Spec TOML text for network ``seed`` and what it exercises."""
    rng = random.Random(seed)
    output, loss = PAIRS[seed % len(PAIRS)]
    inputs, hidden_widths, outputs = _shape(rng, seed, output)
    hidden = [rng.choice(HIDDEN) for _ in hidden_widths]
    scheme = rng.choice(("sequential", "indexed"))
    shared = rng.random() < 0.3
    renames = {key: rng.choice(options) for key, options in RENAMES.items() if rng.random() < 0.12}
    n = oracle.Names(inputs, [*hidden_widths, outputs], shared, scheme == "indexed",
                     renames.get("pre", "z"), renames.get("act", ""), renames.get("loss", "E"),
                     renames.get("target", "t"), renames.get("input", "x"))
    extras: set[str] = set()

    def key(name: str) -> str:
        return f'"{name}"' if scheme == "indexed" else name

    lines = [f"# oracle network {seed}", f'title = "Oracle network {seed}"']
    if rng.random() < 0.7:
        lines.append(f"decimals = {rng.randint(0, 12)}")
    rate = rng.choice(RATES)
    lines.append(f"learning_rate = {rate}")
    lines.append(f'loss = "{loss}"')
    n_examples = rng.choice((1, 1, 2, 3))
    reduction = rng.choice(("sum", "mean"))
    if reduction == "mean" or rng.random() < 0.5:
        lines.append(f'reduction = "{reduction}"')
    steps = rng.choice((1, 1, 2, 3))
    if steps > 1 or rng.random() < 0.5:
        lines.append(f"steps = {steps}")
    if scheme == "indexed" or renames:
        lines.append("\n[notation]")
        if scheme == "indexed" or rng.random() < 0.5:
            lines.append(f'scheme = "{scheme}"')
        lines.extend(f'{k} = "{v}"' for k, v in renames.items())
    layer_lines = []
    for width, activation in zip([*hidden_widths, outputs], [*hidden, output], strict=True):
        slope = ""
        if activation == "leaky_relu" and rng.random() < 0.7:
            slope = f', slope = {rng.choice(("0.01", "0.1", "0.2", "0.05", "0.3"))}'
            extras.add("leaky slope")
        layer_lines.append(f'  {{ units = {width}, activation = "{activation}"{slope} }},')
    lines += ["\n[network]", f"inputs = {inputs}", "layers = [", *layer_lines, "]"]
    if shared or rng.random() < 0.5:
        lines.append(f'bias = "{"shared" if shared else "per_neuron"}"')
    params = oracle.parameter_names(n)
    frozen_kind, frozen = _frozen(rng, params)
    if frozen or rng.random() < 0.3:
        lines.append("frozen = [" + ", ".join(f'"{f}"' for f in frozen) + "]")
    lines.append("\n[parameters]")
    lines.extend(f"{key(p)} = {_value(rng)}" for p in params)
    for _ in range(n_examples):
        lines.append("\n[[examples]]")
        lines.extend(f"{key(n.x(k))} = {_decimal(rng, -1, 1)}" for k in range(1, inputs + 1))
        lines.extend(f"{key(n.t(j))} = {t}"
                     for j, t in enumerate(_targets(rng, output, loss, outputs), start=1))
    frozen_names = {p for p in params if any(f == p or (f in ("biases", "weights") and p[0] == f[0])
                                             for f in frozen)}
    features = Features(hidden, output, loss, outputs, len(params), len(params) - len(frozen_names),
                        "shared" if shared else "per_neuron", frozen_kind, scheme, bool(renames),
                        n_examples, reduction, steps, extras)
    return "\n".join(lines) + "\n", features


def _frozen(rng: random.Random, params: list[str]) -> tuple[str, list[str]]:
    r = rng.random()
    if r < 0.5:
        return "none", []
    if r < 0.65:
        return "biases", ["biases"]
    if r < 0.73:
        return "weights", ["weights"]
    names = rng.sample(params, min(len(params), rng.randint(1, 3)))
    return ("names+biases", [*names, "biases"]) if r < 0.8 else ("names", names)


# -- the engine's export, and the comparison ----------------------------------------------------

def engine_export(text: str) -> tuple[dict[str, str], list[str]]:
    """``export``'s values and loss history, in process: the same ``export_data`` the CLI prints,
    on the derivation without its proofs (the CLI's proofs cost seconds a network; the values
    do not depend on them, which test_cli_export_is_the_fast_export shows)."""
    from symbackprop.derive import derive
    from symbackprop.numeric import evaluate
    from symbackprop.report import export_data
    from symbackprop.solution import Solution
    from symbackprop.spec import loads_spec

    spec = loads_spec(text, source="<oracle spec>")
    derivation = derive(spec, prove=False)
    data = export_data(Solution(spec, derivation, evaluate(derivation)))
    return {q["name"]: q["value"] for q in data["quantities"]}, data["loss_history"]


def parse(text: str) -> Any:
    if "/" in text:
        q = Fraction(text)
        return CTX.mpf(q.numerator) / q.denominator
    return CTX.mpf(text)


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    #: (name, engine, oracle) where the oracle's value is 0 and the engine's is not
    false_zeros: list[tuple[str, str, Any]] = field(default_factory=list)
    worst: Any = 0
    worst_name: str = ""
    compared: int = 0

    def check(self, name: str, text: str, expected: Any) -> None:
        got = parse(text)
        self.compared += 1
        if abs(got) < ZERO and abs(expected) < ZERO:
            return
        rel = abs(got - expected) / max(abs(got), abs(expected))
        if rel > self.worst and abs(expected) >= ZERO:
            self.worst, self.worst_name = rel, name
        if rel > TOLERANCE:
            self.problems.append(f"{name}: export {text}, oracle {CTX.nstr(expected, 45)} "
                                 f"(relative difference {CTX.nstr(rel, 3)})")
            if abs(expected) < ZERO:
                self.false_zeros.append((name, text, expected))


def compare(values: dict[str, str], history: list[str], result: oracle.Result) -> Comparison:
    c = Comparison()
    missing = sorted(set(result.values) - set(values))
    extra = sorted(set(values) - set(result.values))
    if missing:
        c.problems.append(f"names the oracle has and export lacks: {missing}")
    if extra:
        c.problems.append(f"names export has and the oracle lacks: {extra}")
    for name, text in values.items():
        if name in result.values:
            c.check(name, text, result.values[name])
    if len(history) != len(result.history):
        c.problems.append(f"loss_history has {len(history)} entries, the oracle {len(result.history)}")
    for k, (text, expected) in enumerate(zip(history, result.history, strict=False)):
        c.check(f"loss_history[{k}]", text, expected)
    return c


# -- the property test ------------------------------------------------------------------------------

SUMMARY: dict[str, Any] = {"networks": 0, "values": 0, "worst": CTX.mpf(0), "worst_at": "", "xfail": [],
                           "features": Counter(), "parameters": [], "trainable": [], "seconds": 0.0}


def _known_false_zero(c: Comparison, f: Features) -> bool:
    """The one engine defect this test knows (see the report on issue 9): with a softmax output
    layer and a shared bias, that bias's gradient is exactly 0 (softmax ignores a common shift),
    but the engine carries a residue of its 80-digit arithmetic and exports it as a 40-digit
    value (-1.000...e-80, exact false)."""
    return (f.output == "softmax" and f.bias == "shared" and bool(c.false_zeros)
            and len(c.false_zeros) == len(c.problems)
            and all(abs(parse(text)) < CTX.mpf("1e-70") for _, text, _ in c.false_zeros))


@pytest.mark.parametrize("seed", range(N_NETWORKS))
def test_network(seed: int) -> None:
    text, f = random_spec(seed)
    start = time.perf_counter()
    values, history = engine_export(text)
    result = oracle.evaluate(text)
    c = compare(values, history, result)
    SUMMARY["seconds"] += time.perf_counter() - start
    SUMMARY["networks"] += 1
    SUMMARY["values"] += c.compared
    SUMMARY["parameters"].append(f.parameters)
    SUMMARY["trainable"].append(f.trainable)
    if c.worst > SUMMARY["worst"]:
        SUMMARY["worst"], SUMMARY["worst_at"] = c.worst, f"network {seed}, {c.worst_name}"
    SUMMARY["features"].update(_feature_keys(f))
    if c.problems and _known_false_zero(c, f):
        SUMMARY["xfail"].append(seed)
        pytest.xfail("engine bug: the shared softmax-output bias gradient is exactly 0 but exported as "
                     f"{c.false_zeros[0][1]} ({c.false_zeros[0][0]})")
    assert not c.problems, f"network {seed}:\n{text}\n" + "\n".join(c.problems[:20])


def _feature_keys(f: Features) -> list[str]:
    keys = [f"hidden {a}" for a in set(f.hidden)] + [f"output/loss {f.output}+{f.loss}",
                                                     f"outputs {f.outputs}", f"hidden layers {len(f.hidden)}",
                                                     f"bias {f.bias}", f"frozen {f.frozen}", f"scheme {f.scheme}",
                                                     f"examples {f.examples}", f"reduction {f.reduction}",
                                                     f"steps {f.steps}", *f.extras]
    if f.renamed:
        keys.append("renamed letters")
    if f.parameters > 40:
        keys.append("over 40 parameters")
    return keys


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest):
    start = time.perf_counter()
    yield
    if not SUMMARY["networks"]:
        return
    s = SUMMARY
    lines = [
        f"oracle: {s['networks']} networks, {s['values']} values compared, "
        f"{min(s['parameters'])}-{max(s['parameters'])} parameters "
        f"({min(s['trainable'])}-{max(s['trainable'])} trainable), "
        f"{sum(p > 40 for p in s['parameters'])} over 40",
        f"oracle: largest relative difference {CTX.nstr(s['worst'], 3)} ({s['worst_at']}); "
        f"tolerance {CTX.nstr(TOLERANCE, 1)}; known-bug xfails: {s['xfail'] or 'none'}",
        f"oracle: engine + oracle + comparison {s['seconds']:.1f} s; module {time.perf_counter() - start:.1f} s",
        "oracle features: " + ", ".join(f"{k} x{v}" for k, v in sorted(s["features"].items())),
    ]
    # past the output capture, so that the figures show without -s
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(line)
            else:
                print(line)


# -- the draw covers what it claims ---------------------------------------------------------------

def test_draw_covers_every_feature() -> None:
    drawn = [random_spec(seed)[1] for seed in range(N_NETWORKS)]
    keys = Counter(k for f in drawn for k in _feature_keys(f))
    wanted = ([f"hidden {a}" for a in HIDDEN] + [f"output/loss {o}+{loss}" for o, loss in PAIRS]
              + [f"outputs {k}" for k in (1, 2, 3)] + [f"hidden layers {k}" for k in (0, 1, 2, 3)]
              + [f"bias {b}" for b in ("per_neuron", "shared")]
              + [f"frozen {k}" for k in ("none", "biases", "weights", "names", "names+biases")]
              + [f"scheme {s}" for s in ("sequential", "indexed")] + [f"examples {k}" for k in (1, 2, 3)]
              + [f"reduction {r}" for r in ("sum", "mean")] + [f"steps {k}" for k in (1, 2, 3)]
              + ["renamed letters", "leaky slope", "over 40 parameters"])
    assert {k: keys[k] for k in wanted if keys[k] < 5} == {}
    assert min(f.parameters for f in drawn) == 2 and min(f.trainable for f in drawn) <= 1
    assert sum(f.parameters > 40 for f in drawn) >= 40
    renamed = Counter(k for text, _ in map(random_spec, range(N_NETWORKS)) for k in RENAMES
                      if f"\n{k} = " in text)
    assert all(renamed[k] >= 5 for k in RENAMES), renamed


# -- the CLI prints the values the fast path compares ----------------------------------------------

#: small and large (> 40 parameters) networks whose symbolic or local+fd proofs run quickly;
#: 19 is a softmax + cross_entropy network over 40 parameters (issue 9, defect 1)
CLI_SEEDS = (0, 2, 7, 4, 24, 34, 19)


@pytest.mark.parametrize("seed", CLI_SEEDS)
def test_cli_export_is_the_fast_export(seed: int, tmp_path, capsys) -> None:
    """``symbackprop export`` (with every proof) prints what ``engine_export`` returns, and both
    agree with the oracle."""
    import json

    from symbackprop.cli import main

    text, _ = random_spec(seed)
    path = tmp_path / f"network{seed}.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["export", str(path)])
    out, err = capsys.readouterr()
    if code == 1 and "local rule failed: output delta" in err:
        pytest.xfail(f"issue 9 defect 1 (softmax + cross_entropy over 40 parameters): {err.strip()}")
    assert code == 0, err
    data = json.loads(out)
    assert all(p["proven"] for p in data["proofs"])
    values = {q["name"]: q["value"] for q in data["quantities"]}
    assert (values, data["loss_history"]) == engine_export(text)
    c = compare(values, data["loss_history"], oracle.evaluate(text))
    assert not c.problems, c.problems


# -- the comparison catches a wrong value ---------------------------------------------------------

@pytest.fixture(scope="module")
def sample() -> tuple[dict[str, str], list[str], oracle.Result, oracle.Names]:
    """Network 8 (four layers, relu output, two examples, three steps) exported and evaluated."""
    text, f = random_spec(8)
    assert f.examples == 2 and f.steps == 3 and f.parameters > 10
    values, history = engine_export(text)
    result = oracle.evaluate(text)
    assert not compare(values, history, result).problems
    return values, history, result, oracle.Oracle(text).names


def _scaled(text: str, factor: str) -> str:
    return CTX.nstr(parse(text) * (1 + CTX.mpf(factor)), 40, strip_zeros=False)


def _caught(values: dict[str, str], history: list[str], result: oracle.Result) -> list[str]:
    """The names the comparison flags."""
    return [p.split(":")[0] for p in compare(values, history, result).problems]


def test_a_gradient_wrong_in_its_30th_digit_is_caught(sample) -> None:
    values, history, result, n = sample
    name = n.d(n.w(1, 1, 1))
    wrong = dict(values, **{name: _scaled(values[name], "3e-30")})
    problems = compare(wrong, history, result).problems
    assert len(problems) == 1 and problems[0].startswith(f"{name}: export {wrong[name]}")
    # the tolerance is where it says: a change in the 35th digit is within it
    assert not compare(dict(values, **{name: _scaled(values[name], "1e-35")}), history, result).problems


def test_swapped_values_are_caught(sample) -> None:
    values, history, result, n = sample
    a, b = n.d(n.z(1, 1) + "@1"), n.d(n.z(1, 2) + "@1")
    assert _caught(dict(values, **{a: values[b], b: values[a]}), history, result) == [a, b]


def test_a_wrong_sign_an_updated_parameter_and_the_post_update_pass_are_caught(sample) -> None:
    values, history, result, n = sample
    d_act, w3, out = n.d(n.a(1, 1) + "@2"), n.w(1, 1, 3) + "'", n.a(4, 1) + "@1'"
    for name, wrong in ((d_act, f"-{values[d_act]}".replace("--", "")),
                        (w3, _scaled(values[w3], "1e-25")),
                        (out, _scaled(values[out], "-1e-20")),
                        (n.loss_letter + "'", _scaled(values[n.loss_letter + "'"], "1e-29"))):
        assert _caught(dict(values, **{name: wrong}), history, result) == [name]


def test_missing_extra_and_history_errors_are_caught(sample) -> None:
    values, history, result, n = sample
    gone = n.z(4, 1) + "@2'"
    fewer = {k: v for k, v in values.items() if k != gone}
    assert compare(fewer, history, result).problems == [f"names the oracle has and export lacks: [{gone!r}]"]
    extra = n.d(n.x(1) + "@1")
    more = dict(values, **{extra: "0.5"})
    assert compare(more, history, result).problems == [f"names export has and the oracle lacks: [{extra!r}]"]
    assert compare(values, history[:-1], result).problems == ["loss_history has 3 entries, the oracle 4"]
    late = [*history[:-1], _scaled(history[-1], "1e-28")]
    assert _caught(values, late, result) == ["loss_history[3]"]


# -- the oracle itself: a published worked example, and its own finite differences -----------------

def test_oracle_reproduces_the_published_worked_example() -> None:
    """Matt Mazur, "A Step by Step Backpropagation Example" (2015): the values as published."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "examples" / "mazur.toml").read_text(encoding="utf-8")
    values = oracle.evaluate(text).values
    published = {"net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378", "net_o1": "1.105905967",
                 "out_o1": "0.75136507", "out_o2": "0.772928465", "E": "0.298371109",
                 "dE/dw5": "0.082167041", "w5'": "0.35891648", "w6'": "0.408666186", "w7'": "0.511301270",
                 "w8'": "0.561370121", "dE/dw1": "0.000438568", "w1'": "0.149780716", "w2'": "0.19956143",
                 "w3'": "0.24975114", "w4'": "0.29950229"}
    for name, text in published.items():
        digits = len(text.split(".")[1])
        assert abs(values[name] - CTX.mpf(text)) <= CTX.mpf(10) ** -digits / 2, name


@pytest.mark.parametrize("seed", (0, 3, 5, 11, 13, 16, 29, 33))
def test_oracle_gradients_are_the_derivatives_of_its_loss(seed: int) -> None:
    """The oracle's reverse mode against central differences of its own forward pass (h = 1e-40,
    100 digits): so that the engine is not compared with a backward pass that shares its error."""
    text, _ = random_spec(seed)
    model = oracle.Oracle(text)
    passes, _, _, grads = model.step(model.params)
    if any(layer.activation in ("relu", "leaky_relu") and abs(z) < 1e-30
           for p in passes for layer, zs in zip(model.layers, p.z[1:], strict=True) for z in zs):
        pytest.skip("a relu unit at its kink: no derivative to difference")
    h = CTX.mpf("1e-40")
    for name, value in model.params.items():
        up, down = dict(model.params), dict(model.params)
        up[name], down[name] = value + h, value - h
        slope = (model.step(up)[1] - model.step(down)[1]) / (2 * h)
        assert abs(slope - grads[name]) <= CTX.mpf("1e-50") * max(1, abs(grads[name])), name
