"""The lecture handout: golden file, arithmetic redone from the printed numbers, sections, safety, PDF."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from texarith import checked_lines, display_rows
from texboxes import check_boxes

from symbackprop.cli import main
from symbackprop.documents import handout
from symbackprop.documents.context import loss_table
from symbackprop.documents.handout import render_worksheet, write_worksheet
from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import lecture_text, loads_spec
from symbackprop.io.pdf import compile_pdf, latex_env

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "lecture_handout.tex"



@pytest.fixture(scope="module")
def lecture():
    return solve()


@pytest.fixture(scope="module")
def lecture_tex(lecture) -> str:
    return render_worksheet(lecture)


TWO_EXAMPLES = lecture_text() + "\n[[examples]]\nx1 = 0.20\nx2 = -0.30\nt = 0.90\n"
SHARED_FROZEN = (lecture_text().replace('bias = "per_neuron"', 'bias = "shared"\nfrozen = ["w1", "b2"]')
                 .replace("b1 = 0.35\n", "").replace("b2 = 0.35\n", "b1 = 0.35\n").replace("b3 = 0.60", "b2 = 0.60"))


def variants() -> dict[str, str]:
    return {
        "two_examples": TWO_EXAMPLES,
        "shared_frozen": SHARED_FROZEN,
        "softmax": new_spec([2, 2, 2], loss="cross_entropy", seed=2),
        "bce": new_spec([2, 3, 2], loss="bce", seed=4),
        "relu_identity": new_spec([2, 3, 1], activation="relu", seed=5),
        "leaky": new_spec([2, 2, 1], activation="leaky_relu", seed=1),  # both hidden units at z < 0
        "tanh_indexed": new_spec([3, 2, 2], activation="tanh", seed=6, scheme="indexed"),
        "big": new_spec([4, 8, 8, 2], activation="tanh"),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: render_worksheet(solve(loads_spec(text, source=name))) for name, text in variants().items()
            if name != "softmax"}  # softmax's symbolic proof is slow: rendered in its own test


def test_a_coefficient_and_a_number_are_multiplied_with_a_dot():
    """The mean over two examples: dE/dyhat = 1/2 yhat - 1/2 t written out reads 1/2 * 0.751 (a fraction beside a
    number would read as a mixed number, ½0.751); a bracket after the fraction needs no dot."""
    text = render_worksheet(solve(ROOT / "examples" / "two_examples_mean.toml"))
    assert r"\frac{1}{2} \cdot 0.751 - \frac{1}{2} \cdot 0.50 = 0.126" in text
    assert not re.search(r"\\frac\{1\}\{2\} [0-9]", text) and r"\frac{1}{2} \left(0.760 - 0.20" in text


def test_markdown_brackets_are_plain_brackets_as_in_the_pdf():
    """KaTeX and MathJax set \\left( as an inner atom, with a thin space before it (sigma (0.378)); the PDFs use
    mleftright.  The Markdown handout opens and closes each such bracket plainly: every \\left has its \\mathopen{}."""
    md = render_worksheet(solve(), fmt="md")
    assert r"\sigma\mathopen{}\left(0.378\right)\mathclose{}" in md
    assert md.count(r"\left") == md.count(r"\mathopen{}\left") > 20


@pytest.mark.parametrize(("layers", "hidden", "output", "loss", "expected"), [
    ([2, 2, 1], "sigmoid", "sigmoid", "half_sse", [r"$\sigma'(z) = \sigma\left(z\right) \left(1 - \sigma\left(z\right)"
                                                  r"\right) = a \left(1 - a\right)$, not $\sigma'(a)$"]),
    ([2, 2, 1], "tanh", "identity", "half_sse",
     [r"$\tanh'(z) = 1 - \tanh\left(z\right)^{2} = 1 - a^{2}$, not $\tanh'(a)$"]),
    ([2, 2, 1], "softplus", "identity", "mse", [r"$f'(z) = \sigma\left(z\right)$, not $f'(a)$"]),
    ([2, 3, 1], "relu", "identity", "half_sse", ["A relu unit with $z \\le 0$ has slope $0$"]),
    ([2, 2, 1], "identity", "identity", "half_sse", []),
    ([3, 2], "sigmoid", "sigmoid", "bce", []),  # no hidden layer, and bce cancels the output's slope
    ([3, 2], "sigmoid", "sigmoid", "mse", [r"not $\sigma'(a)$"]),  # the output's own slope is used
    ([2, 2, 2, 1], "tanh", "sigmoid", "half_sse", [r"not $\sigma'(a)$", r"not $\tanh'(a)$"]),
])
def test_the_slope_pitfall_is_the_networks_own(layers, hidden, output, loss, expected):
    """The quick reference warns about the slope of each activation a delta multiplies by, and of no other:
    tanh's net is not told about sigma'(a), an identity net gets no slope warning, relu's gets the dead unit."""
    text = render_worksheet(solve(loads_spec(new_spec(layers, activation=hidden, output=output, loss=loss))))
    pitfalls = text.split("Common pitfalls.")[1].split(r"\end{itemize}")[0]
    found = [line for line in pitfalls.splitlines() if "pre-activation" in line or "relu unit" in line]
    assert len(found) == len(expected)
    for line, words in zip(found, sorted(expected, key=lambda w: "tanh" in w), strict=True):
        assert words in line
    md = render_worksheet(solve(loads_spec(new_spec(layers, activation=hidden, output=output, loss=loss))),
                          fmt="md")
    assert md.count("derivative at the pre-activation") + md.count("relu unit") == len(expected)


# -- golden and showcase ------------------------------------------------------------------------

def test_golden_lecture_handout(lecture_tex):
    """Regenerate on purpose: symbackprop worksheet -o tests/golden && mv tests/golden/lecture.tex <golden>."""
    assert lecture_tex == GOLDEN.read_text(encoding="utf-8")


def test_committed_showcase_tex_is_current(lecture_tex):
    assert (ROOT / "output" / "lecture.tex").read_text(encoding="utf-8") == lecture_tex


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True).stdout.decode()


