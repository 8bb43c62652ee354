"""The ``[optimizer]`` table of a spec (which update rule, its hyperparameters, weight decay), validated.

::

    [optimizer]
    name = "adam"          # sgd | momentum | rmsprop | adam
    beta1 = 0.9            # adam: first-moment decay
    beta2 = 0.999          # adam: second-moment decay
    alpha = 0.99           # rmsprop: decay of the squared-gradient average
    epsilon = 1e-8         # rmsprop, adam: added to the root in the denominator
    momentum = 0.9         # momentum: the velocity's decay mu
    nesterov = false       # momentum: Nesterov's look-ahead form
    weight_decay = 0       # lambda; 0.01 for adam with decoupled = true (AdamW's default)
    decoupled = false      # false: L2 term lambda/2 theta^2 in the loss (coupled); true: AdamW's decay

The defaults are PyTorch's (``torch.optim.SGD``, ``RMSprop``, ``Adam``, ``AdamW``); ``momentum`` is the
one exception: PyTorch's SGD default is 0 (plain SGD, our ``sgd``), so ``momentum`` defaults to 0.9.
No table keeps today's plain SGD and every output as it was (``Spec.optimizer`` is None).

A graph-kind spec (``[graph]``, ``[conv1d]``, ``[rnn]``) trains when it has any of the top-level fields
``learning_rate`` (default 0.1, a usual first choice for plain SGD on a small exercise), ``steps``
(default 1, at most GRAPH_MAX_STEPS) or an ``[optimizer]`` table (default sgd): `training_from_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sympy

from ..errors import SpecError
from ..hints import quoted, show
from .fields import Fields
from .numbers import decimal_text, parse_decimal_text

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
#: the fields each optimizer reads (every one also reads weight_decay and decoupled)
FIELDS = {"sgd": (), "momentum": ("momentum", "nesterov"), "rmsprop": ("alpha", "epsilon"),
          "adam": ("beta1", "beta2", "epsilon")}
R = sympy.Rational
DEFAULTS = {"beta1": R(9, 10), "beta2": R(999, 1000), "alpha": R(99, 100), "epsilon": R(1, 10**8),
            "momentum": R(9, 10)}
#: AdamW's documented default weight decay (Adam's, and every coupled decay's, is 0)
ADAMW_DECAY = R(1, 100)
#: epsilon may be as small as this (smaller than the 1e-6 other spec numbers allow: PyTorch's is 1e-8)
MIN_EPSILON_EXPONENT = -12
#: a graph-kind spec's learning rate when it trains without naming one
GRAPH_LEARNING_RATE = R(1, 10)
#: a graph-kind spec trains for at most this many steps (its handout shows the first few, export all)
GRAPH_MAX_STEPS = 100


@dataclass(frozen=True)
class OptimizerSettings:
    """One update rule and its exact hyperparameters (those it does not use keep their defaults)."""

    name: str = "sgd"
    beta1: sympy.Rational = DEFAULTS["beta1"]
    beta2: sympy.Rational = DEFAULTS["beta2"]
    alpha: sympy.Rational = DEFAULTS["alpha"]
    epsilon: sympy.Rational = DEFAULTS["epsilon"]
    momentum: sympy.Rational = DEFAULTS["momentum"]
    nesterov: bool = False
    weight_decay: sympy.Rational = sympy.S.Zero
    decoupled: bool = False

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """The hyperparameters this rule uses, in the order a page lists them (weight decay last)."""
        names = tuple(f for f in FIELDS[self.name] if f != "nesterov")
        return names + (("weight_decay",) if self.weight_decay else ())

    def table(self) -> dict[str, Any]:
        """The ``[optimizer]`` table that reads back as these settings: the rule's own fields, and the decay."""
        fields: dict[str, Any] = {"name": self.name}
        fields.update({f: getattr(self, f) for f in FIELDS[self.name]})
        if self.weight_decay:
            fields.update(weight_decay=self.weight_decay, decoupled=self.decoupled)
        return fields

    @property
    def decay(self) -> str:
        """"" (none), "coupled" (an L2 term in the loss) or "decoupled" (AdamW's)."""
        if not self.weight_decay:
            return ""
        return "decoupled" if self.decoupled else "coupled"


