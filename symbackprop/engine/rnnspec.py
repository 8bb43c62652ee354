"""Read an ``[rnn]`` table (a recurrent network unrolled through time) into the `GraphSpec` of its unrolled graph.

Each time step gets its own nodes (``a1``, ``h1``, ``y1``, ...) while every weight and bias is ONE leaf
used by all steps, so the graph engine's sum over uses is backpropagation through time: a shared
weight's gradient is the sum of its shares over the time steps.  Node formulas are written as text and
read by the project's own formula reader (`graphexpr`), so text and definition always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy
from sympy import Symbol

from .fields import Fields
from .graphexpr import read_formula
from .graphspec import GraphSpec, Leaf, Node
from .spec import MAX_DECIMALS

MAX_STEPS = 5
MAX_HIDDEN = 2
MAX_INPUT = 3
ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
OUTPUTS = ("last", "every")
LOSSES = ("half_sse", "mse")
PARAMETERS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
#: shape of each parameter as (rows, columns) given hidden size H and input size D
SHAPES = {"W_xh": lambda h, d: (h, d), "W_hh": lambda h, d: (h, h), "b_h": lambda h, d: (h, 1),
           "W_hy": lambda h, d: (1, h), "b_y": lambda h, d: (1, 1)}


def entry_name(base: str, rows: int, cols: int, i: int, j: int) -> str:
    """An entry's leaf name: one index per dimension larger than 1 (``W_hh``, ``W_hy_2``, ``W_xh_21``)."""
    index = (str(i + 1) if rows > 1 else "") + (str(j + 1) if cols > 1 else "")
    return f"{base}_{index}" if index else base


def step_name(base: str, t: int, j: int, size: int) -> str:
    """A per-step name: ``h2`` (one unit), ``h2_1`` (unit 1 of 2)."""
    return f"{base}{t}_{j + 1}" if size > 1 else f"{base}{t}"


@dataclass(frozen=True)
class RnnLayout:
    """The sizes and choices of an unrolled RNN, read back from its GraphSpec (the handout's formulas)."""

    steps: int
    hidden: int
    size: int
    activation: str
    loss: str
    outputs: tuple[int, ...]  # the time steps with an output y_t
    exact: frozenset[str]  # names of spec data (inputs, initial state, targets, weights)


def rnn_layout(spec: GraphSpec) -> RnnLayout:
    """The layout of a GraphSpec built by `rnn_from_table` (names as `step_name` and `entry_name` give them)."""
    kinds = [leaf.kind for leaf in spec.leaves]
    hidden = kinds.count("state")
    steps = max(int(n.name[1:].split("_")[0]) for n in spec.nodes if n.name[0] == "h")
    size = kinds.count("input") // steps
    first = next(n for n in spec.nodes if n.name == step_name("h", 1, 0, hidden))
    activation = "identity" if first.definition.is_Add else type(first.definition).__name__
    activation = {"sigma": "sigmoid"}.get(activation, activation)
    outputs = tuple(int(n.name[1:]) for n in spec.nodes if n.name[0] == "y")
    loss = next(n.definition for n in spec.nodes if n.name in ("E", "E1"))  # the (first step's) loss
    half = isinstance(loss, sympy.Mul) and sympy.Rational(1, 2) in loss.args
    return RnnLayout(steps, hidden, size, activation, "half_sse" if half else "mse", outputs,
                     frozenset(leaf.name for leaf in spec.leaves))


def time_step(name: str) -> int | None:
    """The time step of a per-step node (``a3``, ``h2_1``, ``y4``, ``E5``): its first number; None for others."""
    match = re.fullmatch(r"[ahyE](\d+)(?:_\d+)?", name)
    return int(match.group(1)) if match else None


def rnn_from_table(data: dict[str, Any], source: str) -> GraphSpec:
    """The unrolled graph of a parsed TOML document with an ``[rnn]`` table (`kinds` picks the table)."""
    return _RnnReader(source).spec(data)


