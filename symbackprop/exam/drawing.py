"""Draw fair, distinct variants of comparable work: leaf values on their grids, judged by the rules below.

Values that make a step trivial are never drawn (unless ``allow_trivial``): 0 for an input or
a parameter, 1 or -1 for a weight or an input (a multiplier of 1).  A drawn variant is then
*rejected* (and drawn again) when marking it would be unfair or the exercise trivial:

* **tie**: an asked value that is not an exact short decimal (it went through an exp, a log or a
  division) lies within ``tie_margin`` units of the last displayed decimal of a rounding tie, so a
  student whose arithmetic differs a little could round the other way.  A value every careful
  student computes exactly (``z = 0.3775``: sums and products of the drawn decimals, relu) has one
  answer whatever its digits, and half-up decides an exact tie.  By default the margin is 0.02 and
  shrinks with the number of such values (``AUTO_TIE_BUDGET``), so a large network is not rejected
  for the sheer count of its values;
* **early rounding**: the lecture's way of working (every intermediate rounded to the displayed
  decimals, then carried on) displays an asked value differently from the exact value, so a
  careful student would be marked wrong (the sheet promises rounding as you go is fine);
* **zero gradients**: every asked gradient of one layer displays as zero, unless allowed (a computation
  graph: any asked gradient, unless a max or relu gate routes it away: see :mod:`.graphrules`);
* **saturation**: a smooth unit's slope f'(z) is below the threshold; a relu or leaky relu layer
  may have dead units (that is how relu works) but not more than half of its (unit, example)
  pairs: **dead units**.  ``allow_saturation`` accepts both;
* **loss increase**: the loss after the update is not lower, unless allowed;
* **loss unchanged**: the loss after the update is lower but displays the same as before at the
  spec's decimals (0.0316 and 0.0315 both show 0.032), so the sheet cannot show the step worked;
  unless ``allow_unchanged_loss`` (or ``allow_loss_increase``, which accepts any loss after the step);
* **difficulty**: the variant's work (see :func:`.difficulty.work`) lies outside the set's band: within
  ``difficulty_band`` of the median work of a probe of fair draws of the same spec;
* **undefined**: the arithmetic fails, or a relu sits on its kink (z = 0);
* **max tie**: a max gate's inputs display the same (which one wins is then not the student's to see);
* **duplicate**: the same values as an earlier variant.

The tie margin counts units of the last displayed decimal, or of the third when fewer are
displayed (a student works with at least three decimals whatever the answers show).

Rules adapt to the network: ``early_rounding``, ``allow_unchanged_loss``,
``allow_loss_increase`` and ``allow_zero_gradients`` left out of ``[exam]`` are *auto*: a probe of ``PROBE_DRAWS`` draws
(from streams that depend only on the spec) judges the network, and while fewer than
``PROBE_PASS`` of them pass, the auto rule that rejected most is relaxed (a sheet then no longer
promises that rounding as you go is fine; an update with eta = 0.5 makes each updated parameter of
a large network a likely early-rounding tie).  The summary names what was relaxed.  The zero-gradients
rule is not relaxed for a network: the layer its decimals show as 0 most often is left out of what the set
asks instead (its deltas, gradients and updates; ``ExamSettings.unasked``), and the summary says so.  When no fair
variant turns up even so, the error names the strictest rule (the largest share of the draws it
judged rejected) and the ``[exam]`` setting that relaxes it.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException, localcontext
from typing import Any

import sympy

from ..engine.decimalexpr import places_of
from ..engine.evaluate import run_steps
from ..engine.examtable import ExamSettings, Grid, check_vary_names
from ..engine.graph import GraphSolution
from ..engine.graphspec import GraphSpec
from ..engine.network import Network
from ..engine.numbers import display, round_half_up, to_decimal
from ..engine.solution import Solution, solve
from ..engine.spec import Spec
from ..errors import ExamError
from ..hints import count as counted  # (count: a grid's size below)
from ..workers import ordered_map
from .difficulty import Band, work
from .exact import exact_slots
from .graphrules import GraphFamily
from .judging import judge_context, to_float
from .netrules import NetworkFamily
from .passes import QuickPasses, compile_passes, compile_quick_passes
from .variants import Student, Variant, asked_names

__all__ = ["Drawer", "SetReport", "draw_values", "draw_variants", "reasons_text"]

REASONS = ("tie", "early rounding", "zero gradients", "saturation", "dead units", "loss increase",
           "loss unchanged", "max tie", "difficulty", "duplicate", "undefined")
#: the order in which a draw meets the rules
CHECK_ORDER = ("duplicate", "tie", "undefined", "max tie", "saturation", "dead units", "loss increase",
               "zero gradients", "loss unchanged", "early rounding", "difficulty")
#: the setting that relaxes each rule, and where it is, for the error of an infeasible set
RELAXED_BY = {
    "tie": "a smaller tie_margin in [exam]",
    "early rounding": "early_rounding = false in [exam]",
    "zero gradients": "allow_zero_gradients = true in [exam], or more decimals (the spec's top-level decimals)",
    "saturation": "allow_saturation = true, or a smaller saturation_threshold in [exam]",
    "dead units": "allow_saturation = true, or a bias range further above 0 in [exam]",
    "loss increase": "allow_loss_increase = true in [exam]",
    "loss unchanged": "allow_unchanged_loss = true in [exam]",
    "difficulty": "a wider difficulty_band in [exam]",
    "duplicate": "wider ranges or a finer step in [exam]",
    "undefined": "narrower ranges in [exam]",
    "max tie": "wider ranges or a finer step for the max gates' inputs in [exam]",
}
#: the default tie margin: 0.02 units of the last decimal, shrunk so that the margins of all the
#: inexact asked values together cover at most this many units (about 22% of draws rejected)
AUTO_TIE_BUDGET = sympy.Rational(1, 8)
DEFAULT_TIE_MARGIN = sympy.Rational(1, 50)
#: the probe: draws judged (from streams that do not depend on the seed), how many must pass
#: before no auto rule is relaxed, and how many fair draws give the median work
PROBE_DRAWS = 200
PROBE_PASS = 2
MEDIAN_OF = 11
#: draws a drawer judges by its Decimals alone before it compiles its quick look
QUICK_AFTER = 64
#: what a worker finds on one variant's stream: (values or None, work, draws, rejections)
Found = tuple[dict[str, sympy.Rational] | None, int, int, Counter[str]]
#: the auto rules and the setting that relaxes each
AUTO_RULES = {"early rounding": ("early_rounding", False), "loss unchanged": ("allow_unchanged_loss", True),
              "loss increase": ("allow_loss_increase", True), "zero gradients": ("allow_zero_gradients", True)}
#: the calibrations made in this process (rules relaxed, band, a layer to leave out), by what they depend on: the
#: spec, the settings and the rules and band before; the practice server draws one variant of the same
#: spec per exercise, and calibrates it once (the probe judges 200 draws or more)
CALIBRATIONS: dict[str, tuple[ExamSettings, tuple[str, ...], Band | None, tuple[str, ...]]] = {}
CALIBRATIONS_KEPT = 64


class Drawer:
    """Draws leaf values on their grids and judges them with one compiled program (no re-derivation); what
    varies and what is unfair beyond the shared rules is the family's to say (a network, a graph)."""

    def __init__(self, base: Solution | GraphSolution, settings: ExamSettings):
        self.base = base
        self.settings = settings
        #: the settings in force: auto rules strict until the probe relaxes them
        self.rules = dataclasses.replace(settings, allow_loss_increase=bool(settings.allow_loss_increase),
                                         allow_unchanged_loss=bool(settings.allow_unchanged_loss),
                                         allow_zero_gradients=bool(settings.allow_zero_gradients),
                                         early_rounding=settings.early_rounding is not False)
        self.relaxed: list[str] = []
        family = self.family = GraphFamily(base, settings) if isinstance(base, GraphSolution) \
            else NetworkFamily(base, settings)
        self.decimals = family.decimals
        self.index, self.steps = family.index, family.steps
        self.leaves = family.leaves
        self.varying: list[tuple[str, Grid]] = []
        check_vary_names(settings, list(self.leaves), base.spec.source)  # settings given by the API too
        trivial: dict[str, frozenset[int]] = {}  # leaf -> grid indices never drawn
        for name in self.leaves:
            grid, trivial_values = family.leaf_grid(name, settings)
            if grid is not None:
                self.varying.append((name, grid))
                skip = _grid_indices(grid, trivial_values)
                if not settings.allow_trivial and len(skip) < grid.count:  # else the teacher's grid as it is
                    trivial[name] = skip
        self.asked = family.asked
        if not self.asked:
            raise ExamError(f"exam: nothing to ask ({family.nothing_asked})")
        self.asked_flat = [n for _, names in self.asked for n in names]
        self.asked_slots = [self.index[n] for n in self.asked_flat]
        self.asked_slot_set = frozenset(self.asked_slots)
        exact = exact_slots(self.index, self.leaves, self.steps, family.definition)
        #: asked values a student's arithmetic may carry a little off: these are checked for ties
        self.inexact_asked = frozenset(self.asked_slot_set - exact)
        if settings.early_rounding is None and not family.rounds_as_you_go(bool(self.inexact_asked)):
            self.rules = dataclasses.replace(self.rules, early_rounding=False)
        margin = settings.tie_margin
        if margin is None:
            margin = min(DEFAULT_TIE_MARGIN, AUTO_TIE_BUDGET / max(1, len(self.inexact_asked)))
        #: in units of the last displayed decimal
        self.tie_margin = sympy.Rational(margin) / 10 ** max(0, 3 - self.decimals)
        self._margin = to_decimal(self.tie_margin)
        #: what each asked value is computed from (see :func:`work`)
        self.operands = [(step.slot, sorted(step.depends)) for step in self.steps if step.slot in self.asked_slot_set]
        #: the judge's steps: (program, slot, whether checked for a tie, whether asked)
        self._plan = [(step.program, step.slot, step.slot in self.inexact_asked, step.slot in self.asked_slot_set)
                      for step in self.steps]
        #: the same two passes compiled flat (None: Python could not compile them; the plan's loop then)
        self._passes = compile_passes(family.flat, self.steps, family.definition, self.inexact_asked,
                                      self.asked_slot_set, self.decimals, self._margin)
        #: the quick look (a network's: see :mod:`.judging`), compiled before a calibration's probe, or once
        #: this drawer has judged ``QUICK_AFTER`` draws (compiling costs more than a few dozen draws save)
        self._quick: QuickPasses | None = None
        self._until_quick = QUICK_AFTER if isinstance(family, NetworkFamily) else -1
        self._float_cache: dict[tuple[int, int], float] = {}
        # drawing and judging thousands of times: grid values and their Decimals computed once; a grid's
        # (name, grid, count, bits of the count, values drawn so far by index, indices never drawn)
        self._grids: list[tuple[str, Grid, int, int, dict[int, sympy.Rational], frozenset[int]]] = [
            (name, grid, grid.count, grid.count.bit_length(), {}, trivial.get(name, frozenset()))
            for name, grid in self.varying]
        self._decimal_cache: dict[tuple[int, int], Decimal] = {}  # by (p, q): SymPy's own hash is slow
        self.band: Band | None = None
        #: parameters of a layer whose gradients the probe found shown as 0 where the zero-gradients rule would
        #: be relaxed: the set asks them no more (see :meth:`_leave_out_a_layer`)
        self.leave_out: tuple[str, ...] = ()
        #: a variant found no fair draw in this process (see :func:`_first_fair`)
        self.gave_up = False

    @property
    def network(self) -> Network:
        """The network drawn for (a network's family only)."""
        assert isinstance(self.family, NetworkFamily)
        return self.family.network

    @property
    def combinations(self) -> int:
        total = 1
        for _, _, count, _, _, skip in self._grids:
            total *= count - len(skip)
            if total > 10**12:
                break
        return total

    def draw(self, rng: random.Random) -> dict[str, sympy.Rational]:
        """Leaf values: each varying one uniform on its grid, a trivial value drawn again.

        An index is ``rng.randrange(count)`` as Python 3.11 computes it, written out (the count's bits
        drawn until they are below it): the same stream on a later Python, at half the cost."""
        values = dict(self.leaves)
        getrandbits = rng.getrandbits
        for name, grid, count, bits, cache, skip in self._grids:
            k = getrandbits(bits)
            while k >= count or k in skip:
                k = getrandbits(bits)
            value = cache.get(k)
            if value is None:
                value = cache[k] = grid.value(k)
            values[name] = value
        return values

    def _decimal(self, value: sympy.Rational) -> Decimal:
        key = (value.p, value.q)
        exact = self._decimal_cache.get(key)
        if exact is None:
            exact = self._decimal_cache[key] = to_decimal(value)
        return exact

    def judge(self, values: dict[str, sympy.Rational]) -> str | None:
        """The first reason to reject these leaf values, or None when they make a fair variant."""
        return self.assess(values, measure=False)[0]

    def assess(self, values: dict[str, sympy.Rational], measure: bool = True) -> tuple[str | None, int]:
        """(the first reason to reject these leaf values or None, their work when none; 0 when not
        ``measure`` and there is no band to check it against).

        Judged at ``JUDGE_DIGITS`` (enough: a value that close to a tie is rejected anyway), checking
        each inexact asked value for a tie as soon as it is computed, so most rejections cost a
        partial pass.  Once compiled, the quick look (floats, see :mod:`.judging`) goes first and
        gives the same reason, where it can tell it, four times faster.
        """
        if self._quick is not None:
            reason = self._quick_look(values)
            if reason is not None:
                return reason, 0
        elif self._until_quick > 0:
            self._until_quick -= 1
            if not self._until_quick:
                self._quick = self._compile_quick()
        d = self.decimals
        slots = [Decimal(0)] * len(self.index)
        half, margin = Decimal("0.5"), self._margin
        plan, passes = self._plan, self._passes
        with localcontext(judge_context()):
            for name, value in values.items():
                slots[self.index[name]] = +self._decimal(value)
            try:  # the steps run here, not through run_steps: a draw is judged thousands of times
                if passes is not None:
                    if passes[0](slots):
                        return "tie", 0
                else:
                    for program, slot, tie, _ in plan:
                        value = slots[slot] = program(slots)
                        if tie and abs(abs(value).scaleb(d) % 1 - half) < margin:
                            return "tie", 0
            except (DecimalException, ZeroDivisionError, ArithmeticError):
                return "undefined", 0
            reason = self.family.reject(slots, self.rules)
            if reason:
                return reason, 0
            if self.rules.early_rounding:
                rounded = list(slots)
                try:  # rounded as you go, to the first asked value that comes out otherwise
                    if passes is not None:
                        if passes[1](rounded, slots):
                            return "early rounding", 0
                    else:
                        for program, slot, _, asked in plan:
                            value = rounded[slot] = round_half_up(program(rounded), d)
                            if asked and value != round_half_up(slots[slot], d):
                                return "early rounding", 0
                except (DecimalException, ZeroDivisionError, ArithmeticError):
                    return "undefined", 0
            if not measure and self.band is None:
                return None, 0
            amount = work(slots, self.operands, d)
        if self.band is not None and not self.band.holds(amount):
            return "difficulty", amount
        return None, amount

    def _compile_quick(self) -> QuickPasses | None:
        assert isinstance(self.family, NetworkFamily)
        places = {self.index[name]: places_of(value) for name, value in self.leaves.items()}
        for name, grid, *_ in self._grids:
            low, step = places_of(grid.low), places_of(grid.step)
            places[self.index[name]] = None if low is None or step is None else max(low, step)
        return compile_quick_passes(self.family.quick_flat, self.steps, self.family.definition, self.inexact_asked,
                                    self.asked_slot_set, self.decimals, self._margin, places)

    def _quick_look(self, values: dict[str, sympy.Rational]) -> str | None:
        """The reason :meth:`assess` gives these values, where the quick look can tell it; None where it cannot,
        or where it finds none (the Decimal judge then decides, and works out the work)."""
        assert self._quick is not None and isinstance(self.family, NetworkFamily)
        exact_pass, rounded_pass = self._quick
        slots = [0.0] * len(self.index)
        cache, index = self._float_cache, self.index
        for name, value in values.items():
            key = (value.p, value.q)
            x = cache.get(key)
            if x is None:
                x = cache[key] = to_float(value)
            slots[index[name]] = x
        try:
            reason = exact_pass(slots) or self.family.quick_reject(slots, self.rules)
            if reason is None and self.rules.early_rounding:
                reason = rounded_pass(list(slots), slots)
        except (ArithmeticError, ValueError):  # Unsure, an overflow, a log of a negative: the Decimals decide
            return None
        return reason

    def rounded_as_you_go(self, values: dict[str, sympy.Rational]) -> dict[str, str]:
        """Each asked value as displayed when every computed value is rounded to the sheet's decimals as soon
        as it is computed (the lecture's way of working), by name; empty where a step is undefined so."""
        d = self.decimals
        slots = [Decimal(0)] * len(self.index)
        with localcontext(judge_context()):
            for name, value in values.items():
                slots[self.index[name]] = +self._decimal(value)
            try:
                run_steps(self.steps, slots, finish=lambda value, _: round_half_up(value, d))
            except ArithmeticError:  # DecimalException and ZeroDivisionError are ArithmeticErrors
                return {}
        return {name: display(slots[self.index[name]], d) for name in self.asked_flat}

    def spec_for(self, values: dict[str, sympy.Rational]) -> Spec | GraphSpec:
        """The base spec with these leaf values."""
        return self.family.spec_for(values)

    def first_fair(self, rng: random.Random, budget: int) -> Found:
        """(values or None, work, draws, rejections) of the first fair draw of ``rng`` in ``budget`` draws;
        whether it repeats an earlier variant is :meth:`fair`'s to say (a worker process cannot know)."""
        rejected: Counter[str] = Counter()
        for attempt in range(1, budget + 1):
            values = self.draw(rng)
            reason, amount = self.assess(values)
            if reason is None:
                return values, amount, attempt, rejected
            rejected[reason] += 1
        return None, 0, budget, rejected

    def fair(self, rng: random.Random, rejected: Counter[str], seen: set[tuple[sympy.Rational, ...]],
             where: str, found: Found | None = None) -> tuple[dict[str, sympy.Rational], int, int]:
        """(values, work, draws) of the first fair draw of ``rng`` not in ``seen``, counting rejections;
        ``found``: ``rng``'s :meth:`first_fair`, made in a worker process on a fresh ``rng`` of the same seed.

        Only a fair draw can repeat an earlier (fair) variant, so this is the draw-by-draw result:
        after a repeat the stream goes on from where the first fair draw left it."""
        budget = self.settings.max_draws
        replayed = found is None
        values, amount, attempts, counts = self.first_fair(rng, budget) if found is None else found
        rejected.update(counts)
        while values is not None:
            key = tuple(values[name] for name, _ in self.varying)
            if key not in seen:
                seen.add(key)
                return values, amount, attempts
            rejected["duplicate"] += 1
            if not replayed:  # bring this rng to where the worker's stopped
                for _ in range(attempts):
                    self.draw(rng)
                replayed = True
            values, amount, more, counts = self.first_fair(rng, budget - attempts)
            attempts += more
            rejected.update(counts)
        raise ExamError(f"exam: {where}: no fair variant in {budget} draws "
                        f"(rejected: {reasons_text(rejected)}); {relax_hint(rejected, len(seen))}")

    def _rule_to_relax(self, rejected: Counter[str]) -> str | None:
        """The auto rule (left out of [exam], not yet relaxed) that rejected most, or None."""
        counts = {rule: rejected[rule] for rule, (field, _) in AUTO_RULES.items()
                  if rejected[rule] and rule not in self.relaxed and getattr(self.settings, field) is None}
        return max(counts, key=lambda r: counts[r]) if counts else None

    def relax(self, rejected: Counter[str]) -> bool:
        """Relax the auto rule (left out of [exam], not yet relaxed) that rejected most; False when none did."""
        rule = self._rule_to_relax(rejected)
        if rule is None:
            return False
        field, value = AUTO_RULES[rule]
        changes: dict[str, Any] = {field: value}
        self.rules = dataclasses.replace(self.rules, **changes)
        self.relaxed.append(rule)
        return True

    def calibrate(self) -> None:
        """Relax the auto rules this network needs, then set the band of work around the median of
        ``MEDIAN_OF`` fair draws; all from streams that depend only on the spec, so every seed and
        every count of a spec gets the same rules and band, and a process calibrates a spec once
        (``CALIBRATIONS``)."""
        spec = self.base.spec
        unnamed = (dataclasses.replace(spec, source="") if isinstance(spec, GraphSpec) else
                   dataclasses.replace(spec, source="", templates=None))  # where it came from does not count
        key = repr((unnamed, self.settings, self.rules, self.relaxed, self.band))
        done = CALIBRATIONS.get(key)
        if done is None:
            self._calibrate()
            if len(CALIBRATIONS) >= CALIBRATIONS_KEPT:
                del CALIBRATIONS[next(iter(CALIBRATIONS))]
            done = CALIBRATIONS[key] = (self.rules, tuple(self.relaxed), self.band, self.leave_out)
        self.rules, self.relaxed, self.band, self.leave_out = done[0], list(done[1]), done[2], done[3]

    def _probe(self) -> list[dict[str, sympy.Rational]]:
        """The probe's draws, from streams that depend only on the spec."""
        return [self.draw(random.Random(f"symbackprop-exam/probe/{i}")) for i in range(PROBE_DRAWS)]

    def _leave_out_a_layer(self, draws: Sequence[dict[str, sympy.Rational]]) -> bool:
        """Where the zero-gradients rule would be relaxed (a network whose sheet's decimals show a layer's
        gradients as 0 in nearly every draw: a sigmoid network at 1 or 2 decimals), leave out instead the asked
        layer that ``draws`` show as all 0 most often: ``leave_out`` = its parameters, whose gradients and
        updates the set then asks no more.  False when no asked layer shows as all 0 in any draw."""
        if not isinstance(self.family, NetworkFamily) or self.settings.allow_zero_gradients is not None:
            return False
        zeros: Counter[int] = Counter()
        for values in draws:
            slots = [Decimal(0)] * len(self.index)
            try:
                with localcontext(judge_context()):
                    for name, value in values.items():
                        slots[self.index[name]] = +self._decimal(value)
                    run_steps(self.steps, slots)
                    zeros.update(self.family.zero_layers(slots))
            except (DecimalException, ZeroDivisionError, ArithmeticError):
                continue
        if not zeros:
            return False
        self.leave_out = self.family.grad_layer_parameters[max(zeros, key=lambda k: (zeros[k], -k))]
        return True

    def _judged_again(self, values: dict[str, sympy.Rational], reason: str | None) -> str | None:
        """The verdict on a probe draw once the last of ``self.relaxed`` is relaxed, its verdict before ``reason``.

        Relaxing only loosens an auto rule: a draw another check rejected (the checks before it passed and
        pass still) or none did keeps its verdict.  Early rounding is checked last, on its own flag: a draw
        it rejected passes now, unless a band is to be checked.  The network's rules before it (loss
        increase, zero gradients, loss unchanged) share flags: their draws are judged again."""
        if reason not in AUTO_RULES or (reason == "early rounding") != (self.relaxed[-1] == "early rounding"):
            return reason
        if reason == "early rounding" and self.band is None:
            return None
        return self.judge(values)

    def _calibrate(self) -> None:
        if self._until_quick > 0:  # the probe's 200 draws and their second judging are worth the compile
            self._until_quick = 0
            self._quick = self._compile_quick()
        probe = self._probe()
        verdicts = [self.judge(values) for values in probe]
        while True:
            passed = [values for values, reason in zip(probe, verdicts, strict=True) if reason is None]
            if len(passed) >= PROBE_PASS:
                break
            counts = Counter(reason for reason in verdicts if reason)
            if self._rule_to_relax(counts) == "zero gradients" and self._leave_out_a_layer(probe):
                return  # the set is drawn on a drawer that asks less (see draw_values)
            if not self.relax(counts):
                break
            verdicts = [self._judged_again(values, reason) for values, reason in zip(probe, verdicts, strict=True)]
        spread = self.settings.difficulty_band
        if spread is None:
            return
        amounts = [self.assess(values)[1] for values in passed[:MEDIAN_OF]]
        rejected: Counter[str] = Counter()
        more = 0
        while len(amounts) < MEDIAN_OF:
            more += 1
            amounts.append(self.fair(random.Random(f"symbackprop-exam/probe/more/{more}"), rejected, set(),
                                     "finding the typical work")[1])
        median = int(statistics.median(amounts))
        width = int(sympy.ceiling(median * spread))
        self.band = Band(median, median - width, median + width)


