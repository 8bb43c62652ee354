"""The test harness itself: Hypothesis's profile, and the forked ``symbackprop`` of tests/forked.py."""

from __future__ import annotations

import os
import resource
import subprocess

import pytest
from forked import symbackprop_in_a_fork
from hypothesis import given, settings
from hypothesis import strategies as st


def test_hypothesis_runs_derandomized_in_every_test_process():
    """conftest's profile is loaded where tests run (a pytest-xdist worker too), before the modules'
    ``@settings``, so two runs draw the same cases."""
    assert settings.default.derandomize and settings.default.deadline is None
    drawn: list[list[int]] = []

    @settings(max_examples=5)
    @given(st.integers())
    def draw(n: int) -> None:
        drawn[-1].append(n)

    for _ in range(2):
        drawn.append([])
        draw()
    assert drawn[0] == drawn[1]


def test_a_forked_command_has_its_own_exit_code_streams_and_pipe(tmp_path):
    done = symbackprop_in_a_fork("check")
    assert done.returncode == 0 and "9 of 9 gradients proven" in done.stdout and done.stderr == ""
    bad = symbackprop_in_a_fork("check", str(tmp_path / "none.toml"))
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1 and "none.toml" in bad.stderr
    piped = symbackprop_in_a_fork("check", "/dev/stdin", input="title = 'x'\nnope = 1\n")
    assert piped.returncode == 2 and "/dev/stdin" in piped.stderr
    assert symbackprop_in_a_fork("export", cwd=tmp_path).returncode == 0
    assert os.getcwd() != str(tmp_path)  # the fork changed its own folder, not this process's


def test_a_forked_command_is_bounded_in_memory_and_time(monkeypatch):
    from symbackprop import cli

    def allocate(argv):
        return len(bytearray(1 << 30))  # 1 GB at once

    monkeypatch.setattr(cli, "main", allocate)
    done = symbackprop_in_a_fork("check", memory=1 << 28)
    assert done.returncode == 1 and "MemoryError" in done.stderr
    limit = resource.getrlimit(resource.RLIMIT_AS)
    assert limit[0] == resource.RLIM_INFINITY or limit[0] > 1 << 30  # this process keeps its own

    monkeypatch.setattr(cli, "main", lambda argv: __import__("time").sleep(30))
    with pytest.raises(subprocess.TimeoutExpired):
        symbackprop_in_a_fork("check", timeout=0.5)
