"""A solution as meaning for the handout templates: equations as rows of parts, values, names, lists.

Formulas come from the ``BackpropPrinter``, numbers from ``notation.lines`` (which reproduce).  An
equation *display* is built of :mod:`.rows` (maths, boxes, equations); the templates' macros
(``macros.tex.j2``, ``macros.md.j2``) choose the environment and draw the boxes.  Every word comes
from the language's words template (``templates/lang/<lang>.j2``, :func:`render.words`); words inside
maths are asked for here, because their width decides what shares a row.  User text (title, author)
stays a plain ``str`` so the renderer escapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import sympy

from ..engine.activations import activation as activation_named
from ..engine.activations import function_symbol
from ..engine.derive import structure
from ..engine.losstable import loss_pairs, table_names
from ..engine.naming import LEARNING_RATE
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
from ..engine.spec import has_the_lectures_values
from ..errors import DerivationMismatch
from ..layout import ROW_WIDTH, brace_rows, break_row, display_width, fit_columns, join_rows, pieces_of
from ..layout import line_rows as aligned_rows
from ..layout import pack as pack_rows
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
from .render import TemplateMacros, Tex, words
from .rows import (
    Row,
    block,
    box,
    formula,
    formula_rows,
    joined,
    line_rows,
    pack,
    text_of,
)
from .update_rule import optimizer_meaning, rule_meaning

#: every section, in the lecture's order
SECTIONS = ("problem", "activation", "diagram", "forward", "equations", "walkthrough", "chain",
            "summary", "update", "reference", "verification")
#: what side-by-side lines may add up to (``visible_width`` overestimates short lines)
PAIR_WIDTH = 80
#: the room between two columns of side-by-side lines
PAIR_GAP = 6
#: a row of three equations joined with ``\quad`` (a fraction's bar and the quads are wide: 84 units measured 483 pt
#: on the 465 pt text width, 67 units 385 pt); wider, they go on aligned rows of their own
JOINED_WIDTH = 76
#: the handout's text width (pt, 11 pt on A4 with 2.3 cm margins); an em of its displayed maths and of a subscript,
#: and what a ``tex_width`` character of display maths takes (pt): for the expanded chain's boxes
TEXT_PT = 465
DISPLAY_EM = 11
SCRIPT_EM = 8
DISPLAY_UNIT = 6.05
#: the room around a factor in its box, and what a ``\cdot`` between two boxes takes (pt)
BRACE_GAP = 6
BRACE_DOT = 8
#: larger networks get the per-layer matrix form and tables instead of one equation per parameter
#: sections whose meaning is the network's structure and the words, never a value (the equations too,
#: but for a big network, whose table shows values): an exam's variants share them, made once per process
STRUCTURAL = ("activation", "reference")
_STRUCTURAL: dict[tuple[object, ...], dict[str, Any]] = {}
MAX_PARAMS_SMALL = 40
MAX_LAYER_PARAMS_SMALL = 12

def slash(numerator: str, denominator: str) -> str:
    """``\\partial E/\\partial w_{5}``: the in-line form for tables and running text."""
    return rf"\partial {numerator}/\partial {denominator}"


def symbols(latexes: Sequence[str]) -> str:
    """``x_{1}, x_{2}`` or ``x_{1}, x_{2}, \\dots, x_{8}`` for long lists."""
    if len(latexes) <= 4:
        return ", ".join(latexes)
    return f"{latexes[0]}, {latexes[1]}, \\dots, {latexes[-1]}"


def is_big(network: Network) -> bool:
    per_layer: dict[int, int] = {}
    for p in network.parameters:
        per_layer[p.layer] = per_layer.get(p.layer, 0) + 1
    return len(network.parameters) > MAX_PARAMS_SMALL or max(per_layer.values()) > MAX_LAYER_PARAMS_SMALL


class HandoutContext:
    """Builds the template context of one handout."""

    def __init__(self, solution: Solution, chain: str | None = None, edge_values: bool = False,
                 lang: str = "en"):
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
        self.w: TemplateMacros = words(lang)

    # -- small helpers ------------------------------------------------------------
    def q(self, name: str) -> Quantity:
        return self.net[name]

    def unit(self, kind: str, layer: int, j: int, e: int = 1) -> Quantity:
        return self.net[self.net.unit_name(kind, layer, j, e)]

    def grad(self, name: str) -> Quantity:
        return self.net[self.net.grad(name)]

    def gslash(self, param: str) -> str:
        return slash(self.q(self.net.loss_name).latex, self.q(param).latex)

    def f(self, name: str, explicit: bool = False) -> str:
        return self.s.formula(name, explicit)

    def say(self, phrase: str, *args: Any) -> Tex:
        """A phrase of the language's words template (``templates/lang/<lang>.j2``)."""
        return Tex(getattr(self.w, phrase)(*(Tex(a) if isinstance(a, str) else a for a in args)))

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
            "w": self.w,
        }
        for name in sections:
            if name in STRUCTURAL or (name == "equations" and not self.big):
                key = (name, structure(self.spec), *self.w.origin)
                found = _STRUCTURAL.get(key)
                if found is None:
                    if len(_STRUCTURAL) >= 64:
                        _STRUCTURAL.clear()
                    found = _STRUCTURAL[key] = getattr(self, f"section_{name}")()
                ctx[name] = found
            else:
                ctx[name] = getattr(self, f"section_{name}")()
        return ctx

    def policy(self) -> dict[str, Any]:
        d = self.d
        return {"decimals": d, "half": Tex("0." + "0" * d + "5" if d else "0.5"), "zero": Tex(display(Decimal(0), d))}

    # -- 1. problem -------------------------------------------------------------------
    def section_problem(self) -> dict[str, Any]:
        net, namer = self.net, self.namer
        inputs = [namer.input(k).latex for k in range(1, self.spec.n_inputs + 1)]
        layers = [{"index": layer.index, "size": layer.size, "activation": layer.activation_name,
                   "symbols": Tex(symbols([namer.act(layer.index, j).latex for j in range(1, layer.size + 1)]))}
                  for layer in net.layers]
        intro = {"inputs": Tex(symbols(inputs)), "hidden": layers[:-1], "output": layers[-1], "L": self.L,
                 "loss": self.spec.loss, "examples": self.n_ex, "reduction": self.spec.reduction}
        example_rows = []
        for e, example in enumerate(self.spec.examples, start=1):
            items = [f"{namer.input(k).latex} = {exact_text(self.s.value(net.unit_name('act', 0, k, e)))}"
                     for k in range(1, len(example.inputs) + 1)]
            items += [f"{namer.target(j).latex} = "
                      f"{exact_text(self.s.value(namer.for_example(namer.target(j), e, self.n_ex).ascii))}"
                      for j in range(1, len(example.targets) + 1)]
            label = self.say("example_label", e) + r" \quad & " if self.n_ex > 1 else "& "
            for i, row in enumerate(pack(items, 6)):
                example_rows.append([Tex(label if i == 0 else "& "), *row])
        # parameters
        param_rows: list[str] = []
        param_table: list[dict[str, Any]] = []
        for layer in net.layers:
            heading = self.say("connection", layer.index, self.L)
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
                    chunks = [text_of(chunk) for chunk in pack(items, len(items), ", ", room)]
                    for i, chunk in enumerate(chunks):
                        lead = heading + r"\colon \quad & " if first else "& "
                        param_rows.append(lead + chunk + ("," if i < len(chunks) - 1 else target))
                        first = False
            else:
                cells = [(Tex(self.q(p.name).latex), Tex(self.exact(p.name))) for p in self.params_of(layer.index)]
                cell_rows = [[cells[i] for i in row] for row in pack_rows([1.0] * len(cells), 4)]
                param_table.append({"title": heading, "rows": cell_rows})
        frozen = [self.q(p.name).latex for p in net.parameters if p.frozen]
        return {
            "intro": intro,
            "examples": block(example_rows),
            "params": block(param_rows) if param_rows else None,
            "param_table": param_table,
            "frozen": Tex(symbols(frozen) if len(frozen) > 6 else ", ".join(frozen)),
            "learning_rate": Tex(self.exact(LEARNING_RATE.ascii)),
            # an [optimizer] rule, for a sheet that states the exercise in full (an exam's questions)
            "optimizer": rule_meaning(self.s) if self.spec.optimizer is not None else None,
            "loss": Tex(net[net.loss_name].latex),
            "glossary": self.glossary(),
            "equations": self.neuron_equations(),
            "per_example": self.n_ex > 1,
            "units": self.parameter_units(),
        }

    def parameter_units(self) -> list[dict[str, Any]]:
        """Each layer's parameters unit by unit, for a page that lets TeX break the lines (an exam sheet):
        ``{"title": connection, "units": [{"pairs": ["w_1 = 0.35", ...], "target": "h_1"}]}``."""
        net = self.net
        layers = []
        for layer in net.layers:
            units = []
            for j in range(1, layer.size + 1):
                names = [net.weight_name(layer.index, j, k) for k in range(1, self._fan_in(layer.index) + 1)]
                if not (self.spec.shared_bias and j > 1):
                    names.append(net.bias_name(layer.index, j))
                units.append({"pairs": [Tex(f"{self.q(n).latex} = {self.exact(n)}") for n in names],
                              "target": Tex(self.namer.act(layer.index, j).latex)})
            layers.append({"title": self.say("connection", layer.index, self.L), "units": units})
        return layers

    def _fan_in(self, layer: int) -> int:
        return self.spec.n_inputs if layer == 1 else self.net.layers[layer - 2].size

    def glossary(self) -> list[dict[str, Any]]:
        """The symbols with what they mean: ``{"symbol": maths, "meaning": phrase, "args": [...]}``."""
        net, namer = self.net, self.namer
        rows: list[tuple[str, str, list[Any]]] = []
        ins = [namer.input(k).latex for k in range(1, self.spec.n_inputs + 1)]
        outs_n = net.layers[-1].size
        rows.append((symbols(ins), "inputs", []))
        rows.append((symbols([namer.target(j).latex for j in range(1, outs_n + 1)]), "targets", [outs_n]))
        weights = [self.q(p.name).latex for p in net.parameters if p.kind == "weight"]
        biases = [self.q(p.name).latex for p in net.parameters if p.kind == "bias"]
        rows.append((symbols(weights), "weights", []))
        rows.append((symbols(biases), "biases", [self.spec.shared_bias]))
        for layer in net.layers:
            zs = [namer.pre(layer.index, j).latex for j in range(1, layer.size + 1)]
            acts = [namer.act(layer.index, j).latex for j in range(1, layer.size + 1)]
            rows.append((symbols(zs), "pre_activations", [layer.index, self.L, layer.size]))
            rows.append((symbols(acts), "activations", [layer.index, self.L, layer.size]))
        loss = self.q(self.net.loss_name)
        loss_formula = self.f(loss.name) if self.n_ex == 1 else ""
        shown = Tex(f"{loss.latex} = {loss_formula}" if loss_formula and len(loss_formula) < 120 else "")
        rows.append((loss.latex, "loss", [self.spec.loss, shown]))
        for name in dict.fromkeys(layer.activation_name for layer in net.layers):
            rows.append((self._activation_symbol(name), "activation", [name]))
        rows.append((r"\eta", "learning_rate", []))
        rows.append((partial(loss.latex, "z"), "sensitivity", []))
        rows.append(("\\theta'", "updated", []))
        if self.n_ex > 1:
            rows.append((r"\cdot^{\langle e\rangle}", "per_example", []))
        return [{"symbol": Tex(a), "meaning": b, "args": args} for a, b, args in rows]

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
            z, a = self.unit("pre", 1, 1), self.unit("act", 1, 1)
            unit_rows = self._definition_rows(z)
            unit_rows[-1] += rf", & {a.latex} &= {self.f(a.name)}"
            return {"blocks": [block(rows), block(unit_rows)], "matrix": True, "L": self.L,
                    "w_generic": Tex(self._w_generic())}
        equations: list[Row] = []
        for layer in net.layers:
            for j in range(1, layer.size + 1):
                z, a = self.unit("pre", layer.index, j), self.unit("act", layer.index, j)
                equations.append([formula(z.latex, self.f(z.name)), Tex(", & "), formula(a.latex, self.f(a.name))])
        return {"blocks": [block(equations)], "matrix": False}

    def _definition_rows(self, q: Quantity, per_row: int = 5) -> list[str]:
        expr = q.definition
        assert expr is not None
        if isinstance(expr, sympy.Add) and len(expr.args) > per_row:
            terms = print_terms(self.printer, expr)
            return join_rows(f"{q.latex} &= ", terms, pack_rows([1.0] * len(terms), per_row))
        return [f"{q.latex} &= {self.s.latex_of(expr)}"]

    def _w_generic(self) -> str:
        return r"w^{(l)}_{jk}"

    # -- 2. activations -----------------------------------------------------------------
    def section_activation(self) -> dict[str, Any]:
        z, a = sympy.Symbol("z", real=True), sympy.Symbol("a", real=True)
        p = BackpropPrinter()
        items = []
        for layer_name in dict.fromkeys(layer.activation_name for layer in self.net.layers):
            title = {"name": layer_name, "layers": [layer.index for layer in self.net.layers
                                                    if layer.activation_name == layer_name]}
            if layer_name == "softmax":
                items.append({"title": title, "rows": self._softmax_rows()})
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
            fname = function_symbol(layer_name)[1]
            said, derivative_said = self.say("math_definition"), self.say("math_derivative")
            rows = [rf"{said} \quad & {f.definition_latex}"]
            exp_form = fz.rewrite(sympy.exp) if layer_name == "sigmoid" else None
            if exp_form is not None and exp_form != fz:
                definition = f.definition_latex.split(" = ", 1)[1]
                by_exp = p.doprint(sympy.diff(exp_form, z))
                rows.append(rf"{derivative_said} \quad & {fname}'(z) = \frac{{d}}{{dz}}\left({definition}"
                            rf"\right) = {by_exp} = {p.doprint(_lecture_order(derivative))}")
            elif layer_name in ("relu", "leaky_relu"):  # piecewise, then the indicator the equations use
                cases = piecewise_slope_latex(layer.spec.slope or sympy.S.Zero)
                rows.append(rf"{derivative_said} \quad & {fname}'(z) = {cases} = {p.doprint(derivative)}")
            else:
                rows.append(rf"{derivative_said} \quad & {fname}'(z) = {p.doprint(_lecture_order(derivative))}")
            if slope != derivative:
                rows.append(rf"{self.say('math_with', fname)} \quad & {fname}'(z) = {p.doprint(slope)}")
            items.append({"title": title, "rows": block(rows)})
        out = self.net.layers[-1]
        a_out, z_out = self.unit("act", self.L, 1), self.unit("pre", self.L, 1)
        return {"entries": items, "L": self.L, "output_symbol": Tex(a_out.latex), "output_pre": Tex(z_out.latex),
                "elementwise_output": out.elementwise is not None}

    def _softmax_rows(self) -> dict[str, Any]:
        # derived on two units by SymPy: d y_k / d z_j = y_k (delta_kj - y_j)
        z1, z2 = sympy.symbols("z1 z2", real=True)
        y1, y2 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(z2)), sympy.exp(z2) / (sympy.exp(z1) + sympy.exp(z2))
        assert sympy.simplify(sympy.diff(y1, z1) - y1 * (1 - y1)) == 0
        assert sympy.simplify(sympy.diff(y1, z2) + y1 * y2) == 0
        return block([self.say("math_definition") + r" \quad & \hat{y}_{k} = \frac{e^{z_{k}}}{\sum_{m} e^{z_{m}}}",
                      self.say("math_derivative") + r" \quad & \frac{\partial \hat{y}_{k}}{\partial z_{j}} = "
                      r"\hat{y}_{k}\left(\delta_{kj} - \hat{y}_{j}\right) \quad " + self.say("kronecker")])

    # -- 3. diagram -------------------------------------------------------------------------
    def section_diagram(self) -> dict[str, Any]:
        path = [(0, self.chain_first_input())] if self.chain else []
        units = self._chain_units()
        values = value_labels(self.net, self.s.evaluation.values) if self.edge_values else None
        dg = diagram(self.net, self.edge_values, path + units, values, roomy=True)
        edges: list[tuple[Tex | None, Tex, Tex]] = []
        if not self.big:
            for layer in self.net.layers:
                for j in range(1, layer.size + 1):
                    for k in range(1, self._fan_in(layer.index) + 1):
                        w = self.net.weight_name(layer.index, j, k)
                        src = (self.namer.input(k) if layer.index == 1 else self.namer.act(layer.index - 1, k)).latex
                        edges.append((Tex(src), Tex(self.namer.act(layer.index, j).latex),
                                      Tex(f"{self.q(w).latex} = {self.exact(w)}")))
                    b = self.net.bias_name(layer.index, j)
                    edges.append((None, Tex(self.namer.act(layer.index, j).latex),
                                  Tex(f"{self.q(b).latex} = {self.exact(b)}")))
        layers = [{"index": layer.index, "size": layer.size, "activation": layer.activation_name}
                  for layer in self.net.layers]
        # the words of the legend are the template's; which one and its example weight are data
        legend = {"sequential": dg.legend.sequential, "weight": Tex(dg.legend.weight)} if dg.legend else None
        return {"tikz": Tex(dg.tikz), "legend": legend, "edges": edges, "inputs": self.spec.n_inputs,
                "layers": layers, "L": self.L}

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
                lines: list[list[Row]] = []
                for j in range(1, layer.size + 1):
                    zname, aname = (self.net.unit_name(kind, layer.index, j, e) for kind in ("pre", "act"))
                    if prime:
                        zname, aname = self.net.updated(zname), self.net.updated(aname)
                    lines.append(line_rows(quantity_line(self.s, zname)))
                    lines.append(line_rows(quantity_line(self.s, aname)))
                rows = _pair(lines, 2) if layer.elementwise is not None else _pair(lines, 1)
                groups.append({"layer": layer.index, "example": e if self.n_ex > 1 else None, "block": block(rows)})
        loss_name = self.net.updated(self.net.loss_name) if prime else self.net.loss_name
        groups.append({"layer": None, "example": None,
                       "block": block(line_rows(quantity_line(self.s, loss_name), boxed=prime))})
        return groups

    def section_forward(self) -> dict[str, Any]:
        return {"groups": self.forward_groups(prime=False), "L": self.L}

    # -- 5. chain-rule equations ----------------------------------------------------------
    def section_equations(self) -> dict[str, Any]:
        if self.big:
            return self._equations_big()
        groups = []
        last = self.net.layers[-1]
        for layer in reversed(self.net.layers):
            parts: list[dict[str, Any]] = []
            for e in self.examples():
                rows: list[Row] = []
                for j in range(1, layer.size + 1):
                    a, z = self.unit("act", layer.index, j, e), self.unit("pre", layer.index, j, e)
                    da, dz = self.grad(a.name), self.grad(z.name)
                    explicit = layer is last
                    if layer is last and last.elementwise is None:
                        rows += formula_rows(da.latex, self.f(da.name))
                        note = self._softmax_note(dz.name)
                        one: Row = [box(f"{dz.latex} = {self.f(dz.name, explicit=True)}"), Tex(rf" &\quad {note}")]
                        rows += [one] if visible_width(text_of(one)) <= ROW_WIDTH else \
                            self._boxed_rows(dz, explicit, note)
                        continue
                    f = layer.elementwise
                    assert f is not None
                    slope = self.s.latex_of(f.local_slope(a.symbol, z.symbol))
                    lead = rf"{da.latex} &= {self.f(da.name)}, \quad {partial(a.latex, z.latex)} = {slope}, \quad "
                    one = [Tex(lead), box(f"{dz.latex} = {self.f(dz.name, explicit)}")]
                    if visible_width(text_of(one)) <= JOINED_WIDTH:
                        rows.append(one)
                        continue
                    # too wide for one row: the three equations on aligned rows of their own
                    rows += formula_rows(da.latex, self.f(da.name))
                    rows += formula_rows(partial(a.latex, z.latex), slope)
                    rows += self._boxed_rows(dz, explicit)
                parts.append({"example": e if self.n_ex > 1 else None, "block": block(rows)})
            boxed: list[str | Row] = [[box(f"{self.grad(p.name).latex} = {self.f(self.grad(p.name).name)}")]
                     for p in self.params_of(layer.index)]
            per_row = 3 if self.n_ex == 1 and not self.spec.shared_bias else (2 if self.n_ex <= 2 else 1)
            while per_row > 1 and any(visible_width(text_of(r)) > PAIR_WIDTH for r in pack(boxed, per_row)):
                per_row -= 1
            grads = block(pack(boxed, per_row), centred=True)
            groups.append({"layer": layer.index, "parts": parts, "grads": grads,
                           "sum_note": self._sum_note(layer.index)})
        return {"big": False, "groups": groups, "L": self.L}

    def _boxed_rows(self, dz: Quantity, explicit: bool, note: str = "") -> list[Row]:
        """``dz &= [formula]`` (the closed form boxed), the box over several aligned rows when the formula
        is too wide for one; ``note`` after it, or on a row of its own when the row has no room."""
        expr = dz.explicit if explicit and dz.explicit is not None else dz.definition
        assert expr is not None
        lead = f"{dz.latex} &= "
        rhs = self.printer.doprint(expr)
        rows: list[Row] = [[Tex(lead), box(rhs)]]
        room = ROW_WIDTH - visible_width(lead) - 2
        if visible_width(rhs) > room:
            rows = [[Tex(lead), box(*break_row("&" + rhs, room), aligned=True)]]
        if note:
            last = [*rows[-1], Tex(r" \quad " + note)]
            rows[-1:] = [last] if visible_width(text_of(last)) <= ROW_WIDTH else [rows[-1], [Tex(r"&\quad " + note)]]
        return rows

    def _softmax_note(self, name: str) -> str:
        """How a softmax output delta came about, and the condition its closed form uses."""
        return self.say("math_softmax_note", self.s.condition(name) or "")

    def _sum_note(self, layer: int) -> dict[str, bool]:
        """Which sums the layer's gradients hold (the template words them)."""
        return {"above": layer < self.L and self.net.layers[layer].size > 1, "examples": self.n_ex > 1,
                "mean": self.spec.reduction == "mean", "shared_bias": self.spec.shared_bias}

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
                rows_table.append((Tex(self.gslash(p.name)), Tex(self.f(g.name)), Tex(self.s.display(g.name))))
        return {"big": True, "recursion": block(rows), "grads": block(grads), "scalar": block(scalar),
                "table": rows_table, "sum_note": self._sum_note(1)}

    # -- 6. numeric walkthrough --------------------------------------------------------------
    def section_walkthrough(self) -> dict[str, Any]:
        groups = []
        last = self.net.layers[-1]
        for layer in reversed(self.net.layers):
            parts = []
            for e in self.examples():
                rows: list[list[Row]] = []
                slopes: list[list[Row]] = []
                deltas: list[list[Row]] = []
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
                    label = (self.s.latex_of(slope_expr) if slope_expr.free_symbols  # identity: not 1 = 1 = 1.000
                             else rf"\frac{{\partial {a.latex}}}{{\partial {z.latex}}}")
                    slope = expression_line(self.s, label, slope_expr)
                    slopes.append(line_rows(slope))
                    delta = product_line(dz.latex, [(self.s.value(da.name), False),
                                                    (expression_value(self.s, slope_expr), False)], self.d,
                                         value=self.s.value(dz.name))
                    deltas.append(line_rows(delta, boxed=True))
                parts.append({"example": e if self.n_ex > 1 else None,
                              "blocks": [block(_pair(lines)) for lines in (rows, slopes, deltas) if lines]})
            params = self.params_of(layer.index)
            if self.big:
                params = [p for p in params if p.to_units[0] == 1]
            per_row = (self._fan_in(layer.index) + 1) if self._fan_in(layer.index) < 3 and self.n_ex == 1 else 2
            grads = self._grouped_rows([line_rows(quantity_line(self.s, self.grad(p.name).name), boxed=True)
                                        for p in params], params, per_row)
            more = len(self.params_of(layer.index)) - len(params)
            groups.append({"layer": layer.index, "parts": parts, "grads": block(grads), "more": more})
        return {"groups": groups, "L": self.L}

    @staticmethod
    def _grouped_rows(lines: list[list[Row]], params: list[Parameter], per_row: int) -> list[Row]:
        """Parameter lines side by side, a new row for every unit (``w1, w2, b1`` then ``w3, w4, b2``):
        a row never mixes two units' (or two layers') parameters."""
        rows: list[Row] = []
        group: list[list[Row]] = []
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
        lhs = c.grad_latex if c.single_path else self.say("math_path_term")
        # every factor in a box of one width (the template's ``braces`` macro), in balanced rows
        room = TEXT_PT - (display_width(lhs) + 2) * DISPLAY_UNIT - DISPLAY_EM  # a row after the first: \quad
        chunks, widths = brace_rows([(f.partial, f.formula) for f in c.factors], room, DISPLAY_EM, DISPLAY_UNIT,
                                    BRACE_GAP, BRACE_DOT, label_em=SCRIPT_EM, even=True)
        factors = [{"partial": Tex(f.partial), "formula": Tex(f.formula), "width": f"{w:.1f}"}
                   for f, w in zip(c.factors, widths, strict=True)]
        braces = {"lhs": Tex(lhs), "rows": [[factors[i] for i in chunk] for chunk in chunks]}
        # the lecture's line: lhs = the factors' formulas in numbers = their values = the product -> the display
        numeric = aligned_rows(c.line, lead="&= ")
        numeric[0] = numeric[0].lstrip()
        stage = substituted_factors(self.s, c)
        if stage:  # factors side by side while they fit a row, then on under a \quad
            room = ROW_WIDTH - visible_width(rf"{lhs} &\quad") - 2
            # (joiner, text): a factor too wide for a row by itself is cut between its terms (inside \Bigl( \Bigr))
            tokens = [(r" \cdot " if i else "", piece) if k == 0 else (" ", piece)
                      for i, part in enumerate(stage)
                      for k, piece in enumerate(pieces_of(part, room) if visible_width(part) > room else [part])]
            rows_of = pack_rows([visible_width(part) + 2 for _, part in tokens], ROW_WIDTH,
                                first=visible_width(f"{lhs} &= "), then=visible_width(rf"{lhs} &\quad"))
            # a row's first factor drops its `` \cdot `` (a continued term keeps its space)
            texts = ["".join((j if k or j == " " else j.lstrip()) + t
                             for k, (j, t) in enumerate(tokens[i] for i in row)).strip() for row in rows_of]
            numeric = [f"{lhs} &= " + texts[0], *(r"&\quad " + t for t in texts[1:]), *numeric]
        else:
            numeric[0] = f"{lhs} {numeric[0]}"
        final: Row = [Tex(r"&\to "), box(c.gradient), Tex(r" \quad " + self.say("math_decimals", self.d))]
        param = self.q(c.parameter).latex
        note = {"paths": c.n_paths, "examples": self.n_ex, "gradient": Tex(f"{c.grad_latex} = {c.gradient}"),
                "decimals": self.d, "factor": Tex(c.factors[0].formula) if c.condition else None,
                "condition": Tex(c.condition or "")}
        return {"param": Tex(param), "path": Tex(r" \to ".join(c.path)), "braces": braces,
                "numeric": block([*numeric, final] if c.single_path else numeric),
                "single_path": c.single_path, "note": note, "level": bool(c.line.level)}

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
                after = self.s.value(self.net.updated(p.name))
                updated = result_latex(result_text(after, self.d))  # 1e17 after a wild step
                rows.append({"gradient": Tex(self.gslash(p.name)), "value": Tex(shown), "precise": Tex(approx_latex(v)),
                             "updated": Tex(updated), "frozen": p.frozen})
                if v and shown.strip("-0.") == "":
                    tiny.append(self.q(p.name).latex)
            groups.append({"layer": layer.index, "rows": rows})
        note = {"tiny": Tex(symbols(tiny)), "half": Tex("0." + "0" * self.d + "5"),
                "zero": Tex(display(Decimal(0), self.d)), "decimals": self.d} if tiny else None
        return {"groups": groups, "note": note, "L": self.L}

    # -- 9. update ----------------------------------------------------------------------
    def section_update(self) -> dict[str, Any]:
        rows: list[list[Row]] = []
        updated: list[Parameter] = []
        frozen = []
        for layer in reversed(self.net.layers):
            params = self.params_of(layer.index)
            if self.big:
                params = [p for p in params if p.to_units[0] == 1]
            for p in params:
                if p.frozen:
                    after = self.q(self.net.updated(p.name)).latex
                    frozen.append(rf"{after} = {self.q(p.name).latex} = {self.exact(p.name)}")
                    continue
                rows.append(line_rows(quantity_line(self.s, self.net.updated(p.name)), boxed=True))
                updated.append(p)
        history = self.s.evaluation.loss_history
        e0, e1 = history[0], history[1]
        loss = self.q(self.net.loss_name).latex
        lecture = has_the_lectures_values(self.spec)  # the lecture printed these very values
        rule = None
        if self.spec.optimizer is not None:
            rule = optimizer_meaning(self.s, updated)
            rule["lines"] = block([r for line in rule["lines"] for r in line_rows(line)]) if rule["lines"] else None
        return {
            "optimizer": rule,
            "loss": Tex(loss),
            "eta": Tex(self.exact(LEARNING_RATE.ascii)),
            "block": block(self._grouped_rows(rows, updated, 2)) if rows else None,
            "frozen": block(pack(frozen, 3), centred=True) if frozen else None,
            "first_units_only": self.big,
            "post": self.forward_groups(prime=True),
            "L": self.L,
            "full": {"change": "decreases" if e1 < e0 else "increases" if e1 > e0 else "stays",
                     "before": Tex(approx_latex(e0)), "after": Tex(approx_latex(e1)), "steps": len(history) - 1,
                     "last": Tex(approx_latex(history[-1])), "loss": Tex(loss)},
            # the lecture printed values from rounded intermediates: ours beside them, in the remark
            "lecture_values": [Tex(f"{self.q(n).latex} = {self.s.display(n)}")
                               for n in ("dE/dw2", "b2'", "z_h1'", "z_o'")] if lecture else [],
        }

    # -- 10. quick reference ------------------------------------------------------------------
    def section_reference(self) -> dict[str, Any]:
        L = self.L
        z_out = self.unit("pre", L, 1)
        dz = self.grad(z_out.name)
        loss = self.q(self.net.loss_name).latex
        condition = self.s.condition(dz.name)
        steps = {"output": Tex(f"{dz.latex} = {self.f(dz.name, explicit=True)}" + with_condition(condition))}
        if L > 1:
            h, zh = self.unit("act", L - 1, 1), self.unit("pre", L - 1, 1)
            dh, dzh = self.grad(h.name), self.grad(zh.name)
            steps["hidden"] = Tex(f"{dh.latex} = {' '.join(print_terms(self.printer, _definition(dh)))}")
            steps["slope"] = Tex(f"{dzh.latex} = {self.f(dzh.name)}")
        return {"steps": steps, "examples": self.n_ex, "pairs": loss_table(), "loss": Tex(loss),
                "slopes": self._slope_pitfalls(), "dead_units": self._slope_used("relu")}

    def _slope_used(self, name: str) -> bool:
        """Whether a delta of the network multiplies by the slope of activation ``name``: a hidden layer's
        does; the output layer's does unless its loss cancels the slope (sigmoid with bce) or it is softmax."""
        out = self.net.layers[-1]
        used = [layer.activation_name for layer in self.net.layers[:-1]]
        if not (out.activation_name == "sigmoid" and self.net.spec.loss == "bce"):
            used.append(out.activation_name)
        return name in used

    def _slope_pitfalls(self) -> list[dict[str, Tex]]:
        """For each smooth activation whose slope a delta uses, its derivative at the pre-activation
        written as the equations use it (``sigma'(z) = sigma(z)(1 - sigma(z)) = a(1 - a)``) and the
        slip it is not (``sigma'(a)``); relu's slope is the quick reference's dead-unit remark instead."""
        z, a = sympy.Symbol("z", real=True), sympy.Symbol("a", real=True)
        p = BackpropPrinter()
        out = []
        for name in ("sigmoid", "tanh", "softplus"):
            if not self._slope_used(name):
                continue
            f = activation_named(name)
            fname = function_symbol(name)[1]
            derivative = sympy.diff(f.apply(z), z)
            slope = f.local_slope(a, z)
            right = f"{fname}'(z) = {p.doprint(_lecture_order(derivative))}"
            if slope != derivative:
                right += f" = {p.doprint(slope)}"
            out.append({"right": Tex(right), "wrong": Tex(f"{fname}'(a)")})
        return out

    # -- 11. verification ------------------------------------------------------------------------
    def section_verification(self) -> dict[str, Any]:
        proofs = self.s.proofs  # the evaluation's: a local+ad proof is completed at the values, not at derive
        rows = [{"gradient": Tex(self.gslash(p.name)), "method": proofs[p.name].method,
                 "digits": proofs[p.name].digits, "proven": proofs[p.name].proven} for p in self.net.parameters]
        return {"rows": rows, "methods": sorted({pr.method for pr in proofs.values()}),
                "proven": sum(1 for pr in proofs.values() if pr.proven), "total": len(proofs)}


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


