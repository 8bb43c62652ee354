"""An ``[optimizer]`` rule as meaning for the handout's update section: its hyperparameters, the first
step written out for one parameter, every step's gradients, states and new values, and the loss curve.

The templates (``handout/09_update.*.j2``) write the rule itself and every word; this module hands them
names, kinds and values only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..engine.naming import HYPERPARAMETERS, LEARNING_RATE
from ..engine.network import Parameter
from ..engine.numbers import display, significant
from ..engine.optimizer import OptimizerSettings
from ..engine.solution import Solution
from ..engine.update import state_kinds
from ..notation.lines import approx_latex, exact_text, quantity_line, scientific_text
from .render import Tex

#: the per-step tables show at most this many steps (export carries every step)
SHOWN_STEPS = 5
#: an optimizer state's significant digits, in the tables and the first step written out
STATE_DIGITS = 4
#: the loss curve's values: decimals (a plot needs no more)
PLOT_DECIMALS = 6


def optimizer_meaning(solution: Solution, params: list[Parameter]) -> dict[str, Any]:
    """What the update section shows of the rule, for the (trainable) ``params`` it lists."""
    net = solution.network
    rule = rule_meaning(solution)
    kinds = rule["kinds"]
    first = written_out(solution, params)
    lines = [quantity_line(solution, name, result=state_result(solution, name))
             for name in first_step_names(solution, first)] if first else []
    steps = []
    for t, values in enumerate(solution.evaluation.steps[:SHOWN_STEPS], start=1):
        rows = []
        for p in params:
            cells = [values[net.grad(p.name)]] + [values[net.state(k, p.name)] for k in kinds]
            rows.append({"param": Tex(net[p.name].latex), "values": [Tex(approx_latex(v, STATE_DIGITS)) for v in cells],
                         "updated": Tex(display(values[net.updated(p.name)], solution.spec.decimals))})
        steps.append({"t": t, "rows": rows})
    return rule | curve_meaning(solution.evaluation.loss_history) | {
        "param": Tex(net[first.name].latex) if first is not None else None,
        "lines": lines,
        "steps": steps,
    }


def curve_meaning(history: list[Decimal]) -> dict[str, Any]:
    """The loss curve (``loss_curve.tex.j2``) over [before the first step, after each step]: none for one step."""
    return {"total_steps": len(history) - 1,
            "plot": [{"t": t, "loss": _plot_value(v)} for t, v in enumerate(history)] if len(history) > 2 else None,
            "loss_range": {"low": _plot_value(min(history)), "high": _plot_value(max(history))},
            "floor": min(history) >= 0}


def rule_meaning(solution: Solution) -> dict[str, Any]:
    """The rule itself (``optimizer_rows.tex.j2`` writes it): its name, variant, weight decay, the
    hyperparameters' values and the per-parameter quantities it computes, in order."""
    settings = solution.spec.optimizer
    assert settings is not None
    hyper = [LEARNING_RATE] + [HYPERPARAMETERS[f] for f in settings.hyperparameters]
    return settings_meaning(settings, [(h.latex, solution.value(h.ascii)) for h in hyper])


def settings_meaning(settings: OptimizerSettings, hyper: list[tuple[str, Decimal]]) -> dict[str, Any]:
    """A rule's name, variant, decay, its hyperparameters (LaTeX, value) as given, and its quantities."""
    return {"name": settings.name, "nesterov": settings.nesterov, "decay": settings.decay,
            "hyper": [Tex(f"{latex} = {_hyper_text(value)}") for latex, value in hyper],
            "kinds": list(state_kinds(settings))}


def written_out(solution: Solution, params: list[Parameter]) -> Parameter | None:
    """The parameter whose first step the handout and the deck write out: the output layer's first, as the lecture
    walks the update, unless its gradient shows as 0 at the spec's decimals (its whole step would read 0.000 = 0.000):
    then the first of the layers below whose gradient shows a digit; None when ``params`` is empty."""
    ordered = sorted(params, key=lambda p: -p.layer)
    shows = (p for p in ordered if solution.display(solution.network.grad(p.name)).strip("-0."))
    return next(shows, ordered[0] if ordered else None)


def first_step_names(solution: Solution, param: Parameter) -> list[str]:
    """The quantities one parameter's first step computes, in order: the rule's state, then the new value."""
    assert solution.spec.optimizer is not None
    net = solution.network
    return [net.state(k, param.name) for k in state_kinds(solution.spec.optimizer)] + [net.updated(param.name)]


def state_result(solution: Solution, name: str) -> str | None:
    """The result of an optimizer state's line: four significant digits, as the per-step tables show it and the
    next line uses it (at the decimals, Adam's ``v`` = 0.001 * 0.028^2 read 0.000, and ``v-hat`` 0.001 where the
    update divides by the root of 0.0007761); None for the new parameter's line (its display, the answer)."""
    return None if solution.quantity(name).kind == "updated" else state_text(solution.value(name),
                                                                            solution.spec.decimals)


def state_text(value: Decimal, decimals: int) -> str | None:
    """A state's value with four significant digits, as the tables write it: plain from 1e-4 on (0.0007761), a
    power of ten below (7.761e-7); None (its display) where the display is exact (-0.400) or has the digits."""
    shown = display(value, decimals)
    if value == Decimal(shown) or len(shown.lstrip("-0.").replace(".", "")) >= STATE_DIGITS:
        return None
    return significant(value, STATE_DIGITS) if abs(value) >= Decimal("1e-4") else scientific_text(value, STATE_DIGITS)


def rule_for_first(solution: Solution) -> tuple[Parameter, list[str]] | None:
    """An ``[optimizer]`` rule written for the first trainable parameter (every parameter the same way):
    the parameter and ``quantity = formula`` of each quantity its step computes; None: no rule or nothing
    trained (a page that states the exercise: the practice page, an LMS question)."""
    first = next((p for p in solution.network.parameters if not p.frozen), None)
    if solution.spec.optimizer is None or first is None:
        return None
    return first, [f"{solution.latex(n)} = {solution.formula(n)}" for n in first_step_names(solution, first)]


def small_power_of_ten(value: Decimal) -> int | None:
    """The exponent of a hyperparameter that is a small power of ten (PyTorch's epsilon 1e-8: -8), else None:
    written ``10^{-8}`` in LaTeX, ``1e-8`` in text."""
    exponent = value.normalize().as_tuple().exponent
    if value.normalize() == Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0) and value < Decimal("1e-4"):
        return int(exponent)
    return None


def _hyper_text(value: Decimal) -> str:
    """A hyperparameter as given, ``10^{-8}`` for a small power of ten."""
    exponent = small_power_of_ten(value)
    return exact_text(value) if exponent is None else f"10^{{{exponent}}}"


def _plot_value(value: Decimal) -> str:
    return display(value, PLOT_DECIMALS)
