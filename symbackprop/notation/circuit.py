"""Lay out a computation graph as the classic circuit: gates in columns by depth, each wire labelled
with its forward value above and its gradient (this use's share) below."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sympy
from sympy import Expr, Symbol
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import translate

from ..engine import activations as act
from ..engine.graphspec import GraphSpec, Node
from .circuitlabels import (
    NAME_SIDES,
    Box,
    Circle,
    Point,
    Wire,
    border,
    clashes,
    gate_circle,
    gate_name,
    label_boxes,
    leaf_name,
    path_faults,
    settle,
)

DX = 2.3  # cm between columns
DY = 1.5  # cm between rows
WIDEN, WIDEN_STEPS = 0.4, 6  # cm a gap widens by, and how often, while a wire across it finds no label place
MAX_SLID = 4  # wires into one gate whose labels slide by slope (more: all near their sources)

_FUNCTION_TEXT = {sympy.exp: r"\exp", sympy.log: r"\ln", act.sigma: r"\sigma", sympy.tanh: r"\tanh",
                  act.relu: r"\mathrm{relu}", act.softplus: r"\mathrm{softplus}"}


@functools.lru_cache(maxsize=4096)
def name_tex(name: str) -> str:
    """A spec name (letters, digits, ``_``) as LaTeX maths: ``x0`` gives ``x_{0}``; several subscripts are
    parted by commas (``a1_2``: ``a_{1,2}``, ``W_xh_12``: ``W_{xh,12}``), where SymPy would run them together."""
    base, supers, subs = split_super_sub(name)
    if len(subs) > 1 and not supers:
        return f"{sympy.latex(Symbol(base))}_{{{','.join(translate(s) for s in subs)}}}"
    return sympy.latex(Symbol(name))


def graph_name_tex(spec: GraphSpec, name: str) -> str:
    """A leaf's, gate's or gradient's name as LaTeX: ``df/dx0`` gives ``\\frac{\\partial f}{\\partial x_{0}}``."""
    prefix = f"d{spec.output}/d"
    if name.startswith(prefix) and name != prefix:
        return rf"\frac{{\partial {name_tex(spec.output)}}}{{\partial {name_tex(name[len(prefix):])}}}"
    return name_tex(name)


@functools.lru_cache(maxsize=4096)  # every variant of a graph's exam prints the same gates
def formula_tex(expr: Expr) -> str:
    names = {s: name_tex(s.name) for s in expr.free_symbols if isinstance(s, Symbol)}
    return sympy.latex(expr, order="none", symbol_names=names, ln_notation=True)  # \ln, as the numeric lines print it


def gate_text(definition: Expr) -> str:
    """The gate's symbol in the circle: ``+``, ``\\times``, ``\\max``, ``\\exp``, ``1/x``, ``+1``, ``\\times(-1)``;
    ``\\Sigma`` for a weighted sum, ``avg`` for a mean, ``SE`` for a squared error (``\\tfrac{1}{2}SE`` for half
    of one: an RNN's loss), ``f`` for anything else."""
    constants = [a for a in definition.args if a.is_number]
    plain = all(a.is_Symbol or a.is_number for a in definition.args)  # else: a weighted sum, a mean, a loss
    if isinstance(definition, sympy.Add):
        return ("+" + (sympy.latex(sympy.Add(*constants)) if constants else "")) if plain else r"\Sigma"
    if isinstance(definition, sympy.Mul) and plain:
        return r"\times" + (f"({sympy.latex(sympy.Mul(*constants))})" if constants else "")
    if _is_mean(definition):
        return r"\mathrm{avg}"
    scale = _squared_error_scale(definition)
    if scale == 1:
        return r"\mathrm{SE}"
    if scale is not None:
        return rf"\tfrac{{{scale.p}}}{{{scale.q}}}\mathrm{{SE}}"
    if isinstance(definition, sympy.Max):
        return r"\max"
    if isinstance(definition, sympy.Pow) and definition.exp.is_number and definition.base.is_Symbol:
        return "1/x" if definition.exp == -1 else f"x^{{{sympy.latex(definition.exp)}}}"
    if type(definition) in _FUNCTION_TEXT and definition.args[0].is_Symbol:
        return _FUNCTION_TEXT[type(definition)]
    return "f"