def _grid_indices(grid: Grid, values: tuple[int, ...]) -> frozenset[int]:
    """The indices k of these values on the grid (those it holds)."""
    return frozenset(int((v - grid.low) / grid.step) for v in values
                     if grid.low <= v <= grid.high and ((v - grid.low) / grid.step).q == 1)


@dataclass(frozen=True)
class SetReport:
    """What drawing a set cost and how even its work is."""

    rejected: Counter[str]
    band: Band | None
    works: tuple[int, ...]
    relaxed: tuple[str, ...]  # auto rules this network needed relaxed
    early_rounding: bool  # whether every value comes out the same when rounded as you go
    unasked: tuple[str, ...] = ()  # parameters whose gradients and updates the sheets' decimals show as 0
    decimals: int = 3

    def spread(self) -> str:
        """``work 40-52 (band 38-56)``: the least and most work of the set, and the allowed band;
        then the rules relaxed for this network, and what is not asked because it would show as 0."""
        text = f"work {min(self.works)}-{max(self.works)}" if self.works else ""
        text += f" (band {self.band.low}-{self.band.high})" if self.band else ""
        if self.relaxed:
            text += f"; relaxed for this network: {', '.join(self.relaxed)}"
        if self.unasked:
            text += (f"; not asked (shown as 0 at {counted(self.decimals, 'decimal')}): the deltas of their layers, "
                     f"the gradients and updates of {', '.join(self.unasked)}")
        return text


