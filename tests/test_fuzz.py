"""Fuzz: mutated specs, answers files and rosters thrown at every command.

Whatever the input, a command ends with exit code 0, 1 or 2, prints no traceback, finishes in
bounded time, and a failed run (exit 2) leaves no file behind: not in the output folder, not in
the temporary folder.  The mutations start from the shipped examples and apply what careless or
hostile users type: lines dropped, duplicated or cut, values swapped for hostile tokens (huge,
tiny, non-numeric, control characters, right-to-left text, TeX), keys renamed, bytes inserted.

The commands run in-process through ``cli.main`` (the console entry point minus ``os._exit``), so
an uncaught exception fails the test with its traceback.  The cases are seeded, so a run is
reproducible: every case is a seed in the test id.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import tempfile
from pathlib import Path

import pytest
from example_specs import network_specs
from sweeps import size

from symbackprop.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPECS = network_specs()
ANSWERS = (EXAMPLES / "lecture_printed_answers.toml").read_text(encoding="utf-8")
ROSTER = "name,id\nAda Lovelace,1\nAlan Turing,2\n"

#: Tokens a value may be replaced with: each is something a user has typed, or an attacker would.
HOSTILE = [
    "0", "-0", "1e100", "-1e8", "1e-400", "1e5000", "0.0000001", "123456789012345678901234567890",
    "nan", "inf", '"0.5"', '"x"', "[]", "{}", "[[[[[[]]]]]]", "true", '"\\u0001"', '"\\uFFFE"',
    '"\\\\input{/etc/passwd}"', '"مرحبا"', '"שלום"', '"漢字"', '"=HYPERLINK(1)"', '"' + "a" * 3000 + '"',
    '"relu"', '"softmax"', '"identity"', '"indexed"', '"mean"', '"biases"', "-1", "3", "64", "0.5",
]
KEY_TOKENS = ["w1", "b3", "x1", "t", "units", "activation", "inputs", "decimals", "learning_rate",
              "loss", "steps", "zz", "w99", "t2", "scheme", "ask", "student"]
BYTES = ["\x00", "\x01", "\ufeff", "[", "]", "=", '"', "{", "\\", "\n", "#", "\u202e", "é"]

TIME_LIMIT_S = 60  # per command; a hang (minutes today) fails the test instead of stalling CI


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang(f"command ran longer than {TIME_LIMIT_S} s")


def mutated(rng: random.Random, text: str) -> str:
    """Apply one mutation (sometimes two or three) to a TOML or CSV text."""
    lines = text.splitlines()
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not lines:
            break
        assignments = [k for k, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")]
        kind = rng.choice(["value", "value", "value", "drop", "dup", "key", "cut", "byte"])
        i = rng.choice(assignments) if kind in ("value", "key") and assignments else rng.randrange(len(lines))
        line = lines[i]
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, line)
        elif kind == "value" and "=" in line:
            lines[i] = f"{line.split('=', 1)[0]}= {rng.choice(HOSTILE)}"
        elif kind == "key" and "=" in line:
            lines[i] = f"{rng.choice(KEY_TOKENS)} ={line.split('=', 1)[1]}"
        elif kind == "cut":
            lines = lines[: i + 1]
            lines[i] = line[: rng.randint(0, len(line))]
        else:
            at = rng.randint(0, len(line))
            lines[i] = line[:at] + rng.choice(BYTES) + line[at:]
    return "\n".join(lines) + "\n"


def _run(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run one command in ``cwd``; return (exit code, stderr).  Fails on a traceback or a hang."""
    err, out = io.StringIO(), io.StringIO()
    old = os.getcwd()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old)
    message = err.getvalue()
    assert code in (0, 1, 2), (argv, code, message)
    assert "Traceback" not in message, message
    lines = [line for line in message.splitlines() if line.strip()]
    if code == 2 and (lines or not out.getvalue()):  # verify's report of an unmarkable entry is on stdout
        assert len(lines) == 1, f"exit 2 must say one line, got {lines!r}"
        assert len(lines[0]) < 600, f"error line too long ({len(lines[0])} chars)"
    return code, message


