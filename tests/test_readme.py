"""The README's examples are tests: what it shows is what the tool does.

Every ```console block is run, in README order, in one temporary folder (so ``my.toml`` and
``big.toml`` made by the tour are there for the handout commands), each ``$ command`` in-process
through ``cli.main`` (``python -m symbackprop`` too; ``> FILE`` writes stdout to FILE).  Then:

* lines shown under a command are its expected output (stdout, then stderr), compared line by line
  with trailing spaces dropped.  Placeholder: ``...`` in a shown line stands for any text on that
  line (a volatile or elided part); the README uses it where it elides;
* a command with no lines shown must exit 0, and what its ``# comment`` claims is checked: each
  ``N of N word`` and each path (``output/lecture.tex``) named in the comment is in its output;
* a shown ``symbackprop: error:`` line means exit code 2.

The commands run from a folder with ``examples`` linked to the project's (the README's paths are
relative to the project root).  Files the README names but does not make: a ```toml block
introduced by "(`NAME`):" is written to NAME (``slips.toml``); the exam's roster ``class.csv`` is
the README's ```csv block (``ROSTER``: checked to be it).  Blocks with a command that needs
LaTeX (``--pdf``, ``--format svg|png``) are ``tex`` tests; the exam's ``--pdf`` is dropped
(``DROPPED``: it takes half a minute and changes no line shown).  A ```text block whose paragraph names a
file the commands wrote (``midterm/marks/summary.txt``) is that file's text.  Three prose claims are checked against
the tool as well: the frame counts of the decks, the columns of ``index.csv``, and the
``Proof(...)`` repr (the Python API block runs, each ``expression  # repr`` compared, ``...``
again a placeholder; ``# SymPy: x`` compares str()).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from symbackprop.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ROSTER = "id,name\ns1,Ada Lovelace\ns2,Alan Turing\n"
TEX_FLAGS = ("--pdf", "--format svg", "--format png")
#: flags dropped before running, to keep the test fast: the exam's 30 variants compiled to PDF take
#: half a minute, and ``--pdf`` changes no line the README shows (test_exam compiles exam PDFs)
DROPPED = {"symbackprop exam ": ("--pdf",)}


@dataclass
class Command:
    line: str  # as written after "$ ", with its comment
    shown: list[str] = field(default_factory=list)

    @property
    def comment(self) -> str:
        return self.line.split(" # ", 1)[1].strip() if " # " in self.line else ""


@dataclass
class Block:
    heading: str
    commands: list[Command]

    @property
    def needs_tex(self) -> bool:
        return any(flag in runnable(c.line) for c in self.commands for flag in TEX_FLAGS)


def runnable(line: str) -> str:
    """The command as run: ``DROPPED`` flags taken out."""
    for prefix, flags in DROPPED.items():
        if line.startswith(prefix):
            line = " ".join(token for token in line.split(" ") if token not in flags)
    return line


def fenced(text: str, language: str) -> list[tuple[str, str, str]]:
    """(heading above, paragraph line just before, body) of every ```language block."""
    out, heading = [], ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("# ")
        if lines[i].strip() == f"```{language}":
            end = lines.index("```", i + 1)
            before = next((line for line in reversed(lines[:i]) if line.strip()), "")
            out.append((heading, before, "\n".join(lines[i + 1:end])))
            i = end
        i += 1
    return out


def console_blocks() -> list[Block]:
    blocks = []
    for heading, _, body in fenced(README.read_text(encoding="utf-8"), "console"):
        commands: list[Command] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:]))
            else:
                assert commands, f"{heading}: output before any command"
                commands[-1].shown.append(line.rstrip())
        blocks.append(Block(heading, commands))
    return blocks


def named_files() -> dict[str, str]:
    """```toml blocks introduced by "... (`NAME`):" are files the console examples use."""
    files = {}
    for _, before, body in fenced(README.read_text(encoding="utf-8"), "toml"):
        m = re.search(r"\(`([\w.-]+)`\):$", before.strip())
        if m:
            files[m.group(1)] = body + "\n"
    return files