def _squared_error_scale(definition: Expr) -> sympy.Rational | None:
    """c for ``c*(a - b)**2`` (a and b names or numbers, c a positive rational), else None."""
    scale, rest = definition.as_coeff_Mul()
    if not (isinstance(scale, sympy.Rational) and scale > 0 and isinstance(rest, sympy.Pow) and rest.exp == 2
            and isinstance(rest.base, sympy.Add) and len(rest.base.args) == 2):
        return None
    a, b = rest.base.args
    signs = sorted(term.could_extract_minus_sign() for term in (a, b))
    plain = all(term.is_Symbol or term.is_number or (-term).is_Symbol for term in (a, b))
    return scale if plain and signs == [False, True] else None


def _is_mean(definition: Expr) -> bool:
    """(a + b + ...)/n over n names."""
    if not isinstance(definition, sympy.Mul) or len(definition.args) != 2:
        return False
    factor, total = sorted(definition.args, key=lambda a: not a.is_number)
    return (factor.is_number and isinstance(total, sympy.Add) and all(a.is_Symbol for a in total.args)
            and factor == sympy.Rational(1, len(total.args)))


def label_pos(rise: float, fan_in: int) -> float:
    """Where along its wire a label would sit in a builder's placement (its first wish: `circuit_layout`
    slides it where it meets something), whose fanned wires (a kernel's) cross
    midway: a quarter of the way further along per row the wire rises, so two crossing wires' labels part;
    into a gate with more than MAX_SLID wires, near their sources (where they are a row apart)."""
    return 0.25 if fan_in > MAX_SLID else round(min(0.8, max(0.2, 0.5 + rise / 4)), 2)  # as TikZ is told it


def _label_at(pos: float) -> str:
    """TikZ's ``pos`` of a wire's labels: the place the layout measured, to the 2.5% steps of its candidates."""
    text = f"{pos:.3f}".rstrip("0").rstrip(".")
    return "" if pos == 0.5 else f", pos={text}"


