"""The ``[exam]`` table of a spec (what varies, what is asked), validated with the rest of the spec at load.

The table says what varies (every value is drawn on an integer grid, so it is an exact rational:
no float anywhere)::

    [exam]
    weights = "[-1, 1] step 0.05"    # each weight: lo + k*step, k uniform
    biases  = "[-1, 1] step 0.05"
    inputs  = "[0, 1] step 0.05"
    targets = "fixed"                # keep the spec's values
    ask = ["forward", "loss", "deltas", "gradients", "update"]
    allow_saturation = false         # reject a unit with f'(z) < saturation_threshold (relu: half a layer)
    saturation_threshold = 0.02
    allow_loss_increase = false      # reject a variant whose update does not lower the loss
    allow_unchanged_loss = false     # reject one whose loss, lowered, displays as before
    allow_zero_gradients = false     # reject one where every asked gradient of a layer displays 0
    early_rounding = true            # reject one whose values differ when worked the lecture's way
    tie_margin = 0.02                # in units of the last displayed decimal, or of the 3rd when
                                     # fewer are displayed (default: 0.02, less for many asked values)
    allow_trivial = false            # draw no 0 input or parameter, no weight or input of 1 or -1
    difficulty_band = 0.15           # every variant's work within 15% of the typical (false: any)
    max_draws = 2000                 # per variant, before giving up
    layout = "roomy"                 # the question sheet: room to work under each task group, or "compact"

    [exam.marking]                   # how ``symbackprop mark`` scores each asked value (0..1 of a point)
    correct = 1
    too_few_decimals = 0.5
    early_rounding = 0.5
    carried_forward = 1              # follow-through: full credit (0.5 for half)
    wrong = 0
    missing = 0
    out_of = 100                     # optional: scale the total to this (default: one point per value)

    [exam.vary]                      # per-name overrides of the group ranges
    w5 = "[0.1, 0.9] step 0.1"
    x2 = "fixed"


``allow_loss_increase``, ``allow_unchanged_loss``, ``allow_zero_gradients`` and ``early_rounding``
not written are *auto*:
strict, unless a probe of the network shows the rule would reject almost every draw; then the
set relaxes it and its summary says so (see :mod:`.exam.drawing`).

It sits beside :mod:`.spec`, which calls it, below the ``exam`` room that reads it; the fairness
rules these settings tune are in :mod:`.exam.drawing`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy

from ..errors import ExamError
from ..hints import chosen, did_you_mean, expected, quoted, show
from .fields import Fields
from .numbers import parse_decimal_text

__all__ = ["ASK_GROUPS", "LAYOUTS", "MAX_VARIANTS", "ExamSettings", "Grid", "MarkingPolicy", "check_layout",
           "graph_exam_settings", "parse_ask", "parse_grid", "policy_from_table", "settings_from_table"]

#: --ask groups -> the kinds of quantity they ask for, in the lecture's order
ASK_GROUPS: dict[str, tuple[str, ...]] = {
    "forward": ("pre", "act"),
    "loss": ("loss", "post_loss"),
    "deltas": ("d_pre",),
    "gradients": ("grad",),
    "update": ("updated",),
}
#: group defaults of the variation ranges
DEFAULT_RANGES = {"weights": "[-1, 1] step 0.05", "biases": "[-1, 1] step 0.05",
                  "inputs": "[0, 1] step 0.05", "targets": "fixed"}
MAX_VARIANTS = 10_000
#: how a question sheet is laid out: working space under each task group, or the boxes alone
LAYOUTS = ("roomy", "compact")
#: every variant's work within this fraction of the set's typical work (see exam.drawing.work)
DEFAULT_BAND = sympy.Rational(3, 20)

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GRID = re.compile(rf"\s*\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]\s*step\s+({_NUMBER})\s*")


@dataclass(frozen=True)
class Grid:
    """``[low, high] step s``: the values low + k*s, k = 0..count-1 (exact rationals)."""

    low: sympy.Rational
    high: sympy.Rational
    step: sympy.Rational

    @property
    def count(self) -> int:
        return int((self.high - self.low) / self.step) + 1

    def value(self, k: int) -> sympy.Rational:
        return sympy.Rational(self.low + k * self.step)


def parse_grid(text: Any, field: str) -> Grid | None:
    """``"[-1, 1] step 0.05"`` -> Grid; ``"fixed"`` -> None."""
    if not isinstance(text, str):
        raise ExamError(f"{field}: must be a string like \"[-1, 1] step 0.05\" or \"fixed\", got {show(text)}")
    if text.strip() == "fixed":
        return None
    match = _GRID.fullmatch(text)
    if not match:
        raise ExamError(f"{field}: {quoted(text, 40)} is not a range (write \"[-1, 1] step 0.05\" or \"fixed\")")
    low, high, step = (parse_decimal_text(g) for g in match.groups())
    if step <= 0:
        raise ExamError(f"{field}: the step must be positive, got {match.group(3)}")
    if low > high:
        raise ExamError(f"{field}: the range is empty ({match.group(1)} > {match.group(2)})")
    if ((high - low) / step).q != 1:
        raise ExamError(f"{field}: the step {match.group(3)} does not divide [{match.group(1)}, {match.group(2)}]")
    if (high - low) / step > 10**9:
        raise ExamError(f"{field}: more than a billion grid values; use a coarser step")
    return Grid(low, high, step)


#: the credit of each verdict of ``symbackprop mark`` (a fraction of the value's point), and of no answer
DEFAULT_CREDITS: dict[str, Fraction] = {
    "correct": Fraction(1), "too_few_decimals": Fraction(1, 2), "early_rounding": Fraction(1, 2),
    "carried_forward": Fraction(1), "wrong": Fraction(0), "invalid": Fraction(0), "missing": Fraction(0)}
_POLICY_FIELDS = (*DEFAULT_CREDITS, "out_of")
MAX_OUT_OF = 1_000_000


@dataclass(frozen=True)
class MarkingPolicy:
    """Points per verdict: each asked value earns its verdict's credit; ``out_of`` scales the total."""

    credits: dict[str, Fraction] = field(default_factory=lambda: dict(DEFAULT_CREDITS))
    out_of: Fraction | None = None  # None: one point per asked value


