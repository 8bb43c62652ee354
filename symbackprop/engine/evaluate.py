"""Exact evaluation of every quantity, the end-to-end gradient check, and the k update steps.

Each definition is compiled once into a small closure over a slot array and run
in topological order (the order quantities were added) by `run_steps`, the one
loop every run of the network uses.  The engine's slots hold exact rationals
(``flint.fmpq``) for as long as the arithmetic keeps them rational (sums, products,
quotients, powers, relu/leaky_relu, and sigmoid(0), tanh(0), exp(0), log(1)), and
balls (``flint.arb``: a midpoint and a rigorous radius) from the first
transcendental step on.  A run whose balls are too wide
(or not finite, e.g. ``1 - sigmoid(400)`` at too few bits) is repeated at twice
the precision; a value out of reach at any precision is refused with its name.
The same compiler also runs over ``Decimal`` slots, which the renderers, the
marker and the exam generator use for their own quick arithmetic.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, getcontext
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any

import sympy
from flint import arb, fmpq
from sympy import Expr, Symbol

from ..errors import DerivationMismatch, SymbackpropError
from . import activations as act
from .autodiff import DualCompiler, gradient
from .derive import Derivation, Proof
from .naming import LEARNING_RATE, STEP
from .network import Network, Quantity
from .numbers import WORK_DIGITS, Certified, ball_bits, dyadic_decimal, rational, to_decimal, work_context
from .update import carried, optimizer_leaves

Slots = list[Any]
Program = Callable[[Slots], Any]

#: bits of the first run's balls; a rerun doubles them, at most MAX_PRECISION_LEVEL times
BASE_BITS = 320
MAX_PRECISION_LEVEL = 5
#: a ball must know its value to this many bits (relative) or the run is repeated finer
TARGET_BITS = 200
#: an exact rational with a longer numerator + denominator becomes a ball (many SGD steps)
MAX_EXACT_BITS = 20_000
#: at most this many values of an [optimizer] run's later steps are kept (steps x trail slots)
TRAIL_VALUES = 200_000
#: the agreement the end-to-end check requires (significant digits)
REQUIRED_DIGITS = 40

FORWARD_KINDS = ("pre", "act", "loss")


class EvaluationError(SymbackpropError):
    """A quantity has no finite value within reach (an overflow, a log of 0, a division by 0)."""


@dataclass(frozen=True)
class Evaluation:
    """Every quantity's value, by ASCII name (`Certified` Decimals), and every gradient's proof, complete."""

    network: Network
    values: dict[str, Decimal]
    #: loss after each update step: [E, E', E'', ...] (len = steps + 1)
    loss_history: list[Decimal] = field(default_factory=list)
    #: the derivation's proofs, the pending ``local+ad`` ones completed by their end-to-end check
    proofs: Mapping[str, Proof] = field(default_factory=dict)
    #: an [optimizer] run's steps 1, 2, ...: each gradient, state and updated parameter's value by its
    #: name (the first step's are ``values``; later steps as far as the engine kept them)
    steps: list[dict[str, Decimal]] = field(default_factory=list)

    def __getitem__(self, name: str) -> Decimal:
        return self.values[name]

    @cached_property
    def exact(self) -> dict[str, bool]:
        """Whether each value is known as an exact rational (export's ``exact``)."""
        return {name: isinstance(value, Certified) and value.exact is not None for name, value in self.values.items()}


# -- the two number domains -------------------------------------------------------

@dataclass(frozen=True)
class Domain:
    """How one kind of number does what a definition asks: constants, functions, comparisons."""

    zero: Any
    one: Any
    constant: Callable[[sympy.Rational], Any]
    unary: dict[type, Callable[[Any], Any]]
    positive: Callable[[Any], bool]
    sqrt: Callable[[Any], Any]
    power: Callable[[Any, Any], Any]


def _d_sigmoid(x: Decimal) -> Decimal:
    if x.is_zero():
        return Decimal("0.5")
    return 1 / (1 + (-x).exp())


def _d_tanh(x: Decimal) -> Decimal:
    if x.is_zero():
        return Decimal(0)
    e2 = (2 * x).exp()
    return (e2 - 1) / (e2 + 1)


DECIMAL = Domain(
    zero=Decimal(0), one=Decimal(1), constant=lambda r: to_decimal(r),
    unary={act.sigma: _d_sigmoid, sympy.tanh: _d_tanh, act.softplus: lambda x: (1 + x.exp()).ln(),
           sympy.exp: lambda x: x.exp(), act.expo: lambda x: x.exp(), sympy.log: lambda x: x.ln()},
    positive=lambda x: x > 0, sqrt=lambda x: x.sqrt(), power=lambda b, e: (e * b.ln()).exp())


class Undecided(ArithmeticError):
    """A ball straddles a relu's kink: the run must be repeated at a higher precision."""


def _ball(x: Any) -> arb:
    return x if isinstance(x, arb) else arb(x)


def _b_positive(x: Any) -> bool:
    if isinstance(x, fmpq):
        return x > 0
    if x > 0:
        return True
    if x <= 0 or x.is_zero():
        return False
    raise Undecided


def _b_exact(fn: Callable[[arb], arb], exact: dict[int, fmpq]) -> Callable[[Any], Any]:
    """``fn`` on a ball; on an exact argument with a known rational value, that value."""
    def apply(x: Any) -> Any:
        if isinstance(x, fmpq) and x.q == 1 and int(x.p) in exact:
            return exact[int(x.p)]
        return fn(_ball(x))
    return apply


def _b_sqrt(x: Any) -> Any:
    if isinstance(x, fmpq) and x >= 0:
        p, q = math.isqrt(int(x.p)), math.isqrt(int(x.q))
        if p * p == x.p and q * q == x.q:
            return fmpq(p, q)
    # the optimizers' roots are of sums of squares: a ball reaching below 0 around one is its part >= 0
    return _ball(x).nonnegative_part().sqrt()


ZERO, ONE, HALF = fmpq(0), fmpq(1), fmpq(1, 2)
BALL = Domain(
    zero=ZERO, one=ONE, constant=lambda r: fmpq(int(r.p), int(r.q)),
    unary={act.sigma: _b_exact(lambda b: 1 / (1 + (-b).exp()), {0: HALF}),
           sympy.tanh: _b_exact(lambda b: b.tanh(), {0: ZERO}),
           act.softplus: _b_exact(lambda b: b.exp().log1p(), {}),
           sympy.exp: _b_exact(lambda b: b.exp(), {0: ONE}),
           act.expo: _b_exact(lambda b: b.exp(), {0: ONE}),
           sympy.log: _b_exact(lambda b: b.log(), {1: ZERO})},
    positive=_b_positive, sqrt=_b_sqrt, power=lambda b, e: (_ball(e) * _ball(b).log()).exp())


# -- compiling SymPy expressions into closures ----------------------------------

class Compiler:
    """Turns SymPy expressions over named symbols into closures over slots of one domain."""

    def __init__(self, slot_of: dict[Symbol, int], domain: Domain = DECIMAL):
        self.slot_of = slot_of
        self.domain = domain

    def __call__(self, expr: Expr) -> Program:
        d = self.domain
        if isinstance(expr, Symbol):
            i = self.slot_of[expr]
            return lambda v: v[i]
        if expr.is_Rational:
            constant = d.constant(sympy.Rational(expr))
            return lambda v: constant
        if isinstance(expr, sympy.Add):
            return self._add(expr)
        if isinstance(expr, sympy.Mul):
            parts = [self(a) for a in expr.args]
            if len(parts) == 2:
                p, q = parts
                return lambda v: p(v) * q(v)
            return lambda v: math.prod([part(v) for part in parts], start=d.one)  # a list: faster than a generator
        if isinstance(expr, sympy.Pow):
            base = self(expr.base)
            n = expr.exp
            if n.is_Integer:
                k = int(n)
                if k == 2:
                    return lambda v: _square(base(v))
                return (lambda v: base(v) ** k) if k > 0 else (lambda v: 1 / base(v) ** (-k))
            if n == sympy.Rational(1, 2):
                return lambda v: d.sqrt(base(v))
            exponent = self(n)
            return lambda v: _power(d, base(v), exponent(v))
        if type(expr) in d.unary:
            fn, arg = d.unary[type(expr)], self(expr.args[0])
            return lambda v: fn(arg(v))
        if isinstance(expr, act.relu | act.step):
            arg, positive = self(expr.args[0]), d.positive
            if isinstance(expr, act.relu):
                return lambda v: x if positive(x := arg(v)) else d.zero
            return lambda v: d.one if positive(arg(v)) else d.zero
        if isinstance(expr, act.leaky_relu | act.leaky_step):
            arg, slope, positive = self(expr.args[0]), d.constant(sympy.Rational(expr.args[1])), d.positive
            if isinstance(expr, act.leaky_relu):
                return lambda v: x if positive(x := arg(v)) else slope * x
            return lambda v: d.one if positive(arg(v)) else slope
        if isinstance(expr, sympy.Max):  # a graph's max gate (the MLP has none)
            parts, positive = [self(a) for a in expr.args], d.positive
            return lambda v: functools.reduce(lambda a, b: a if positive(a - b) else b, (p(v) for p in parts))
        raise TypeError(f"cannot evaluate {type(expr).__name__}: {expr}")

    def _add(self, expr: Expr) -> Program:
        # z = sum w*a + b is the hot path: gather products through C-level map()
        zero = self.domain.zero
        products = [a for a in expr.args if isinstance(a, sympy.Mul) and len(a.args) == 2
                    and all(isinstance(f, Symbol) for f in a.args)]
        gathered = {id(m) for m in products}  # by identity: SymPy's == on each pair is slow
        rest = [self(a) for a in expr.args if id(a) not in gathered]
        if len(products) >= 4:
            left = operator.itemgetter(*[self.slot_of[m.args[0]] for m in products])
            right = operator.itemgetter(*[self.slot_of[m.args[1]] for m in products])

            def dot(v: Slots) -> Any:
                offset = sum((r(v) for r in rest), start=zero)
                return sum(map(operator.mul, left(v), right(v)), start=offset)

            return dot
        parts = rest + [self(m) for m in products]
        return lambda v: sum([part(v) for part in parts], start=zero)  # the exam drawing runs this millions of times


def _square(x: Any) -> Any:
    """``x**2``; a ball around 0 squared by a product (flint's ``**`` gives nan there: a gradient of 0
    in a ball, squared by RMSprop or Adam)."""
    return x * x if isinstance(x, arb) else x ** 2


def _power(d: Domain, b: Any, e: Any) -> Any:
    """``b ** e``: exact for a whole ``e`` (an optimizer's beta^t), else through exp and log."""
    whole = int(e.p) if isinstance(e, fmpq) and e.q == 1 else (
        int(e) if isinstance(e, Decimal) and e == e.to_integral_value() else None)
    if whole is None:
        return d.power(b, e)
    return b ** whole if whole >= 0 else 1 / b ** -whole


@dataclass(frozen=True)
class Step:
    slot: int
    name: str
    program: Program
    depends: frozenset[int]


def run_steps(steps: Iterable[Step], slots: Slots, finish: Callable[[Any, Step], Any] | None = None,
              failed: Callable[[Step, ArithmeticError], Any] | None = None,
              stop: Callable[[Step, Any], bool] | None = None) -> Step | None:
    """Run compiled steps in order over ``slots``, each value (``finish``ed: rounded, settled) stored in
    its step's slot: the one loop every run of the network uses (the engine, the marker, the exam).

    ``failed`` gives the value of a step whose arithmetic fails (without it the error propagates); the
    run ends after the first step at which ``stop`` holds, which is returned (None: every step ran)."""
    for step in steps:
        try:
            value = step.program(slots)
            if finish is not None:
                value = finish(value, step)
        except ArithmeticError as error:
            if failed is None:
                raise
            value = failed(step, error)
        slots[step.slot] = value
        if stop is not None and stop(step, value):
            return step
    return None


def compile_network(network: Network, kinds: Sequence[str] | None = None,
                    domain: Domain = DECIMAL) -> tuple[dict[str, int], list[Step]]:
    return compile_quantities(list(network.quantities.values()), kinds, domain)


def compile_quantities(quantities: Sequence[Quantity], kinds: Sequence[str] | None = None,
                       domain: Domain = DECIMAL) -> tuple[dict[str, int], list[Step]]:
    """Slots (by name) and steps of quantities in topological order: a network's, or a graph's as the
    marker sees them."""
    slot_of = {q.symbol: i for i, q in enumerate(quantities)}
    compiler = Compiler(slot_of, domain)
    steps = []
    for q in quantities:
        if q.definition is None or (kinds is not None and q.kind not in kinds):
            continue
        depends = frozenset(slot_of[s] for s in q.definition.free_symbols)
        steps.append(Step(slot_of[q.symbol], q.name, compiler(q.definition), depends))
    return {q.name: i for i, q in enumerate(quantities)}, steps


def leaf_values(network: Network) -> dict[str, sympy.Rational]:
    """The spec's exact values of every leaf quantity, by name."""
    spec = network.spec
    values: dict[str, sympy.Rational] = {LEARNING_RATE.ascii: spec.learning_rate}
    values.update(spec.parameters)
    for e, example in enumerate(spec.examples, start=1):
        for k, x in enumerate(example.inputs, start=1):
            values[network.unit_name("act", 0, k, e)] = x
        for j, t in enumerate(example.targets, start=1):
            values[network.namer.for_example(network.namer.target(j), e, network.n_examples).ascii] = t
    values.update(optimizer_leaves(network))
    return values


# -- the engine's runs -------------------------------------------------------------

#: values beyond 2^±WINDOW_BITS (about 1e±9000) are not handed on as Decimals
WINDOW_BITS = 30_000
TINY = Decimal("1e-9000")
_WORK = work_context()
_NEGLIGIBLE = arb(2) ** -(TARGET_BITS + 64)


class _Retry(Exception):
    """This precision is not enough for ``name`` (a non-finite ball, an undecided kink)."""

    def __init__(self, name: str, why: str):
        super().__init__(name, why)
        self.name, self.why = name, why


def _failed(step: Step, error: ArithmeticError) -> Any:
    """A step whose arithmetic failed: a division by 0 is refused; an undecided relu asks for a finer run."""
    if isinstance(error, ZeroDivisionError):
        raise EvaluationError(f"{step.name}: division by zero") from None
    if isinstance(error, Undecided):
        raise _Retry(step.name, "a relu argument too close to 0 to decide its sign") from None
    raise error


def _settle(x: Any, name: str) -> Any:
    """A step's result as the slot keeps it: an exact rational while it stays small, else a finite ball."""
    if isinstance(x, fmpq):
        return arb(x) if x.height_bits() > MAX_EXACT_BITS else x
    if not isinstance(x, arb):
        return fmpq(x)
    if not x.is_finite():
        raise _Retry(name, "its value overflows or is undefined (a log of 0, a division by 0)")
    return x


def _magnitude_bits(x: arb) -> int:
    """About log2 |midpoint| (0 for 0)."""
    m, e = x.mid().man_exp()
    return int(e) + int(m).bit_length() if m else 0


def ball_bounds(x: arb, bits: int | None = None) -> tuple[Decimal, Decimal]:
    """Exact Decimal bounds of a ball, rounded outward to about ``bits`` bits (a ball around a value
    below about 1e-9000: that value's sign and TINY).

    The ends are rounded at the precision the *radius* asks for, not at the midpoint's own bit
    count: a ball around an exact 2 (a midpoint of 1 bit, radius 2^-313) has ends 2 -+ 2^-313,
    which rounded to 1 + 64 bits would widen it to 2 -+ 2^-65 at every level of refinement."""
    if x.is_zero():
        return Decimal(0), Decimal(0)
    if _magnitude_bits(x) < -WINDOW_BITS:
        return (Decimal(0), TINY) if x > 0 else (-TINY, Decimal(0)) if x < 0 else (-TINY, TINY)
    bounds = []
    needed = x.bits()  # an exact ball: its midpoint's bits
    if not x.mid().is_zero() and not x.rad().is_zero():  # else: the bits that resolve its radius
        needed = max(needed, _magnitude_bits(x) - _magnitude_bits(arb(x.rad())) + 2)
    with ball_bits(min(needed, bits or needed) + 64):  # lower() rounds down, upper() up
        ends = x.lower(), x.upper()
    for end in ends:
        m, e = end.man_exp()
        bounds.append(dyadic_decimal(int(m), int(e)))
    return bounds[0], bounds[1]


def _approx(x: arb) -> Decimal:
    """A ball's midpoint as a WORK_DIGITS Decimal."""
    if _magnitude_bits(x) < -WINDOW_BITS:
        return Decimal(0)
    m, e = x.mid().man_exp()
    mantissa, exponent = int(m), int(e)
    if exponent >= 0:
        return _WORK.plus(Decimal(mantissa << exponent))
    return _WORK.divide(Decimal(mantissa), Decimal(1 << -exponent))  # correctly rounded


def _precise(x: Any) -> bool:
    """Known to TARGET_BITS relative bits, or to within 2^-(TARGET_BITS + 64) of its value (a value
    that vanishes by cancellation is refined only if a rounding asks for it, see `Engine.enclosure`)."""
    return (isinstance(x, fmpq) or x.is_zero() or x.rel_accuracy_bits() >= TARGET_BITS
            or x.rad() < _NEGLIGIBLE)


class Engine:
    """Runs the compiled network (and its k update steps) at a precision level, one cached run per level.

    Level L computes with ``BASE_BITS << L`` bits.  `start` finds the first level whose
    balls are all finite and precise to TARGET_BITS; later levels tighten a single value
    on demand (a display near a rounding tie).
    """

    def __init__(self, network: Network):
        self.network = network
        self.index, self.steps = _ball_steps(network)
        self.leaves = [(self.index[name], fmpq(int(v.p), int(v.q))) for name, v in leaf_values(network).items()]
        self.runs: dict[int, tuple[Slots, list[Any]]] = {}
        #: per level, an [optimizer] run's steps 2, 3, ...: the value of every `trail_slots` slot
        self.trails: dict[int, list[list[Any]]] = {}
        self.trail_slots = [self.index[q.name] for q in network.of_kind("grad", "optimizer", "updated")] \
            if network.spec.optimizer is not None else []
        self.level = 0

    def run(self, level: int) -> tuple[Slots, list[Any]]:
        if level not in self.runs:
            with ball_bits(BASE_BITS << level):
                slots: Slots = [ZERO] * len(self.index)
                for i, value in self.leaves:
                    slots[i] = value
                self._run(self.steps, slots)
                if self.network.spec.optimizer is None:
                    self.runs[level] = slots, self._history(slots)
                else:
                    history, self.trails[level] = self._optimizer_history(slots)
                    self.runs[level] = slots, history
        return self.runs[level]

    @staticmethod
    def _run(steps: list[Step], slots: Slots) -> None:
        run_steps(steps, slots, finish=lambda x, step: _settle(x, step.name), failed=_failed)

    def start(self) -> tuple[Slots, list[Any]]:
        """The first run that is finite everywhere and precise enough (or the finest finite one)."""
        for level in range(MAX_PRECISION_LEVEL + 1):
            try:
                slots, history = self.run(level)
            except _Retry as retry:
                if level == MAX_PRECISION_LEVEL:
                    raise EvaluationError(
                        f"{retry.name}: cannot be evaluated: {retry.why} even with "
                        f"{BASE_BITS << level}-bit arithmetic; the spec's values are too large for it") from None
                continue
            self.level = level
            if level == MAX_PRECISION_LEVEL or all(_precise(x) for x in slots) and all(_precise(x) for x in history):
                for name, i in self.index.items():
                    if isinstance(slots[i], arb) and _magnitude_bits(slots[i]) > WINDOW_BITS:
                        raise EvaluationError(f"{name}: its value is beyond 1e9000 in size; "
                                              "the spec's values are too large for it")
                return slots, history
        raise AssertionError("unreachable")

    def enclosure(self, key: int | tuple[str, int] | tuple[str, int, int]) -> Callable[[int], tuple[Decimal, Decimal]]:
        """Bounds of one slot (or ("history", k)) at ever finer runs."""
        cache: dict[int, tuple[Decimal, Decimal]] = {}

        def enclose(level: int) -> tuple[Decimal, Decimal]:
            if level not in cache:
                cache[level] = bounds(level)
            return cache[level]

        def bounds(level: int) -> tuple[Decimal, Decimal]:
            x = self._value(self.level, key)
            if level and _magnitude_bits(x) >= -WINDOW_BITS:
                try:
                    x = self._value(min(self.level + level, MAX_PRECISION_LEVEL + 2), key)
                except (_Retry, EvaluationError):
                    pass
            return ball_bounds(x, BASE_BITS << (self.level + level))
        return enclose

    def _value(self, level: int, key: int | tuple[str, int] | tuple[str, int, int]) -> Any:
        slots, history = self.run(level)
        if isinstance(key, tuple) and len(key) == 3:
            return self.trails[level][key[1]][key[2]]
        return history[key[1]] if isinstance(key, tuple) else slots[key]

    def _optimizer_history(self, values: Slots) -> tuple[list[Any], list[list[Any]]]:
        """[E, E after step 1, ..., E after step k] under an [optimizer] table's rule, and the trail of
        steps 2, 3, ... (at most TRAIL_VALUES values in all): each step reruns forward and backward at
        the current parameters, then the rule's own definitions, its states carried from the step before."""
        network, index = self.network, self.index
        history = [values[index[network.loss_name]], values[index[network.updated(network.loss_name)]]]
        trail: list[list[Any]] = []
        if network.spec.steps <= 1:
            return history, trail
        kinds = {"rule": ("optimizer", "updated"), "pass": ("pre", "act", "loss", "d_act", "d_pre", "grad")}
        rule = [s for s in self.steps if network[s.name].kind in kinds["rule"]]
        passes = [s for s in self.steps if network[s.name].kind in kinds["pass"]]
        forward = [s for s in passes if network[s.name].kind in FORWARD_KINDS]
        moves = [(index[p.name], index[network.updated(p.name)]) for p in network.parameters]
        moves += [(index[before], index[after]) for before, after in carried(network)]
        counter = index.get(STEP.ascii)
        keep = max(1, TRAIL_VALUES // max(1, len(self.trail_slots)))
        slots = list(values)
        for k in range(2, network.spec.steps + 1):
            for target, source in moves:  # the parameters and states the step before left
                slots[target] = slots[source]
            if counter is not None:
                slots[counter] = fmpq(k)
            self._run(passes, slots)
            self._run(rule, slots)
            for target, source in moves[:len(network.parameters)]:
                slots[target] = slots[source]
            self._run(forward, slots)  # the loss at the new parameters
            history.append(slots[index[network.loss_name]])
            if k - 1 <= keep:
                trail.append([slots[i] for i in self.trail_slots])
        return history, trail

    def _history(self, values: Slots) -> list[Any]:
        """[E, E after step 1, ..., E after step k]: repeated full-batch SGD steps (no [optimizer] table)."""
        network = self.network
        index = self.index
        history = [values[index[network.loss_name]], values[index[network.updated(network.loss_name)]]]
        if network.spec.steps <= 1:
            return history
        # later steps rerun the forward + backward program on updated parameters
        steps = [s for s in self.steps if network[s.name].kind in ("pre", "act", "loss", "d_act", "d_pre", "grad")]
        forward = [s for s in steps if network[s.name].kind in FORWARD_KINDS]
        slots = list(values)
        for p in network.parameters:  # start from the parameters after the first step
            slots[index[p.name]] = values[index[network.updated(p.name)]]
        eta = values[index[LEARNING_RATE.ascii]]
        updated = [(p.name, index[p.name], index[network.grad(p.name)]) for p in network.parameters
                   if not p.frozen]
        for _ in range(network.spec.steps - 1):
            self._run(steps, slots)  # forward and backward at the current parameters
            for name, slot, grad in updated:  # all gradients first, then every update at once
                slots[slot] = _settle(slots[slot] - eta * slots[grad], name)
            self._run(forward, slots)  # the loss at the new parameters
            history.append(slots[index[network.loss_name]])
        return history


#: the compiled steps of the networks run lately, by their quantities (least recently used first); the key
#: is the quantities' identities, and the entry holds the quantities, so no other object can take their ids
_COMPILED: OrderedDict[tuple[int, ...], tuple[tuple[Quantity, ...], tuple[dict[str, int], list[Step]]]] = OrderedDict()
_COMPILED_KEPT = 32


def _ball_steps(network: Network) -> tuple[dict[str, int], list[Step]]:
    """``compile_network(network, BALL)``, compiled once for every network on the same quantities: an exam's
    variants, and every derivation of one structure (each has its own dict of the same quantities; the steps
    read only the definitions, the values come from the slots).  A caller that replaced or added a quantity
    has other quantities, and its own steps."""
    quantities = tuple(network.quantities.values())
    key = tuple(map(id, quantities))
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = (quantities, compile_network(network, domain=BALL))
        if len(_COMPILED) > _COMPILED_KEPT:
            _COMPILED.popitem(last=False)
    else:
        _COMPILED.move_to_end(key)
    return found[1]


def _certified(x: Any, enclose: Callable[[int], tuple[Decimal, Decimal]]) -> Decimal:
    if isinstance(x, fmpq):
        return rational(Fraction(int(x.p), int(x.q)))
    return Certified.of(_approx(x), enclose=enclose, ball=x)


def evaluate(derivation: Derivation) -> Evaluation:
    """Every quantity's value, the k-step loss history, and the proofs with the local+ad ones completed."""
    network = derivation.network
    engine = Engine(network)
    slots, history = engine.start()
    values = {name: _certified(slots[i], engine.enclosure(i)) for name, i in engine.index.items()}
    loss_history = [_certified(x, engine.enclosure(("history", k))) for k, x in enumerate(history)]
    name_of = {i: name for name, i in engine.index.items()}
    names = [name_of[i] for i in engine.trail_slots]
    steps = [{name: values[name] for name in names}] if engine.trail_slots else []
    for k, row in enumerate(engine.trails.get(engine.level, [])):
        steps.append({name: _certified(x, engine.enclosure(("trail", k, j)))
                      for j, (name, x) in enumerate(zip(names, row, strict=True))})
    proofs = derivation.proofs
    if any(p.method == "local+ad" for p in proofs.values()):
        proofs = check_by_differentiation(derivation, engine)
    return Evaluation(network, values, loss_history, MappingProxyType(dict(proofs)), steps)


def certified_value(program: Program, inputs: Slots) -> Decimal:
    """A BALL-domain program's value on exact inputs, as a `Certified` Decimal: a rational while the
    arithmetic keeps it one, else a ball recomputed finer when a rounding asks for it.

    Raises EvaluationError when the value is not finite (a log of 0, a division by 0)."""
    def at(level: int) -> Any:
        try:
            with ball_bits(BASE_BITS << level):
                x = program(inputs)
        except (ZeroDivisionError, Undecided):
            raise EvaluationError("the value is undefined or undecided") from None
        if isinstance(x, arb) and not x.is_finite():
            raise EvaluationError("the value is not finite")
        return x if isinstance(x, fmpq | arb) else fmpq(x)

    first = at(0)
    if isinstance(first, fmpq):
        return rational(Fraction(int(first.p), int(first.q)))

    def enclose(level: int) -> tuple[Decimal, Decimal]:
        return ball_bounds(first if level == 0 else at(min(level, MAX_PRECISION_LEVEL)), BASE_BITS << level)
    return Certified.of(_approx(first), enclose=enclose, ball=first)


def exact_input(value: Decimal | Fraction | str) -> fmpq:
    """An exact BALL-domain input: a Certified value's exact fraction, a Decimal as it stands, or number text."""
    if isinstance(value, Certified) and value.exact is not None:
        fraction = value.exact
    else:
        fraction = Fraction(value)
    return fmpq(fraction.numerator, fraction.denominator)


# -- the end-to-end check ------------------------------------------------------

def _digits(error: Any, scale: Any) -> int:
    """Significant digits to which two values agree: -log10(upper bound of |error| / scale), at most 60."""
    ratio = (abs(_ball(error)) / _ball(scale)).upper()
    if ratio.is_zero():
        return 60
    # ratio < 2^bits, so -log10(ratio) > -bits * log10(2) > -bits * 0.30102
    return min(60, max(0, -_magnitude_bits(ratio) * 30102 // 100_000))


def check_by_differentiation(derivation: Derivation, engine: Engine) -> dict[str, Proof]:
    """Every chain-rule gradient against reverse-mode differentiation of the forward definitions.

    Both are computed in ball arithmetic from the same exact spec values, so the stated
    agreement is a rigorous lower bound (no step size, no truncation error); `autodiff`
    shares no code with the delta formulas.
    """
    network = derivation.network
    index = engine.index
    base, _ = engine.run(engine.level)
    compiler = DualCompiler({q.symbol: index[q.name] for q in network.quantities.values()}, BALL)
    forward = [(s.slot, compiler(network[s.name].definition)) for s in engine.steps
               if network[s.name].kind in FORWARD_KINDS]
    proofs = dict(derivation.proofs)
    # relu/leaky_relu units sitting exactly on their kink (z = 0): the loss is not differentiable
    # there; both sides use the convention relu'(0) = 0, which is stated instead of a proof
    kinks = {index[q.name] for q in network.of_kind("act")
             if q.layer and network.layers[q.layer - 1].activation_name in ("relu", "leaky_relu")
             and base[index[network.unit_name("pre", q.layer, q.unit or 0, q.example or 1)]] == 0}
    bits = BASE_BITS << engine.level
    with ball_bits(bits):
        try:
            adjoint = gradient(forward, base, index[network.loss_name])
        except Undecided:
            raise EvaluationError("a relu argument is too close to 0 to decide its sign") from None
        upstream = set(kinks)  # every quantity whose value flows through a kink
        for s in reversed(engine.steps):
            if s.slot in upstream:
                upstream |= s.depends
        for p in network.parameters:
            slot = index[p.name]
            if slot in upstream:
                proofs[p.name] = replace(
                    proofs[p.name], proven=True, digits=None,
                    detail="local rules proven symbolically; a relu unit on its path sits at z = 0, where "
                           "the loss is not differentiable (convention relu'(0) = 0), so no end-to-end check")
                continue
            name = network.grad(p.name)
            chain, ad = base[index[name]], adjoint.get(slot, ZERO)
            digits = _digits(ad - chain, max(abs(_ball(chain)).upper(), arb("1e-10")))
            if digits < REQUIRED_DIGITS:
                raise DerivationMismatch(
                    f"{name}: chain rule {_approx(_ball(chain)):.12e} and reverse-mode differentiation "
                    f"{_approx(_ball(ad)):.12e} agree to only {digits} digits")
            if isinstance(chain, fmpq) and isinstance(ad, fmpq):  # identity/relu networks: both exact
                how = "in exact rational arithmetic gives the same value exactly"
            else:
                how = f"in {bits}-bit ball arithmetic agrees to {digits} significant digits (a rigorous bound)"
            proofs[p.name] = replace(
                proofs[p.name], proven=True, digits=digits,
                detail=f"local rules proven symbolically; reverse-mode differentiation of the forward "
                       f"definitions {how}")
    return proofs


#: values each function of a remembering domain keeps (then it starts afresh): a few MB
REMEMBERED = 100_000


def _remembered(fn: Callable[[Decimal], Decimal]) -> Callable[[Decimal], Decimal]:
    """``fn`` with its values remembered by argument and precision: a Decimal function's value is its
    argument's value correctly rounded at the context's precision (``exp`` takes 30 us at 34 digits,
    ``ln`` 60), and an exam's drawer meets the same arguments again and again: drawn values lie on grids,
    and values rounded as you go repeat."""
    memo: dict[tuple[Decimal, int], Decimal] = {}

    def remembered(x: Decimal) -> Decimal:
        key = (x, getcontext().prec)
        value = memo.get(key)
        if value is None:
            if len(memo) >= REMEMBERED:
                memo.clear()
            value = memo[key] = fn(x)
        return value

    return remembered


def remembering_domain(base: Domain = DECIMAL) -> Domain:
    """``base``'s arithmetic (exact Decimals) whose exp, log and activations remember their values."""
    return replace(base, unary={kind: _remembered(fn) for kind, fn in base.unary.items()})


__all__ = ["BALL", "Compiler", "Engine", "Evaluation", "EvaluationError", "WORK_DIGITS", "certified_value",
           "check_by_differentiation", "compile_quantities", "evaluate", "exact_input", "leaf_values",
           "run_steps"]
