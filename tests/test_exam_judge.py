"""The exam judge works exp, log and tanh to 20 digits (sums and products at 34): for a network and for
every graph kind it gives the verdicts of the engine's 34-digit Decimals, draw for draw; its passes compiled
flat give the verdicts and values of the loop over the steps' closures."""

from __future__ import annotations

import random
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from symbackprop.engine import evaluate
from symbackprop.engine.examtable import ExamSettings
from symbackprop.engine.generate import new_spec
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import load_graph
from symbackprop.engine.numbers import to_decimal
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import load_spec, loads_spec
from symbackprop.exam import graphrules, netrules
from symbackprop.exam.drawing import Drawer
from symbackprop.exam.judging import FUNCTION_DIGITS, JUDGE, judge_context

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DRAWS = 300


def _solved(name: str):
    path = EXAMPLES / name
    if name in ("graph_cs231n.toml", "rnn.toml", "conv1d.toml"):
        return solve_graph(load_graph(path), prove=False)
    return solve(load_spec(path), prove=False)


def _slots(drawer: Drawer, values: dict) -> list[Decimal]:
    """Every value of a draw as the drawer's compiled steps compute it."""
    slots = [Decimal(0)] * len(drawer.index)
    with localcontext(judge_context()):
        for name, value in values.items():
            slots[drawer.index[name]] = +to_decimal(value)
        for step in drawer.steps:
            slots[step.slot] = step.program(slots)
    return slots


#: each example, and whether it has a function (exp, tanh, sigmoid) the judge works to 20 digits (conv1d:
#: relu, max and products only, the same numbers either way)
CASES = [("lecture.toml", True), ("deep_tanh_relu.toml", True), ("graph_cs231n.toml", True), ("rnn.toml", True),
         ("conv1d.toml", False)]


@pytest.mark.parametrize("name, functions", CASES)
def test_the_judge_at_20_digits_gives_the_verdicts_at_34(name, functions, monkeypatch):
    base = _solved(name)
    fast = Drawer(base, ExamSettings())
    monkeypatch.setattr(netrules, "JUDGE", evaluate.DECIMAL)
    monkeypatch.setattr(graphrules, "JUDGE", evaluate.DECIMAL)
    full = Drawer(base, ExamSettings())
    rng = random.Random(7)
    draws = [fast.draw(rng) for _ in range(DRAWS)]
    verdicts = [fast.assess(v) for v in draws]
    assert verdicts == [full.assess(v) for v in draws]
    # the two judges do differ: the 20-digit one is a network's and a graph's
    assert (_slots(fast, draws[0]) != _slots(full, draws[0])) == functions
    assert sum(reason is None for reason, _ in verdicts) > 0  # some fair, some rejected: the rules were met
    assert sum(reason is not None for reason, _ in verdicts) > 0


def test_the_judge_works_a_function_to_20_digits_and_the_rest_to_34():
    sigma, exact = JUDGE.unary[evaluate.act.sigma], evaluate.DECIMAL.unary[evaluate.act.sigma]
    with localcontext(judge_context()):
        x = +Decimal("0.3775")
        fast, full = sigma(x), exact(x)
        assert len(fast.as_tuple().digits) == FUNCTION_DIGITS and len(full.as_tuple().digits) == 34
        assert abs(fast - full) < Decimal("1e-19")
        assert Decimal("0.15") * Decimal("0.05") + Decimal("0.20") * Decimal("0.10") == Decimal("0.0275")


def _generated(layers: list[int], activation: str, loss: str = "half_sse"):
    return solve(loads_spec(new_spec(layers, activation, loss, seed=3), "<generated>"), prove=False)


#: a network of each kind of unit and loss (and Adam's roots and powers), a graph with max gates and relus, an
#: RNN through tanh
FLAT_CASES = [lambda: _solved("lecture.toml"), lambda: _solved("adam.toml"), lambda: _solved("conv1d.toml"),
              lambda: _solved("rnn.toml"), lambda: _solved("deep_tanh_relu.toml"),
              lambda: _generated([3, 3, 2], "relu"), lambda: _generated([2, 3, 2], "leaky_relu"),
              lambda: _generated([2, 3, 3], "softplus", "cross_entropy")]


@pytest.mark.parametrize("case", range(len(FLAT_CASES)))
def test_the_flat_passes_give_the_step_loop_verdicts_and_values(case):
    drawer = Drawer(FLAT_CASES[case](), ExamSettings(early_rounding=True))
    assert drawer._passes is not None  # compiled flat
    rng = random.Random(11)
    draws = [drawer.draw(rng) for _ in range(DRAWS)]
    flat = [drawer.assess(v) for v in draws]
    passes, drawer._passes = drawer._passes, None  # the loop over the steps' closures
    assert flat == [drawer.assess(v) for v in draws]
    assert {reason for reason, _ in flat} >= {"early rounding"}  # both passes ran to a verdict
    # value for value: every slot of the exact pass, and the slots rounded as you go
    for values in draws[:40]:
        slots = _slots(drawer, values)
        flat_slots = [Decimal(0)] * len(drawer.index)
        with localcontext(judge_context()):
            for name, value in values.items():
                flat_slots[drawer.index[name]] = +to_decimal(value)
            try:
                passes[0](flat_slots)
            except ArithmeticError:
                continue
        tied = any(abs(abs(slots[s]).scaleb(drawer.decimals) % 1 - Decimal("0.5")) < drawer._margin
                   for s in drawer.inexact_asked)
        if not tied:  # the exact pass stops at a tie
            assert [str(x) for x in flat_slots] == [str(x) for x in slots]
