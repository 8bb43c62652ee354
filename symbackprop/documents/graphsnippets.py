"""One formula of a computation graph (any builder's), ready to paste into slides: the graph's snippets.

Forms: ``symbolic`` (a node's formula, or a gradient's chain rule as the sum over its uses of upstream
x local, boxed), ``chain`` (the same sum with each local derivative as a partial), ``numeric`` (the
sum or the node with the spec's numbers, result boxed).  The formats are the MLP's (`snippets`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import sympy
from sympy import Expr, Symbol

from ..engine.graph import Gradient, GraphSolution, Use
from ..engine.solution import UnknownQuantity
from ..errors import UsageError
from ..hints import did_you_mean, expected, quoted
from ..notation.lines import exact_text, make_line
from .render import Tex
from .snippets import FORMS, Snippet, _not_applicable, boxed_line, words

#: the forms a graph has: a sum over uses has no single path to expand
GRAPH_FORMS = ("symbolic", "chain", "numeric")


def _kind(solution: GraphSolution, name: str) -> str:
    """``leaf``, ``node`` or ``gradient`` (an unknown name: one line with a did-you-mean)."""
    if name in solution.gradients_by_name:
        return "gradient"
    if any(leaf.name == name for leaf in solution.spec.leaves):
        return "leaf"
    if any(node.name == name for node in solution.spec.nodes):
        return "node"
    raise UnknownQuantity(f"unknown quantity {quoted(name)}{did_you_mean(name, solution.values)}")


def _partial(solution: GraphSolution, top: str, bottom: str) -> str:
    latex = solution.symbol_latex
    return rf"\frac{{\partial {latex[top]}}}{{\partial {latex[bottom]}}}"


def _wrapped(latex: str) -> str:
    """A local derivative as a factor: a negative one or a sum in brackets."""
    return rf"\left({latex}\right)" if latex.startswith("-") or " + " in latex or " - " in latex else latex


def _sum_of_uses(solution: GraphSolution, g: Gradient, local: Callable[[Use], str]) -> str:
    r"""``upstream \cdot local + ...`` over the uses (a use by the output: its local alone, upstream is 1)."""
    out = solution.spec.output
    text = ""
    for u in g.uses:
        term = local(u) if u.consumer == out else rf"{_partial(solution, out, u.consumer)} \cdot {_wrapped(local(u))}"
        text += term if not text else (f" - {term[1:]}" if term.startswith("-") else f" + {term}")
    return text


def _formula_of(solution: GraphSolution, name: str) -> str:
    """A node's formula, or a gradient's sum over uses with each local derivative's formula."""
    g = solution.gradients_by_name.get(name)
    if g is None:
        return solution.printer.doprint(next(n.definition for n in solution.spec.nodes if n.name == name))
    if not g.uses:
        return "1"
    return _sum_of_uses(solution, g, lambda u: solution.printer.doprint(u.local))


def symbolic(solution: GraphSolution, name: str) -> str:
    if _kind(solution, name) == "leaf":
        raise _not_applicable(solution, name, "symbolic", "it is an input or parameter, spec data with no formula",
                              "numeric")
    return words().boxed(Tex(f"{solution.symbol_latex[name]} = {_formula_of(solution, name)}"))


def chain(solution: GraphSolution, name: str) -> str:
    """``df/dw = df/da1 . da1/dw + df/da2 . da2/dw``: upstream times local, summed over the uses."""
    if _kind(solution, name) != "gradient":
        raise _not_applicable(solution, name, "chain", "it is not a gradient", "symbolic or numeric")
    g = solution.gradients_by_name[name]
    if [u.consumer for u in g.uses] in ([], [solution.spec.output]):
        raise _not_applicable(solution, name, "chain", "its only link is the output's own local derivative",
                              "symbolic")
    return f"{solution.symbol_latex[name]} = " + _sum_of_uses(solution, g, lambda u: _partial(solution, u.consumer,
                                                                                                g.of))


def _uses_expression(solution: GraphSolution, g: Gradient) -> tuple[Expr, dict[Symbol, Decimal]]:
    """The sum over uses of upstream x local, each product kept as written: a constant local derivative
    stands as a symbol of its own (its number, exact), so ``df/dq * 1`` keeps its 1."""
    out, terms, constants = solution.spec.output, [], {}
    for i, u in enumerate(g.uses):
        local = u.local
        if local.is_Number:
            local = Symbol(f"_constant{i}", real=True)
            constants[local] = solution.locals[u.consumer, g.of]
        upstream = 1 if u.consumer == out else solution.gradients_by_name[f"d{out}/d{u.consumer}"].symbol
        terms.append(local if upstream == 1 else sympy.Mul(upstream, local, evaluate=False))
    return sympy.Add(*terms, evaluate=False), constants


def numeric(solution: GraphSolution, name: str) -> str:
    kind, latex = _kind(solution, name), solution.symbol_latex
    if kind == "leaf":
        return f"{latex[name]} = {exact_text(solution.values[name])}"
    g = solution.gradients_by_name.get(name)
    if g is not None and not g.uses:
        return f"{latex[name]} = " + words().boxed(Tex(exact_text(solution.values[name])))
    formula, values = _uses_expression(solution, g) if g is not None else (
        next(n.definition for n in solution.spec.nodes if n.name == name), {})
    exact = {leaf.symbol for leaf in solution.spec.leaves} | set(values)
    values.update({s: solution.values[s.name] for s in formula.free_symbols if s not in values})
    line = make_line(latex[name], formula, values, exact, solution.values[name], solution.spec.decimals)
    return boxed_line(line)


_BUILDERS: dict[str, Callable[[GraphSolution, str], str]] = {"symbolic": symbolic, "chain": chain, "numeric": numeric}


def graph_snippet(solution: GraphSolution, name: str, form: str = "symbolic") -> Snippet:
    """One form of one name of a graph (a leaf, a node or ``d<out>/d<name>``)."""
    if form not in FORMS:
        raise UsageError(f"form: unknown form {quoted(form)}{expected(form, FORMS)}", setting="form")
    _kind(solution, name)  # unknown names fail first, with a did-you-mean
    if form not in GRAPH_FORMS:
        raise _not_applicable(solution, name, form, "a computation graph's gradient is a sum over uses, not one "
                                                    "path", "chain")
    return Snippet(name, form, _BUILDERS[form](solution, name))


__all__ = ["GRAPH_FORMS", "graph_snippet"]
