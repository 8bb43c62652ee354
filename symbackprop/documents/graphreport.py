"""Plain outputs of a solved computation graph: the ``check`` table and the ``export`` JSON."""

from __future__ import annotations

import json
from typing import Any

import sympy

from .. import __version__
from ..engine.graph import GraphSolution
from ..engine.graphtrain import GraphTraining, train_graph
from ..engine.numbers import full_text
from ..io.texttable import text_table
from .report import number_fields, rule_data, rule_line


def graph_check_table(solution: GraphSolution) -> str:
    """One row per input and parameter: chain-rule formula (sum over uses), value, proof, status."""
    rows = [("gradient", "chain rule (sum over uses)", "value", "proof", "status")]
    for leaf in solution.spec.leaves:
        g = solution.gradients[leaf.name]
        proof = solution.proofs[leaf.name]
        rows.append((g.name, sympy.sstr(g.formula, order="none"), solution.display(g.name), proof.method,
                     "proven" if proof.proven else "MISMATCH"))
    lines = text_table(rows)
    proven = sum(1 for p in solution.proofs.values() if p.proven)
    kind = solution.spec.kind
    what = "a computation graph" if kind == "graph" else f"a computation graph built from [{kind}]"
    lines += ["", f"{proven} of {len(solution.proofs)} gradients proven equal to the chain rule "
                  f"({solution.spec.source}, {what})."]
    training = train_graph(solution)
    if training is not None:
        lines.append(rule_line(training.training.optimizer, f"{_output_word(solution)} {solution.spec.output}",
                               training.history, solution.spec.decimals))
    return "\n".join(lines) + "\n"


def _output_word(solution: GraphSolution) -> str:
    """What the steps minimise: a builder's loss node, or a [graph]'s output."""
    return "the output" if solution.spec.kind == "graph" else "the loss"


def training_data(training: GraphTraining) -> dict[str, Any]:
    """The export's ``optimizer`` object: the network export's, with the learning rate and the output's
    history (before the first step, after each)."""
    data = rule_data(training.training.optimizer, training.steps)
    data.update(learning_rate=full_text(training.training.learning_rate),
                history=[full_text(v) for v in training.history])
    return data


def _number(solution: GraphSolution, name: str) -> dict[str, Any]:
    value = solution.values[name]
    return number_fields(value, solution.spec.decimals, getattr(value, "exact", None) is not None)


def graph_export_data(solution: GraphSolution) -> dict[str, Any]:
    spec = solution.spec
    leaves = [{"name": leaf.name, "kind": leaf.kind, **_number(solution, leaf.name)} for leaf in spec.leaves]
    nodes = [{"name": n.name, "formula": n.text, "sympy": sympy.sstr(n.definition), **_number(solution, n.name)}
             for n in spec.nodes]
    gradients = [{"name": g.name, "of": g.of, "chain_rule": sympy.sstr(g.formula, order="none"),
                  "uses": [{"consumer": u.consumer, "local": sympy.sstr(u.local)} for u in g.uses],
                  **_number(solution, g.name)} for g in solution.gradients.values()]
    data = {
        "generator": f"symbackprop {__version__}",
        "kind": spec.kind,
        "title": spec.title,
        "output": spec.output,
        "decimals": spec.decimals,
        "leaves": leaves,
        "nodes": nodes,
        "gradients": gradients,
        "proofs": [{"leaf": p.leaf, "method": p.method, "proven": p.proven, "detail": p.detail}
                   for p in solution.proofs.values()],
    }
    training = train_graph(solution)
    if training is not None:  # no training fields: the export as it always was
        data["optimizer"] = training_data(training)
    return data


def graph_export_json(solution: GraphSolution) -> str:
    return json.dumps(graph_export_data(solution), indent=2, ensure_ascii=False) + "\n"
