"""Draw fair, distinct variants: leaf values on their grids, judged by the fairness rules below.

A drawn variant is *rejected* (and drawn again) when marking it would be
unfair or the exercise trivial:

* **tie**: an asked value lies within ``tie_margin`` units of the last
  displayed decimal of a rounding tie (at 3 decimals with the default 0.02:
  within 0.00002 of ``x.xxx5``; exact ties like the lecture's z = 0.3775 are
  the common case), so a student whose arithmetic differs a little could
  round the other way;
* **early rounding**: the lecture's way of working (every intermediate rounded
  to the displayed decimals, then carried on) displays an asked value
  differently from the exact value, so a careful student would be marked wrong;
* **zero gradients**: every asked gradient of one layer displays as zero;
* **saturation**: some unit's activation slope f'(z) is below the threshold
  (a dead ReLU has slope 0), unless allowed;
* **loss increase**: the loss after the update is not lower, unless allowed;
* **loss unchanged**: the loss after the update is lower but displays the
  same as before at the spec's decimals (0.0316 and 0.0315 both show 0.032),
  so the sheet cannot show the step worked; unless ``allow_unchanged_loss``
  (or ``allow_loss_increase``, which accepts any loss after the step);
* **duplicate**: the same values as an earlier variant.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Context, Decimal, DecimalException, localcontext

import sympy

from ..engine.evaluate import Compiler, Step, compile_network, leaf_values, run_steps
from ..engine.examtable import ExamSettings, Grid
from ..engine.naming import LEARNING_RATE
from ..engine.numbers import round_half_up, to_decimal
from ..engine.solution import Solution, solve
from ..engine.spec import Example, Spec
from ..errors import ExamError
from ..hints import did_you_mean
from .variants import Student, Variant, asked_names

__all__ = ["Drawer", "draw_variants", "reasons_text"]

GROUP_OF_KIND = {"weight": "weights", "bias": "biases", "input": "inputs", "target": "targets"}
REASONS = ("tie", "early rounding", "zero gradients", "saturation", "loss increase", "loss unchanged", "duplicate",
           "undefined")
#: significant digits of the fairness checks (the chosen variant is then solved at 80)
JUDGE_DIGITS = 34


class Drawer:
    """Draws leaf values on their grids and judges them with one compiled program (no re-derivation)."""

    def __init__(self, base: Solution, settings: ExamSettings):
        self.base = base
        self.settings = settings
        network = base.network
        self.network = network
        self.decimals = base.spec.decimals
        self.index, self.steps = compile_network(network)
        self.leaves = leaf_values(network)
        self.varying: list[tuple[str, Grid]] = []
        for name in settings.overrides:
            if name not in self.leaves:
                raise ExamError(f"exam.vary.{name}: no such input, target or parameter"
                                f"{did_you_mean(name, list(self.leaves))}")
        for name in self.leaves:
            kind = network[name].kind
            if name in settings.overrides:
                grid = settings.overrides[name]
            elif kind in GROUP_OF_KIND:
                grid = settings.groups[GROUP_OF_KIND[kind]]
            else:
                grid = None  # the learning rate: fixed unless named in [exam.vary]
            if grid is not None:
                self._check_grid(name, kind, grid)
                self.varying.append((name, grid))
        self.asked = asked_names(network, settings.ask)
        if not self.asked:
            raise ExamError("exam: nothing to ask (this network has no quantities of the asked groups)")
        self.asked_flat = [n for _, names in self.asked for n in names]
        self.asked_slots = [self.index[n] for n in self.asked_flat]
        self.asked_slot_set = frozenset(self.asked_slots)
        slot_of = {q.symbol: self.index[q.name] for q in network.quantities.values()}
        compiler = Compiler(slot_of)
        self.slopes: list[Callable[[list[Decimal]], Decimal]] = []
        for layer in network.layers:
            fn = layer.elementwise
            if fn is None:
                continue
            for e in range(1, network.n_examples + 1):
                for j in range(1, layer.size + 1):
                    a, z = network.activation_symbol(layer.index, j, e), network.pre_symbol(layer.index, j, e)
                    self.slopes.append(compiler(fn.local_slope(a, z)))
        self.grad_layers: list[list[int]] = []
        asked_grads = {n for group, names in self.asked if group == "gradients" for n in names}
        for layer in network.layers:
            slots = [self.index[network.grad(p.name)] for p in network.parameters
                     if p.layer == layer.index and network.grad(p.name) in asked_grads]
            if slots:
                self.grad_layers.append(slots)
        self.loss_slots = (self.index[network.loss_name], self.index[network.updated(network.loss_name)])
        # drawing and judging thousands of times: grid values and their Decimals computed once
        self._grids: list[tuple[str, Grid, int, dict[int, sympy.Rational]]] = [
            (name, grid, grid.count, {}) for name, grid in self.varying]
        self._decimal_cache: dict[sympy.Rational, Decimal] = {}

    def _check_grid(self, name: str, kind: str, grid: Grid) -> None:
        loss = self.network.spec.loss
        if kind == "target" and loss == "cross_entropy":
            raise ExamError(f"exam: {name}: cross_entropy targets form a distribution; keep targets fixed")
        if kind == "target" and loss == "bce" and (grid.low < 0 or grid.high > 1):
            raise ExamError(f"exam: {name}: bce targets lie in [0, 1]; the range reaches outside")
        if name == LEARNING_RATE.ascii and grid.low <= 0:
            raise ExamError("exam: eta: the learning rate must stay positive")

    @property
    def combinations(self) -> int:
        total = 1
        for _, grid in self.varying:
            total *= grid.count
            if total > 10**12:
                break
        return total

    def draw(self, rng: random.Random) -> dict[str, sympy.Rational]:
        values = dict(self.leaves)
        for name, grid, count, cache in self._grids:
            k = rng.randrange(count)
            value = cache.get(k)
            if value is None:
                value = cache[k] = grid.value(k)
            values[name] = value
        return values

    def _decimal(self, value: sympy.Rational) -> Decimal:
        exact = self._decimal_cache.get(value)
        if exact is None:
            exact = self._decimal_cache[value] = to_decimal(value)
        return exact

    def judge(self, values: dict[str, sympy.Rational]) -> str | None:
        """The first reason to reject these leaf values, or None when they make a fair variant.

        Judged at ``JUDGE_DIGITS`` (enough: a value that close to a tie is rejected anyway), checking
        each asked value for a tie as soon as it is computed, so most rejections cost a partial pass.
        """
        d = self.decimals
        slots = [Decimal(0)] * len(self.index)
        asked = self.asked_slot_set
        half = Decimal("0.5")
        margin = to_decimal(self.settings.tie_margin)
        with localcontext(Context(prec=JUDGE_DIGITS, Emax=999_999, Emin=-999_999)):
            for name, value in values.items():
                slots[self.index[name]] = +self._decimal(value)
            def tie(step: Step, value: Decimal) -> bool:
                return step.slot in asked and abs(abs(value).scaleb(d) % 1 - half) < margin

            try:
                if run_steps(self.steps, slots, stop=tie) is not None:
                    return "tie"
            except (DecimalException, ZeroDivisionError, ArithmeticError):
                return "undefined"
            if not self.settings.allow_saturation:
                threshold = to_decimal(self.settings.saturation_threshold)
                if any(abs(slope(slots)) < threshold for slope in self.slopes):
                    return "saturation"
            if not self.settings.allow_loss_increase:
                before, after = self.loss_slots
                if slots[after] >= slots[before]:
                    return "loss increase"
            for layer_slots in self.grad_layers:
                if all(round_half_up(slots[s], d).is_zero() for s in layer_slots):
                    return "zero gradients"
            if not (self.settings.allow_loss_increase or self.settings.allow_unchanged_loss):
                before, after = self.loss_slots
                if round_half_up(slots[after], d) == round_half_up(slots[before], d):
                    return "loss unchanged"  # lower, but the sheet cannot show it
            if self.settings.early_rounding:
                rounded = list(slots)
                try:
                    run_steps(self.steps, rounded, finish=lambda x, _: round_half_up(x, d))
                except (DecimalException, ZeroDivisionError, ArithmeticError):
                    return "undefined"
                for s in self.asked_slots:
                    if rounded[s] != round_half_up(slots[s], d):
                        return "early rounding"
        return None

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


def _rng(seed: int, number: int) -> random.Random:
    # a str seed is hashed with SHA-512: the same stream on every platform and Python run
    return random.Random(f"symbackprop-exam/{seed}/{number}")


def draw_variants(base: Solution, settings: ExamSettings, count: int, seed: int,
                  students: Sequence[Student] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[Variant], Counter[str]]:
    """``count`` fair, distinct variants; the rejected draws counted by reason."""
    drawer = Drawer(base, settings)
    if drawer.combinations < count:
        what = "nothing varies" if not drawer.varying else f"the ranges allow only {drawer.combinations}"
        raise ExamError(f"exam: {count} distinct variants asked for but {what}; widen the ranges in [exam]")
    width = max(3, len(str(count)))
    rejected: Counter[str] = Counter()
    seen: set[tuple[sympy.Rational, ...]] = set()
    variants = []
    for number in range(1, count + 1):
        rng = _rng(seed, number)
        attempt = 0
        while attempt < settings.max_draws:
            attempt += 1
            values = drawer.draw(rng)
            key = tuple(values[name] for name, _ in drawer.varying)
            reason = "duplicate" if key in seen else drawer.judge(values)
            if reason is None:
                break
            rejected[reason] += 1
        else:
            raise ExamError(
                f"exam: variant {number}: no fair variant in {settings.max_draws} draws (rejected: "
                f"{reasons_text(rejected)}); widen the ranges, ask fewer groups, or allow saturation/"
                "loss increase in [exam]")
        seen.add(key)
        solution = solve(drawer.spec_for(values))
        student = students[number - 1] if students else None
        variants.append(Variant(number, f"{number:0{width}d}", seed, solution, student, attempt))
        if progress:
            progress(number, count)
    return variants, rejected


def reasons_text(rejected: Counter[str]) -> str:
    parts = [f"{rejected[r]} {r}" for r in REASONS if rejected[r]]
    return ", ".join(parts) if parts else "none"
