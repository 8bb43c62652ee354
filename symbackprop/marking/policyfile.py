"""Read a marking policy from a file: a small TOML of credits, or a spec's ``[exam.marking]``.

A policy file is either a ``[marking]`` table or bare lines (``carried_forward = 0.5``); a file with
an ``[exam]`` table is read as a whole spec (validated like any spec) and its ``[exam.marking]`` used.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.examtable import MarkingPolicy, policy_from_table
from ..engine.spec import load_spec
from ..errors import UsageError
from ..io.files import InputKind, read_input
from ..io.tomltext import TomlProblem, parse_toml

__all__ = ["load_policy"]


def load_policy(path: str | Path) -> MarkingPolicy:
    path = Path(path)
    text = read_input(path, InputKind("marking policy", "TOML", UsageError))
    try:
        data = parse_toml(text, parse_float=str)
    except TomlProblem as err:
        raise UsageError(f"{path}: not valid TOML: {err}") from None
    if "exam" in data:
        return load_spec(path).exam.marking
    if "marking" in data:
        extra = sorted(set(data) - {"marking"})
        if extra:
            raise UsageError(f"{path}: {extra[0]}: unknown field (a policy file has one [marking] table)")
        return policy_from_table(data["marking"], f"{path}: marking.")
    return policy_from_table(data, f"{path}: ")
