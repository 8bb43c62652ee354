"""Issue 12: the default exam rules work for every network ``new`` makes and every example.

The sweep draws (no solving, no documents) a set for a covering selection of generated specs:
every hidden activation, every output/loss pair (half_sse and mse with each output activation,
bce + sigmoid, cross_entropy + softmax), 1-3 outputs, decimals 0-4, 1-3 examples, sum and mean,
and 2-4-layer shapes, each factor level paired with the others (a pairwise covering, not the full
product: ``COVERING``), plus the known failures of the issue and every file in ``examples/``.
Each set must draw with the default settings; the variants counts are small where 30 is not the
point (the rules are per draw; the 30-variant runs are the example files and the issue's commands).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import Spec, load_spec, loads_spec
from symbackprop.exam.drawing import draw_values

ROOT = Path(__file__).resolve().parent.parent
#: every spec in examples/ (lecture_printed_answers.toml is an answers file for `verify`, not a spec)
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.toml") if p.stem != "lecture_printed_answers")


def make_spec(layers: list[int], activation: str = "sigmoid", loss: str = "half_sse", output: str | None = None,
              decimals: int = 3, examples: int = 1, reduction: str = "sum", seed: int = 0) -> Spec:
    """What ``symbackprop new`` prints, with more examples (``new`` with other seeds) and a reduction."""
    text = new_spec(layers, activation=activation, loss=loss, seed=seed, output=output, decimals=decimals)
    for k in range(1, examples):
        other = new_spec(layers, activation=activation, loss=loss, seed=seed + 1000 * k, output=output)
        text = text.rstrip("\n") + "\n\n" + other[other.index("[[examples]]"):]
    if reduction != "sum":
        text = re.sub(r"^loss = (.*)$", rf'loss = \1\nreduction = "{reduction}"', text, count=1, flags=re.M)
    return loads_spec(text, source="sweep")


HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
#: (loss, output activation) pairs a spec may have
PAIRS = [("half_sse", out) for out in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax")] \
    + [("mse", "identity"), ("mse", "sigmoid"), ("bce", "sigmoid"), ("cross_entropy", "softmax")]
#: a covering of the factors (every level of each, most pairs of levels), one spec a line:
#: layers, hidden activation, loss, output activation, decimals, examples, reduction
COVERING_TABLE = """
3,3,2 relu half_sse identity 3 1 sum;  2,2,1 sigmoid half_sse sigmoid 1 2 mean
2,3,2 tanh cross_entropy softmax 2 1 sum;  2,2,3 leaky_relu half_sse softmax 4 3 mean
3,2,1 softplus bce sigmoid 3 2 sum;  2,3,1 identity mse identity 2 1 mean
2,2,2,2 relu mse sigmoid 1 3 sum;  4,5,3 sigmoid cross_entropy softmax 3 1 sum
1,2,1 tanh half_sse tanh 0 1 sum;  2,2,2 sigmoid half_sse relu 3 2 mean
2,3,1 relu bce sigmoid 2 3 mean;  3,3,3 leaky_relu cross_entropy softmax 3 2 sum
2,2,1 identity half_sse leaky_relu 4 1 sum;  2,3,2 softplus half_sse softplus 1 1 mean
2,2,2,1 tanh mse identity 4 2 sum;  2,2,3 relu half_sse sigmoid 2 2 sum
3,2,2 sigmoid bce sigmoid 4 1 mean;  2,2,2 identity cross_entropy softmax 1 3 mean
"""
COVERING = [([int(n) for n in layers.split(",")], hidden, loss, output, int(decimals), int(examples), reduction)
            for row in COVERING_TABLE.replace(";", "\n").split("\n") if row.strip()
            for layers, hidden, loss, output, decimals, examples, reduction in [row.split()]]


def test_the_covering_has_every_level_of_every_factor():
    levels = list(zip(*COVERING, strict=True))
    assert set(levels[1]) == set(HIDDEN)
    assert {(loss, out) for _, _, loss, out, *_ in COVERING} >= {p for p in PAIRS if p[0] != "half_sse"}
    assert {out for _, _, loss, out, *_ in COVERING if loss == "half_sse"} >= {o for _, o in PAIRS[:7]}
    assert set(levels[4]) == {0, 1, 2, 3, 4} and set(levels[5]) == {1, 2, 3} and set(levels[6]) == {"sum", "mean"}
    assert {layers[-1] for layers in levels[0]} == {1, 2, 3}


def _draws(spec: Spec, count: int, seed: int = 0):
    base = solve(spec, prove=False)  # the drawer needs the definitions, not check's proofs
    drawer, drawn, report = draw_values(base, spec.exam, count, seed)
    assert len(drawn) == count
    assert len({tuple(v[n] for n, _ in drawer.varying) for v, _ in drawn}) == count  # distinct
    return drawer, drawn, report


@pytest.mark.parametrize("row", COVERING, ids=lambda r: "-".join(map(str, (",".join(map(str, r[0])), *r[1:]))))
def test_every_generated_spec_draws_a_set_with_the_defaults(row):
    layers, hidden, loss, output, decimals, examples, reduction = row
    spec = make_spec(layers, hidden, loss, output, decimals, examples, reduction)
    drawer, drawn, report = _draws(spec, 8)
    assert report.band is not None and all(report.band.holds(w) for w in report.works)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_draws_thirty_variants(path):
    _draws(load_spec(path), 30)


@pytest.mark.parametrize("decimals", [0, 1, 2, 4])
def test_the_exam_example_at_other_decimals(decimals):
    spec = load_spec(ROOT / "examples" / "exam_lecture.toml")
    _draws(dataclasses.replace(spec, decimals=decimals), 30)


def test_the_issue_relu_command_draws_thirty():
    spec = loads_spec(new_spec([3, 3, 2], activation="relu", seed=1))
    _, _, report = _draws(spec, 30)
    assert "early rounding" in report.relaxed  # exact relu arithmetic: the update's eta*g ties