def _fit(lines: list[list[Row]], per_row: int) -> int:
    """How many lines fit side by side: ``align`` lines up columns, so the widest entry of each counts."""
    if any(len(line) > 1 for line in lines):
        return 1
    return fit_columns([[visible_width(text_of(line[0])) for line in lines]], per_row, PAIR_WIDTH, PAIR_GAP)


def _pair(lines: list[list[Row]], per_row: int = 2) -> list[Row]:
    """Lines side by side (``a &= 1, & b &= 2``) when the columns fit the width, else one a row."""
    per_row = _fit(lines, per_row)
    if per_row == 1:
        return [row for line in lines for row in line]
    return [joined([lines[i][0] for i in row], ", & ") for row in pack_rows([1.0] * len(lines), per_row)]


# -- the output/loss table of the lecture's note (derived at build time: symbackprop.engine.losstable) ------

@cache
def loss_table() -> list[dict[str, Any]]:
    """Each output/loss row of the shipped table, its expressions printed by the project's printer
    (the file holds expression trees, never LaTeX); the title stays text, escaped by the template."""
    printer = BackpropPrinter(table_names())
    return [{"title": pair.title, "output": pair.output, "loss_name": pair.loss,
             "loss": Tex(printer.doprint(pair.loss_expr)),
             "delta_name": Tex(printer.symbol_latex[pair.delta]), "delta": Tex(printer.doprint(pair.delta_expr)),
             "condition": Tex(condition_latex(printer, pair.condition))} for pair in loss_pairs()]


def handout_context(solution: Solution, sections: Sequence[str] = SECTIONS, chain: str | None = None,
                    edge_values: bool = False, lang: str = "en") -> dict[str, Any]:
    return HandoutContext(solution, chain, edge_values, lang).build(sections)
