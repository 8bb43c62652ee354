"""A solution as plain dicts of pre-rendered LaTeX for the handout templates.

Everything a template prints is built here: formulas come from the
``BackpropPrinter``, numbers from ``walkthrough`` lines (which reproduce), and
the templates only loop and branch.  Every LaTeX string produced here is wrapped
in ``Tex``; user text (title, author) stays a plain ``str`` so the renderer
escapes it.

A *block* is one display: ``{"env": "align" | "gather", "body": Tex}`` with rows
joined by ``\\\\``; the LaTeX templates wrap it in ``align*``/``gather*``, the
Markdown ones in ``$$\\begin{aligned}...$$``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import sympy

from ..engine.activations import activation as activation_named
from ..engine.losstable import loss_pairs, table_names
from ..engine.network import Network, Parameter, Quantity
from ..engine.numbers import display
from ..engine.printer import (
    ACTIVATION_LATEX,
    INDICATOR,
    BackpropPrinter,
    condition_latex,
    partial,
    piecewise_slope_latex,
    with_condition,
)
from ..engine.solution import Solution
from ..errors import DerivationMismatch
from ..layout import ROW_WIDTH, break_row, line_rows, pieces_of
from ..layout import tex_width as visible_width
from ..notation.chains import Chain, chain_for, substituted_factors
from ..notation.diagram import diagram, value_labels
from ..notation.lines import (
    approx_latex,
    exact_text,
    expression_line,
    expression_value,
    print_terms,
    product_line,
    quantity_line,
    result_latex,
    result_text,
)
from .render import Tex

#: every section, in the lecture's order
SECTIONS = ("problem", "activation", "diagram", "forward", "equations", "walkthrough", "chain",
            "summary", "update", "reference", "verification")
#: what side-by-side lines may add up to (``visible_width`` overestimates short lines)
PAIR_WIDTH = 80
#: a row of three equations joined with ``\quad`` (a fraction's bar and the quads are wide: 84 units measured 483 pt
#: on the 465 pt text width, 67 units 385 pt); wider, they go on aligned rows of their own
JOINED_WIDTH = 76
#: larger networks get the per-layer matrix form and tables instead of one equation per parameter
MAX_PARAMS_SMALL = 40
MAX_LAYER_PARAMS_SMALL = 12

ACTIVATION_TITLES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU",
                     "softplus": "softplus", "identity": "identity", "softmax": "softmax"}
LOSS_TITLES = {"half_sse": "half squared error", "mse": "mean squared error",
               "bce": "binary cross-entropy", "cross_entropy": "cross-entropy"}


def block(rows: Iterable[str], env: str = "align") -> dict[str, Any]:
    """One display: ``tex`` is an ``align*``/``gather*`` environment, ``md`` the same in ``$$ ... $$``."""
    body = " \\\\\n".join(rows)
    if not body:
        return {"tex": Tex(""), "md": Tex("")}
    inner = {"align": "aligned", "gather": "gathered"}[env]
    return {"tex": Tex(f"\\begin{{{env}*}}\n{body}\n\\end{{{env}*}}"),
            "md": Tex(f"$$\n\\begin{{{inner}}}\n{body}\n\\end{{{inner}}}\n$$")}


def slash(numerator: str, denominator: str) -> str:
    """``\\partial E/\\partial w_{5}``: the in-line form for tables and running text."""
    return rf"\partial {numerator}/\partial {denominator}"


def symbols(latexes: Sequence[str]) -> str:
    """``x_{1}, x_{2}`` or ``x_{1}, x_{2}, \\dots, x_{8}`` for long lists."""
    if len(latexes) <= 4:
        return ", ".join(latexes)
    return f"{latexes[0]}, {latexes[1]}, \\dots, {latexes[-1]}"


def pack(items: Sequence[str], per_row: int, sep: str = r", \quad ", width: float = ROW_WIDTH) -> list[str]:
    """At most ``per_row`` items a row, and fewer where long numbers (15 digits) would pass ``width``."""
    rows: list[list[str]] = []
    for item in items:
        if not rows or len(rows[-1]) == per_row or visible_width(sep.join([*rows[-1], item])) > width:
            rows.append([])
        rows[-1].append(item)
    return [sep.join(row) for row in rows]


def is_big(network: Network) -> bool:
    per_layer: dict[int, int] = {}
    for p in network.parameters:
        per_layer[p.layer] = per_layer.get(p.layer, 0) + 1
    return len(network.parameters) > MAX_PARAMS_SMALL or max(per_layer.values()) > MAX_LAYER_PARAMS_SMALL


class HandoutContext:
    """Builds the template context of one handout."""

    def __init__(self, solution: Solution, chain: str | None = None, edge_values: bool = False):
        self.s = solution
        self.net = solution.network
        self.namer = self.net.namer
        self.spec = solution.spec
        self.printer: BackpropPrinter = solution.printer
        self.d = solution.spec.decimals
        self.big = is_big(self.net)
        self.n_ex = self.net.n_examples
        self.L = self.net.n_layers
        self.chain_name = chain
        self.edge_values = edge_values
        self.chain: Chain = chain_for(solution, chain)

    # -- small helpers ------------------------------------------------------------
    def q(self, name: str) -> Quantity:
        return self.net[name]

    def unit(self, kind: str, layer: int, j: int, e: int = 1) -> Quantity:
        return self.net[self.net.unit_name(kind, layer, j, e)]

    def grad(self, name: str) -> Quantity:
        return self.net[self.namer.grad_ascii(name)]

    def gslash(self, param: str) -> str:
        return slash(self.q(self.net.loss_name).latex, self.q(param).latex)

    def f(self, name: str, explicit: bool = False) -> str:
        return self.s.formula(name, explicit)

    def layer_title(self, layer: int) -> str:
        if layer == self.L:
            return "Output layer"
        return "Hidden layer" if self.L == 2 else f"Hidden layer {layer}"

    def source_title(self, layer: int) -> str:
        return "Input" if layer == 1 else self.layer_title(layer - 1)

    def examples(self) -> range:
        return range(1, self.n_ex + 1)

    def params_of(self, layer: int) -> list[Parameter]:
        return [p for p in self.net.parameters if p.layer == layer]

    def shown_units(self, size: int) -> list[int]:
        """All units, or the first only for big networks (the rest in the tables)."""
        return list(range(1, size + 1)) if not self.big else [1]

    def exact(self, name: str) -> str:
        return exact_text(self.s.value(name))

    # -- the whole context ----------------------------------------------------------
    def build(self, sections: Sequence[str]) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "title": self.spec.title,
            "author": self.spec.author,
            "big": self.big,
            "sections": list(sections),
            "decimals": self.d,
            "policy": self.policy(),
        }
        for name in sections:
            ctx[name] = getattr(self, f"section_{name}")()
        return ctx

    def policy(self) -> Tex:
        d = self.d
        half = "0." + "0" * d + "5" if d else "0.5"
        zero = display(Decimal(0), d)
        return Tex(
            f"All displayed values are rounded half-up to {d} decimals; internally every value is exact "
            f"or a certified interval narrow enough to decide every printed digit, and nothing is rounded "
            f"before display. Values below "
            f"${half}$ in magnitude display as ${zero}$. Where an arithmetic line would not reproduce its "
            "result from rounded operands, the operands are shown with more significant digits "
            r"(or as $a \times 10^{k}$), so every line holds when redone with the numbers printed.")

    # -- 1. problem -------------------------------------------------------------------
    def section_problem(self) -> dict[str, Any]:
        net, namer = self.net, self.namer
        inputs = [namer.input(k).latex for k in range(1, self.spec.n_inputs + 1)]
        parts = [rf"inputs $\mathbf{{x}} = ({symbols(inputs)})$"]
        for layer in net.layers[:-1]:
            acts = [namer.act(layer.index, j).latex for j in range(1, layer.size + 1)]
            parts.append(f"a {self.layer_title(layer.index).lower()} with {layer.size} "
                         f"{ACTIVATION_TITLES[layer.activation_name]} unit{'s' if layer.size > 1 else ''} "
                         f"${symbols(acts)}$")
        last = net.layers[-1]
        outs = [namer.act(self.L, j).latex for j in range(1, last.size + 1)]
        parts.append(f"{'a' if last.size == 1 else str(last.size)} "
                     f"{ACTIVATION_TITLES[last.activation_name]} output{'s' if last.size > 1 else ''} "
                     f"${symbols(outs)}$")
        loss = LOSS_TITLES[self.spec.loss]
        n_ex = "one training example" if self.n_ex == 1 else f"{self.n_ex} training examples"
        intro = (f"We consider a feed-forward network: {', '.join(parts[:-1])}, and {parts[-1]}. "
                 f"The loss is the {loss} over {n_ex}"
                 + (" (summed)" if self.n_ex > 1 and self.spec.reduction == "sum" else
                    " (averaged)" if self.n_ex > 1 else "") + ":")
        example_rows = []
        for e, example in enumerate(self.spec.examples, start=1):
            items = [f"{namer.input(k).latex} = {exact_text(self.s.value(net.unit_name('act', 0, k, e)))}"
                     for k in range(1, len(example.inputs) + 1)]
            items += [f"{namer.target(j).latex} = "
                      f"{exact_text(self.s.value(namer.for_example(namer.target(j), e, self.n_ex).ascii))}"
                      for j in range(1, len(example.targets) + 1)]
            label = rf"\text{{Example {e}:}} \quad & " if self.n_ex > 1 else "& "
            for i, row in enumerate(pack(items, 6)):
                example_rows.append((label if i == 0 else "& ") + row)
        # parameters
        param_rows: list[str] = []
        param_table: list[dict[str, Any]] = []
        for layer in net.layers:
            heading = rf"\text{{{self.source_title(layer.index)}}} \to \text{{{self.layer_title(layer.index).lower()}}}"
            if not self.big:
                first = True
                for j in range(1, layer.size + 1):
                    names = [net.weight_name(layer.index, j, k) for k in range(1, self._fan_in(layer.index) + 1)]
                    bias = net.bias_name(layer.index, j)
                    if not (self.spec.shared_bias and j > 1):
                        names.append(bias)
                    items = [f"{self.q(n).latex} = {self.exact(n)}" for n in names]
                    target = rf"\quad (\to {namer.act(layer.index, j).latex})"
                    room = ROW_WIDTH - visible_width(heading + r"\colon \quad")  # the target fits in ROW_WIDTH's slack
                    chunks = pack(items, len(items), ", ", room)
                    for i, chunk in enumerate(chunks):
                        lead = heading + r"\colon \quad & " if first else "& "
                        param_rows.append(lead + chunk + ("," if i < len(chunks) - 1 else target))
                        first = False
            else:
                cells = [(Tex(f"${self.q(p.name).latex}$"), Tex(f"${self.exact(p.name)}$"))
                         for p in self.params_of(layer.index)]
                cell_rows = [cells[i:i + 4] for i in range(0, len(cells), 4)]
                for cell_row in cell_rows:
                    cell_row += [(Tex(""), Tex(""))] * (4 - len(cell_row))
                param_table.append({"title": Tex(f"${heading}$"), "rows": cell_rows})
        frozen = [p for p in net.parameters if p.frozen]
        frozen_text = Tex("")
        if frozen:
            names = [self.q(p.name).latex for p in frozen]
            listed = symbols(names) if len(names) > 6 else ", ".join(names)
            frozen_text = Tex(rf"Frozen (kept fixed, not updated): ${listed}$.")
        lr = Tex(rf"Learning rate $\eta = {self.exact('eta')}$.")
        return {
            "intro": Tex(intro),
            "examples": block(example_rows),
            "params": block(param_rows) if param_rows else None,
            "param_table": param_table,
            "frozen": frozen_text,
            "learning_rate": lr,
            "glossary": self.glossary(),
            "equations": self.neuron_equations(),
            "equations_note": Tex(
                r"Per example: the same equations hold for every example $e$, written with a superscript "
                r"$\langle e\rangle$; shown here for example 1." if self.n_ex > 1 else ""),
        }

    def _fan_in(self, layer: int) -> int:
        return self.spec.n_inputs if layer == 1 else self.net.layers[layer - 2].size

    def glossary(self) -> list[tuple[Tex, Tex]]:
        net, namer = self.net, self.namer
        rows: list[tuple[str, str]] = []
        ins = [namer.input(k).latex for k in range(1, self.spec.n_inputs + 1)]
        outs_n = net.layers[-1].size
        rows.append((symbols(ins), "input features of an example"))
        rows.append((symbols([namer.target(j).latex for j in range(1, outs_n + 1)]),
                     "target (ground-truth) value" + ("s" if outs_n > 1 else "") + " of an example"))
        weights = [self.q(p.name).latex for p in net.parameters if p.kind == "weight"]
        biases = [self.q(p.name).latex for p in net.parameters if p.kind == "bias"]
        rows.append((symbols(weights), "weights (strength of a connection)"))
        rows.append((symbols(biases), "biases (offset; a connection from a constant 1)"
                     + ("; one shared by all units of a layer" if self.spec.shared_bias else "")))
        for layer in net.layers:
            zs = [namer.pre(layer.index, j).latex for j in range(1, layer.size + 1)]
            acts = [namer.act(layer.index, j).latex for j in range(1, layer.size + 1)]
            where = "output unit" if layer.index == self.L else f"{self.layer_title(layer.index).lower()} unit"
            rows.append((symbols(zs), f"pre-activations (weighted sums) of the {where}s"))
            kind = "model prediction" + ("s" if layer.size > 1 else "") if layer.index == self.L else \
                "activations after the nonlinearity"
            rows.append((symbols(acts), f"{kind} ({where} activation{'s' if layer.size > 1 else ''})"))
        loss = self.q(self.net.loss_name)
        loss_formula = self.f(loss.name) if self.n_ex == 1 else ""
        rows.append((loss.latex, f"loss ({LOSS_TITLES[self.spec.loss]})"
                     + (f": ${loss.latex} = {loss_formula}$" if loss_formula and len(loss_formula) < 120 else "")))
        for name in dict.fromkeys(layer.activation_name for layer in net.layers):
            rows.append((self._activation_symbol(name), f"{ACTIVATION_TITLES[name]} activation"))
        rows.append((r"\eta", "learning rate"))
        rows.append((partial(loss.latex, "z"),
                     "sensitivity (delta) of a unit: how the loss changes with its pre-activation"))
        rows.append(("\\theta'", r"a parameter (or quantity) after one update step"))
        if self.n_ex > 1:
            rows.append((r"\cdot^{\langle e\rangle}", "a quantity of example $e$"))
        return [(Tex(f"${a}$"), Tex(b)) for a, b in rows]

    @staticmethod
    def _activation_symbol(name: str) -> str:
        return "f(z) = z" if name == "identity" else ACTIVATION_LATEX[name] + r"(\cdot)"

    def neuron_equations(self) -> dict[str, Any]:
        net = self.net
        if self.big:
            rows = []
            for layer in net.layers:
                prev = r"\mathbf{x}" if layer.index == 1 else rf"\mathbf{{a}}^{{({layer.index - 1})}}"
                act = ACTIVATION_LATEX[layer.activation_name]
                rows.append(rf"\mathbf{{z}}^{{({layer.index})}} &= W^{{({layer.index})}} {prev} + "
                            rf"\mathbf{{b}}^{{({layer.index})}}, & \mathbf{{a}}^{{({layer.index})}} &= "
                            rf"{act}(\mathbf{{z}}^{{({layer.index})}})")
            note = Tex(rf"Here $(W^{{(l)}})_{{jk}} = {self._w_generic()}$ is the weight from unit $k$ of layer "
                       rf"$l-1$ to unit $j$ of layer $l$, $\mathbf{{a}}^{{(0)}} = \mathbf{{x}}$ and "
                       rf"$\mathbf{{a}}^{{({self.L})}} = \hat{{\mathbf{{y}}}}$ is the prediction. "
                       "Written out for one unit:")
            z, a = self.unit("pre", 1, 1), self.unit("act", 1, 1)
            unit_rows = self._definition_rows(z)
            unit_rows[-1] += rf", & {a.latex} &= {self.f(a.name)}"
            return {"blocks": [block(rows), block(unit_rows)], "note": note}
        rows = []
        for layer in net.layers:
            for j in range(1, layer.size + 1):
                z, a = self.unit("pre", layer.index, j), self.unit("act", layer.index, j)
                rows.append(rf"{z.latex} &= {self.f(z.name)}, & {a.latex} &= {self.f(a.name)}")
        return {"blocks": [block(rows)], "note": Tex("")}

    def _definition_rows(self, q: Quantity, per_row: int = 5) -> list[str]:
        expr = q.definition
        assert expr is not None
        if isinstance(expr, sympy.Add) and len(expr.args) > per_row:
            terms = print_terms(self.printer, expr)
            chunks = [terms[i:i + per_row] for i in range(0, len(terms), per_row)]
            return [f"{q.latex} &= {' '.join(chunks[0])}"] + [r"&\quad " + " ".join(c) for c in chunks[1:]]
        return [f"{q.latex} &= {self.printer.doprint(expr)}"]

    def _w_generic(self) -> str:
        return r"w^{(l)}_{jk}"

    # -- 2. activations -----------------------------------------------------------------
    def section_activation(self) -> dict[str, Any]:
        z, a = sympy.Symbol("z", real=True), sympy.Symbol("a", real=True)
        p = BackpropPrinter()
        items = []
        for layer_name in dict.fromkeys(layer.activation_name for layer in self.net.layers):
            where = [self.layer_title(layer.index).lower() for layer in self.net.layers
                     if layer.activation_name == layer_name]
            name = ACTIVATION_TITLES[layer_name]
            title = f"{name[:1].upper()}{name[1:]} ({', '.join(where)})"  # ReLU, not Relu
            if layer_name == "softmax":
                items.append({"title": Tex(title), "rows": self._softmax_rows()})
                continue
            layer = next(lay for lay in self.net.layers if lay.activation_name == layer_name)
            f = activation_named(layer_name, layer.spec.slope)
            fz = f.apply(z)
            derivative = sympy.diff(fz, z)
            slope = f.local_slope(a, z)
            # SymPy's check that the output form is the derivative: f'(z) - slope(a = f(z), z) == 0
            difference = derivative - slope.subs(a, fz)
            if difference != 0 and sympy.simplify(difference.rewrite(sympy.exp)) != 0:
                raise DerivationMismatch(f"{layer_name}: the derivative in terms of a is not f'(z)")
            fname = {"sigmoid": r"\sigma", "tanh": r"\tanh"}.get(layer_name, "f")
            rows = [rf"\text{{Definition:}} \quad & {f.definition_latex}"]
            exp_form = fz.rewrite(sympy.exp) if layer_name == "sigmoid" else None
            if exp_form is not None and exp_form != fz:
                definition = f.definition_latex.split(" = ", 1)[1]
                by_exp = p.doprint(sympy.diff(exp_form, z))
                rows.append(rf"\text{{Derivative:}} \quad & {fname}'(z) = \frac{{d}}{{dz}}\left({definition}"
                            rf"\right) = {by_exp} = {p.doprint(_lecture_order(derivative))}")
            elif layer_name in ("relu", "leaky_relu"):  # piecewise, then the indicator the equations use
                cases = piecewise_slope_latex(layer.spec.slope or sympy.S.Zero)
                compact = f" = {p.doprint(derivative)}" if layer_name == "relu" else ""
                rows.append(rf"\text{{Derivative:}} \quad & {fname}'(z) = {cases}{compact}")
            else:
                rows.append(rf"\text{{Derivative:}} \quad & {fname}'(z) = {p.doprint(_lecture_order(derivative))}")
            if slope != derivative:
                rows.append(rf"\text{{With }} a = {fname}(z)\colon \quad & {fname}'(z) = {p.doprint(slope)}")
            items.append({"title": Tex(title), "rows": block(rows)})
        out = self.net.layers[-1]
        a_out, z_out = self.unit("act", self.L, 1), self.unit("pre", self.L, 1)
        return {"entries": items, "output_symbol": Tex(a_out.latex), "output_pre": Tex(z_out.latex),
                "elementwise_output": out.elementwise is not None}

    def _softmax_rows(self) -> dict[str, Any]:
        # derived on two units by SymPy: d y_k / d z_j = y_k (delta_kj - y_j)
        z1, z2 = sympy.symbols("z1 z2", real=True)
        y1, y2 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2)), sympy.exp(z2) / (sympy.exp(z1) + sympy.exp(z2))
        assert sympy.simplify(sympy.diff(y1, z1) - y1 * (1 - y1)) == 0
        assert sympy.simplify(sympy.diff(y1, z2) + y1 * y2) == 0
        return block([r"\text{Definition:} \quad & \hat{y}_{k} = \frac{e^{z_{k}}}{\sum_{m} e^{z_{m}}}",
                      r"\text{Derivative:} \quad & \frac{\partial \hat{y}_{k}}{\partial z_{j}} = "
                      r"\hat{y}_{k}\left(\delta_{kj} - \hat{y}_{j}\right) \quad "
                      r"(\delta_{kj} = 1 \text{ if } k = j \text{, else } 0)"])

    # -- 3. diagram -------------------------------------------------------------------------
    def section_diagram(self) -> dict[str, Any]:
        path = [(0, self.chain_first_input())] if self.chain else []
        units = self._chain_units()
        values = value_labels(self.net, self.s.evaluation.values) if self.edge_values else None
        dg = diagram(self.net, self.edge_values, path + units, values, roomy=True)
        edges = []
        if not self.big:
            for layer in self.net.layers:
                for j in range(1, layer.size + 1):
                    for k in range(1, self._fan_in(layer.index) + 1):
                        w = self.net.weight_name(layer.index, j, k)
                        src = (self.namer.input(k) if layer.index == 1 else self.namer.act(layer.index - 1, k)).latex
                        edges.append((Tex(f"${src}$"), Tex(f"${self.namer.act(layer.index, j).latex}$"),
                                      Tex(f"${self.q(w).latex} = {self.exact(w)}$")))
                    b = self.net.bias_name(layer.index, j)
                    edges.append((Tex("$1$ (bias)"), Tex(f"${self.namer.act(layer.index, j).latex}$"),
                                  Tex(f"${self.q(b).latex} = {self.exact(b)}$")))
        sizes = [self.spec.n_inputs] + [layer.size for layer in self.net.layers]
        layers = [f"{self.layer_title(i).lower()}: {n} {ACTIVATION_TITLES[self.net.layers[i - 1].activation_name]} "
                  f"unit{'s' if n > 1 else ''}" for i, n in enumerate(sizes[1:], start=1)]
        description = Tex("Layers, left to right: " + "; ".join([f"{sizes[0]} inputs", *layers])
                          + ". Every unit is connected to every unit of the next layer and to a bias node.")
        return {"tikz": Tex(dg.tikz), "legend": Tex(dg.legend), "edges": edges, "description": description}

    def chain_first_input(self) -> int:
        p = next(p for p in self.net.parameters if p.name == self.chain.parameter)
        return p.from_unit or 0

    def _chain_units(self) -> list[tuple[int, int]]:
        p = next(p for p in self.net.parameters if p.name == self.chain.parameter)
        units = list(self.chain.units)
        if p.kind == "weight" and p.from_unit is not None:
            units.insert(0, (p.layer - 1, p.from_unit))
        return units

    # -- 4. forward pass ------------------------------------------------------------------
    def forward_groups(self, prime: bool) -> list[dict[str, Any]]:
        groups = []
        for e in self.examples():
            for layer in self.net.layers:
                lines: list[list[str]] = []
                for j in range(1, layer.size + 1):
                    zname = self.net.unit_name("pre", layer.index, j, e) + ("'" if prime else "")
                    aname = self.net.unit_name("act", layer.index, j, e) + ("'" if prime else "")
                    zl, al = quantity_line(self.s, zname), quantity_line(self.s, aname)
                    lines.append(line_rows(zl))
                    lines.append(line_rows(al))
                rows = _pair(lines, 2) if layer.elementwise is not None else _pair(lines, 1)
                title = self.layer_title(layer.index) + (f" (example {e})" if self.n_ex > 1 else "")
                groups.append({"title": Tex(title), "block": block(rows)})
        loss_name = self.net.loss_name + ("'" if prime else "")
        loss_line = quantity_line(self.s, loss_name)
        groups.append({"title": Tex("Loss"), "block": block(line_rows(loss_line, boxed=prime))})
        return groups

    def section_forward(self) -> dict[str, Any]:
        return {"groups": self.forward_groups(prime=False)}

    # -- 5. chain-rule equations ----------------------------------------------------------
    def section_equations(self) -> dict[str, Any]:
        if self.big:
            return self._equations_big()
        groups = []
        last = self.net.layers[-1]
        for layer in reversed(self.net.layers):
            parts: list[dict[str, Any]] = []
            for e in self.examples():
                rows = []
                for j in range(1, layer.size + 1):
                    a, z = self.unit("act", layer.index, j, e), self.unit("pre", layer.index, j, e)
                    da, dz = self.grad(a.name), self.grad(z.name)
                    explicit = layer is last
                    if layer is last and last.elementwise is None:
                        rows += break_row(rf"{da.latex} &= {self.f(da.name)}")
                        note = self._softmax_note(dz.name)
                        one = rf"\boxed{{{dz.latex} = {self.f(dz.name, explicit=True)}}} &\quad {note}"
                        rows += [one] if visible_width(one) <= ROW_WIDTH else self._boxed_rows(dz, explicit, note)
                        continue
                    f = layer.elementwise
                    assert f is not None
                    slope = self.printer.doprint(f.local_slope(a.symbol, z.symbol))
                    one = (rf"{da.latex} &= {self.f(da.name)}, \quad {partial(a.latex, z.latex)} = {slope}, \quad "
                           rf"\boxed{{{dz.latex} = {self.f(dz.name, explicit)}}}")
                    if visible_width(one) <= JOINED_WIDTH:
                        rows.append(one)
                        continue
                    # too wide for one row: the three equations on aligned rows of their own
                    rows += break_row(rf"{da.latex} &= {self.f(da.name)}")
                    rows += break_row(rf"{partial(a.latex, z.latex)} &= {slope}")
                    rows += self._boxed_rows(dz, explicit)
                parts.append({"label": Tex(f"Example {e}" if self.n_ex > 1 else ""), "block": block(rows)})
            boxed = []
            for p in self.params_of(layer.index):
                g = self.grad(p.name)
                boxed.append(rf"\boxed{{{g.latex} = {self.f(g.name)}}}")
            per_row = 3 if self.n_ex == 1 and not self.spec.shared_bias else (2 if self.n_ex <= 2 else 1)
            while per_row > 1 and any(visible_width(r) > PAIR_WIDTH for r in pack(boxed, per_row)):
                per_row -= 1
            grads = block(pack(boxed, per_row), env="gather")
            title = self.layer_title(layer.index)
            groups.append({"title": Tex(title), "parts": parts, "grads": grads,
                           "sum_note": self._sum_note(layer.index)})
        return {"big": False, "groups": groups}

    def _boxed_rows(self, dz: Quantity, explicit: bool, note: str = "") -> list[str]:
        """``dz &= [formula]`` (the closed form boxed), the box over several aligned rows when the formula
        is too wide for one; ``note`` after it, or on a row of its own when the row has no room."""
        expr = dz.explicit if explicit and dz.explicit is not None else dz.definition
        assert expr is not None
        lead = f"{dz.latex} &= "
        formula = self.printer.doprint(expr)
        rows = [rf"{lead}\boxed{{{formula}}}"]
        room = ROW_WIDTH - visible_width(lead) - 2
        if visible_width(formula) > room:
            lines = break_row("&" + formula, room)
            rows = [lead + r"\boxed{\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}}"]
        if note:
            last = rows[-1] + r" \quad " + note
            rows[-1:] = [last] if visible_width(last) <= ROW_WIDTH else [rows[-1], r"&\quad " + note]
        return rows

    def _softmax_note(self, name: str) -> str:
        """How a softmax output delta came about, and the condition its closed form uses."""
        condition = self.s.condition(name)
        if condition:
            return rf"\text{{(softmax: summed over its Jacobian, with }} {condition}\text{{)}}"
        return r"\text{(softmax: summed over its Jacobian)}"

    def _sum_note(self, layer: int) -> Tex:
        notes = []
        if layer < self.L and self.net.layers[layer].size > 1:
            notes.append("the backpropagated sensitivity sums over every unit of the layer above")
        if self.n_ex > 1:
            notes.append("each gradient sums the contributions of all examples"
                         + (" (then divides by their number)" if self.spec.reduction == "mean" else ""))
        if self.spec.shared_bias:
            notes.append("a shared bias sums the sensitivities of every unit it feeds")
        return Tex(("Note: " + "; ".join(notes) + ".") if notes else "")

    def _equations_big(self) -> dict[str, Any]:
        L = self.L
        out = self.net.layers[-1]
        z = self.unit("pre", L, 1)
        dz = self.grad(z.name)
        rows = [rf"\boldsymbol{{\delta}}^{{({L})}} &= \frac{{\partial E}}{{\partial \mathbf{{z}}^{{({L})}}}}, "
                rf"\quad \delta^{{({L})}}_{{1}} = {dz.latex} = {self.f(dz.name, explicit=True)}"]
        if out.elementwise is None:  # the softmax note after it, or on a row of its own when too wide
            note = rf" \quad {self._softmax_note(dz.name)}"
            rows = [rows[0] + note] if visible_width(rows[0] + note) <= ROW_WIDTH else [rows[0], "&" + note]
        for layer in reversed(self.net.layers[:-1]):
            li = layer.index
            fprime = {"sigmoid": rf"\mathbf{{a}}^{{({li})}} \odot (1 - \mathbf{{a}}^{{({li})}})",
                      "tanh": rf"1 - \mathbf{{a}}^{{({li})}} \odot \mathbf{{a}}^{{({li})}}",
                      "relu": rf"{INDICATOR}[\mathbf{{z}}^{{({li})}} > 0]"}.get(
                layer.activation_name, rf"f'(\mathbf{{z}}^{{({li})}})")
            rows.append(rf"\boldsymbol{{\delta}}^{{({li})}} &= \left(W^{{({li + 1})}}\right)^{{\mathsf{{T}}}} "
                        rf"\boldsymbol{{\delta}}^{{({li + 1})}} \odot f'\!\left(\mathbf{{z}}^{{({li})}}\right) "
                        rf"= \left(W^{{({li + 1})}}\right)^{{\mathsf{{T}}}} \boldsymbol{{\delta}}^{{({li + 1})}} \odot "
                        rf"\left({fprime}\right)")
        grads = [r"\frac{\partial E}{\partial W^{(l)}} &= \boldsymbol{\delta}^{(l)} "
                 r"\left(\mathbf{a}^{(l-1)}\right)^{\mathsf{T}}, \qquad "
                 r"\frac{\partial E}{\partial \mathbf{b}^{(l)}} = \boldsymbol{\delta}^{(l)}"
                 r" \qquad (l = 1, \dots, " + str(L) + ")"]
        # one unit written out, as the scalar chain rule
        hidden = self.net.layers[-2] if L > 1 else None
        scalar = []
        if hidden is not None:
            h = self.unit("act", hidden.index, 1)
            zh = self.unit("pre", hidden.index, 1)
            dh, dzh = self.grad(h.name), self.grad(zh.name)
            scalar.append(rf"{dh.latex} &= {' '.join(print_terms(self.printer, dh.definition))}" if dh.definition
                          is not None and isinstance(dh.definition, sympy.Add) and len(dh.definition.args) <= 4
                          else rf"{dh.latex} &= {self.printer.doprint(dh.definition)}")
            scalar.append(rf"{dzh.latex} &= {self.f(dzh.name)}")
        p = self.params_of(1)[0]
        g = self.grad(p.name)
        scalar.append(rf"{g.latex} &= {self.f(g.name)}")
        rows_table = []
        for layer in reversed(self.net.layers):
            for p in self.params_of(layer.index):
                g = self.grad(p.name)
                rows_table.append((Tex(f"${self.gslash(p.name)}$"), Tex(f"${self.f(g.name)}$"),
                                   Tex(f"${self.s.display(g.name)}$")))
        return {"big": True, "recursion": block(rows), "grads": block(grads), "scalar": block(scalar),
                "table": rows_table, "sum_note": self._sum_note(1)}

    # -- 6. numeric walkthrough --------------------------------------------------------------
    def section_walkthrough(self) -> dict[str, Any]:
        groups = []
        last = self.net.layers[-1]
        for layer in reversed(self.net.layers):
            parts = []
            for e in self.examples():
                rows: list[list[str]] = []
                slopes: list[list[str]] = []
                deltas: list[list[str]] = []
                for j in range(1, layer.size + 1):
                    a, z = self.unit("act", layer.index, j, e), self.unit("pre", layer.index, j, e)
                    da, dz = self.grad(a.name), self.grad(z.name)
                    if layer is last and (last.elementwise is None or not _is_product(dz.explicit)):
                        rows.append(line_rows(quantity_line(self.s, dz.name, explicit=True), boxed=True))
                        continue
                    rows.append(line_rows(quantity_line(self.s, da.name)))
                    f = layer.elementwise
                    assert f is not None
                    slope_expr = f.local_slope(a.symbol, z.symbol)
                    label = (self.printer.doprint(slope_expr) if slope_expr.free_symbols  # identity: not 1 = 1 = 1.000
                             else rf"\frac{{\partial {a.latex}}}{{\partial {z.latex}}}")
                    slope = expression_line(self.s, label, slope_expr)
                    slopes.append(line_rows(slope))
                    delta = product_line(dz.latex, [(self.s.value(da.name), False),
                                                    (expression_value(self.s, slope_expr), False)], self.d,
                                         value=self.s.value(dz.name))
                    deltas.append(line_rows(delta, boxed=True))
                parts.append({"label": Tex(f"Example {e}" if self.n_ex > 1 else ""),
                              "blocks": [block(_pair(lines)) for lines in (rows, slopes, deltas) if lines]})
            params = self.params_of(layer.index)
            if self.big:
                params = [p for p in params if p.to_units[0] == 1]
            per_row = (self._fan_in(layer.index) + 1) if self._fan_in(layer.index) < 3 and self.n_ex == 1 else 2
            grads = self._grouped_rows([line_rows(quantity_line(self.s, self.grad(p.name).name), boxed=True)
                                        for p in params], params, per_row)
            more = len(self.params_of(layer.index)) - len(params)
            groups.append({"title": Tex(self.layer_title(layer.index)), "parts": parts,
                           "grads": block(grads),
                           "more": Tex(f"The other {more} gradients of this layer follow the same pattern; "
                                       "all values are in the gradient summary." if more else "")})
        return {"groups": groups}

    @staticmethod
    def _grouped_rows(lines: list[list[str]], params: list[Parameter], per_row: int) -> list[str]:
        """Parameter lines side by side, a new row for every unit (``w1, w2, b1`` then ``w3, w4, b2``):
        a row never mixes two units' (or two layers') parameters."""
        rows: list[str] = []
        group: list[list[str]] = []
        unit: tuple[int, int] | None = None
        if _fit(lines, per_row) < per_row:
            return _pair(lines, per_row)
        for line, p in zip(lines, params, strict=True):
            if (p.layer, p.to_units[0]) != unit and group:
                rows += _pair(group, per_row)
                group = []
            unit = (p.layer, p.to_units[0])
            group.append(line)
        return rows + _pair(group, per_row)

    # -- 7. one expanded chain ------------------------------------------------------------
    def section_chain(self) -> dict[str, Any]:
        c = self.chain
        braces = [rf"\underbrace{{{f.partial}}}_{{{f.formula}}}" for f in c.factors]
        per_row = 5
        chunks = [braces[i:i + per_row] for i in range(0, len(braces), per_row)]
        lhs = c.grad_latex if c.single_path else r"\text{path term}"
        rows = [f"{lhs} &= " + r" \cdot ".join(chunks[0])]
        rows += [r"&\quad \cdot " + r" \cdot ".join(chunk) for chunk in chunks[1:]]
        # the lecture's line: lhs = the factors' formulas in numbers = their values = the product -> the display
        numeric = line_rows(c.line, lead="&= ")
        numeric[0] = numeric[0].lstrip()
        stage = substituted_factors(self.s, c)
        if stage:  # factors side by side while they fit a row, then on under a \quad
            room = ROW_WIDTH - visible_width(rf"{lhs} &\quad") - 2
            # (joiner, text): a factor too wide for a row by itself is cut between its terms (inside \Bigl( \Bigr))
            tokens = [(r" \cdot " if i else "", piece) if k == 0 else (" ", piece)
                      for i, part in enumerate(stage)
                      for k, piece in enumerate(pieces_of(part, room) if visible_width(part) > room else [part])]
            rows_of: list[list[tuple[str, str]]] = [[]]
            used = visible_width(f"{lhs} &= ")
            for joiner, part in tokens:
                if rows_of[-1] and used + visible_width(part) + 2 > ROW_WIDTH:
                    rows_of.append([])
                    used = visible_width(rf"{lhs} &\quad")
                rows_of[-1].append((joiner if rows_of[-1] or joiner == " " else joiner.lstrip(), part))
                used += visible_width(part) + 2
            texts = ["".join(j + t for j, t in row).strip() for row in rows_of]
            numeric = [f"{lhs} &= " + texts[0], *(r"&\quad " + t for t in texts[1:]), *numeric]
        else:
            numeric[0] = f"{lhs} {numeric[0]}"
        final = rf"&\to \boxed{{{c.gradient}}} \quad \text{{({self.d} d.p.)}}" if c.single_path else ""
        path = r" \to ".join(c.path)
        note = ""
        if not c.single_path:
            note = (f"This is one of the {c.n_paths} path terms whose sum is the gradient "
                    + (f"(over every unit of the layers above and all {self.n_ex} examples)" if self.n_ex > 1
                       else "(one per unit of the layers above)")
                    + rf"; summed, they give ${c.grad_latex} = {c.gradient}$ ({self.d} d.p.).")
        if c.condition:
            note += (" " if note else "") + (rf"The factor ${c.factors[0].formula}$ holds because the targets "
                                             rf"sum to 1: ${c.condition}$.")
        param = self.q(c.parameter).latex
        return {"param": Tex(param), "path": Tex(path), "formula": block(rows),
                "numeric": block(numeric + ([final] if final else [])), "note": Tex(note),
                "level_note": Tex("The factors are shown with extra digits so that their product reproduces "
                                  "the result." if c.line.level else "")}

    # -- 8. summary ---------------------------------------------------------------------
    def section_summary(self) -> dict[str, Any]:
        groups = []
        tiny = []
        for layer in reversed(self.net.layers):
            rows = []
            for p in self.params_of(layer.index):
                g = self.grad(p.name)
                v = self.s.value(g.name)
                shown = self.s.display(g.name)
                precise = approx_latex(v)
                updated = result_latex(result_text(self.s.value(p.name + "'"), self.d))  # 1e17 after a wild step
                rows.append((Tex(f"${self.gslash(p.name)}$"), Tex(f"${shown}$"), Tex(f"${precise}$"),
                             Tex(f"${updated}$" + (" (frozen)" if p.frozen else ""))))
                if v and shown.strip("-0.") == "":
                    tiny.append(self.q(p.name).latex)
            groups.append({"title": Tex(self.layer_title(layer.index)), "rows": rows})
        half = "0." + "0" * self.d + "5"
        note = ""
        if tiny:
            note = (rf"The gradients for ${symbols(tiny)}$ are nonzero but smaller than ${half}$ in magnitude, "
                    rf"so they display as ${display(Decimal(0), self.d)}$ at {self.d} decimals; the 4-digit "
                    "column shows their size.")
        return {"groups": groups, "note": Tex(note)}

    # -- 9. update ----------------------------------------------------------------------
    def section_update(self) -> dict[str, Any]:
        rows: list[list[str]] = []
        updated: list[Parameter] = []
        frozen = []
        for layer in reversed(self.net.layers):
            params = self.params_of(layer.index)
            if self.big:
                params = [p for p in params if p.to_units[0] == 1]
            for p in params:
                if p.frozen:
                    frozen.append(rf"{self.q(p.name + chr(39)).latex} = {self.q(p.name).latex} = {self.exact(p.name)}")
                    continue
                rows.append(line_rows(quantity_line(self.s, p.name + "'"), boxed=True))
                updated.append(p)
        history = self.s.evaluation.loss_history
        e0, e1 = history[0], history[1]
        loss = self.q(self.net.loss_name).latex
        change = "decreases" if e1 < e0 else "increases" if e1 > e0 else "stays"
        full = (rf"At full precision the loss {change} from ${loss} \approx {approx_latex(e0)}$ to "
                rf"${loss}' \approx {approx_latex(e1)}$.")
        if len(history) > 2:
            full += (f" After {len(history) - 1} steps of the same update it is "
                     rf"${approx_latex(history[-1])}$.")
        return {
            "rule": Tex(rf"\theta' = \theta - \eta \frac{{\partial {loss}}}{{\partial \theta}}, "
                        rf"\qquad \eta = {self.exact('eta')}"),
            "block": block(self._grouped_rows(rows, updated, 2)) if rows else None,
            "frozen": block(pack(frozen, 3), env="gather") if frozen else None,
            "more": Tex("Shown for the parameters of the first unit of each layer; every updated value is in "
                        "the gradient summary." if self.big else ""),
            "post": self.forward_groups(prime=True),
            "full": Tex(full),
            "remark": Tex(self._lecture_remark()),
        }

    def _lecture_remark(self) -> str:
        base = ("All values come from the full-precision computation, never from rounded intermediates; "
                "a hand calculation that reuses rounded values can differ in the last digit.")
        if self.spec.source != "built-in lecture network":
            return base
        ours = ", ".join(f"${self.q(n).latex} = {self.s.display(n)}$" for n in ("dE/dw2", "b2'", "z_h1'", "z_o'"))
        return base + (f" This is why this handout shows {ours} where the lecture, working from rounded "
                       "intermediates, printed $0.001$, $0.348$, $0.376$ and $1.066$.")

    # -- 10. quick reference ------------------------------------------------------------------
    def section_reference(self) -> dict[str, Any]:
        L = self.L
        z_out = self.unit("pre", L, 1)
        dz = self.grad(z_out.name)
        loss = self.q(self.net.loss_name).latex
        condition = self.s.condition(dz.name)
        steps = [(Tex("Compute the output sensitivity (delta):"),
                  Tex(f"{dz.latex} = {self.f(dz.name, explicit=True)}"
                      + with_condition(condition)))]
        if L > 1:
            h, zh = self.unit("act", L - 1, 1), self.unit("pre", L - 1, 1)
            dh, dzh = self.grad(h.name), self.grad(zh.name)
            steps.append((Tex("Backpropagate to the hidden activations, summing over the units above:"),
                          Tex(f"{dh.latex} = {' '.join(print_terms(self.printer, _definition(dh)))}")))
            steps.append((Tex("Convert to hidden pre-activation sensitivities with the local slope:"),
                          Tex(f"{dzh.latex} = {self.f(dzh.name)}")))
        steps.append((Tex(r"Form the parameter gradients: for any weight into a unit, gradient = (that unit's "
                          r"delta) $\times$ (its local input); for a bias, gradient = delta."), Tex("")))
        pitfalls = [
            r"Use the derivative at the pre-activation: $\sigma'(z) = \sigma(z)(1 - \sigma(z)) = a(1 - a)$, "
            r"not $\sigma'(a)$.",
            rf"Keep track of which local input multiplies which weight when forming $\partial {loss}/\partial w$.",
            "Rounding too early can hide tiny but real gradients; keep full precision for computations and "
            "round only for display.",
        ]
        if self.n_ex > 1:
            pitfalls.append("With several examples, add up the per-example contributions before the update.")
        return {"steps": steps, "pitfalls": [Tex(p) for p in pitfalls],
                "pairs": loss_table(), "loss": Tex(loss)}

    # -- 11. verification ------------------------------------------------------------------------
    def section_verification(self) -> dict[str, Any]:
        rows = []
        proofs = self.s.derivation.proofs
        for p in self.net.parameters:
            pr = proofs[p.name]
            how = pr.method if pr.digits is None else f"{pr.method}, {pr.digits} digits"
            rows.append((Tex(f"${self.gslash(p.name)}$"), how, "proven" if pr.proven else "MISMATCH"))
        methods = sorted({pr.method for pr in proofs.values()})
        details = []
        if "symbolic" in methods:
            details.append(("symbolic", Tex(
                "all definitions are inlined into one expression of the loss, differentiated by SymPy "
                "(sympy.diff), and its difference to the chain-rule formula simplifies to $0$.")))
        if "local+ad" in methods:
            details.append(("local+ad", Tex(
                r"every local rule the chain uses ($\partial z/\partial w$ = local input, "
                r"$\partial z/\partial a$ = weight, the activation slopes, the output delta) is proven "
                r"symbolically, and the end-to-end value agrees with reverse-mode differentiation of the "
                r"forward definitions in ball arithmetic (rigorous error bounds) to the number of "
                r"significant digits shown.")))
        proven = sum(1 for pr in proofs.values() if pr.proven)
        return {"rows": rows, "details": details,
                "summary": Tex(f"{proven} of {len(proofs)} gradients proven equal to their chain-rule formula.")}


# -- helpers ----------------------------------------------------------------------------------

def _definition(q: Quantity) -> sympy.Expr:
    assert q.definition is not None
    return q.definition


def _lecture_order(expr: sympy.Expr) -> sympy.Expr:
    """``sigma(z) (1 - sigma(z))`` rather than SymPy's canonical ``(1 - sigma(z)) sigma(z)``."""
    if isinstance(expr, sympy.Mul):
        args = sorted(expr.args, key=lambda a: isinstance(a, sympy.Add))
        return sympy.Mul(*args, evaluate=False)
    return expr


