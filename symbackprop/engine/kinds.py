"""The spec kinds that are computation graphs underneath, told apart by their top-level TOML table.

A ``[graph]`` is written node by node; other kinds (a recurrent network unrolled through time, a 1-D
convolution) are builders that turn their own table into the same `GraphSpec`, so the graph engine
derives, proves and evaluates them all, and every document of a graph serves them too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..hints import clip
from ..io.tomltext import TomlProblem, parse_toml
from .convspec import conv1d_from_table
from .examtable import settings_from_table
from .fields import DecimalText
from .graphspec import GraphSpec, graph_from_table
from .optimizer import training_from_data
from .rnnspec import rnn_from_table
from .spec import Spec, load_spec, loads_spec, read_spec_text

#: table name -> builder of the GraphSpec from the parsed document and its source name
BUILDERS: dict[str, Callable[[dict[str, Any], str], GraphSpec]] = {
    "graph": graph_from_table,
    "conv1d": conv1d_from_table,
    "rnn": rnn_from_table,
}


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return parse_toml(text, parse_float=DecimalText)
    except TomlProblem as err:
        raise SpecError(f"{source}: malformed TOML: {clip(str(err), 120)}") from None


def graph_kind(data: dict[str, Any]) -> str | None:
    """The graph kind whose table the document has (None: an MLP spec, or not a spec)."""
    return next((kind for kind in BUILDERS if kind in data), None)


def loads_graph(text: str, source: str = "<spec>") -> GraphSpec:
    return _built(_parse(text, source), source)


def _built(data: dict[str, Any], source: str) -> GraphSpec:
    """The graph of a parsed document, built by its kind's builder; the ``[exam]`` table (what an exam of it
    draws and asks) and the training fields (``learning_rate``, ``steps``, ``[optimizer]``) are read here
    for every kind, so that no builder needs to know them."""
    kind = graph_kind(data)
    if kind is None:
        raise SpecError(f"{source}: missing: a graph table, one of " + ", ".join(f"[{k}]" for k in BUILDERS))
    exam = data.pop("exam", None)
    training = training_from_data(data, source)
    spec = BUILDERS[kind](data, source)
    if training is not None:
        if not any(leaf.kind == "parameter" for leaf in spec.leaves):
            raise SpecError(f"{source}: optimizer: the graph has no parameters to train (name some under parameters)")
        spec = dataclasses.replace(spec, training=training)
    return spec if exam is None else dataclasses.replace(spec, exam=settings_from_table(exam, source, graph=True))


def load_any(path: str | Path | None) -> Spec | GraphSpec:
    """A spec of any kind, its file read once (a pipe too): a graph kind's table gives its `GraphSpec`,
    anything else is read as a network spec (the built-in lecture network when ``path`` is None)."""
    if path is None:
        return load_spec(None)
    text = read_spec_text(path)
    try:
        data = parse_toml(text, parse_float=DecimalText)
    except TomlProblem:
        data = {}  # the network reader says what is malformed
    if graph_kind(data) is not None:
        return _built(data, str(path))
    return loads_spec(text, source=str(path), base=Path(path).parent)


def load_graph(path: str | Path) -> GraphSpec:
    return loads_graph(read_spec_text(path), source=str(path))


__all__ = ["BUILDERS", "graph_kind", "load_any", "load_graph", "loads_graph"]
