"""The network diagram as a TikZ picture: inputs, hidden units, outputs, biases, the loss.

Small networks (every layer at most ``LABEL_ALL_MAX`` units) get every edge
labelled with its weight's symbol (or value); bias nodes ``1`` feed each layer
with edges labelled by the bias.  Larger ones (up to 8 or so units a layer)
stay readable: thin unlabelled edges, only the edges of one highlighted path
labelled, and a legend that says which symbol each edge carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .network import Network
from .walkthrough import exact_text

#: label every edge when no layer (inputs included) has more units than this
LABEL_ALL_MAX = 3


@dataclass(frozen=True)
class Diagram:
    tikz: str  # a complete tikzpicture environment
    legend: str  # LaTeX sentence(s) for below the picture ("" when every edge is labelled)
    labelled_all: bool


def _node(layer: int, j: int) -> str:
    return f"L{layer}u{j}"


def diagram(network: Network, edge_values: bool = False, highlight: list[tuple[int, int]] | None = None,
            values: dict[str, str] | None = None, roomy: bool = False) -> Diagram:
    """TikZ for ``network``; ``highlight`` = the (layer, unit) path whose edges are labelled when big.

    ``values`` maps parameter names to the text of their values (``--edge-values``).  ``roomy`` (the
    slides): a margin inside each unit, so a word label such as ``\\mathrm{out}_{h_{1}}`` grows its circle
    instead of touching it, and the bias labels staggered along their edges, so the labels of edges leaving the same
    bias node ``1`` do not sit on top of each other.
    """
    sizes = [network.spec.n_inputs] + [layer.size for layer in network.layers]
    label_all = max(sizes) <= LABEL_ALL_MAX
    dx = 3.4 if label_all else 2.9
    dy = 1.9 if label_all else (1.05 if max(sizes) <= 8 else 0.8)
    font = r"\small" if label_all else r"\footnotesize"
    size = "0.9cm" if label_all else "0.8cm"
    path = set(highlight or [])
    lines = [
        rf"\begin{{tikzpicture}}[x={dx}cm, y={dy}cm, >=stealth, font={font},",
        rf"  unit/.style={{circle, draw, thick, minimum size={size}, inner sep={'2.5pt' if roomy else '0pt'}}},",
        r"  bias/.style={rectangle, draw, dashed, minimum size=0.5cm, inner sep=1pt},",
        r"  lab/.style={fill=white, inner sep=0.8pt, font=\scriptsize},",
        r"  edge/.style={->, " + ("thin" if label_all else "very thin, draw=black!45") + "},",
        r"  path/.style={->, thick}]",
    ]
    top = max(sizes)

    def y(n: int, j: int) -> float:
        return round((n + 1) / 2 - j, 3)

    # units
    namer = network.namer
    for column, n in enumerate(sizes):
        for j in range(1, n + 1):
            symbol = namer.input(j).latex if column == 0 else namer.act(column, j).latex
            lines.append(rf"\node[unit] ({_node(column, j)}) at ({column}, {y(n, j)}) {{${symbol}$}};")
    # the loss
    last = len(sizes) - 1
    loss = network[network.loss_name].latex
    lines.append(rf"\node[unit, rectangle, rounded corners] (loss) at ({last + 0.75}, 0) {{${loss}$}};")
    for j in range(1, sizes[-1] + 1):
        lines.append(rf"\draw[->, dashed] ({_node(last, j)}) -- (loss);")
    # weights
    for layer in network.layers:
        li, n_prev = layer.index, sizes[layer.index - 1]
        for j in range(1, layer.size + 1):
            for k in range(1, n_prev + 1):
                name = network.weight_name(li, j, k)
                text = values[name] if edge_values and values else f"${network[name].latex}$"
                on_path = (li - 1, k) in path and (li, j) in path
                style = "path" if on_path and not label_all else "edge"
                if label_all or on_path:
                    pos = 0.3 if n_prev > 1 or layer.size > 1 else 0.5
                    lines.append(rf"\draw[{style}] ({_node(li - 1, k)}) -- node[lab, pos={pos}] {{{text}}} "
                                 rf"({_node(li, j)});")
                else:
                    lines.append(rf"\draw[{style}] ({_node(li - 1, k)}) -- ({_node(li, j)});")
    # biases: one node "1" per layer, below the previous column (small networks); in a big one the
    # edges from such a node would cross the whole picture, so only the bold path's units get a
    # short bias edge from a small node "1" right above them (the legend says so)
    for layer in network.layers:
        li, n_prev = layer.index, sizes[layer.index - 1]
        if not label_all:
            for j in range(1, layer.size + 1):
                if (li, j) not in path:
                    continue
                name = network.bias_name(li, j)
                text = values[name] if edge_values and values else f"${network[name].latex}$"
                lines.append(rf"\node[bias, minimum size=0.4cm] (bias{li}u{j}) at ({li}, "
                             rf"{y(layer.size, j) + 0.95:.2f}) {{$1$}};")
                lines.append(rf"\draw[path, dashed] (bias{li}u{j}) -- node[lab, right=1pt] {{{text}}} "
                             rf"({_node(li, j)});")
            continue
        bias_y = -(top + 1) / 2 - 0.35
        lines.append(rf"\node[bias] (bias{li}) at ({li - 0.55:.2f}, {bias_y:.2f}) {{$1$}};")
        for j in range(1, layer.size + 1):
            name = network.bias_name(li, j)
            text = values[name] if edge_values and values else f"${network[name].latex}$"
            if label_all or (li, j) in path:
                # roomy: the longer an edge (the higher its unit), the further along it its label
                pos = round(0.25 + 0.25 * (layer.size - j) / (layer.size - 1), 3) if roomy and layer.size > 1 else 0.3
                lines.append(rf"\draw[edge, dashed] (bias{li}) -- node[lab, pos={pos}] {{{text}}} ({_node(li, j)});")
            else:
                lines.append(rf"\draw[edge, dashed] (bias{li}) -- ({_node(li, j)});")
    lines.append(r"\end{tikzpicture}")
    legend = ""
    if not label_all:
        namer = network.namer
        w = namer.weight(2 if len(network.layers) > 1 else 1, 1, 1)
        legend = (
            r"Each solid edge from unit $k$ of one layer to unit $j$ of the next carries the weight "
            rf"$w^{{(l)}}_{{jk}}$ (e.g.\ ${w.latex}$). Every unit $j$ of layer $l$ also adds its bias "
            r"$b^{(l)}_{j}$ (an edge from a constant input $1$); for readability the bias edges are drawn, "
            r"and edges labelled, only along one path (bold); all values are listed with the parameters."
        )
        if network.namer.sequential:
            legend = (
                r"Each solid edge carries the weight of its connection, and every unit also adds its bias "
                r"(an edge from a constant input $1$, numbered as in the parameter list). For readability "
                r"the bias edges are drawn, and edges labelled, only along one path (bold)."
            )
    return Diagram("\n".join(lines), legend, label_all)


def value_labels(network: Network, values: Mapping[str, Decimal]) -> dict[str, str]:
    """Edge label texts for ``--edge-values``: each parameter's exact spec value."""
    return {p.name: f"${exact_text(values[p.name])}$" for p in network.parameters}