def _cm(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def operands(node: Node) -> list[str]:
    """A gate's input names in the order its formula writes them (``w0 * x0``: w0, then x0)."""
    names = {s.name for s in node.definition.free_symbols}
    return sorted(names, key=lambda n: (m.start() if (m := re.search(rf"\b{n}\b", node.text)) else 0, n))


def _rows(spec: GraphSpec) -> dict[str, tuple[int, float]]:
    """(column, row) of every name: a gate one column right of its deepest operand, a leaf just left of
    its first consumer; from the output back, each gate's operands centred on its row (a name several
    gates use: the mean of their wishes), then every column's rows pushed at least 1 apart in that order."""
    column: dict[str, int] = {leaf.name: 0 for leaf in spec.leaves}
    ins = {n.name: operands(n) for n in spec.nodes}
    for node in spec.nodes:
        column[node.name] = 1 + max(column[o] for o in ins[node.name])
    for leaf in spec.leaves:
        column[leaf.name] = min(column[n] for n in ins if leaf.name in ins[n]) - 1
    asked: dict[str, list[float]] = {spec.output: [0.0]}  # every consumer's wish (a shared name: the mean)
    wanted: dict[str, float] = {}
    for node in reversed(spec.nodes):  # a node's consumers all come before it
        here = wanted[node.name] = sum(asked[node.name]) / len(asked[node.name])
        names = ins[node.name]
        for k, name in enumerate(names):
            asked.setdefault(name, []).append(here + k - (len(names) - 1) / 2)
    wanted.update({leaf.name: sum(asked[leaf.name]) / len(asked[leaf.name]) for leaf in spec.leaves})
    place: dict[str, tuple[int, float]] = {}
    for c in set(column.values()):
        members = sorted((name for name in column if column[name] == c), key=lambda m: wanted.get(m, 0.0))
        rows = [wanted.get(m, 0.0) for m in members]
        for k in range(1, len(rows)):
            rows[k] = max(rows[k], rows[k - 1] + 1)
        shift = (sum(rows) - sum(wanted.get(m, 0.0) for m in members)) / len(rows)  # keep the column's centre
        place.update({m: (c, row - shift) for m, row in zip(members, rows, strict=True)})
    return place


def placement(spec: GraphSpec) -> dict[str, tuple[int, float]]:
    """(column, row) of every drawn name: a builder's own placement, else the circuit's (:func:`_rows`)."""
    return dict(spec.place) or _rows(spec)


def _detour(place: Mapping[str, tuple[int, float]], operand: str, consumer: str,
            force: bool = False) -> tuple[tuple[float, int], tuple[float, int]] | None:
    """The row a wire runs along when, drawn straight, it would cross a gate or a leaf's name in a column it
    skips (a name used again further on: a shared parameter), or when forced (it met something else): just
    above the gates it passes, or just below them when it starts below their middle; with the way out from
    them (-1: up, rows counting down; 1: down); then the row and way on their other side.  None for a straight
    wire (and one that skips no column)."""
    (c0, r0), (c1, r1) = place[operand], place[consumer]
    passed = [(c, row) for c, row in place.values() if c0 < c < c1]  # gates, and leaves used there (their names)
    if not passed or not force and not any(abs(r0 + (r1 - r0) * (c - c0) / (c1 - c0) - row) < 0.6
                                           for c, row in passed):
        return None
    rows = [row for _, row in passed]
    above, below = (min(*rows, r0, r1) - 0.7, -1), (max(*rows, r0, r1) + 0.7, 1)
    return (above, below) if r0 <= sum(rows) / len(rows) else (below, above)


#: rows between two detours that run side by side over the same columns (each has its labels above and below)
LANE = 0.5
#: cm: where a detour's level stretch starts right of its source's column and ends left of its target's, most
#: wanted first; the others where its first leg (the riser) or its last would run through a leaf's name or a
#: gate, or along another wire
RISERS = ((1.3, 0.9), (1.7, 0.9), (1.3, 1.3), (1.7, 1.3), (2.1, 0.9), (1.3, 1.7), (2.1, 1.3), (1.7, 1.7), (2.1, 1.7),
          (2.5, 0.9), (2.5, 1.3), (2.5, 1.7), (0.9, 0.9), (0.9, 1.3))
#: lanes further out a detour tries, when each of `RISERS` meets something in the ones nearer
MAX_LANES = 6

#: a wire's route: None (straight), or its detour's row and the two offsets (cm) of `RISERS` it takes
Route = tuple[float, float, float] | None


def _path(route: Route, source: Box | Circle, target: Box | Circle, c0: float, c1: float) -> tuple[Point, ...]:
    """A wire's path from the source's border to the target's (cm, y up); ``c0``, ``c1``: their columns' x."""
    if route is None:
        return border(source, (target.cx, target.cy)), border(target, (source.cx, source.cy))
    level, start, end = route
    stretch = ((c0 + start, -level * DY), (c1 - end, -level * DY))
    return border(source, stretch[0]), *stretch, border(target, stretch[1])


def _routes(spec: GraphSpec, place: Mapping[str, tuple[int, float]], xs: Mapping[int, float],
            shapes: Mapping[str, Box | Circle]) -> dict[tuple[str, str], Route]:
    """Each wire's route, by (consumer, operand): straight where it runs clear (a builder's placement: always),
    else round the gates (:func:`_detour`) in a lane no other detour over some of the same columns has within
    `LANE` of it (two had run on one line, and no reader could tell which labels were whose), first on the row
    nearest the gates and with the first of `RISERS` whose path meets no leaf's name, no gate and no straight
    wire or earlier detour along a stretch (:func:`.circuitlabels.path_faults`), else out a lane (up to
    `MAX_LANES`); where none is clear, the one that meets least.  A straight wire that meets a leaf's name, a
    gate or an earlier straight wire along a stretch goes round too, where it skips a column."""
    names = [s for s in shapes.values() if isinstance(s, Box)]
    circles = [s for s in shapes.values() if isinstance(s, Circle)]
    routes: dict[tuple[str, str], Route] = {}
    wanted: dict[tuple[str, str], tuple[tuple[float, int], tuple[float, int]]] = {}
    laid: list[tuple[tuple[str, str], tuple[Point, ...]]] = []
    keys = [(node.name, o) for node in spec.nodes for o in operands(node) if o in place]
    for key in keys:
        consumer, operand = key
        ends = xs[place[operand][0]], xs[place[consumer][0]]
        detour = None if spec.place else _detour(place, operand, consumer)
        path = _path(None, shapes[operand], shapes[consumer], *ends)
        if detour is None and not spec.place and path_faults(key, path, names, circles, laid):
            detour = _detour(place, operand, consumer, force=True)
        if detour is None:
            routes[key] = None
            laid.append((key, path))
        else:
            wanted[key] = detour
    taken: list[tuple[float, int, int]] = []  # (row, first column, last column)
    for key in (k for k in keys if k in wanted):
        consumer, operand = key
        c0, c1 = place[operand][0], place[consumer][0]
        ends = xs[c0], xs[c1]
        beside = [row for row, a0, a1 in taken if max(c0, a0) < min(c1, a1)]
        best: tuple[int, Route] | None = None
        for level, out in wanted[key]:
            for _ in range(MAX_LANES):
                while clash := [row for row in beside if abs(row - level) < LANE - 1e-9]:
                    level = max(clash) + LANE if out > 0 else min(clash) - LANE
                for start, end in RISERS:
                    route = (level, start, end)
                    path = _path(route, shapes[operand], shapes[consumer], *ends)
                    faults = path_faults(key, path, names, circles, laid)
                    cost = sum(1 if met.startswith("wire") else 2 for _, met in faults)  # a wire beside: less bad
                    if best is None or cost < best[0]:
                        best = (cost, route)
                    if not cost:
                        break
                if best and not best[0]:
                    break
                level += LANE * out
            if best and not best[0]:
                break
        assert best is not None and best[1] is not None
        routes[key] = best[1]
        taken.append((best[1][0], c0, c1))
        laid.append((key, _path(best[1], shapes[operand], shapes[consumer], *ends)))
    return routes


@dataclass(frozen=True)
class CircuitLayout:
    """The drawing in centimetres (y up): each column's x, each wire's label stretch and label position
    (by (consumer, operand); the output wire's by (output, "")), its detour row, the names and circles."""

    xs: Mapping[int, float]
    place: Mapping[str, tuple[int, float]]
    wires: tuple[Wire, ...]
    pos: Mapping[tuple[str, str], float]
    detours: Mapping[tuple[str, str], float | None]
    names: tuple[Box, ...]
    circles: tuple[Circle, ...]
    missed: tuple[tuple[str, str], ...]  # wires whose labels found no free place (none in the tests' graphs)
    sides: Mapping[str, str]  # where each gate's name is: "above" its circle, or another of `NAME_SIDES`


def circuit_layout(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str],
                   output_gradient: str) -> CircuitLayout:
    """The circuit's geometry, columns `DX` apart but where a wire's labels find no place clear of every
    other label, gate and name (:func:`.circuitlabels.settle`): the gaps that wire spans widen by `WIDEN`,
    up to `WIDEN_STEPS` times.  Where no width gives every wire a place, the labels may also sit at the places
    between (``settle``'s last resort, the narrowest width that then gives every wire one)."""
    place = placement(spec)
    extra: dict[int, float] = {}
    best: CircuitLayout | None = None
    tried = []
    for _ in range(WIDEN_STEPS + 1):
        columns = sorted({c for c, _ in place.values()})
        xs, x = {}, columns[0] * DX
        for k, c in enumerate(columns):
            x += 0.0 if k == 0 else (c - columns[k - 1]) * DX + extra.get(c, 0.0)
            xs[c] = x
        tried.append(xs)
        layout = _layout_at(spec, values, shares, output_gradient, xs)
        if best is None or len(layout.missed) < len(best.missed):
            best = layout
        if not layout.missed:
            break
        for consumer, operand in layout.missed:
            c0, c1 = (place[operand][0] if operand else place[consumer][0] - 1), place[consumer][0]
            for c in columns:
                if c0 < c <= c1:
                    extra[c] = extra.get(c, 0.0) + WIDEN
    assert best is not None
    for xs in tried if best.missed else ():
        layout = _layout_at(spec, values, shares, output_gradient, xs, between=True)
        if len(layout.missed) < len(best.missed):
            best = layout
        if not best.missed:
            break
    return best