class _RnnReader(Fields):
    def spec(self, data: dict[str, Any]) -> GraphSpec:
        self.known(data, ["rnn", "templates"])
        r = self.table(data, "rnn", "rnn")
        self.known(r, ["title", "decimals", "hidden", "activation", "output", "loss", "inputs", "targets", "h0",
                       "parameters"], "rnn")
        title = self.free_text(r.get("title", "Recurrent network unrolled through time"), "rnn.title")
        decimals = self.integer(r.get("decimals", 3), "rnn.decimals", 0, MAX_DECIMALS)
        hidden = self.integer(r.get("hidden", 1), "rnn.hidden", 1, MAX_HIDDEN)
        activation = self.text(r.get("activation", "tanh"), "rnn.activation", ACTIVATIONS)
        output = self.text(r.get("output", "last"), "rnn.output", OUTPUTS)
        loss = self.text(r.get("loss", "half_sse"), "rnn.loss", LOSSES)
        xs = self._inputs(r.get("inputs"))
        steps, size = len(xs), len(xs[0])
        if "targets" not in r:
            raise self.fail("rnn.targets", "missing: the target of the output"
                            + (" at every step, e.g. targets = [0.5, 0.2]" if output == "every"
                               else " at the last step, e.g. targets = 0.5"))
        targets = self._targets(r["targets"], steps if output == "every" else 1, output)
        raw_h0 = r.get("h0", 0)
        if hidden > 1 and not isinstance(raw_h0, list):  # one number: every unit starts there (0 by default)
            raw_h0 = [raw_h0] * hidden
        h0 = self._array(raw_h0, "rnn.h0", hidden, 1, "the initial hidden state")
        raw = self.table(r, "parameters", "rnn.parameters")
        self.known(raw, PARAMETERS, "rnn.parameters")
        params = {}
        for name in PARAMETERS:
            if name not in raw:
                raise self.fail(f"rnn.parameters.{name}", "missing: every one of " + ", ".join(PARAMETERS)
                                + " is needed")
            rows, cols = SHAPES[name](hidden, size)
            params[name] = self._array(raw[name], f"rnn.parameters.{name}", rows, cols, name)
        templates = self.table(data, "templates", "templates")
        self.known(templates, ["lang"], "templates")
        lang = self.text(templates["lang"], "templates.lang") if "lang" in templates else None
        unrolled = _Unroller(hidden, size, steps, activation, output, loss)
        return unrolled.spec(title, decimals, self.source, lang, xs, targets, h0, params)

    def _inputs(self, value: Any) -> list[list[sympy.Rational]]:
        where = "rnn.inputs"
        example = "e.g. inputs = [1, -0.5, 0.25] (one number per time step) or [[1, 0], [0.5, 2]] (vectors)"
        if value is None:
            raise self.fail(where, f"missing: the input sequence x1..xT, {example}")
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"must be a list of 1 to {MAX_STEPS} time steps, {example}")
        if len(value) > MAX_STEPS:
            raise self.fail(where, f"at most {MAX_STEPS} time steps (a worksheet's size), got {len(value)}")
        steps = [v if isinstance(v, list) else [v] for v in value]
        size = len(steps[0])
        if not 1 <= size <= MAX_INPUT or any(len(s) != size for s in steps):
            raise self.fail(where, f"every time step must have the same number of inputs, 1 to {MAX_INPUT}, {example}")
        return [[self.number(v, f"{where}[{t + 1}]") for v in s] for t, s in enumerate(steps)]

    def _targets(self, value: Any, count: int, output: str) -> list[sympy.Rational]:
        where = "rnn.targets"
        items = value if isinstance(value, list) else [value]
        if len(items) != count:
            said = f"one per time step ({count})" if output == "every" else "one, for the last step"
            raise self.fail(where, f"needs {said}, got {len(items)}")
        return [self.number(v, f"{where}[{k + 1}]" if isinstance(value, list) else where) for k, v in enumerate(items)]

    def _array(self, value: Any, where: str, rows: int, cols: int, what: str) -> list[list[sympy.Rational]]:
        """A rows x cols matrix: a number for 1 x 1, a flat list for a vector, else a list of rows."""
        if rows == cols == 1:
            if isinstance(value, list):
                raise self.fail(where, f"{what} is one number here (1 x 1), got a list of {len(value)}")
            return [[self.number(value, where)]]
        if min(rows, cols) == 1:
            if not isinstance(value, list) or len(value) != rows * cols or any(isinstance(v, list) for v in value):
                example = "[" + ", ".join(["0.5"] * (rows * cols)) + "]"
                raise self.fail(where, f"{what} needs a list of {rows * cols} numbers, e.g. {example}")
            flat = [self.number(v, f"{where}[{k + 1}]") for k, v in enumerate(value)]
            return [flat[i * cols:(i + 1) * cols] for i in range(rows)]
        if (not isinstance(value, list) or len(value) != rows
                or not all(isinstance(row, list) and len(row) == cols for row in value)):
            example = "[" + ", ".join("[" + ", ".join(["0.5"] * cols) + "]" for _ in range(rows)) + "]"
            raise self.fail(where, f"{what} must be {rows} x {cols} (rows x columns), e.g. {example}")
        return [[self.number(v, f"{where}[{i + 1}][{j + 1}]") for j, v in enumerate(row)]
                for i, row in enumerate(value)]


