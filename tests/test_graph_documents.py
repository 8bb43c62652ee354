"""Snippets and slides of computation graphs: the CS231n circuits' published values, arithmetic redone.

References: CS231n "Backpropagation, Intuitions" (cs231n.github.io/optimization-2/): f = (x + y) z at
x = -2, y = 5, z = -4: q = 3, f = -12, df/dq = z = -4, df/dx = df/dy = df/dq . 1 = -4, df/dz = q = 3; the
sigmoid-gate circuit (examples/graph_cs231n.toml): f = 0.73, dx = [0.39, -0.59], dw = [-0.20, -0.39, 0.20].
The arithmetic of every numeric line is redone by `texarith`, which shares no code with symbackprop.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_graph import CS231N_ADD_MUL
from test_graph_verify import SHARED
from texarith import checked_lines

from symbackprop.cli import main
from symbackprop.documents.graphsnippets import GRAPH_FORMS, graph_snippet
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import loads_graph
from symbackprop.engine.solution import UnknownQuantity
from symbackprop.errors import UsageError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "graph_cs231n.toml"
DX = r"\frac{\partial f}{\partial x}"


@pytest.fixture(scope="module")
def add_mul():
    return solve_graph(loads_graph(CS231N_ADD_MUL, "addmul"))


def test_the_add_multiply_circuits_snippets(add_mul):
    assert graph_snippet(add_mul, "df/dx").latex == rf"\boxed{{{DX} = \frac{{\partial f}}{{\partial q}} \cdot 1}}"
    assert graph_snippet(add_mul, "df/dx", "chain").latex == (
        rf"{DX} = \frac{{\partial f}}{{\partial q}} \cdot \frac{{\partial q}}{{\partial x}}")
    assert graph_snippet(add_mul, "df/dx", "numeric").latex == rf"{DX} = \left(-4.00\right) \cdot 1 = \boxed{{-4.00}}"
    assert graph_snippet(add_mul, "df/dz").latex == r"\boxed{\frac{\partial f}{\partial z} = q}"
    assert graph_snippet(add_mul, "df/dz", "numeric").latex == r"\frac{\partial f}{\partial z} = \boxed{3.00}"
    assert graph_snippet(add_mul, "f", "numeric").latex == r"f = 3.00 \cdot \left(-4\right) = \boxed{-12.00}"
    assert graph_snippet(add_mul, "q", "numeric").latex == r"q = \left(-2\right) + 5 = \boxed{3.00}"
    assert graph_snippet(add_mul, "x", "numeric").latex == "x = -2"


def test_a_shared_weights_gradient_is_a_sum_over_its_uses():
    s = solve_graph(loads_graph(SHARED, "shared"))
    dw, da = r"\frac{\partial f}{\partial w}", r"\frac{\partial f}{\partial a_{%d}}"
    assert graph_snippet(s, "df/dw").latex == rf"\boxed{{{dw} = {da % 1} \cdot x_{{1}} + {da % 2} \cdot x_{{2}}}}"
    assert graph_snippet(s, "df/dw", "chain").latex == (
        rf"{dw} = {da % 1} \cdot \frac{{\partial a_{{1}}}}{{\partial w}} + {da % 2} \cdot "
        r"\frac{\partial a_{2}}{\partial w}")
    # df/da1 x1 + df/da2 x2 = 3(1) + 1.5(-0.5) = 2.25
    assert graph_snippet(s, "df/dw", "numeric").latex == (
        rf"{dw} = 3.000 \cdot 1 + 1.500 \cdot \left(-0.50\right) = \boxed{{2.250}}")


@pytest.mark.parametrize("text", [CS231N_ADD_MUL, SHARED, EXAMPLE.read_text(encoding="utf-8")],
                         ids=["add_mul", "shared", "sigmoid"])
def test_every_numeric_line_reproduces(text):
    """Each numeric snippet's arithmetic, redone with its printed numbers, rounds to its boxed result."""
    s = solve_graph(loads_graph(text, "g"))
    checked = 0
    for name in s.values:
        tex = r"\begin{align*}" + graph_snippet(s, name, "numeric").latex + r"\end{align*}"
        checked += bool(checked_lines(tex))
    assert checked >= len(s.spec.nodes)


def test_the_sigmoid_circuits_published_gradients():
    s = solve_graph(str(EXAMPLE))
    boxed = {n: graph_snippet(s, n, "numeric").latex.rsplit(r"\boxed", 1)[-1] for n in ("f", "df/dx0", "df/dx1")}
    assert boxed == {"f": "{0.73}", "df/dx0": "{0.39}", "df/dx1": "{-0.59}"}
    assert [graph_snippet(s, f"df/dw{i}", "numeric").latex.rsplit(r"\boxed", 1)[-1] for i in range(3)] == [
        "{-0.20}", "{-0.39}", "{0.20}"]
    # the exp gate: upstream df/dg = -1/h^2 = -0.534 times its local derivative e^u, u = -1
    assert graph_snippet(s, "df/du", "numeric").latex == (
        r"\frac{\partial f}{\partial u} = \left(-0.534\right) \cdot e^{\left(-1.000\right)} = \boxed{-0.20}")


def test_forms_that_do_not_apply(add_mul):
    assert GRAPH_FORMS == ("symbolic", "chain", "numeric")
    with pytest.raises(UsageError, match="form expanded does not apply to 'df/dx': a computation graph's "):
        graph_snippet(add_mul, "df/dx", "expanded")
    with pytest.raises(UsageError, match="form symbolic does not apply to 'x'"):
        graph_snippet(add_mul, "x")
    with pytest.raises(UsageError, match="form chain does not apply to 'df/dz': its only link"):
        graph_snippet(add_mul, "df/dz", "chain")
    with pytest.raises(UnknownQuantity, match="did you mean 'df/dx'"):
        graph_snippet(add_mul, "dfdx")


def test_the_snippet_command(tmp_path, capsys):
    spec = tmp_path / "g.toml"
    spec.write_text(CS231N_ADD_MUL)
    assert main(["snippet", str(spec), "df/dx", "--form", "chain", "--format", "md"]) == 0
    assert capsys.readouterr().out == (
        "$$\n" + rf"{DX} = \frac{{\partial f}}{{\partial q}} \cdot \frac{{\partial q}}{{\partial x}}" + "\n$$\n")
    assert main(["snippet", str(spec), "df/dx", "--form", "expanded"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--form expanded does not apply" in err


def test_a_snippet_picture(tmp_path, tex):
    out = tmp_path / "dw.png"
    assert main(["snippet", str(EXAMPLE), "df/dw0", "--form", "numeric", "--format", "png", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
