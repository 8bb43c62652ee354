"""Every glyph of a relu / leaky_relu handout and deck is a real character: the slope reads
``1[z > 0]`` (a bold one, the indicator) and ``1, z > 0 / 0.01, z <= 0`` (piecewise), never
``\\mathbb{1}``, which amsfonts lacks and prints as a crossed-out sign (U+22AE in the PDF text)."""

from __future__ import annotations

import string
import subprocess
from pathlib import Path

import pytest

from symbackprop.documents.handout import render_worksheet
from symbackprop.documents.slides import render_slides
from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec
from symbackprop.io.pdf import compile_pdf

#: what a handout's text may contain: ASCII, and the mathematics and typography it uses
ALLOWED = set(string.printable) | set(
    "\u00b7\u00d7\u0302\u2032\u2019\u201c\u201d\u2013\u2014\u2022\u2026\u2192\u2202\u2212\u2248\u2264\u2265"
    "\u2211\u22c5\u2299\u27e8\u27e9\u0394\u03a3\u03b1\u03b4\u03b7\u03b8\u03c3\u00e9\u00f6\u00fc"
    "\ufb01\ufb02\ufb00\ufb03")


def unexpected_glyphs(text: str) -> set[str]:
    """Characters outside ``ALLOWED``.  pdftotext reports the large delimiters of cmex (``\\left(``
    around a fraction) by their font positions U+0000..U+001F: those are real glyphs."""
    return {f"U+{ord(c):04X}" for c in text if c not in ALLOWED and ord(c) >= 0x20}


def _pdf_text(tex_source: str, path: Path) -> str:
    compile_pdf(tex_source, path)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_slopes_print_real_glyphs(tex, activation, tmp_path):
    solution = solve(loads_spec(new_spec([2, 2, 1], activation=activation, seed=2)))
    text = _pdf_text(render_worksheet(solution), tmp_path / "handout.pdf")
    assert unexpected_glyphs(text) == set()
    flat = text.replace("\n", " ")
    if activation == "relu":  # the indicator in the rows, the piecewise form in section 2
        assert "1[zh1 > 0]" in flat and "1[(−1.245) > 0] = 0.000" in flat
        assert "= 1[z > 0]" in flat and "z≤0" in flat
    else:  # the slope as the spec wrote it (0.01, not 1/100)
        assert "(1[zh1 > 0] + 0.01 · 1[zh1 ≤ 0])" in flat and "max(0.01z, z)" in flat and "0.01," in flat
    deck = _pdf_text(render_slides(solution), tmp_path / "deck.pdf")
    assert unexpected_glyphs(deck) == set()


def test_the_check_catches_the_crossed_out_one(tex, tmp_path):
    """The test can fail: ``\\mathbb{1}`` (the old slope) comes out as U+22AE and is reported."""
    source = (r"\documentclass{article}\usepackage[T1]{fontenc}\usepackage{lmodern}\usepackage{amssymb}"
              r"\begin{document}$\mathbb{1}[z > 0]$ and $\mathbf{1}[z > 0]$\end{document}")
    assert unexpected_glyphs(_pdf_text(source, tmp_path / "old.pdf")) == {"U+22AE"}


@pytest.mark.parametrize(("activation", "loss", "layers"), [("relu", "half_sse", [2, 2, 1]),
                                                             ("leaky_relu", "half_sse", [2, 2, 1]),
                                                             ("relu", "cross_entropy", [2, 4, 3])])
def test_markdown_handouts_render_in_katex(node, activation, loss, layers):
    """The Markdown handout's indicator, piecewise slope and softmax condition are KaTeX too."""
    from test_snippets import _katex

    md = render_worksheet(solve(loads_spec(new_spec(layers, activation=activation, loss=loss, seed=5))), fmt="md")
    assert "\\mathbf{1}[" in md and "\\begin{cases}" in md
    assert ("\\le 0]" in md) == (activation == "leaky_relu")  # leaky relu's slope: 1[z > 0] + 0.01 1[z <= 0]
    report = _katex(md, node)
    assert report["count"] > 20 and report["errors"] == []
