"""Read a marking policy from ``--policy FILE``: a small TOML of credits, or a spec's ``[exam.marking]``.

A policy file is either a ``[marking]`` table or bare lines (``carried_forward = 0.5``); a file with
an ``[exam]`` table is read as a whole spec (validated like any spec) and its ``[exam.marking]`` used.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.examtable import MarkingPolicy, policy_from_table
from ..engine.spec import load_spec
from ..errors import UsageError
from ..io.files import read_capped
from ..io.tomltext import TomlProblem, parse_toml
from .answers import decode

__all__ = ["load_policy"]


def load_policy(path: str | Path) -> MarkingPolicy:
    path = Path(path)
    try:
        raw = read_capped(path)
    except OSError as err:
        raise UsageError(f"--policy {path}: cannot read ({err.strerror or err})") from None
    try:
        data = parse_toml(decode(raw, f"--policy {path}"), parse_float=str)
    except TomlProblem as err:
        raise UsageError(f"--policy {path}: not valid TOML: {err}") from None
    if "exam" in data:
        return load_spec(path).exam.marking
    if "marking" in data:
        extra = sorted(set(data) - {"marking"})
        if extra:
            raise UsageError(f"--policy {path}: {extra[0]}: unknown field (a policy file has one [marking] table)")
        return policy_from_table(data["marking"], f"--policy {path}: marking.")
    return policy_from_table(data, f"--policy {path}: ")
