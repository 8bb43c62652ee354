"""Spec -> expression graph: named symbols with their own definitions, no numbers.

Each neuron's pre-activation ``z`` and activation ``a`` are SymPy symbols whose
definitions refer to the symbols one layer down (``z_h1 = w1*x1 + w2*x2 + b1``,
``h1 = sigma(z_h1)``); the loss is built from the output symbols.  Nothing is
inlined: that is what lets the derivation scale to thousands of parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import sympy
from sympy import Expr, Symbol

from ..errors import SpecError
from .activations import Activation, activation, loss_expression, softmax
from .naming import LEARNING_RATE, Name, Namer
from .spec import LayerSpec, Spec
from .written import written_product, written_sum

#: Kinds of quantity, in the order a lecture meets them.
KINDS = (
    "input", "target", "weight", "bias", "learning_rate",          # leaves
    "pre", "act", "loss",                                          # forward pass
    "d_act", "d_pre", "grad",                                      # backward pass (chain rule)
    "updated", "post_pre", "post_act", "post_loss",                # after one SGD step
    "hyper", "previous", "optimizer",                              # an [optimizer] table's rule
)


@dataclass(frozen=True)
class Quantity:
    """One named quantity of the exercise."""

    id: Name  # its names: ASCII "z_h1", "dE/dw5", "w5'", "z_o@2"; LaTeX "z_{h_{1}}"; what it derives from
    symbol: Symbol
    kind: str
    #: how it is computed from other quantities' symbols (None for leaves)
    definition: Expr | None = None
    #: the closed form a lecture boxes, when it differs from ``definition``
    #: (an output delta written out: ``(yhat - t)*yhat*(1 - yhat)``, or ``yhat - t``)
    explicit: Expr | None = None
    #: the condition ``explicit`` holds under, when it is not an identity (softmax + cross-entropy:
    #: ``Eq(t1 + t2 + t3, 1)``, the targets form a distribution); every page that shows it says so
    condition: Expr | None = None
    layer: int | None = None  # 0 = inputs
    unit: int | None = None
    example: int | None = None  # 1-based; None when not per-example

    @property
    def name(self) -> str:
        """The ASCII name users type."""
        return self.id.ascii

    @property
    def latex(self) -> str:
        return self.id.latex

    @property
    def of(self) -> str | None:
        """The ASCII name of the quantity this one derives from (``w5`` for ``w5'`` and ``dE/dw5``)."""
        return None if self.id.of is None else self.id.of.ascii


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "weight" or "bias"
    layer: int
    #: (to_unit, from_unit) for a weight; the units it feeds for a bias
    to_units: tuple[int, ...]
    from_unit: int | None
    frozen: bool


@dataclass(frozen=True)
class Layer:
    index: int  # 1..L
    size: int
    spec: LayerSpec

    @property
    def activation_name(self) -> str:
        return self.spec.activation

    @property
    def elementwise(self) -> Activation | None:
        if self.spec.activation == "softmax":
            return None
        return activation(self.spec.activation, self.spec.slope)


@dataclass
class Network:
    """The forward expression graph of one spec (the derivation adds the backward pass)."""

    spec: Spec
    namer: Namer
    layers: list[Layer]
    parameters: list[Parameter]
    quantities: dict[str, Quantity] = field(default_factory=dict)
    by_symbol: dict[Symbol, Quantity] = field(default_factory=dict)
    #: ("grad" or "updated", ASCII name of what it derives from) -> the derived quantity's ASCII name
    #: (an example's quantity is named by `example_name`)
    derived: dict[tuple[str, str], str] = field(default_factory=dict)

    # -- registry -------------------------------------------------------------
    def add(self, name: Name, kind: str, definition: Expr | None = None, explicit: Expr | None = None,
            condition: Expr | None = None, **where: int | None) -> Symbol:
        symbol = Symbol(name.ascii, real=True)
        quantity = Quantity(name, symbol, kind, definition, explicit, condition, **where)
        if name.ascii in self.quantities:
            raise SpecError(f"{self.spec.source}: notation: two quantities would both be called "
                            f"{name.ascii!r}; choose different letters")
        self.quantities[name.ascii] = quantity
        self.by_symbol[symbol] = quantity
        if name.of is not None and name.how not in ("", "example"):
            self.derived[(name.how, name.of.ascii)] = name.ascii
        return symbol

    def __getitem__(self, name: str) -> Quantity:
        return self.quantities[name]

    def of_kind(self, *kinds: str) -> Iterator[Quantity]:
        return (q for q in self.quantities.values() if q.kind in kinds)

    def sym(self, name: str) -> Symbol:
        return self.quantities[name].symbol

    def updated(self, name: str) -> str:
        """The quantity after the SGD step: ``w5`` -> ``w5'``, ``z_o@2`` -> ``z_o@2'``, ``E`` -> ``E'``."""
        return self.derived[("updated", name)]

    def state(self, kind: str, name: str, previous: bool = False) -> str:
        """An optimizer's quantity of a parameter: (``m``, ``w5``) -> ``m_w5``; previous: ``m_w5-``."""
        return self.derived[(f"previous {kind}" if previous else kind, name)]

    def grad(self, name: str) -> str:
        """The loss's derivative by a quantity: ``w5`` -> ``dE/dw5``, ``z_o@2`` -> ``dE/dz_o@2``."""
        return self.derived[("grad", name)]

    # -- convenient lookups ----------------------------------------------------
    @property
    def n_examples(self) -> int:
        return len(self.spec.examples)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def example_name(self, name: Name, e: int) -> Name:
        return self.namer.for_example(name, e, self.n_examples)

    def unit(self, kind: str, layer: int, j: int) -> Name:
        """The plain name of an input/pre/act (layer 0 = the inputs), without an example's mark."""
        if layer == 0:
            return self.namer.input(j)
        return self.namer.pre(layer, j) if kind == "pre" else self.namer.act(layer, j)

    def unit_name(self, kind: str, layer: int, j: int, e: int) -> str:
        """ASCII name of an input/pre/act of example e (layer 0 = the inputs)."""
        return self.example_name(self.unit(kind, layer, j), e).ascii

    def activation_symbol(self, layer: int, j: int, e: int) -> Symbol:
        return self.sym(self.unit_name("act", layer, j, e))

    def pre_symbol(self, layer: int, j: int, e: int) -> Symbol:
        return self.sym(self.unit_name("pre", layer, j, e))

    def target_symbol(self, j: int, e: int) -> Symbol:
        return self.sym(self.example_name(self.namer.target(j), e).ascii)

    def param_symbol(self, name: str) -> Symbol:
        return self.sym(name)

    def weight_name(self, layer: int, j: int, k: int) -> str:
        return self.namer.weight(layer, j, k).ascii

    def bias_name(self, layer: int, j: int) -> str:
        return self.namer.bias(layer, j).ascii

    @property
    def loss_name(self) -> str:
        return self.namer.loss().ascii


def forward_definitions(
    network: Network, param: dict[str, Symbol], inputs: Sequence[Symbol], layer: Layer,
    previous: Sequence[Symbol], pre_symbols: Sequence[Symbol],
) -> tuple[list[Expr], list[Expr]]:
    """The z and a definitions of one layer of one example (used before and after the update)."""
    fan_in = len(previous)
    zs: list[Expr] = []
    for j in range(1, layer.size + 1):
        # unevaluated, so it prints as the lecture writes it: w1 x1 + w2 x2 + b1
        terms: list[Expr] = [written_product(param[network.weight_name(layer.index, j, k)], previous[k - 1])
                             for k in range(1, fan_in + 1)]
        terms.append(param[network.bias_name(layer.index, j)])
        zs.append(written_sum(*terms))
    f = layer.elementwise
    acts = softmax(pre_symbols) if f is None else [f.apply(z) for z in pre_symbols]
    return zs, acts


def build_network(spec: Spec) -> Network:
    """Leaves, the forward pass of every example, and the loss."""
    namer = spec.namer()
    layers = [Layer(i, s.units, s) for i, s in enumerate(spec.layers, start=1)]
    parameters = _parameters(spec, namer, layers)
    network = Network(spec, namer, layers, parameters)
    n_ex = len(spec.examples)

    for e in range(1, n_ex + 1):
        for k in range(1, spec.n_inputs + 1):
            network.add(namer.for_example(namer.input(k), e, n_ex), "input", layer=0, unit=k, example=e)
        for j in range(1, namer.n_outputs + 1):
            network.add(namer.for_example(namer.target(j), e, n_ex), "target", unit=j, example=e)
    for p in parameters:
        network.add(Name(p.name, _param_latex(namer, p)), p.kind, layer=p.layer)
    network.add(LEARNING_RATE, "learning_rate")

    param = {p.name: network.sym(p.name) for p in parameters}
    for e in range(1, n_ex + 1):
        _add_forward(network, param, e, prime=False)
    network.add(namer.loss(), "loss", _loss_definition(network, prime=False))
    return network


def _add_forward(network: Network, param: dict[str, Symbol], e: int, prime: bool) -> None:
    """Register z and a of every unit of example ``e`` (primed: after the update)."""
    namer = network.namer
    previous = [network.sym(network.unit_name("act", 0, k, e)) for k in range(1, namer.n_inputs + 1)]
    inputs = previous
    kinds = ("post_pre", "post_act") if prime else ("pre", "act")
    for layer in network.layers:
        pre_names = [_maybe_prime(network.example_name(namer.pre(layer.index, j), e), prime)
                     for j in range(1, layer.size + 1)]
        pre_symbols = [Symbol(n.ascii, real=True) for n in pre_names]
        zs, acts = forward_definitions(network, param, inputs, layer, previous, pre_symbols)
        for j, (name, z) in enumerate(zip(pre_names, zs, strict=True), start=1):
            network.add(name, kinds[0], z, layer=layer.index, unit=j, example=e)
        current = []
        for j, a in enumerate(acts, start=1):
            name = _maybe_prime(network.example_name(namer.act(layer.index, j), e), prime)
            current.append(network.add(name, kinds[1], a, layer=layer.index, unit=j, example=e))
        previous = current


def _maybe_prime(name: Name, prime: bool) -> Name:
    return Namer.updated(name) if prime else name


def _loss_definition(network: Network, prime: bool) -> Expr:
    spec, namer = network.spec, network.namer
    total = []
    for e in range(1, network.n_examples + 1):
        outs = [network.sym(_maybe_prime(network.example_name(namer.act(network.n_layers, j), e), prime).ascii)
                for j in range(1, namer.n_outputs + 1)]
        targets = [network.target_symbol(j, e) for j in range(1, namer.n_outputs + 1)]
        total.append(loss_expression(spec.loss, outs, targets))
    loss = total[0] if len(total) == 1 else written_sum(*total)
    if spec.reduction == "mean" and network.n_examples > 1:
        loss = written_product(sympy.Rational(1, network.n_examples), loss)
    return loss


def add_post_update(network: Network) -> None:
    """The forward pass and loss again, with every parameter replaced by its updated value."""
    param = {p.name: network.sym(network.updated(p.name)) for p in network.parameters}
    for e in range(1, network.n_examples + 1):
        _add_forward(network, param, e, prime=True)
    network.add(Namer.updated(network.namer.loss()), "post_loss", _loss_definition(network, prime=True))


def _parameters(spec: Spec, namer: Namer, layers: list[Layer]) -> list[Parameter]:
    params: list[Parameter] = []
    seen: set[str] = set()
    fan_in = spec.n_inputs
    for layer in layers:
        for j in range(1, layer.size + 1):
            for k in range(1, fan_in + 1):
                name = namer.weight(layer.index, j, k).ascii
                params.append(Parameter(name, "weight", layer.index, (j,), k, name in spec.frozen))
            bias = namer.bias(layer.index, j).ascii
            if bias not in seen:
                seen.add(bias)
                units = tuple(range(1, layer.size + 1)) if spec.shared_bias else (j,)
                params.append(Parameter(bias, "bias", layer.index, units, None, bias in spec.frozen))
        fan_in = layer.size
    return params


def _param_latex(namer: Namer, p: Parameter) -> str:
    if p.kind == "weight":
        assert p.from_unit is not None
        return namer.weight(p.layer, p.to_units[0], p.from_unit).latex
    return namer.bias(p.layer, p.to_units[0]).latex
