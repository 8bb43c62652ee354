"""The example files by what they are, read from their tables (not their names): network specs, the
graph-family specs (``[graph]``, ``[rnn]``, ``[conv1d]``...) and answers files."""

from __future__ import annotations

import tomllib
from pathlib import Path

from symbackprop.engine.kinds import graph_kind

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _tables(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def network_specs() -> list[Path]:
    """Every example with a ``[network]`` table (answers files have none)."""
    return sorted(p for p in EXAMPLES.glob("*.toml") if "network" in _tables(p))


def graph_specs() -> list[Path]:
    """Every example of a graph kind."""
    return sorted(p for p in EXAMPLES.glob("*.toml") if graph_kind(_tables(p)) is not None)
