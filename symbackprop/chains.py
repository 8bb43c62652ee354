"""One fully expanded chain with underbraces, like the lecture's dE/dw1.

The chain follows one path from a parameter up to the loss:
``w1 -> z_h1 -> h1 -> z_o -> yhat -> E`` gives

    dE/dw1 = dE/dyhat . dyhat/dz_o . dz_o/dh1 . dh1/dz_h1 . dz_h1/dw1

with each factor's formula under a brace, then the same product in numbers.
Where a layer above has several units the gradient sums such products over
all paths (and over examples); the chain then shows one path's term and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from sympy import Add, Expr, Symbol

from .errors import UsageError
from .hints import quoted
from .latex import partial
from .network import Network, Parameter
from .numbers import display, work_context
from .numeric import Compiler
from .solution import Solution, did_you_mean
from .walkthrough import Line, make_line, number_latex, precise_text, product_line, values_of


@dataclass(frozen=True)
class Factor:
    """One link of the chain: the partial derivative, its formula, its value."""

    partial: str  # \frac{\partial z_o}{\partial h_1}
    formula: str  # w_5
    value: Decimal
    exact: bool  # spec data (a weight, an input): shown exactly
    expr: Expr | None = None  # the formula over the network's quantities (None: the number 1)


@dataclass(frozen=True)
class Chain:
    parameter: str
    grad_latex: str  # \frac{\partial E}{\partial w_1}
    path: list[str]  # LaTeX of the nodes: w_1, z_{h_1}, h_1, z_o, \hat{y}, E
    factors: list[Factor]
    line: Line  # the product in numbers
    n_paths: int  # paths x examples x shared units summed in the gradient
    gradient: str  # the gradient's display value
    #: the condition the output delta's closed form (a factor) holds under, LaTeX ("" for none)
    condition: str = ""

    @property
    def single_path(self) -> bool:
        return self.n_paths == 1


def default_parameter(network: Network) -> Parameter:
    """A first-layer weight on the longest path: the first unfrozen one (w1 for the lecture)."""
    first = [p for p in network.parameters if p.layer == 1 and p.kind == "weight"]
    unfrozen = [p for p in first if not p.frozen]
    return (unfrozen or first)[0]


def find_parameter(network: Network, name: str | None) -> Parameter:
    if name is None:
        return default_parameter(network)
    for p in network.parameters:
        if p.name == name:
            return p
    raise UsageError(f"--chain: no parameter {quoted(name)}{did_you_mean(name, [p.name for p in network.parameters])}")


def _value(solution: Solution, expr: Expr) -> Decimal:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    program = Compiler({s: i for i, s in enumerate(symbols)})(expr)
    values = solution.evaluation.values
    with localcontext(work_context()):
        return program([values[solution.network.by_symbol[s].name] for s in symbols])


def chain_for(solution: Solution, name: str | None = None, example: int = 1) -> Chain:
    """The expanded chain of ``dE/d<name>`` (default: a first-layer weight) along its first path
    (through ``example``'s units)."""
    network = solution.network
    namer = network.namer
    printer = solution.printer
    p = find_parameter(network, name)
    e = example
    last = network.layers[-1]
    # units on the path: (layer, unit) from the parameter's unit up to the first output
    units = [(p.layer, p.to_units[0])] + [(layer.index, 1) for layer in network.layers[p.layer:]]
    factors: list[Factor] = []

    def q(kind: str, layer: int, j: int):  # noqa: ANN202
        return network[network.unit_name(kind, layer, j, e)]

    out_layer, out_unit = units[-1]
    a_out, z_out = q("act", out_layer, out_unit), q("pre", out_layer, out_unit)
    delta_out = network[namer.grad_ascii(z_out.name)]
    loss = network[network.loss_name]
    assert delta_out.explicit is not None and delta_out.definition is not None
    split = last.elementwise is not None and delta_out.explicit.is_Mul
    if split:
        d_act = network[namer.grad_ascii(a_out.name)]
        assert d_act.definition is not None and last.elementwise is not None
        factors.append(Factor(partial(loss.latex, a_out.latex), printer.doprint(d_act.definition),
                              solution.value(d_act.name), False, d_act.definition))
        slope = last.elementwise.local_slope(a_out.symbol, z_out.symbol)
        factors.append(Factor(partial(a_out.latex, z_out.latex), printer.doprint(slope),
                              _value(solution, slope), False, slope))
    else:
        factors.append(Factor(partial(loss.latex, z_out.latex), printer.doprint(delta_out.explicit),
                              solution.value(delta_out.name), False, delta_out.explicit))
    # down the hidden layers: dz(l+1)/da(l) = w, da(l)/dz(l) = f'
    for (l_above, j_above), (l_here, j) in zip(reversed(units[1:]), reversed(units[:-1]), strict=True):
        a, z = q("act", l_here, j), q("pre", l_here, j)
        w = network.weight_name(l_above, j_above, j)
        z_above = q("pre", l_above, j_above)
        factors.append(Factor(partial(z_above.latex, a.latex), network[w].latex, solution.value(w), True,
                              network[w].symbol))
        f = network.layers[l_here - 1].elementwise
        assert f is not None
        slope = f.local_slope(a.symbol, z.symbol)
        factors.append(Factor(partial(a.latex, z.latex), printer.doprint(slope), _value(solution, slope), False,
                              slope))
    # the parameter's own link
    z0 = q("pre", p.layer, p.to_units[0])
    theta = network[p.name]
    if p.kind == "weight":
        assert p.from_unit is not None
        local = q("act", p.layer - 1, p.from_unit)
        factors.append(Factor(partial(z0.latex, theta.latex), local.latex, solution.value(local.name),
                              local.kind in ("input",), local.symbol))
    else:
        factors.append(Factor(partial(z0.latex, theta.latex), "1", Decimal(1), True))
    path_nodes = [theta.latex]
    for l_here, j in units:
        path_nodes += [q("pre", l_here, j).latex, q("act", l_here, j).latex]
    path_nodes.append(loss.latex)
    n_paths = network.n_examples * len(p.to_units)
    for above in network.layers[p.layer:]:
        n_paths *= above.size
    grad_name = namer.grad_ascii(p.name)
    decimals = solution.spec.decimals
    # the product at full precision (the gradient itself on a single path), shown with
    # enough digits to see its size (2.27e-4) and operands that reproduce it
    value = solution.value(grad_name) if n_paths == 1 else _product(factors)
    line = product_line("", [(f.value, f.exact) for f in factors], decimals,
                        result=precise_text(value), value=value)
    return Chain(p.name, network[grad_name].latex, path_nodes, factors, line, n_paths,
                 display(solution.value(grad_name), decimals), "" if split else solution.condition(delta_out.name))


def substituted_factors(solution: Solution, chain: Chain) -> list[str]:
    """The chain's factors as their formulas with numbers: ``(0.7514 - 0.50)``, ``0.7514 \\cdot (1 - 0.7514)``, ...

    Each formula gets the fewest digits that reproduce the number the product line shows for it
    (so ``(0.7514 - 0.50) = 0.2514``); [] when that is the product line itself (every factor a
    plain number).  Joined with ``\\cdot`` they are the first stage of the lecture's numeric line.
    """
    operands = {s.name: text for s, text in chain.line.operands.items()}
    parts = []
    for i, factor in enumerate(chain.factors):
        text = operands[f"_f{i}"]  # the product line's operand text of this factor (see product_line)
        expr = factor.expr
        if expr is None or isinstance(expr, Symbol):
            parts.append(number_latex(text))
            continue
        values, exact = values_of(solution, expr)
        line = make_line("", expr, values, exact, factor.value, solution.spec.decimals, result=text)
        if line.approx:  # a saturated slope (1 - 1.0000^2 = 5.2e-63) has no readable stage: the product alone
            return []
        body = line.substituted()
        parts.append(rf"\left({body}\right)" if isinstance(expr, Add) else body)
    return [] if r" \cdot ".join(parts) == chain.line.substituted() else parts


def _product(factors: list[Factor]) -> Decimal:
    with localcontext(work_context()):
        total = Decimal(1)
        for f in factors:
            total *= f.value
        return total
