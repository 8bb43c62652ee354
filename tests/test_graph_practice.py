"""The practice page on computation graphs: the exercise is the graph exam's variant 001 of the seed, right
answers (computed here by hand, Fractions and mpmath, from the values the page gives) are correct, a
planted slip gets the graph marker's diagnosis, the circuit SVG is well-formed, bad requests one error.

Two circuits: CS231n's f = (x + y) z (the notes' first example: at x = -2, y = 5, z = -4, f = -12,
df/dx = df/dy = -4, df/dz = 3) and the sigmoid-gate circuit of examples/graph_cs231n.toml.
"""

from __future__ import annotations

import json
import tomllib
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from example_specs import graph_specs
from practice_helpers import check, request, running_app

from symbackprop.cli import main
from symbackprop.engine.solution import solve_any
from symbackprop.exam.build import build_exam
from symbackprop.practice.exercise import PracticeError, draw, page_data, preview, step
from symbackprop.practice.exercise import check as check_answers

ROOT = Path(__file__).resolve().parent.parent
SIGMOID = ROOT / "examples" / "graph_cs231n.toml"
SUM_TIMES = """
[graph]
title = "CS231n: f = (x + y) z"
decimals = 2
inputs = { x = -2, y = 5, z = -4 }

[graph.nodes]
q = "x + y"
f = "q * z"
"""
SEED = 7
SVG = "{http://www.w3.org/2000/svg}"


def _half_up(value: Fraction | mpmath.mpf, places: int = 2) -> str:
    """Half-up at ``places`` decimals (from 40 significant digits for an mpf; no float); never ``-0.00``."""
    text = mpmath.nstr(value, 40, strip_zeros=False) if isinstance(value, mpmath.mpf) else \
        str(Decimal(value.numerator) / Decimal(value.denominator))
    shown = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{abs(shown) if shown.is_zero() else shown:f}"


def _sum_times(v: dict[str, Fraction]) -> dict[str, Fraction]:
    """f = (x + y) z by hand: the add gate hands df/dq = z to both inputs, the multiply gate swaps."""
    q = v["x"] + v["y"]
    return {"q": q, "f": q * v["z"], "df/dx": v["z"], "df/dy": v["z"], "df/dz": q}


def _sigmoid(v: dict[str, Fraction]) -> dict[str, object]:
    """f = 1/(1 + exp(-(w0 x0 + w1 x1 + w2))) gate by gate, df/dd = f (1 - f) (mpmath, 50 digits)."""
    mpmath.mp.dps = 50

    def mp(x: Fraction) -> mpmath.mpf:
        return mpmath.mpf(x.numerator) / x.denominator

    a, b = v["w0"] * v["x0"], v["w1"] * v["x1"]
    c = a + b
    d = c + v["w2"]
    g = mpmath.exp(-mp(d))
    f = 1 / (1 + g)
    dd = f * (1 - f)
    return {"a": a, "b": b, "c": c, "d": d, "u": -d, "g": g, "h": 1 + g, "f": f, "df/dx0": dd * mp(v["w0"]),
            "df/dx1": dd * mp(v["w1"]), "df/dw0": dd * mp(v["x0"]), "df/dw1": dd * mp(v["x1"]), "df/dw2": dd}


