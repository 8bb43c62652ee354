"""An ``[optimizer]`` table's update step as named quantities of the graph (state, moments, new parameter).

Each quantity is a definition over symbols, as the rest of the graph: for Adam and a weight ``w5``
with gradient ``g = dE/dw5``::

    m_w5    = beta1 m_w5- + (1 - beta1) g          v_w5 = beta2 v_w5- + (1 - beta2) g^2
    mhat_w5 = m_w5 / (1 - beta1^t)                 vhat_w5 = v_w5 / (1 - beta2^t)
    w5'     = w5 - eta mhat_w5 / (sqrt(vhat_w5) + epsilon)

where ``m_w5-`` is the state before the step (a leaf: 0 at the first step) and ``t`` the step counter
(a leaf: 1).  The k-step run (`evaluate.Engine`) carries each state into the next step's ``-`` leaf and
counts ``t`` up, so every step runs these same definitions.  The rules and defaults are PyTorch's:
momentum ``v = mu v- + g`` with the step ``v`` (Nesterov: ``g + mu v``), RMSprop ``s = alpha s- + (1 -
alpha) g^2`` with the step ``g / (sqrt(s) + epsilon)``.  Weight decay lambda is either an L2 term
``lambda/2 theta^2`` in the loss (coupled: the rule sees ``g = dE/dtheta + lambda theta``) or AdamW's
decoupled decay (``theta' = theta - eta lambda theta - eta step``).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import Expr, Symbol

from .naming import HYPERPARAMETERS, LEARNING_RATE, STEP, Namer
from .network import Network, Parameter
from .optimizer import OptimizerSettings
from .written import written_product, written_sum

#: quantities the k-step run carries from one step to the next: (state kind, ...) per optimizer
STATES = {"sgd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "v")}


def _over(numerator: Expr, denominator: Expr) -> Expr:
    """``numerator / denominator`` kept as written (a product with the inverse, unevaluated)."""
    return written_product(numerator, sympy.Pow(denominator, -1, evaluate=False))


def _corrected(moment: Symbol, beta: Symbol, t: Symbol) -> Expr:
    """Adam's bias correction ``moment / (1 - beta^t)``."""
    return _over(moment, written_sum(sympy.S.One, -sympy.Pow(beta, t, evaluate=False)))


def _decay(beta: Symbol, previous: Symbol, new: Expr) -> Expr:
    """``beta previous + (1 - beta) new``: an exponential moving average."""
    return written_sum(written_product(beta, previous), written_product(written_sum(sympy.S.One, -beta), new))


def add_optimizer_update(network: Network, settings: OptimizerSettings) -> None:
    """The hyperparameter leaves, then per parameter its state, moments and updated value."""
    hyper = {field: network.add(HYPERPARAMETERS[field], "hyper") for field in settings.hyperparameters}
    if settings.name == "adam":
        hyper["step"] = network.add(STEP, "hyper")
    for p in network.parameters:
        _add_parameter(network, settings, hyper, p)


def _add_parameter(network: Network, settings: OptimizerSettings, hyper: dict[str, Symbol], p: Parameter) -> None:
    theta = network.sym(p.name)
    of = network[p.name].id
    updated = Namer.updated(of)
    if p.frozen:
        network.add(updated, "updated", theta, layer=p.layer)
        return

    def state(kind: str, definition: Expr) -> Symbol:
        return network.add(Namer.state(kind, of), "optimizer", definition, layer=p.layer)

    def previous(kind: str) -> Symbol:
        return network.add(Namer.state(kind, of, previous=True), "previous", layer=p.layer)

    g: Expr = network.sym(network.grad(p.name))
    eta = network.sym(LEARNING_RATE.ascii)
    network.add(updated, "updated", rule_definition(settings, hyper, eta, theta, g, state, previous), layer=p.layer)


def rule_definition(settings: OptimizerSettings, hyper: dict[str, Symbol], eta: Symbol, theta: Symbol, g: Expr,
                    state: Callable[[str, Expr], Symbol], previous: Callable[[str], Symbol]) -> Expr:
    """The updated parameter's definition under the rule; ``state`` names each quantity it computes (kind,
    definition) in order, ``previous`` the state before the step (any graph of names: an MLP, a circuit)."""
    if settings.decay == "coupled":
        g = state("g", written_sum(g, written_product(hyper["weight_decay"], theta)))
    name = settings.name
    step: Expr = g
    if name == "momentum":
        mu = hyper["momentum"]
        v = state("v", written_sum(written_product(mu, previous("v")), g))
        step = written_sum(g, written_product(mu, v)) if settings.nesterov else v
    elif name == "rmsprop":
        s = state("s", _decay(hyper["alpha"], previous("s"), g**2))
        step = _over(g, written_sum(sympy.sqrt(s), hyper["epsilon"]))
    elif name == "adam":
        beta1, beta2, t = hyper["beta1"], hyper["beta2"], hyper["step"]
        m = state("m", _decay(beta1, previous("m"), g))
        v = state("v", _decay(beta2, previous("v"), g**2))
        mhat, vhat = state("mhat", _corrected(m, beta1, t)), state("vhat", _corrected(v, beta2, t))
        step = _over(mhat, written_sum(sympy.sqrt(vhat), hyper["epsilon"]))
    terms: list[Expr] = [theta]
    if settings.decay == "decoupled":
        terms.append(written_product(sympy.S.NegativeOne, eta, hyper["weight_decay"], theta))
    terms.append(written_product(sympy.S.NegativeOne, eta, step))
    return written_sum(*terms)


def carried(network: Network) -> list[tuple[str, str]]:
    """(the state before a step, the state after it) of every parameter: what the k-step run carries."""
    settings = network.spec.optimizer
    if settings is None:
        return []
    return [(network.state(kind, p.name, previous=True), network.state(kind, p.name))
            for p in network.parameters if not p.frozen for kind in STATES[settings.name]]


def optimizer_leaves(network: Network) -> dict[str, sympy.Rational]:
    """The exact values of the optimizer's leaves at the first step: hyperparameters, t = 1, states 0."""
    settings = network.spec.optimizer
    if settings is None:
        return {}
    values = {HYPERPARAMETERS[field].ascii: getattr(settings, field) for field in settings.hyperparameters}
    if settings.name == "adam":
        values[STEP.ascii] = sympy.S.One
    values.update({before: sympy.S.Zero for before, _ in carried(network)})
    return values


def state_kinds(settings: OptimizerSettings) -> tuple[str, ...]:
    """The per-parameter quantities of a rule, in the order it computes them (the handout's columns)."""
    decay = ("g",) if settings.decay == "coupled" else ()
    return decay + {"sgd": (), "momentum": ("v",), "rmsprop": ("s",),
                    "adam": ("m", "v", "mhat", "vhat")}[settings.name]
