"""The TikZ network diagram: every edge labelled for small networks, a readable legend for big ones."""

from __future__ import annotations

import re

from symbackprop.diagram import diagram, value_labels
from symbackprop.generate import new_spec
from symbackprop.solution import solve
from symbackprop.spec import loads_spec


def _edges(tikz: str) -> list[str]:
    return [line for line in tikz.splitlines() if line.startswith(r"\draw")]


def test_lecture_diagram_labels_every_weight_and_bias():
    s = solve()
    d = diagram(s.network)
    assert d.labelled_all and d.legend == ""
    labels = re.findall(r"node\[lab, pos=[0-9.]+\] \{\$([^$]*)\$\}", d.tikz)
    assert sorted(labels) == sorted(["w_{1}", "w_{2}", "w_{3}", "w_{4}", "w_{5}", "w_{6}", "b_{1}", "b_{2}", "b_{3}"])
    # x1 -> h1 carries w1, x2 -> h1 carries w2 (weights are numbered unit by unit)
    assert r"\draw[edge] (L0u1) -- node[lab, pos=0.3] {$w_{1}$} (L1u1);" in d.tikz
    assert r"\draw[edge] (L0u2) -- node[lab, pos=0.3] {$w_{2}$} (L1u1);" in d.tikz
    for node in ("x_{1}", "x_{2}", "h_{1}", "h_{2}", r"\hat{y}", "E"):
        assert f"{{${node}$}}" in d.tikz
    assert d.tikz.count(r"\node[bias]") == 2
    # 6 weights + 3 biases + 1 edge to the loss
    assert len(_edges(d.tikz)) == 10


def test_edge_values():
    s = solve()
    d = diagram(s.network, edge_values=True, values=value_labels(s.network, s.evaluation.values))
    assert r"node[lab, pos=0.3] {$0.15$} (L1u1)" in d.tikz
    assert r"{$0.60$} (L2u1)" in d.tikz


def test_big_network_labels_one_path_and_explains_the_rest():
    s = solve(loads_spec(new_spec([4, 8, 8, 2], activation="tanh")))
    path = [(0, 1), (1, 1), (2, 1), (3, 1)]
    d = diagram(s.network, highlight=path)
    assert not d.labelled_all and "w^{(l)}_{jk}" in d.legend
    labelled = [e for e in _edges(d.tikz) if "node[lab" in e]
    assert len(labelled) == 3 + 3  # the path's three weights and the biases of its three units
    # every weight, the loss edges, and a short bias edge only for the path's three units (a bias node
    # per unit right above it: no bias edge crosses the picture); the legend says the others are left out
    assert len(_edges(d.tikz)) == 4 * 8 + 8 * 8 + 8 * 2 + 3 + 2
    for li in (1, 2, 3):
        assert rf"(bias{li}u1) at ({li}, " in d.tikz
        assert rf"\draw[path, dashed] (bias{li}u1) -- " in d.tikz
    assert "bias edges are drawn" in d.legend
    assert d.tikz.count(r"\node[unit]") == 4 + 8 + 8 + 2
    assert "y=1.05cm" in d.tikz  # 8 units a column fit on the page
