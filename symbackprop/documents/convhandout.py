"""What a 1-D convolution's handout adds to a graph's: the padded input, the kernel gradient as a sum
over positions, and how pooling routes the gradient (the words are ``conv1d_*`` in ``lang/<code>.j2``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sympy
from sympy import Symbol

from ..engine.activations import decimal_latex
from ..engine.convspec import ConvLayout, conv_layout
from ..engine.graph import GraphSolution
from ..engine.numbers import display
from ..layout import pack, tex_width
from ..notation.circuit import name_tex
from ..notation.lines import Line, make_line, result_latex
from .render import Tex

PER_ROW = 4  # terms of a sum over positions per displayed row
#: what a row of a sum's numbers may hold (``tex_width`` units, beside its label): four terms whose operands
#: carry 4 decimals for the line's sake ran 62 pt into the margin
SUM_ROOM = 78


def _grad(out: str, name: str) -> str:
    return rf"\frac{{\partial {name_tex(out)}}}{{\partial {name_tex(name)}}}"


def _index(step: int, offset: int) -> str:
    """``step*j + offset`` as a subscript: ``j``, ``2j - 1``, ``j + 1``."""
    head = "j" if step == 1 else f"{step}j"
    return head if offset == 0 else f"{head} + {offset}" if offset > 0 else f"{head} - {-offset}"


def _vector(names: list[str]) -> str:
    return r"\left(" + ", ".join(names) + r"\right)"


def sum_rows(name: str, symbolic: list[str], line: Line) -> dict[str, Any]:
    """A sum over positions broken into rows of at most PER_ROW terms: symbolic, then with numbers."""
    numeric = line.terms() if not line.is_trivial() else []
    numeric[-1:] = [f"{numeric[-1]} {line.relation} {result_latex(line.result)}"] if numeric else [
        result_latex(line.result)]
    chunk = [" + ".join(symbolic[k:k + PER_ROW]) for k in range(0, len(symbolic), PER_ROW)]
    rows = pack([tex_width(term) + 1 for term in numeric], SUM_ROOM, most=PER_ROW)
    return {"name": Tex(name_tex(name)), "symbolic": [Tex(c) for c in chunk],
            "numeric": [Tex(" ".join(numeric[i] for i in row)) for row in rows]}


class _Conv:
    def __init__(self, solution: GraphSolution):
        self.s = solution
        self.spec = solution.spec
        self.layout: ConvLayout = conv_layout(solution.spec)
        self.leaf = {leaf.name: leaf for leaf in self.spec.leaves}

    def data(self, stem: str) -> str:
        """``x = (1, -2, 3)``: spec numbers as the spec wrote them."""
        names = sorted((n for n in self.leaf if n[0] == stem and n[1:].isdigit()), key=lambda n: int(n[1:]))
        return rf"{stem} = " + _vector([decimal_latex(self.leaf[n].value) for n in names])

    def padded(self) -> str:
        """x~ = (0, x_1, ..., x_n, 0) and its values."""
        n, p = sum(1 for name in self.leaf if name[0] == "x"), self.layout.padding
        names = ["0"] * p + [name_tex(f"x{j + 1}") for j in range(n)] + ["0"] * p
        values = ["0"] * p + [decimal_latex(self.leaf[f"x{j + 1}"].value) for j in range(n)] + ["0"] * p
        return rf"\tilde{{x}} = {_vector(names)} = {_vector(values)}"

    @staticmethod
    def _under(j: int | None) -> str:
        return "0" if j is None else f"x{j + 1}"

    def kernel(self) -> list[dict[str, Any]]:
        """Per kernel weight (and the bias): the sum over positions of dE/dz_i times what it met there."""
        out, rows = self.spec.output, []
        deltas = [Symbol(f"_d{i}") for i in range(len(self.layout.windows))]
        values: dict[Symbol, Decimal] = {d: self.s.values[f"d{out}/dz{i + 1}"] for i, d in enumerate(deltas)}
        for m in range(len(self.layout.windows[0])):
            met = [Symbol(f"_x{m}_{i}") for i in range(len(deltas))]
            under = [self._under(window[m]) for window in self.layout.windows]  # x names, or "0" (padding)
            values.update({symbol: self.s.values[x] if x != "0" else Decimal(0)
                           for symbol, x in zip(met, under, strict=True)})
            expr = sympy.Add(*[sympy.Mul(d, x, evaluate=False) for d, x in zip(deltas, met, strict=True)],
                             evaluate=False)
            name = f"w{m + 1}"
            symbolic = [rf"{_grad(out, f'z{i + 1}')} \, {name_tex(x) if x != '0' else x}" for i, x in enumerate(under)]
            line = make_line(_grad(out, name), expr, values, met, self.s.values[f"d{out}/d{name}"], self.spec.decimals)
            rows.append(sum_rows(name, symbolic, line))
        expr = sympy.Add(*deltas, evaluate=False)
        line = make_line(_grad(out, "b"), expr, values, (), self.s.values[f"d{out}/db"], self.spec.decimals)
        rows.append(sum_rows("b", [_grad(out, f"z{i + 1}") for i in range(len(deltas))], line))
        return rows

    def routes(self) -> list[dict[str, Any]]:
        """Per pooled value: its window's values, who receives its upstream gradient (max: the winner by
        the engine's own local derivatives, so a tie shows as none) and how much."""
        out, d = self.spec.output, self.spec.decimals
        stem = "z" if self.layout.activation == "identity" else "a"
        rows = []
        for j, pool in enumerate(self.layout.pools):
            pooled = f"p{j + 1}"
            names = [f"{stem}{i + 1}" for i in pool]
            winners = [n for n in names if self.s.locals[pooled, n] == 1]
            rows.append({
                "name": Tex(name_tex(pooled)),
                "window": Tex(", ".join(rf"{name_tex(n)} = {display(self.s.values[n], d)}" for n in names)),
                "winner": Tex(name_tex(winners[0])) if winners else None,
                "upstream": Tex(display(self.s.values[f"d{out}/d{pooled}"], d)),
                "share": Tex(display(self.s.shares[pooled, winners[0] if winners else names[0]], d)),
                "size": len(names),
            })
        return rows

    def pool_size(self) -> int:
        return len(self.layout.pools[0])

    def pool_stride(self) -> int:
        pools = self.layout.pools
        return pools[1][0] - pools[0][0] if len(pools) > 1 else len(pools[0])

    def formulas(self) -> list[str]:
        """The layer's rules for any position i and window j, as the lecture writes them."""
        layout, k = self.layout, len(self.layout.windows[0])
        source = r"\tilde{x}" if layout.padding else "x"
        at = "i - 1" if layout.stride == 1 else f"{layout.stride}(i - 1)"
        single = "i" if layout.stride == 1 else f"{at} + 1"
        lines = [rf"z_i = \sum_{{m=1}}^{{{k}}} w_m \, {source}_{{{at} + m}} + b" if k > 1 else
                 rf"z_i = w_1 \, x_{{{single}}} + b"]
        stem = "z"
        if layout.activation != "identity":
            function = {"relu": r"\mathrm{relu}", "tanh": r"\tanh", "sigmoid": r"\sigma"}[layout.activation]
            lines.append(rf"a_i = {function}(z_i)")
            stem = "a"
        if layout.pooling != "none":
            size, step = self.pool_size(), self.pool_stride()
            first, last = _index(step, 1 - step), _index(step, size - step)
            gap = {"max": ", " if size == 2 else r", \ldots, ", "avg": " + " if size == 2 else r" + \cdots + "}
            window = f"{stem}_{{{first}}}{gap[layout.pooling]}{stem}_{{{last}}}"
            lines.append(rf"p_j = \max\left({window}\right)" if layout.pooling == "max"
                         else rf"p_j = \frac{{1}}{{{size}}}\left({window}\right)")
            stem = "p"
        lines.append(rf"y = \sum_j v_j {stem}_j + c")
        lines.append(r"E = \tfrac{1}{2}(y - t)^2" if layout.loss == "half_sse" else r"E = (y - t)^2")
        return lines

    def build(self) -> dict[str, Any]:
        layout = self.layout
        n_out = len(layout.windows)
        return {
            "k": len(layout.windows[0]), "n": sum(1 for name in self.leaf if name[0] == "x"), "positions": n_out,
            "stride": layout.stride, "padding": layout.padding, "activation": layout.activation,
            "pooling": layout.pooling, "pool_size": self.pool_size(), "pool_stride": self.pool_stride(),
            "loss": layout.loss, "ties": any(r["winner"] is None for r in self.routes()) if layout.pooling == "max"
            else False,
            "data": [Tex(self.data("x")), Tex(self.data("w") + rf", \quad b = {decimal_latex(self.leaf['b'].value)}"),
                     Tex(self.data("v") + rf", \quad c = {decimal_latex(self.leaf['c'].value)}, \quad "
                                          rf"t = {decimal_latex(self.leaf['t'].value)}")]
            + ([Tex(self.padded())] if layout.padding else []),
            "kernel": self.kernel(),
            "formulas": [Tex(line) for line in self.formulas()],
            "routes": self.routes() if layout.pooling != "none" else [],
            "shown": {f"w{m + 1}" for m in range(len(layout.windows[0]))} | {"b"},
        }


def conv_context(solution: GraphSolution) -> dict[str, Any] | None:
    """The handout's conv parts for a ``[conv1d]`` spec, None for any other graph."""
    return _Conv(solution).build() if solution.spec.kind == "conv1d" else None


__all__ = ["conv_context", "sum_rows"]
