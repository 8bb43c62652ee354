"""``symbackprop slides``: a 16:9 Beamer deck of one backprop step, following the lecture.

Frames: title, the network (full diagram and the numbers), the forward pass
layer by layer, the output delta, the hidden deltas (to the activations, then
through the local slope), the gradients layer by layer, one expanded chain, the
update (an optimizer's rule, its first step and the loss curve) and the loss before and after.
The backward frames carry a small map of
the network on the right whose units and edges light up, overlay by overlay,
as the equations on the left are revealed.

Readability rules (checked by the tests): formulas at the normal size or
``\\small`` (never below ``\\footnotesize``), no overfull boxes.  A layer with
more units than ``SMALL_LAYER`` is summarised: one unit written out, the rest in
a table, so a 4-8-8-2 network gives a deck of the same length as the lecture's.

This module decides what goes on which frame (rows measured and packed by :mod:`symbackprop.layout`);
the templates ``slides.tex.j2`` and ``slides/`` decide the look, and ``slides/words.tex.j2`` the wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from ..engine.naming import LEARNING_RATE
from ..engine.network import Network
from ..engine.solution import Solution
from ..errors import UsageError
from ..io.files import write_atomic
from ..layout import (
    align_width,
    balanced_rows,
    brace_rows,
    break_row,
    display_width,
    fit_columns,
    line_rows,
    pack,
    row_height,
    tex_width,
)
from ..layout import wrap_table as _wrap_table
from ..notation.chains import chain_for
from ..notation.diagram import diagram, network_map
from ..notation.lines import Line, approx_latex, exact_text, print_terms, quantity_line, result_latex
from .render import Tex, header_comment, latex_environment, render_tex
from .rows import Row, boxed_result, joined, row_of, text_of
from .update_rule import first_step_names, optimizer_meaning, state_result, written_out

#: a row of a step: maths, or parts (maths and boxes: the template's ``boxed`` macro draws the boxes)
SlideRow = str | Row

#: a layer with more units (or more inputs) than this is summarised on the slides
SMALL_LAYER = 3
#: width of a row in ``display_width`` units (about 5.6 pt each at 11 pt): the equation column beside the
#: map (0.65 of the text width, 259 pt), and a full frame (398 pt)
NARROW = 44
WIDE = 62
#: the widest row that still fits beside the map in ``\small``
NARROW_SMALL = 48
#: the height of a frame's equations, in rows of ``\small`` display math (18.5 pt; ``layout.row_height``),
#: a caption's (19.5 pt)
MAX_ROWS = 10
CAPTION_ROW = 1.05
#: a full frame's text width (pt) and a ``display_width`` unit in it
WIDE_PT = 398
WIDE_UNIT = 5.6
#: the expanded chain's factor boxes (pt): an em of ``\small``, a ``display_width`` unit there, the room
#: between two labels, and a ``\cdot`` with its spacing
SMALL_EM = 10
CHAIN_UNIT = 5.5
CHAIN_GAP = 6
CHAIN_DOT = 8
#: rows of parameter updates on one frame (under the update rule)
UPDATE_ROWS = 7
#: a table of values in ``\\small``: the room beside the map (pt), a column's padding and a character's width
#: (pt, ``tex_width`` units), a row's height and the header and rules (pt); its rows at most
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
    """One overlay: a caption (the words' text) and the rows of one ``align*``; ``rings``/``edges`` light up
    on the map.  Instead of rows, a step may hand the template a table, a chain of braced factors
    (``braces``), the update rule (``rule``) or the loss curve (``plot``); ``result`` closes the rows with
    the boxed display value."""

    caption: str
    rows: list[SlideRow]
    rings: list[tuple[int, int]] = field(default_factory=list)  # (layer, unit), layer 0 = inputs
    edges: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    table: dict[str, Any] | None = None
    braces: dict[str, Any] | None = None
    rule: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    plot: dict[str, Any] | None = None  # the loss curve over the optimizer's steps


@dataclass
class Frame:
    """One frame: its steps, and whether the map sits beside them; ``part``/``parts`` number the frames
    one title was split over."""

    title: dict[str, Any]  # the arguments of the words' ``title`` macro: kind and layer
    steps: list[Step]
    map: bool = True
    note: str = ""
    overlays: bool = True
    small: bool = False  # \\small for the whole frame (also when it has many rows)
    part: int = 1
    parts: int = 1

    def context(self, network: Network, words: Any) -> dict[str, Any]:
        widest = max((align_width([_text(r) for r in s.rows], display_width) for s in self.steps), default=0)
        if widest > NARROW_SMALL:  # too wide beside the map even in \small: the equations get the full width
            self.map = False
        if self.map and widest > NARROW:
            self.small = True
        return {
            "title": Tex(words.title(**self.title, last=network.n_layers, part=self.part, parts=self.parts)),
            "steps": [{"caption": Tex(s.caption), "rows": [row_of(r) for r in s.rows], "table": s.table,
                       "braces": s.braces, "rule": s.rule, "result": s.result, "plot": s.plot} for s in self.steps],
            "overlays": self.overlays and len(self.steps) > 1,
            "small": self.small or sum(len(s.rows) + bool(s.caption) for s in self.steps) > 5,
            "map": Tex(network_map(network, self.steps)) if self.map else None,
            "note": Tex(self.note),
        }


def words() -> Any:
    """The deck's wording, ``slides/words.tex.j2`` (a teacher's copy first): its macros give titles,
    captions and notes, which the deck measures (a note's length) before the frames are cut."""
    return latex_environment().get_template("slides/words.tex.j2").module


# -- building rows ---------------------------------------------------------------------------

def _note_height(note: str) -> float:
    """A frame's note in ``\\footnotesize`` (about 55 characters a line beside the map) and its gap."""
    return 0.5 + 0.6 * -(-len(note) // 55)


def _text(row: SlideRow) -> str:
    """A row's maths, boxes left out (``tex_width`` does not count ``\\boxed``): what is measured."""
    return row if isinstance(row, str) else text_of(row)


def _height(rows: list[SlideRow]) -> float:
    return sum(row_height(_text(row)) for row in rows)


def table_height(table: dict[str, Any] | None) -> float:
    """A table's height in rows of ``MAX_ROWS``."""
    return 0.0 if table is None else (TABLE_HEAD + TABLE_ROW * len(table["rows"])) / ROW_PT


def wrap_table(header: list[str], cells: list[list[str]], width: float,
               max_rows: int = TABLE_ROWS) -> list[tuple[int, int, dict[str, Any]]]:
    """``cells`` (one row per unit) as tables no wider than ``width`` pt and no taller than ``max_rows``.

    The rows wrap into as many column groups side by side as fit the width (``j | z | a || j | z | a``),
    and over several tables when one would be too tall; returns (first unit, last unit, table) each.
    """
    return [(first, last, _table(header * groups, rows, groups))
            for first, last, rows, groups in _wrap_table(header, cells, width, max_rows, TABLE_CHAR, TABLE_PAD)]


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
    return fit_columns([[tex_width(line) for line in lines] for lines in layers], 3, WIDE + 8, 4)


def _rows(solution: Solution, name: str, width: int, symbolic: bool = True, boxed: bool = True,
          result: str | None = None) -> list[SlideRow]:
    """``lhs = formula = numbers = result`` on one row when it fits, else formula then numbers.

    A line whose numbers need more than ``MAX_NUMBER_ROWS`` rows (a sum over a big layer)
    shows the formula and the result only.  A row still too wide is cut between terms or factors.
    """
    line = quantity_line(solution, name, explicit=True, result=result)
    rows = _one_row_or_more(solution, name, line, width, symbolic)
    lhs = display_width(rows[0].split("&", 1)[0])
    rows = [piece for row in rows for piece in break_row(row, width, lhs, display_width)]
    return list(boxed_result(line, rows)) if boxed else list(rows)


def _one_row_or_more(solution: Solution, name: str, line: Line, width: int, symbolic: bool) -> list[str]:
    """The rows, the result last (unboxed: ``_rows`` boxes it through the template)."""
    q = solution.quantity(name)
    formula = short_formula(solution, name) if symbolic else ""
    numbers = line_rows(line, lead="&= ", width=width)
    first = numbers[0][len(q.latex):].lstrip()  # "&= 0.047 ..."
    if line.is_trivial():
        return [f"{q.latex} &= {formula} = {first[3:]}" if formula else numbers[0]]
    if len(numbers) > MAX_NUMBER_ROWS:
        result = result_latex(line.result)
        return [f"{q.latex} &= {formula or short_formula(solution, name)}", f"&= {result}"]
    if formula and formula != line.substituted():
        one = f"{q.latex} &= {formula} = {first[3:]}"
        if len(numbers) == 1 and display_width(one) <= width:
            return [one]
        return [f"{q.latex} &= {formula}", f"&{first[1:]}" if first.startswith("&") else first, *numbers[1:]]
    return numbers


def _table(header: list[str], rows: list[list[str]], groups: int = 1) -> dict[str, Any]:
    # the groups side by side, apart by a gap (a vertical rule would break at booktabs' rules)
    cols = r"@{\hspace{1.5em}}".join(["c" * (len(header) // groups)] * groups)
    return {"cols": Tex(cols), "header": [Tex(h) for h in header], "rows": [[Tex(c) for c in r] for r in rows]}


class Deck:
    """Builds the frames of one deck."""

    def __init__(self, solution: Solution):
        self.s = solution
        self.net = solution.network
        self.namer = self.net.namer
        self.d = solution.spec.decimals
        self.L = self.net.n_layers
        self.sizes = [self.net.spec.n_inputs] + [layer.size for layer in self.net.layers]
        self.words = words()

    def small(self, layer: int) -> bool:
        return self.sizes[layer] <= SMALL_LAYER and self.sizes[layer - 1] <= SMALL_LAYER

    def unit(self, kind: str, layer: int, j: int) -> str:
        return self.net.unit_name(kind, layer, j, 1)

    def grad(self, name: str) -> str:
        return self.net.grad(name)

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

    def _split(self, title: dict[str, Any], steps: list[Step], note: str = "") -> list[Frame]:
        """Steps on as few frames as fit (``MAX_ROWS`` rows a frame, by ``row_height``)."""
        frames: list[Frame] = []
        pieces = []
        for step in steps:  # a step taller than a frame goes on in a second step with the same highlights
            blocks: list[list[SlideRow]] = []  # one quantity's rows stay together: a continuation row starts at &
            for row in step.rows:
                if blocks and _text(row).startswith("&") and _height(blocks[-1]) + _height([row]) <= MAX_ROWS - 1:
                    blocks[-1].append(row)
                else:
                    blocks.append([row])
            chunks = pack([_height(block) for block in blocks], MAX_ROWS - 1) or [[]]  # a table alone: no rows
            for i, chunk in enumerate(chunks):
                rows = [row for k in chunk for row in blocks[k]]
                pieces.append(Step(step.caption if i == 0 else "", rows, step.rings,
                                   step.edges, step.table if i == 0 else None))
        heights = [_height(s.rows) + table_height(s.table) + (CAPTION_ROW if s.caption else 0) for s in pieces]
        groups = pack(heights, MAX_ROWS) or [[]]  # greedy: a unit's weights and bias stay on one frame
        for group in groups[:-1]:
            frames.append(Frame(title, [pieces[i] for i in group]))
        current = [pieces[i] for i in groups[-1]]
        used = sum(heights[i] for i in groups[-1])
        if note and len(current) > 1 and used + _note_height(note) > MAX_ROWS:  # the note needs room too
            frames.append(Frame(title, current[:-1]))
            current = current[-1:]
        frames.append(Frame(title, current))
        _number(frames)
        frames[-1].note = note
        return frames

    def _value_tables(self, layer: int, kinds: list[tuple[str, Any]], caption: str) -> list[Step]:
        """Every unit's values as tables beside the map, one step each, with all the layer's units lit;
        ``caption``: the words' caption kind."""
        n = self.sizes[layer]
        cells = [[f"${j}$"] + [f"${self.s.display(fn(j))}$" for _, fn in kinds] for j in range(1, n + 1)]
        header = ["$j$"] + [f"${head}$" for head, _ in kinds]
        rings = [(layer, j) for j in range(1, n + 1)]
        pages = wrap_table(header, cells, TABLE_WIDTH)
        steps = []
        for first, last, table in pages:
            text = self.words.caption(caption, n, first, last, len(pages))
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
                steps[0].caption = self.words.caption("unit_1")
                zl = self.namer.pre(layer, 1).latex.replace("_{1}", "_{j}")
                al = self.namer.act(layer, 1).latex.replace("_{1}", "_{j}")
                steps += self._value_tables(layer, [
                    (zl, lambda j, layer=layer: self.unit("pre", layer, j)),
                    (al, lambda j, layer=layer: self.unit("act", layer, j))], "every_unit")
            frames += self._split({"kind": "forward", "l": layer}, steps)
        loss = self.net.loss_name
        note = self.words.examples_note(self.net.n_examples)
        outputs = [(self.L, j) for j in range(1, self.sizes[-1] + 1)]
        frames.append(Frame({"kind": "loss"},
                            [Step("", _rows(self.s, loss, NARROW, boxed=True), rings=outputs)], note=note))
        return frames

    def output_delta(self) -> list[Frame]:
        steps = []
        for j in self.units_of(self.L):
            dz = self.grad(self.unit("pre", self.L, j))
            steps.append(Step("", _rows(self.s, dz, NARROW), rings=[(self.L, j)]))
        others = 0 if self.small(self.L) else self.sizes[self.L] - 1
        condition = self.s.condition(self.grad(self.unit("pre", self.L, 1)))  # softmax + cross-entropy: yhat - t
        return self._split({"kind": "output_delta"}, steps, self.words.output_delta_note(others, Tex(condition)))

    def hidden_deltas(self, layer: int) -> list[Frame]:
        to_act, to_pre = [], []
        for j in self.units_of(layer):
            a, z = self.unit("act", layer, j), self.unit("pre", layer, j)
            to_act += _rows(self.s, self.grad(a), NARROW)
            to_pre += _rows(self.s, self.grad(z), NARROW)
        units = [(layer, j) for j in self.units_of(layer)]
        above = self.units_of(layer + 1) if self.small(layer + 1) else list(range(1, self.sizes[layer + 1] + 1))
        edges = [((layer, j), (layer + 1, k)) for j in self.units_of(layer) for k in above]
        steps = [Step(self.words.caption("to_activations"), to_act, rings=units, edges=edges),
                 Step(self.words.caption("local_slope"), to_pre, rings=units)]
        if not self.small(layer):
            zl = self.namer.pre(layer, 1).latex.replace("_{1}", "_{j}")
            loss = self.net[self.net.loss_name].latex
            steps += self._value_tables(layer, [
                (rf"\partial {loss}/\partial {zl}", lambda j: self.grad(self.unit("pre", layer, j)))],
                "all_deltas")
        return self._split({"kind": "hidden_deltas", "l": layer}, steps)

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
            note = self.words.gradients_note(len(params), Tex(slash), self.s.display(g))
        return self._split({"kind": "gradients", "l": layer}, steps, note)

    def chain(self) -> list[Frame]:
        c = chain_for(self.s)
        lhs = c.grad_latex if c.single_path else str(self.words.math_one_path())  # maths: its width counts
        room = WIDE_PT - (display_width(lhs) + 2) * WIDE_UNIT
        chunks, widths = brace_rows([(f.partial, f.formula) for f in c.factors], room, SMALL_EM, CHAIN_UNIT,
                                    CHAIN_GAP, CHAIN_DOT)
        factors = [{"partial": Tex(f.partial), "formula": Tex(f.formula), "width": f"{w:.1f}"}
                   for f, w in zip(c.factors, widths, strict=True)]
        braces = {"lhs": Tex(lhs), "rows": [[factors[i] for i in chunk] for chunk in chunks]}
        numeric = line_rows(c.line, lead="&= ", width=WIDE)
        numeric[0] = lhs + " " + numeric[0].lstrip()
        result = {"value": c.gradient, "decimals": self.d} if c.single_path else None
        note = self.words.chain_note(c.n_paths, Tex(c.factors[0].formula), Tex(c.condition))
        caption = self.words.caption("path", path=Tex(r" \to ".join(c.path)))
        return [Frame({"kind": "chain"}, [Step(caption, [], braces=braces),
                                          Step(self.words.caption("numerically"), list(numeric), result=result)],
                      map=False, note=note, overlays=False, small=True)]

    def update(self) -> list[Frame]:
        layers, listed = [], []
        for layer in range(self.L, 0, -1):
            params = [p for p in self.net.parameters if p.layer == layer and not p.frozen
                      and (self.small(layer) or p.to_units[0] == 1 and (p.kind == "bias" or p.from_unit == 1))]
            params.sort(key=lambda p: p.kind != "weight")  # weights, then biases (a stable sort)
            listed.append(params)
            lines = [quantity_line(self.s, self.net.updated(p.name)) for p in params]
            layers.append([boxed_result(line, [line.latex().replace(" = ", " &= ", 1)])[0] for line in lines])
        per_row = _columns([[text_of(line) for line in lines] for lines in layers])
        rows: list[SlideRow] = [joined([lines[i] for i in row], " & ") for lines in layers
                                for row in pack([1.0] * len(lines), per_row)]
        loss = self.net[self.net.loss_name].latex
        rule: dict[str, Any] = {"loss": Tex(loss), "eta": exact_text(self.s.value(LEARNING_RATE.ascii)), "o": None}
        state: list[Frame] = []
        if self.s.spec.optimizer is not None:  # the rule, its state for the first parameter, the loss curve
            trained = [p for layer in reversed(listed) for p in layer]  # the first layer's first
            rule["o"] = o = optimizer_meaning(self.s, trained)
            state.append(Frame({"kind": "rule"}, [Step("", [], rule=rule)], map=False, overlays=False, small=True))
            first = written_out(self.s, trained)  # the handout's choice
            if first is not None:
                worked = [r for name in first_step_names(self.s, first)
                          for r in _rows(self.s, name, WIDE, False, result=state_result(self.s, name))]
                state.append(Frame({"kind": "state"}, [Step(self.words.caption("first_param", path=o["param"]),
                                                            worked)], map=False, overlays=False, small=True))
        note = self.words.update_note(all(map(self.small, range(1, self.L + 1))))
        frames = state + self._split_update(None if state else rule, rows, note)
        # the loss before and after
        e0, e1 = self.s.evaluation.loss_history[0], self.s.evaluation.loss_history[1]
        before = _rows(self.s, self.net.loss_name, WIDE, symbolic=False)
        after = _rows(self.s, self.net.updated(self.net.loss_name), WIDE, symbolic=False)
        pct = (e1 - e0) / e0 * 100 if e0 else e0
        note = self.words.loss_note(Tex(loss), Tex(approx_latex(e0)), Tex(approx_latex(e1)), (e1 > e0) - (e1 < e0),
                                    Tex(approx_latex(pct, 3)), pct > 0)
        frames.append(Frame({"kind": "loss_change"}, [Step(self.words.caption("before"), before),
                                                      Step(self.words.caption("after"), after)], map=False, note=note))
        if rule["o"] is not None and rule["o"]["plot"]:
            curve = {"o": rule["o"], "loss": Tex(loss), "xlabel": self.words.axis_step().strip()}
            frames.append(Frame({"kind": "loss_curve"}, [Step(self.words.caption("curve", n=rule["o"]["total_steps"]),
                                                              [], plot=curve)], map=False, overlays=False))
        return frames

    def _split_update(self, rule: dict[str, Any] | None, rows: list[SlideRow], note: str) -> list[Frame]:
        """The updated parameters over frames, each under the plain rule (``rule``) when it has no frame of
        its own; rows of fractions (an optimizer's) are counted by their height, and the last frame's note with
        them (Adam's six rows, 9.6 high, and its note had run 4.6 pt over one frame: the height was cut to 9 and the
        note not counted)."""
        tall = _height(rows) + _note_height(note)
        parts = -(-len(rows) // UPDATE_ROWS) if rule else max(1, int(-(-tall // MAX_ROWS)))
        frames = []
        for chunk in balanced_rows(len(rows), parts):  # no frame with one orphan row
            steps = [Step("", [], rule=rule)] if rule else []
            frames.append(Frame({"kind": "update"}, steps + [Step("", [rows[i] for i in chunk])],
                                map=False, overlays=False, small=True))
        _number(frames)
        frames[-1].note = note
        return frames


def _number(frames: list[Frame]) -> None:
    """Frames of one title are numbered (1/2), (2/2) by the words' ``title``."""
    for i, f in enumerate(frames, start=1):
        f.part, f.parts = i, len(frames)


def slides_context(solution: Solution) -> dict[str, Any]:
    deck = Deck(solution)
    net = solution.network
    frames = [f.context(net, deck.words) for f in deck.frames()]
    dg = diagram(net, roomy=True, label_font="footnotesize")
    examples: list[list[Tex]] = []  # each example's inputs and targets
    for e in range(1, net.n_examples + 1):
        examples.append([Tex(f"{q.latex} = {exact_text(solution.value(q.name))}") for kind in ("input", "target")
                         for q in net.of_kind(kind) if q.example in (e, None)])
    params = [Tex(f"{net[p.name].latex} = {exact_text(solution.value(p.name))}") for p in net.parameters]
    return {
        "header": Tex(header_comment()),
        "title": solution.spec.title,
        "sizes": "-".join(str(n) for n in deck.sizes),
        "activations": sorted({layer.activation_name for layer in net.layers}),
        "loss": solution.spec.loss,
        "author": solution.spec.author,
        # a big network's labelled diagram would shrink below readable: the map instead, described in words
        # edge labels at the footnote size (the handout's are \scriptsize)
        "diagram": Tex(dg.tikz if dg.labelled_all else network_map(net, [], width=2.2 * len(deck.sizes))),
        "labelled_all": dg.labelled_all,
        "layers": [(layer.size, layer.activation_name) for layer in net.layers],
        "n_inputs": deck.sizes[0],
        "examples": examples,
        "params": params,
        "decimals": solution.spec.decimals,
        "steps": solution.spec.steps,
        "frames": frames,
        "plots": any(step.get("plot") for f in frames for step in f["steps"]),
    }


def render_slides(solution: Solution) -> str:
    return render_tex("slides.tex.j2", **slides_context(solution))


def write_slides(solution: Solution, out_dir: str | Path, name: str, pdf: bool = False) -> list[Path]:
    """``out_dir/<name>-slides.tex`` (and ``.pdf``); everything is built before anything is written."""
    return write_deck(render_slides(solution), out_dir, name, pdf)


def write_deck(text: str, out_dir: str | Path, name: str, pdf: bool = False) -> list[Path]:
    """A deck's LaTeX as ``out_dir/<name>-slides.tex`` (and compiled ``.pdf``), the PDF compiled first."""
    out = Path(out_dir)
    written = []
    if pdf:
        from ..io.pdf import compile_pdf

        written.append(compile_pdf(text, out / f"{name}-slides.pdf", jobname="slides"))  # ASCII, any name
    if not name:
        raise UsageError("slides: empty name")
    written.insert(0, write_atomic(out / f"{name}-slides.tex", text))
    return written
