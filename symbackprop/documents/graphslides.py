"""``symbackprop slides`` of a computation graph (any builder's): a 16:9 Beamer deck of its circuit.

Frames: title, the gates, the circuit with forward values and gradients on its wires, the forward pass,
the backward pass gate by gate (each gate's rule and upstream x local per input), the sums over a
shared name's uses, the gradients; a training spec's rule, its first step and the output's curve.  The
content is the graph handout's (`graphhandout.graph_context`, `graphupdate.graph_update`); this module
only cuts it into frames; ``graph_slides.tex.j2`` and ``lang/<code>.j2`` decide the look and words.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.graph import GraphSolution
from ..layout import break_row, even_pack, even_rows, row_height, tex_width
from .graphhandout import graph_context
from .graphupdate import graph_update
from .render import Tex, header_comment, render_tex
from .slides import write_deck

#: the height of a frame's forward rows, in ``layout.row_height`` rows (a fraction's row is taller): eleven plain rows
#: fit, six of fractions but not seven, four of each but not five plain and four; three plain and five of fractions,
#: 10.25, had run 1.1 pt over as eight rows
FORWARD_ROWS = 10
#: rows of ``\small`` maths on one frame: a backward frame's, where a gate's heading counts two rows and each of
#: its inputs one (the first frame also holds the rule's note, two rows); a sum's three
#: the height of the update's first step on a frame, in ``layout.row_height`` rows (under its intro line: AdamW's
#: 8.7 fit, Adam's 9.7 ran 7.6 pt over)
UPDATE_ROWS = 9
#: the gates' table: rows on one frame, in two columns where every gate's definition fits half a line
#: (graphhandout.GATE_COLUMN), else one
GATE_ROWS = 8
#: rows of the gradients' table on one frame
SUMMARY_ROWS = 12
BACKWARD_ROWS = 9
FIRST_NOTE = 2
#: a gate with more inputs than this continues on the next frame (a convolution's sum over a window)
GATE_USES = 5
SUM_ROWS = 9
#: the widest sum on one row of a frame (``tex_width`` units, ``\\small``)
SUM_WIDTH = 62
#: the widest row of upstream x local on a frame (``tex_width`` units, ``\\small``): an ``align*`` holds 382 pt;
#: rows of 70 and 71 measured 374 and 373 pt, one of 73 (a sigmoid's, five-digit operands) 389 pt, 6.7 pt over
GATE_WIDTH = 71


def _frames(items: Sequence[Any], rows: Sequence[float], room: float, first: float = 0.0) -> list[list[Any]]:
    """``items`` cut into frames of at most ``room`` rows (a frame holds at least one item), as few as that
    needs, filled evenly (no last frame of one line)."""
    return [[items[i] for i in chunk] for chunk in even_pack(rows, room, first=first)]


def _height(line: str) -> float:
    """A line's height in rows (a fraction makes a row taller: Adam's first step had run 7.6 pt over its frame),
    the line going on over rows where it is too wide."""
    return sum(row_height(row) for row in str(line).split(r"\\"))


def _sum_rows(line: str) -> list[Tex]:
    """A sum over a name's uses as the rows of an ``align*`` a frame's width holds (five terms with scientific
    operands had run 4.4 pt over one line)."""
    lhs, rhs = str(line).split(" = ", 1)
    return [Tex(row) for row in break_row(f"{lhs} &= {rhs}", SUM_WIDTH)]


def _use_rows(gate: dict[str, Any], use: dict[str, Any]) -> list[Tex]:
    """A use's ``label = upstream x local = ... = share`` on one row of an ``align*`` where a frame's width holds it,
    else the symbols on one row and the numbers on the next, each cut again if still too wide (a sigmoid's with
    five-digit operands had run 6.7 pt over one line)."""
    up = gate["upstream"]
    head = f"{use['label']} &= {up} \\cdot {use['local_symbol']} = {up} \\cdot {use['local']}"
    one = f"{head} = {use['line']}"
    rows = [one] if tex_width(one) <= GATE_WIDTH else break_row(head, GATE_WIDTH) + break_row(f"&= {use['line']}",
                                                                                             GATE_WIDTH)
    return [Tex(r) for r in rows]


def _gate_pieces(gate: dict[str, Any]) -> list[dict[str, Any]]:
    """A gate's rows of upstream x local, at most ``GATE_USES`` to a piece (the later pieces say they continue),
    each use's rows as wide as a frame holds (``_use_rows``).

    (Cut evenly and up to six a frame, 7 -> 4 + 3, the pieces no longer shared frames with the one-use gates
    between them: a two-unit RNN's deck had eight frames of one line where it had had one.)"""
    uses = [u | {"rows": _use_rows(gate, u)} for u in gate["uses"]]
    return [gate | {"uses": uses[i:i + GATE_USES], "continued": i > 0}
            for i in range(0, max(1, len(uses)), GATE_USES)]


def graph_slides_context(solution: GraphSolution, lang: str = "en") -> dict[str, Any]:
    context = graph_context(solution, lang)
    graph = context["graph"]
    gates = [piece for r in graph["gates"] for piece in _gate_pieces(r)]
    # the shared weights too (BPTT's, a kernel's): the deck has no section of their own
    sums = [r | {"rows": _sum_rows(r["line"])} for r in graph["all_sums"]]
    wide = graph["gates_wide"]
    per_frame = GATE_ROWS if wide else 2 * GATE_ROWS
    context.update(
        header=Tex(header_comment()),
        gate_tables=[[graph["nodes"][i] for i in chunk]  # as few frames as needed, filled evenly
                     for chunk in even_rows(len(graph["nodes"]), -(-len(graph["nodes"]) // per_frame))],
        gate_columns=1 if wide else 2,
        forward_frames=[sum(chunk, []) for chunk in _frames(graph["forward_rows"],
                                                            [sum(map(_height, g)) for g in graph["forward_rows"]],
                                                            FORWARD_ROWS)],
        gate_frames=_frames(gates, [2 + sum(len(u["rows"]) for u in r["uses"]) for r in gates], BACKWARD_ROWS,
                            first=FIRST_NOTE),
        sum_frames=_frames(sums, [2 + len(r["rows"]) for r in sums], SUM_ROWS, first=1) if sums else [],
        summary_frames=_frames(graph["summary"], [1] * len(graph["summary"]), SUMMARY_ROWS),
    )
    update = graph_update(solution)  # a training spec: the rule, its first step and the output's curve
    lines = update["optimizer"]["lines"] if update else []
    context.update(update=update, plots=bool(update and update["optimizer"]["plot"]),
                   update_frames=_frames(lines, [_height(line) for line in lines], UPDATE_ROWS) if lines else [])
    return context


def render_graph_slides(solution: GraphSolution, lang: str = "en") -> str:
    return render_tex("graph_slides.tex.j2", **graph_slides_context(solution, lang))


def write_graph_slides(solution: GraphSolution, out_dir: str | Path, name: str, pdf: bool = False,
                       lang: str = "en") -> list[Path]:
    """``out_dir/<name>-slides.tex`` (and ``.pdf``); everything is built before anything is written."""
    return write_deck(render_graph_slides(solution, lang), out_dir, name, pdf)


__all__ = ["graph_slides_context", "render_graph_slides", "write_graph_slides"]
