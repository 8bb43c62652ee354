"""Where a circuit's wire labels sit: each wire's two labels slid along it until no label box overlaps
another, a gate's circle, a gate's name or a leaf's name, measured in centimetres as TikZ draws them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TypeVar

from .geometry import PT, text_extent

#: pt: the labels' font (\scriptsize) and the names' (\small) in an 11 pt document
LABEL_PT, NODE_PT = 8.0, 10.0
#: cm: a wire label's inner sep (1.5pt), a gate name's (TikZ's default .3333em), a leaf's (2pt)
LABEL_SEP, NAME_SEP, LEAF_SEP = 1.5 * PT, 0.3333 * LABEL_PT * PT, 2 * PT
#: cm: the clearance kept round a label's text (two labels' texts stay 1pt apart)
CLEAR = 0.5 * PT
#: cm: a gate's least radius (minimum size 0.95cm) and its inner sep (1pt)
RADIUS, GATE_SEP = 0.475, 1 * PT
#: where along a wire its labels may sit, most wanted first (after the wire's own preference)
CANDIDATES = (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8, 0.15, 0.85, 0.1, 0.9)
#: the places between, every 2.5% from 5% to 95%: tried last, by a wire that found no place among `CANDIDATES`
#: at any width of its circuit (one whose stretch many wires cross, as an RNN's fan of inputs does)
BETWEEN = tuple(sorted((p for p in (k / 40 for k in range(2, 39)) if p not in CANDIDATES),
                       key=lambda p: (abs(p - 0.5), p)))

#: cm: upright bounds this far apart part two boxes for sure (the separating axes' own margin is 1e-9)
APART = 1e-6

#: a label that is a plain number (a minus sign, digits, a point)
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

Point = tuple[float, float]
S = TypeVar("S", "Box", "Circle")


@dataclass(frozen=True)
class Box:
    """A rectangle turned so that its width runs along (ux, uy): a label, or an upright name (1, 0)."""

    owner: str
    cx: float
    cy: float
    hw: float
    hh: float
    ux: float = 1.0
    uy: float = 0.0

    def corners(self) -> list[Point]:
        return list(self._corners)

    @cached_property
    def _corners(self) -> tuple[Point, ...]:
        vx, vy = -self.uy, self.ux
        return tuple((self.cx + a * self.hw * self.ux + b * self.hh * vx,
                      self.cy + a * self.hw * self.uy + b * self.hh * vy)
                     for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)))

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top): the upright rectangle round the corners."""
        xs, ys = [x for x, _ in self._corners], [y for _, y in self._corners]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Circle:
    owner: str
    cx: float
    cy: float
    r: float

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top): the square round the circle."""
        return self.cx - self.r, self.cy - self.r, self.cx + self.r, self.cy + self.r


@dataclass(frozen=True)
class Wire:
    """The stretch of a wire its labels ride on (cm, y up), their texts, and where they would like to be."""

    key: tuple[str, str]  # (consumer, operand); the output wire: (output, "")
    start: Point
    end: Point
    above: str
    below: str
    pos: float = 0.5
    bends: tuple[Point, ...] = ()  # a detour: its path's points, from the source's border to the target's

    def lines(self) -> list[Box]:
        """The wire's straight pieces as boxes of no height, which another wire's labels must not cross."""
        path = self.bends or (self.start, self.end)
        return [piece(f"wire {self.key}", p, q) for p, q in zip(path, path[1:], strict=False)]


def piece(owner: str, p: Point, q: Point) -> Box:
    """A straight piece of wire from ``p`` to ``q``, as a box of no height."""
    length = math.hypot(q[0] - p[0], q[1] - p[1]) or 1.0
    return Box(owner, (p[0] + q[0]) / 2, (p[1] + q[1]) / 2, length / 2, 0.0, (q[0] - p[0]) / length,
               (q[1] - p[1]) / length)


def extent(tex: str, size_pt: float, sep: float) -> tuple[float, float]:
    """Half width and half height (cm) of a node holding ``$tex$`` at ``size_pt`` with inner sep ``sep``."""
    width, height = text_extent(tex)
    return width * size_pt * PT / 2 + sep, height * size_pt * PT / 2 + sep


def border(shape: Box | Circle, toward: Point) -> Point:
    """Where TikZ starts a wire at a node: its border on the way from its centre to ``toward``."""
    dx, dy = toward[0] - shape.cx, toward[1] - shape.cy
    length = math.hypot(dx, dy) or 1.0
    if isinstance(shape, Circle):
        reach = shape.r
    else:
        reach = min(shape.hw / abs(dx) if dx else math.inf, shape.hh / abs(dy) if dy else math.inf) * length
    return shape.cx + dx / length * reach, shape.cy + dy / length * reach


@cache
def label_extent(tex: str) -> tuple[float, float]:
    """A wire label's text's half extents: a plain number (the usual label) is as tall as TeX's digits and
    minus sign (0.74em), anything else as :func:`.geometry.text_extent` guesses."""
    hw, hh = extent(tex, LABEL_PT, 0.0)
    return (hw, 0.37 * LABEL_PT * PT) if NUMBER.fullmatch(tex) else (hw, hh)


def gate_circle(name: str, x: float, y: float, symbol: str) -> Circle:
    """A gate's circle: 0.95cm across, or as wide as its symbol's box needs (``\\times(-1)``)."""
    hw, hh = extent(symbol, NODE_PT, 0.0)
    return Circle(name, x, y, max(RADIUS, math.hypot(hw, hh) + GATE_SEP))


#: where a gate's name may sit (a TikZ ``label``'s position): the way from the circle's centre to the point of
#: its border the label touches, the label extending on from there
NAME_SIDES: dict[str, Point] = {"above": (0.0, 1.0), "above right": (math.sqrt(0.5), math.sqrt(0.5)),
                                "above left": (-math.sqrt(0.5), math.sqrt(0.5)), "below": (0.0, -1.0),
                                "below right": (math.sqrt(0.5), -math.sqrt(0.5)),
                                "below left": (-math.sqrt(0.5), -math.sqrt(0.5))}


def gate_name(name: str, circle: Circle, tex: str, side: str = "above") -> Box:
    """The gate's name on one `NAME_SIDES` side of its circle: ``above``, a TikZ ``label`` with its south anchor
    on the circle's top; ``above right``, its south west corner on the border 45 degrees up; and so on."""
    hw, hh = extent(tex, LABEL_PT, NAME_SEP)
    ux, uy = NAME_SIDES[side]
    off_x, off_y = (0.0 if u == 0 else math.copysign(extent, u) for u, extent in ((ux, hw), (uy, hh)))
    return Box(f"name {name}", circle.cx + circle.r * ux + off_x, circle.cy + circle.r * uy + off_y, hw, hh)


