"""Snippets: exact LaTeX of the lecture's formulas, arithmetic redone, KaTeX on every formula, bad input."""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Context, Decimal, localcontext
from functools import cache
from pathlib import Path

import pytest
from example_specs import network_specs
from texarith import checked_lines

from symbackprop.cli import main
from symbackprop.documents.snippets import FORMS, default_filename, explain, forms_of, local_chain, snippet
from symbackprop.engine.generate import new_spec
from symbackprop.engine.numbers import display
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec

ROOT = Path(__file__).resolve().parent.parent
JS = Path(__file__).parent / "js"
SPECS = network_specs()  # a computation graph's: test_graph_documents


@pytest.fixture(scope="module")
def lecture():
    return solve()


@cache
def solved(spec: Path):
    """Each example solved once for the module's three sweeps (a Solution is not changed by reading)."""
    return solve(spec)


# -- the lecture's formulas, exactly ---------------------------------------------------------

def test_symbolic_dE_dw5(lecture):
    assert snippet(lecture, "dE/dw5").latex == (
        r"\boxed{\frac{\partial E}{\partial w_{5}} = \frac{\partial E}{\partial z_{o}} h_{1}}")


def test_symbolic_output_delta_is_the_closed_form(lecture):
    assert snippet(lecture, "dE/dz_o").latex == (
        r"\boxed{\frac{\partial E}{\partial z_{o}} = \left(\hat{y} - t\right) \hat{y} \left(1 - \hat{y}\right)}")


def test_symbolic_forward_update_and_loss(lecture):
    assert snippet(lecture, "z_o").latex == r"\boxed{z_{o} = w_{5} h_{1} + w_{6} h_{2} + b_{3}}"
    assert snippet(lecture, "w5'").latex == r"\boxed{{w_{5}}' = w_{5} - \eta \frac{\partial E}{\partial w_{5}}}"
    assert snippet(lecture, "E").latex == r"\boxed{E = \frac{1}{2} \left(\hat{y} - t\right)^{2}}"


def test_chain_dE_dw1_follows_the_lecture_path(lecture):
    assert snippet(lecture, "dE/dw1", "chain").latex == (
        r"\frac{\partial E}{\partial w_{1}} = \frac{\partial E}{\partial \hat{y}} \cdot "
        r"\frac{\partial \hat{y}}{\partial z_{o}} \cdot \frac{\partial z_{o}}{\partial h_{1}} \cdot "
        r"\frac{\partial h_{1}}{\partial z_{h_{1}}} \cdot \frac{\partial z_{h_{1}}}{\partial w_{1}}")


def test_expanded_dE_dw1_is_the_lecture_chain(lecture):
    """The web form (KaTeX, MathJax) is the lecture's line; LaTeX's puts each factor in a box of one width."""
    snip = snippet(lecture, "dE/dw1", "expanded")
    assert re.sub(r"\\makebox\[[\d.]+pt\]\{\$\\displaystyle(.*?)\$\}", r"\1", snip.latex) == snip.web
    widths = re.findall(r"\\makebox\[([\d.]+)pt\]", snip.latex)
    assert len(widths) == 5 and len(set(widths)) == 1
    assert snip.web == (
        r"\frac{\partial E}{\partial w_{1}} = "
        r"\underbrace{\frac{\partial E}{\partial \hat{y}}}_{\hat{y} - t} \cdot "
        r"\underbrace{\frac{\partial \hat{y}}{\partial z_{o}}}_{\hat{y} \left(1 - \hat{y}\right)} \cdot "
        r"\underbrace{\frac{\partial z_{o}}{\partial h_{1}}}_{w_{5}} \cdot "
        r"\underbrace{\frac{\partial h_{1}}{\partial z_{h_{1}}}}_{h_{1} \left(1 - h_{1}\right)} \cdot "
        r"\underbrace{\frac{\partial z_{h_{1}}}{\partial w_{1}}}_{x_{1}}")