def optimizer_from_table(table: Any, source: str) -> OptimizerSettings | None:
    """The validated ``[optimizer]`` table; None when the spec has none."""
    if table is None:
        return None
    fields = Fields(source, SpecError, "optimizer.")
    if not isinstance(table, dict):
        raise SpecError(f"{source}: optimizer: must be a table")
    name = fields.text(table.get("name", "sgd"), "name", OPTIMIZERS)
    allowed = ("name", "weight_decay", "decoupled", *FIELDS[name])
    for key in table:
        if key not in allowed and key in {f for used in FIELDS.values() for f in used}:
            raise fields.fail(key, f"{name} does not use it (expected one of: {', '.join(allowed)})")
    fields.known(table, allowed)
    values: dict[str, Any] = {"name": name}
    for key in ("beta1", "beta2", "alpha", "momentum"):
        if key in table:
            values[key] = _number(fields, table[key], key, -6, "[0, 1)", lambda v: 0 <= v < 1)
    if "epsilon" in table:
        values["epsilon"] = _number(fields, table["epsilon"], "epsilon", MIN_EPSILON_EXPONENT, "(0, 1]",
                                    lambda v: 0 < v <= 1)
    for key in ("nesterov", "decoupled"):
        if key in table:
            values[key] = fields.flag(table[key], key)
    if "weight_decay" in table:
        values["weight_decay"] = _number(fields, table["weight_decay"], "weight_decay", -6, "[0, 1]",
                                         lambda v: 0 <= v <= 1)
    elif name == "adam" and values.get("decoupled"):
        values["weight_decay"] = ADAMW_DECAY
    if values.get("nesterov") and values.get("momentum", DEFAULTS["momentum"]) == 0:
        raise fields.fail("nesterov", "needs a momentum above 0")
    return OptimizerSettings(**values)


@dataclass(frozen=True)
class Training:
    """A graph-kind spec's training: k steps of the rule at learning rate eta."""

    learning_rate: sympy.Rational
    steps: int
    optimizer: OptimizerSettings


def training_from_data(data: dict[str, Any], source: str) -> Training | None:
    """Takes ``learning_rate``, ``steps`` and ``[optimizer]`` out of a graph-kind document (its builder
    need not know them), validated as a network spec's; None when it has none of them (no training)."""
    if not {"learning_rate", "steps", "optimizer"} & set(data):
        return None
    fields = Fields(source, SpecError)
    rate = fields.number(data.pop("learning_rate", "0.1"), "learning_rate")
    if rate <= 0:
        raise fields.fail("learning_rate", "must be positive")
    steps = fields.integer(data.pop("steps", 1), "steps", 1, GRAPH_MAX_STEPS)
    settings = optimizer_from_table(data.pop("optimizer", {}), source)
    assert settings is not None
    return Training(rate, steps, settings)


def _number(fields: Fields, value: Any, field: str, min_exponent: int, interval: str,
            inside: Callable[[sympy.Rational], bool]) -> sympy.Rational:
    """A TOML number (int or decimal text) as an exact rational in ``interval``, nonzero ones at least
    10^min_exponent (epsilon's 1e-8 is smaller than other spec numbers may be)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fields.fail(field, f"{show(value)} is not a number")
    text = str(value)
    try:
        exact = parse_decimal_text(text)
        size = Decimal(text.strip())
    except (ValueError, InvalidOperation):
        raise fields.fail(field, f"{quoted(text, 40)} is not a number") from None
    if size and size.adjusted() < min_exponent:
        raise fields.fail(field, f"{quoted(text.strip(), 40)} is too small "
                          f"(a nonzero value must be at least 1e{min_exponent})")
    if not inside(exact):
        raise fields.fail(field, f"must lie in {interval}, got {decimal_text(exact)}")
    return exact