def leaf_name(name: str, x: float, y: float, tex: str) -> Box:
    """A leaf's name ending at ``x`` (anchor east)."""
    hw, hh = extent(tex, NODE_PT, LEAF_SEP)
    return Box(f"leaf {name}", x - hw, y, hw, hh)


def label_boxes(wire: Wire, pos: float) -> list[Box]:
    """The boxes of a wire's labels at ``pos`` along it: the forward value above, the gradient below
    (TikZ ``sloped`` turns them along the wire, upright)."""
    (ax, ay), (bx, by) = wire.start, wire.end
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    if ux < -1e-9 or (abs(ux) <= 1e-9 and uy < 0):  # TikZ keeps text upright: the frame turns half round
        ux, uy = -ux, -uy
    nx, ny = -uy, ux  # "above" in the turned frame
    px, py = ax + (bx - ax) * pos, ay + (by - ay) * pos
    boxes = []
    for side, tex in ((1, wire.above), (-1, wire.below)):
        if tex:
            hw, hh = label_extent(tex)
            off = hh + LABEL_SEP  # the text's centre, off the wire by its node's inner sep
            boxes.append(Box(f"label {wire.key} {'above' if side > 0 else 'below'}",
                             px + side * nx * off, py + side * ny * off, hw + CLEAR, hh + CLEAR, ux, uy))
    return boxes


