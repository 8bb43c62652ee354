"""Build a 1-D convolution spec (a TOML ``[conv1d]`` table) into the `GraphSpec` the graph engine solves.

A kernel ``w`` slides over the input ``x`` (stride, zero padding), then an activation, optional max or
average pooling, a dense output ``y`` and the loss ``E``.  Each kernel weight is ONE parameter leaf
used at every position, so the graph engine's sum over uses is the kernel gradient's sum over
positions; a padded zero is a constant (it drops out of the formula), not a leaf.  `conv_layout`
reads the windows and pools back from the names this module gives (x1.., w1.., z1.., a1.., p1..).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy
from sympy import Expr, Symbol

from . import activations as act
from .fields import Fields
from .graphspec import GraphSpec, Leaf, Node
from .spec import MAX_DECIMALS

MAX_INPUTS = 8
MAX_KERNEL = 4
MAX_STRIDE = 3
MAX_POOL = 4
ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid")
POOLINGS = ("none", "max", "avg")
LOSSES = ("half_sse", "mse")
_FIELDS = ("title", "decimals", "x", "w", "b", "stride", "padding", "activation", "pooling", "pool_size",
           "pool_stride", "v", "c", "target", "loss")


@dataclass(frozen=True)
class ConvLayout:
    """What reads what: per conv output the input index (0-based) under each kernel weight, None on a
    padded zero; per pooled value the conv outputs in its window."""

    windows: tuple[tuple[int | None, ...], ...]
    pools: tuple[tuple[int, ...], ...]
    stride: int
    padding: int
    activation: str
    pooling: str  # "none", "max", "avg"
    loss: str


def _symbol(name: str) -> Symbol:
    return Symbol(name, real=True)


def _product(weight: str, value: str) -> Expr:
    """``w1*x2`` kept in that order (the lecture's: weight, then what it multiplies)."""
    return sympy.Mul(_symbol(weight), _symbol(value), evaluate=False)


def conv1d_from_table(data: dict[str, Any], source: str) -> GraphSpec:
    """The graph of a parsed TOML document with a ``[conv1d]`` table (`kinds` picks the table)."""
    return _ConvReader(source).spec(data)


class _ConvReader(Fields):
    def spec(self, data: dict[str, Any]) -> GraphSpec:
        self.known(data, ["conv1d", "templates"])
        t = self.table(data, "conv1d", "conv1d")
        self.known(t, _FIELDS, "conv1d")
        for required in ("x", "w", "v", "target"):
            if required not in t:
                raise self.fail(f"conv1d.{required}", "missing (see examples/conv1d.toml)")
        title = self.free_text(t.get("title", "A 1-D convolution"), "conv1d.title")
        decimals = self.integer(t.get("decimals", 2), "conv1d.decimals", 0, MAX_DECIMALS)
        x = self._numbers(t["x"], "conv1d.x", MAX_INPUTS)
        w = self._numbers(t["w"], "conv1d.w", MAX_KERNEL)
        padding = self.integer(t.get("padding", 0), "conv1d.padding", 0, len(w) - 1)
        if len(w) > len(x) + 2 * padding:
            raise self.fail("conv1d.w", f"a kernel of {len(w)} is longer than the padded input "
                                        f"({len(x)} + 2*{padding} = {len(x) + 2 * padding})")
        stride = self.integer(t.get("stride", 1), "conv1d.stride", 1, MAX_STRIDE)
        windows = self._windows(len(x), len(w), stride, padding)
        activation = self.text(t.get("activation", "identity"), "conv1d.activation", ACTIVATIONS)
        pooling = self.text(t.get("pooling", "none"), "conv1d.pooling", POOLINGS)
        pools = self._pools(t, pooling, len(windows))
        layout = ConvLayout(windows, pools, stride, padding, activation, pooling,
                            self.text(t.get("loss", "half_sse"), "conv1d.loss", LOSSES))
        v = self._numbers(t["v"], "conv1d.v", len(pools))
        if len(v) != len(pools):
            what = f"{len(pools)} pooled value(s)" if pooling != "none" else f"{len(pools)} conv output(s)"
            raise self.fail("conv1d.v", f"needs {len(pools)} weight(s), one per value the dense output reads "
                                        f"({what}), got {len(v)}")
        numbers = {"b": self.number(t.get("b", 0), "conv1d.b"), "c": self.number(t.get("c", 0), "conv1d.c"),
                   "t": self.number(t["target"], "conv1d.target")}
        named = ([(f"x{j + 1}", "input", value) for j, value in enumerate(x)]
                 + [(f"w{m + 1}", "parameter", value) for m, value in enumerate(w)] + [("b", "parameter", numbers["b"])]
                 + [(f"v{j + 1}", "parameter", value) for j, value in enumerate(v)]
                 + [("c", "parameter", numbers["c"]), ("t", "target", numbers["t"])])
        leaves = [Leaf(name, kind, value, _symbol(name)) for name, kind, value in named]
        nodes = _nodes(layout)
        templates = self.table(data, "templates", "templates")
        self.known(templates, ["lang"], "templates")
        lang = self.text(templates["lang"], "templates.lang") if "lang" in templates else None
        return GraphSpec(title, tuple(leaves), tuple(nodes), "E", decimals, self.source, lang, kind="conv1d",
                         place=_place(layout, len(x)))

    def _numbers(self, value: Any, fieldname: str, most: int) -> list[sympy.Rational]:
        if not isinstance(value, list) or not 1 <= len(value) <= most:
            raise self.fail(fieldname, f"must be a list of 1 to {most} numbers, like [1, -0.5]")
        return [self.number(item, f"{fieldname}[{i}]") for i, item in enumerate(value)]

    def _windows(self, n: int, k: int, stride: int, padding: int) -> tuple[tuple[int | None, ...], ...]:
        """Per conv output, the input under each kernel weight; every input must lie in some window."""
        count = (n + 2 * padding - k) // stride + 1
        windows = tuple(tuple(j if 0 <= (j := i * stride + m - padding) < n else None for m in range(k))
                        for i in range(count))
        seen = {j for window in windows for j in window if j is not None}
        if len(seen) < n:
            missed = min(set(range(n)) - seen)
            raise self.fail("conv1d.stride", f"x{missed + 1} lies in no window (kernel {k}, stride {stride}, "
                                              f"padding {padding}): every input must be read")
        return windows

    def _pools(self, t: dict[str, Any], pooling: str, count: int) -> tuple[tuple[int, ...], ...]:
        if pooling == "none":
            for key in ("pool_size", "pool_stride"):
                if key in t:
                    raise self.fail(f"conv1d.{key}", 'only with pooling = "max" or "avg"')
            return tuple((i,) for i in range(count))
        if count < 2:
            raise self.fail("conv1d.pooling", "one conv output: nothing to pool")
        size = self.integer(t.get("pool_size", 2), "conv1d.pool_size", 2, min(MAX_POOL, count))
        stride = self.integer(t.get("pool_stride", size), "conv1d.pool_stride", 1, MAX_POOL)
        pools = tuple(tuple(range(j * stride, j * stride + size)) for j in range((count - size) // stride + 1))
        if pools[-1][-1] < count - 1 or stride > size:
            raise self.fail("conv1d.pool_stride", f"windows of {size} with stride {stride} leave a conv output "
                                                  f"of the {count} in no window: every one must be pooled")
        return pools


def _nodes(layout: ConvLayout) -> list[Node]:
    """z_i (the kernel at position i, plus b), a_i, p_j, the dense y and the loss E, in that order."""
    nodes: list[Node] = []

    def add(name: str, text: str, definition: Expr) -> None:
        nodes.append(Node(name, text, definition, _symbol(name)))

    for i, window in enumerate(layout.windows):
        terms = [(f"w{m + 1}", f"x{j + 1}") for m, j in enumerate(window) if j is not None]
        add(f"z{i + 1}", " + ".join([f"{w}*{x}" for w, x in terms] + ["b"]),
            sympy.Add(*[_product(w, x) for w, x in terms], _symbol("b"), evaluate=False))
    stem = "z"
    if layout.activation != "identity":
        function = act.activation(layout.activation).apply
        for i in range(len(layout.windows)):
            add(f"a{i + 1}", f"{layout.activation}(z{i + 1})", function(_symbol(f"z{i + 1}")))
        stem = "a"
    if layout.pooling != "none":
        for j, pool in enumerate(layout.pools):
            names = [f"{stem}{i + 1}" for i in pool]
            if layout.pooling == "max":
                add(f"p{j + 1}", f"max({', '.join(names)})", sympy.Max(*map(_symbol, names)))
            else:
                add(f"p{j + 1}", f"({' + '.join(names)})/{len(names)}",
                    sympy.Mul(sympy.Rational(1, len(names)), sympy.Add(*map(_symbol, names), evaluate=False),
                              evaluate=False))
        stem = "p"
    reads = [f"{stem}{j + 1}" for j in range(len(layout.pools))]
    add("y", " + ".join([f"v{j + 1}*{r}" for j, r in enumerate(reads)] + ["c"]),
        sympy.Add(*[_product(f"v{j + 1}", r) for j, r in enumerate(reads)], _symbol("c"), evaluate=False))
    error = sympy.Pow(sympy.Add(_symbol("y"), -_symbol("t"), evaluate=False), 2)
    if layout.loss == "half_sse":
        add("E", "(y - t)**2/2", sympy.Mul(sympy.Rational(1, 2), error, evaluate=False))
    else:
        add("E", "(y - t)**2", error)
    return nodes


def _place(layout: ConvLayout, n: int) -> dict[str, tuple[int, float]]:
    """Columns: the inputs, (a gap for the fanned wires), the conv outputs, activations, pooled values, y
    and E; rows: each value centred on what it reads.  The kernel, b, v and c are not drawn (they enter
    every gate of their column; their gradients are the sums over positions)."""
    place: dict[str, tuple[int, float]] = {f"x{j + 1}": (0, float(j)) for j in range(n)}
    k = len(layout.windows[0])
    column = 1 if k == 1 else 2 if k <= 3 else 3  # room for the labels of k fanned wires
    rows = [i * layout.stride - layout.padding + (len(w) - 1) / 2 for i, w in enumerate(layout.windows)]
    place.update({f"z{i + 1}": (column, row) for i, row in enumerate(rows)})
    if layout.activation != "identity":
        column += 1
        place.update({f"a{i + 1}": (column, row) for i, row in enumerate(rows)})
    if layout.pooling != "none":
        column += 1
        rows = [sum(rows[i] for i in pool) / len(pool) for pool in layout.pools]
        place.update({f"p{j + 1}": (column, row) for j, row in enumerate(rows)})
    middle, span = (min(rows) + max(rows)) / 2, max(rows) - min(rows)
    column += 1 if span <= 4 else 2 if span <= 7 else 3  # y further off the taller its fan-in, its wires less steep
    place.update({"y": (column, middle), "t": (column, middle + 1), "E": (column + 1, middle)})
    return place


def conv_layout(spec: GraphSpec) -> ConvLayout:
    """The windows and pools of a spec this module built, read back from its nodes' definitions."""
    nodes = {node.name: node for node in spec.nodes}
    kernel = [leaf.symbol for leaf in spec.leaves if leaf.name[0] == "w"]
    inputs = [leaf.symbol for leaf in spec.leaves if leaf.name[0] == "x"]
    windows = []
    for i in range(1, 1 + sum(1 for name in nodes if name[0] == "z")):
        definition = nodes[f"z{i}"].definition
        windows.append(tuple(next((j for j, x in enumerate(inputs) if sympy.diff(definition, w) == x), None)
                             for w in kernel))
    pools = [tuple(sorted(int(s.name[1:]) - 1 for s in nodes[f"p{j}"].definition.free_symbols))
             for j in range(1, 1 + sum(1 for name in nodes if name[0] == "p"))]
    first_pool = nodes.get("p1")
    pooling = "none" if first_pool is None else "max" if isinstance(first_pool.definition, sympy.Max) else "avg"
    activation = "identity" if "a1" not in nodes else nodes["a1"].text.split("(")[0]
    offsets = [next(j - m for m, j in enumerate(window) if j is not None) for window in windows]  # i*stride - padding
    stride = offsets[1] - offsets[0] if len(offsets) > 1 else 1
    return ConvLayout(tuple(windows), tuple(pools) or tuple((i,) for i in range(len(windows))), stride, -offsets[0],
                      activation, pooling, "half_sse" if isinstance(nodes["E"].definition, sympy.Mul) else "mse")


__all__ = ["ACTIVATIONS", "LOSSES", "POOLINGS", "ConvLayout", "conv1d_from_table", "conv_layout"]
