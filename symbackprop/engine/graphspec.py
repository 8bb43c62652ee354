"""Load and validate a computation-graph spec (a TOML ``[graph]`` table) into frozen dataclasses.

Every node's formula is read by the whitelist reader (`graphexpr`), never evaluated; every
number is an exact Rational from its decimal text; every problem is one ``SpecError`` line
naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy import Expr, Symbol

from ..hints import quoted
from .examtable import ExamSettings, graph_exam_settings
from .fields import Fields
from .graphexpr import FUNCTIONS, FormulaError, read_formula
from .optimizer import Training
from .spec import MAX_DECIMALS

MAX_LEAVES = 24
MAX_NODES = 40
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")


@dataclass(frozen=True)
class Leaf:
    """An input or a parameter: a named number the output depends on."""

    name: str
    kind: str  # "input" or "parameter"; a builder may say more ([rnn]: "state" for h0, "target")
    value: sympy.Rational
    symbol: Symbol


@dataclass(frozen=True)
class Node:
    """A named gate: its formula as written and as a SymPy expression over earlier names."""

    name: str
    text: str
    definition: Expr
    symbol: Symbol


@dataclass(frozen=True)
class GraphSpec:
    title: str
    leaves: tuple[Leaf, ...]
    nodes: tuple[Node, ...]
    output: str
    decimals: int = 2
    source: str = ""
    lang: str | None = None
    #: which spec table built it: ``graph`` (written node by node), or a builder's kind (see `kinds`)
    kind: str = "graph"
    #: a builder's own circuit placement, name -> (column, row); empty: the circuit lays itself out
    place: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    #: the document's ``[exam]`` table, whichever kind's table built the graph (see `kinds`)
    exam: ExamSettings = field(default_factory=graph_exam_settings)
    #: the document's ``learning_rate``, ``steps`` and ``[optimizer]`` (None: no training step)
    training: Training | None = None

    @property
    def output_node(self) -> Node:
        return next(n for n in self.nodes if n.name == self.output)


def graph_from_table(data: dict[str, Any], source: str) -> GraphSpec:
    """The spec of a parsed TOML document with a ``[graph]`` table (`kinds` picks the table)."""
    return _GraphReader(source).spec(data)


class _GraphReader(Fields):
    def spec(self, data: dict[str, Any]) -> GraphSpec:
        self.known(data, ["graph", "templates"])
        g = self.table(data, "graph", "graph")
        self.known(g, ["title", "decimals", "output", "inputs", "parameters", "nodes"], "graph")
        title = self.free_text(g.get("title", "Computation graph"), "graph.title")
        decimals = self.integer(g.get("decimals", 2), "graph.decimals", 0, MAX_DECIMALS)
        leaves: list[Leaf] = []
        names: dict[str, Symbol] = {}
        for kind in ("input", "parameter"):
            for name, raw in self.table(g, kind + "s", f"graph.{kind}s").items():
                where = f"graph.{kind}s.{name}"
                self._name(name, where, names)
                names[name] = Symbol(name, real=True)
                leaves.append(Leaf(name, kind, self.number(raw, where), names[name]))
        if not leaves:
            raise self.fail("graph.inputs", "missing: name at least one input, e.g. inputs = { x = 1 }")
        if len(leaves) > MAX_LEAVES:
            raise self.fail("graph.inputs", f"at most {MAX_LEAVES} inputs and parameters")
        raw_nodes = self.table(g, "nodes", "graph.nodes")
        if not raw_nodes:
            raise self.fail("graph.nodes", 'missing: at least one node, e.g. nodes = { f = "x * y" }')
        if len(raw_nodes) > MAX_NODES:
            raise self.fail("graph.nodes", f"at most {MAX_NODES} nodes")
        nodes = [self._node(name, text, names) for name, text in raw_nodes.items()]
        output = self.text(g.get("output", nodes[-1].name), "graph.output", tuple(n.name for n in nodes))
        self._all_used(leaves, nodes, output)
        templates = self.table(data, "templates", "templates")
        self.known(templates, ["lang"], "templates")
        lang = self.text(templates["lang"], "templates.lang") if "lang" in templates else None
        return GraphSpec(title, tuple(leaves), tuple(nodes), output, decimals, self.source, lang)

    def _name(self, name: str, where: str, names: dict[str, Symbol]) -> None:
        if not _NAME.fullmatch(name):
            raise self.fail(where, "a name is a letter, then up to 15 letters, digits or _")
        if name in names or name in FUNCTIONS or name in ("e", "pi"):
            raise self.fail(where, f"the name {quoted(name)} is taken")

    def _node(self, name: str, text: Any, names: dict[str, Symbol]) -> Node:
        where = f"graph.nodes.{name}"
        self._name(name, where, names)
        formula = self.text(text, where)
        try:
            definition = read_formula(formula, names)
        except FormulaError as err:
            raise self.fail(where, str(err)) from None
        names[name] = Symbol(name, real=True)
        return Node(name, formula, definition, names[name])

    def _all_used(self, leaves: list[Leaf], nodes: list[Node], output: str) -> None:
        """Everything named feeds the output: a dangling node or leaf is a typo, said as such."""
        needed = {output}
        for node in reversed(nodes):
            if node.name in needed:
                needed |= {s.name for s in node.definition.free_symbols}
        items: list[Leaf | Node] = [*leaves, *nodes]
        for item in items:
            if item.name not in needed:
                kind = "nodes" if isinstance(item, Node) else item.kind + "s"
                raise self.fail(f"graph.{kind}.{item.name}", f"does not feed the output {quoted(output)}")


__all__ = ["GraphSpec", "Leaf", "Node", "graph_from_table"]
