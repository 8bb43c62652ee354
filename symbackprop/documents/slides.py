"""``symbackprop slides``: a 16:9 Beamer deck of one backprop step, following the lecture.

Frames: title, the network (full diagram and the numbers), the forward pass
layer by layer, the output delta, the hidden deltas (to the activations, then
through the local slope), the gradients layer by layer, one expanded chain, the
update and the loss before and after.  The backward frames carry a small map of
the network on the right whose units and edges light up, overlay by overlay,
as the equations on the left are revealed.

Readability rules (checked by the tests): formulas at the normal size or
``\\small`` (never below ``\\footnotesize``), no overfull boxes.  A layer with
more units than ``SMALL_LAYER`` is summarised: one unit written out, the rest in
a table, so a 4-8-8-2 network gives a deck of the same length as the lecture's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from ..engine.naming import LEARNING_RATE
from ..engine.network import Network
from ..engine.solution import Solution
from ..errors import UsageError
from ..io.files import write_atomic
from ..notation.chains import chain_for
from ..notation.diagram import diagram, network_map
from ..notation.geometry import text_extent
from ..notation.lines import approx_latex, exact_text, print_terms, quantity_line, result_latex, visible_width
from ..notation.lines import break_row as _break_row
from .render import Tex, header_comment, render_tex

#: a layer with more units (or more inputs) than this is summarised on the slides
SMALL_LAYER = 3
#: width of a row in ``row_width`` units (about 5.6 pt each at 11 pt): the equation column beside the
#: map (0.65 of the text width, 259 pt), and a full frame (398 pt)
NARROW = 44
WIDE = 62
#: the widest row that still fits beside the map in ``\small``
NARROW_SMALL = 48
#: the height of a frame's equations, in rows of ``\small`` display math (18.5 pt); a row with a display
#: fraction is 27 pt, 30 pt with an indexed symbol (``w^{(1)}_{11}``) in it, a caption 19.5 pt
MAX_ROWS = 10
TALL_ROW = 1.45
TALLER_ROW = 1.6
CAPTION_ROW = 1.05
#: a row with a power inside brackets, ``\\left(1 - \\left(-0.45\\right)^{2}\\right)``: the outer brackets grow
NESTED_POWER_ROW = 1.35
#: a full frame's text width (pt) and a ``row_width`` unit in it
WIDE_PT = 398
WIDE_UNIT = 5.6
#: the expanded chain's factor boxes (pt): an em of ``\small``, a ``row_width`` unit there, the room
#: between two labels, and a ``\cdot`` with its spacing
SMALL_EM = 10
CHAIN_UNIT = 5.5
CHAIN_GAP = 6
CHAIN_DOT = 8
#: rows of parameter updates on one frame (under the update rule)
UPDATE_ROWS = 7
#: a table of values in ``\\small``: the room beside the map (pt), a column's padding and a character's width
#: (pt, ``visible_width`` units), a row's height and the header and rules (pt); its rows at most
TABLE_WIDTH = 255
TABLE_PAD = 12
TABLE_CHAR = 5.2
TABLE_ROW = 12
TABLE_HEAD = 28
ROW_PT = 18.5
TABLE_ROWS = 10
#: a longer sum is written t1 + t2 + ... + tn
SUM_TERMS = 4
#: a line whose numbers need more rows shows its result only
MAX_NUMBER_ROWS = 2


@dataclass
class Step:
    """One overlay: a caption and the rows of one ``align*``; ``rings``/``edges`` light up on the map."""

    caption: str
    rows: list[str]
    rings: list[tuple[int, int]] = field(default_factory=list)  # (layer, unit), layer 0 = inputs
    edges: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    table: dict[str, Any] | None = None


@dataclass
class Frame:
    title: str
    steps: list[Step]
    map: bool = True
    note: str = ""
    overlays: bool = True
    small: bool = False  # \\small for the whole frame (also when it has many rows)

    def context(self, network: Network) -> dict[str, Any]:
        widest = max((align_width(s.rows) for s in self.steps), default=0)
        if widest > NARROW_SMALL:  # too wide beside the map even in \small: the equations get the full width
            self.map = False
        if self.map and widest > NARROW:
            self.small = True
        return {
            "title": Tex(self.title),
            "steps": [{"caption": Tex(s.caption), "rows": Tex(" \\\\\n".join(s.rows)), "table": s.table}
                      for s in self.steps],
            "overlays": self.overlays and len(self.steps) > 1,
            "small": self.small or sum(len(s.rows) + bool(s.caption) for s in self.steps) > 5,
            "map": Tex(network_map(network, self.steps)) if self.map else None,
            "note": Tex(self.note),
        }


# -- building rows ---------------------------------------------------------------------------

def _brace_width(tex: str) -> float:
    """Width (pt, in ``\\small``) of a chain factor's fraction or label: the smaller of two estimates that
    each run over TeX's width (``text_extent`` by design; ``row_width`` at 5.5 pt a unit, where TeX
    measured at most 5.43 over the test decks' chains), since each is far over on some formulas."""
    return min(text_extent(f"${tex}$")[0] * SMALL_EM, row_width(tex) * CHAIN_UNIT)


