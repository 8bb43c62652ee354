"""The marker of an MLP spec (a `Solution`), and `mark`, which picks a solved spec's marker by its kind.

The MLP's usual slips, each recomputed exactly for a wrong value: a neighbouring weight, a missing
sigma' factor, a missing local input, sigma'(a) instead of a(1 - a), the update's step added, the
output's error signal's sign flipped (the verdicts and the formula comparison are `marker`'s).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy
from sympy import Expr, Symbol

from ..engine.activations import ELEMENTWISE, FORMULA_FUNCTIONS, function_symbol, relu, sigma, softplus
from ..engine.evaluate import leaf_values
from ..engine.naming import HYPERPARAMETERS, LEARNING_RATE
from ..engine.network import Network, Quantity
from ..engine.solution import Solution
from .answers import Answers
from .marker import (
    REPORT_SECONDS,
    SLIP_DEPTH,
    VERDICTS,
    WORK_DIGITS,
    Exercise,
    Marker,
    Report,
    Row,
    Slips,
    _text,
    allowance,
    cell_text,
    mark_exercise,
)
from .words import Said, marking_words

if TYPE_CHECKING:
    from ..engine.graph import GraphSolution

#: the MLP's forward kinds (folded into their names when formulas are compared) and its backward ones
#: (inlined: polynomial in the forward quantities)
FORWARD_KINDS = frozenset(("pre", "act", "loss", "post_pre", "post_act", "post_loss"))
BACKWARD_KINDS = frozenset(("d_act", "d_pre", "grad", "updated"))
#: a sum over at most this many units of the layer above has every subset of its terms tried; more: each one
#: left out
MAX_SUBSET_TERMS = 6
#: the activation a formula applies, by the function it calls (an activation's name in the spec)
APPLIED = {sigma: "sigmoid", sympy.tanh: "tanh", relu: "relu", softplus: "softplus"}


def mark(solution: Solution | GraphSolution, answers: Answers, seconds: float | None = None,
         lang: str = "en") -> Report:
    """Mark every answer; rows come in the spec's order (value before formula), unknown names last.

    ``seconds``: the symbolic work of the whole report (default ``REPORT_SECONDS``; the practice page
    asks for less than a file); ``lang``: the language of its words (``lang/marking/<lang>.j2`` of the
    templates in use)."""
    settings = {"allowance": allowance(REPORT_SECONDS if seconds is None else seconds), "words": marking_words(lang)}
    if isinstance(solution, Solution):
        return mark_exercise(_Marker(solution, **settings), answers)
    from .graphmarks import GraphMarker  # a graph's marker: imported for a graph only

    return mark_exercise(GraphMarker(solution, **settings), answers)


def exercise(solution: Solution) -> Exercise:
    """What the marker needs of a solved MLP spec."""
    network = solution.network
    return Exercise(solution.spec.title, solution.spec.decimals, network.quantities, solution.evaluation.values,
                    solution.evaluation.exact, leaf_values(network), solution.printer.doprint, FORMULA_FUNCTIONS,
                    FORWARD_KINDS, BACKWARD_KINDS, 2 * network.n_layers + 4)


class _Marker(Marker):
    """The MLP's marker: the generic marking with the MLP's slips, random points and factor swap."""

    solution: Solution

    def __init__(self, solution: Solution, **settings: Any):
        super().__init__(exercise(solution), **settings)
        self.solution = solution

    @cached_property
    def network(self) -> Network:
        return self.solution.network

    def _slips_everywhere(self, distance: dict[Symbol, int]) -> Slips:
        """Every activation slope missing at once; the output's error signal flipped far back."""
        by_symbol = self.network.by_symbol
        ancestors = [by_symbol[s] for s in distance]
        slopes = {a.name: s for a in ancestors if (s := self._slope(a)) is not None}
        if len(slopes) > 1:
            yield Said("every_slope_missing"), {n: d for n, (d, _) in slopes.items()}
        outputs = {a.name: a.definition for a in ancestors
                   if a.kind == "d_act" and a.layer == self.network.n_layers and a.definition is not None}
        if outputs and not any(distance[self.network.sym(n)] <= SLIP_DEPTH for n in outputs):
            names = [self._name(n) for n in sorted(outputs)]
            yield Said("outputs_sign_flipped", names=names), {n: -d for n, d in outputs.items()}


    def _slips(self, a: Quantity) -> Slips:
        """The MLP's usual slips in one quantity's own definition."""
        net = self.network
        definition = a.definition
        assert definition is not None
        if a.kind == "updated":
            assert a.of is not None
            theta = net.sym(a.of)
            if definition != theta:
                step = self._marked("theta + eta*dE/dtheta", r"\theta + \eta \frac{\partial E}{\partial \theta}")
                yield Said("step_added", name=self._name(a.name), step=step), {a.name: 2 * theta - definition}
                if net.spec.optimizer is not None:
                    yield from self._optimizer_slips(a, theta)
        slope = self._slope(a)
        if slope is not None:
            d_act, local = slope
            yield Said("slope_missing", slope=self._formula(local), of=self._formula(a.symbol)), {a.name: d_act}
            wrong = self._slope_of_activation(a, local)
            if wrong is not None:
                assert a.layer is not None
                f = function_symbol(net.layers[a.layer - 1].activation_name)[0]
                yield (Said("slope_at_activation", of=self._formula(a.symbol), wrong=self._formula(wrong),
                            slope=self._formula(local), f=f), {a.name: sympy.Mul(d_act, wrong)})
        if a.kind == "grad":
            param = a.of
            assert param is not None
            inputs = self._local_inputs(param)
            if inputs:
                dropped = definition.xreplace(dict.fromkeys(inputs, sympy.S.One))
                local = [self._formula(x) for x in inputs]
                yield Said("local_input_missing", inputs=local, of=self._name(a.name)), {a.name: dropped}
            for other in self._neighbours.get(param, ()):
                other_grad = net[net.grad(other)]
                if other_grad.definition is not None:
                    yield (Said("neighbour_gradient", name=self._name(a.name), other=self._name(other_grad.name),
                                weight=self._name(other)), {a.name: other_grad.definition})
        if a.kind == "d_act":
            yield from self._missing_unit_terms(a)
        if a.kind in ("pre", "post_pre", "d_act"):
            present = [s for s in definition.free_symbols if str(s) in self._neighbour_symbols]
            for w in sorted(present, key=str):
                for n in self._neighbour_symbols[str(w)]:
                    if n not in definition.free_symbols:
                        yield (Said("neighbour_used", used=self._formula(n), instead=self._formula(w),
                                    of=self._name(a.name)), {a.name: definition.xreplace({w: n})})
                    elif str(w) < str(n):
                        yield (Said("neighbours_swapped", one=self._formula(w), other=self._formula(n),
                                    of=self._name(a.name)), {a.name: definition.xreplace({w: n, n: w})})
        if a.kind == "d_act" and a.layer == net.n_layers:
            yield (Said("output_sign_flipped", of=self._formula(a.symbol), flipped=self._formula(-definition),
                        right=self._formula(definition)), {a.name: -definition})

    def _missing_unit_terms(self, a: Quantity) -> Slips:
        """A hidden unit's dE/da summed over only some units of the layer above (an output forgotten)."""
        net, definition = self.network, a.definition
        if a.layer is None or a.layer >= net.n_layers or not isinstance(definition, sympy.Add):
            return
        terms: list[tuple[Quantity, Expr]] = []
        for term in definition.args:
            deltas = [net.by_symbol[s] for s in term.free_symbols if net.by_symbol[s].kind == "d_pre"]
            if len(deltas) != 1:
                return
            terms.append((deltas[0], term))
        terms.sort(key=lambda pair: pair[0].unit or 0)
        n = len(terms)
        for size in range(n - 1, 0, -1) if n <= MAX_SUBSET_TERMS else (n - 1,):
            for kept in itertools.combinations(range(n), size):
                left_out = [terms[i] for i in range(n) if i not in kept]
                named = [self._formula(t) for _, t in left_out]
                units = [self._formula(self._pre_of[d.symbol]) for d, _ in left_out]
                yield (Said("missing_unit_terms", name=self._name(a.name), terms=named, units=units, kept=size, uses=n),
                       {a.name: sympy.Add(*(terms[i][1] for i in kept))})

    @cached_property
    def _pre_of(self) -> dict[Symbol, Symbol]:
        """A delta's, or an activation's, pre-activation symbol (dE/dz_o2 -> z_o2, yhat2 -> z_o2)."""
        pre = {(q.kind, q.layer, q.unit, q.example): q.symbol for q in self.network.quantities.values()
               if q.kind in ("pre", "post_pre")}
        kinds = {"d_pre": "pre", "act": "pre", "post_act": "post_pre"}
        return {q.symbol: pre[key] for q in self.network.quantities.values() if q.kind in kinds
                and (key := (kinds[q.kind], q.layer, q.unit, q.example)) in pre}

    def _slip_written(self, q: Quantity, student: Expr) -> Said | None:
        """A sum over the layer above with terms left out; an activation other than the layer's applied."""
        if q.kind == "d_act":
            return self._written_as(q, student, self._missing_unit_terms(q))
        if q.kind in ("act", "post_act") and q.layer is not None and q.symbol in self._pre_of:
            z = self._pre_of[q.symbol]
            if student == z:
                used = "identity"
            elif isinstance(student, sympy.Function) and len(student.args) == 1 and z in (student.args[0],
                                                                                      self._fold(student.args[0])):
                used = APPLIED.get(type(student), "")
            else:
                return None
            right = self.network.layers[q.layer - 1].activation_name
            if used and used != right:
                return Said("wrong_activation", name=self._name(q.name), used=used, right=right)
        return None

    def _other_slope(self, have: Expr, want: Expr) -> Said | None:
        """Another activation's slope (sigmoid's h1*(1 - h1)) standing where the layer's own (relu's step(z_h1))
        belongs."""
        for q in self.network.of_kind("act", "post_act"):
            f = self.network.layers[q.layer - 1].elementwise if q.layer is not None else None
            z = self._pre_of.get(q.symbol)
            if f is None or z is None or sympy.expand(want - f.local_slope(q.symbol, z)) != 0:
                continue
            for name, other in ELEMENTWISE.items():
                if name not in (f.name, "identity") and sympy.expand(have - other.local_slope(q.symbol, z)) == 0:
                    return Said("other_slope", used=self._formula(have), used_f=name, slope=self._formula(want),
                                f=f.name)
        return None

    def _optimizer_slips(self, a: Quantity, theta: Symbol) -> Slips:
        """An optimizer's usual slips in one parameter's update: plain SGD instead of the rule, Adam's bias
        correction left out, the weight decay left out."""
        net, settings, of = self.network, self.network.spec.optimizer, a.of
        assert settings is not None and of is not None and a.definition is not None
        name = self._name(a.name)
        if settings.name != "sgd":
            sgd = self._marked("theta - eta*dE/dtheta", r"\theta - \eta \frac{\partial E}{\partial \theta}")
            yield (Said("plain_step", name=name, step=sgd, optimizer=settings.name),
                   {a.name: theta - net.sym(LEARNING_RATE.ascii) * net.sym(net.grad(of))})
        if settings.name == "adam":
            yield (Said("no_bias_correction", name=name),
                   {net.state(k + "hat", of): net.sym(net.state(k, of)) for k in ("m", "v")})
        if settings.decay == "decoupled":
            decay = self._marked("eta*lambda*theta", r"\eta \lambda \theta")
            yield (Said("no_decoupled_decay", name=name, decay=decay),
                   {a.name: a.definition.xreplace({net.sym(HYPERPARAMETERS["weight_decay"].ascii): 0})})
        elif settings.decay == "coupled":
            decay = self._marked("lambda*theta", r"\lambda \theta")
            yield (Said("no_l2_term", name=name, decay=decay),
                   {net.state("g", of): net.sym(net.grad(of))})


    def _slope(self, q: Quantity) -> tuple[Expr, Expr] | None:
        """(dE/da, slope) of a delta written as ``dE/da * slope``; None for other quantities."""
        if q.kind != "d_pre" or not isinstance(q.definition, sympy.Mul):
            return None
        d_acts = [f for f in q.definition.args if f in self.network.by_symbol
                  and self.network.by_symbol[f].kind == "d_act"]
        if len(d_acts) != 1:
            return None
        rest = [f for f in q.definition.args if f is not d_acts[0]]
        slope = sympy.Mul(*rest)
        if slope == 1:
            return None
        return d_acts[0], slope

    def _slope_of_activation(self, q: Quantity, slope: Expr) -> Expr | None:
        """The slope with the activation a replaced by f(a): sigma(h)(1 - sigma(h)) for h(1 - h)."""
        if q.layer is None or q.unit is None:
            return None
        layer = self.network.layers[q.layer - 1]
        f = layer.elementwise
        if f is None:
            return None
        a = self.network.activation_symbol(q.layer, q.unit, q.example or 1)
        if a not in slope.free_symbols:
            return None
        with sympy.evaluate(False):  # keep the lecture's order: sigma(h1)*(1 - sigma(h1))
            return slope.xreplace({a: f.apply(a)})

    def _local_inputs(self, param: str) -> list[Symbol]:
        for p in self.network.parameters:
            if p.name == param and p.kind == "weight" and p.from_unit is not None:
                return [self.network.activation_symbol(p.layer - 1, p.from_unit, e)
                        for e in range(1, self.network.n_examples + 1)]
        return []

    @cached_property
    def _neighbours(self) -> dict[str, tuple[str, ...]]:
        """Each weight's neighbours: the other weights into the same unit from the adjacent inputs,
        and the same-position weight of the adjacent unit."""
        where = {}
        for p in self.network.parameters:
            if p.kind == "weight" and p.from_unit is not None:
                where[(p.layer, p.to_units[0], p.from_unit)] = p.name
        result: dict[str, tuple[str, ...]] = {}
        for (layer, j, k), name in where.items():
            near = [(layer, j, k - 1), (layer, j, k + 1), (layer, j - 1, k), (layer, j + 1, k)]
            result[name] = tuple(where[n] for n in near if n in where)
        return result

    @cached_property
    def _neighbour_symbols(self) -> dict[str, list[Symbol]]:
        """The same for the weights' symbols, before and after the update (w5 -> w6, w5' -> w6')."""
        result: dict[str, list[Symbol]] = {}
        net = self.network
        for name, near in self._neighbours.items():
            result[name] = [self.symbols[n] for n in near]
            result[net.updated(name)] = [self.symbols[net.updated(n)] for n in near]
        return result


    def _random_leaves(self, rng: random.Random, leaves: Mapping[str, Any]) -> dict[str, sympy.Rational]:
        """Random nonzero rationals for inputs and parameters; targets stay valid for the loss."""
        spec = self.network.spec
        out: dict[str, sympy.Rational] = {}
        targets = [q for q in self.network.quantities.values() if q.kind == "target"]
        for name in leaves:
            kind = self.network[name].kind
            if kind in ("input", "weight", "bias", "learning_rate"):
                out[name] = sympy.Rational(rng.choice([-1, 1]) * rng.randint(7, 97), 100)
        if spec.loss == "cross_entropy":
            for e in range(1, self.network.n_examples + 1):
                group = [q for q in targets if (q.example or 1) == e]
                weights = [rng.randint(1, 9) for _ in group]
                for q, w in zip(group, weights, strict=True):
                    out[q.name] = sympy.Rational(w, sum(weights))
        else:
            for q in targets:
                out[q.name] = sympy.Rational(rng.randint(5, 95), 100)
        return out


    def _swapped_factor(self, extra: list[Expr], missing: list[Expr]) -> Said | None:
        """f'(a) (the slope at the activation: sigma'(a), tanh'(a)) standing where a(1 - a) or 1 - a^2 belongs."""
        if not extra or not missing:
            return None
        have, want = sympy.Mul(*extra), sympy.Mul(*missing)
        for q in self.network.of_kind("act", "post_act"):
            if q.symbol in want.free_symbols and q.layer is not None:
                f = self.network.layers[q.layer - 1].elementwise
                if f is not None and sympy.expand(have - want.xreplace({q.symbol: f.apply(q.symbol)})) == 0:
                    with sympy.evaluate(False):
                        shown = want.xreplace({q.symbol: f.apply(q.symbol)})
                    ascii_f, latex_f = function_symbol(f.name)
                    slope = self._marked(f"{ascii_f}'({q.name})", rf"{latex_f}'\left({q.latex}\right)")
                    return Said("slope_swapped", shown=self._formula(shown), slope=slope, want=self._formula(want))
        return self._other_slope(have, want) or self._delta_swapped(have, want)

    def _delta_swapped(self, have: Expr, want: Expr) -> Said | None:
        """Another unit's delta standing where this one's belongs (``dE/dz_o1 * h2`` written for ``dE/dw12``, whose
        delta is ``dE/dz_o2``): both named, not their forms in the outputs and targets."""
        found: dict[str, Quantity] = {}
        for q in self.network.of_kind("d_pre", "d_act"):
            form = self._backward_symbol(q.symbol)
            for role, expr in (("used", have), ("instead", want)):
                if role not in found and form.free_symbols == expr.free_symbols and sympy.expand(form - expr) == 0:
                    found[role] = q
        if len(found) == 2 and found["used"] is not found["instead"]:
            return Said("quantity_swapped", used=self._name(found["used"].name),
                        instead=self._name(found["instead"].name))
        return None


__all__ = ["Report", "Row", "VERDICTS", "WORK_DIGITS", "_text", "cell_text", "exercise", "mark"]