def test_chain_of_a_hidden_delta_stops_at_its_unit(lecture):
    assert snippet(lecture, "dE/dh2", "chain").latex == (
        r"\frac{\partial E}{\partial h_{2}} = \frac{\partial E}{\partial \hat{y}} \cdot "
        r"\frac{\partial \hat{y}}{\partial z_{o}} \cdot \frac{\partial z_{o}}{\partial h_{2}}")


def test_numeric_lines_are_the_lectures(lecture):
    assert snippet(lecture, "dE/dw5", "numeric").latex == (
        r"\frac{\partial E}{\partial w_{5}} = 0.047 \cdot 0.593 = \boxed{0.028}")
    assert snippet(lecture, "z_o", "numeric").latex == (
        r"z_{o} = 0.40 \cdot 0.593 + 0.45 \cdot 0.597 + 0.60 = \boxed{1.106}")
    assert snippet(lecture, "w5'", "numeric").latex == r"{w_{5}}' = 0.40 - 0.50 \cdot 0.028 = \boxed{0.386}"
    assert snippet(lecture, "x1", "numeric").latex == "x_{1} = 0.05"


def test_numeric_dE_dw5_redone_by_hand(lecture):
    # 0.047 * 0.593 = 0.027871 -> 0.028 (half-up at 3 decimals)
    product = Decimal("0.047") * Decimal("0.593")
    assert product == Decimal("0.027871")
    assert display(product, 3) == "0.028" == lecture.display("dE/dw5")


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_numeric_snippet_reproduces(spec):
    """Redo each line with the printed numbers (an independent reader): it rounds to the boxed result."""
    s = solved(spec)
    checked = 0
    for name in s.names:
        if s.quantity(name).kind in ("input", "target", "weight", "bias", "learning_rate"):
            continue
        tex = snippet(s, name, "numeric").latex.replace("aligned", "align*")
        if not tex.startswith(r"\begin"):
            tex = r"\begin{align*}" + tex + r"\end{align*}"
        lines = checked_lines(tex)
        checked += bool(lines)
    assert checked > len(s.names) // 3


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_single_path_chain_multiplies_to_the_value(spec):
    s = solved(spec)
    for name in s.names:
        if "chain" not in forms_of(s, name):
            continue
        c = local_chain(s, name)
        if c.n_paths != 1:
            continue
        product = Decimal(1)
        with localcontext(Context(prec=80)):
            for f in c.factors:
                product *= f.value
        assert abs(product - s.value(name)) < Decimal("1e-60"), name


def test_multi_path_chain_says_so():
    s = solved(ROOT / "examples" / "lecture_2out_sigmoid_half_sse.toml")
    text = snippet(s, "dE/dh1", "chain").latex
    assert text.endswith(r" + \cdots \quad \text{(1 of 2 path terms)}")


def test_long_chains_break_into_balanced_aligned_rows():
    """Six factors fit a row; eight go on two rows of four (not five and three), in LaTeX and on the web."""
    s = solved(ROOT / "examples" / "deep_tanh_relu.toml")
    assert r"\begin{aligned}" not in snippet(s, "dE/dw(1)[1,1]", "expanded").latex
    deep = solve(loads_spec(new_spec([2, 5, 5, 5, 1], activation="tanh", seed=4)))
    snip = snippet(deep, "dE/dw(1)[1,1]", "expanded")
    for text in (snip.latex, snip.web):
        assert text.startswith(r"\begin{aligned}") and text.endswith(r"\text{(1 of 25 path terms)}\end{aligned}")
        assert [row.count(r"\underbrace") for row in re.split(r" \\\\\*?\n", text)] == [4, 4]


def test_forms_of(lecture):
    assert forms_of(lecture, "x1") == ["numeric"]
    assert forms_of(lecture, "z_h1") == ["symbolic", "numeric"]
    assert forms_of(lecture, "dE/dyhat") == ["symbolic", "numeric"]
    assert forms_of(lecture, "dE/dw1") == list(FORMS)