def _rng(seed: int, number: int) -> random.Random:
    # a str seed is hashed with SHA-512: the same stream on every platform and Python run
    return random.Random(f"symbackprop-exam/{seed}/{number}")


Drawn = list[tuple[dict[str, sympy.Rational], int]]


def _first_fair(drawer: Drawer, seed: int, number: int) -> Found:
    """One variant's first fair draw, or none tried once this process found no fair draw for an earlier
    variant (the set stops there, as the draw in order does: 2000 draws per later variant are not spent)."""
    if drawer.gave_up:
        return None, 0, 0, Counter()
    found = drawer.first_fair(_rng(seed, number), drawer.settings.max_draws)
    drawer.gave_up = found[0] is None
    return found


def draw_values(base: Solution | GraphSolution, settings: ExamSettings, count: int, seed: int,
                workers: int = 1, progress: Callable[[int, int], None] | None = None,
                meanwhile: Callable[[], None] | None = None) -> tuple[Drawer, Drawn, SetReport]:
    """The leaf values of ``count`` fair, distinct variants of comparable work (nothing solved yet):
    the drawer, [(values, draws it took)] and what was rejected and the work spread; drawn in
    ``workers`` processes, the same values as in one (``meanwhile()`` done here while they draw)."""
    drawer = Drawer(base, settings)
    if drawer.combinations < count:
        what = "nothing varies" if not drawer.varying else f"the ranges allow only {drawer.combinations}"
        raise ExamError(f"exam: {count} distinct variants asked for but {what}; widen the ranges in [exam]")
    drawer = _calibrated(base, drawer)
    while True:
        rejected: Counter[str] = Counter()
        seen: set[tuple[sympy.Rational, ...]] = set()
        drawn, works = [], []
        drawer.gave_up = False
        try:
            # each variant's first fair draw, in worker processes; then, in order, the repeats drawn again
            firsts = ordered_map(functools.partial(_first_fair, drawer, seed), range(1, count + 1), workers,
                                 progress, meanwhile=meanwhile)
            meanwhile = None  # once, should the set be drawn again
            for number, found in enumerate(firsts, start=1):
                values, amount, attempts = drawer.fair(_rng(seed, number), rejected, seen, f"variant {number}",
                                                       found)
                works.append(amount)
                drawn.append((values, attempts))
            break
        except ExamError:
            # the probe underestimated the rule: relax it (or leave out the layer it keeps at 0) for the whole
            # set and draw the set again
            if drawer._rule_to_relax(rejected) == "zero gradients" and drawer._leave_out_a_layer(drawer._probe()):
                drawer = _calibrated(base, Drawer(base, _asking_less(drawer)))
            elif drawer.relax(rejected):
                drawer.calibrate()
            else:
                raise
    return drawer, drawn, SetReport(rejected, drawer.band, tuple(works), tuple(drawer.relaxed),
                                    drawer.rules.early_rounding is True, drawer.settings.unasked, drawer.decimals)