def _layout_at(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str],
               output_gradient: str, xs: Mapping[int, float], between: bool = False) -> CircuitLayout:
    place = placement(spec)
    circles: dict[str, Circle] = {}
    names: list[Box] = []
    for leaf in (leaf for leaf in spec.leaves if leaf.name in place):
        c, row = place[leaf.name]
        names.append(leaf_name(leaf.name, xs[c] + 0.8, -row * DY, name_tex(leaf.name)))
    for node in spec.nodes:
        c, row = place[node.name]
        circles[node.name] = gate_circle(node.name, xs[c], -row * DY, gate_text(node.definition))
    shapes: dict[str, Box | Circle] = {**{box.owner[5:]: box for box in names}, **circles}
    routes = _routes(spec, place, xs, shapes)
    wires = []
    for node in spec.nodes:
        drawn = [o for o in operands(node) if o in place]
        for operand in drawn:
            key = (node.name, operand)
            wish = label_pos(place[operand][1] - place[node.name][1], len(drawn)) if spec.place else 0.5
            route = routes[key]
            path = _path(route, shapes[operand], circles[node.name], xs[place[operand][0]], xs[place[node.name][0]])
            start, end = (path[0], path[-1]) if route is None else (path[1], path[2])
            wires.append(Wire(key, start, end, values.get(operand, ""), shares.get(key, ""), wish,
                              () if route is None else path))
    detours = {key: None if route is None else route[0] for key, route in routes.items()}
    out = circles[spec.output]
    end = (out.cx + 0.9 * DX, out.cy)
    wires.append(Wire((spec.output, ""), border(out, end), end, values.get(spec.output, ""), output_gradient))
    lines = [b for wire in wires for b in wire.lines()]
    sides = {}
    for node in spec.nodes:  # a name above its gate; where a wire, circle or name is in the way, the first side clear
        circle, tex = circles[node.name], name_tex(node.name)
        others = [c for c in circles.values() if c is not circle]
        sides[node.name] = next((side for side in NAME_SIDES if not clashes(
            gate_name(node.name, circle, tex, side), [*lines, *names], others)), "above")
        names.append(gate_name(node.name, circle, tex, sides[node.name]))
    pos, missed = settle(wires, names, list(circles.values()), between)
    return CircuitLayout(xs, place, tuple(wires), pos, detours, tuple(names), tuple(circles.values()), tuple(missed),
                         sides)