def policy_from_table(table: Any, where: str) -> MarkingPolicy:
    """Validate a marking table (``[exam.marking]`` of a spec, or a policy file); ``where`` prefixes
    each field (``spec.toml: exam.marking.``); a problem is one line naming the field."""
    if not isinstance(table, dict):
        raise ExamError(f"{where.rstrip('.: ')}: must be a table of verdict = credit lines")
    credits = dict(DEFAULT_CREDITS)
    out_of = None
    for key, value in table.items():
        if key not in _POLICY_FIELDS:
            raise ExamError(f"{where}{key}: unknown field (expected one of: {', '.join(_POLICY_FIELDS)})")
        high = MAX_OUT_OF if key == "out_of" else 1
        try:
            number = None if isinstance(value, bool) else Fraction(str(parse_decimal_text(str(value))))
        except ValueError:
            number = None
        if number is None or not 0 <= number <= high or (key == "out_of" and number == 0):
            what = f"a number above 0 and at most {high}" if key == "out_of" else "a credit from 0 to 1"
            raise ExamError(f"{where}{key}: must be {what}, got {show(value)}")
        if key == "out_of":
            out_of = number
        else:
            credits[key] = number
    return MarkingPolicy(credits, out_of)


@dataclass(frozen=True)
class ExamSettings:
    """The validated ``[exam]`` table (the defaults when a spec has none)."""

    #: group ranges (weights, biases, inputs, targets) and per-name overrides; None = fixed
    groups: dict[str, Grid | None] = field(default_factory=lambda: {
        group: parse_grid(text, group) for group, text in DEFAULT_RANGES.items()})
    overrides: dict[str, Grid | None] = field(default_factory=dict)
    ask: tuple[str, ...] = tuple(ASK_GROUPS)
    allow_saturation: bool = False
    saturation_threshold: sympy.Rational = sympy.Rational(1, 50)
    allow_loss_increase: bool | None = None  # None (and the next two): auto, see exam.drawing
    allow_unchanged_loss: bool | None = None
    allow_zero_gradients: bool | None = None
    tie_margin: sympy.Rational | None = None  # None: 0.02, less for many asked values (exam.drawing)
    early_rounding: bool | None = None
    max_draws: int = 2000
    marking: MarkingPolicy = field(default_factory=MarkingPolicy)
    allow_trivial: bool = False
    difficulty_band: sympy.Rational | None = DEFAULT_BAND  # None: any work
    layout: str = LAYOUTS[0]  # the question sheet's layout (the templates decide what each means)
    #: parameters whose gradient and update the sheets leave out: never read from [exam], set by the drawer when
    #: the sheet's decimals show a layer's gradients as 0 in nearly every draw (see exam.drawing)
    unasked: tuple[str, ...] = ()


_SETTING_FIELDS = ("weights", "biases", "inputs", "targets", "ask", "allow_saturation", "saturation_threshold",
                   "allow_loss_increase", "allow_unchanged_loss", "tie_margin", "early_rounding", "max_draws", "vary",
                   "allow_trivial", "difficulty_band", "allow_zero_gradients", "marking", "layout")
#: a computation graph's groups: its inputs and its parameters; left out, each is drawn on a grid scaled to
#: the spec's own values (see exam.graphrules); a graph has no loss to lower
GRAPH_GROUPS = ("inputs", "parameters")
_GRAPH_FIELDS = (*GRAPH_GROUPS, *(f for f in _SETTING_FIELDS[4:] if f not in ("allow_loss_increase",
                                                                             "allow_unchanged_loss")))


