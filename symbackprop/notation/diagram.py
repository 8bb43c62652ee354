"""The one TikZ drawer of the network: the handout's full picture and the slides' map.

Python lays the picture out (centimetres) and TikZ only draws it, so overlaps are found and
avoided before anything is printed: units keep a gap, bias nodes and labels stay off units and
other labels, a label sits on no edge but its own, and no edge brushes a unit it does not join
(``Layout.conflicts`` lists any breach; the tests require none).  Edges are drawn first, between
the node borders, and the nodes on top of them.

Full style: small networks (every layer at most ``LABEL_ALL_MAX`` units) get every edge labelled
with its weight's symbol (or value) and one bias node ``1`` per layer; larger ones get thin
unlabelled edges, one highlighted path labelled (with a bias node for each of its units) and a
legend; there the thin background edges may pass under a label.  Map style (the slides): small
units, no labels on edges, no bias nodes, overlays that light units and edges up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from ..engine.derive import structure
from ..engine.network import Network
from .geometry import PT, Edge, Shape, border_point, segment_gap, shape_gap, text_extent
from .lines import exact_text

#: label every edge when no layer (inputs included) has more units than this
LABEL_ALL_MAX = 3
#: the tallest map column spans at most this many cm (a 16-unit layer fits beside a frame's equations)
MAP_HEIGHT = 5.4
#: the shortest edge from the map's outputs to its loss (cm, border to border): as long as the edges
#: between the columns of a small map
MAP_EDGE = 0.45
#: least distances (cm): between the units of a column; between a unit and a label or bias node;
#: between any other two shapes; between an edge and a unit it does not join; between an edge and
#: any other shape it does not belong to
UNIT_GAP, LABEL_GAP, GAP, UNIT_CLEAR, CLEAR = 0.15, 0.1, 0.03, 0.12, 0.12
#: TeX font sizes in pt, 11 pt documents (article and beamer alike)
FONT_PT = {"small": 10.0, "footnotesize": 9.0, "scriptsize": 8.0}
#: where along an edge a label may sit, most wanted first (0 = the source's border, 1 = the target's):
#: a weight's near its source (as the lecture draws it), a bias's halfway; steps of 1/40
WEIGHT_POS = tuple(sorted((t / 40 for t in range(4, 33)), key=lambda t: (abs(t - 0.3), t)))
BIAS_POS = tuple(sorted((t / 40 for t in range(6, 33)), key=lambda t: (abs(t - 0.45), t)))


@dataclass
class Layout:
    """Every shape and edge of one picture, in cm."""

    shapes: dict[str, Shape] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    tolerant: bool = False  # the last resort: everything fits (each thing at its first choice)

    def add(self, shape: Shape) -> Shape:
        self.shapes[shape.name] = shape
        return shape

    def ends(self, edge: Edge, outset: float = 0.0) -> tuple[tuple[float, float], tuple[float, float]]:
        """The edge from border to border (``outset``: beyond the border, e.g. half the line width)."""
        a, b = self.shapes[edge.a], self.shapes[edge.b]
        return border_point(a, (b.cx, b.cy), outset), border_point(b, (a.cx, a.cy), outset)

    def conflicts(self) -> list[str]:
        """Every overlap, as ``what: a / b`` (empty: the picture is clean)."""
        found = []
        shapes = list(self.shapes.values())
        for i, s in enumerate(shapes):
            for t in shapes[i + 1:]:
                if shape_gap(s, t) < _least_gap(s, t):
                    found.append(f"shapes touch: {s.name} / {t.name}")
        for edge in self.edges:
            p, q = self.ends(edge)
            for s in shapes:
                if s.name in (edge.a, edge.b) or s.owner == edge.name:
                    continue
                if edge.background and s.kind in ("label", "bias", "unit"):
                    continue  # a big network's mesh passes under labels and behind the white units
                if segment_gap(s, p, q) < (UNIT_CLEAR if s.kind == "unit" else CLEAR):
                    found.append(f"edge crosses: {edge.name} / {s.name}")
        return found

    def fits(self, shape: Shape, owner_edges: Iterable[Edge] = ()) -> bool:
        """Whether ``shape`` (not yet added) keeps clear of everything, its own edges meeting it aside."""
        if self.tolerant:
            return True
        own = {e.name for e in owner_edges}
        for t in self.shapes.values():
            if shape_gap(shape, t) < _least_gap(shape, t):
                return False
        clear = UNIT_CLEAR if shape.kind == "unit" else CLEAR
        # an edge whose bounding box lies farther than ``clear`` from the shape's cannot come closer
        left, right = shape.cx - shape.hw - clear, shape.cx + shape.hw + clear
        bottom, top = shape.cy - shape.hh - clear, shape.cy + shape.hh + clear
        for edge in self.edges:
            if edge.name in own or edge.name == shape.owner or shape.name in (edge.a, edge.b):
                continue
            if edge.background and shape.kind in ("label", "bias", "unit"):
                continue
            p, q = self.ends(edge)
            if max(p[0], q[0]) < left or min(p[0], q[0]) > right or max(p[1], q[1]) < bottom or min(p[1], q[1]) > top:
                continue
            if segment_gap(shape, p, q) < clear:
                return False
        return True

    def edge_clear(self, edge: Edge) -> bool:
        """Whether a new edge keeps clear of every shape it does not join (labels included)."""
        p, q = self.ends(edge)
        return self.tolerant or all(segment_gap(s, p, q) >= (UNIT_CLEAR if s.kind == "unit" else CLEAR)
                                    for s in self.shapes.values()
                                    if s.name not in (edge.a, edge.b) and s.owner != edge.name)


def _least_gap(s: Shape, t: Shape) -> float:
    kinds = {s.kind, t.kind}
    if kinds == {"unit"}:
        return UNIT_GAP
    return LABEL_GAP if "unit" in kinds and kinds & {"label", "bias"} else GAP


@dataclass(frozen=True)
class Legend:
    """What the words below a partly labelled picture need (the words are the templates'): whether the
    names are sequential (``w1, w2``) or indexed by layer, and an indexed example weight's LaTeX."""

    sequential: bool
    weight: str


@dataclass(frozen=True)
class Diagram:
    tikz: str  # a complete tikzpicture environment
    legend: Legend | None  # what the legend below the picture says (None when every edge is labelled)
    labelled_all: bool
    layout: Layout | None = None


class MapStep(Protocol):
    """One overlay of a slide: the units ringed and the edges drawn bold."""

    rings: list[tuple[int, int]]
    edges: list[tuple[tuple[int, int], tuple[int, int]]]


def _node(layer: int, j: int) -> str:
    return f"L{layer}u{j}"


def _cm(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _em(size: str) -> float:
    return FONT_PT[size] * PT


def _sizes(network: Network) -> list[int]:
    return [network.spec.n_inputs] + [layer.size for layer in network.layers]


def _column_y(n: int, j: int, dy: float) -> float:
    return ((n + 1) / 2 - j) * dy


# -- the full picture ----------------------------------------------------------------------------------

def diagram(network: Network, edge_values: bool = False, highlight: list[tuple[int, int]] | None = None,
            values: Mapping[str, str] | None = None, roomy: bool = False, label_font: str = "scriptsize") -> Diagram:
    """The full picture of ``network``; ``highlight`` = the (layer, unit) path labelled when it is big.

    ``values`` maps parameter names to the text of their values (``--edge-values``).  ``roomy`` (the
    handout and slides): a margin inside each unit, so a word label such as ``\\mathrm{out}_{h_{1}}``
    has room in its circle.  ``label_font``: the edge labels' size (the slides use ``footnotesize``).

    The picture depends on the network's structure and these arguments only, never on its values
    (unless they label the edges): an exam's variants share one layout, computed once per process.
    """
    shown = tuple(sorted(values.items())) if edge_values and values is not None else None
    key = (structure(network.spec), edge_values, tuple(highlight or ()), shown, roomy, label_font)
    found = _DIAGRAMS.get(key)
    if found is None:
        if len(_DIAGRAMS) >= _DIAGRAMS_KEPT:
            _DIAGRAMS.clear()
        found = _DIAGRAMS[key] = _diagram(network, edge_values, highlight, values, roomy, label_font)
    return found


#: pictures laid out in this process, by what they depend on (see :func:`diagram`)
_DIAGRAMS: dict[tuple[object, ...], Diagram] = {}
_DIAGRAMS_KEPT = 64


def _diagram(network: Network, edge_values: bool, highlight: list[tuple[int, int]] | None,
             values: Mapping[str, str] | None, roomy: bool, label_font: str) -> Diagram:
    sizes = _sizes(network)
    label_all = max(sizes) <= LABEL_ALL_MAX
    unit_font = "small" if label_all else "footnotesize"
    texts = _label_texts(network, values if edge_values else None)
    path = set(highlight or [])
    dx, dy = (3.4, 1.9) if label_all else (2.9, 0.0)
    gaps = [dx] * (len(sizes) - 1)  # from each column to the next
    layout: Layout | int = 0
    for _ in range(24):  # widen until every label finds a place (a few rounds at most)
        layout = _full_layout(network, sizes, gaps, dy, unit_font, label_font, texts, path, label_all, roomy)
        if isinstance(layout, Layout):
            break
        if label_all:  # small: more room everywhere, mostly upwards
            gaps, dy = [g * 1.04 for g in gaps], dy * 1.12
        else:  # big: only the gap before the crowded column
            gaps[layout - 1] *= 1.08
    if not isinstance(layout, Layout):  # never seen; a picture with an overlap beats no handout
        layout = _full_layout(network, sizes, gaps, dy, unit_font, label_font, texts, path, label_all, roomy, True)
        assert isinstance(layout, Layout)
    tikz = _full_tikz(layout, unit_font, label_font, label_all)
    return Diagram(tikz, None if label_all else _legend(network), label_all, layout)


def _label_texts(network: Network, values: Mapping[str, str] | None) -> dict[str, str]:
    return {p.name: values[p.name] if values else f"${network[p.name].latex}$" for p in network.parameters}


def _unit_shapes(network: Network, sizes: list[int], xs: list[float], dy: float, font: str, roomy: bool,
                 least: float, prefix: str = "L", labels: bool = True) -> list[Shape]:
    """The units, column by column, centred on y = 0; each circle fits its label."""
    namer, em, inner = network.namer, _em(font), (2.5 if roomy else 1.0) * PT
    shapes = []
    for column, n in enumerate(sizes):
        for j in range(1, n + 1):
            text = ""
            if labels:
                symbol = namer.input(j).latex if column == 0 else namer.act(column, j).latex
                text = f"${symbol}$"
            w, h = text_extent(text) if text else (0.0, 0.0)
            radius = max(least, ((w * em) ** 2 + (h * em) ** 2) ** 0.5 / 2 + inner)
            shapes.append(Shape(f"{prefix}{column}u{j}", "unit", xs[column], _column_y(n, j, dy), radius, radius,
                                True, text))
    return shapes


def _full_layout(network: Network, sizes: list[int], gaps: list[float], dy: float, unit_font: str, label_font: str,
                 texts: dict[str, str], path: set[tuple[int, int]], label_all: bool, roomy: bool,
                 tolerant: bool = False) -> Layout | int:
    """The picture, or the column whose gap to the left is too narrow for it."""
    layout = Layout(tolerant=tolerant)
    xs = [sum(gaps[:c]) for c in range(len(sizes))]
    units = _unit_shapes(network, sizes, xs, 1.0, unit_font, roomy, 0.45 if label_all else 0.3)
    radius = max(u.hw for u in units)
    if not label_all:  # a big network: the column as tight as the gap allows
        dy = max(dy, 2 * radius + UNIT_GAP + 0.05)
    for unit in units:
        layout.add(replace(unit, cy=unit.cy * dy))
    last = len(sizes) - 1
    loss_text = f"${network[network.loss_name].latex}$"
    w, h = text_extent(loss_text)
    em = _em(unit_font)
    least = 0.45 if label_all else 0.3
    layout.add(Shape("loss", "loss", xs[-1] + (2.55 if label_all else 2.2), 0.0, max(least, w * em / 2 + 3 * PT),
                     max(least, h * em / 2 + 3 * PT), False, loss_text))
    for j in range(1, sizes[-1] + 1):
        layout.edges.append(Edge(f"loss{j}", _node(last, j), "loss", "lossedge"))
    weights = []
    for layer in network.layers:
        li = layer.index
        for j in range(1, layer.size + 1):
            for k in range(1, sizes[li - 1] + 1):
                name = network.weight_name(li, j, k)
                on_path = (li - 1, k) in path and (li, j) in path
                labelled = label_all or on_path
                edge = Edge(name, _node(li - 1, k), _node(li, j), "path" if on_path and not label_all else "edge",
                            background=not labelled)
                layout.edges.append(edge)
                if labelled:
                    weights.append(edge)
    for edge in weights:
        if not layout.edge_clear(edge):
            return _column(edge)  # a labelled edge brushes a unit: more room
    if label_all:
        placed = _layer_biases(network, layout, xs, dy, unit_font)
    else:
        placed = _path_biases(network, layout, xs, dy, path)
    if isinstance(placed, int):
        return placed
    font_em = _em(label_font)
    for edge in weights + placed:
        positions = WEIGHT_POS if edge in weights else BIAS_POS
        if not _place_label(layout, edge, texts[edge.param or edge.name], font_em, positions):
            return _column(edge)
    return layout


def _column(edge: Edge) -> int:
    """The column an edge enters (its target unit ``L<column>u<j>``)."""
    return int(edge.b[1:].split("u")[0])


def _layer_biases(network: Network, layout: Layout, xs: list[float], dy: float, font: str) -> list[Edge] | int:
    """One bias node ``1`` per layer, below and left of the layer's units, its edges clear of other units."""
    side = max(0.5, text_extent("$1$")[0] * _em(font) + 2 * PT)
    bottom = min(u.cy - u.hw for u in layout.shapes.values() if u.kind == "unit")
    edges: list[Edge] = []
    for layer in network.layers:
        li = layer.index
        for drop in (0.9, 1.3, 1.7, 2.2, 2.8):
            for back in (0.5, 0.55, 0.45, 0.6, 0.4, 0.65, 0.35):
                node = Shape(f"bias{li}", "bias", xs[li] - back * (xs[li] - xs[li - 1]), bottom - drop, side / 2,
                             side / 2, False, "$1$")
                mine = [Edge(f"bias{li}.{j}", node.name, _node(li, j), "biasedge", param=network.bias_name(li, j))
                        for j in range(1, layer.size + 1)]
                if not layout.fits(node):
                    continue
                layout.add(node)
                if all(layout.edge_clear(e) for e in mine):
                    layout.edges.extend(mine)
                    edges += mine
                    break
                del layout.shapes[node.name]
            else:
                continue
            break
        else:
            return li
    return edges


def _path_biases(network: Network, layout: Layout, xs: list[float], dy: float,
                 path: set[tuple[int, int]]) -> list[Edge] | int:
    """A big network: a small bias node ``1`` beside each unit of the highlighted path."""
    side = 0.4
    edges: list[Edge] = []
    for li, j in sorted(path):
        if li == 0:
            continue
        unit = layout.shapes[_node(li, j)]
        for back, up in ((0.5, 1.2), (0.5, -1.2), (0.45, 1.7), (0.45, -1.7), (0.6, 0.8), (0.6, -0.8),
                         (0.4, 1.0), (0.4, -1.0), (0.6, 2.2), (0.6, -2.2)):
            node = Shape(f"bias{li}u{j}", "bias", unit.cx - back * (xs[li] - xs[li - 1]), unit.cy + up * dy,
                         side / 2, side / 2, False, "$1$")
            edge = Edge(f"bias{li}.{j}", node.name, unit.name, "pathbias", param=network.bias_name(li, j))
            if not layout.fits(node):
                continue
            layout.add(node)
            if layout.edge_clear(edge):
                layout.edges.append(edge)
                edges.append(edge)
                break
            del layout.shapes[node.name]
        else:
            return li
    return edges


def _place_label(layout: Layout, edge: Edge, text: str, em: float, positions: Sequence[float]) -> bool:
    """Put the edge's label on it, at the first position where it keeps clear of everything else."""
    (px, py), (qx, qy) = layout.ends(edge)
    w, h = text_extent(text)
    half_w, half_h = w * em / 2 + 0.8 * PT, h * em / 2 + 0.8 * PT
    for t in positions:
        label = Shape(f"label:{edge.name}", "label", px + t * (qx - px), py + t * (qy - py), half_w, half_h,
                      False, text, owner=edge.name)
        if layout.fits(label):
            layout.add(label)
            return True
    return False


def _full_tikz(layout: Layout, unit_font: str, label_font: str, label_all: bool) -> str:
    # a big network's mesh without arrow tips: 16 tips at a unit would blot its left side
    edge_style = "->, thin" if label_all else "very thin, draw=black!45"
    lines = [
        rf"\begin{{tikzpicture}}[>=stealth, font=\{unit_font},",
        r"  unit/.style={circle, draw, thick, fill=white, inner sep=0pt},",
        r"  bias/.style={rectangle, draw, dashed, fill=white, inner sep=0pt},",
        r"  loss/.style={rectangle, rounded corners, draw, thick, fill=white, inner sep=0pt},",
        rf"  lab/.style={{fill=white, inner sep=0.8pt, font=\{label_font}}},",
        rf"  edge/.style={{{edge_style}}}, path/.style={{->, thick}}, lossedge/.style={{->, dashed}},",
        r"  biasedge/.style={->, thin, dashed}, pathbias/.style={->, thick, dashed}]",
    ]
    lines += _edge_lines(layout) + _node_lines(layout)
    for s in layout.shapes.values():
        if s.kind == "label":
            lines.append(rf"\node[lab] at ({_cm(s.cx)}, {_cm(s.cy)}) {{{s.text}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def _node_lines(layout: Layout) -> list[str]:
    """Every unit, bias and loss node at its centre, at least its computed size."""
    lines = []
    for s in layout.shapes.values():
        if s.kind == "label":
            continue
        if s.round:
            size = rf"minimum size={_cm(2 * s.hw)}cm"
        else:
            size = rf"minimum width={_cm(2 * s.hw)}cm, minimum height={_cm(2 * s.hh)}cm"
        lines.append(rf"\node[{s.kind}, {size}] ({s.name}) at ({_cm(s.cx)}, {_cm(s.cy)}) {{{s.text}}};")
    return lines


def _edge_lines(layout: Layout) -> list[str]:
    """Every edge from border to border (half a thick line beyond, so an arrow tip meets the circle)."""
    lines = []
    for edge in layout.edges:
        (px, py), (qx, qy) = layout.ends(edge, outset=0.4 * PT)
        lines.append(rf"\draw[{edge.style}] ({_cm(px)}, {_cm(py)}) -- ({_cm(qx)}, {_cm(qy)});")
    return lines


def _legend(network: Network) -> Legend:
    return Legend(network.namer.sequential, network.namer.weight(2 if len(network.layers) > 1 else 1, 1, 1).latex)


def value_labels(network: Network, values: Mapping[str, Decimal]) -> dict[str, str]:
    """Edge label texts for ``--edge-values``: each parameter's exact spec value."""
    return {p.name: f"${exact_text(values[p.name])}$" for p in network.parameters}


# -- the map (slides) -------------------------------------------------------------------------------------

def map_layout(network: Network, width: float = 3.5) -> Layout:
    """The map's units and edges: ``width`` cm from the inputs to the loss, the tallest column within
    ``MAP_HEIGHT``; unit labels only when every layer is small.

    The loss box sits at the map's right end; when the edges into it would be stubs, the columns move
    closer (the map never grows) until those edges are as long as the ones between the columns, or
    ``MAP_EDGE``.
    """
    sizes = _sizes(network)
    small = max(sizes) <= LABEL_ALL_MAX
    dy = 1.15 if small else round(min(max(0.42, min(0.8, 4.6 / max(sizes))), MAP_HEIGHT / (max(sizes) - 1)), 3)
    dx = round(min(1.45 * width / 3.5, width / (len(sizes) - 0.2)), 3)
    loss = f"${network[network.loss_name].latex}$"
    w, h = (x * _em("footnotesize") / 2 + PT for x in text_extent(loss))
    right = (len(sizes) - 0.2) * dx + max(_map_radius(small, dx, dy), w)  # the room the map has
    layout = _map_at(network, sizes, small, dx, dy, loss, right)
    for _ in range(20):
        radius = _map_radius(small, dx, dy)
        into_loss = min(math.dist(*layout.ends(e)) for e in layout.edges if e.b == "mloss")
        if into_loss >= min(MAP_EDGE, dx - 2 * radius):
            break
        dx = round(dx * 0.97, 3)
        layout = _map_at(network, sizes, small, dx, dy, loss, right)
    return layout


def _map_radius(small: bool, dx: float, dy: float) -> float:
    return min(0.4, (dx - UNIT_GAP) / 2 - 0.005) if small else min(0.17, (dy - UNIT_GAP) / 2 - 0.005, dx * 0.2)


def _map_at(network: Network, sizes: list[int], small: bool, dx: float, dy: float, loss: str,
            right: float) -> Layout:
    """The map with columns ``dx`` apart and the loss box ending at ``right``."""
    radius = _map_radius(small, dx, dy)
    layout = Layout()
    xs = [column * dx for column in range(len(sizes))]
    em = _em("footnotesize")
    units = _unit_shapes(network, sizes, xs, dy, "footnotesize", False, radius, prefix="m", labels=False)
    texts = [f"${_map_label(network, *(int(part) for part in u.name[1:].split('u')))}$" for u in units]
    # labels only when they fit the circles (a deep network's map has narrow columns)
    fit = small and all(sum(x * x for x in text_extent(t)) ** 0.5 * em / 2 + PT <= radius for t in texts)
    for unit, text in zip(units, texts, strict=True):
        layout.add(replace(unit, text=text if fit else ""))
    last = len(sizes) - 1
    # the loss box as small as its symbol allows (at most a unit's size): room for the edges into it
    least = min(radius, 0.25)
    w, h = (max(least, x * em / 2 + 2 * PT) for x in text_extent(loss))
    layout.add(Shape("mloss", "loss", round(right - w, 3), 0.0, w, h, False, loss))
    for j in range(1, sizes[-1] + 1):
        layout.edges.append(Edge(f"loss{j}", f"m{last}u{j}", "mloss", "edge, dashed"))
    for li in range(1, len(sizes)):
        for j in range(1, sizes[li] + 1):
            for k in range(1, sizes[li - 1] + 1):
                layout.edges.append(Edge(f"e{li}.{j}.{k}", f"m{li - 1}u{k}", f"m{li}u{j}", "edge", True))
    return layout


def network_map(network: Network, steps: Sequence[MapStep], width: float = 3.5) -> str:
    """The map as TikZ, with each step's highlights on its overlay (``\\only<i->``)."""
    layout = map_layout(network, width)
    sizes = _sizes(network)
    ring = _cm(2 * max(s.hw for s in layout.shapes.values() if s.kind == "unit"))
    lines = [r"\begin{tikzpicture}[font=\footnotesize,",
             r"  unit/.style={circle, draw, thick, inner sep=1pt, fill=white},",
             r"  loss/.style={rectangle, rounded corners, draw, thick, inner sep=1pt, fill=white},",
             rf"  lit/.style={{circle, draw=hot, line width=2.4pt, minimum size={ring}cm, inner sep=1pt}},",
             r"  edge/.style={draw=black!35}, litedge/.style={draw=hot, line width=2pt, ->, >=stealth}]"]
    lines += _edge_lines(layout) + _node_lines(layout)
    if not layout.shapes["m0u1"].text:  # no labels: a caption under each column
        for column, n in enumerate(sizes):
            bottom = layout.shapes[f"m{column}u{n}"]
            caption = "in" if column == 0 else ("out" if column == len(sizes) - 1 else f"{column}")
            lines.append(rf"\node[anchor=north] at ({_cm(bottom.cx)}, {_cm(bottom.cy - bottom.hw - 0.1)}) "
                         rf"{{{caption}}};")
    for i, step in enumerate(steps, start=1):
        marks = [rf"\draw[litedge] (m{a[0]}u{a[1]}) -- (m{b[0]}u{b[1]});" for a, b in step.edges]
        marks += [rf"\node[lit] at (m{layer}u{j}) {{}};" for layer, j in step.rings]
        if marks:
            spec = f"{i}-" if len(steps) > 1 else "1-"
            lines.append(rf"\only<{spec}>{{" + " ".join(marks) + "}")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def _map_label(network: Network, column: int, j: int) -> str:
    """A unit's label on the map: its activation's symbol, or the unit's own name when that symbol is a word.

    Textbook names such as ``\\mathrm{out}_{h_{1}}`` would make the circles too wide for the map column;
    the unit ``h_{1}`` says the same there (``h_{1}`` is how such textbooks draw the unit).
    """
    namer = network.namer
    if column == 0:
        return namer.input(j).latex
    if namer.sequential and len(namer.notation.act) > 1:
        return namer._unit_label(column, j)[1]  # the namer's own unit name: h_{1}, o, o_{2}
    return namer.act(column, j).latex