def run(line: str) -> tuple[int, str]:
    """One README command in-process: exit code, stdout + stderr."""
    tokens = shlex.split(runnable(line), comments=True)
    if tokens[:3] == ["python", "-m", "symbackprop"]:
        tokens = ["symbackprop", *tokens[3:]]
    assert tokens[0] == "symbackprop", line
    target = None
    if ">" in tokens:
        at = tokens.index(">")
        tokens, target = tokens[:at], tokens[at + 1]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(tokens[1:])
    if target is not None:
        Path(target).write_text(out.getvalue(), encoding="utf-8")
        return code, err.getvalue()
    return code, out.getvalue() + err.getvalue()


def shown_matches(shown: list[str], output: str) -> bool:
    actual = [line.rstrip() for line in output.rstrip("\n").splitlines()]
    if len(actual) != len(shown):
        return False
    for want, got in zip(shown, actual, strict=True):
        pattern = ".*".join(re.escape(part) for part in want.split("..."))
        if not re.fullmatch(pattern, got):
            return False
    return True


def check_command(command: Command) -> None:
    code, output = run(command.line)
    if command.shown:
        assert shown_matches(command.shown, output), (
            f"$ {command.line}\n--- README shows:\n" + "\n".join(command.shown) + f"\n--- it prints:\n{output}")
        if any(line.startswith("symbackprop: error:") for line in command.shown):
            assert code == 2, command.line
        return
    assert code == 0, f"$ {command.line}\nexit {code}\n{output}"
    claims = re.findall(r"\b(\d+) of (\d+) (\w+)", command.comment)
    for a, b, word in claims:
        assert f"{a} of {b} {word}" in output, f"$ {command.line}: claims '{a} of {b} {word}'\n{output}"
    for path in re.findall(r"[\w.-]+/[\w./-]+\.\w+", command.comment):
        assert path in output.split(), f"$ {command.line}: claims it writes {path}\n{output}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for every block, with the README's files and the tour's specs in it."""
    folder = tmp_path_factory.mktemp("readme")
    for name, text in named_files().items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "class.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "examples").symlink_to(ROOT / "examples")  # the README's paths are from the project root
    with contextlib.chdir(folder):
        for command in console_blocks()[0].commands:  # the tour makes my.toml and big.toml
            if " > " in command.line:
                run(command.line)
    return folder


def test_the_readme_has_the_examples_this_test_runs():
    headings = [b.heading for b in console_blocks()]
    assert headings[0] == "A short tour" and len(headings) >= 6
    assert sum(len(b.commands) for b in console_blocks()) >= 20
    assert "slips.toml" in named_files()


@pytest.mark.parametrize("block", [b for b in console_blocks() if not b.needs_tex], ids=lambda b: b.heading)
def test_console_block(block, workdir):
    with contextlib.chdir(workdir):
        for command in block.commands:
            check_command(command)


@pytest.mark.parametrize("block", [b for b in console_blocks() if b.needs_tex], ids=lambda b: b.heading)
def test_console_block_with_latex(block, workdir, tex):
    test_console_block(block, workdir)


def test_the_check_can_fail(workdir):
    """A README that drifted is caught: a wrong line, a wrong count, a missing path."""
    with contextlib.chdir(workdir):
        with pytest.raises(AssertionError, match="README shows"):
            check_command(Command("symbackprop snippet dE/dw5", [r"\boxed{\frac{\partial E}{\partial w_{5}} = 0}"]))
        with pytest.raises(AssertionError, match="claims '8 of 9 gradients'"):
            check_command(Command("symbackprop check   # 8 of 9 gradients proven"))
    assert shown_matches(["Decimal('0.0315...')"], "Decimal('0.03159219909552025669')\n")
    assert not shown_matches(["Decimal('0.0316...')"], "Decimal('0.03159219909552025669')\n")


