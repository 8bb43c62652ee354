"""What a recurrent network's handout adds to a graph's: the recurrence as the lecture writes it, and
backpropagation through time, each shared weight's gradient a sum over the time steps (the words are
``rnn_*`` in ``lang/<code>.j2``)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import sympy
from sympy import Symbol

from ..engine.graph import GraphSolution
from ..engine.rnnspec import rnn_layout
from ..notation.circuit import formula_tex, name_tex
from ..notation.lines import exact_text, make_line
from .convhandout import sum_rows
from .render import Tex

PER_LINE = 5  # values per displayed line
_FUNCTION = {"tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\mathrm{relu}"}


def _grad(out: str, name: str) -> str:
    return rf"\frac{{\partial {name_tex(out)}}}{{\partial {name_tex(name)}}}"


class _Rnn:
    def __init__(self, solution: GraphSolution):
        self.s = solution
        self.spec = solution.spec
        self.layout = rnn_layout(solution.spec)

    def formulas(self) -> list[str]:
        """The step's rules for any time t (unit j), as the lecture writes them."""
        lay = self.layout
        if lay.size == 1:
            x_term = r"W_{xh} \, x_t" if lay.hidden == 1 else r"W_{xh,j} \, x_t"
        else:
            index = "i" if lay.hidden == 1 else "ji"
            x_term = rf"\sum_{{i=1}}^{{{lay.size}}} W_{{xh,{index}}} \, x_{{t,i}}"
        h_term = (r"W_{hh} \, h_{t-1}" if lay.hidden == 1 else
                  rf"\sum_{{k=1}}^{{{lay.hidden}}} W_{{hh,jk}} \, h_{{t-1,k}}")
        bias = "b_{h}" if lay.hidden == 1 else "b_{h,j}"
        affine = f"{x_term} + {h_term} + {bias}"
        lines = []
        unit = "t" if lay.hidden == 1 else "t,j"
        if lay.activation == "identity":
            lines.append(rf"h_{{{unit}}} = {affine}")
        else:
            lines += [rf"a_{{{unit}}} = {affine}", rf"h_{{{unit}}} = {_FUNCTION[lay.activation]}(a_{{{unit}}})"]
        lines.append(r"y_t = W_{hy} \, h_t + b_{y}" if lay.hidden == 1 else
                     rf"y_t = \sum_{{j=1}}^{{{lay.hidden}}} W_{{hy,j}} \, h_{{t,j}} + b_{{y}}")
        steps, last = len(lay.outputs), lay.steps
        half = r"\tfrac{1}{2}" if lay.loss == "half_sse" else ""
        if steps == 1:
            lines.append(rf"E = {half}\left(y_{{{last}}} - t_{{{last}}}\right)^2")
        else:
            scale = half or rf"\tfrac{{1}}{{{steps}}}"
            lines += [rf"E_t = {scale}\left(y_t - t_t\right)^2", rf"E = \sum_{{t=1}}^{{{last}}} E_t"]
        return lines

    def data(self) -> list[str]:
        """The sequence, the initial state, the targets and the weights: spec numbers as the spec wrote them, at
        most ``PER_LINE`` a line, a vector or matrix (one step's inputs, ``W_hh``) not cut between two lines
        where it fits on one."""
        units: dict[str, dict[str, list[str]]] = {}  # kind -> a vector, matrix or sequence -> its leaves' names
        for leaf in self.spec.leaves:
            whole = re.sub(r"_\d+$", "", leaf.name)  # an entry of a vector or matrix: x2_1 -> x2, W_xh_21 -> W_xh
            whole = re.sub(r"\d+$", "", leaf.name) if whole == leaf.name else whole  # a sequence: x1, t3 -> x, t
            units.setdefault(leaf.kind, {}).setdefault(whole, []).append(leaf.name)
        groups = [units.get("input", {}), units.get("state", {}) | units.get("target", {}), units.get("parameter", {})]
        lines: list[list[str]] = []
        for group in groups:
            lines.append([])
            for names in group.values():
                if len(names) > PER_LINE and re.search(r"_\d\d$", names[0]):  # a matrix too long: a row a line
                    pieces = [list(row) for _, row in itertools.groupby(names, key=lambda name: name[:-1])]
                else:
                    pieces = [names[k:k + PER_LINE] for k in range(0, len(names), PER_LINE)]
                for piece in pieces:
                    if lines[-1] and len(lines[-1]) + len(piece) > PER_LINE:
                        lines.append([])
                    lines[-1] += piece
        # as every other page writes a given value (the circuit's wires, the practice page): 2, -1.50, 0.30
        return [r", \quad ".join(rf"{name_tex(name)} = {exact_text(self.s.values[name])}" for name in line)
                for line in lines if line]

    def sums(self) -> list[dict[str, Any]]:
        """Per weight and bias used at more than one time step: the sum over its uses (one per step) of that
        step's upstream gradient times what the weight met there (1 for a bias)."""
        out, rows = self.spec.output, []
        for leaf in self.spec.leaves:
            g = self.s.gradients[leaf.name]
            if leaf.kind != "parameter" or len(g.uses) < 2:
                continue
            symbolic, terms, values, exact = [], [], {}, set()
            for k, use in enumerate(g.uses):
                local = formula_tex(use.local)
                symbolic.append(_grad(out, use.consumer) + ("" if use.local == 1 else rf" \, {local}"))
                upstream, met = Symbol(f"_d{k}"), Symbol(f"_m{k}")
                values[upstream] = self.s.values[f"d{out}/d{use.consumer}"]
                if use.local == 1:
                    terms.append(upstream)
                    continue
                values[met] = self.s.locals[use.consumer, leaf.name]
                if use.local.is_Symbol and use.local.name in self.layout.exact:
                    exact.add(met)
                terms.append(sympy.Mul(upstream, met, evaluate=False))
            line = make_line(_grad(out, leaf.name), sympy.Add(*terms, evaluate=False), values, exact,
                             self.s.values[g.name], self.spec.decimals)
            rows.append(sum_rows(leaf.name, symbolic, line) | {"steps": len(g.uses)})
        return rows

    def problem(self) -> dict[str, Any]:
        """The recurrence and the values: what a question sheet shows too (nothing computed)."""
        lay = self.layout
        return {"steps": lay.steps, "hidden": lay.hidden, "size": lay.size, "activation": lay.activation,
                "every": len(lay.outputs) > 1, "loss": lay.loss,
                "formulas": [Tex(formula) for formula in self.formulas()], "data": [Tex(line) for line in self.data()]}

    def build(self) -> dict[str, Any]:
        sums = self.sums()
        return self.problem() | {
            "sums": sums,
            "shown": {leaf.name for leaf in self.spec.leaves if leaf.kind == "parameter"
                      and len(self.s.gradients[leaf.name].uses) > 1},
        }


def rnn_context(solution: GraphSolution) -> dict[str, Any] | None:
    """The handout's RNN parts for an ``[rnn]`` spec, None for any other graph."""
    return _Rnn(solution).build() if solution.spec.kind == "rnn" else None


def rnn_problem(solution: GraphSolution) -> dict[str, Any] | None:
    """A question sheet's RNN part (the recurrence and the values) for an ``[rnn]`` spec, None for any other graph."""
    return _Rnn(solution).problem() if solution.spec.kind == "rnn" else None


__all__ = ["rnn_context", "rnn_problem"]