def _asking_less(drawer: Drawer) -> ExamSettings:
    """The drawer's settings without the layer it leaves out (its parameters' gradients and updates); one line
    naming the way out when that leaves nothing to ask (a sheet of gradients at too few decimals)."""
    settings = dataclasses.replace(drawer.settings, unasked=(*drawer.settings.unasked, *drawer.leave_out))
    if not asked_names(drawer.network, settings.ask, settings.unasked):
        raise ExamError(f"exam: at {counted(drawer.decimals, 'decimal')} every asked layer shows its gradients as 0 in "
                        "nearly every draw, and nothing else is asked; ask more than the gradients ([exam] ask), use "
                        "more decimals, or set allow_zero_gradients = true in [exam]")
    return settings


def _calibrated(base: Solution | GraphSolution, drawer: Drawer) -> Drawer:
    """``drawer`` calibrated; while its probe leaves out a layer the sheet's decimals show as 0, a drawer that
    asks that layer no more, calibrated in turn."""
    drawer.calibrate()
    while drawer.leave_out:
        drawer = Drawer(base, _asking_less(drawer))
        drawer.calibrate()
    return drawer


def draw_variants(base: Solution | GraphSolution, settings: ExamSettings, count: int, seed: int,
                  students: Sequence[Student] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  workers: int = 1, meanwhile: Callable[[], None] | None = None) -> tuple[list[Variant], SetReport]:
    """``count`` fair, distinct variants of comparable work (each solved when first read, on one shared
    derivation); what was rejected and the work spread (``meanwhile()`` done here while workers draw)."""
    drawer, drawn, report = draw_values(base, settings, count, seed, workers, progress, meanwhile)
    # the keys show the proofs: proven once (a graph's base is always solved with them)
    shared = base if isinstance(base, GraphSolution) or base.derivation.proofs else solve(base.spec)
    width = max(3, len(str(count)))
    variants: list[Variant] = []
    for number, (values, attempts) in enumerate(drawn, start=1):
        student = students[number - 1] if students else None
        # where the rule is strict, every asked value comes out the same rounded as you go: nothing to add
        early = {} if drawer.rules.early_rounding else drawer.rounded_as_you_go(values)
        variants.append(Variant(number, f"{number:0{width}d}", seed, drawer.spec_for(values), student,
                                attempts, shared, drawer.settings.unasked, early))
    return variants, report


def reasons_text(rejected: Counter[str]) -> str:
    parts = [f"{rejected[r]} {r}" for r in REASONS if rejected[r]]
    return ", ".join(parts) if parts else "none"


def relax_hint(rejected: Counter[str], accepted: int = 0) -> str:
    """The strictest rule (the one that rejected the largest share of the draws that reached it: the
    rules are checked in ``CHECK_ORDER``) and the [exam] setting that relaxes it."""
    if not rejected:
        return "widen the ranges in [exam]"
    reached = sum(rejected.values()) + accepted
    share: dict[str, tuple[float, int, int]] = {}
    for rule in CHECK_ORDER:
        if rejected[rule]:
            share[rule] = (rejected[rule] / reached, rejected[rule], reached)
        reached -= rejected[rule]
    top = max(share, key=lambda r: share[r][:2])
    _, count, judged = share[top]
    return f"the strictest rule is {top} ({count} of the {judged} draws it judged): try {RELAXED_BY[top]}"