#: the room a part of a circuit cut for slides may fill at scale 1 (cm): a 16:9 frame's text width, and the
#: height its circuit frame leaves above the legend
FRAME_WIDTH, FRAME_HEIGHT = 14.0, 5.2
#: a cut keeps this far (cm) from every circle, name and label
CUT_CLEARANCE = 0.1
#: a circuit that fits a frame at this scale or more stays whole (labels of \scriptsize at 70%: about 5 pt)
WHOLE_SCALE = 0.7


def _extents(layout: CircuitLayout) -> list[tuple[float, float, float, float]]:
    """(left, bottom, right, top) of everything drawn: circles, names, labels, the output wire's end."""
    shapes = [(c.cx - c.r, c.cy - c.r, c.cx + c.r, c.cy + c.r) for c in layout.circles]
    shapes += [b.bounds for b in layout.names]
    shapes += [b.bounds for w in layout.wires for b in label_boxes(w, layout.pos[w.key])]
    end = max(layout.wires, key=lambda w: w.end[0]).end
    return [*shapes, (end[0], end[1], end[0] + 0.2, end[1])]


def circuit_parts(layout: CircuitLayout, width: float = FRAME_WIDTH, height: float = FRAME_HEIGHT,
                  ) -> list[tuple[float, float, float, float]]:
    """A circuit too wide for one frame (it would shrink below `WHOLE_SCALE`), cut left to right into parts of
    about equal width that each fill a frame at the scale its height allows: the clip rectangles (left, bottom,
    right, top, cm); one for a circuit that fits, that its height keeps small anyway, or that has no place to
    cut.  A cut runs only where it crosses no circle, name or label (only wires, which go on in the next part),
    and no part is less than half as wide as another (else the circuit stays whole)."""
    shapes = _extents(layout)
    left, bottom = min(s[0] for s in shapes), min(s[1] for s in shapes)
    right, top = max(s[2] for s in shapes), max(s[3] for s in shapes)
    whole = [(left, bottom, right, top)]
    tall = min(1.0, height / (top - bottom))  # the scale the frame's height allows
    count = int(-(-(right - left) * tall // width))  # parts of at most a frame's width at that scale
    if count <= 1 or min(tall, width / (right - left)) >= WHOLE_SCALE:
        return whole
    gaps = _gaps(shapes)
    cuts = [left]
    for k in range(1, count):
        wish = left + k * (right - left) / count
        found = min(gaps, key=lambda g: 0.0 if g[0] <= wish <= g[1] else min(abs(wish - g[0]), abs(wish - g[1])),
                    default=None)
        if found is None:
            return whole
        cut = min(max(wish, found[0]), found[1])
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(right)
    widths = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
    if len(widths) < 2 or min(widths) < max(widths) / 2:
        return whole
    return [(a, bottom, b, top) for a, b in zip(cuts, cuts[1:], strict=False)]


def _gaps(shapes: list[tuple[float, float, float, float]]) -> list[tuple[float, float]]:
    """The stretches of x that no shape covers (with its clearance), between the leftmost and rightmost."""
    covered = sorted((s[0] - CUT_CLEARANCE, s[2] + CUT_CLEARANCE) for s in shapes)
    gaps, reach = [], covered[0][1]
    for a, b in covered[1:]:
        if a > reach:
            gaps.append((reach, a))
        reach = max(reach, b)
    return gaps


def circuit_tikz(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str],
                 output_gradient: str) -> str:
    """A complete tikzpicture: leaves on the left, one circle per gate, the output wire on the right;
    ``values`` by name and ``shares`` by (consumer, operand) are display texts (maths); every wire's labels
    where :func:`circuit_layout` puts them."""
    return _tikz(spec, values, shares, output_gradient, circuit_layout(spec, values, shares, output_gradient))


def circuit_and_frames(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str],
                       output_gradient: str) -> tuple[str, list[str]]:
    """:func:`circuit_tikz`'s picture, and the circuit as one picture per frame of a deck: the whole, or the
    parts of :func:`circuit_parts` (each clipped to its rectangle, the picture its size)."""
    layout = circuit_layout(spec, values, shares, output_gradient)
    whole = _tikz(spec, values, shares, output_gradient, layout)
    parts = circuit_parts(layout)
    if len(parts) == 1:
        return whole, [whole]
    widest = max(right - left for left, _, right, _ in parts)  # one width, so one scale on every frame
    return whole, [_tikz(spec, values, shares, output_gradient, layout, part, widest) for part in parts]