def graph_exam_settings() -> ExamSettings:
    """A computation graph's settings when its spec has no ``[exam]`` table: every group on its scaled grid."""
    return ExamSettings(groups={})


def check_vary_names(settings: ExamSettings, leaves: Sequence[str], source: str = "") -> None:
    """Refuse an ``[exam.vary]`` name that is none of the spec's leaves (its inputs, targets, parameters and
    learning rate): the table is read before the network that names them is built, so this is checked by
    solving, for every command, as every other field of the spec is."""
    for name in settings.overrides:
        if name not in leaves:
            raise ExamError(f"{source + ': ' if source else ''}exam.vary.{name}: no such input, target or parameter"
                            f"{did_you_mean(name, list(leaves))}")


def settings_from_table(table: dict[str, Any], source: str = "<spec>", graph: bool = False) -> ExamSettings:
    """Parse and validate an ``[exam]`` table (a network's, or with ``graph`` a computation graph's, whose
    groups are :data:`GRAPH_GROUPS`, present only when written); a problem is one line naming ``exam.<field>``."""
    fields = Fields(source, ExamError, "exam.")
    if not isinstance(table, dict):
        raise ExamError(f"{source}: exam: must be a table")
    fields.known(table, _GRAPH_FIELDS if graph else _SETTING_FIELDS)
    groups = {}
    ranges = {group: table[group] for group in GRAPH_GROUPS if group in table} if graph else \
        {group: table.get(group, default) for group, default in DEFAULT_RANGES.items()}
    for group, text in ranges.items():
        try:
            groups[group] = parse_grid(text, group)
        except ExamError as err:
            raise ExamError(f"{source}: exam.{err}") from None
    vary = table.get("vary", {})
    if not isinstance(vary, dict):
        raise fields.fail("vary", "must be a table of name = \"[lo, hi] step s\" (or \"fixed\")")
    overrides = {}
    for name, text in vary.items():
        try:
            overrides[name] = parse_grid(text, f"vary.{name}")
        except ExamError as err:
            raise ExamError(f"{source}: exam.{err}") from None

    def flag(key: str, default: bool | None) -> Any:
        value = table.get(key, default)
        return None if value is None else fields.flag(value, key)

    def rational(key: str, default: sympy.Rational, low: int, high: int) -> sympy.Rational:
        return default if key not in table else fields.number_in(table[key], key, low, high)

    ask = fields.strings(table.get("ask", list(ASK_GROUPS)), "ask", "[\"forward\", \"gradients\"]")
    try:
        asked = parse_ask(ask)
    except ExamError as err:  # the spec's field, not the argument: "s.toml: exam.ask: unknown group ..."
        raise ExamError(f"{source}: exam.{err}") from None
    max_draws = fields.integer(table.get("max_draws", 2000), "max_draws", 1, 1_000_000)
    margin = rational("tie_margin", sympy.Rational(1, 50), 0, 1) if "tie_margin" in table else None
    if margin is not None and margin >= sympy.Rational(1, 2):
        raise fields.fail("tie_margin", f"must be below 0.5 (half a unit would reject every value), got {margin}")
    band: sympy.Rational | None = None
    if table.get("difficulty_band", True) is not False:
        band = rational("difficulty_band", DEFAULT_BAND, 0, 100)
    return ExamSettings(
        groups=groups, overrides=overrides, ask=asked,
        allow_saturation=flag("allow_saturation", False),
        saturation_threshold=rational("saturation_threshold", sympy.Rational(1, 50), 0, 1),
        allow_loss_increase=flag("allow_loss_increase", None),
        allow_unchanged_loss=flag("allow_unchanged_loss", None),
        allow_zero_gradients=flag("allow_zero_gradients", None),
        tie_margin=margin, early_rounding=flag("early_rounding", None), max_draws=max_draws,
        allow_trivial=flag("allow_trivial", False), difficulty_band=band,
        marking=policy_from_table(table.get("marking", {}), f"{source}: exam.marking."),
        layout=fields.text(table.get("layout", LAYOUTS[0]), "layout", LAYOUTS),
    )


def check_layout(layout: str) -> str:
    """A layout named on the command line (``--layout``): one of :data:`LAYOUTS`, or one line naming it."""
    if layout not in LAYOUTS:
        raise ExamError(f"layout: unknown layout {quoted(layout, 30)}{expected(layout, LAYOUTS)}", setting="layout")
    return layout


def parse_ask(items: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"forward,gradients"`` -> the groups in the lecture's order; None = all."""
    if items is None:
        return tuple(ASK_GROUPS)
    names, problem = chosen(items, "ask", tuple(ASK_GROUPS), "group", f"of {','.join(ASK_GROUPS)}")
    if problem:
        raise ExamError(problem, setting="ask")
    return tuple(names)