def _is_product(expr: Any) -> bool:
    return expr is not None and isinstance(expr, sympy.Mul)


def _fit(lines: list[list[str]], per_row: int) -> int:
    """How many lines fit side by side: ``align`` lines up columns, so the widest entry of each counts."""
    if any(len(line) > 1 for line in lines):
        return 1
    while per_row > 1:
        columns = [[line[0] for line in lines[c::per_row]] for c in range(per_row)]
        total = sum(max((visible_width(r) for r in column), default=0) for column in columns)
        if total + 6 * (per_row - 1) <= PAIR_WIDTH:
            break
        per_row -= 1
    return per_row


def _pair(lines: list[list[str]], per_row: int = 2) -> list[str]:
    """Lines side by side (``a &= 1, & b &= 2``) when the columns fit the width, else one a row."""
    per_row = _fit(lines, per_row)
    if per_row == 1:
        return [row for line in lines for row in line]
    flat = [line[0] for line in lines]
    return [", & ".join(flat[i:i + per_row]) for i in range(0, len(flat), per_row)]


# -- the output/loss table of the lecture's note (derived at build time: symbackprop.engine.losstable) ------

@cache
def loss_table() -> list[dict[str, Any]]:
    """Each output/loss row of the shipped table, its expressions printed by the project's printer
    (the file holds expression trees, never LaTeX); the title stays text, escaped by the template."""
    printer = BackpropPrinter(table_names())
    return [{"title": pair.title, "loss": Tex(printer.doprint(pair.loss_expr)),
             "delta_name": Tex(printer.symbol_latex[pair.delta]), "delta": Tex(printer.doprint(pair.delta_expr)),
             "condition": Tex(condition_latex(printer, pair.condition))} for pair in loss_pairs()]


def handout_context(solution: Solution, sections: Sequence[str] = SECTIONS, chain: str | None = None,
                    edge_values: bool = False) -> dict[str, Any]:
    return HandoutContext(solution, chain, edge_values).build(sections)
