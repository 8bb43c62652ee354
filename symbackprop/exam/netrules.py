"""What drawing needs to know of a feed-forward network: its leaves and their grids, its compiled steps,
what it asks, its own fairness rules (saturation, dead units, loss, zero gradients) and its spec at drawn values."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sympy
from sympy import Expr

from ..engine.evaluate import compile_network, leaf_values, remembering_domain
from ..engine.examtable import ExamSettings, Grid
from ..engine.flatcode import FlatCompiler
from ..engine.naming import LEARNING_RATE
from ..engine.network import Network
from ..engine.solution import Solution
from ..engine.spec import Example, Spec
from ..errors import ExamError
from .judging import JUDGE, QUICK, Checks, ExactChecks, QuickChecks
from .variants import asked_names

__all__ = ["NetworkFamily"]

GROUP_OF_KIND = {"weight": "weights", "bias": "biases", "input": "inputs", "target": "targets"}
#: values that make a step trivial, by the kind of leaf
TRIVIAL = {"weight": (0, 1, -1), "input": (0, 1, -1), "bias": (0,)}
_PIECEWISE = ("relu", "leaky_relu")


@dataclass
class _Units:
    """The units' slopes in one kind of number (smooth units' slopes, none of which may be flat; per piecewise
    layer, its units' slopes and pre-activations), with that number's comparisons."""

    checks: Checks
    slopes: list[Callable[[list[Any]], Any]]
    piecewise: list[tuple[list[Callable[[list[Any]], Any]], list[int]]]


class NetworkFamily:
    """A network's side of the drawing: :class:`.drawing.Drawer` asks it what varies and what is unfair."""

    nothing_asked = "this network has no quantities of the asked groups"

    def __init__(self, base: Solution, settings: ExamSettings):
        network = base.network
        self.base = base
        self.network = network
        self.decimals = base.spec.decimals
        # the judge's numbers; drawn values lie on grids, so exp, log and the activations meet them again
        domain = remembering_domain(JUDGE)
        self.index, self.steps = compile_network(network, domain=domain)
        self.leaves = leaf_values(network)
        self.asked = asked_names(network, settings.ask, settings.unasked)
        slot_of = {q.symbol: self.index[q.name] for q in network.quantities.values()}
        #: the steps' source for the judge's flat passes (see :mod:`.passes`), in the same domain
        self.flat = FlatCompiler(slot_of, domain)
        self._exact = self._units_of(network, self.flat, ExactChecks(self.decimals))
        #: each layer's asked gradients (their slots) and its parameters, for the zero-gradients rule
        self.grad_layers: list[list[int]] = []
        self.grad_layer_parameters: list[tuple[str, ...]] = []
        asked_grads = {n for group, names in self.asked if group == "gradients" for n in names}
        for layer in network.layers:
            asked = [p.name for p in network.parameters
                     if p.layer == layer.index and network.grad(p.name) in asked_grads]
            if asked:
                self.grad_layers.append([self.index[network.grad(name)] for name in asked])
                self.grad_layer_parameters.append(tuple(asked))
        self.loss_slots = (self.index[network.loss_name], self.index[network.updated(network.loss_name)])

    def definition(self, name: str) -> Expr:
        definition = self.network[name].definition
        assert definition is not None
        return definition

    def rounds_as_you_go(self, inexact: bool) -> bool:
        """Whether the early-rounding rule starts strict when ``[exam]`` leaves it out: for a network, yes
        (the lecture's way of working; the probe relaxes it where it must)."""
        return True

    def leaf_grid(self, name: str, settings: ExamSettings) -> tuple[Grid | None, tuple[int, ...]]:
        """The leaf's grid (None: fixed) and the values on it that make a step trivial."""
        kind = self.network[name].kind
        if name in settings.overrides:
            grid = settings.overrides[name]
        elif kind in GROUP_OF_KIND:
            grid = settings.groups[GROUP_OF_KIND[kind]]
        else:
            grid = None  # the learning rate: fixed unless named in [exam.vary]
        if grid is not None:
            self._check_grid(name, kind, grid)
        return grid, TRIVIAL.get(kind, ())

    def _check_grid(self, name: str, kind: str, grid: Grid) -> None:
        loss = self.network.spec.loss
        if kind == "target" and loss == "cross_entropy":
            raise ExamError(f"exam: {name}: cross_entropy targets form a distribution; keep targets fixed")
        if kind == "target" and loss == "bce" and (grid.low < 0 or grid.high > 1):
            raise ExamError(f"exam: {name}: bce targets lie in [0, 1]; the range reaches outside")
        if name == LEARNING_RATE.ascii and grid.low <= 0:
            raise ExamError("exam: eta: the learning rate must stay positive")

    @functools.cached_property
    def quick_flat(self) -> FlatCompiler:
        """The steps' source in the quick look's floats (compiled once a drawer has judged enough draws to gain)."""
        return FlatCompiler(self.flat.slot_of, QUICK)

    @functools.cached_property
    def _quick(self) -> _Units:
        return self._units_of(self.network, self.quick_flat, QuickChecks(self.decimals))

    @staticmethod
    def _units_of(network: Network, flat: FlatCompiler, checks: Checks) -> _Units:
        """The units' slopes compiled to ``flat``'s numbers, with the comparisons of those numbers."""
        slot_of = flat.slot_of
        units = _Units(checks, [], [])
        for layer in network.layers:
            fn = layer.elementwise
            if fn is None:
                continue
            slopes, pres = [], []
            for e in range(1, network.n_examples + 1):
                for j in range(1, layer.size + 1):
                    a, z = network.activation_symbol(layer.index, j, e), network.pre_symbol(layer.index, j, e)
                    slopes.append(flat.function("v", [f"return {flat.source(fn.local_slope(a, z))}"]))
                    pres.append(slot_of[z])
            if layer.activation_name in _PIECEWISE:
                units.piecewise.append((slopes, pres))
            else:
                units.slopes += slopes
        return units

    def reject(self, slots: list[Decimal], rules: ExamSettings) -> str | None:
        """The network's own reason to reject a judged draw: its units, its loss, its gradients."""
        return self._rules(self._exact, slots, rules)

    def quick_reject(self, slots: list[float], rules: ExamSettings) -> str | None:
        """:meth:`reject` on the quick look's floats (raising :class:`.judging.Unsure` where it cannot tell)."""
        return self._rules(self._quick, slots, rules)

    def _rules(self, units: _Units, slots: list[Any], rules: ExamSettings) -> str | None:
        return self._units(units, slots, rules) or self._loss_and_gradients(units.checks, slots, rules)

    @staticmethod
    def _units(units: _Units, slots: list[Any], rules: ExamSettings) -> str | None:
        """A relu on its kink, a saturated smooth unit, or a piecewise layer more than half dead."""
        n = units.checks
        for _, pres in units.piecewise:
            if any(n.zero(slots[z]) for z in pres):
                return "undefined"  # relu is not differentiable at z = 0
        if rules.allow_saturation:
            return None
        threshold = n.number(rules.saturation_threshold)
        if any(n.below(abs(slope(slots)), threshold) for slope in units.slopes):
            return "saturation"
        for slopes, _ in units.piecewise:
            if 2 * sum(1 for slope in slopes if n.below(abs(slope(slots)), threshold)) > len(slopes):
                return "dead units"
        return None

    def _loss_and_gradients(self, n: Checks, slots: list[Any], rules: ExamSettings) -> str | None:
        before, after = self.loss_slots
        if not rules.allow_loss_increase and not n.below(slots[after], slots[before]):
            return "loss increase"
        for layer_slots in self.grad_layers if not rules.allow_zero_gradients else ():
            if all(n.shows_zero(slots[s]) for s in layer_slots):
                return "zero gradients"
        if not (rules.allow_loss_increase or rules.allow_unchanged_loss) \
                and n.same_display(slots[after], slots[before]):
            return "loss unchanged"  # lower, but the sheet cannot show it
        return None

    def zero_layers(self, slots: list[Decimal]) -> list[int]:
        """The asked gradient layers (by their place in ``grad_layers``) that show every gradient as 0."""
        n = self._exact.checks
        return [k for k, layer in enumerate(self.grad_layers) if all(n.shows_zero(slots[s]) for s in layer)]

    def spec_for(self, values: dict[str, sympy.Rational]) -> Spec:
        """The base spec with these leaf values (parameters, examples, learning rate)."""
        spec = self.base.spec
        network = self.network
        examples = []
        for e, example in enumerate(spec.examples, start=1):
            inputs = tuple(values[network.unit_name("act", 0, k, e)] for k in range(1, len(example.inputs) + 1))
            targets = tuple(values[network.example_name(network.namer.target(j), e).ascii]
                            for j in range(1, len(example.targets) + 1))
            examples.append(Example(inputs, targets))
        parameters = {name: values[name] for name in spec.parameters}
        return dataclasses.replace(spec, parameters=parameters, examples=tuple(examples),
                                   learning_rate=values[LEARNING_RATE.ascii])
