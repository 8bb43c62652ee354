"""Snippets and decks of computation graphs: the CS231n circuits' published values, arithmetic redone.

References: CS231n "Backpropagation, Intuitions" (cs231n.github.io/optimization-2/): f = (x + y) z at
x = -2, y = 5, z = -4: q = 3, f = -12, df/dq = z = -4, df/dx = df/dy = df/dq . 1 = -4, df/dz = q = 3; the
sigmoid-gate circuit (examples/graph_cs231n.toml): f = 0.73, dx = [0.39, -0.59], dw = [-0.20, -0.39, 0.20].
The arithmetic of every numeric line is redone by `texarith`, which shares no code with symbackprop.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from example_specs import graph_specs
from test_graph import CS231N_ADD_MUL
from test_graph_verify import SHARED
from test_slides import _compile
from texarith import checked_lines

from symbackprop.cli import main
from symbackprop.documents.graphslides import graph_slides_context, render_graph_slides
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


# -- the deck -----------------------------------------------------------------------------------

def _frames(tex: str) -> list[str]:
    return tex.split(r"\begin{frame}")[1:]


def test_the_deck_shows_circuit_forward_rules_and_gradients(add_mul):
    tex = render_graph_slides(add_mul)
    frames = _frames(tex)
    titles = [f.split("\n", 1)[0] for f in frames]
    assert titles[1:] == ["[t]{The function and its gates}", "[t]{The gates}", "[t]{The circuit}",
                          "[t]{Forward pass, gate by gate}",
                          "[t]{Backward pass: upstream times local (1/2)}",
                          "[t]{Backward pass: upstream times local (2/2)}",
                          "[t]{The gradients of the inputs and parameters}"]
    assert r"$q = x + y$ & $f = q z$" in frames[2]  # the gates in two columns
    assert r"\begin{tikzpicture}" in frames[3]
    assert r"q &= x + y = \left(-2\right) + 5 = 3.00" in frames[4]
    assert r"f &= q z = 3.00 \cdot \left(-4\right) = -12.00" in frames[4]
    backward = frames[5] + frames[6]
    assert "A multiply gate swaps" in backward and "An add gate distributes" in backward
    # df/dz = df/df . q = 1 . 3 and df/dx = df/dq . 1 = -4 . 1 (CS231n)
    assert r"\frac{\partial f}{\partial f} \cdot q = 1 \cdot 3.00 = 3.00" in backward
    assert r"\frac{\partial f}{\partial q} \cdot 1 = \left(-4.00\right) \cdot 1 = -4.00" in backward
    summary = frames[7]
    assert [line.rsplit("$", 2)[-2] for line in summary.splitlines() if line.startswith(r"$\partial")] == [
        "-4.00", "-4.00", "3.00"]


def test_the_deck_in_german_and_a_shared_name_s_sum():
    s = solve_graph(loads_graph(SHARED, "shared"))
    tex = render_graph_slides(s, "de")
    assert "Rückwärtsdurchlauf: Upstream mal lokal" in tex and "Ein Multiplikationsgatter vertauscht" in tex
    assert "Mehrfach verwendete Namen" in tex
    assert r"\frac{\partial f}{\partial w} = 3.000 + \left(-0.750\right) = 2.250" in tex  # df/da1 x1 + df/da2 x2


def test_a_long_circuit_is_cut_into_frames():
    nodes = "\n".join(f'n{i} = "{"x" if i == 1 else f"n{i - 1}"} * w{i}"' for i in range(1, 15))
    weights = ", ".join(f"w{i} = 1.1" for i in range(1, 15))
    spec = f"[graph]\ninputs = {{ x = 1 }}\nparameters = {{ {weights} }}\n[graph.nodes]\n{nodes}\n"
    s = solve_graph(loads_graph(spec, "long"), prove=False)
    context = graph_slides_context(s)
    assert [len(f) for f in context["forward_frames"]] == [7, 7]  # as few frames as fit, filled evenly (not 8 + 6)
    rows = [sum(2 + len(r["uses"]) for r in f) for f in context["gate_frames"]]
    assert sum(len(f) for f in context["gate_frames"]) == 14 and max(rows) <= 9 and rows[0] <= 9 - 2


def test_the_slides_command(tmp_path, capsys):
    spec = tmp_path / "g.toml"
    spec.write_text(CS231N_ADD_MUL)
    assert main(["slides", str(spec), "-o", str(tmp_path), "--lang", "de"]) == 0
    assert "Der Schaltkreis" in (tmp_path / "g-slides.tex").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["slides", "-o", str(tmp_path / "mlp"), "--lang", "de"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lang de: a network's deck is in English only so far" in err
    assert not (tmp_path / "mlp").exists()


@pytest.mark.parametrize("text", [CS231N_ADD_MUL, SHARED, EXAMPLE.read_text(encoding="utf-8")],
                         ids=["add_mul", "shared", "sigmoid"])
def test_decks_compile_without_overfull_boxes(tex, text, tmp_path):
    log = _compile(render_graph_slides(solve_graph(loads_graph(text, "g"))), tmp_path)
    assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log


#: the example RNN with two hidden units: its sums over both units make the widest forward lines
RNN_TWO_UNITS = ((Path(__file__).resolve().parent.parent / "examples" / "rnn.toml").read_text(encoding="utf-8")
                 .replace("hidden = 1", "hidden = 2").replace("W_xh = 0.5", "W_xh = [0.5, -0.3]")
                 .replace("W_hh = -0.8", "W_hh = [[-0.8, 0.1], [0.3, 0.6]]").replace("b_h = 0.1", "b_h = [0.1, 0]")
                 .replace("W_hy = 1.5", "W_hy = [1.5, -0.7]").replace("h0 = 0\n", ""))


#: two tanh units over vector inputs, an output at every step, trained with Nesterov momentum: a BPTT sum's
#: four terms carry operands to 4 decimals (for the line's sake) and ran 62 pt into the margin, four a row
RNN_WIDE_SUMS = """
learning_rate = 0.1
steps = 3
[optimizer]
name = "momentum"
momentum = 0.9
nesterov = true
weight_decay = 0.01
[rnn]
decimals = 3
hidden = 2
activation = "tanh"
output = "every"
loss = "half_sse"
inputs = [[0.5, 0.8], [-0.7, 0.3], [0.8, -0.7], [0.5, 0.1]]
targets = [0.1, 0.3, -0.9, 0.8]
h0 = [-0.4, -0.2]
[rnn.parameters]
W_xh = [[0.5, -0.9], [-0.9, -0.2]]
W_hh = [[0.3, -0.9], [-0.7, 0.3]]
b_h = [-0.2, 0.5]
W_hy = [0.5, 0.8]
b_y = -0.4
"""


#: one unit over five steps of two inputs: its deck's sum for b_h has five terms, three in scientific notation, and
#: ran 4.4 pt over its frame on one line
RNN_LONG_SUM = """
[rnn]
decimals = 3
hidden = 1
activation = "tanh"
output = "last"
loss = "half_sse"
inputs = [[-0.9, 0.8], [0.5, -0.7], [-0.9, 0.5], [-0.2, -0.4], [0.8, 0.5]]
targets = 0.1
h0 = 0
[rnn.parameters]
W_xh = [0.3, -0.2]
W_hh = 0.1
b_h = 0.5
W_hy = 0.1
b_y = -0.4
"""
#: two sigmoid units over two steps, an output at each: a sigmoid gate's use, with five-digit operands, ran 6.7 pt
#: over its frame on one line
RNN_WIDE_GATE = """
[rnn]
decimals = 3
hidden = 2
activation = "sigmoid"
output = "every"
loss = "mse"
inputs = [[-0.2, 0.1], [0.3, 0.1]]
targets = [-0.7, -0.4]
h0 = [-0.9, 0.5]
[rnn.parameters]
W_xh = [[0.1, -0.9], [0.1, 0.1]]
W_hh = [[-0.2, -0.7], [0.1, 0.1]]
b_h = [-0.9, 0.3]
W_hy = [-0.4, 0.1]
b_y = -0.2
"""
#: two sigmoid units, inputs of two numbers over four steps, an output at the last
RNN_TWO_UNITS_LAST = """
[rnn]
decimals = 3
hidden = 2
activation = "sigmoid"
output = "last"
loss = "half_sse"
inputs = [[-0.2, -0.9], [0.1, 0.3], [0.1, -0.2], [0.8, -0.9]]
targets = -0.4
h0 = [-0.4, 0.5]
[rnn.parameters]
W_xh = [[-0.4, -0.7], [-0.9, -0.4]]
W_hh = [[-0.4, 0.8], [0.5, 0.5]]
b_h = [-0.2, 0.1]
W_hy = [0.8, 0.8]
b_y = 0.5
"""
#: one sigmoid unit over five steps of three inputs: its first steps' gradients are 1e-8 to 1e-5, printed in
#: scientific notation in the BPTT sums (a row of them ran 10 pt over: tex_width had undercounted them)
RNN_TINY_GRADIENTS = """
[rnn]
decimals = 3
hidden = 1
activation = "sigmoid"
output = "last"
loss = "half_sse"
inputs = [[-0.7, -0.4, 0.1], [-0.4, -0.9, -0.7], [0.3, 0.1, -0.7], [-0.7, 0.5, 0.1], [-0.7, 0.3, -0.7]]
targets = 0.5
h0 = 0
[rnn.parameters]
W_xh = [0.5, -0.4, 0.8]
W_hh = 0.1
b_h = 0.3
W_hy = 0.3
b_y = 0.8
"""


#: two sigmoid units over five steps of three inputs, an output at each: its last forward frame, three plain rows and
#: the five errors' fractions, ran 1.1 pt over its frame as eight rows
RNN_TALL_FORWARD = """
[rnn]
decimals = 3
hidden = 2
activation = "sigmoid"
output = "every"
loss = "mse"
inputs = [[0.1, -0.4, 0.5], [0.1, 0.3, 0.5], [-0.7, 0.5, -0.9], [0.1, -0.2, -0.4], [0.8, 0.3, 0.3]]
targets = [0.8, -0.2, -0.7, -0.2, -0.4]
h0 = [0.5, 0.1]
[rnn.parameters]
W_xh = [[0.5, -0.2, 0.8], [-0.7, -0.4, 0.5]]
W_hh = [[0.1, -0.7], [-0.4, 0.8]]
b_h = [-0.2, -0.9]
W_hy = [-0.9, -0.2]
b_y = -0.2
"""


def test_forward_frames_are_filled_by_their_rows_heights():
    """A forward frame is filled by its rows' heights (``layout.row_height``: a fraction's row is taller), not their
    count: eight rows, five of them fractions (10.25 rows high), had run 1.1 pt over their frame."""
    from symbackprop.documents.graphslides import FORWARD_ROWS, _height

    assert FORWARD_ROWS < 10.25
    frames = graph_slides_context(solve_graph(loads_graph(RNN_TALL_FORWARD, "g")))["forward_frames"]
    assert all(sum(map(_height, lines)) <= FORWARD_ROWS for lines in frames)
    assert [str(line).split(" &", 1)[0] for line in frames[-1]] == [f"E_{{{k}}}" for k in range(1, 6)] + ["E"]
    assert len(frames) == 6  # eleven plain rows fit a frame: eight had left the deck eight frames


def test_a_gate_use_too_wide_for_a_frame_goes_on_over_two_rows():
    """A use's row of upstream x local wider than a frame (73 units, 389 pt: a sigmoid's with five-digit operands, 6.7
    pt over) is cut at an ``=``: the symbols on one row, the numbers on the next; the frame counts both rows."""
    from symbackprop.documents.graphslides import BACKWARD_ROWS, FIRST_NOTE, GATE_WIDTH
    from symbackprop.layout import tex_width

    frames = graph_slides_context(solve_graph(loads_graph(RNN_WIDE_GATE, "g")))["gate_frames"]
    uses = [u for frame in frames for r in frame for u in r["uses"]]
    assert all(tex_width(row) <= GATE_WIDTH for u in uses for row in u["rows"])
    (wide,) = [u["rows"] for u in uses if len(u["rows"]) > 1]
    assert wide[0].startswith(r"\frac{\partial E}{\partial a_{2,1}}\big|_{h_{2,1}} &= ")
    assert wide[1] == r"&= \left(-0.07250\right) \cdot 0.15863 = -0.012"
    for k, frame in enumerate(frames):
        rows = sum(2 + sum(len(u["rows"]) for u in r["uses"]) for r in frame)
        assert rows + (FIRST_NOTE if k == 0 else 0) <= BACKWARD_ROWS or len(frame) == 1


@pytest.mark.parametrize("path", [*graph_specs(), "rnn_two_units", "rnn_wide_sums", "big_adam", "rnn_tiny_gradients",
                                  "rnn_long_sum", "rnn_wide_gate"],
                         ids=lambda p: getattr(p, "stem", p))
def test_every_graph_kinds_handout_and_deck_fit_their_pages(tex, path, tmp_path):
    """Long forward lines (an RNN's sums over two units) are cut between terms, aligned at the =, and a BPTT
    sum's numbers by their width: the handout and the deck of every graph-kind example compile without an
    overfull box.  (Adam's first step on a 13-gate graph's deck ran 7.6 pt over its frame.)"""
    from symbackprop.documents.graphhandout import render_graph_handout

    text = {"rnn_two_units": RNN_TWO_UNITS, "rnn_wide_sums": RNN_WIDE_SUMS,
            "big_adam": 'learning_rate = 0.1\nsteps = 3\n[optimizer]\nname = "adam"\n' + BIG_GRAPH,
            "rnn_tiny_gradients": RNN_TINY_GRADIENTS, "rnn_long_sum": RNN_LONG_SUM,
            "rnn_wide_gate": RNN_WIDE_GATE,
            }.get(path) or Path(path).read_text(encoding="utf-8")
    solution = solve_graph(loads_graph(text, "g"))
    for kind, document in (("handout", render_graph_handout(solution)), ("deck", render_graph_slides(solution))):
        work = tmp_path / kind
        work.mkdir()
        log = _compile(document, work)
        assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log, (kind, log[-1500:])


def test_a_turned_circuit_says_time_runs_up_the_page_and_a_deck_cuts_it_in_two(tex, tmp_path):
    """The handout turns a long RNN's circuit a quarter: its legend said "Time runs left to right", while on
    the page time ran bottom to top; now TeX, which decides the turn, picks the words.  The deck drew the
    example RNN's circuit across one frame at 69%; now in two frames at full size, each clipped to its part (the
    tall one stays whole: its height keeps it small on any frame).  The turned circuit, a full-page picture in
    the text, had left most of the page before it empty; it is a float now, the text says on which page."""
    import subprocess

    from test_rnn import TWO_SIGMOID_UNITS

    from symbackprop.documents.graphhandout import render_graph_handout

    for name, text, direction, frames in (
            ("long", TWO_SIGMOID_UNITS, "from bottom to top (the figure is turned a quarter)", 1),
            ("short", (EXAMPLE.parent / "graph_cs231n.toml").read_text(encoding="utf-8"), None, 1),
            ("rnn", (EXAMPLE.parent / "rnn.toml").read_text(encoding="utf-8"), "left to right", 2)):
        solution = solve_graph(loads_graph(text, name))
        for kind, document in (("handout", render_graph_handout(solution)), ("deck", render_graph_slides(solution))):
            work = tmp_path / name / kind
            work.mkdir(parents=True)
            log = _compile(document, work)
            assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log, (name, kind)
            pdf = subprocess.run(["pdftotext", str(work / "deck.pdf"), "-"], capture_output=True, check=True,
                                 text=True).stdout
            if kind == "handout" and direction:
                assert f"Time runs {direction}, from the initial state" in " ".join(pdf.split()), name
            if kind == "handout" and name == "long":  # a page of its own, the text going on before it
                pages = [" ".join(page.split()) for page in pdf.split("\f")]
                on = int(re.search(r"The circuit is on page (\d+), turned a quarter", " ".join(pages)).group(1))
                assert "Time runs from bottom to top" in pages[on - 1]
                assert "Forward pass, gate by gate" in pages[on - 2], pages[on - 2][-300:]
            if kind == "deck":
                titles = [line for line in pdf.splitlines() if line.startswith("The circuit")]
                wanted = ["The circuit"] if frames == 1 else [f"The circuit ({k}/{frames})" for k in (1, 2)]
                assert titles == wanted, (name, titles)


@pytest.mark.parametrize("example", ["conv1d.toml", "adam.toml"])
def test_the_verification_table_starts_under_its_heading(tex, example, tmp_path):
    """The verification table was one block: moved whole to the next page, it left its heading and intro alone
    at the foot of the page before (conv1d's page 6, adam's page 8).  A long table (a longtable) starts under them;
    a short one (40 rows at most: these) stays whole on its heading's page (adam's 9 rows had split 3 / 6)."""
    import subprocess

    from symbackprop.cli import main as cli

    assert cli(["worksheet", str(EXAMPLE.parent / example), "--pdf", "-o", str(tmp_path)]) == 0
    pdf = tmp_path / example.replace(".toml", ".pdf")
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout.split("\f")
    heading = next(k for k, page in enumerate(pages) if "Verification" in page.split("\n"))
    assert "Gradient" in pages[heading].split("Verification", 1)[1], pages[heading][-800:]
    rows = pdf.with_suffix(".tex").read_text().count("proven")
    assert pages[heading].count("proven") == rows, (rows, pages[heading][-800:])


@pytest.mark.parametrize(("example", "shared"), [("rnn.toml", "W_{xh}"), ("conv1d.toml", "w_{1}")])
def test_a_deck_sums_the_shared_weights_too(example, shared):
    """The deck of an RNN or a convolution had no frame for backpropagation through time or the kernel's sum
    (the handout's own sections), so its per-gate shares (0.348 + 0.051 + 0.058 = 0.457) did not add up to its
    table's 0.456; the shared weights' sums, with the digits that reproduce them, are on its sums frames now."""
    solution = solve_graph(str(EXAMPLE.parent / example))
    context = graph_slides_context(solution)
    sums = [r for frame in context["sum_frames"] for r in frame]
    assert any(str(r["name"]) == shared for r in sums)
    if example == "rnn.toml":
        line = next(str(r["line"]) for r in sums if str(r["name"]) == "W_{xh}")
        assert line.endswith("= 0.0576 + 0.0506 + 0.3477 = 0.456")


#: thirteen gates: the composed function is 345 characters of LaTeX, ten leaves
BIG_GRAPH = """
[graph]
decimals = 3
output = "L"
inputs = { x1 = 1.5, x2 = -2, x3 = 0.5 }
parameters = { w1 = 0.3, w2 = -0.7, w3 = 1.2, b = 0.1, v1 = 0.8, v2 = -0.4, c = 0.2 }
[graph.nodes]
a1 = "w1 * x1"
a2 = "w2 * x2"
a3 = "w3 * x3"
s = "a1 + a2 + a3 + b"
h = "tanh(s)"
r = "relu(a2 + a3)"
p1 = "v1 * h"
p2 = "v2 * r"
y = "p1 + p2 + c"
d = "y - x3"
q = "d * d"
ex = "exp(-q)"
L = "q + ex"
"""


def test_a_big_graphs_intro_names_its_output_and_its_values_wrap():
    """A 13-gate graph's handout put its whole composed function inline (203 pt into the margin) and its ten
    values on one display line (197 pt): a function too long to fit is left to the gates, as the exam sheet
    does, and the values are a paragraph TeX breaks between them."""
    from symbackprop.documents.graphhandout import render_graph_handout

    big = render_graph_handout(solve_graph(loads_graph(BIG_GRAPH, "big")))
    assert "We compute $L$ (its gates are below) one gate at a time" in big
    values = big.split(r"\begin{minipage}{0.9\linewidth}\centering", 1)[1].split(r"\end{minipage}", 1)[0]
    assert values.count(r",\quad ") == 9 and r"\[" not in values
    small = render_graph_handout(solve_graph(loads_graph(CS231N_ADD_MUL, "small")))
    assert "We compute $f = " in small


def test_a_decks_gate_frames_are_full():
    """Cut evenly into pieces of up to six uses, a two-unit RNN's gates no longer shared frames with the one-use
    gates between them: 26 backward frames, 8 of them a single line (a review's count).  The pieces of up to five
    uses share them again: 19 frames, one of a single line."""
    from symbackprop.documents.graphslides import graph_slides_context

    frames = graph_slides_context(solve_graph(loads_graph(RNN_TWO_UNITS_LAST, "g")))["gate_frames"]
    assert len(frames) <= 19
    assert sum(1 for frame in frames if sum(len(piece["uses"]) for piece in frame) == 1) <= 1


def test_a_tall_circuit_has_its_legend_beside_it_on_a_frame(tex, tmp_path):
    """The example convolution's circuit is tall: under its legend its height held it to 49% of its size on the
    frame.  Where the legend beside it leaves the picture a tenth larger or more, the legend goes in a narrow
    column on the right; the example RNN's circuit, wide and short, keeps its legend below."""
    import subprocess

    for example, beside in (("conv1d.toml", True), ("rnn.toml", False)):
        solution = solve_graph(str(EXAMPLE.parent / example))
        work = tmp_path / example
        work.mkdir()
        log = _compile(render_graph_slides(solution), work)
        assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log
        pages = subprocess.run(["pdftotext", str(work / "deck.pdf"), "-"], capture_output=True, check=True,
                               text=True).stdout.split("\f")
        frame = next(page for page in pages if page.startswith("The circuit"))
        first = next(line for line in frame.splitlines() if line.startswith("Above each wire"))
        assert (first == "Above each wire (green): the") == beside, first


#: one tanh unit, an output at every step (a review's spec): its sums fit under the BPTT section's end
RNN_ONE_UNIT_EVERY = """
[rnn]
decimals = 3
hidden = 1
activation = "tanh"
output = "every"
loss = "mse"
inputs = [[0.3, -0.4], [-0.4, -0.4], [0.8, 0.3]]
targets = [0.5, -0.7, -0.2]
h0 = 0
[rnn.parameters]
W_xh = [0.8, -0.4]
W_hh = 0.8
b_h = -0.7
W_hy = 0.1
b_y = -0.4
"""
#: an 8-input convolution whose "Names used more than once" heading had sat alone at a page foot
CONV_EIGHT_INPUTS = """
[conv1d]
decimals = 3
x = [1, -2, 3, 0.5, -1, 2, 1, 0.5]
w = [-0.5, 1, 0.25]
b = 0.1
stride = 1
padding = 1
activation = "relu"
pooling = "max"
pool_size = 2
v = [0.2, -0.5, 0.3, 0.6]
c = 0.1
target = 0.5
"""


def test_the_sums_heading_keeps_its_first_sum_and_breaks_no_page_early(tex, tmp_path):
    """"Names used more than once" had sat alone at a page foot (its sums on the next page); a \\needspace then
    kept it with its first sum, but broke pages early: the one-unit RNN's page 6 was left 40% full.  The intro
    and the first sum are one box after the heading now: with the heading, on a page that holds what came
    before."""
    import subprocess

    from symbackprop.documents.graphhandout import render_graph_handout

    for name, text in (("rnn", RNN_ONE_UNIT_EVERY), ("conv", CONV_EIGHT_INPUTS)):
        work = tmp_path / name
        work.mkdir()
        log = _compile(render_graph_handout(solve_graph(loads_graph(text, name))), work)
        assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log
        pages = subprocess.run(["pdftotext", str(work / "deck.pdf"), "-"], capture_output=True, check=True,
                               text=True).stdout.split("\f")
        page = next(p for p in pages if "Names used more than once" in p)
        before, after = page.split("Names used more than once", 1)
        assert " is used by " in after, name  # the first sum under its heading
        assert len(before.strip()) > 300, (name, before)  # not at the top of a page left early