def _tikz(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str], output_gradient: str,
          layout: CircuitLayout, part: tuple[float, float, float, float] | None = None, width: float = 0.0) -> str:
    place, xs = layout.place, layout.xs
    lines = [
        r"\begin{tikzpicture}[>=stealth, font=\small,",
        r"  gate/.style={circle, draw, thick, fill=white, minimum size=0.95cm, inner sep=1pt},",
        r"  leaf/.style={anchor=east, inner sep=2pt},",
        r"  fwd/.style={above, sloped, font=\scriptsize, text=green!40!black, inner sep=1.5pt},",
        r"  bwd/.style={below, sloped, font=\scriptsize, text=red!70!black, inner sep=1.5pt}]",
    ]
    if part is not None:  # drawn up to the cut, in a box ``width`` wide
        box = f"({_cm(part[0])}, {_cm(part[1])}) rectangle ({_cm(max(part[2], part[0] + width))}, {_cm(part[3])})"
        clip = f"({_cm(part[0])}, {_cm(part[1])}) rectangle ({_cm(part[2])}, {_cm(part[3])})"
        lines += [rf"\useasboundingbox {box};", rf"\clip {clip};"]
    for leaf in (leaf for leaf in spec.leaves if leaf.name in place):  # a builder may leave shared ones out
        c, row = place[leaf.name]
        at = f"({_cm(xs[c] + 0.8)}, {_cm(-row * DY)})"
        lines.append(rf"\node[leaf] ({leaf.name}) at {at} {{${name_tex(leaf.name)}$}};")
    for node in spec.nodes:
        c, row = place[node.name]
        side = layout.sides[node.name]
        lines.append(rf"\node[gate, label={{[font=\scriptsize, text=black!60]{side}:${name_tex(node.name)}$}}] "
                     rf"({node.name}) at ({_cm(xs[c])}, {_cm(-row * DY)}) {{${gate_text(node.definition)}$}};")
    bent = {wire.key: wire for wire in layout.wires}
    for node in spec.nodes:
        for operand in (o for o in operands(node) if o in place):
            key = (node.name, operand)
            at = _label_at(layout.pos[key])
            labels = rf"node[fwd{at}] {{${values[operand]}$}} node[bwd{at}] {{${shares[key]}$}}"
            level = layout.detours[key]
            if level is None:
                lines.append(rf"\draw[->] ({operand}) -- {labels} ({node.name});")
                continue
            (x0, _), (x1, _) = bent[key].start, bent[key].end
            y = _cm(-level * DY)
            lines.append(rf"\draw[->, rounded corners=6pt] ({operand}) -- ({_cm(x0)}, {y}) -- {labels} "
                         rf"({_cm(x1)}, {y}) -- ({node.name});")
    c, row = place[spec.output]
    at = _label_at(layout.pos[spec.output, ""])
    lines.append(rf"\draw[->] ({spec.output}) -- node[fwd{at}] {{${values[spec.output]}$}} "
                 rf"node[bwd{at}] {{${output_gradient}$}} ({_cm(xs[c] + 0.9 * DX)}, {_cm(-row * DY)});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


__all__ = ["DX", "DY", "CircuitLayout", "circuit_and_frames", "circuit_layout", "circuit_parts", "circuit_tikz",
           "formula_tex", "gate_text", "graph_name_tex", "label_pos", "name_tex", "operands", "placement"]
