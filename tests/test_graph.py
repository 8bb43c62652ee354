"""Computation-graph specs ([graph]): published worked examples, sums over uses, hostile formulas, the CLI."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from example_specs import graph_specs

from symbackprop.cli import main
from symbackprop.engine.graph import gate_kind, solve_graph
from symbackprop.engine.kinds import loads_graph
from symbackprop.engine.numbers import display
from symbackprop.errors import SpecError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "graph_cs231n.toml"

CS231N_ADD_MUL = """
[graph]
inputs = { x = -2, y = 5, z = -4 }
[graph.nodes]
q = "x + y"
f = "q * z"
"""


def _exact(solution, name: str) -> Fraction:
    value = solution.values[name]
    assert value.exact is not None, f"{name} should be exact"
    return value.exact


def test_cs231n_add_multiply_circuit():
    """CS231n "Backpropagation, Intuitions" (cs231n.github.io/optimization-2/): f(x, y, z) = (x + y) z at
    x = -2, y = 5, z = -4 gives f = -12, df/dx = df/dy = -4, df/dz = 3 (exactly: all rational)."""
    s = solve_graph(loads_graph(CS231N_ADD_MUL, "cs231n"))
    assert _exact(s, "f") == -12
    assert [_exact(s, f"df/d{v}") for v in "xyz"] == [-4, -4, 3]
    assert s.all_proven and {p.method for p in s.proofs.values()} == {"symbolic"}


def test_cs231n_sigmoid_gate_circuit():
    """The sigmoid-gate circuit of the same notes: f(w, x) = 1/(1 + exp(-(w0 x0 + w1 x1 + w2))), w = [2, -3, -3],
    x = [-1, -2]: forward 0.73, dx = [0.39, -0.59], dw = [-0.20, -0.39, 0.20] (to 2 decimals)."""
    s = solve_graph(str(EXAMPLE))
    shown = {name: display(s.values[name], 2) for name in s.values}
    assert shown["f"] == "0.73"
    assert [shown["df/dx0"], shown["df/dx1"]] == ["0.39", "-0.59"]
    assert [shown["df/dw0"], shown["df/dw1"], shown["df/dw2"]] == ["-0.20", "-0.39", "0.20"]
    # independently: sigma(1) and its slope sigma(1)(1 - sigma(1)), by mpmath at 50 digits
    import mpmath

    mpmath.mp.dps = 50
    sig = 1 / (1 + mpmath.e ** -1)
    slope = sig * (1 - sig)
    assert abs(Decimal(str(s.values["f"])) - Decimal(mpmath.nstr(sig, 40))) < Decimal("1e-35")
    assert abs(Decimal(str(s.values["df/dx0"])) - Decimal(mpmath.nstr(2 * slope, 40))) < Decimal("1e-35")
    assert s.values["f"].exact is None and s.values["c"].exact == 4  # a ball only after exp


def test_parameter_used_twice_sums_over_uses():
    """f = w*x + w*w*y at w = 3, x = 2, y = 5: df/dw = x + 2 w y = 32 (by hand); w feeds two gates."""
    s = solve_graph(loads_graph("""