@pytest.fixture(scope="module")
def sum_times(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "sum_times.toml"
    path.write_text(SUM_TIMES, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def app():
    with running_app(str(SIGMOID)) as address:
        yield address


def _given(data: dict) -> dict[str, Fraction]:
    return {g["name"]: Fraction(g["value"]) for g in data["given"]}


def _asked(data: dict) -> list[str]:
    return [i["name"] for t in data["tasks"] for i in t["items"]]


@pytest.mark.parametrize("which", ["sum_times", "sigmoid"])
def test_the_exercise_is_the_graph_exams_variant_001(which, sum_times):
    path = sum_times if which == "sum_times" else SIGMOID
    data = page_data(draw(solve_any(path), SEED))
    exam = build_exam(path, seed=SEED, workers=1)  # what `symbackprop exam SPEC --seed 7` writes
    graph = tomllib.loads(exam.files["variants/v001.toml"].decode(), parse_float=Fraction)["graph"]
    drawn = {k: Fraction(v) for table in ("inputs", "parameters") for k, v in graph.get(table, {}).items()}
    assert _given(data) == drawn
    original = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Fraction)["graph"]
    assert drawn != {k: Fraction(v) for table in ("inputs", "parameters") for k, v in original.get(table, {}).items()}
    assert [t["key"] for t in data["tasks"]] == ["forward", "gradients"]
    assert [t["title"] for t in data["tasks"]] == ["Forward pass", "Gradients"]
    nodes = list(original["nodes"])
    leaves = list(drawn)
    assert _asked(data) == nodes + [f"df/d{leaf}" for leaf in leaves]  # the names as export gives them
    assert [g.split(" = ")[0] for g in data["gates"]] == nodes  # one-letter names: their LaTeX is the name
    assert data == page_data(draw(solve_any(path), SEED))  # the seed fixes the exercise


def test_the_circuit_svg(sum_times):
    for path, gates, wires, leaves in ((sum_times, 2, 4, {"x": "x", "y": "y", "z": "z"}),
                                       (SIGMOID, 8, 12, {f"{c}{i}": f"{c}_{{{i}}}" for c, n in (("x", 2), ("w", 3))
                                                         for i in range(n)})):
        data = page_data(draw(solve_any(path), SEED))
        svg = ET.fromstring(data["svg"])  # well-formed XML
        assert svg.get("class") == "circuit" and float(svg.get("width")) > 100
        assert len(svg.findall(f"{SVG}circle")) == gates
        assert len(svg.findall(f"{SVG}line")) == wires + 1  # one per operand of a gate, and the output's
        texts = {el.get("class"): [] for el in svg.iter()}
        for el in svg.findall(f"{SVG}foreignObject"):
            texts[el.get("class")].append(el.find(".//{http://www.w3.org/1999/xhtml}span").get("data-tex"))
        assert sorted(texts["leaf-text"]) == sorted(leaves.values())  # one text per leaf
        assert len(texts["gate-text"]) == len(texts["gate-name"]) == gates
        given = {g["name"]: g["value"] for g in data["given"]}
        # every leaf's value on its wire, the output's gradient 1, nothing computed shown
        assert sorted(texts["fwd"]) == sorted(_half_up(Fraction(given[n])) for n in leaves)
        assert texts["bwd"] == ["1.00"]


def test_labels_in_the_svg_are_escaped(sum_times):
    """Every label reaches the SVG through html.escape: markup in a label stays text."""
    from symbackprop.notation.circuitsvg import circuit_svg

    spec = solve_any(sum_times).spec
    svg = circuit_svg(spec, {"x": "<script>alert(1)</script>", "y": 'a" onload="b'}, {("f", "z"): "&amp;"}, "1")
    assert "<script>" not in svg and 'a" onload' not in svg
    root = ET.fromstring(svg)
    texts = [el.get("data-tex") for el in root.iter() if el.get("data-tex")]
    assert {"<script>alert(1)</script>", 'a" onload="b', "&amp;"} <= set(texts)


def test_right_answers_are_correct_and_the_steps_show_them(sum_times):
    for path, evaluate in ((sum_times, _sum_times), (SIGMOID, _sigmoid)):
        ex = draw(solve_any(path), SEED)
        data = page_data(ex)
        ref = evaluate(_given(data))
        answers = {name: _half_up(ref[name]) for name in _asked(data)}
        rows = check_answers(ex, answers)["rows"]
        assert {n: r["verdict"] for n, r in rows.items()} == dict.fromkeys(answers, "correct"), rows
        for name in answers:
            assert step(ex, name)["latex"].endswith(" = " + answers[name]), name


def test_the_published_values_of_f_equals_x_plus_y_times_z(tmp_path):
    """At the notes' own point (a teacher fixes the inputs) the page marks the notes' values correct."""
    path = tmp_path / "fixed.toml"
    path.write_text(SUM_TIMES + '\n[exam]\ninputs = "fixed"\n', encoding="utf-8")
    ex = draw(solve_any(path), 1)
    assert _given(page_data(ex)) == {"x": -2, "y": 5, "z": -4}
    published = {"q": "3", "f": "-12", "df/dx": "-4", "df/dy": "-4", "df/dz": "3"}
    rows = check_answers(ex, {n: v + ".00" for n, v in published.items()})["rows"]
    assert {n: r["verdict"] for n, r in rows.items()} == dict.fromkeys(published, "correct")


def test_a_multiply_gate_not_swapped_is_diagnosed(sum_times):
    ex = draw(solve_any(sum_times), SEED)
    v = _given(page_data(ex))
    rows = check_answers(ex, {"df/dz": _half_up(v["z"]), "df/dx": "df/dq"})["rows"]
    assert rows["df/dz"]["verdict"] == "wrong"
    assert "the multiply gate f's inputs not swapped" in rows["df/dz"]["why"]
    assert rows["df/dx"]["verdict"] == "correct"  # the add gate distributes: df/dq times 1


def test_preview_reads_the_graphs_names(sum_times):
    ex = draw(solve_any(sum_times), SEED)
    assert preview(ex, "df/dq*z")["latex"] == r"\frac{\partial f}{\partial q} z"
    assert preview(ex, "max(x, y)")["latex"] == r"\max\left(x, y\right)"
    assert "error" in preview(ex, "__import__('os')")
    assert "error" in preview(ex, "dE/dz_o")  # the lecture network's names are not this graph's
    with pytest.raises(PracticeError, match="'df/dq' is not asked"):
        step(ex, "df/dq")


def test_the_app_marks_the_sigmoid_circuit_over_http(app):
    status, data = request(app, "GET", f"/api/exercise?seed={SEED}")
    assert status == 200
    ref = _sigmoid(_given(data))
    wrong_w1 = _half_up(_given(data)["w1"] * ref["df/dw2"])  # upstream x the operand's own value: not swapped
    rows = check(app, SEED, {"f": _half_up(ref["f"]), "df/dw1": wrong_w1, "df/dw0": "df/da*x0"})["rows"]
    assert rows["f"]["verdict"] == rows["df/dw0"]["verdict"] == "correct"
    assert rows["df/dw1"]["verdict"] == "wrong" and "multiply gate b's inputs not swapped" in rows["df/dw1"]["why"]
    status, solution = request(app, "GET", f"/api/solution?seed={SEED}")
    assert [s["name"] for s in solution["steps"]] == _asked(data)


@pytest.mark.parametrize("method, path, body, words", [
    ("GET", "/api/step?seed=7&name=df/dd", None, "'df/dd' is not asked"),
    ("GET", "/api/exercise?seed=x", None, "seed: a whole number"),
    ("POST", "/api/check", {"seed": 7, "answers": {"dE/dw5": "1"}}, "'dE/dw5' is not asked"),
    ("POST", "/api/check", {"seed": 7, "answers": {"f": 0.5}}, "f: the answer must be text"),
    ("POST", "/api/check", {"seed": 7, "answers": {"f": "1" * 2001}}, "at most 2000 characters"),
])
def test_bad_requests_get_one_clear_error(app, method, path, body, words):
    status, data = request(app, method, path, None if body is None else json.dumps(body).encode())
    assert status == 400 and words in data["error"] and "\n" not in data["error"]


def test_the_cli_no_longer_refuses_a_graph(capsys, monkeypatch):
    """``practice GRAPH`` reaches the server (here: a port it cannot have, one line, exit 2)."""
    assert main(["practice", str(SIGMOID), "--port", "70000"]) == 2
    assert "--port must be from 0 to 65535" in capsys.readouterr().err
    from symbackprop.practice import server

    seen = []
    monkeypatch.setattr(server, "make_server", lambda spec, host, port: seen.append(spec) or _Stop())
    assert main(["practice", str(SIGMOID), "--port", "0"]) == 0
    assert seen == [str(SIGMOID)]


class _Stop:
    """A server that stops at once (the CLI's serving loop, without listening)."""

    server_address = ("127.0.0.1", 1)

    def serve_forever(self) -> None:
        pass

    def server_close(self) -> None:
        pass


@pytest.mark.parametrize("path", graph_specs(), ids=lambda p: p.stem)
def test_every_graph_kind_example_has_a_page(path):
    """Every graph-kind example (whatever table built it): a circle per gate, the leaves the builder places
    as texts, every asked quantity a worked line ending in its displayed value, the gates' formulas read
    back by the preview in the graph's own names."""
    ex = draw(solve_any(path), SEED)
    data = page_data(ex)
    svg = ET.fromstring(data["svg"])
    nodes = {n.name: n.text for n in ex.solution.spec.nodes}
    assert len(svg.findall(f"{SVG}circle")) == len(nodes) == len(data["gates"])
    assert len(data["given"]) == len(ex.solution.spec.leaves)
    for name in _asked(data):
        assert step(ex, name)["latex"].endswith(" = " + ex.solution.display(name)), name
    for text in nodes.values():
        assert preview(ex, text).get("latex"), text
    rows = check_answers(ex, {name: ex.solution.display(name) for name in _asked(data)})["rows"]
    assert {r["verdict"] for r in rows.values()} == {"correct"}


@pytest.mark.parametrize("text", ["(" * 10_000 + "1" + ")" * 10_000, "9**9**9**9", "__import__('os').system('x')",
                                  "+".join(["w0*w1*w2*x0*x1"] * 60), "df/dq*df/dq*df/dq"])
def test_hostile_answers_on_a_graph_get_a_verdict_or_an_error(app, text):
    status, data = request(app, "POST", "/api/check", json.dumps({"seed": SEED, "answers": {"df/dw0": text}}).encode())
    if status == 200:
        assert data["rows"]["df/dw0"]["verdict"] in ("invalid", "wrong"), data
    else:
        assert status == 400 and "at most 2000 characters" in data["error"]
    assert request(app, "GET", f"/api/exercise?seed={SEED}")[0] == 200  # still up
