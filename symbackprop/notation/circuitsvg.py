"""SVG of a computation graph's circuit for a web page, at the TikZ circuit's own placement.

Nothing is laid out a second time: every gate and leaf sits where :func:`.circuit.placement` puts it for
TikZ (columns ``DX`` apart, rows ``DY``, y pointing down here), a gate is a circle with its symbol, a
leaf its name ending where TikZ anchors it, each wire carries its forward value above and its gradient
below, turned with the wire (TikZ's ``sloped``).  Labels stay LaTeX for KaTeX (see :func:`.svg.tex_box`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from ..engine.graphspec import GraphSpec
from .circuit import DX, DY, circuit_layout, gate_text, name_tex, operands
from .circuitlabels import NAME_SIDES, Wire
from .geometry import PT
from .svg import LABEL_PT, NODE_PT, PX, num, tex_box

#: cm: a gate's radius (TikZ: minimum size 0.95cm), where a leaf's name ends right of its column, the
#: gap between a wire and its label, the margin round the picture
RADIUS, LEAF_END, GAP, MARGIN = 0.475, 0.8, 0.05, 0.2
#: cm: a label box's height, and its width per character of its LaTeX (generous: the box is transparent)
LABEL_H, CHAR_W = 0.45, 0.16

Point = tuple[float, float]


_TFRAC = re.compile(r"\\tfrac\{[^{}]*\}\{[^{}]*\}")


def _gate_size(tex: str) -> float:
    """A gate symbol's font size (px): the node size, smaller for a symbol wider than three characters
    (``\\times(-1)``), which TikZ fits by growing the circle; a ``\\tfrac`` is one character wide (its digits
    stacked small)."""
    shown = len(re.sub(r"\\[A-Za-z]+", "x", _TFRAC.sub("x", tex)).replace("{", "").replace("}", ""))
    return NODE_PT * PT * PX * max(0.55, min(1.0, 3.2 / max(1, shown)))


def _label(css: str, at: Point, angle: float, tex: str, below: bool) -> str:
    """A wire's label centred on ``at`` (cm, y down), above or below the wire, turned by ``angle`` degrees."""
    width = max(0.8, CHAR_W * len(tex))
    x, y = at
    top = y + GAP if below else y - GAP - LABEL_H
    turn = f' transform="rotate({num(angle)} {num(x * PX)} {num(y * PX)})"' if abs(angle) > 0.5 else ""
    return tex_box(css, num((x - width / 2) * PX), num(top * PX), num(width * PX), num(LABEL_H * PX),
                   LABEL_PT * PT * PX, tex, True, turn)


def _wire(start: Point, end: Point, trim: tuple[float, float], pos: float, above: str, below: str,
          tip: bool = True) -> list[str]:
    """A wire from ``start`` to ``end`` (cm), cut ``trim`` short at each end (a circle's border), with an
    arrow tip (unless a detour goes on) and its labels at ``pos`` along it."""
    (ax, ay), (bx, by) = start, end
    length = math.hypot(bx - ax, by - ay)
    ux, uy = (bx - ax) / length, (by - ay) / length
    p = (ax + ux * trim[0], ay + uy * trim[0])
    q = (bx - ux * trim[1], by - uy * trim[1])
    out = [_line(p, q, tip)]
    at = (p[0] + (q[0] - p[0]) * pos, p[1] + (q[1] - p[1]) * pos)
    angle = math.degrees(math.atan2(uy, ux))
    if above:
        out.append(_label("fwd", at, angle, above, below=False))
    if below:
        out.append(_label("bwd", at, angle, below, below=True))
    return out


def _detour(wire: Wire, shift: Callable[[Point], Point], pos: float, above: str, below: str) -> list[str]:
    """A detoured wire (its path in cm, y up, from the source's border to the target's): the pieces up to its
    level stretch and after it as lines, the stretch with the labels and the arrow tip at the end."""
    a, b, c, d = (shift((x, -y)) for x, y in wire.bends)
    return [_line(a, b, tip=False), *_wire(b, c, (0.0, 0.0), pos, above, below, tip=False), _line(c, d, tip=True)]


def _line(p: Point, q: Point, tip: bool) -> str:
    end = ' marker-end="url(#circuit-tip)"' if tip else ""
    return (f'<line class="wire" x1="{num(p[0] * PX)}" y1="{num(p[1] * PX)}" x2="{num(q[0] * PX)}" '
            f'y2="{num(q[1] * PX)}"{end}/>')