[graph]
inputs = { x = 2, y = 5 }
parameters = { w = 3 }
[graph.nodes]
a = "w * x"
b = "w ** 2 * y"
f = "a + b"
""", "twice"))
    g = s.gradients["w"]
    assert sorted(u.consumer for u in g.uses) == ["a", "b"]
    assert _exact(s, "df/dw") == 32
    assert s.shares["a", "w"].exact == 2 and s.shares["b", "w"].exact == 30
    assert s.all_proven


def test_max_routes_and_relu_convention():
    """max(x, y) * z at x = 1, y = 4, z = 2: the gradient 2 is routed to y, x gets 0."""
    spec = loads_graph('[graph]\ninputs = { x = 1, y = 4, z = 2 }\n[graph.nodes]\nm = "max(x, y)"\nf = "m * z"\n')
    s = solve_graph(spec)
    assert (_exact(s, "df/dx"), _exact(s, "df/dy"), _exact(s, "df/dz")) == (0, 2, 4)
    assert gate_kind(spec.nodes[0].definition) == "max" and gate_kind(spec.nodes[1].definition) == "mul"
    assert s.all_proven


@pytest.mark.parametrize(("formula", "problem"), [
    ("__import__('os').getcwd()", "only ASCII names"),
    ("x.__class__", "attribute access not allowed"),
    ("9**9**9", "numeric exponent must be a whole number"),
    ("x ** 100", "numeric exponent must be a whole number"),
    ("((9**12)**12)**12 * x * y", "too large"),
    ("open(x)", "cannot call 'open'"),
    ("lambda: x", "lambda not allowed"),
    ("x[0]", "subscripts not allowed"),
    ("x if y else x", "if/else not allowed"),
    ("q + 1", "unknown name 'q'"),
    ("x +", "is not a formula"),
    ("x / 0", "division by 0"),
    ("1e300 * x", "plain decimals"),
])
def test_hostile_formulas_refused_in_one_line(formula: str, problem: str):
    text = f'[graph]\ninputs = {{ x = 1, y = 2 }}\n[graph.nodes]\nf = """{formula}"""\n'
    with pytest.raises(SpecError) as err:
        loads_graph(text, "bad.toml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("bad.toml: graph.nodes.f: ") and problem in message


def test_spec_problems_name_the_field():
    with pytest.raises(SpecError, match="graph.inputs.y: does not feed the output 'f'"):
        loads_graph('[graph]\ninputs = { x = 1, y = 2 }\n[graph.nodes]\nf = "x * x"\n', "s")
    with pytest.raises(SpecError, match="graph.nodes.exp: the name 'exp' is taken"):
        loads_graph('[graph]\ninputs = { x = 1 }\n[graph.nodes]\nexp = "x * x"\n', "s")


def test_check_and_export(capsys):
    assert main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 gradients proven" in out and "df/dx1" in out
    assert main(["export", str(EXAMPLE)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "graph"
    grads = {g["name"]: g["display"] for g in data["gradients"]}
    assert grads["df/dw1"] == "-0.39"


def test_worksheet_tex_has_the_circuit_and_rules(tmp_path, capsys):
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path)]) == 0
    tex = (tmp_path / "graph_cs231n.tex").read_text(encoding="utf-8")
    assert r"\begin{tikzpicture}" in tex and "node[fwd] {$0.73$}" in tex and "node[bwd] {$1.00$}" in tex
    assert "A multiply gate swaps" in tex and "An add gate distributes" in tex
    assert r"f &= \frac{1}{h} = \frac{1}{1.37} = 0.73" in tex
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path), "--lang", "de"]) == 0
    assert "Ein Multiplikationsgatter vertauscht" in (tmp_path / "graph_cs231n.tex").read_text(encoding="utf-8")
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path), "--sections", "forward"]) == 2
    assert "--sections: not available for a computation graph" in capsys.readouterr().err


def test_worksheet_pdf_compiles(tmp_path, tex):
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path), "--pdf"]) == 0
    assert (tmp_path / "graph_cs231n.pdf").stat().st_size > 10_000


def test_symbolic_formula_is_the_sum_over_consumers():
    s = solve_graph(loads_graph(CS231N_ADD_MUL, "cs231n"))
    assert s.gradients["z"].formula == sympy.Symbol("q", real=True)
    assert s.gradients["x"].formula == sympy.Symbol("df/dq", real=True)


def test_committed_graph_handout_is_current(tmp_path):
    assert main(["worksheet", str(EXAMPLE), "-o", str(tmp_path)]) == 0
    committed = EXAMPLE.parent.parent / "output" / "graph_cs231n.tex"
    assert committed.read_text(encoding="utf-8") == (tmp_path / "graph_cs231n.tex").read_text(encoding="utf-8")


def test_cli_refuses_hostile_and_undefined_graphs_without_output(tmp_path, capsys):
    hostile = tmp_path / "hostile.toml"
    hostile.write_text('[graph]\ninputs = { x = 1 }\n[graph.nodes]\nf = "x.__class__"\n', encoding="utf-8")
    undefined = tmp_path / "undefined.toml"
    undefined.write_text('[graph]\ninputs = { x = 1 }\n[graph.nodes]\nf = "log(x - 1)"\n', encoding="utf-8")
    cases = ((hostile, "graph.nodes.f: attribute access not allowed"), (undefined, "f: the value is not finite"))
    for spec, problem in cases:
        assert main(["worksheet", str(spec), "-o", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and problem in err
    assert not (tmp_path / "out").exists()


def test_a_graph_spec_on_a_pipe_is_recognised():
    """The spec's text is read once and its table decides the kind, so a pipe works as a file does."""
    from forked import symbackprop_in_a_fork

    text = (Path(__file__).parent.parent / "examples" / "graph_cs231n.toml").read_text(encoding="utf-8")
    run = symbackprop_in_a_fork("check", "/dev/stdin", input=text, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "5 of 5 gradients proven" in run.stdout and "a computation graph" in run.stdout


def test_the_markdown_handout_has_the_latex_sections_and_the_wires_as_a_table(tmp_path, capsys):
    """CS231n's f = (x + y) z at x = -2, y = 5, z = -4: the wire x -> q carries -2 forward and
    df/dx = -4 back, q -> f carries 3 and df/dq = z = -4, z -> f carries -4 and df/dz = q = 3."""
    from symbackprop.documents.graphhandout import render_graph_handout

    solution = solve_graph(loads_graph(CS231N_ADD_MUL, "cs231n"))
    md, tex = render_graph_handout(solution, fmt="md"), render_graph_handout(solution)
    assert "| $x$ | $q$ | $-2.00$ | $-4.00$ |" in md
    assert "| $q$ | $f$ | $3.00$ | $-4.00$ |" in md and "| $z$ | $f$ | $-4.00$ | $3.00$ |" in md
    titles = [line[3:].replace("Appendix: ", "") for line in md.splitlines() if line.startswith("## ")]
    assert titles == re.findall(r"\\section\{(.*?)\}", tex)  # LaTeX's appendix letters its section
    assert "\\begin{" not in md.replace("\\begin{aligned}", "")  # no LaTeX environment but KaTeX's aligned
    spec = tmp_path / "f.toml"
    spec.write_text(CS231N_ADD_MUL, encoding="utf-8")
    assert main(["worksheet", str(spec), "--format", "md", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "f.md").read_text(encoding="utf-8") == md


@pytest.mark.parametrize("path", graph_specs(), ids=lambda p: p.stem)
def test_every_graph_kinds_markdown_handout_has_its_latex_sections(path):
    """One context, two thin template sets: the Markdown handout of every graph-kind example has the LaTeX
    handout's sections (a kind's own parts too: a convolution's routing and kernel sums)."""
    from symbackprop.documents.graphhandout import render_graph_handout
    from symbackprop.engine.kinds import load_graph

    solution = solve_graph(load_graph(path))
    md, tex = render_graph_handout(solution, fmt="md"), render_graph_handout(solution)
    titles = [line[3:].replace("Appendix: ", "") for line in md.splitlines() if line.startswith("## ")]
    assert titles == re.findall(r"\\section\{(.*?)\}", tex)
    assert "\\VAR" not in md and "\\BLOCK" not in md


def test_a_logarithm_has_one_glyph_on_every_side_of_a_line():
    """A gate ``log(u9 + 2)`` printed ``u_{10} = \\log(2 + u_9) = \\ln(2 + 1.96)``: SymPy's ``\\log`` on the left of
    the same line as the numeric side's ``\\ln``.  Every place prints ``\\ln`` now: the gates' table, the forward
    line, the circle."""
    from symbackprop.documents.graphhandout import render_graph_handout

    solution = solve_graph(loads_graph('[graph]\ndecimals = 2\noutput = "f"\ninputs = { x = 0.5 }\n'
                                       'parameters = { a = 1.5 }\n[graph.nodes]\nu = "a * x"\nv = "log(u + 2)"\n'
                                       'f = "log(v)"\n', "g"))
    tex = render_graph_handout(solution)
    assert r"\log" not in tex
    line = next(row for row in tex.splitlines() if row.startswith("v &= "))
    assert line.startswith(r"v &= \ln{\left(2 + u \right)} = \ln\left(2 + 0.75\right) = 1.01"), line
    assert r"{$\ln$}" in tex  # the circle of f = ln(v)
