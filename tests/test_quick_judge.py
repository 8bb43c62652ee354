"""The exam judge's quick look (floats: symbackprop/exam/judging.py) gives the Decimal judge's reason, draw for draw.

Every sweep of test_exam_defaults (every hidden activation, output/loss pair, 0-4 decimals, 1-3 examples, sum and
mean, and every example network, optimizers included) judges 120 draws of its spec twice, by the quick look and by
the Decimal judge alone (``quick_look_agrees``): wherever the quick look gives a reason it must be the Decimal
judge's, and it never accepts.  Here: it decides most draws of the lecture's exam (else it saves nothing), and it
abstains at every edge a float cannot see: a rounding tie, a relu at z = 0, a value too large for its guard, NaN
and infinity.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_exam_defaults import quick_look_agrees

from symbackprop.engine.solution import solve
from symbackprop.engine.spec import load_spec
from symbackprop.exam.drawing import Drawer
from symbackprop.exam.judging import GUARD, LARGEST, QUICK, QuickChecks, Unsure, bounded, quick_half_up

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_quick_look_decides_most_draws_of_the_lecture_exam():
    spec = load_spec(EXAMPLES / "exam_lecture.toml")
    drawer = Drawer(solve(spec, prove=False), spec.exam)
    drawer.calibrate()
    given = quick_look_agrees(drawer, 400)
    assert sum(given.values()) > 0.6 * 400, given  # else it saves nothing
    assert set(given) >= {"tie", "early rounding", "loss unchanged", "zero gradients"}


def test_rounding_abstains_at_a_tie_and_rounds_half_up_elsewhere():
    rnd = quick_half_up(3)
    assert rnd(0.3774) == 0.377 and rnd(0.37751) == 0.378 and rnd(-0.37751) == -0.378
    assert rnd(2.0004) == 2.0 and math.copysign(1, rnd(-0.0004)) == -1 and rnd(-0.0004) == 0
    for tie in (0.3775, 0.0005, -1.2345, 0.3775 + GUARD / 2, 0.3775 - GUARD / 2):
        with pytest.raises(Unsure):
            rnd(tie)
    assert rnd(0.3775 + 3 * GUARD) == 0.378 and rnd(0.3775 - 3 * GUARD) == 0.377


def test_comparisons_abstain_near_their_edges():
    checks = QuickChecks(3)
    assert checks.below(0.1, 0.2) and not checks.below(0.3, 0.2)
    for x in (0.2, 0.2 + GUARD / 2, 0.2 - GUARD / 2):
        with pytest.raises(Unsure):
            checks.below(x, 0.2)
    with pytest.raises(Unsure):  # a relu's z may be exactly 0: a float cannot tell 1e-17 from it
        checks.zero(1e-17)
    assert not checks.zero(1e-3)
    assert checks.shows_zero(0.0004) and not checks.shows_zero(0.0006)
    with pytest.raises(Unsure):
        checks.shows_zero(-0.0005)
    with pytest.raises(Unsure):
        QUICK.positive(-1e-12)
    assert QUICK.positive(1e-3) and not QUICK.positive(-1e-3)


@pytest.mark.parametrize("values", [[1.0, math.nan], [math.nan, 1.0], [math.inf], [-math.inf, 0.0],
                                    [LARGEST / 2, LARGEST / 2 + 1]])
def test_values_the_guard_does_not_cover_make_it_abstain(values):
    with pytest.raises(Unsure):
        bounded(values)
    bounded([LARGEST / 4] * 4)
