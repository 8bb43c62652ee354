"""Layout sweep: handouts and decks of generated specs over every hidden activation, every loss with its
outputs and 1-3 outputs compile without an overfull box.

One pdflatex run per document (an overfull box shows on the first run), two at a time; about 20 s.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from symbackprop.documents.handout import render_worksheet
from symbackprop.documents.slides import render_slides
from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec
from symbackprop.io.pdf import latex_env

#: (hidden activation, loss, output activation or None for the loss's default, layers, seed)
CASES = [
    ("sigmoid", "half_sse", "sigmoid", [2, 2, 1], 1),
    ("tanh", "half_sse", "identity", [3, 2, 2], 2),
    ("relu", "half_sse", "tanh", [2, 3, 3], 3),
    ("leaky_relu", "half_sse", "softmax", [3, 2, 3], 4),
    ("softplus", "mse", None, [2, 3, 2], 5),
    ("identity", "bce", None, [2, 2, 3], 6),
    ("sigmoid", "cross_entropy", None, [3, 3, 2], 7),
    ("softplus", "bce", None, [2, 2, 1], 8),
    ("tanh", "mse", "tanh", [2, 3, 1], 9),
    # the reported ones: a long boxed softmax delta and path term, a leaky slope row, a deck's chain frame
    ("sigmoid", "half_sse", "softmax", [2, 3, 3], 5),
    ("leaky_relu", "half_sse", "tanh", [3, 2, 2], 5),
    ("relu", "cross_entropy", None, [2, 4, 3], 5),
]
KINDS = ("handout", "slides")


def _id(case: tuple) -> str:
    act, loss, out, layers, seed = case
    return f"{act}-{loss}-{out or 'default'}-{','.join(map(str, layers))}-s{seed}"


def test_the_sweep_covers_every_activation_loss_and_output():
    assert {c[0] for c in CASES} == {"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"}
    half_sse_outputs = {c[2] for c in CASES if c[1] == "half_sse"}
    assert half_sse_outputs == {"sigmoid", "identity", "tanh", "softmax"}
    assert {c[1] for c in CASES} == {"half_sse", "mse", "bce", "cross_entropy"}
    assert {c[3][-1] for c in CASES} == {1, 2, 3}


def _overfull(tex_source: str, workdir: Path) -> list[str]:
    (workdir / "doc.tex").write_text(tex_source, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                         cwd=workdir, env=latex_env(), capture_output=True, timeout=120, check=False)
    log = (workdir / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    return re.findall(r"Overfull \\[hv]box.*", log)


@pytest.fixture(scope="module")
def overfull() -> dict[tuple[str, str], list[str]]:
    """Every case's handout and deck compiled once, two at a time: the overfull box lines of each log."""
    docs = {}
    for case in CASES:
        act, loss, out, layers, seed = case
        solution = solve(loads_spec(new_spec(layers, activation=act, loss=loss, output=out, seed=seed)))
        docs[(_id(case), "handout")] = render_worksheet(solution)
        docs[(_id(case), "slides")] = render_slides(solution)
    with tempfile.TemporaryDirectory(prefix="symbackprop-sweep-") as tmp:
        dirs = {key: Path(tmp) / f"{i}" for i, key in enumerate(docs)}
        for d in dirs.values():
            d.mkdir()
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {key: pool.submit(_overfull, docs[key], dirs[key]) for key in docs}
        return {key: f.result() for key, f in futures.items()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_no_overfull_boxes(tex, overfull, case, kind, request):
    assert overfull[(_id(case), kind)] == []