def boxes_overlap(s: Box, t: Box) -> bool:
    """Separating axes: two turned rectangles overlap unless one of their four axes parts them (their
    projections on it, each centre plus or minus its reach, meet at most at an edge).  Two whose upright
    bounds lie clearly apart are apart (most pairs: checked first, it is cheap)."""
    (sl, sb, sr, st), (tl, tb, tr, tt) = s.bounds, t.bounds
    if sr + APART < tl or tr + APART < sl or st + APART < tb or tt + APART < sb:
        return False
    dx, dy = t.cx - s.cx, t.cy - s.cy
    cos, sin = abs(s.ux * t.ux + s.uy * t.uy), abs(s.ux * t.uy - s.uy * t.ux)  # between the two frames
    return not (abs(dx * s.ux + dy * s.uy) >= s.hw + t.hw * cos + t.hh * sin - 1e-9
                or abs(dy * s.ux - dx * s.uy) >= s.hh + t.hw * sin + t.hh * cos - 1e-9
                or abs(dx * t.ux + dy * t.uy) >= t.hw + s.hw * cos + s.hh * sin - 1e-9
                or abs(dy * t.ux - dx * t.uy) >= t.hh + s.hw * sin + s.hh * cos - 1e-9)


def box_circle_overlap(box: Box, circle: Circle) -> bool:
    """The circle's centre in the box's frame, then its distance from the box."""
    dx, dy = circle.cx - box.cx, circle.cy - box.cy
    along, across = abs(dx * box.ux + dy * box.uy), abs(-dx * box.uy + dy * box.ux)
    return math.hypot(max(along - box.hw, 0.0), max(across - box.hh, 0.0)) < circle.r


def clashes(box: Box, boxes: Sequence[Box], circles: Sequence[Circle]) -> bool:
    """Whether ``box`` overlaps one of ``boxes`` or ``circles``; only the shapes whose upright bounds reach its own
    are tested further (the first test of :func:`boxes_overlap`, here inline: most shapes are far apart)."""
    left, bottom, right, top = box.bounds
    right, top = right + APART, top + APART
    for b in boxes:
        bl, bb, br, bt = b.bounds
        if not (right < bl or br + APART < left or top < bb or bt + APART < bottom) and boxes_overlap(box, b):
            return True
    for c in circles:
        cl, cb, cr, ct = c.bounds
        if not (right < cl or cr + APART < left or top < cb or ct + APART < bottom) and box_circle_overlap(box, c):
            return True
    return False


class _Places:
    """A wire's places for its labels, in the order they are tried, each place's boxes made when first
    wanted, and an upright region all of them lie in (the wire's stretch, widened by the most a label box
    reaches from it).  A box or circle outside that region meets none of them (its bounds lie apart from all
    of theirs), so each search looks only at what is :meth:`near`."""

    def __init__(self, wire: Wire, between: bool = False) -> None:
        self.wire = wire
        self.order = tuple(dict.fromkeys((wire.pos, *CANDIDATES)))
        self.between = tuple(p for p in BETWEEN if p not in self.order) if between else ()
        self._boxes: dict[float, list[Box]] = {}
        reach = 0.0
        for tex in (wire.above, wire.below):
            if tex:
                hw, hh = label_extent(tex)
                reach = max(reach, hh + LABEL_SEP + math.hypot(hw + CLEAR, hh + CLEAR))
        (ax, ay), (bx, by) = wire.start, wire.end
        every = (*self.order, *self.between)
        ends = [(ax + (bx - ax) * pos, ay + (by - ay) * pos) for pos in (min(every), max(every))]
        reach += 1e-6  # rounding: a corner computed by label_boxes may lie a hair beyond
        self.region = (min(x for x, _ in ends) - reach, min(y for _, y in ends) - reach,
                       max(x for x, _ in ends) + reach, max(y for _, y in ends) + reach)

    def boxes(self, pos: float) -> list[Box]:
        if pos not in self._boxes:
            self._boxes[pos] = label_boxes(self.wire, pos)
        return self._boxes[pos]

    def near(self, shapes: Iterable[S]) -> list[S]:
        """The shapes whose upright bounds reach the region (as :func:`boxes_overlap` tells bounds apart)."""
        left, bottom, right, top = self.region
        return [s for s in shapes if not (s.bounds[2] + APART < left or right + APART < s.bounds[0]
                                           or s.bounds[3] + APART < bottom or top + APART < s.bounds[1])]