def _pack(widths: list[float], room: float) -> list[list[int]]:
    """Indices of boxes (each with a ``\\cdot`` after it) greedily in rows of ``room`` pt."""
    rows: list[list[int]] = [[]]
    used = 0.0
    for i, w in enumerate(widths):
        if rows[-1] and used + w + CHAIN_DOT > room:
            rows.append([])
            used = 0.0
        rows[-1].append(i)
        used += w + CHAIN_DOT
    return rows


def row_width(row: str) -> float:
    """``visible_width`` plus the extra width of display fractions (``\\partial`` and the bar's room)."""
    return visible_width(row) + 2 * row.count(r"\frac")


def row_height(row: str) -> float:
    """A row's height in text rows: a display fraction makes it taller."""
    if r"\frac" not in row:
        return NESTED_POWER_ROW if _NESTED_POWER.search(row) else 1.0
    return TALLER_ROW if "^{(" in row else TALL_ROW


_NESTED_POWER = re.compile(r"\\right\)\^\{[^{}]*\}\s*\\right\)")
def _note_height(note: str) -> float:
    """A frame's note in ``\\footnotesize`` (about 55 characters a line beside the map) and its gap."""
    return 0.5 + 0.6 * -(-len(note) // 55)


def _height(rows: list[str]) -> float:
    return sum(map(row_height, rows))


def align_width(rows: list[str]) -> float:
    """The width of an ``align*`` of ``rows``: its widest left side plus its widest right side."""
    sides = [row.split("&", 1) if "&" in row else ["", row] for row in rows]
    return max((row_width(lhs) for lhs, _ in sides), default=0) + max((row_width(rhs) for _, rhs in sides), default=0)


def break_row(row: str, width: float, indent: float = 0) -> list[str]:
    """``walkthrough.break_row`` measured with ``row_width`` (display fractions on slides)."""
    return _break_row(row, width, indent, measure=row_width)


def table_height(table: dict[str, Any] | None) -> float:
    """A table's height in rows of ``MAX_ROWS``."""
    return 0.0 if table is None else (TABLE_HEAD + TABLE_ROW * len(table["rows"])) / ROW_PT


def wrap_table(header: list[str], cells: list[list[str]], width: float,
               max_rows: int = TABLE_ROWS) -> list[tuple[int, int, dict[str, Any]]]:
    """``cells`` (one row per unit) as tables no wider than ``width`` pt and no taller than ``max_rows``.

    The rows wrap into as many column groups side by side as fit the width (``j | z | a || j | z | a``),
    and over several tables when one would be too tall; returns (first unit, last unit, table) each.
    """
    cols = [max(visible_width(c.strip("$")) for c in [h] + [r[i] for r in cells]) for i, h in enumerate(header)]
    group = sum(TABLE_CHAR * w + TABLE_PAD for w in cols) + 1
    groups = max(1, min(len(cells), int(width // group)))
    pages = -(-len(cells) // (groups * max_rows))
    per_page = -(-len(cells) // pages)  # balanced: no page with a few orphan rows
    out = []
    for start in range(0, len(cells), per_page):
        chunk = cells[start:start + per_page]
        used = min(groups, len(chunk))
        rows_n = -(-len(chunk) // used)
        used = -(-len(chunk) // rows_n)  # no empty group
        rows = []
        for i in range(rows_n):
            row: list[str] = []
            for g in range(used):
                k = g * rows_n + i
                row += chunk[k] if k < len(chunk) else [""] * len(header)
            rows.append(row)
        table = _table(header * used, rows)
        table["cols"] = Tex("|".join(["c" * len(header)] * used))
        out.append((start + 1, start + len(chunk), table))
    return out


def short_formula(solution: Solution, name: str) -> str:
    """The formula; a long sum as ``t1 + t2 + \\cdots + tn`` (a pattern a student reads at a glance)."""
    q = solution.quantity(name)
    expr = q.explicit if q.explicit is not None else q.definition
    assert expr is not None
    if isinstance(expr, sympy.Add) and len(expr.args) > SUM_TERMS:
        terms = print_terms(solution.printer, expr)
        last = terms[-1] if terms[-1][:1] in "+-" else "+ " + terms[-1]
        return " ".join([*terms[:2], r"+ \cdots", last])
    return solution.formula(name, explicit=True)


def _columns(layers: list[list[str]]) -> int:
    """How many update lines a row of the one ``align`` holds: 3, 2 or 1.  Its columns are as wide as
    their widest entry over every layer's rows (a layer of long numbers widens all), plus the gaps."""
    for per_row in (3, 2):
        widest = [0.0] * per_row
        for lines in layers:
            for i, line in enumerate(lines):
                widest[i % per_row] = max(widest[i % per_row], visible_width(line))
        if sum(widest) + 4 * (per_row - 1) <= WIDE + 8:
            return per_row
    return 1


def _rows(solution: Solution, name: str, width: int, symbolic: bool = True, boxed: bool = True) -> list[str]:
    """``lhs = formula = numbers = result`` on one row when it fits, else formula then numbers.

    A line whose numbers need more than ``MAX_NUMBER_ROWS`` rows (a sum over a big layer)
    shows the formula and the result only.  A row still too wide is cut between terms or factors.
    """
    rows = _one_row_or_more(solution, name, width, symbolic, boxed)
    lhs = row_width(rows[0].split("&", 1)[0])
    return [piece for row in rows for piece in break_row(row, width, lhs)]


def _one_row_or_more(solution: Solution, name: str, width: int, symbolic: bool, boxed: bool) -> list[str]:
    q = solution.quantity(name)
    line = quantity_line(solution, name, explicit=True)
    formula = short_formula(solution, name) if symbolic else ""
    numbers = line.rows(boxed=boxed, lead="&= ", width=width)
    first = numbers[0][len(q.latex):].lstrip()  # "&= 0.047 ..."
    if line.is_trivial():
        return [f"{q.latex} &= {formula} = {first[3:]}" if formula else numbers[0]]
    if len(numbers) > MAX_NUMBER_ROWS:
        result = result_latex(line.result)
        return [f"{q.latex} &= {formula or short_formula(solution, name)}",
                rf"&= \boxed{{{result}}}" if boxed else f"&= {result}"]
    if formula and formula != line.substituted():
        one = f"{q.latex} &= {formula} = {first[3:]}"
        if len(numbers) == 1 and row_width(one) <= width:
            return [one]
        return [f"{q.latex} &= {formula}", f"&{first[1:]}" if first.startswith("&") else first, *numbers[1:]]
    return numbers


def _table(header: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"cols": Tex("c" * len(header)), "header": [Tex(h) for h in header],
            "rows": [[Tex(c) for c in r] for r in rows]}


class Deck:
    """Builds the frames of one deck."""

    def __init__(self, solution: Solution):
        self.s = solution
        self.net = solution.network
        self.namer = self.net.namer
        self.d = solution.spec.decimals
        self.L = self.net.n_layers
        self.sizes = [self.net.spec.n_inputs] + [layer.size for layer in self.net.layers]

    def small(self, layer: int) -> bool:
        return self.sizes[layer] <= SMALL_LAYER and self.sizes[layer - 1] <= SMALL_LAYER

    def unit(self, kind: str, layer: int, j: int) -> str:
        return self.net.unit_name(kind, layer, j, 1)

    def grad(self, name: str) -> str:
        return self.net.grad(name)

    def layer_word(self, layer: int) -> str:
        if layer == self.L:
            return "output layer"
        return "hidden layer" if self.L == 2 else f"hidden layer {layer}"

    def units_of(self, layer: int) -> list[int]:
        return list(range(1, self.sizes[layer] + 1)) if self.small(layer) else [1]

    # -- frames --------------------------------------------------------------------------
    def frames(self) -> list[Frame]:
        frames = self.forward()
        frames += self.output_delta()
        for layer in range(self.L - 1, 0, -1):
            frames += self.hidden_deltas(layer)
        for layer in range(self.L, 0, -1):
            frames += self.gradients(layer)
        frames += self.chain()
        frames += self.update()
        return frames

    def _split(self, title: str, steps: list[Step], note: str = "") -> list[Frame]:
        """Steps on as few frames as fit (``MAX_ROWS`` rows a frame, by ``row_height``)."""
        frames: list[Frame] = []
        current: list[Step] = []
        used = 0.0
        pieces = []
        for step in steps:  # a step taller than a frame goes on in a second step with the same highlights
            blocks: list[list[str]] = []  # one quantity's rows stay together: a continuation row starts at &
            for row in step.rows:
                if blocks and row.startswith("&") and _height(blocks[-1]) + row_height(row) <= MAX_ROWS - 1:
                    blocks[-1].append(row)
                else:
                    blocks.append([row])
            chunks: list[list[str]] = [[]]
            for block in blocks:
                if chunks[-1] and _height(chunks[-1]) + _height(block) > MAX_ROWS - 1:
                    chunks.append([])
                chunks[-1] += block
            for i, chunk in enumerate(chunks):
                pieces.append(Step(step.caption if i == 0 else "", chunk, step.rings,
                                   step.edges, step.table if i == 0 else None))
        for step in pieces:
            n = _height(step.rows) + table_height(step.table) + (CAPTION_ROW if step.caption else 0)
            if current and used + n > MAX_ROWS:
                frames.append(Frame(title, current))
                current, used = [], 0.0
            current.append(step)
            used += n
        if note and len(current) > 1 and used + _note_height(note) > MAX_ROWS:  # the note needs room too
            frames.append(Frame(title, current[:-1]))
            current = current[-1:]
        frames.append(Frame(title, current))
        if len(frames) > 1:
            for i, f in enumerate(frames, start=1):
                f.title = f"{title} ({i}/{len(frames)})"
        frames[-1].note = note
        return frames

    def _value_tables(self, layer: int, kinds: list[tuple[str, Any]], caption: str) -> list[Step]:
        """Every unit's values as tables beside the map, one step each, with all the layer's units lit."""
        n = self.sizes[layer]
        cells = [[f"${j}$"] + [f"${self.s.display(fn(j))}$" for _, fn in kinds] for j in range(1, n + 1)]
        header = ["$j$"] + [f"${head}$" for head, _ in kinds]
        rings = [(layer, j) for j in range(1, n + 1)]
        pages = wrap_table(header, cells, TABLE_WIDTH)
        steps = []
        for first, last, table in pages:
            text = caption if len(pages) == 1 else f"{caption.rstrip(':')}, units {first}--{last} of {n}:"
            steps.append(Step(text, [], rings=rings, table=table))
        return steps

    def forward(self) -> list[Frame]:
        frames = []
        for layer in range(1, self.L + 1):
            steps = []
            for j in self.units_of(layer):
                z, a = self.unit("pre", layer, j), self.unit("act", layer, j)
                rows = _rows(self.s, z, NARROW, symbolic=False, boxed=False)
                rows += _rows(self.s, a, NARROW, symbolic=False, boxed=False)
                steps.append(Step("", rows, rings=[(layer, j)],
                                  edges=[((layer - 1, k), (layer, j)) for k in range(1, self.sizes[layer - 1] + 1)]))
            if not self.small(layer):
                steps[0].caption = "Unit 1 written out:"
                zl = self.namer.pre(layer, 1).latex.replace("_{1}", "_{j}")
                al = self.namer.act(layer, 1).latex.replace("_{1}", "_{j}")
                steps += self._value_tables(layer, [
                    (zl, lambda j, layer=layer: self.unit("pre", layer, j)),
                    (al, lambda j, layer=layer: self.unit("act", layer, j))], "Every unit of the layer:")
            frames += self._split(f"Forward pass: {self.layer_word(layer)}", steps)
        loss = self.net.loss_name
        note = (f"Example 1 of {self.net.n_examples} shown; the others go through the same steps."
                if self.net.n_examples > 1 else "")
        outputs = [(self.L, j) for j in range(1, self.sizes[-1] + 1)]
        frames.append(Frame("Forward pass: the loss",
                            [Step("", _rows(self.s, loss, NARROW, boxed=True), rings=outputs)], note=note))
        return frames

    def output_delta(self) -> list[Frame]:
        steps = []
        for j in self.units_of(self.L):
            dz = self.grad(self.unit("pre", self.L, j))
            steps.append(Step("", _rows(self.s, dz, NARROW), rings=[(self.L, j)]))
        note = ""
        if not self.small(self.L):
            others = self.sizes[self.L]
            note = ("The other output unit follows the same formula." if others == 2
                    else f"The other {others - 1} output units follow the same formula.")
        condition = self.s.condition(self.grad(self.unit("pre", self.L, 1)))
        if condition:  # softmax + cross-entropy: yhat - t
            note += (" " if note else "") + f"Softmax + cross-entropy, with the targets summing to 1: ${condition}$."
        return self._split("Backward pass: the output delta", steps, note)

    def hidden_deltas(self, layer: int) -> list[Frame]:
        to_act, to_pre = [], []
        for j in self.units_of(layer):
            a, z = self.unit("act", layer, j), self.unit("pre", layer, j)
            to_act += _rows(self.s, self.grad(a), NARROW)
            to_pre += _rows(self.s, self.grad(z), NARROW)
        units = [(layer, j) for j in self.units_of(layer)]
        above = self.units_of(layer + 1) if self.small(layer + 1) else list(range(1, self.sizes[layer + 1] + 1))
        edges = [((layer, j), (layer + 1, k)) for j in self.units_of(layer) for k in above]
        steps = [Step(r"Back to the activations (sum over the layer above):", to_act, rings=units, edges=edges),
                 Step(r"Through the local slope:", to_pre, rings=units)]
        if not self.small(layer):
            zl = self.namer.pre(layer, 1).latex.replace("_{1}", "_{j}")
            loss = self.net[self.net.loss_name].latex
            steps += self._value_tables(layer, [
                (rf"\partial {loss}/\partial {zl}", lambda j: self.grad(self.unit("pre", layer, j)))],
                f"Unit 1 shown; the deltas of all {self.sizes[layer]} units:")
        return self._split(f"Backward pass: {self.layer_word(layer)} deltas", steps)

    def gradients(self, layer: int) -> list[Frame]:
        params = [p for p in self.net.parameters if p.layer == layer]
        steps = []
        for j in self.units_of(layer):
            mine = [p for p in params if p.to_units[0] == j]
            if not self.small(layer):
                mine = [p for p in mine if p.kind == "bias" or p.from_unit == 1]
            rows = []
            for p in mine:
                rows += _rows(self.s, self.grad(p.name), NARROW)
            edges = [((layer - 1, p.from_unit), (layer, j)) for p in mine if p.from_unit is not None]
            steps.append(Step("", rows, rings=[(layer, j)], edges=edges))
        note = ""
        if not self.small(layer):
            big = max(params, key=lambda p: abs(self.s.value(self.grad(p.name))))
            g = self.grad(big.name)
            slash = rf"\partial {self.net[self.net.loss_name].latex}/\partial {self.net[big.name].latex}"
            note = (f"Every one of the {len(params)} gradients of this layer is (its unit's delta) $\\times$ "
                    f"(the local input); the largest is ${slash} = {self.s.display(g)}$.")
        return self._split(f"Gradients: {self.layer_word(layer)}", steps, note)

    def chain(self) -> list[Frame]:
        c = chain_for(self.s)
        lhs = c.grad_latex if c.single_path else r"\text{one path}"
        # every factor in a box of one width, so the factors sit evenly spaced (a wide label under one
        # brace no longer pushes its neighbours apart); as many a row as the frame's width holds
        own = [max(_brace_width(f.formula), _brace_width(f.partial)) + CHAIN_GAP for f in c.factors]
        room = WIDE_PT - (row_width(lhs) + 2) * WIDE_UNIT
        per_row = len(c.factors)
        while per_row > 1 and per_row * (max(own) + CHAIN_DOT) > room:
            per_row -= 1
        n = len(c.factors)
        chunks = [list(range(i, min(i + per_row, n))) for i in range(0, n, per_row)]
        natural = _pack(own, room)
        if len(natural) < len(chunks):  # one very wide label (a leaky slope): each factor its own width
            chunks, widths = natural, own
        else:  # rows balanced (3 + 3, not 4 + 2), every factor in a box of one width
            per_row = -(-n // len(chunks))
            chunks = [list(range(i, min(i + per_row, n))) for i in range(0, n, per_row)]
            widths = [max(own)] * n
        # labels at \textstyle: a brace's subscript would otherwise be below the footnote size
        braces = [rf"\makebox[{w:.1f}pt]{{$\displaystyle\underbrace{{{f.partial}}}"
                  rf"_{{\textstyle {f.formula}}}$}}" for f, w in zip(c.factors, widths, strict=True)]
        lines = [r" \cdot ".join(braces[i] for i in chunk) for chunk in chunks]
        rows = [f"{lhs} &= " + lines[0]] + [r"&\quad \cdot " + line for line in lines[1:]]
        numeric = c.line.rows(lead="&= ", width=WIDE)
        numeric[0] = lhs + " " + numeric[0].lstrip()
        if c.single_path:
            numeric.append(rf"&\to \boxed{{{c.gradient}}} \quad \text{{({self.d} d.p.)}}")
        note = "" if c.single_path else f"One of the {c.n_paths} path terms whose sum is the gradient."
        if c.condition:
            note += (" " if note else "") + f"${c.factors[0].formula}$ uses ${c.condition}$."
        path = r" \to ".join(c.path)
        return [Frame("One chain, fully expanded", [Step(f"Along the path ${path}$:", rows),
                                                    Step("Numerically:", numeric)],
                      map=False, note=note, overlays=False, small=True)]

    def update(self) -> list[Frame]:
        layers = []
        for layer in range(self.L, 0, -1):
            params = [p for p in self.net.parameters if p.layer == layer and not p.frozen
                      and (self.small(layer) or p.to_units[0] == 1 and (p.kind == "bias" or p.from_unit == 1))]
            params.sort(key=lambda p: p.kind != "weight")  # weights, then biases (a stable sort)
            layers.append([quantity_line(self.s, self.net.updated(p.name)).latex(boxed=True).replace(" = ", " &= ", 1)
                           for p in params])
        per_row = _columns(layers)
        rows = [" & ".join(lines[i:i + per_row]) for lines in layers for i in range(0, len(lines), per_row)]
        loss = self.net[self.net.loss_name].latex
        rule = (rf"\theta' = \theta - \eta \frac{{\partial {loss}}}{{\partial \theta}}, \qquad "
                rf"\eta = {exact_text(self.s.value(LEARNING_RATE.ascii))}")
        note = "" if all(self.small(li) for li in range(1, self.L + 1)) else (
            "Shown for the first weight and bias of each unit written out; every parameter is updated the same way.")
        frames = self._split_update(rule, rows, note)
        # the loss before and after
        e0, e1 = self.s.evaluation.loss_history[0], self.s.evaluation.loss_history[1]
        before = _rows(self.s, self.net.loss_name, WIDE, symbolic=False)
        after = _rows(self.s, self.net.updated(self.net.loss_name), WIDE, symbolic=False)
        change = "decreases" if e1 < e0 else "increases" if e1 > e0 else "stays the same"
        pct = (e1 - e0) / e0 * 100 if e0 else e0
        sign = "+" if pct > 0 else ""
        note = (f"At full precision the loss {change}: ${loss} \\approx {approx_latex(e0)}$ to "
                f"${loss}' \\approx {approx_latex(e1)}$ (${sign}{approx_latex(pct, 3)}\\,\\%$).")
        frames.append(Frame("The loss before and after one step",
                            [Step("Before the update:", before), Step("After the update (forward pass again):", after)],
                            map=False, note=note))
        return frames

    def _split_update(self, rule: str, rows: list[str], note: str) -> list[Frame]:
        frames = []
        pages = -(-len(rows) // UPDATE_ROWS)
        chunk = max(1, -(-len(rows) // max(1, pages)))  # balanced: no frame with one orphan row
        for i in range(0, len(rows), chunk):
            frames.append(Frame("The update", [Step("", [rule]), Step("", rows[i:i + chunk])], map=False,
                                overlays=False, small=True))
        if len(frames) > 1:
            for i, f in enumerate(frames, start=1):
                f.title += f" ({i}/{len(frames)})"
        frames[-1].note = note
        return frames


def slides_context(solution: Solution) -> dict[str, Any]:
    deck = Deck(solution)
    net = solution.network
    sizes = "-".join(str(n) for n in deck.sizes)
    acts = sorted({layer.activation_name for layer in net.layers})
    dg = diagram(net, roomy=True, label_font="footnotesize")
    leaves = []
    for kind in ("input", "target"):
        leaves += [f"{q.latex} = {exact_text(solution.value(q.name))}"
                   for q in net.of_kind(kind) if q.example in (1, None)]
    params = [f"{net[p.name].latex} = {exact_text(solution.value(p.name))}" for p in net.parameters]
    small = len(params) <= 12
    return {
        "header": Tex(header_comment()),
        "title": solution.spec.title,
        "subtitle": (f"One training step of a {sizes} network "
                     f"({', '.join(acts)}, {solution.spec.loss.replace('_', ' ')})"),
        "author": solution.spec.author,
        # a big network's labelled diagram would shrink below readable: the map instead, described in words
        # edge labels at the footnote size (the handout's are \scriptsize)
        "diagram": Tex(dg.tikz if dg.labelled_all else network_map(net, [], width=2.2 * len(deck.sizes))),
        "legend": Tex(dg.legend if dg.labelled_all else _layers_sentence(net)),
        "leaves": Tex(", \\quad ".join(leaves[:6]) + (", \\dots" if len(leaves) > 6 else "")),
        "params": [Tex(", \\; ".join(params[i:i + 3])) for i in range(0, len(params), 3)] if small else [],
        "n_params": len(params),
        "decimals": solution.spec.decimals,
        "frames": [f.context(net) for f in deck.frames()],
    }


def _layers_sentence(net: Network) -> str:
    sizes = [net.spec.n_inputs] + [layer.size for layer in net.layers]
    parts = [f"{sizes[0]} inputs"] + [f"{layer.size} {layer.activation_name.replace('_', ' ')}"
                                      for layer in net.layers]
    return ("Layers, left to right: " + r" $\to$ ".join(parts) + ". Every unit feeds every unit of the next "
            r"layer; the weight from unit $k$ to unit $j$ of layer $l$ is $w^{(l)}_{jk}$, the bias $b^{(l)}_{j}$.")


def render_slides(solution: Solution) -> str:
    return render_tex("slides.tex.j2", **slides_context(solution))


def write_slides(solution: Solution, out_dir: str | Path, name: str, pdf: bool = False) -> list[Path]:
    """``out_dir/<name>-slides.tex`` (and ``.pdf``); everything is built before anything is written."""
    text = render_slides(solution)
    out = Path(out_dir)
    written = []
    if pdf:
        from ..io.pdf import compile_pdf

        written.append(compile_pdf(text, out / f"{name}-slides.pdf", jobname="slides"))  # ASCII, any name
    if not name:
        raise UsageError("slides: empty name")
    written.insert(0, write_atomic(out / f"{name}-slides.tex", text))
    return written