def _pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True).stdout.decode()
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]


def test_committed_showcase_pdf_is_current(tex, lecture_tex, tmp_path):
    fresh = compile_pdf(lecture_tex, tmp_path / "lecture.pdf")
    committed = ROOT / "output" / "lecture.pdf"
    assert _pages(committed) == _pages(fresh)
    assert _pdf_text(committed) == _pdf_text(fresh)


# -- the arithmetic, redone from the printed numbers ----------------------------------------------

def test_every_arithmetic_line_of_the_lecture_handout_holds(lecture_tex):
    checked = checked_lines(lecture_tex)
    # forward 7, walkthrough 9 sensitivities + 6 gradients, chain 1, updates 9, post-update 7:
    # every arithmetic line is found and redone, none skipped silently
    assert len(checked) == 39
    assert (r"0.00453 \cdot 0.10", r"\boxed{0.000}") in checked
    assert (r"0.35 - 0.50 \cdot 0.00508", r"\boxed{0.347}") in checked


def test_the_parser_catches_a_wrong_line():
    with pytest.raises(AssertionError, match="does not round"):
        checked_lines(r"\begin{align*} a &= 0.005 \cdot 0.10 = 0.000 \end{align*}")
    assert checked_lines(r"\begin{align*} a &= \sigma\left(0.378\right) = 0.593 \end{align*}")


@pytest.mark.parametrize("name", [n for n in variants() if n != "softmax"])
def test_every_arithmetic_line_holds_for_other_specs(rendered, name):
    assert len(checked_lines(rendered[name])) >= 20


def test_softmax_cross_entropy_handout():
    text = render_worksheet(solve(loads_spec(variants()["softmax"], source="softmax")))
    assert len(checked_lines(text)) >= 20
    assert r"\frac{e^{" in text  # the softmax outputs computed from their definition


def test_multiple_examples_carry_example_superscripts_and_sum(rendered):
    text = rendered["two_examples"]
    assert r"{z_{h_{1}}}^{\langle 2\rangle}" in text
    assert "each gradient sums the contributions of all examples" in text
    # the gradient line adds the two examples' products
    rows = [r for r in display_rows(text) if r.startswith(r"\frac{\partial E}{\partial w_{5}} &=")]
    assert rows and " + " in rows[0]


