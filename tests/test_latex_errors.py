"""LaTeX failures name their real cause (issue 10, item 18): the log's first error line, wherever TeX put
it, or TeX's own fatal line when it wrote no log; a SOURCE_DATE_EPOCH TeX would refuse is refused first."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.errors import LatexBuildError, UsageError
from symbackprop.io.pdf import _first_error, check_environment, compile_pdf


def _log(tmp_path: Path, text: str) -> Path:
    (tmp_path / "job.log").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("log, cause", [
    ("(./job.aux)! Unable to read an entire line---bufsize=200000.\nPlease increase buf_size\n",
     "! Unable to read an entire line---bufsize=200000."),
    ("(/usr/share/x.sty)\n./job.tex:12: Dimension too large.\n<recently read> \\pgfmath@x\n",
     "./job.tex:12: Dimension too large."),
    ("This is pdfTeX\n! LaTeX Error: File `nope.sty' not found.\n", "! LaTeX Error: File `nope.sty' not found."),
])
def test_first_error_finds_the_cause_in_the_log(tmp_path, log, cause):
    assert _first_error(_log(tmp_path, log), "job", b"Latexmk: Errors, so I did not complete making targets\n") \
        == cause


def test_without_a_log_tex_s_fatal_line_beats_latexmk_s_summary(tmp_path):
    printed = (b"Rc files read: NONE\npdflatex: fatal: invalid epoch-seconds-timezone value for environment "
               b"variable $SOURCE_DATE_EPOCH: abc.\nLatexmk: Errors, so I did not complete making targets\n"
               b"Collected error summary (may duplicate other messages):\n"
               b"  pdflatex: Run of rule 'pdflatex' gave a non-zero error code\n")
    assert _first_error(tmp_path, "job", printed).startswith("pdflatex: fatal: invalid epoch-seconds")
    assert _first_error(tmp_path, "job", b"first\nlast line\n") == "last line"


@pytest.mark.parametrize("value", ["abc", "", "-1", "1e3", " 0", "0x10", "\u0661", "253402300800"])
def test_a_bad_source_date_epoch_is_refused_in_one_line(monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(UsageError, match=r"^SOURCE_DATE_EPOCH=.*: must be a whole number of seconds since 1970"):
        check_environment()


@pytest.mark.parametrize("value", ["0", "1700000000", "253402300799"])
def test_good_source_date_epochs_pass(monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    check_environment()


def test_worksheet_pdf_with_a_bad_epoch_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "abc")
    code = main(["worksheet", "--pdf", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "SOURCE_DATE_EPOCH='abc'" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_real_failures_name_their_cause(tex, tmp_path):
    cases = {
        "longline": ("\\documentclass{article}\\begin{document}\n" + "x" * 250_000 + "\n\\end{document}\n",
                     "! Unable to read an entire line"),
        "dimen": ("\\documentclass{article}\\usepackage{tikz}\\begin{document}\\begin{tikzpicture}"
                  "\\draw (0,0) -- (20000cm,0);\\end{tikzpicture}\\end{document}\n", "Dimension too large"),
    }
    for name, (source, cause) in cases.items():
        with pytest.raises(LatexBuildError) as err:
            compile_pdf(source, tmp_path / f"{name}.pdf", jobname=name, runs=1)
        message = str(err.value)
        assert message.startswith("LaTeX failed: ") and cause in message and "Refer to" not in message, message
