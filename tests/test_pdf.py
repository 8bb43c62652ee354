"""Tests for symbackprop.io.pdf: the sandboxed, deterministic LaTeX compile path."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from symbackprop.documents.render import render_tex
from symbackprop.errors import LatexBuildError, LatexMissingError, SymbackpropError
from symbackprop.io import pdf
from symbackprop.io.pdf import (
    SETTLE,
    compile_many,
    compile_pdf,
    png_from_tex,
    svg_from_tex,
    tex_available,
)


def doc(body: str) -> str:
    return (
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
        f"\\usepackage{{lmodern}}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode("utf-8")


def kept_dir(message: str) -> Path:
    """The temp folder named in a LatexBuildError message."""
    start = message.index("files kept in ") + len("files kept in ")
    return Path(message[start:].split(":")[0].rstrip(")"))


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Set PATH to a folder of stub executables named by the test."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))

    def make(*names: str) -> None:
        for name in names:
            stub = folder / name
            stub.write_text("#!/bin/sh\nexit 99\n")
            stub.chmod(0o755)

    return make


# --------------------------------------------------------------------------- no TeX


def test_missing_latexmk_raises_one_line_with_apt_hint(fake_bin, tmp_path: Path) -> None:
    fake_bin("pdflatex")  # pdflatex present, latexmk missing
    assert not tex_available()
    with pytest.raises(LatexMissingError) as info:
        compile_pdf(doc("x"), tmp_path / "x.pdf")
    msg = str(info.value)
    assert "\n" not in msg and "latexmk" in msg
    assert (
        "apt-get install texlive-latex-base texlive-latex-recommended texlive-latex-extra "
        "texlive-pictures latexmk" in msg
    )
    assert isinstance(info.value, SymbackpropError)
    assert not (tmp_path / "x.pdf").exists()


def test_empty_path_means_no_tex(fake_bin, tmp_path: Path) -> None:
    with pytest.raises(LatexMissingError, match="pdflatex"):
        compile_pdf(doc("x"), tmp_path / "x.pdf", runs=1)
    with pytest.raises(LatexMissingError):
        compile_many([(doc("x"), tmp_path / "x.pdf")])


def test_missing_pdftocairo_names_poppler(fake_bin, tmp_path: Path) -> None:
    fake_bin("latexmk", "latex", "pdflatex")
    with pytest.raises(LatexMissingError, match="pdftocairo.*apt-get install poppler-utils"):
        png_from_tex(doc("x"), tmp_path / "x.png")
    with pytest.raises(LatexMissingError, match="pdftocairo.*apt-get install poppler-utils"):
        svg_from_tex(doc("x"), tmp_path / "x.svg")


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jobname"):
        compile_pdf(doc("x"), tmp_path / "x.pdf", jobname="../evil")
    with pytest.raises(ValueError, match="runs"):
        compile_pdf(doc("x"), tmp_path / "x.pdf", runs=0)


def test_first_error_prefers_earliest_error_line(tmp_path: Path) -> None:
    (tmp_path / "document.log").write_text(
        "This is pdfTeX\n(./document.tex\n"
        "./document.tex:3: Undefined control sequence.\n"
        "l.3 Hello \\undefinedmacro\n"
        "! Emergency stop.\n"
    )
    assert pdf._first_error(tmp_path, "document", b"") == (
        "./document.tex:3: Undefined control sequence."
    )
    assert pdf._first_error(tmp_path, "nolog", b"a\nlast line\n\n") == "last line"


def test_latex_env_is_locked_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXMFOUTPUT", "/tmp")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    env = pdf.latex_env()
    assert "TEXMFOUTPUT" not in env
    assert env["openin_any"] == env["openout_any"] == "p"
    assert env["shell_escape"] == "f"
    assert env["SOURCE_DATE_EPOCH"] == "0" and env["FORCE_SOURCE_DATE"] == "1"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert pdf.latex_env()["SOURCE_DATE_EPOCH"] == "1700000000"


# --------------------------------------------------------------------------- with TeX


def test_compile_minimal_template(tex: None, tmp_path: Path) -> None:
    out = compile_pdf(render_tex("_test_minimal.tex.j2", title="Hello é"), tmp_path / "a.pdf")
    assert out == tmp_path / "a.pdf"
    assert out.read_bytes().startswith(b"%PDF-")
    assert "Hello é" in pdf_text(out)
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]  # no temp file left behind


def test_same_input_same_bytes(tex: None, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    source = doc("\\section{Gradients}\\today\\ $\\frac{\\partial E}{\\partial w_1} = 0.0821$")
    first = compile_pdf(source, tmp_path / "one.pdf").read_bytes()
    time.sleep(1.1)  # a wall-clock date would now differ
    second = compile_pdf(source, tmp_path / "two.pdf").read_bytes()
    assert first == second
    assert b"/CreationDate (D:19700101000000Z)" in first
    # pdflatex run directly (runs=N) is deterministic too
    third = compile_pdf(source, tmp_path / "three.pdf", runs=2).read_bytes()
    fourth = compile_pdf(source, tmp_path / "four.pdf", runs=2).read_bytes()
    assert third == fourth


@pytest.mark.parametrize(("body", "passes", "shown"), [
    ("Hello", 1, "Hello"),
    ("\\section{Alpha} text", 1, "Alpha"),  # a toc entry in the .aux, no table of contents read
    ("\\section{Alpha}\\label{a} see section \\ref{a}.", 2, "see section 1."),
    ("\\tableofcontents\\section{Alpha}", 2, "Contents"),
])
def test_settle_runs_the_passes_that_change_something(tex: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      body: str, passes: int, shown: str) -> None:
    runs: list[list[str]] = []
    real = pdf._run
    monkeypatch.setattr(pdf, "_run", lambda cmd, cwd, timeout: runs.append(list(cmd)) or real(cmd, cwd, timeout))
    settled = compile_pdf(doc(body), tmp_path / "settled.pdf", runs=SETTLE).read_bytes()
    assert len(runs) == passes and all(cmd[0] == "pdflatex" for cmd in runs)
    assert shown in pdf_text(tmp_path / "settled.pdf")
    if "tableofcontents" in body:
        assert "Contents\n1 Alpha" in pdf_text(tmp_path / "settled.pdf")  # the entry made it in
    assert settled == compile_pdf(doc(body), tmp_path / "latexmk.pdf").read_bytes()  # what latexmk makes


def test_existing_output_is_replaced_and_kept_on_failure(tex: None, tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    target.write_bytes(b"old")
    compile_pdf(doc("new"), target)
    good = target.read_bytes()
    assert good.startswith(b"%PDF-")
    with pytest.raises(LatexBuildError) as info:
        compile_pdf(doc("\\undefinedmacro"), target)
    shutil.rmtree(kept_dir(str(info.value)))
    assert target.read_bytes() == good  # a failed build never clobbers the old PDF
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf"]


def test_output_folder_is_created(tex: None, tmp_path: Path) -> None:
    out = compile_pdf(doc("x"), tmp_path / "new" / "dir" / "x.pdf", jobname="handout")
    assert out.is_file()


def test_undefined_macro_error_is_one_line_with_location(tex: None, tmp_path: Path) -> None:
    with pytest.raises(LatexBuildError) as info:
        compile_pdf(doc("Hello \\undefinedmacro"), tmp_path / "b.pdf")
    msg = str(info.value)
    assert "\n" not in msg
    assert "document.tex:6: Undefined control sequence." in msg
    where = kept_dir(msg)
    assert (where / "document.tex").is_file() and (where / "document.log").is_file()
    assert str(where) in msg and "document.log" in msg
    assert not (tmp_path / "b.pdf").exists()
    shutil.rmtree(where)


def test_bang_error_is_first_error_line(tex: None, tmp_path: Path) -> None:
    with pytest.raises(LatexBuildError) as info:
        compile_pdf(doc("\\input{no-such-file-xyz}"), tmp_path / "c.pdf")
    msg = str(info.value)
    assert "\n" not in msg
    assert "! LaTeX Error: File `no-such-file-xyz.tex' not found." in msg
    assert "Emergency stop" not in msg  # only the first error
    shutil.rmtree(kept_dir(msg))


def test_infinite_loop_times_out(tex: None, tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(LatexBuildError, match="timed out after 2 s") as info:
        compile_pdf(doc("\\def\\loop{\\loop}\\loop"), tmp_path / "d.pdf", timeout=2)
    assert time.monotonic() - start < 20
    msg = str(info.value)
    assert "\n" not in msg
    where = kept_dir(msg)
    assert (where / "document.tex").is_file()
    shutil.rmtree(where)


def test_sandbox_refuses_reading_absolute_paths(tex: None, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tex"
    secret.write_text("SECRETTOKEN4711\n")
    with pytest.raises(LatexBuildError) as info:
        compile_pdf(doc(f"\\input{{{secret}}}"), tmp_path / "e.pdf")
    assert "SECRETTOKEN4711" not in str(info.value)
    where = kept_dir(str(info.value))
    assert "SECRETTOKEN4711" not in (where / "document.log").read_text(errors="replace")
    shutil.rmtree(where)
    # the caret notation spelling of \input is refused the same way
    with pytest.raises(LatexBuildError) as info:
        compile_pdf(doc("^^5cinput{/etc/hostname}"), tmp_path / "e.pdf")
    shutil.rmtree(kept_dir(str(info.value)))


def test_sandbox_no_shell_escape_no_writes_outside(tex: None, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    written = tmp_path / "written.tex"
    body = (
        f"\\immediate\\write18{{touch {pwned}}}\n"
        f"\\newwrite\\out\\immediate\\openout\\out={written}\n"
        "\\immediate\\write\\out{leak}\\immediate\\closeout\\out\nok"
    )
    try:
        compile_pdf(doc(body), tmp_path / "f.pdf")
    except LatexBuildError as err:  # refusing \openout may stop the run: also fine
        shutil.rmtree(kept_dir(str(err)))
    assert not pwned.exists()
    assert not written.exists()


def test_latexmkrc_is_never_read(tex: None, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pwned = tmp_path / "pwned"
    home = tmp_path / "home"
    home.mkdir()
    rc = f"system('touch {pwned}');\n"
    (home / ".latexmkrc").write_text(rc)
    (tmp_path / "latexmkrc").write_text(rc)
    (tmp_path / ".latexmkrc").write_text(rc)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    compile_pdf(doc("x"), tmp_path / "g.pdf")
    assert not pwned.exists()


def test_compile_many_in_order(tex: None, tmp_path: Path) -> None:
    jobs = [(doc(f"Exam variant {i}"), tmp_path / f"v{i}.pdf") for i in range(4)]
    outs = compile_many(jobs, workers=2)
    assert outs == [out for _, out in jobs]
    for i, out in enumerate(outs):
        assert f"Exam variant {i}" in pdf_text(out)


def test_compile_many_raises_first_failure(tex: None, tmp_path: Path) -> None:
    jobs = [
        (doc("fine"), tmp_path / "ok.pdf"),
        (doc("\\undefinedmacro"), tmp_path / "bad.pdf"),
    ]
    with pytest.raises(LatexBuildError, match="Undefined control sequence") as info:
        compile_many(jobs, workers=2)
    assert (tmp_path / "ok.pdf").is_file()  # the other jobs still finished
    shutil.rmtree(kept_dir(str(info.value)))


STANDALONE = r"""\documentclass[border=2pt]{standalone}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{tikz}
\begin{document}
\begin{tikzpicture}
\draw[->, red] (0,0) -- (2,1) node[right] {$\frac{\partial E}{\partial w_1}$};
\fill[blue!30] (0,1) circle (0.3);
\end{tikzpicture}
\end{document}
"""


def test_svg_from_tikz_standalone(tex: None, tmp_path: Path) -> None:
    out = svg_from_tex(STANDALONE, tmp_path / "fig.svg")
    svg = out.read_text()
    assert "<svg" in svg and "<path" in svg
    assert "rgb(100%,0%,0%)" in svg  # tikz colours survived
    assert "<font" not in svg  # glyphs as paths: self-contained
    assert svg_from_tex(STANDALONE, tmp_path / "fig2.svg").read_text() == svg


def test_png_from_standalone(tex: None, tmp_path: Path) -> None:
    out = png_from_tex(STANDALONE, tmp_path / "fig.png", dpi=100)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")
    assert 80 < width < 200  # about 3.5 cm at 100 dpi


def test_svg_build_error_is_latex_build_error(tex: None, tmp_path: Path) -> None:
    with pytest.raises(LatexBuildError) as info:
        svg_from_tex(STANDALONE.replace("\\fill", "\\nosuchmacro"), tmp_path / "x.svg")
    assert "\n" not in str(info.value)
    shutil.rmtree(kept_dir(str(info.value)))