# -- formats ------------------------------------------------------------------------------

def test_cli_tex_and_md(capsys):
    assert main(["snippet", "dE/dw5"]) == 0
    assert capsys.readouterr().out == (
        "\\boxed{\\frac{\\partial E}{\\partial w_{5}} = \\frac{\\partial E}{\\partial z_{o}} h_{1}}\n")
    assert main(["snippet", str(ROOT / "examples" / "lecture.toml"), "dE/dw5", "--form", "numeric",
                 "--format", "md"]) == 0
    assert capsys.readouterr().out == (
        "$$\n\\frac{\\partial E}{\\partial w_{5}} = 0.047 \\cdot 0.593 = \\boxed{0.028}\n$$\n")


def test_cli_writes_a_file(tmp_path, capsys):
    out = tmp_path / "sub" / "w1.tex"
    assert main(["snippet", "dE/dw1", "--form", "expanded", "-o", str(out)]) == 0
    assert out.read_text().startswith(r"\frac{\partial E}{\partial w_{1}} = \makebox")
    assert capsys.readouterr().out.strip() == str(out)


def test_default_picture_name():
    assert default_filename("dE/dw5", "symbolic", "svg") == "dE_dw5-symbolic.svg"
    assert default_filename("w5'", "numeric", "png") == "w5_prime-numeric.png"
    assert default_filename("dE/dw(1)[1,1]", "chain", "svg") == "dE_dw_1_1_1-chain.svg"


# -- bad input: one line, exit 2, no file --------------------------------------------------

