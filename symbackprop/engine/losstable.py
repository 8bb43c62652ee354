"""The lecture's output/loss table, derived by SymPy once at build time and shipped as data.

The handout's "pick an output/loss pair" note shows, for each pair, the loss over two outputs and
the closed-form output delta the derivation finds.  Deriving it takes a good part of a handout's
run, so ``python -m symbackprop.engine.losstable`` derives it once and writes ``data/loss_table.json``;
a test derives it afresh and checks the shipped file equals it, so the two cannot drift.

The file holds names and expression trees (``["Add", ...]``), never LaTeX: what is read back is
rebuilt from a short list of SymPy classes and checked against the names a network of that shape
has, and only the project's printer turns it into LaTeX.
"""

from __future__ import annotations

import importlib.resources
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sympy

from .derive import derive
from .generate import new_spec
from .naming import Namer, Notation
from .spec import loads_spec

__all__ = ["PAIRS", "LossPair", "derive_table", "dumps_table", "loss_pairs", "table_names"]

#: (output activation, loss, title) of every row, in the handout's order
PAIRS = (("sigmoid", "half_sse", "Sigmoid + half squared error"),
         ("sigmoid", "bce", "Sigmoid + binary cross-entropy (multi-label)"),
         ("softmax", "cross_entropy", "Softmax + cross-entropy (mutually exclusive)"),
         ("identity", "half_sse", "Identity + half squared error (unbounded regression)"))

#: the shape every row is derived on: one input, two outputs, no hidden layer
SHAPE = (1, [2])
FILE = "loss_table.json"


@dataclass(frozen=True)
class LossPair:
    """One row: the loss over the outputs and the output delta (``dE/dz_o1``) in closed form."""

    output: str
    loss: str
    title: str
    loss_expr: sympy.Expr
    delta: str
    delta_expr: sympy.Expr
    condition: sympy.Eq | None


def table_names() -> dict[str, str]:
    """ASCII name -> LaTeX of every quantity the table may name (the shape's namer, not the file, says)."""
    namer = Namer(SHAPE[0], SHAPE[1], False, Notation())
    outputs = range(1, SHAPE[1][-1] + 1)
    names = [namer.loss(), *(namer.input(k) for k in range(1, SHAPE[0] + 1))]
    names += [f(j) for j in outputs for f in (namer.target, lambda j: namer.act(1, j), lambda j: namer.pre(1, j))]
    names += [namer.grad(namer.pre(1, j)) for j in outputs]
    return {n.ascii: n.latex for n in names}


def _deltas() -> dict[str, str]:
    """A pre-activation's ASCII name -> its delta's (``z_o1`` -> ``dE/dz_o1``) in the table's shape."""
    namer = Namer(SHAPE[0], SHAPE[1], False, Notation())
    return {z.ascii: namer.grad(z).ascii for z in (namer.pre(1, j) for j in range(1, SHAPE[1][-1] + 1))}


# -- expression trees: SymPy <-> JSON, a fixed set of node kinds -----------------------------------

_FUNCTIONS: dict[str, Any] = {"log": sympy.log, "exp": sympy.exp}
_OPERATORS: dict[str, Any] = {"Add": sympy.Add, "Mul": sympy.Mul, "Pow": sympy.Pow, "Eq": sympy.Eq}
_MAX_NODES = 500
_MAX_DEPTH = 40


def to_tree(expr: sympy.Basic) -> Any:
    """A SymPy expression as nested JSON lists, its exact structure (argument order) kept."""
    if isinstance(expr, sympy.Symbol):
        return ["Symbol", expr.name]
    if isinstance(expr, sympy.Integer):
        return ["Integer", int(expr)]
    if isinstance(expr, sympy.Rational):
        return ["Rational", int(expr.p), int(expr.q)]
    head = "Eq" if isinstance(expr, sympy.Eq) else type(expr).__name__
    if head in _OPERATORS or head in _FUNCTIONS:
        return [head, *(to_tree(a) for a in expr.args)]
    raise ValueError(f"loss table: no tree form for {head}")