def circuit_svg(spec: GraphSpec, values: Mapping[str, str], shares: Mapping[tuple[str, str], str],
                output_gradient: str) -> str:
    """One ``<svg>``: leaves on the left, one circle per gate, the output wire on the right; ``values`` by
    name and ``shares`` by (consumer, operand) are display texts (maths; a missing or empty one is left
    off), as for :func:`.circuit.circuit_tikz`, whose column spacing and label positions it takes."""
    layout = circuit_layout(spec, values, shares, output_gradient)
    place, columns = layout.place, layout.xs
    ends = {name: (columns[c], row * DY) for name, (c, row) in place.items()}  # cm, y down
    leaves = [leaf.name for leaf in spec.leaves if leaf.name in place]  # a builder may leave shared ones out
    for name in leaves:
        ends[name] = (ends[name][0] + LEAF_END, ends[name][1])
    oc, orow = place[spec.output]
    out_end = (columns[oc] + 0.9 * DX, orow * DY)
    xs = [x for x, _ in ends.values()] + [out_end[0]]
    ys = [y for _, y in ends.values()]
    widest = max((CHAR_W * len(name_tex(n)) for n in leaves), default=0.0)
    left = min(xs) - RADIUS - widest - MARGIN
    top, bottom = min(ys) - RADIUS - 0.45 - MARGIN, max(ys) + RADIUS + MARGIN
    right = max(xs) + MARGIN

    def shift(p: Point) -> Point:
        return p[0] - left, p[1] - top

    width, height = (right - left) * PX, (bottom - top) * PX
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="circuit" viewBox="0 0 {num(width)} {num(height)}" '
           f'width="{num(width)}" height="{num(height)}" role="img" aria-label="the circuit">',
           '<defs><marker id="circuit-tip" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    is_leaf = set(leaves)
    bent = {wire.key: wire for wire in layout.wires if wire.bends}
    for node in spec.nodes:
        drawn = [o for o in operands(node) if o in place]
        for operand in drawn:
            pos = layout.pos[node.name, operand]
            key = (node.name, operand)
            if key in bent:  # a detour round the gates of a column it skips, as TikZ draws it
                out += _detour(bent[key], shift, pos, values.get(operand, ""), shares.get(key, ""))
                continue
            trim = (0.07 if operand in is_leaf else RADIUS, RADIUS)
            out += _wire(shift(ends[operand]), shift(ends[node.name]), trim, pos, values.get(operand, ""),
                         shares.get(key, ""))
    out += _wire(shift(ends[spec.output]), shift(out_end), (RADIUS, 0.0), layout.pos[spec.output, ""],
                 values.get(spec.output, ""), output_gradient)
    gate_size, name_size = NODE_PT * PT * PX, LABEL_PT * PT * PX
    for node in spec.nodes:
        x, y = shift(ends[node.name])
        out.append(f'<circle class="gate" cx="{num(x * PX)}" cy="{num(y * PX)}" r="{num(RADIUS * PX)}"/>')
        symbol = gate_text(node.definition)
        out.append(tex_box("gate-text", num((x - RADIUS) * PX), num((y - RADIUS) * PX), num(2 * RADIUS * PX),
                           num(2 * RADIUS * PX), _gate_size(symbol), symbol, False))
        ux, uy = NAME_SIDES[layout.sides[node.name]]  # y up: the name's box (1.2 x 0.4 cm) off the circle that way
        cx = x + RADIUS * ux + (0.6 * math.copysign(1, ux) if ux else 0.0)
        cy = y - RADIUS * uy - (0.22 * math.copysign(1, uy) if uy else 0.0)
        out.append(tex_box("gate-name", num((cx - 0.6) * PX), num((cy - 0.2) * PX), num(1.2 * PX),
                           num(0.4 * PX), name_size, name_tex(node.name), False))
    for name in leaves:
        x, y = shift(ends[name])
        box = max(0.6, CHAR_W * len(name_tex(name)))
        out.append(tex_box("leaf-text", num((x - box) * PX), num((y - 0.25) * PX), num(box * PX), num(0.5 * PX),
                           gate_size, name_tex(name), False))
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["circuit_svg"]
