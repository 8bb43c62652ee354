"""The TikZ network diagram: every edge labelled for small networks, a readable legend for big ones,
and a layout in which nothing overlaps (checked on the computed geometry, and against TeX's widths)."""

from __future__ import annotations

import functools
import math
import re
import subprocess
from pathlib import Path

import pytest

from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec
from symbackprop.io.pdf import latex_env
from symbackprop.notation.diagram import LABEL_ALL_MAX, Layout, diagram, map_layout, network_map, value_labels
from symbackprop.notation.geometry import PT, Edge, Shape, shape_gap, text_extent

ROOT = Path(__file__).resolve().parent.parent

NETWORKS = {"lecture": None, "3-3-2": ([3, 3, 2], 1), "4-8-8-2": ([4, 8, 8, 2], 2),
            "8-16-16-4": ([8, 16, 16, 4], 3), "mazur": "mazur"}
#: the A4 handout's text block (cm): 21 - 2 * 2.3 wide; below a section title
PAGE_WIDTH, PAGE_HEIGHT = 16.4, 22.0


@functools.cache
def solution(key: str):
    """A test network solved once, when a test first asks (not at import: every pytest-xdist worker
    collects this module); without proofs, which no diagram reads."""
    spec = NETWORKS[key]
    if spec is None:
        return solve(prove=False)
    if spec == "mazur":
        return solve(ROOT / "examples" / "mazur.toml", prove=False)
    layers, seed = spec
    return solve(loads_spec(new_spec(layers, seed=seed)), prove=False)


def _labels(layout: Layout) -> dict[str, Shape]:
    """Label shapes by the edge they name."""
    return {s.owner: s for s in layout.shapes.values() if s.kind == "label"}


def _edge(layout: Layout, name: str) -> Edge:
    return next(e for e in layout.edges if e.name == name)


def test_lecture_diagram_labels_every_weight_and_bias():
    s = solve()
    d = diagram(s.network)
    assert d.labelled_all and d.legend is None and d.layout is not None
    labels = _labels(d.layout)
    texts = sorted(label.text for label in labels.values())
    assert texts == sorted(f"${n}_{{{i}}}$" for n, i in [("w", 1), ("w", 2), ("w", 3), ("w", 4), ("w", 5),
                                                        ("w", 6), ("b", 1), ("b", 2), ("b", 3)])
    # x1 -> h1 carries w1, x2 -> h1 carries w2 (weights are numbered unit by unit)
    assert (_edge(d.layout, "w1").a, _edge(d.layout, "w1").b) == ("L0u1", "L1u1")
    assert (_edge(d.layout, "w2").a, _edge(d.layout, "w2").b) == ("L0u2", "L1u1")
    assert labels["w1"].text == "$w_{1}$" and labels["bias2.1"].text == "$b_{3}$"
    for node in ("x_{1}", "x_{2}", "h_{1}", "h_{2}", r"\hat{y}", "E"):
        assert f"{{${node}$}}" in d.tikz
    assert d.tikz.count(r"\node[bias,") == 2
    # 6 weights + 3 biases + 1 edge to the loss, each drawn once
    assert len([line for line in d.tikz.splitlines() if line.startswith(r"\draw")]) == 10


def test_edge_values_label_each_edge_with_its_exact_value():
    s = solve()
    d = diagram(s.network, edge_values=True, values=value_labels(s.network, s.evaluation.values))
    labels = _labels(d.layout)
    assert labels["w1"].text == "$0.15$" and labels["w6"].text == "$0.45$"
    assert labels["bias2.1"].text == "$0.60$"


def test_big_network_labels_one_path_and_explains_the_rest():
    s = solution("4-8-8-2")
    path = [(0, 1), (1, 1), (2, 1), (3, 1)]
    d = diagram(s.network, highlight=path)
    assert not d.labelled_all and d.legend is not None and not d.legend.sequential
    assert d.legend.weight == "w^{(2)}_{11}"
    labels = _labels(d.layout)
    assert len(labels) == 3 + 3  # the path's three weights and the biases of its three units
    assert sorted(e.name for e in d.layout.edges if not e.background and e.style == "path") == \
        sorted(s.network.weight_name(li, 1, 1) for li in (1, 2, 3))
    # every weight, the loss edges, and a short bias edge only for the path's three units
    assert len(d.layout.edges) == 4 * 8 + 8 * 8 + 8 * 2 + 2 + 3
    assert sorted(n for n, sh in d.layout.shapes.items() if sh.kind == "bias") == ["bias1u1", "bias2u1", "bias3u1"]
    assert d.tikz.count(r"\node[unit,") == 4 + 8 + 8 + 2