def from_tree(tree: Any, names: dict[str, str], budget: list[int] | None = None, depth: int = 0) -> Any:
    """Rebuild :func:`to_tree`'s output unevaluated; ValueError on anything else (unknown node or name,
    more than :data:`_MAX_NODES` nodes or :data:`_MAX_DEPTH` levels)."""
    budget = budget if budget is not None else [_MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise ValueError("loss table: expression too large")
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise ValueError("loss table: not an expression tree")
    head, args = tree[0], tree[1:]
    if head == "Symbol" and len(args) == 1 and isinstance(args[0], str) and args[0] in names:
        return sympy.Symbol(args[0], real=True)
    if head == "Integer" and len(args) == 1 and _small_int(args[0]):
        return sympy.Integer(args[0])
    if head == "Rational" and len(args) == 2 and all(map(_small_int, args)) and args[1] > 1:
        return sympy.Rational(args[0], args[1])
    parts = [from_tree(a, names, budget, depth + 1) for a in args]
    if head in _FUNCTIONS and len(parts) == 1:
        return _FUNCTIONS[head](parts[0], evaluate=False)
    if head in ("Add", "Mul") and len(parts) >= 2 or head in ("Pow", "Eq") and len(parts) == 2:
        return _OPERATORS[head](*parts, evaluate=False)
    raise ValueError(f"loss table: bad {head!r} node")


def _small_int(value: Any) -> bool:
    return type(value) is int and abs(value) < 10**6


# -- derive (build and test time) and load (run time) ---------------------------------------------

def derive_table() -> list[dict[str, Any]]:
    """Every row derived afresh by the core, as the JSON-ready records the shipped file holds."""
    rows = []
    for output, loss, _ in PAIRS:
        layers = [SHAPE[0], *SHAPE[1]]
        spec = loads_spec(new_spec(layers, activation="sigmoid", loss=loss, output=output), source=f"{output}+{loss}")
        network = derive(spec, prove=False).network
        of = network.unit_name("pre", 1, 1, 1)
        delta = network[network.grad(of)]
        definition = network[network.loss_name].definition
        assert delta.explicit is not None and definition is not None
        rows.append({"output": output, "loss": loss, "loss_expr": to_tree(definition), "delta_of": of,
                     "delta_expr": to_tree(delta.explicit),
                     "condition": None if delta.condition is None else to_tree(delta.condition)})
    return rows


def dumps_table(rows: list[dict[str, Any]]) -> str:
    """The file's exact text (one row a line: same rows, same bytes)."""
    lines = [json.dumps(row, sort_keys=True, separators=(",", ":")) for row in rows]
    return "[\n" + ",\n".join(lines) + "\n]\n"


@cache
def loss_pairs() -> tuple[LossPair, ...]:
    """The shipped table, checked row by row against :data:`PAIRS` and rebuilt as SymPy expressions."""
    text = importlib.resources.files("symbackprop.data").joinpath(FILE).read_text(encoding="utf-8")
    return parse_table(json.loads(text))


def parse_table(rows: Any) -> tuple[LossPair, ...]:
    """Records as :func:`derive_table` writes them -> rows; ValueError when they are anything else."""
    names, deltas = table_names(), _deltas()
    keys = {"output", "loss", "loss_expr", "delta_of", "delta_expr", "condition"}
    if not isinstance(rows, list) or len(rows) != len(PAIRS):
        raise ValueError(f"loss table: expected {len(PAIRS)} rows")
    pairs = []
    for row, (output, loss, title) in zip(rows, PAIRS, strict=True):
        if not isinstance(row, dict) or set(row) != keys or (row["output"], row["loss"]) != (output, loss):
            raise ValueError(f"loss table: the row of {output} + {loss} is missing or malformed")
        delta = deltas.get(row["delta_of"]) if isinstance(row["delta_of"], str) else None
        if delta is None:
            raise ValueError(f"loss table: unknown name {row['delta_of']!r}")
        condition = None if row["condition"] is None else from_tree(row["condition"], names)
        if condition is not None and not isinstance(condition, sympy.Eq):
            raise ValueError("loss table: a condition must be an equation")
        pairs.append(LossPair(output, loss, title, from_tree(row["loss_expr"], names), delta,
                              from_tree(row["delta_expr"], names), condition))
    return tuple(pairs)


def main(argv: list[str] | None = None) -> int:
    """``python -m symbackprop.engine.losstable [--check]``: write (or check) ``data/loss_table.json``."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(__file__).resolve().parent.parent / "data" / FILE
    text = dumps_table(derive_table())
    if args == ["--check"]:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'up to date' if same else 'OUT OF DATE: run python -m symbackprop.engine.losstable'}")
        return 0 if same else 1
    if args:
        print("usage: python -m symbackprop.engine.losstable [--check]", file=sys.stderr)
        return 2
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