@contextlib.contextmanager
def _sandbox():
    """A working folder and a private temp folder, both checked for leftovers."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as root:
        work, tmp = Path(root, "work"), Path(root, "tmp")
        work.mkdir()
        tmp.mkdir()
        saved = tempfile.tempdir
        tempfile.tempdir = str(tmp)
        try:
            yield work, tmp
        finally:
            tempfile.tempdir = saved


def _assert_nothing_left(code: int, out: Path, tmp: Path) -> None:
    assert not any(tmp.iterdir()), f"temporary files left behind: {sorted(p.name for p in tmp.iterdir())}"
    if code == 2:
        left = sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []
        assert not left, f"a failed run left files behind: {left}"


#: Cases per test (40 in CI, 16 in the inner loop: tests/sweeps.py); each case is a seed, so a failing case is
#: rerun alone by its test id.
CASES = int(os.environ.get("FUZZ_CASES", str(size(40, 16))))
COMMANDS = {
    "check": lambda spec, out: ["check", spec],
    "export": lambda spec, out: ["export", spec],
    "worksheet": lambda spec, out: ["worksheet", spec, "-o", out],
    "worksheet-md": lambda spec, out: ["worksheet", spec, "-o", out, "--format", "md"],
    "snippet": lambda spec, out: ["snippet", spec, "dE/dw1", "--form", "numeric", "-o", out + "/s.tex"],
    "slides": lambda spec, out: ["slides", spec, "-o", out],
    "exam": lambda spec, out: ["exam", spec, "--variants", "2", "-o", out, "--moodle", "--qti"],
}


@pytest.mark.parametrize("seed", range(CASES))
def test_mutated_spec(seed: int) -> None:
    rng = random.Random(seed)
    base = rng.choice(SPECS)
    text = mutated(rng, base.read_text(encoding="utf-8"))
    command = list(COMMANDS)[seed % len(COMMANDS)]
    with _sandbox() as (work, tmp):
        spec = work / "spec.toml"
        spec.write_text(text, encoding="utf-8")
        out = work / "out"
        code, _ = _run(COMMANDS[command](str(spec), str(out)), work)
        _assert_nothing_left(code, out, tmp)


@pytest.mark.parametrize("seed", range(CASES // 2))
def test_mutated_answers(seed: int) -> None:
    rng = random.Random(seed)
    text = mutated(rng, ANSWERS)
    with _sandbox() as (work, tmp):
        answers = work / "answers.toml"
        answers.write_text(text, encoding="utf-8")
        code, _ = _run(["verify", str(answers)], work)
        _assert_nothing_left(code, work / "none", tmp)


@pytest.mark.parametrize("seed", range(CASES // 4))
def test_mutated_roster(seed: int) -> None:
    rng = random.Random(seed)
    rows = [f"{rng.choice(HOSTILE).strip(chr(34))},{rng.randint(-5, 99)}" for _ in range(rng.randint(0, 4))]
    text = mutated(rng, ROSTER + "\n".join(rows))
    with _sandbox() as (work, tmp):
        roster = work / "class.csv"
        roster.write_text(text, encoding="utf-8")
        out = work / "exam"
        code, _ = _run(["exam", str(EXAMPLES / "exam_lecture.toml"), "--roster", str(roster), "-o", str(out),
                        "--moodle", "--qti"], work)
        _assert_nothing_left(code, out, tmp)


FLAGS = ["check", "export", "new", "worksheet", "verify", "snippet", "slides", "exam", "--layers", "4096,4096,1",
         "0,0", "--seed", "-1", "--variants", "0", "-o", "out", "--format", "xml", "--ask", "nothing",
         "--roster", "/dev/zero", "dE/dw1", "\x00", "--chain", "w99", "--sections", "nope", "/dev/zero"]


@pytest.mark.parametrize("seed", range(CASES))
def test_random_flags(seed: int) -> None:
    rng = random.Random(seed)
    argv = [rng.choice(FLAGS) for _ in range(rng.randint(0, 6))]
    with _sandbox() as (work, tmp):
        code, _ = _run(argv, work)
        _assert_nothing_left(code, work / "out", tmp)