class _Unroller:
    """Names, formulas and the drawing's placement of one unrolled network (sizes only; values come later)."""

    def __init__(self, hidden: int, size: int, steps: int, activation: str, output: str, loss: str):
        self.hidden, self.size, self.steps = hidden, size, steps
        self.activation, self.output, self.loss = activation, output, loss
        self.names: dict[str, Symbol] = {}
        self.leaves: list[Leaf] = []
        self.nodes: list[Node] = []
        self.place: dict[str, tuple[int, float]] = {}
        #: columns per time step: a_t and h_t, or h_t alone when the activation is the identity
        self.width = 1 if activation == "identity" else 2

    def leaf(self, name: str, kind: str, value: sympy.Rational) -> str:
        self.names[name] = Symbol(name, real=True)
        self.leaves.append(Leaf(name, kind, value, self.names[name]))
        return name

    def node(self, name: str, text: str) -> str:
        definition = read_formula(text, self.names)
        self.names[name] = Symbol(name, real=True)
        self.nodes.append(Node(name, text, definition, self.names[name]))
        return name

    def row(self, j: int) -> float:
        """Hidden unit j's row in the drawing (units 2 rows apart)."""
        return 2.0 * j

    def spec(self, title: str, decimals: int, source: str, lang: str | None, xs: list[list[sympy.Rational]],
             targets: list[sympy.Rational], h0: list[list[sympy.Rational]],
             params: dict[str, list[list[sympy.Rational]]]) -> GraphSpec:
        H, D, T = self.hidden, self.size, self.steps  # noqa: N806  (the sizes' usual letters)
        x = [[self.leaf(step_name("x", t + 1, i, D), "input", xs[t][i]) for i in range(D)] for t in range(T)]
        h = [[self.leaf(step_name("h", 0, j, H), "state", h0[j][0]) for j in range(H)]]
        w = {}
        for base in PARAMETERS:
            values = params[base]
            rows, cols = len(values), len(values[0])
            w[base] = [[self.leaf(entry_name(base, rows, cols, i, j), "parameter", values[i][j])
                        for j in range(cols)] for i in range(rows)]
        steps_out = range(1, T + 1) if self.output == "every" else [T]
        tgt = {t: self.leaf(f"t{t}", "target", value) for t, value in zip(steps_out, targets, strict=True)}
        ys = {}
        for t in range(1, T + 1):
            h.append([])
            for j in range(H):
                affine = " + ".join([f"{w['W_xh'][j][i]} * {x[t - 1][i]}" for i in range(D)]
                                    + [f"{w['W_hh'][j][k]} * {h[t - 1][k]}" for k in range(H)] + [w["b_h"][j][0]])
                if self.activation == "identity":
                    h[t].append(self.node(step_name("h", t, j, H), affine))
                else:
                    a = self.node(step_name("a", t, j, H), affine)
                    h[t].append(self.node(step_name("h", t, j, H), f"{self.activation}({a})"))
            if t in tgt:
                terms = [f"{w['W_hy'][0][j]} * {h[t][j]}" for j in range(H)] + [w["b_y"][0][0]]
                ys[t] = self.node(f"y{t}", " + ".join(terms))
        scale = "1/2" if self.loss == "half_sse" else f"1/{len(ys)}"
        scale = "" if scale == "1/1" else scale + " * "
        if len(ys) == 1:
            (t, y), = ys.items()
            losses = {t: self.node("E", f"{scale}({y} - {tgt[t]})**2")}
        else:  # one loss per step, then their sum (an add gate: each step's loss gets the gradient 1)
            losses = {t: self.node(f"E{t}", f"{scale}({y} - {tgt[t]})**2") for t, y in ys.items()}
            self.node("E", " + ".join(losses.values()))
        loss = "E"
        self._lay_out(x, h, ys, losses)
        return GraphSpec(title, tuple(self.leaves), tuple(self.nodes), loss, decimals, source, lang,
                         kind="rnn", place=dict(self.place))

    def _lay_out(self, x: list[list[str]], h: list[list[str]], ys: dict[int, str], losses: dict[int, str]) -> None:
        """Time steps left to right: the hidden chain on the unit rows, each x_t above-left of its step, each
        output below-right of its h_t, the loss at the end (last step) or below the outputs (every step); so
        no wire crosses another on one unit (the circuit puts a rising wire's labels near its gate, a
        falling one's near its source).  Weights, biases and targets are not drawn: they enter every step
        (the handout sums their shares)."""
        width, bottom = self.width, self.row(self.hidden - 1)
        for j, name in enumerate(h[0]):
            self.place[name] = (0, self.row(j))
        for t in range(1, self.steps + 1):
            start = width * (t - 1)  # the column of h_{t-1}
            for i, name in enumerate(x[t - 1]):
                self.place[name] = (start, -1 - 1.0 * (len(x[t - 1]) - 1 - i))
            for j in range(self.hidden):
                if width == 2:
                    self.place[step_name("a", t, j, self.hidden)] = (start + 1, self.row(j))
                self.place[h[t][j]] = (start + width, self.row(j))
        last = width * self.steps
        if len(ys) == 1:
            y = next(iter(ys.values()))
            self.place[y] = (last + 1, 0.0 if self.hidden == 1 else self.row(1) / 2)
            self.place["E"] = (last + 2, self.place[y][1])
            return
        for t, y in ys.items():
            self.place[y] = (width * t + 1, bottom + 1)
            self.place[losses[t]] = (width * t + 2, bottom + 2.2)
        columns = [self.place[losses[t]][0] for t in ys]
        free = [c for c in range(min(columns), max(columns) + 1) if c not in columns] or [max(columns) + 1]
        middle = (min(columns) + max(columns)) / 2
        self.place["E"] = (min(free, key=lambda c: (abs(c - middle), c)), bottom + 4.6)


__all__ = ["SHAPES", "RnnLayout", "entry_name", "rnn_from_table", "rnn_layout", "step_name", "time_step"]
