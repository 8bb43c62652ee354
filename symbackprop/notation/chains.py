"""One fully expanded chain with underbraces, like the lecture's dE/dw1.

The chain follows one path from a parameter up to the loss:
``w1 -> z_h1 -> h1 -> z_o -> yhat -> E`` gives

    dE/dw1 = dE/dyhat . dyhat/dz_o . dz_o/dh1 . dh1/dz_h1 . dz_h1/dw1

with each factor's formula under a brace, then the same product in numbers.
Where a layer above has several units the gradient sums such products over
all paths (and over examples); the chain then shows one path's term and says so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from sympy import Add, Expr, Symbol

from ..engine.evaluate import Compiler, Program
from ..engine.network import Parameter, Quantity
from ..engine.numbers import display, work_context
from ..engine.printer import partial
from ..engine.solution import Solution
from ..errors import UsageError
from ..hints import did_you_mean, quoted
from .lines import Line, make_line, number_latex, precise_text, product_line, symbols_of, values_of


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
    #: the path's units (layer, unit), from the parameter's own up to an output
    units: list[tuple[int, int]] = field(default_factory=list)

    @property
    def single_path(self) -> bool:
        return self.n_paths == 1


def default_parameter(solution: Solution) -> tuple[Parameter, list[tuple[int, int]] | None]:
    """A first-layer weight on the longest path: the first unfrozen one (w1 for the lecture) with a
    path whose every factor is nonzero (a chain through a dead unit shows only ``... = 0``), and that
    path of example 1 (None when every candidate's path has a zero: then the first candidate)."""
    network = solution.network
    first = [p for p in network.parameters if p.layer == 1 and p.kind == "weight"]
    candidates = [p for p in first if not p.frozen] or first
    for p in candidates:
        path = _live_path(solution, p, 1)
        if path is not None:
            return p, path
    return candidates[0], None


def find_parameter(solution: Solution, name: str) -> Parameter:
    """The parameter called ``name``; its gradient's name (``dE/dw1``) names it too."""
    network = solution.network
    for p in network.parameters:
        if name in (p.name, network.grad(p.name)):
            return p
    hint = did_you_mean(name, [p.name for p in network.parameters])
    raise UsageError(f"chain: no parameter {quoted(name)}{hint}", setting="chain")


def _value(solution: Solution, expr: Expr) -> Decimal:
    symbols, program = _program(expr)
    values = solution.evaluation.values
    with localcontext(work_context()):
        return program([values[solution.network.by_symbol[s].name] for s in symbols])


@functools.lru_cache(maxsize=1024)  # every variant of an exam picks its chain through the same slopes
def _program(expr: Expr) -> tuple[tuple[Symbol, ...], Program]:
    symbols = tuple(symbols_of(expr))
    return symbols, Compiler({s: i for i, s in enumerate(symbols)})(expr)


def _unit(solution: Solution, kind: str, layer: int, j: int, e: int) -> Quantity:
    network = solution.network
    return network[network.unit_name(kind, layer, j, e)]


def _output_factors(solution: Solution, j: int, e: int) -> tuple[list[Factor], str]:
    """The links from the loss down to output unit ``j``'s input, and the condition they hold under."""
    network = solution.network
    last = network.layers[-1]
    a_out, z_out = _unit(solution, "act", last.index, j, e), _unit(solution, "pre", last.index, j, e)
    delta_out = network[network.grad(z_out.name)]
    loss = network[network.loss_name]
    assert delta_out.explicit is not None and delta_out.definition is not None
    if last.elementwise is not None and delta_out.explicit.is_Mul:
        d_act = network[network.grad(a_out.name)]
        assert d_act.definition is not None
        slope = last.elementwise.local_slope(a_out.symbol, z_out.symbol)
        return [Factor(partial(loss.latex, a_out.latex), solution.latex_of(d_act.definition),
                       solution.value(d_act.name), False, d_act.definition),
                Factor(partial(a_out.latex, z_out.latex), solution.latex_of(slope),
                       _value(solution, slope), False, slope)], ""
    return [Factor(partial(loss.latex, z_out.latex), solution.latex_of(delta_out.explicit),
                   solution.value(delta_out.name), False, delta_out.explicit)], solution.condition(delta_out.name)


def _weight_factor(solution: Solution, above: tuple[int, int], j: int, e: int) -> Factor:
    """dz(above)/da(j) = the weight between them."""
    network = solution.network
    w = network.weight_name(above[0], above[1], j)
    z_above, a = _unit(solution, "pre", *above, e), _unit(solution, "act", above[0] - 1, j, e)
    return Factor(partial(z_above.latex, a.latex), network[w].latex, solution.value(w), True, network[w].symbol)


def _slope_factor(solution: Solution, layer: int, j: int, e: int) -> Factor:
    """da/dz of a hidden unit: its activation's local slope."""
    a, z = _unit(solution, "act", layer, j, e), _unit(solution, "pre", layer, j, e)
    f = solution.network.layers[layer - 1].elementwise
    assert f is not None
    slope = f.local_slope(a.symbol, z.symbol)
    return Factor(partial(a.latex, z.latex), solution.latex_of(slope), _value(solution, slope), False, slope)


def _own_factor(solution: Solution, p: Parameter, e: int) -> Factor:
    """dz/dtheta: the local input of a weight, 1 for a bias."""
    network = solution.network
    z0 = _unit(solution, "pre", p.layer, p.to_units[0], e)
    theta = network[p.name]
    if p.kind == "weight":
        assert p.from_unit is not None
        local = _unit(solution, "act", p.layer - 1, p.from_unit, e)
        return Factor(partial(z0.latex, theta.latex), local.latex, solution.value(local.name),
                      local.kind in ("input",), local.symbol)
    return Factor(partial(z0.latex, theta.latex), "1", Decimal(1), True)


def _live_path(solution: Solution, p: Parameter, e: int) -> list[tuple[int, int]] | None:
    """The units (layer, unit) from ``p``'s own up to an output along which every factor is nonzero,
    trying unit 1 first in every layer (the lecture's path); None when every path has a zero."""
    network = solution.network
    top = network.n_layers
    live: dict[tuple[int, int], bool] = {}
    rest: dict[tuple[int, int], list[tuple[int, int]] | None] = {}

    def is_live(unit: tuple[int, int]) -> bool:
        if unit not in live:
            factors = (_output_factors(solution, unit[1], e)[0] if unit[0] == top
                       else [_slope_factor(solution, *unit, e)])
            live[unit] = all(f.value != 0 for f in factors)
        return live[unit]

    def path_from(unit: tuple[int, int]) -> list[tuple[int, int]] | None:  # unit is live
        if unit[0] == top:
            return [unit]
        if unit not in rest:
            rest[unit] = None
            for k in range(1, network.layers[unit[0]].size + 1):
                above = (unit[0] + 1, k)
                if _weight_factor(solution, above, unit[1], e).value != 0 and is_live(above):
                    tail = path_from(above)
                    if tail is not None:
                        rest[unit] = [unit, *tail]
                        break
        return rest[unit]

    start = (p.layer, p.to_units[0])
    if _own_factor(solution, p, e).value == 0 or not is_live(start):
        return None
    return path_from(start)


def chain_for(solution: Solution, name: str | None = None, example: int = 1) -> Chain:
    """The expanded chain of ``dE/d<name>`` (default: a first-layer weight) along its first path
    (through ``example``'s units) whose every factor is nonzero, or its first path when none is."""
    network = solution.network
    e = example
    if name is None:
        p, live = default_parameter(solution)  # the path of example 1, walked once
        if e != 1:
            live = _live_path(solution, p, e)
    else:
        p = find_parameter(solution, name)
        live = _live_path(solution, p, e)
    units = live or [(p.layer, p.to_units[0])] + [(layer.index, 1) for layer in network.layers[p.layer:]]
    factors, condition = _output_factors(solution, units[-1][1], e)
    # down the hidden layers: dz(l+1)/da(l) = w, da(l)/dz(l) = f'
    for above, (l_here, j) in zip(reversed(units[1:]), reversed(units[:-1]), strict=True):
        factors += [_weight_factor(solution, above, j, e), _slope_factor(solution, l_here, j, e)]
    factors.append(_own_factor(solution, p, e))
    path_nodes = [network[p.name].latex]
    for l_here, j in units:
        path_nodes += [_unit(solution, "pre", l_here, j, e).latex, _unit(solution, "act", l_here, j, e).latex]
    path_nodes.append(network[network.loss_name].latex)
    n_paths = network.n_examples * len(p.to_units)
    for above_layer in network.layers[p.layer:]:
        n_paths *= above_layer.size
    grad_name = network.grad(p.name)
    decimals = solution.spec.decimals
    # the product at full precision (the gradient itself on a single path), shown with
    # enough digits to see its size (2.27e-4) and operands that reproduce it
    value = solution.value(grad_name) if n_paths == 1 else _product(factors)
    line = product_line("", [(f.value, f.exact) for f in factors], decimals,
                        result=precise_text(value), value=value)
    return Chain(p.name, network[grad_name].latex, path_nodes, factors, line, n_paths,
                 display(solution.value(grad_name), decimals), condition, units)


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
