"""Drawing and rendering a set in worker processes gives what one process gives, byte for byte."""

from __future__ import annotations

import dataclasses
import io
import sys

import pytest
import sympy

from symbackprop.cli import _progress_printer
from symbackprop.engine.examtable import Grid
from symbackprop.engine.solution import solve, solve_values
from symbackprop.errors import ExamError
from symbackprop.exam.build import build_exam
from symbackprop.exam.drawing import draw_values
from symbackprop.workers import ordered_map

R = sympy.Rational


@pytest.fixture(scope="module")
def base():
    return solve(None, prove=False)


def test_a_set_rendered_in_two_processes_has_the_bytes_of_one():
    serial = build_exam(None, variants=10, seed=5, moodle=True, qti=True, workers=1)
    parallel = build_exam(None, variants=10, seed=5, moodle=True, qti=True, workers=2)
    assert len(serial.files) == 4 * 10 + 5
    assert parallel.files == serial.files
    assert parallel.summary() == serial.summary()
    # the variants handed back solve on demand, to the values their files show
    v = parallel.variants[3]
    assert f'"E" = "{v.solution.display("E")}"' in parallel.files["answers/v004.toml"].decode()


def test_repeated_draws_are_drawn_again_as_in_one_process(base):
    # 2 values for each of 6 weights, everything else fixed: 64 combinations for 40 variants
    tight = dataclasses.replace(base.spec.exam, groups={"weights": Grid(R(2, 10), R(3, 10), R(1, 10)), "biases": None,
                                                        "inputs": None, "targets": None},
                                allow_saturation=True, allow_loss_increase=True, allow_unchanged_loss=True,
                                allow_zero_gradients=True, early_rounding=False, tie_margin=R(0),
                                difficulty_band=None)
    _, serial, report = draw_values(base, tight, 40, 3, workers=1)
    _, parallel, again = draw_values(base, tight, 40, 3, workers=2)
    assert report.rejected["duplicate"] > 0 and max(draws for _, draws in serial) > 1  # the case is met
    assert parallel == serial
    assert again.rejected == report.rejected
    assert len({tuple(sorted(values.items())) for values, _ in serial}) == 40


def test_an_infeasible_set_fails_on_the_same_variant_with_the_same_counts(base):
    strict = dataclasses.replace(base.spec.exam, max_draws=2, early_rounding=True, allow_unchanged_loss=False,
                                 allow_loss_increase=False, allow_zero_gradients=False, difficulty_band=None)
    messages = []
    for workers in (1, 2):
        with pytest.raises(ExamError) as err:
            draw_values(base, strict, 30, 3, workers=workers)
        messages.append(str(err.value))
    assert "no fair variant in 2 draws" in messages[0]
    assert messages[1] == messages[0]


def test_solve_values_is_solve_on_the_shared_derivation(base):
    spec = dataclasses.replace(base.spec, parameters={**base.spec.parameters, "w5": R(-3, 10)})
    shared, alone = solve_values(base, spec), solve(spec, prove=False)
    assert shared.derivation.network.quantities is base.derivation.network.quantities
    assert {n: shared.display(n) for n in shared.names} == {n: alone.display(n) for n in alone.names}
    assert shared.display("w5") == "-0.300"
    with pytest.raises(ValueError, match="network differs"):
        solve_values(base, dataclasses.replace(spec, decimals=2))


def _square_or_fail(n: int) -> int:
    if n == 13:
        raise KeyError(n)
    return n * n


def test_ordered_map_keeps_the_order_reports_progress_and_raises_the_callers_error():
    seen: list[tuple[int, int]] = []
    assert ordered_map(_square_or_fail, range(12), 2, lambda done, total: seen.append((done, total))) == [
        n * n for n in range(12)]
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(KeyError):
        ordered_map(_square_or_fail, range(20), 2)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_on_a_terminal_and_not_when_piped(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress_printer("exam") is None  # piped: tests and CI see nothing
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = _progress_printer("exam")
    assert show is not None
    show(1, 4, "rendering")
    show(4, 4, "rendering")
    assert terminal.getvalue() == (f"\rexam: rendering [{'#' * 7}{'-' * 23}] 1/4"
                                   f"\rexam: rendering [{'#' * 30}] 4/4\n")