def _cases():
    for key in NETWORKS:
        for values in (False, True):
            yield pytest.param(key, values, id=f"{key}{'-values' if values else ''}")


@pytest.mark.parametrize("key, edge_values", list(_cases()))
def test_nothing_overlaps_and_the_picture_fits_the_page(key, edge_values):
    """Units keep a gap; labels and bias nodes stay off units, each other and edges not their own; edges
    keep clear of units they do not join. Checked for the default path and one through a middle unit."""
    s = solution(key)
    sizes = [s.spec.n_inputs] + [layer.size for layer in s.network.layers]
    values = value_labels(s.network, s.evaluation.values) if edge_values else None
    middle = [(0, (sizes[0] + 1) // 2)] + [(li, (n + 1) // 2) for li, n in enumerate(sizes[1:], start=1)]
    for path in ([(li, 1) for li in range(len(sizes))], middle):
        d = diagram(s.network, edge_values, path, values, roomy=True)
        assert d.layout is not None
        assert d.layout.conflicts() == []
        units = [sh for sh in d.layout.shapes.values() if sh.kind == "unit"]
        assert len(units) == sum(sizes)
        xs = [x for sh in d.layout.shapes.values() for x in (sh.cx - sh.hw, sh.cx + sh.hw)]
        ys = [y for sh in d.layout.shapes.values() for y in (sh.cy - sh.hh, sh.cy + sh.hh)]
        assert max(xs) - min(xs) <= PAGE_WIDTH and max(ys) - min(ys) <= PAGE_HEIGHT
        for unit in units:  # a label or a bias node a hair off a unit reads as touching it (1 mm at least)
            for other in d.layout.shapes.values():
                if other.kind in ("label", "bias"):
                    assert shape_gap(unit, other) >= 0.1, (unit.name, other.name, shape_gap(unit, other))
        labelled = {sh.owner for sh in d.layout.shapes.values() if sh.kind == "label"}
        if max(sizes) <= LABEL_ALL_MAX:  # every weight and bias edge carries its label
            assert labelled == {e.name for e in d.layout.edges if e.b != "loss"}
    # the slides' map too
    assert map_layout(s.network).conflicts() == []


@pytest.mark.parametrize("key", list(NETWORKS))
def test_every_edge_is_long_enough_to_see(key):
    """An edge shorter than 3 mm between its borders is a stub: a dashed one shows one dash, an arrow
    only its tip (the lecture map's yhat -> E was 2 mm)."""
    s = solution(key)
    values = value_labels(s.network, s.evaluation.values)
    for layout in (map_layout(s.network), diagram(s.network, True, None, values, roomy=True).layout):
        shortest = min((math.dist(*layout.ends(e)), e.name) for e in layout.edges)
        assert shortest[0] >= 0.3, shortest


@pytest.mark.parametrize("layers", [[2, 3, 3, 3, 2], [3, 3, 3, 3, 3, 3, 2], [1, 1], [16, 1]])
def test_deep_wide_and_tiny_networks_do_not_overlap_either(layers):
    """Off the beaten track: the handout picture (scaled to the page by the template when wider) and
    the map (narrow columns: no labels in the circles, a caption under each column instead)."""
    s = solve(loads_spec(new_spec(layers, seed=7)))
    d = diagram(s.network, True, [(li, 1) for li in range(len(layers))], value_labels(s.network, s.evaluation.values))
    assert d.layout.conflicts() == []
    layout = map_layout(s.network)
    assert layout.conflicts() == []
    if len(layers) > 3:
        assert layout.shapes["m0u1"].text == "" and r"{in};" in network_map(s.network, [])


def test_the_checker_finds_each_kind_of_overlap():
    """The checker can fail: touching units, a label on a foreign edge, an edge through a unit."""
    layout = Layout()
    for name, x, y in (("a", 0, 0), ("b", 4, 0), ("c", 2, 0.5), ("d", 2, -3)):
        layout.add(Shape(name, "unit", x, y, 0.45, 0.45, True))
    layout.edges += [Edge("ab", "a", "b", "edge"), Edge("ad", "a", "d", "edge")]
    assert layout.conflicts() == ["edge crosses: ab / c"]  # passes 0.05 cm from c's border
    layout.add(Shape("e", "unit", 2.0, 1.5, 0.45, 0.45, True))
    assert "shapes touch: c / e" in layout.conflicts()
    layout.add(Shape("label:ad", "label", 1.0, -1.5, 0.3, 0.15, owner="ad"))
    layout.add(Shape("label:x", "label", 1.0, 0.0, 0.3, 0.15, owner="ad"))
    found = layout.conflicts()
    assert "edge crosses: ab / label:x" in found and not any("ad / label:ad" in f for f in found)


def test_tikz_draws_the_layout():
    """The picture is the layout: every node at its computed centre, every edge from border to border."""
    s = solution("3-3-2")
    d = diagram(s.network, True, None, value_labels(s.network, s.evaluation.values))
    drawn = {m[0]: (float(m[1]), float(m[2]))
             for m in re.findall(r"\\node\[[^]]*\] \((\w+)\) at \((-?[\d.]+), (-?[\d.]+)\)", d.tikz)}
    for name, sh in d.layout.shapes.items():
        if sh.kind != "label":
            assert drawn[name] == pytest.approx((sh.cx, sh.cy), abs=1e-3), name
    labels = re.findall(r"\\node\[lab\] at \((-?[\d.]+), (-?[\d.]+)\)", d.tikz)
    assert len(labels) == len(_labels(d.layout))


@pytest.mark.parametrize("act", ["out", "Out", "act"])
def test_map_labels_a_word_named_unit_by_the_unit(act):
    """A textbook's word activations (out_h1) would not fit the map's circles: the map names the unit."""
    text = (ROOT / "examples" / "mazur.toml").read_text(encoding="utf-8").replace('act = "out"', f'act = "{act}"')
    layout = map_layout(solve(loads_spec(text)).network)
    labels = {name: sh.text for name, sh in layout.shapes.items() if sh.kind == "unit"}
    assert labels == {"m0u1": "$i_{1}$", "m0u2": "$i_{2}$", "m1u1": "$h_{1}$", "m1u2": "$h_{2}$",
                      "m2u1": "$o_{1}$", "m2u2": "$o_{2}$"}


def test_map_lights_steps_on_their_overlays():
    class Step:
        def __init__(self, rings, edges):
            self.rings, self.edges = rings, edges

    tikz = network_map(solve().network, [Step([(1, 1)], []), Step([(2, 1)], [((1, 1), (2, 1))])])
    assert r"\only<1->{\node[lit] at (m1u1) {};}" in tikz
    assert r"\only<2->{\draw[litedge] (m1u1) -- (m2u1); \node[lit] at (m2u1) {};}" in tikz


@pytest.mark.tex
def test_estimated_label_extents_are_not_smaller_than_texs(tex, tmp_path):
    """Every label and unit text of the test networks, measured by TeX at its font size."""
    texts = {"$-0.30$", "$0.0125$", r"$\frac{1}{3}$"}
    for s in map(solution, NETWORKS):
        d = diagram(s.network, True, None, value_labels(s.network, s.evaluation.values), roomy=True)
        texts |= {sh.text for sh in d.layout.shapes.values() if sh.text}
        texts |= {sh.text for sh in diagram(s.network).layout.shapes.values() if sh.text}
    ordered = sorted(texts)
    body = "\n".join(rf"\setbox0\hbox{{\scriptsize {t}}}\typeout{{BOX {i} \the\wd0/\the\ht0/\the\dp0}}"
                     for i, t in enumerate(ordered))
    (tmp_path / "m.tex").write_text("\\documentclass[11pt]{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
                                    "\\usepackage{amsmath}\\begin{document}\n" + body + "\n\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "m.tex"], cwd=tmp_path,
                         env=latex_env(), capture_output=True, text=True, timeout=120)
    boxes = re.findall(r"BOX (\d+) ([\d.]+)pt/([\d.]+)pt/([\d.]+)pt", run.stdout)
    assert len(boxes) == len(ordered), run.stdout[-2000:]
    for i, wd, ht, dp in boxes:
        w, h = text_extent(ordered[int(i)])
        em = 8.0  # \scriptsize in an 11 pt document
        assert float(wd) <= w * em, (ordered[int(i)], wd, w * em)
        assert float(ht) + float(dp) <= h * em, (ordered[int(i)], ht, dp, h * em)
    assert PT == pytest.approx(0.0351459804)