def settle(wires: Sequence[Wire], names: Sequence[Box], circles: Sequence[Circle],
           between: bool = False) -> tuple[dict[tuple[str, str], float], list[tuple[str, str]]]:
    """Each wire's label position, wire by wire: its own wish if its labels meet no name, circle, other
    wire or label placed so far, else the first of `CANDIDATES` that does, else one where moving a single
    earlier wire's labels makes room (with ``between``: then the same among the places `BETWEEN`); and the
    wires that found no place (their labels stay at their wish)."""
    places = {wire.key: _Places(wire, between) for wire in wires}
    lines = [(wire.key, b) for wire in wires for b in wire.lines()]
    # what each wire's labels must keep off and may not move: the names and the other wires, near it
    fixed = {key: place.near([*names, *(b for other, b in lines if other != key)]) for key, place in places.items()}
    near_circles = {key: place.near(circles) for key, place in places.items()}
    held: dict[tuple[str, str], list[Box]] = {}
    chosen: dict[tuple[str, str], float] = {}
    missed = []
    for wire in wires:
        place = places[wire.key]
        pos = _free(place, held, fixed[wire.key], near_circles[wire.key])
        if pos is None:
            pos = _make_room(place, places, held, chosen, fixed, near_circles)
        if pos is None and between:  # the places between, last: a wire that found one before keeps it
            pos = _free(place, held, fixed[wire.key], near_circles[wire.key], between=True)
        if pos is None and between:
            pos = _make_room(place, places, held, chosen, fixed, near_circles, between=True)
        if pos is None:
            pos = wire.pos
            missed.append(wire.key)
        chosen[wire.key] = pos
        held[wire.key] = place.boxes(pos)
    return chosen, missed


def _free(place: _Places, held: Mapping[tuple[str, str], list[Box]], fixed: Sequence[Box],
          circles: Sequence[Circle], skip: tuple[str, str] | None = None, extra: Sequence[Box] = (),
          between: bool = False) -> float | None:
    """The first place along the wire (``between``: of the places between) where its labels meet nothing fixed,
    no circle, none of ``extra`` and no held label (but ``skip``'s)."""
    others = [*fixed, *place.near([*extra, *(b for key, boxes in held.items() if key != skip for b in boxes)])]
    for pos in place.between if between else place.order:
        if not any(clashes(b, others, circles) for b in place.boxes(pos)):
            return pos
    return None


def _make_room(place: _Places, places: Mapping[tuple[str, str], _Places], held: dict[tuple[str, str], list[Box]],
               chosen: dict[tuple[str, str], float], fixed: Mapping[tuple[str, str], list[Box]],
               circles: Mapping[tuple[str, str], list[Circle]], between: bool = False) -> float | None:
    """A place for the wire's labels (``between``: of the places between) that only one earlier wire's labels
    are in, when that wire's labels have a free place elsewhere (clear of these too): they move there."""
    key = place.wire.key
    for pos in place.between if between else place.order:
        boxes = place.boxes(pos)
        if any(clashes(b, fixed[key], circles[key]) for b in boxes):
            continue
        hit = [other for other, theirs in held.items() if any(boxes_overlap(b, o) for b in boxes for o in theirs)]
        if len(hit) != 1:
            continue
        moved = _free(places[hit[0]], held, fixed[hit[0]], circles[hit[0]], skip=hit[0], extra=boxes)
        if moved is not None:
            chosen[hit[0]] = moved
            held[hit[0]] = places[hit[0]].boxes(moved)
            return pos
    return None


#: cm: two wires nearer than this to each other along `RUN` or more of their length read as one line
GAP, RUN = 0.08, 0.5
#: cm: two wires at most `SHALLOW` (the sine of their angle) apart in their ways keep this far apart along `RUN`,
#: room for their labels (a detour's level stretch had run 1.5 mm under a straight wire, which struck its labels),
#: but where they meet at one gate (there they close in anyway)
ROOM, SHALLOW = 0.3, 0.1