def shown_files() -> list[tuple[str, list[str]]]:
    """```text blocks whose paragraph names a file the commands write (`midterm/marks/summary.txt`): (path, lines)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() != "```text":
            continue
        end = i
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        start = end
        while start > 0 and lines[start - 1].strip():
            start -= 1
        named = re.search(r"`([\w.-]+/[\w./-]+\.\w+)`", " ".join(lines[start:end]))
        if named:
            out.append((named.group(1), lines[i + 1:lines.index("```", i + 1)]))
    return out


def test_files_the_readme_shows_are_what_the_commands_wrote(workdir):
    """A file the README shows after its commands (the class summary, the gradebook) is the file they wrote; a
    line ``...`` alone stands for the lines left out.  (Run after the console blocks: with none of them run
    before, in a run of this test alone, the exam and marking blocks are run first.)"""
    shown = shown_files()
    assert {path for path, _ in shown} >= {"midterm/marks/summary.txt", "midterm/marks/gradebook-moodle.csv"}
    with contextlib.chdir(workdir):
        if not all(Path(path).exists() for path, _ in shown):
            for block in console_blocks():
                if block.heading in ("Exam worksheets", "Marking the class"):
                    for command in block.commands:
                        run(command.line)
        for path, lines in shown:
            actual = Path(path).read_text(encoding="utf-8").rstrip("\n").splitlines()
            head, _, tail = "\n".join(lines).partition("\n...\n")
            head_lines, tail_lines = head.splitlines(), tail.splitlines()
            assert shown_matches(head_lines, "\n".join(actual[:len(head_lines)])), (path, actual)
            if "\n...\n" in "\n".join(lines):
                assert len(actual) > len(head_lines) + len(tail_lines), path
                assert shown_matches(tail_lines, "\n".join(actual[-len(tail_lines):])), (path, actual)
            else:
                assert len(actual) == len(head_lines), (path, actual)


# -- claims in the prose -------------------------------------------------------------------------

def test_deck_frame_counts_are_as_the_readme_says():
    from symbackprop.documents.slides import render_slides
    from symbackprop.engine.generate import new_spec
    from symbackprop.engine.solution import solve
    from symbackprop.engine.spec import loads_spec

    text = " ".join(README.read_text(encoding="utf-8").split())
    m = re.search(r"--layers 4,8,8,2 --activation tanh` network gets a deck of (\d+) frames "
                  r"\(the lecture's has (\d+)\)", text)
    assert m, "the README's sentence on deck sizes changed: update this test"
    big = render_slides(solve(loads_spec(new_spec([4, 8, 8, 2], activation="tanh"))))
    assert big.count(r"\begin{frame}") == int(m.group(1))
    assert render_slides(solve()).count(r"\begin{frame}") == int(m.group(2))


def test_index_csv_columns_are_as_the_readme_says(tmp_path):
    text = " ".join(README.read_text(encoding="utf-8").split())
    m = re.search(r"`index\.csv` \(columns `([\w,]+)`\)", text)
    assert m, "the README's sentence on index.csv changed: update this test"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["exam", str(ROOT / "examples" / "exam_lecture.toml"), "--variants", "2", "--seed", "1",
                     "-o", str(tmp_path / "exam")]) == 0
    with open(tmp_path / "exam" / "index.csv", encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == m.group(1).split(",")


def test_python_api_block_prints_what_the_readme_shows():
    """``expression  # repr`` lines: the expression's repr matches (``...`` a placeholder)."""
    body = next(body for heading, _, body in fenced(README.read_text(encoding="utf-8"), "python")
                if heading == "Python API")
    namespace: dict[str, object] = {}
    compared = 0
    for line in body.splitlines():
        code, _, comment = line.partition("  # ")
        code, comment = code.strip(), comment.strip()
        if not code:
            continue
        if not comment or code.startswith(("from ", "import ")) or re.match(r"\w+ = ", code):
            exec(code, namespace)  # noqa: S102  (the README's own example code)
            continue
        value = eval(code, namespace)  # noqa: S307
        sympy_str = comment.startswith("SymPy: ")
        shown, text = (comment[len("SymPy: "):], str(value)) if sympy_str else (comment, repr(value))
        assert shown_matches([shown], text), f"{code}\n README: {comment}\n prints: {text}"
        compared += 1
    assert compared == 7


def test_latex_lines_quoted_from_the_handout_are_in_it():
    (_, _, body), = fenced(README.read_text(encoding="utf-8"), "latex")
    handout = (ROOT / "output" / "lecture.tex").read_text(encoding="utf-8")
    for line in body.splitlines():
        assert line in handout, line


def test_the_roster_the_readme_shows_is_the_one_its_commands_use():
    assert f"(`class.csv`):\n\n```csv\n{ROSTER}```" in README.read_text(encoding="utf-8")
