"""SVG of the diagram's computed layout (the same shapes and edges TikZ draws), for a web page.

The picture is not drawn a second time: :func:`~.diagram.diagram` lays it out in centimetres and this
module only writes that layout as SVG (y pointing down).  Labels stay LaTeX: each is a
``<foreignObject>`` holding a ``<span class="tex" data-tex="...">`` for KaTeX to typeset in the page.
"""

from __future__ import annotations

from html import escape

from .diagram import Layout
from .geometry import PT, Shape

#: pixels per centimetre (TikZ's 1 cm)
PX = 48.0
MARGIN = 0.3
#: font sizes in pt, as the TikZ picture uses them (unit and loss labels; edge labels)
NODE_PT, LABEL_PT = 10.0, 8.0
_EDGE_CLASS = {"edge": "edge", "path": "edge path", "lossedge": "edge dashed", "biasedge": "edge dashed",
               "pathbias": "edge path dashed"}


def num(value: float) -> str:
    """A coordinate as short text: two decimals at most, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def layout_svg(layout: Layout) -> str:
    """The layout as one ``<svg>`` element (arrow tips, dashed bias and loss edges, white-filled nodes)."""
    shapes = list(layout.shapes.values())
    left = min(s.cx - s.hw for s in shapes) - MARGIN
    right = max(s.cx + s.hw for s in shapes) + MARGIN
    top = max(s.cy + s.hh for s in shapes) + MARGIN
    bottom = min(s.cy - s.hh for s in shapes) - MARGIN

    def x(cm: float) -> str:
        return num((cm - left) * PX)

    def y(cm: float) -> str:
        return num((top - cm) * PX)

    width, height = (right - left) * PX, (top - bottom) * PX
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {num(width)} {num(height)}" '
           f'width="{num(width)}" height="{num(height)}" role="img" aria-label="the network">',
           '<defs><marker id="tip" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for edge in layout.edges:
        (px, py), (qx, qy) = layout.ends(edge)
        css = _EDGE_CLASS.get(edge.style.split(",")[0].strip(), "edge")
        tip = "" if edge.background else ' marker-end="url(#tip)"'
        out.append(f'<line class="{css}" x1="{x(px)}" y1="{y(py)}" x2="{x(qx)}" y2="{y(qy)}"{tip}/>')
    for s in shapes:
        if s.kind == "label":
            continue
        if s.round:
            out.append(f'<circle class="{s.kind}" cx="{x(s.cx)}" cy="{y(s.cy)}" r="{num(s.hw * PX)}"/>')
        else:
            rounded = ' rx="4"' if s.kind == "loss" else ""
            out.append(f'<rect class="{s.kind}" x="{x(s.cx - s.hw)}" y="{y(s.cy + s.hh)}" width="{num(2 * s.hw * PX)}" '
                       f'height="{num(2 * s.hh * PX)}"{rounded}/>')
    for s in shapes:
        if s.text:
            out.append(_text(s, x(s.cx - s.hw), y(s.cy + s.hh)))
    out.append("</svg>")
    return "\n".join(out)


def _text(s: Shape, x: str, y: str) -> str:
    """A label box the size of its shape."""
    size = (LABEL_PT if s.kind == "label" else NODE_PT) * PT * PX
    return tex_box(f"{s.kind}-text", x, y, num(2 * s.hw * PX), num(2 * s.hh * PX), size, s.text.strip("$"),
                   s.kind == "label")


def tex_box(css: str, x: str, y: str, width: str, height: str, size: float, tex: str, fill: bool,
            extra: str = "") -> str:
    """A ``<foreignObject>`` holding LaTeX for KaTeX (escaped: a value or a name, never raw HTML); ``fill``: on
    a white background (a label over a line); ``extra``: more attributes (a rotation)."""
    background = ' style="background:#fff"' if fill else ""
    return (f'<foreignObject class="{css}" x="{x}" y="{y}" width="{width}" height="{height}"{extra}>'
            f'<div xmlns="http://www.w3.org/1999/xhtml" class="svgtex" style="font-size:{num(size)}px">'
            f'<span class="tex"{background} data-tex="{escape(tex)}">{escape(tex)}</span></div></foreignObject>')


__all__ = ["PX", "LABEL_PT", "NODE_PT", "layout_svg", "num", "tex_box"]