def test_frozen_and_shared_bias(rendered):
    text = rendered["shared_frozen"]
    assert "Frozen (kept fixed, not updated): $w_{1}, b_{2}$." in text
    assert r"{w_{1}}' = w_{1} = 0.15" in text
    assert "a shared bias sums the sensitivities of every unit it feeds" in text


def test_big_network_switches_to_matrix_form(rendered):
    text = rendered["big"]
    assert r"\left(W^{(3)}\right)^{\mathsf{T}} \boldsymbol{\delta}^{(3)} \odot" in text
    assert r"\boldsymbol{\delta}^{(l)} \left(\mathbf{a}^{(l-1)}\right)^{\mathsf{T}}" in text
    assert text.count(r"\begin{longtable}") >= 3
    assert r"$\partial E/\partial w^{(1)}_{84}$" in text  # every gradient is in the table


# -- sections, formats, CLI -------------------------------------------------------------------------

def test_all_sections_in_the_lectures_order(lecture_tex):
    titles = re.findall(r"\\section\{([^}]*)\}", lecture_tex)
    assert titles == ["Problem, network and glossary of symbols", "Activation functions and their derivatives",
                      "Network diagram", "Forward pass, step by step",
                      "Backpropagation: exact chain-rule equations", "Backpropagation: numeric walkthrough",
                      "One fully expanded chain", "Gradient summary", "One gradient-descent update",
                      "Quick reference and tips", "Verification"]
    assert lecture_tex.startswith("% Generated by symbackprop ")
    assert r"\textbf{Rounding policy.}" in lecture_tex


def test_selected_sections_only(lecture):
    text = render_worksheet(lecture, sections="chain,forward")
    assert re.findall(r"\\section\{([^}]*)\}", text) == ["Forward pass, step by step", "One fully expanded chain"]


def test_loss_table_deltas_come_from_sympy():
    """The shipped table (tests/test_tables.py checks it equals a fresh derivation), as printed."""
    deltas = [(row["delta_name"], row["delta"], row["condition"]) for row in loss_table()]
    dz, yt = r"\frac{\partial E}{\partial z_{o_{1}}}", r"\hat{y}_{1} - t_{1}"
    assert deltas == [
        (dz, r"\left(\hat{y}_{1} - t_{1}\right) \hat{y}_{1} \left(1 - \hat{y}_{1}\right)", ""),
        (dz, yt, ""),
        # softmax + cross-entropy: yhat - t only because the targets sum to 1, and the table says so
        (dz, yt, r"t_{1} + t_{2} = 1"),
        (dz, yt, ""),
    ]


def test_markdown_uses_dollar_math_and_no_tikz(lecture):
    text = render_worksheet(lecture, fmt="md")
    assert text.startswith("<!-- Generated by symbackprop")
    assert "$$\n\\begin{aligned}" in text
    assert "tikz" not in text and r"\begin{align*}" not in text and r"\section" not in text
    assert "| $x_{1}$ | $h_{1}$ | $w_{1} = 0.15$ |" in text  # the diagram as a table