def run_beside(p: Point, q: Point, a: Point, b: Point, room: bool = True) -> float:
    """How long a stretch of the piece p-q runs within `GAP` (with ``room``: `ROOM`, where the two run almost
    the same way) of the piece a-b (its points whose foot on a-b's line lies on a-b): along p-q, the distance to
    a-b's line and the foot's place on it are both linear."""
    length, other = math.hypot(q[0] - p[0], q[1] - p[1]), math.hypot(b[0] - a[0], b[1] - a[1])
    if length < 1e-9 or other < 1e-9:
        return 0.0
    ux, uy = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    vx, vy = (b[0] - a[0]) / other, (b[1] - a[1]) / other
    lo, hi = 0.0, length
    # along t: the signed distance d0 + t*dd off a-b's line, and the foot's place f0 + t*df along a-b
    d0, dd = (p[0] - a[0]) * -vy + (p[1] - a[1]) * vx, ux * -vy + uy * vx
    f0, df = (p[0] - a[0]) * vx + (p[1] - a[1]) * vy, ux * vx + uy * vy
    gap = ROOM if room and abs(dd) < SHALLOW else GAP
    for start, slope, low, high in ((d0, dd, -gap, gap), (f0, df, 0.0, other)):
        if abs(slope) < 1e-12:
            if not low <= start <= high:
                return 0.0
            continue
        t0, t1 = sorted(((low - start) / slope, (high - start) / slope))
        lo, hi = max(lo, t0), min(hi, t1)
    return max(0.0, hi - lo)


Path = tuple[Point, ...]


def path_faults(key: tuple[str, str], path: Path, names: Sequence[Box], circles: Sequence[Circle],
                others: Sequence[tuple[tuple[str, str], Path]]) -> list[tuple[str, str]]:
    """What a wire's path (by (consumer, operand)) meets: a name (a leaf's, but its own source's) or a gate (but
    its own ends) that a piece runs through, and each of ``others`` with a piece within `GAP` of one of its
    pieces along `RUN` or more (two wires that read as one line)."""
    owner, ends = f"wire {key}", set(key)
    found = []
    for p, q in zip(path, path[1:], strict=False):
        line = piece(owner, p, q)
        found += [(owner, n.owner) for n in names if n.owner[5:] not in ends and boxes_overlap(line, n)]
        found += [(owner, c.owner) for c in circles if c.owner not in ends and box_circle_overlap(line, c)]
    mine = _spans(path)
    for other, theirs in others:
        room = not ends & set(other)
        spans = _spans(theirs)
        # (two pieces whose boxes, grown by the widest gap, do not meet are not beside each other anywhere)
        if any(_near(box, their_box) and max(run_beside(p, q, a, b, room), run_beside(a, b, p, q, room)) >= RUN
               for p, q, box in mine for a, b, their_box in spans):
            found.append((owner, f"wire {other}"))
    return found


def _spans(path: Path) -> list[tuple[Point, Point, tuple[float, float, float, float]]]:
    """A path's pieces, each with its box (x0, y0, x1, y1)."""
    return [(p, q, (min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))
            for p, q in zip(path, path[1:], strict=False)]


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two pieces' boxes come within the widest gap `run_beside` allows of each other."""
    pad = max(GAP, ROOM)
    return a[0] - pad <= b[2] and b[0] - pad <= a[2] and a[1] - pad <= b[3] and b[1] - pad <= a[3]


def wire_faults(wires: Sequence[Wire], names: Sequence[Box], circles: Sequence[Circle]) -> list[tuple[str, str]]:
    """:func:`path_faults` of every wire, each pair of wires once."""
    paths = [(w.key, w.bends or (w.start, w.end)) for w in wires]
    return [f for k, (key, path) in enumerate(paths) for f in path_faults(key, path, names, circles, paths[k + 1:])]


def all_boxes(wires: Sequence[Wire], chosen: Mapping[tuple[str, str], float]) -> list[Box]:
    return [b for w in wires for b in label_boxes(w, chosen[w.key])]


__all__ = ["NAME_SIDES", "Box", "Circle", "Wire", "all_boxes", "border", "box_circle_overlap", "boxes_overlap",
           "clashes", "gate_circle", "gate_name", "label_boxes", "label_extent", "leaf_name", "path_faults",
           "piece", "run_beside", "settle", "wire_faults"]
