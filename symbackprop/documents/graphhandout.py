"""The handout of a computation graph: Python hands the template the circuit and rows of lines;
``graph_handout.tex.j2`` and the words of ``lang/<code>.j2`` decide order, boxes and wording."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import sympy
from sympy import Symbol

from ..engine.graph import GraphSolution, gate_kind
from ..engine.numbers import display
from ..notation.circuit import circuit_tikz, formula_tex, gate_text, name_tex, operands
from ..notation.lines import make_line, product_line
from .handout import write_document
from .render import Tex, render_tex, words


def _grad_tex(out: str, name: str) -> str:
    return rf"\frac{{\partial {name_tex(out)}}}{{\partial {name_tex(name)}}}"


def _grad_inline(out: str, name: str) -> str:
    """The slashed form, for running text and table rows."""
    return rf"\partial {name_tex(out)}/\partial {name_tex(name)}"


class _Context:
    def __init__(self, solution: GraphSolution):
        self.s = solution
        self.spec = solution.spec
        self.d = solution.spec.decimals
        self.exact = {leaf.symbol for leaf in self.spec.leaves}

    def show(self, value: Decimal) -> str:
        return display(value, self.d)

    def forward(self) -> list[Tex]:
        values = self.s.values
        lines = []
        for node in self.spec.nodes:
            operands = {s: values[s.name] for s in node.definition.free_symbols}
            line = make_line(name_tex(node.name), node.definition, operands, self.exact & set(operands),
                             values[node.name], self.d)
            lines.append(Tex(rf"{name_tex(node.name)} = {formula_tex(node.definition)} = {line.rhs()}"))
        return lines

    def gates(self) -> list[dict[str, Any]]:
        """Each gate, output first: its rule and, per input, upstream x local = this use's share."""
        s, out = self.s, self.spec.output
        rows = []
        for node in reversed(self.spec.nodes):
            upstream = Decimal(1) if node.name == out else s.values[f"d{out}/d{node.name}"]
            uses = []
            for operand in operands(node):
                local = s.locals[node.name, operand]
                label = rf"{_grad_tex(out, operand)}\big|_{{{name_tex(node.name)}}}"
                line = product_line(label, [(upstream, node.name == out), (local, False)], self.d,
                                    value=s.shares[node.name, operand])
                local_tex = formula_tex(sympy.diff(node.definition, Symbol(operand, real=True)))
                if local_tex.startswith("-"):
                    local_tex = rf"\left({local_tex}\right)"
                uses.append({"label": Tex(label), "local": Tex(local_tex),
                             "local_symbol": Tex(rf"\frac{{\partial {name_tex(node.name)}}}"
                                                 rf"{{\partial {name_tex(operand)}}}"),
                             "line": Tex(line.rhs())})
            rows.append({"name": Tex(name_tex(node.name)), "gate": Tex(gate_text(node.definition)),
                         "kind": gate_kind(node.definition), "upstream": Tex(_grad_tex(out, node.name)),
                         "upstream_inline": Tex(_grad_inline(out, node.name)),
                         "upstream_value": Tex(self.show(upstream)), "uses": uses})
        return rows

    def sums(self) -> list[dict[str, Any]]:
        """Every name used more than once (a shared parameter): its gradient is the sum over its uses."""
        rows = []
        for g in self.s.gradients.values():
            if len(g.uses) < 2:
                continue
            symbols = [Symbol(f"_u{i}") for i in range(len(g.uses))]
            shares = {sym: self.s.shares[u.consumer, g.of] for sym, u in zip(symbols, g.uses, strict=True)}
            line = make_line(_grad_tex(self.spec.output, g.of), sympy.Add(*symbols, evaluate=False), shares,
                             (), self.s.values[g.name], self.d)
            consumers = ", ".join(f"${name_tex(u.consumer)}$" for u in g.uses)
            rows.append({"name": Tex(name_tex(g.of)), "consumers": Tex(consumers), "line": Tex(line.latex())})
        return rows

    def build(self, lang: str) -> dict[str, Any]:
        s, spec, out = self.s, self.spec, self.spec.output
        composed = spec.output_node.definition
        for node in reversed(spec.nodes[:-1]):
            composed = composed.xreplace({node.symbol: node.definition})
        values = {name: self.show(v) for name, v in s.values.items()}
        shares = {key: self.show(v) for key, v in s.shares.items()}
        graph = {
            "output": Tex(name_tex(out)),
            "function": Tex(formula_tex(composed)),
            "leaves": [{"tex": Tex(name_tex(leaf.name)), "kind": leaf.kind, "value": Tex(self.show(leaf.value))}
                       for leaf in spec.leaves],
            "nodes": [{"tex": Tex(name_tex(n.name)), "formula": Tex(formula_tex(n.definition)),
                       "gate": Tex(gate_text(n.definition))} for n in spec.nodes],
            "circuit": Tex(circuit_tikz(spec, values, shares, self.show(Decimal(1)))),
            "forward": self.forward(),
            "gates": self.gates(),
            "sums": self.sums(),
            "summary": [{"tex": Tex(_grad_inline(out, leaf.name)), "kind": leaf.kind,
                         "value": Tex(self.show(s.values[f"d{out}/d{leaf.name}"]))} for leaf in spec.leaves],
            "proofs": [{"tex": Tex(_grad_inline(out, p.leaf)), "method": p.method, "proven": p.proven}
                       for p in s.proofs.values()],
            "verified": {"proven": sum(p.proven for p in s.proofs.values()), "total": len(s.proofs)},
        }
        return {"title": spec.title, "author": "", "w": words(lang), "graph": graph,
                "policy": {"decimals": self.d, "half": Tex("0." + "0" * self.d + "5" if self.d else "0.5"),
                           "zero": Tex(display(Decimal(0), self.d))}}


def graph_context(solution: GraphSolution, lang: str = "en") -> dict[str, Any]:
    """What the handout and the deck show of a graph: the circuit, forward lines, gate rules, sums, summary."""
    return _Context(solution).build(lang)


def render_graph_handout(solution: GraphSolution, lang: str = "en") -> str:
    """The handout's LaTeX: the MLP handout's page (title, rounding policy) around the graph's sections."""
    return render_tex("handout.tex.j2", partials=["handout/graph.tex.j2"], **graph_context(solution, lang))


def write_graph_handout(solution: GraphSolution, out_dir: str | Path, name: str, pdf: bool = False,
                        lang: str = "en") -> list[Path]:
    """``out_dir/<name>.tex`` (and ``.pdf``); rendered and compiled before anything is written."""
    return write_document(render_graph_handout(solution, lang), out_dir, name, pdf, "tex")


__all__ = ["graph_context", "render_graph_handout", "write_graph_handout"]