def test_cli_writes_tex_and_md(tmp_path, capsys):
    assert main(["worksheet", "-o", str(tmp_path)]) == 0
    assert main(["worksheet", "-o", str(tmp_path), "--format", "md", "--sections", "summary"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.md", "lecture.tex"]
    spec = tmp_path / "my net.toml"
    spec.write_text(TWO_EXAMPLES)
    assert main(["worksheet", str(spec), "-o", str(tmp_path / "out"), "--chain", "b3"]) == 0
    assert (tmp_path / "out" / "my net.tex").is_file()


@pytest.mark.parametrize("argv", [
    ["worksheet", "--sections", "forward,nope"],
    ["worksheet", "--format", "html"],
    ["worksheet", "--chain", "w99"],
    ["worksheet", "--pdf", "--format", "md"],
    ["worksheet", "--bogus"],
])
def test_bad_flags_one_line_exit_2_no_files(tmp_path, capsys, argv):
    assert main([*argv, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symbackprop: error: ")
    assert not (tmp_path / "out").exists()


def test_no_half_written_file_on_error(tmp_path, lecture, monkeypatch):
    target = tmp_path / "lecture.tex"
    target.write_text("old")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(handout, "render_tex", broken)
    with pytest.raises(RuntimeError):
        write_worksheet(lecture, tmp_path, "lecture")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["lecture.tex"]


# -- PDF quality ------------------------------------------------------------------------------------

def _log_of(tex_source: str, tmp_path: Path) -> str:
    """pdflatex twice in a temp dir (as compile_pdf does), returning the log to grep."""
    (tmp_path / "doc.tex").write_text(tex_source, encoding="utf-8")
    for _ in range(2):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                                 "doc.tex"], cwd=tmp_path, env=latex_env(), capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout.decode(errors="replace")[-2000:]
    return (tmp_path / "doc.log").read_text(errors="replace")


def test_lecture_handout_compiles_without_overfull_boxes(tex, lecture_tex, tmp_path):
    log = _log_of(lecture_tex, tmp_path)
    assert "Overfull" not in log


@pytest.mark.parametrize("name", ["big", "two_examples", "shared_frozen", "bce", "tanh_indexed"])
def test_other_handouts_compile_without_overfull_boxes(tex, rendered, name, tmp_path):
    log = _log_of(rendered[name], tmp_path)
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)


def test_softmax_handout_compiles_without_overfull_boxes(tex, tmp_path):
    text = render_worksheet(solve(loads_spec(variants()["softmax"], source="softmax")))
    assert "Overfull" not in _log_of(text, tmp_path)


@pytest.mark.parametrize("title", [r"\input{/etc/hostname}", r"$\write18{touch x}$"])
def test_hostile_title_prints_literally(tex, tmp_path, title):
    text = lecture_text().replace('title = "Backpropagation"', f"title = '{title}'")
    spec = loads_spec(text)
    out = write_worksheet(solve(spec), tmp_path, "evil", pdf=True, sections=["summary"])
    pdf_text = _pdf_text(tmp_path / "evil.pdf")
    assert title in pdf_text
    host = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").is_file() else ""
    assert not host or host not in pdf_text
    assert not (tmp_path / "x").exists() and not Path("x").exists()
    assert [p.name for p in out] == ["evil.tex", "evil.pdf"]


def test_markdown_title_is_literal_text(tmp_path):
    """A hostile title in the Markdown handout stays text: no HTML, no markup, no math."""
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.engine.solution import solve
    from symbackprop.engine.spec import lecture_text, loads_spec

    hostile = '<script>alert(1)</script> *x* $\\\\write18$ [a](javascript:b)'
    spec = loads_spec(lecture_text().replace('title = "Backpropagation"', f"title = '{hostile}'"))
    md = render_worksheet(solve(spec), "md")
    title = md.splitlines()[2]
    assert "<script>" not in md and "&lt;script&gt;" in title
    assert r"\*x\*" in title and r"\$" in title and r"\[a\]\(javascript:b\)" in title


def test_expanded_chain_numeric_line_has_its_left_hand_side(lecture_tex):
    """Like the lecture: dE/dw1 = (yhat - t) ... in numbers = the factors' values = the product -> display."""
    numeric = lecture_tex.split("Numerically:")[1].split(r"\end{align*}")[0]
    rows = [r.strip() for r in numeric.replace(r"\begin{align*}", "").split("\\\\")]
    assert rows[0].startswith(r"\frac{\partial E}{\partial w_{1}} &= \left(0.7514 - 0.50\right)")
    assert r"&= 0.2514 \cdot 0.1868 \cdot 0.40 \cdot 0.2413 \cdot 0.05 = 2.27 \times 10^{-4}" in rows
    assert not any(r.startswith("= ") for r in rows)  # no bare "=" without its left-hand side


@pytest.mark.parametrize("name", ["lecture", "two_examples", "shared_frozen", "tanh_indexed", "relu_332"])
def test_update_rows_keep_one_units_parameters_together(name):
    """A row of the update section never pairs two layers' (or two units') parameters (b3' beside w1')."""
    text = lecture_text() if name == "lecture" else variants().get(name) or new_spec([3, 3, 2], activation="relu",
                                                                                      seed=1)
    s = solve(loads_spec(text, source=name))
    tex = render_worksheet(s, sections=["update"])
    block = tex.split(r"\begin{align*}")[1].split(r"\end{align*}")[0]
    by_latex = {s.network[p.name + "'"].latex: p for p in s.network.parameters}
    rows = [[n for n in by_latex if f"{n} &= " in row] for row in block.split("\\\\")]
    shown = [by_latex[n] for row in rows for n in row]
    assert shown == [p for layer in range(s.network.n_layers, 0, -1) for p in s.network.parameters
                     if p.layer == layer and not p.frozen]  # every updated parameter, output layer first
    for row in rows:
        assert len({(by_latex[n].layer, by_latex[n].to_units[0]) for n in row}) == 1, row
    if name == "lecture":  # w5' w6' | b3' | w1' w2' | b1' | w3' w4' | b2'
        assert [len(row) for row in rows] == [2, 1, 2, 1, 2, 1]


# -- the expanded chain: evenly spaced boxes that hold their braces -----------------------------------

CHAIN_NETS = {"relu_332": new_spec([3, 3, 2], activation="relu", seed=1),
              "softmax": new_spec([2, 2, 2], loss="cross_entropy", seed=2),
              "big_8_16_16_4": new_spec([8, 16, 16, 4], seed=2),
              "deep_tanh": new_spec([2, 5, 5, 5, 1], activation="tanh", seed=4),
              "two_outputs": new_spec([2, 2, 2], seed=3),
              "two_examples": (Path(__file__).parents[1] / "examples" / "two_examples_mean.toml").read_text()}


def _chain_braces(tex: str) -> list[str]:
    """The rows of the handout's underbraced chain."""
    section = tex.split(r"\section{One fully expanded chain}")[1].split("Numerically:")[0]
    return re.split(r" \\\\\*?\n", section.split(r"\begin{align*}")[1].split(r"\end{align*}")[0].strip())


def test_expanded_chain_boxes_are_of_one_width(lecture_tex):
    """The lecture's five factors on one row, each in a box of one width: the dots sit evenly spaced."""
    (row,) = _chain_braces(lecture_tex)
    widths = re.findall(r"\\makebox\[([\d.]+)pt\]\{\$\\displaystyle\\underbrace", row)
    assert len(widths) == 5 and len(set(widths)) == 1


@pytest.mark.tex
def test_expanded_chain_boxes_hold_their_braces_and_rows_fit_the_page(tex, tmp_path):
    """TeX measures every brace with its label against its box, and every row against the text width."""
    texts = {"lecture": render_worksheet(solve())}
    texts |= {name: render_worksheet(solve(loads_spec(spec, source=name)), sections=["chain"])
              for name, spec in CHAIN_NETS.items()}
    rows = [(name, row) for name, text in texts.items() for row in _chain_braces(text)]
    preamble = ("\\documentclass[11pt,a4paper]{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
                "\\usepackage{amsmath,amssymb}\\usepackage[margin=2.3cm]{geometry}")
    boxes = check_boxes(rows, tmp_path, preamble, "\\begin{document}", "\\end{document}")
    assert boxes == sum(row.count(r"\underbrace") for _, row in rows) > 30


def test_the_chain_is_named_by_its_parameter_or_its_gradient(lecture):
    """worksheet --chain dE/dw3 said "no parameter 'dE/dw3'": the gradient's name names the parameter too."""
    by_gradient = render_worksheet(lecture, chain="dE/dw3", sections=["chain"])
    assert by_gradient == render_worksheet(lecture, chain="w3", sections=["chain"])
    assert r"Follow the path $w_{3} \to z_{h_{2}}" in by_gradient


def test_the_verification_section_reports_the_completed_proofs():
    """A network whose gradients are proven by local rules plus a reverse-mode check at the values (local+ad) had
    its verification section read the derivation's pending proofs: "0 of 58 gradients were shown equal", every
    row MISMATCH, while check proved all 58."""
    solution = solve(loads_spec(new_spec([4, 8, 2], activation="tanh", seed=9)))
    assert {p.method for p in solution.proofs.values()} == {"local+ad"} and solution.all_proven
    tex = render_worksheet(solution, sections=["verification"])
    assert "MISMATCH" not in tex and "Every gradient in this handout (58 of 58) was shown equal" in tex