def test_a_softmax_outputs_single_link_is_not_called_the_losss_own_derivative(tmp_path, capsys):
    """dE/dz_o1 of a softmax output with cross-entropy is one link (yhat1 - t1: the loss and the softmax's Jacobian
    at once), but not the loss's own derivative, as the refusal of its chain had said (rv5 9)."""
    assert main(["new", "--layers", "2,3,2", "--output", "softmax", "--loss", "cross_entropy", "--seed", "2"]) == 0
    spec = tmp_path / "sm.toml"
    spec.write_text(capsys.readouterr().out)
    assert main(["snippet", str(spec), "dE/dz_o1", "--form", "chain"]) == 2
    err = capsys.readouterr().err
    assert "its chain is a single link, taken from the loss through the output's activation at once" in err
    assert "own derivative" not in err and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["dE/dw7"], "unknown quantity 'dE/dw7' (did you mean 'dE/dw6'?)"),
    (["dE/dW5"], "(did you mean 'dE/dw5'?)"),
    (["x1", "--form", "expanded"], "--form expanded does not apply to 'x1': it is an input"),
    (["z_o", "--form", "chain"], "--form chain does not apply to 'z_o': it is a pre-activation"),
    (["w1", "--form", "symbolic"], "--form symbolic does not apply to 'w1': it is a weight"),
    (["dE/dyhat", "--form", "expanded"], "a single link; use the symbolic form"),
    (["dE/dw5", "--format", "pdf"], "argument --format: unknown value 'pdf'"),
    (["dE/dw5", "--form", "wrong"], "argument --form: unknown value 'wrong'"),
    (["a.toml", "b.toml", "dE/dw5"], "at most two arguments"),
])
def test_bad_input(argv, message, tmp_path, capsys):
    out = tmp_path / "x.svg"
    assert main(["snippet", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_missing_converter_one_line_no_file(fmt, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / f"x.{fmt}"
    assert main(["snippet", "dE/dw5", "--format", fmt, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found on PATH; install: apt-get install" in err
    assert list(tmp_path.iterdir()) == []


# -- pictures (TeX) --------------------------------------------------------------------------

def test_svg_snippet(tmp_path, capsys, tex):
    out = tmp_path / "w1.svg"
    assert main(["snippet", "dE/dw1", "--form", "expanded", "--format", "svg", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    assert [p.name for p in tmp_path.iterdir()] == ["w1.svg"]


def test_png_snippet(tmp_path, monkeypatch, capsys, tex):
    monkeypatch.chdir(tmp_path)
    assert main(["snippet", "dE/dw5", "--form", "numeric", "--format", "png"]) == 0
    png = tmp_path / "dE_dw5-numeric.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == "dE_dw5-numeric.png"


# -- KaTeX renders every formula ------------------------------------------------------------

def _katex(markdown: str, node: str) -> dict:
    """KaTeX's report on every formula of ``markdown``; ``node`` is the conftest fixture's node."""
    run = subprocess.run([node, str(JS / "katex_render.js")], input=markdown, capture_output=True, text=True,
                         timeout=120, check=False)
    return json.loads(run.stdout)


def katex_reports(documents: list[str], node: str) -> list[dict]:
    """KaTeX's report on each of ``documents`` (one per document), from one node start."""
    run = subprocess.run([node, str(JS / "katex_render.js"), "--documents"], input=json.dumps(documents),
                         capture_output=True, text=True, timeout=300, check=False)
    reports = json.loads(run.stdout)
    assert len(reports) == len(documents)
    return reports


def test_katex_rejects_bad_latex(node):
    report = _katex("$$\n\\frac{a}{\n$$\n$$\n\\hat{y}\n$$\n", node)
    assert report["count"] == 2 and len(report["errors"]) == 1
    first, second = katex_reports(["$$\n\\hat{y}\n$$\n", "$$\n\\frac{a}{\n$$\n$$\nx\n$$\n$$\n\\hat{y}\n$$\n"], node)
    assert first == {"count": 1, "errors": []}
    assert second["count"] == 3 and [e["index"] for e in second["errors"]] == [0]


def _forms_markdown(spec: Path) -> list[str]:
    s = solved(spec)
    return [snippet(s, name, form).markdown() for name in s.names for form in forms_of(s, name)]


@cache
def _katex_of_every_spec(node: str) -> dict[Path, tuple[int, dict]]:
    """(number of forms, KaTeX's report) of every example: one node start for the whole sweep."""
    texts = {spec: _forms_markdown(spec) for spec in SPECS}
    reports = katex_reports(["".join(t) for t in texts.values()], node)
    return {spec: (len(t), report) for (spec, t), report in zip(texts.items(), reports, strict=True)}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_katex_renders_every_form_of_every_quantity(spec, node):
    forms, report = _katex_of_every_spec(node)[spec]
    assert report["count"] == forms > 40
    assert report["errors"] == []


# -- Jupyter -------------------------------------------------------------------------------

def test_explain_renders_formula_chain_and_value(lecture):
    view = explain(lecture, "dE/dw1")
    md = view._repr_markdown_()
    assert md.startswith("**`dE/dw1`** (gradient) = 0.000 (3 d.p.; 0.000226624 at full precision)")
    assert snippet(lecture, "dE/dw1", "expanded").markdown() in md
    assert snippet(lecture, "dE/dw1", "numeric").markdown() in md
    assert view._repr_latex_().startswith(r"$$\begin{gathered}\boxed{\frac{\partial E}{\partial w_{1}} = ")
    assert repr(view) == "<dE/dw1 = 0.000>"
    assert snippet(lecture, "dE/dw5")._repr_markdown_() == snippet(lecture, "dE/dw5").markdown()


def test_explain_unknown_name(lecture):
    from symbackprop.engine.solution import UnknownQuantity

    with pytest.raises(UnknownQuantity, match="did you mean 'dE/dw5'"):
        explain(lecture, "dE/dw55")


def test_notebook_is_valid_and_its_outputs_are_current(lecture):
    nb = json.loads((ROOT / "examples" / "notebook.ipynb").read_text())
    assert nb["nbformat"] == 4 and nb["cells"]
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    markdown = ["".join(o["data"]["text/markdown"]) for o in outputs if "text/markdown" in o.get("data", {})]
    assert explain(lecture, "dE/dw1")._repr_markdown_() in markdown
