"""Plane geometry for the network drawing: shapes, edges, their clearances, and TeX text extents.

The diagram is laid out in Python (centimetres) so that overlaps can be found, and avoided, before
TikZ draws anything; this module knows nothing of networks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: centimetres per TeX point
PT = 2.54 / 72.27


@dataclass(frozen=True)
class Shape:
    """A drawn node: a circle (``round``; ``hw`` = ``hh`` = radius) or a box with half extents."""

    name: str
    kind: str  # "unit", "bias", "loss" or "label"
    cx: float
    cy: float
    hw: float
    hh: float
    round: bool = False
    text: str = ""
    owner: str = ""  # a label: the edge it names


@dataclass(frozen=True)
class Edge:
    name: str
    a: str  # the names of the shapes it joins
    b: str
    style: str  # the TikZ style
    background: bool = False  # an unlabelled thin edge of a big network: labels may cover it
    param: str = ""  # the parameter it carries, when that is not its name (a shared bias)


def shape_gap(s: Shape, t: Shape) -> float:
    """Distance between two shapes (negative: they overlap); a circle against a box is exact."""
    if s.round and t.round:
        return math.hypot(s.cx - t.cx, s.cy - t.cy) - s.hw - t.hw
    if s.round or t.round:
        circle, box = (s, t) if s.round else (t, s)
        return _box_distance(box, circle.cx, circle.cy) - circle.hw
    dx = abs(s.cx - t.cx) - s.hw - t.hw
    dy = abs(s.cy - t.cy) - s.hh - t.hh
    return math.hypot(dx, dy) if dx > 0 and dy > 0 else max(dx, dy)


def _box_distance(box: Shape, x: float, y: float) -> float:
    dx, dy = abs(x - box.cx) - box.hw, abs(y - box.cy) - box.hh
    return math.hypot(max(dx, 0.0), max(dy, 0.0)) if dx > 0 or dy > 0 else max(dx, dy)


def segment_gap(shape: Shape, p: tuple[float, float], q: tuple[float, float]) -> float:
    """Distance from the segment ``p``-``q`` to the shape (negative or zero: the segment enters it)."""
    if shape.round:
        return _point_segment(shape.cx, shape.cy, p, q) - shape.hw
    if _clip(shape, p, q) is not None:
        return 0.0
    corners = [(shape.cx + sx * shape.hw, shape.cy + sy * shape.hh) for sx in (-1, 1) for sy in (-1, 1)]
    return min([_point_segment(x, y, p, q) for x, y in corners] + [_box_distance(shape, *p), _box_distance(shape, *q)])


def _point_segment(x: float, y: float, p: tuple[float, float], q: tuple[float, float]) -> float:
    vx, vy = q[0] - p[0], q[1] - p[1]
    length2 = vx * vx + vy * vy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - p[0]) * vx + (y - p[1]) * vy) / length2))
    return math.hypot(p[0] + t * vx - x, p[1] + t * vy - y)


def _clip(box: Shape, p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float] | None:
    """Liang-Barsky: the parameter range of ``p``-``q`` inside the box, or None."""
    t0, t1 = 0.0, 1.0
    d = (q[0] - p[0], q[1] - p[1])
    for axis, half in ((0, box.hw), (1, box.hh)):
        centre = box.cx if axis == 0 else box.cy
        for sign in (-1, 1):
            num = sign * (p[axis] - centre) - half  # inside when <= 0 along this face
            den = sign * d[axis]
            if den == 0:
                if num > 0:
                    return None
                continue
            t = -num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return (t0, t1) if t0 <= t1 else None


def border_point(shape: Shape, toward: tuple[float, float], outset: float = 0.0) -> tuple[float, float]:
    """Where the ray from the shape's centre toward a point leaves the shape (plus ``outset``)."""
    dx, dy = toward[0] - shape.cx, toward[1] - shape.cy
    length = math.hypot(dx, dy) or 1.0
    if shape.round:
        reach = shape.hw + outset
    else:
        reach = min((shape.hw + outset) / abs(dx) if dx else math.inf,
                    (shape.hh + outset) / abs(dy) if dy else math.inf) * length
    return shape.cx + dx / length * reach, shape.cy + dy / length * reach


