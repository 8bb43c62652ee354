"""Plain outputs of a solution: the ``check`` table and the ``export`` JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from .. import __version__
from ..engine.naming import HYPERPARAMETERS, LEARNING_RATE
from ..engine.numbers import Number, decimal_text, display_decision, full_decision, full_text, to_decimal
from ..engine.optimizer import OptimizerSettings
from ..engine.solution import Solution
from ..hints import count
from ..io.texttable import text_table
from .update_rule import small_power_of_ten


def check_table(solution: Solution) -> str:
    """One row per gradient: chain-rule formula, value, proof method, status."""
    network = solution.network
    rows = [("gradient", "chain rule", "value", "proof", "status")]
    for p in network.parameters:
        name = network.grad(p.name)
        q = solution.quantity(name)
        proof = solution.proofs[p.name]
        method = proof.method if proof.digits is None else f"{proof.method} ({proof.digits} digits)"
        rows.append((name, sympy.sstr(q.definition, order="none"), solution.display(name), method,
                     "proven" if proof.proven else "MISMATCH"))
    lines = text_table(rows)
    proven = sum(1 for pr in solution.proofs.values() if pr.proven)
    lines.append("")
    lines.append(f"{proven} of {len(network.parameters)} gradients proven equal to the chain rule "
                 f"({solution.spec.source}).")
    settings = solution.spec.optimizer
    if settings is not None:
        history = solution.evaluation.loss_history
        lines.append(rule_line(settings, "the loss", history, solution.spec.decimals))
    return "\n".join(lines) + "\n"


def rule_line(settings: OptimizerSettings, what: str, history: Sequence[Number], decimals: int) -> str:
    """``Update rule: ...; the loss over 4 steps: a -> b -> ...``: the end of a check table."""
    return (f"Update rule: {rule_text(settings)}; {what} over {count(len(history) - 1, 'step')}: "
            + " -> ".join(display_decision(v, decimals).text for v in history) + ".")


def rule_text(settings: OptimizerSettings) -> str:
    """``adam (beta1 = 0.9, ...), L2 weight decay in the loss (coupled, lambda = 0.01)``: one line."""
    name = settings.name + (" (Nesterov)" if settings.name == "momentum" and settings.nesterov else "")
    shown = [f"{HYPERPARAMETERS[f].ascii} = {_hyper_text(getattr(settings, f))}" for f in settings.hyperparameters
             if f != "weight_decay"]
    text = name + (f" ({', '.join(shown)})" if shown else "")
    if settings.decay:
        how = "decoupled weight decay (AdamW's)" if settings.decay == "decoupled" else \
            "L2 weight decay as a loss term (coupled)"
        text += f", {how}, lambda = {decimal_text(settings.weight_decay)}"
    return text


def _hyper_text(value: sympy.Rational) -> str:
    """A hyperparameter as a spec would write it: ``1e-8`` for a small power of ten (PyTorch's epsilon)."""
    exponent = small_power_of_ten(to_decimal(value))
    return decimal_text(value) if exponent is None else f"1e{exponent}"


def optimizer_data(solution: Solution) -> dict[str, Any]:
    """The rule, its hyperparameters and every step's gradients, states and updated parameters."""
    settings = solution.spec.optimizer
    assert settings is not None
    return rule_data(settings, solution.evaluation.steps)


def rule_data(settings: OptimizerSettings, steps: Sequence[Mapping[str, Number]]) -> dict[str, Any]:
    """An export's ``optimizer`` object (a network's or a graph's): the rule and every step's values."""
    return {
        "name": settings.name,
        "nesterov": settings.nesterov,
        "hyperparameters": {HYPERPARAMETERS[f].ascii: decimal_text(getattr(settings, f))
                            for f in settings.hyperparameters},
        "weight_decay": settings.decay or None,
        "steps": [{"step": t, "values": {name: full_text(v) for name, v in row.items()}}
                  for t, row in enumerate(steps, start=1)],
    }


def number_fields(value: Number, decimals: int, exact: bool) -> dict[str, Any]:
    """One value in an export: its full digits, its display, whether it is exact, and whether every
    digit of both was decided by the enclosure (false: an exact 0 in a ball)."""
    full, shown = full_decision(value), display_decision(value, decimals)
    return {"value": full.text, "display": shown.text, "exact": exact, "certified": full.decided and shown.decided}


def export_data(solution: Solution, formulas: bool = True) -> dict[str, Any]:
    """What ``export`` prints; ``formulas=False`` leaves out each quantity's LaTeX (``latex``, ``formula``,
    ``closed_form``), a third of the work, for a reader of the numbers alone (the oracle test)."""
    network, spec = solution.network, solution.spec
    quantities = []
    for q in network.quantities.values():
        item: dict[str, Any] = {"name": q.name, "kind": q.kind}
        if formulas:
            item.update(latex=q.latex, formula=solution.formula(q.name))
        item.update(number_fields(solution.value(q.name), spec.decimals, solution.evaluation.exact[q.name]))
        if formulas and q.explicit is not None:
            item["closed_form"] = solution.formula(q.name, explicit=True)
            if q.condition is not None:  # softmax + cross-entropy: yhat - t needs the targets to sum to 1
                item["closed_form_condition"] = solution.condition(q.name)
        if q.example is not None and network.n_examples > 1:
            item["example"] = q.example
        quantities.append(item)
    units = []
    layers = [(0, spec.n_inputs, None)] + [(layer.index, layer.size, layer.activation_name)
                                           for layer in network.layers]
    for index, size, activation in layers:
        for j in range(1, size + 1):
            unit: dict[str, Any] = {"layer": index, "unit": j, "activation": activation,
                                    "act": network.unit("act", index, j).ascii}
            if index:
                unit["pre"] = network.unit("pre", index, j).ascii
            units.append(unit)
    parameters = [{
        "name": p.name, "kind": p.kind, "layer": p.layer, "to_units": list(p.to_units),
        "from_unit": p.from_unit, "frozen": p.frozen, "value": solution.full(p.name),
    } for p in network.parameters]
    data: dict[str, Any] = {
        "generator": f"symbackprop {__version__}",
        "title": spec.title,
        "network": {
            "inputs": spec.n_inputs,
            "layers": [{"units": layer.size, "activation": layer.activation_name} for layer in network.layers],
            "units": units,
            "parameters": parameters,
            "loss": spec.loss,
            "reduction": spec.reduction,
            "learning_rate": solution.full(LEARNING_RATE.ascii),
            "decimals": spec.decimals,
            "notation": spec.notation.scheme,
            "examples": network.n_examples,
        },
        "quantities": quantities,
        "proofs": [{"parameter": pr.parameter, "method": pr.method, "proven": pr.proven,
                    "detail": pr.detail, "digits": pr.digits} for pr in solution.proofs.values()],
        "loss_history": [full_text(v) for v in solution.evaluation.loss_history],
    }
    if spec.optimizer is not None:  # no table: the export as it always was
        data["optimizer"] = optimizer_data(solution)
    return data


def export_json(solution: Solution) -> str:
    return json.dumps(export_data(solution), indent=2, ensure_ascii=False) + "\n"
