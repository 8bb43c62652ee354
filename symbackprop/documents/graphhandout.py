"""The handout of a computation graph: Python hands the template the circuit and rows of lines;
``graph_handout.tex.j2`` and the words of ``lang/<code>.j2`` decide order, boxes and wording."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import sympy
from sympy import Symbol

from ..engine.evaluate import EvaluationError
from ..engine.graph import Gradient, GraphSolution, gate_kind
from ..engine.numbers import display
from ..layout import ROW_WIDTH, formula_line_rows, tex_width
from ..notation.circuit import circuit_and_frames, circuit_tikz, formula_tex, gate_text, name_tex, operands
from ..notation.lines import Line, agreeing_level, evaluate_with, exact_text, make_line, product_line
from .convhandout import conv_context
from .graphupdate import graph_update
from .handout import write_document
from .render import Tex, plain_brackets, render_markdown, render_tex, words
from .rnnhandout import rnn_context, rnn_problem

#: the longest composed function (characters of LaTeX) a sheet writes out in its running text; a longer
#: one (a convolution's) is left to the gates
FUNCTION_FITS = 160
#: a gate's definition wider than this (``tex_width`` units) takes a whole line: the gates' table (an exam sheet's,
#: a deck's) in one column, not two
GATE_COLUMN = 30
#: the handout's partials: the worked graph, then the proofs as an appendix (an exam key puts its answer
#: table between them)
GRAPH_PARTIALS = ("handout/graph.tex.j2", "handout/graph_verification.tex.j2")


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

    @cached_property
    def _forward_lines(self) -> list[Line]:
        """Each gate's arithmetic line (the fewest digits that reproduce it: made once)."""
        values = self.s.values
        lines = []
        for node in self.spec.nodes:
            operands = {s: values[s.name] for s in node.definition.free_symbols}
            lines.append(make_line(name_tex(node.name), node.definition, operands, self.exact & set(operands),
                                   values[node.name], self.d))
        return lines

    def forward(self) -> list[Tex]:
        """Each gate's forward line on one line, ``name = formula = numbers = result`` (a key's feedback)."""
        return [Tex(rf"{line.label} = {formula_tex(node.definition)} = {line.rhs()}")
                for node, line in zip(self.spec.nodes, self._forward_lines, strict=True)]

    def forward_rows(self, width: float = ROW_WIDTH) -> list[list[Tex]]:
        """Each gate's forward line as rows of an ``align*``, aligned at the ``=`` and cut between terms where
        the line is wider than ``width`` (a sum over an RNN's two units): one list of rows per gate."""
        return [[Tex(r) for r in formula_line_rows(rf"{line.label} &= {formula_tex(node.definition)}", line,
                                                   width)]
                for node, line in zip(self.spec.nodes, self._forward_lines, strict=True)]

    def gates(self) -> list[dict[str, Any]]:
        """Each gate, output first: its rule and, per input, upstream x local = this use's share."""
        s, out = self.s, self.spec.output
        local_of = {(u.consumer, g.of): u.local for g in s.gradients.values() for u in g.uses}
        rows = []
        for node in reversed(self.spec.nodes):
            upstream = Decimal(1) if node.name == out else s.values[f"d{out}/d{node.name}"]
            uses = []
            for operand in operands(node):
                local = s.locals[node.name, operand]
                label = rf"{_grad_tex(out, operand)}\big|_{{{name_tex(node.name)}}}"
                derivative = local_of[node.name, operand]
                line = product_line(label, [(upstream, node.name == out), (local, self._exact_local(derivative))],
                                    self.d, value=s.shares[node.name, operand],
                                    floors=(0, self._local_floor(derivative, local)))
                local_tex = formula_tex(derivative)  # max's kink as step(0) = 0, as computed
                if local_tex.startswith("-") or isinstance(derivative, sympy.Add):  # 1 - tanh^2(a): one factor
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

    def _exact_local(self, derivative: sympy.Expr) -> bool:
        """Whether a local derivative is spec data worked exactly (a leaf, as x6 = 2 for a kernel weight): printed
        as the spec writes it (2, not 2.0000)."""
        return derivative.free_symbols <= self.exact and bool(derivative.is_polynomial())

    def _local_floor(self, derivative: sympy.Expr, local: Decimal) -> int:
        """The digits a gate's local derivative (a factor with no line of its own) needs to be the value a student
        gets from the gate's inputs as shown (see :func:`.agreeing_level`)."""
        shown = {sym: exact_text(self.s.values[sym.name]) if sym in self.exact else self.show(self.s.values[sym.name])
                 for sym in derivative.free_symbols}
        try:
            return agreeing_level(local, evaluate_with(derivative, shown), self.d)
        except (ArithmeticError, EvaluationError):  # the shown inputs leave the function's domain: as it is
            return 0

    def gradient_lines(self) -> dict[str, Tex]:
        """Each leaf's gradient as one line: the sum over its uses of upstream times local, in numbers."""
        s, out = self.s, self.spec.output
        lines = {}
        for leaf in self.spec.leaves:
            g = s.gradients[leaf.name]
            chain = " + ".join(rf"{_grad_tex(out, u.consumer)} \cdot \frac{{\partial {name_tex(u.consumer)}}}"
                               rf"{{\partial {name_tex(g.of)}}}" if u.consumer != out else
                               rf"\frac{{\partial {name_tex(out)}}}{{\partial {name_tex(g.of)}}}" for u in g.uses)
            if len(g.uses) == 1:  # one use: upstream times local, in numbers
                (use,) = g.uses
                upstream = Decimal(1) if use.consumer == out else s.values[f"d{out}/d{use.consumer}"]
                local = s.locals[use.consumer, g.of]
                rhs = product_line("", [(upstream, use.consumer == out), (local, self._exact_local(use.local))], self.d,
                                   value=s.values[g.name], floors=(0, self._local_floor(use.local, local))).rhs()
            else:  # the sum of its uses' shares
                rhs = self._sum_of_uses(g, "").rhs()
            lines[g.name] = Tex(f"{_grad_tex(out, g.of)} = {chain} = {rhs}")
        return lines

    def _sum_of_uses(self, g: Gradient, label: str) -> Line:
        """``label = share_1 + share_2 + ... = gradient``: a name's gradient as the sum of its uses' shares."""
        symbols = [Symbol(f"_u{i}") for i in range(len(g.uses))]
        shares = {sym: self.s.shares[u.consumer, g.of] for sym, u in zip(symbols, g.uses, strict=True)}
        return make_line(label, sympy.Add(*symbols, evaluate=False), shares, (), self.s.values[g.name], self.d)

    def sheet_circuit(self, forward_shown: bool) -> Tex:
        """The circuit of a question sheet: the inputs' and parameters' values on their wires (and the gates'
        values unless they are asked), every gradient blank but the output's 1."""
        leaves = {leaf.name for leaf in self.spec.leaves}
        values = {name: self.show(v) if name in leaves or forward_shown else "" for name, v in self.s.values.items()}
        return Tex(circuit_tikz(self.spec, values, {key: "" for key in self.s.shares}, self.show(Decimal(1))))

    def sums(self, shown: set[str]) -> list[dict[str, Any]]:
        """Every name used more than once (a shared parameter): its gradient is the sum over its uses
        (but those a kind's own section already sums, ``shown``)."""
        rows = []
        for g in self.s.gradients.values():
            if len(g.uses) < 2 or g.of in shown:
                continue
            line = self._sum_of_uses(g, _grad_tex(self.spec.output, g.of))
            consumers = ", ".join(f"${name_tex(u.consumer)}$" for u in g.uses)
            rows.append({"name": Tex(name_tex(g.of)), "consumers": Tex(consumers), "line": Tex(line.latex())})
        return rows

    def problem(self) -> dict[str, Any]:
        """The function, the leaves' values and the gates: what a question sheet shows too."""
        spec = self.spec
        composed = spec.output_node.definition
        for node in reversed(spec.nodes[:-1]):
            composed = composed.xreplace({node.symbol: node.definition})
        function = formula_tex(composed)
        nodes = [{"tex": Tex(name_tex(n.name)), "formula": Tex(formula_tex(n.definition)),
                  "gate": Tex(gate_text(n.definition))} for n in spec.nodes]
        return {
            "output": Tex(name_tex(spec.output)),
            "function": Tex(function),
            "function_fits": len(function) <= FUNCTION_FITS,  # else the gates say it
            "leaves": [{"tex": Tex(name_tex(leaf.name)), "kind": leaf.kind, "value": Tex(self.show(leaf.value))}
                       for leaf in spec.leaves],
            "nodes": nodes,
            "gates_wide": max((tex_width(f"{n['tex']} = {n['formula']}") for n in nodes), default=0) > GATE_COLUMN,
        }

    def build(self, lang: str) -> dict[str, Any]:
        s, spec, out = self.s, self.spec, self.spec.output
        values = {name: self.show(v) for name, v in s.values.items()}
        shares = {key: self.show(v) for key, v in s.shares.items()}
        conv = conv_context(s)
        rnn = rnn_context(s)
        circuit, frames = circuit_and_frames(spec, values, shares, self.show(Decimal(1)))
        graph = self.problem() | {
            "circuit": Tex(circuit),
            "circuit_frames": [Tex(frame) for frame in frames],  # a deck's: a wide circuit in parts
            "wires": [{"source": Tex(name_tex(o)), "gate": Tex(name_tex(n.name)), "value": Tex(values[o]),
                       "gradient": Tex(shares[n.name, o])} for n in spec.nodes for o in operands(n)],
            "forward": self.forward(),
            "forward_rows": self.forward_rows(),
            "gates": self.gates(),
            "sums": self.sums((conv["shown"] if conv else set()) | (rnn["shown"] if rnn else set())),
            "all_sums": self.sums(set()),  # a deck's: it has no section of a kind's own sums
            "conv": conv,
            "rnn": rnn,
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
    """What the handout, the deck and an exam key show of a graph: the circuit, forward lines, gate rules,
    sums, summary."""
    return _Context(solution).build(lang)


def graph_sheet(solution: GraphSolution, forward_shown: bool) -> dict[str, Any]:
    """What a question sheet shows of a graph: its leaves' values, its gates and the circuit to fill in."""
    context = _Context(solution)
    problem = context.problem()
    return problem | {"circuit": context.sheet_circuit(forward_shown), "forward_shown": forward_shown,
                      "rnn": rnn_problem(solution)}


def worked_lines(solution: GraphSolution) -> dict[str, Tex]:
    """Every gate's and every leaf gradient's line ``name = formula = numbers = result`` (an LMS key's feedback)."""
    context = _Context(solution)
    lines = dict(zip((n.name for n in solution.spec.nodes), context.forward(), strict=True))
    return lines | context.gradient_lines()


def render_graph_handout(solution: GraphSolution, lang: str = "en", fmt: str = "tex") -> str:
    """The handout's LaTeX (or Markdown): the MLP handout's page (title, rounding policy) around the graph's
    sections, and a training spec's update section; one context, two thin template sets."""
    context = _Context(solution).build(lang)
    update = graph_update(solution)
    if update is not None:  # no training fields: the handout as it always was
        context["update"] = update
    if fmt == "md":
        return plain_brackets(render_markdown("handout.md.j2", partials=["handout/graph.md.j2"], **context))
    return render_tex("handout.tex.j2", partials=list(GRAPH_PARTIALS), **context)


def write_graph_handout(solution: GraphSolution, out_dir: str | Path, name: str, pdf: bool = False,
                        lang: str = "en", fmt: str = "tex") -> list[Path]:
    """``out_dir/<name>.tex`` or ``.md`` (and ``.pdf``); rendered and compiled before anything is written."""
    return write_document(render_graph_handout(solution, lang, fmt), out_dir, name, pdf, fmt)


__all__ = ["GRAPH_PARTIALS", "graph_context", "graph_sheet", "render_graph_handout", "worked_lines",
           "write_graph_handout"]