# -- text extents -------------------------------------------------------------------------------------

_CHAR_EM = {".": 0.28, ",": 0.28, "(": 0.39, ")": 0.39, "-": 0.78, "+": 0.78, "=": 0.78, "/": 0.5,
            "w": 0.72, "m": 0.88, "'": 0.3}
_COMMAND_EM = {r"\cdot": 0.78, r"\,": 0.17, r"\;": 0.28, r"\quad": 1.0, r"\prime": 0.3}
#: a script's size against its base at the small sizes labels use (8 pt text: 6 pt scripts, 5 pt below)
SCRIPT = 0.78
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}_^]|[^\s{}_^\\]")


def text_extent(tex: str) -> tuple[float, float]:
    """Estimated (width, height + depth) in em of a short label such as ``$w^{(2)}_{11}$`` or ``$-0.30$``.

    Generous by design (the widest glyphs of Computer Modern italic), so that a label placed off its
    neighbours by this estimate is off them on the page too.
    """
    tokens = _TOKEN.findall(tex.replace("$", ""))
    width, up, down, _ = _measure(tokens, 0)
    return width * 1.05, 0.75 + up + 0.25 + down


def _measure(tokens: list[str], at: int) -> tuple[float, float, float, int]:
    """Width, extra height, extra depth of tokens from ``at`` up to a closing brace; and where it stopped."""
    width = up = down = 0.0
    while at < len(tokens):
        token = tokens[at]
        at += 1
        if token == "}":
            break
        if token in ("_", "^"):
            w, u, d, at = _argument(tokens, at)
            script = SCRIPT * w + 0.1  # the script size, and TeX's \scriptspace
            if token == "^":
                up = max(up, 0.35 + SCRIPT * u)
            else:
                down = max(down, 0.2 + SCRIPT * d)
            # a sub- and superscript on one base stack: the second adds only its excess width
            if at < len(tokens) and tokens[at] in ("_", "^") and tokens[at] != token:
                w2, u2, d2, at = _argument(tokens, at + 1)
                script = max(script, SCRIPT * w2 + 0.1)
                if token == "^":
                    down = max(down, 0.2 + SCRIPT * d2)
                else:
                    up = max(up, 0.35 + SCRIPT * u2)
            width += script
            continue
        if token == "{":
            w, u, d, at = _measure(tokens, at)
        elif token == r"\frac":
            w1, _, _, at = _argument(tokens, at)
            w2, _, _, at = _argument(tokens, at)
            w, u, d = max(w1, w2) * SCRIPT + 0.3, 0.35, 0.35
        elif token in (r"\mathrm", r"\text", r"\mathit", r"\mathbf", r"\operatorname"):
            w, u, d, at = _argument(tokens, at)
        elif token in (r"\hat", r"\bar", r"\tilde", r"\vec", r"\widehat"):
            w, u, d, at = _argument(tokens, at)
            u += 0.2
        elif token.startswith("\\"):
            w, u, d = _COMMAND_EM.get(token, 0.62), 0.0, 0.0
        else:
            w, u, d = _CHAR_EM.get(token, 0.85 if token.isupper() else 0.62 if token.isalpha() else 0.55), 0.0, 0.0
        width += w
        up, down = max(up, u), max(down, d)
    return width, up, down, at


def _argument(tokens: list[str], at: int) -> tuple[float, float, float, int]:
    if at < len(tokens) and tokens[at] == "{":
        return _measure(tokens, at + 1)
    if at < len(tokens):
        return _measure([tokens[at], "}"], 0)[:3] + (at + 1,)
    return 0.0, 0.0, 0.0, at
