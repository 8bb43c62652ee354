"""The backward pass: chain-rule quantities, the SGD update, and the proof that
the chain rule equals SymPy's differentiation, parameter by parameter.

Chain rule, as the lecture teaches it:

* output: ``dE/dyhat`` is SymPy's derivative of the loss definition; the output
  delta ``dE/dz_o = dE/dyhat * f'(z_o)`` (softmax: summed over its Jacobian),
  whose closed form is derived and simplified by SymPy (sigmoid + bce and
  softmax + cross-entropy come out as ``yhat - t``);
* hidden: ``dE/dh_j = sum_k dE/dz_k * w_kj`` and ``dE/dz_j = dE/dh_j * f'(z_j)``;
* parameters: ``dE/dw = delta * local input``, summed over examples (and over
  units for a shared bias).

The cross-check (one ``Proof`` per parameter):

* ``symbolic``: for small networks, the loss is composed from the definitions
  into one expression, differentiated by ``sympy.diff``, and the difference to
  the inlined chain-rule formula is shown to be 0;
* ``local+ad``: for larger ones, every local rule the chain uses is proven
  symbolically (``diff(z, w) == input``, ``diff(z, a) == w``,
  ``diff(f(z), z) == f'``, the output delta) and the end-to-end value agrees
  with reverse-mode differentiation of the forward definitions in ball
  arithmetic (see ``evaluate`` and ``autodiff``).

A derivation reads no leaf value (weights, inputs, targets, learning rate), so the specs of one
network `structure` share it: it is derived once per structure in a process (a CLI run that
solves twice, an exam's variants, a notebook re-solving with other numbers).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

import sympy
from sympy import Basic, Expr, KroneckerDelta, Symbol

from ..errors import DerivationMismatch
from .activations import expo
from .naming import LEARNING_RATE, Name, Namer
from .network import Network, add_post_update, build_network
from .rational import is_zero_rational
from .spec import Spec
from .symdiff import composed
from .update import add_optimizer_update
from .written import written_product, written_sum

#: Networks with at most this many parameters get a fully symbolic proof.
SYMBOLIC_PROOF_LIMIT = 40


@dataclass(frozen=True)
class Proof:
    """How one gradient was shown equal to its chain-rule formula."""

    parameter: str
    method: str  # "symbolic" or "local+ad"
    proven: bool
    detail: str
    #: significant digits of agreement with reverse-mode differentiation (local+ad only)
    digits: int | None = None


@dataclass(frozen=True)
class Derivation:
    """The graph with its backward pass, and each gradient's proof as far as derivation takes it."""

    network: Network
    #: final when symbolic; a ``local+ad`` proof is pending (``proven=False``): its end-to-end check
    #: needs the values, and `evaluate` returns the completed proofs (``Evaluation.proofs``)
    proofs: Mapping[str, Proof]

    @property
    def spec(self) -> Spec:
        return self.network.spec


def structure(spec: Spec) -> tuple[Hashable, ...]:
    """Everything of a spec that the network and its derivation depend on (not the leaf values)."""
    return (spec.n_inputs, spec.layers, spec.loss, len(spec.examples), tuple(spec.parameters), spec.frozen,
            spec.shared_bias, spec.reduction, spec.decimals, spec.steps, spec.notation, spec.optimizer)


#: the derivations of the structures met lately (least recently used first)
_DERIVED: OrderedDict[tuple[Hashable, ...], Derivation] = OrderedDict()
_DERIVED_KEPT = 32


def derive(spec: Spec, prove: bool = True) -> Derivation:
    """Build the graph and the backward pass; prove every gradient (symbolic part).

    Derived once per `structure`; each call gets its own registries (a caller may replace a quantity
    in its network without touching anyone else's)."""
    key = (structure(spec), prove)
    base = _DERIVED.get(key)
    if base is None:
        base = _DERIVED[key] = _derive(spec, prove)
        if len(_DERIVED) > _DERIVED_KEPT:
            _DERIVED.popitem(last=False)
    else:
        _DERIVED.move_to_end(key)
    network = base.network
    return Derivation(dataclasses.replace(network, spec=spec, layers=list(network.layers),
                                          parameters=list(network.parameters), quantities=dict(network.quantities),
                                          by_symbol=dict(network.by_symbol), derived=dict(network.derived)),
                      base.proofs)


@contextmanager
def derivations_set_aside() -> Iterator[None]:
    """Derive afresh inside (a test that patches an activation or a rule of the engine); afterwards what
    was derived inside is forgotten and the derivations of before are back."""
    before = _DERIVED.copy()
    _DERIVED.clear()
    try:
        yield
    finally:
        _DERIVED.clear()
        _DERIVED.update(before)


def _derive(spec: Spec, prove: bool) -> Derivation:
    network = build_network(spec)
    _add_backward(network)
    _add_update(network)
    add_post_update(network)
    proofs: dict[str, Proof] = {}
    if prove:
        proofs = (prove_symbolically(network) if len(network.parameters) <= SYMBOLIC_PROOF_LIMIT
                  else prove_local_rules(network))
    return Derivation(network, MappingProxyType(proofs))


# -- the chain rule -------------------------------------------------------------

def _add_backward(network: Network) -> None:
    namer = network.namer
    loss_def = network[network.loss_name].definition
    assert loss_def is not None
    last = network.layers[-1]
    for e in range(1, network.n_examples + 1):
        # output layer: dE/da from the loss, then the output delta
        outs = [network.activation_symbol(last.index, j, e) for j in range(1, last.size + 1)]
        pres = [network.pre_symbol(last.index, j, e) for j in range(1, last.size + 1)]
        targets = [network.target_symbol(j, e) for j in range(1, last.size + 1)]
        d_outs = []
        for j, a in enumerate(outs, start=1):
            d_outs.append(network.add(_grad_name(network, namer.act(last.index, j), e), "d_act",
                                      _slope(loss_def, a), layer=last.index, unit=j, example=e))
        f = last.elementwise
        for j in range(1, last.size + 1):
            if f is None:  # softmax: d a_k / d z_j = a_k (delta_kj - a_j)
                chain = sympy.Add(*[d_outs[k] * outs[k] * (KroneckerDelta(j, k + 1) - outs[j - 1])
                                    for k in range(last.size)])
            else:
                chain = written_product(d_outs[j - 1], f.local_slope(outs[j - 1], pres[j - 1]))
            closed, condition = _closed_form(network, chain, outs, targets, d_outs)
            network.add(_grad_name(network, namer.pre(last.index, j), e), "d_pre", chain, closed, condition,
                        layer=last.index, unit=j, example=e)
        # hidden layers, top down
        for layer in reversed(network.layers[:-1]):
            above = network.layers[layer.index]  # layers are 1-based: index l is layer l+1
            f = layer.elementwise
            assert f is not None
            for j in range(1, layer.size + 1):
                terms = [written_product(network.sym(network.grad(network.unit_name("pre", above.index, k, e))),
                                         network.sym(network.weight_name(above.index, k, j)))
                         for k in range(1, above.size + 1)]
                backprop = terms[0] if len(terms) == 1 else written_sum(*terms)
                d_act = network.add(_grad_name(network, namer.act(layer.index, j), e), "d_act",
                                    backprop, layer=layer.index, unit=j, example=e)
                a = network.activation_symbol(layer.index, j, e)
                z = network.pre_symbol(layer.index, j, e)
                network.add(_grad_name(network, namer.pre(layer.index, j), e), "d_pre",
                            written_product(d_act, f.local_slope(a, z)),
                            layer=layer.index, unit=j, example=e)
    # parameter gradients: delta x local input, summed over examples
    for p in network.parameters:
        terms = []
        for e in range(1, network.n_examples + 1):
            for j in p.to_units:
                delta = network.sym(network.grad(network.unit_name("pre", p.layer, j, e)))
                if p.kind == "weight":
                    assert p.from_unit is not None
                    local_input = network.activation_symbol(p.layer - 1, p.from_unit, e)
                    terms.append(written_product(delta, local_input))
                else:
                    terms.append(delta)
        total = terms[0] if len(terms) == 1 else written_sum(*terms)
        network.add(namer.grad(network[p.name].id), "grad", total, layer=p.layer)


def _slope(expr: Expr, x: Symbol) -> Expr:
    """``sympy.diff(expr, x)``, the same expression, without differentiating the loss's terms that
    do not contain ``x`` (one output unit of one example touches a single term of the sum).

    A sum is differentiated term by term and a product with one factor in ``x`` factor by factor,
    multiplied pairwise from the left as SymPy's product rule does, so that the evaluated result is
    the one ``sympy.diff`` builds (tests/test_symdiff.py compares them for every loss).
    """
    if x not in _symbols_in(expr):
        return sympy.S.Zero
    if isinstance(expr, sympy.Add):
        return sympy.Add(*[_slope(term, x) for term in expr.args if x in _symbols_in(term)])
    if isinstance(expr, sympy.Mul):
        inside = [i for i, factor in enumerate(expr.args) if x in _symbols_in(factor)]
        if len(inside) == 1:
            product: Expr = sympy.S.One
            for i, factor in enumerate(expr.args):
                product = product * (_slope(factor, x) if i == inside[0] else factor)
            return product
    return _renamed(_diff, expr, x)


@functools.lru_cache(maxsize=8192)  # the loss's terms are asked once for every output unit (SymPy walks them each time)
def _symbols_in(expr: Expr) -> frozenset[Basic]:
    return frozenset(expr.free_symbols)


# -- SymPy's work once per shape ----------------------------------------------------------------
# The loss terms and output deltas of every network and example have a handful of shapes that differ
# only in their symbols' names (``(yhat1 - t1)**2``, ``(o@2 - y@2)**2``).  SymPy treats a name only by
# its order among the others (canonical argument order), so the work is done once on symbols renamed
# ``_0000, _0001, ...`` in the same order and the result renamed back: the very expression the
# direct call builds (tests/test_symdiff.py compares them).

_Result = TypeVar("_Result")


def _renamed(work: Callable[..., _Result], *args: Any) -> _Result:
    """``work(*args)`` through the order-keeping renaming of the arguments' symbols (expressions, or
    tuples of them); directly where the renaming would change an expression (an unevaluated part
    that renaming rebuilds) or the symbols differ in their assumptions."""
    exprs = [e for a in args for e in (a if isinstance(a, tuple) else (a,)) if isinstance(e, Basic)]
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
    if len({tuple(sorted(s.assumptions0.items())) for s in symbols}) > 1 or not all(
            isinstance(s, Symbol) and type(s) is Symbol for s in symbols):
        return work(*args)
    to = {s: Symbol(f"_{i:04d}", **s.assumptions0) for i, s in enumerate(symbols)}
    back = {c: s for s, c in to.items()}

    def rename(a: Any, names: dict[Symbol, Symbol]) -> Any:
        if isinstance(a, tuple):
            return tuple(rename(e, names) for e in a)
        return a.xreplace(names) if isinstance(a, Basic) else a

    canonical = rename(args, to)
    if rename(canonical, back) != args:
        return work(*args)
    return rename(_remembered(work, canonical), back)


@functools.lru_cache(maxsize=2048)
def _remembered(work: Callable[..., _Result], args: tuple[Any, ...]) -> _Result:
    return work(*args)


def _diff(expr: Expr, x: Symbol) -> Expr:
    return sympy.diff(expr, x)


def _grad_name(network: Network, base: Name, e: int) -> Name:
    return network.namer.grad(network.example_name(base, e))


def _closed_form(network: Network, chain: Expr, outs: list[Symbol], targets: list[Symbol],
                 d_outs: list[Symbol]) -> tuple[Expr, Expr | None]:
    """The output delta written out in outputs and targets, simplified by SymPy, and the condition
    it holds under (None: it is an identity).

    When the simplification is linear (``yhat - t``) that is the closed form; otherwise the
    product of the lecture (``(yhat - t) * yhat * (1 - yhat)``) is kept unexpanded.  Softmax +
    cross-entropy gives ``yhat_j * (t_1 + ... + t_K) - t_j`` in general, and ``yhat_j - t_j`` under
    the condition ``t_1 + ... + t_K = 1`` that the spec checks (the targets form a distribution).
    """
    substituted = chain.xreplace({d: network.by_symbol[d].definition for d in d_outs})
    cross_entropy = network.spec.loss == "cross_entropy"
    if not cross_entropy:  # only the symbols it holds matter (and make one shape of every unit's delta)
        held = substituted.free_symbols
        outs = [a for a in outs if a in held]
        targets = [t for t in targets if t in held]
    simplified, conditioned = _renamed(_linear_form, substituted, tuple(outs), tuple(targets), cross_entropy)
    if simplified is not None:  # the targets' order kept for the page: t1 + t2 + t3 = 1
        return simplified, (sympy.Eq(written_sum(*targets), 1, evaluate=False)
                            if conditioned else None)
    if isinstance(chain, sympy.Mul):
        args = [network.by_symbol[a].definition if a in d_outs else a for a in chain.args]
        return written_product(*args), None
    return substituted, None


def _linear_form(substituted: Expr, outs: tuple[Symbol, ...], targets: tuple[Symbol, ...],
                 cross_entropy: bool) -> tuple[Expr | None, bool]:
    """The output delta simplified, when that is linear in the outputs and targets (None otherwise),
    and whether it holds only when the targets sum to 1."""
    variables = list(outs + targets)
    expanded = sympy.expand(substituted)
    # rational (bce, cross-entropy): cancel the common factors; a polynomial needs no cancelling
    simplified = expanded if expanded.is_polynomial(*variables) else sympy.cancel(expanded)
    conditioned = False
    if cross_entropy:
        general = sympy.collect(sympy.expand(simplified), list(outs))
        simplified = general.subs(sympy.Add(*targets), 1)
        conditioned = simplified != general
    return (simplified, conditioned) if _is_linear(simplified, variables) else (None, False)


def _is_linear(expr: Expr, variables: list[Symbol]) -> bool:
    """Whether ``expr`` is a sum of numbers times at most one of ``variables`` (``yhat - t``)."""
    for term in sympy.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        if not (coefficient.is_Rational and (rest == 1 or rest in variables)):
            return False
    return True


def _add_update(network: Network) -> None:
    if network.spec.optimizer is not None:
        add_optimizer_update(network, network.spec.optimizer)
        return
    eta = network.sym(LEARNING_RATE.ascii)
    for p in network.parameters:
        theta = network.sym(p.name)
        grad = network.sym(network.grad(p.name))
        step = written_product(sympy.S.NegativeOne, eta, grad)
        definition = theta if p.frozen else written_sum(theta, step)
        network.add(Namer.updated(network[p.name].id), "updated", definition, layer=p.layer)


# -- the proofs -----------------------------------------------------------------

def inline_all(network: Network, kinds: tuple[str, ...]) -> dict[Symbol, Expr]:
    """Every quantity of ``kinds`` written in leaves only (inputs, targets, parameters)."""
    inlined: dict[Symbol, Expr] = {}
    for q in network.quantities.values():
        if q.kind in kinds and q.definition is not None:
            inlined[q.symbol] = q.definition.xreplace(inlined)
    return inlined


def _is_zero(difference: Expr) -> bool:
    if difference == 0:
        return True
    if sympy.expand(difference) == 0:
        return True
    return bool(sympy.simplify(sympy.cancel(sympy.expand(difference.rewrite(sympy.exp)))) == 0)


def prove_symbolically(network: Network) -> dict[str, Proof]:
    """sympy.diff of the fully composed loss == the composed chain-rule formula, per parameter.

    Both sides are written in leaves (inputs, targets, parameters) and differentiated or
    composed there.  To decide that their difference is 0, every activation applied to its
    composed argument (``sigma(w5*sigma(...) + ...)``) is then named again by its unit's
    symbol (softmax: each ``exp(z_k)``), which makes the difference a rational function of
    independent symbols: it is 0 exactly when its numerator expands to 0.
    """
    inlined = inline_all(network, ("pre", "act", "loss", "d_act", "d_pre", "grad"))
    loss = inlined[network.sym(network.loss_name)]
    generators: dict[Expr, Expr] = {}
    for q in network.of_kind("act"):
        layer = network.layers[q.layer - 1] if q.layer else None
        if layer is not None and layer.elementwise is None:  # softmax: name each exp(z_k)
            z = network.pre_symbol(q.layer, q.unit, q.example)  # type: ignore[arg-type]
            generators[expo(inlined[z])] = Symbol(f"exp({z.name})", positive=True)
        elif inlined[q.symbol].is_Function:  # identity units have no application to name
            generators[inlined[q.symbol]] = q.symbol
    proofs = {}

    def require(ok: bool, what: str) -> None:
        if not ok:
            raise DerivationMismatch(f"{what}: sympy.diff of the loss and the chain-rule formula differ")

    prove_output_deltas(network, require)  # the closed forms the pages box (yhat - t) hold too
    fast = composed(loss)
    for p in network.parameters:
        grad = network[network.grad(p.name)]
        theta, by_chain = network.sym(p.name), inlined[grad.symbol]
        if fast is not None and fast.agrees(theta, by_chain, generators):
            by = "symengine.diff"
        else:
            difference = sympy.diff(loss, theta) - by_chain
            require(_is_zero_rational(difference.xreplace(generators)) or _is_zero(difference), grad.name)
            by = "sympy.diff"
        proofs[p.name] = Proof(p.name, "symbolic", True,
                               f"{by} of the composed loss minus the composed chain-rule formula is identically 0")
    return proofs


def _solved(condition: sympy.Eq, symbol: Symbol) -> dict[Symbol, Expr]:
    """``{symbol: its value}`` from a linear condition (``t3 = 1 - t1 - t2`` from ``t1 + t2 + t3 = 1``)."""
    difference = sympy.expand(condition.lhs - condition.rhs)
    slope = difference.coeff(symbol)
    rest = sympy.expand(difference - slope * symbol)
    if slope == 0 or symbol in slope.free_symbols or symbol in rest.free_symbols:
        raise ValueError(f"{condition} is not linear in {symbol}")
    return {symbol: -rest / slope}


def _is_zero_rational(difference: Expr) -> bool:
    """A rational function of independent symbols is 0 iff its numerator expands to 0 (decided
    over FLINT's polynomials first; SymPy's expand also reads ``exp(a + b)`` as ``exp(a)*exp(b)``)."""
    if difference == 0 or is_zero_rational(difference):
        return True
    if sympy.expand(difference) == 0:  # a polynomial identity (no denominators)
        return True
    numerator, _ = sympy.fraction(sympy.together(difference))
    return bool(sympy.expand(numerator) == 0)


def prove_local_rules(network: Network) -> dict[str, Proof]:
    """Each local derivative the chain uses equals SymPy's diff of the local definition.

    The proofs it returns are pending: `evaluate` compares the end-to-end values with reverse-mode
    differentiation and returns them completed (``digits``).
    """

    def require(ok: bool, what: str) -> None:
        if not ok:
            raise DerivationMismatch(f"local rule failed: {what}")

    # 1. z = sum w a + b: d z / d w = local input, d z / d b = 1, d z / d a_prev = w.
    #    By linearity of d/dw over the sum, only the terms that contain w are differentiated.
    for layer in network.layers:
        for e in range(1, network.n_examples + 1):
            for j in range(1, layer.size + 1):
                z = network[network.unit_name("pre", layer.index, j, e)]
                assert z.definition is not None
                terms = sympy.Add.make_args(z.definition)
                containing: dict[Symbol, list[Expr]] = {}
                for term in terms:
                    for s in term.free_symbols:
                        containing.setdefault(s, []).append(term)
                fan_in = network.spec.n_inputs if layer.index == 1 else network.layers[layer.index - 2].size
                for k in range(1, fan_in + 1):
                    w = network.sym(network.weight_name(layer.index, j, k))
                    a_prev = network.activation_symbol(layer.index - 1, k, e)
                    by_w = sympy.Add(*[t.diff(w) for t in containing.get(w, [])])
                    if by_w != a_prev:  # the message only when it is needed: printing costs more than diff
                        require(False, f"d{z.name}/d{w} = {by_w}, not the local input {a_prev}")
                    by_a = sympy.Add(*[t.diff(a_prev) for t in containing.get(a_prev, [])])
                    if by_a != w:
                        require(False, f"d{z.name}/d{a_prev} = {by_a}, not the weight {w}")
                b = network.sym(network.bias_name(layer.index, j))
                by_b = sympy.Add(*[t.diff(b) for t in containing.get(b, [])])
                if by_b != 1:
                    require(False, f"d{z.name}/d{b} = {by_b}, not 1")
    # 2. activations: d a / d z == the local slope the chain uses (with a = f(z) substituted)
    for layer in network.layers:
        f = layer.elementwise
        for e in range(1, network.n_examples + 1):
            for j in range(1, layer.size + 1):
                a = network[network.unit_name("act", layer.index, j, e)]
                z = network.pre_symbol(layer.index, j, e)
                assert a.definition is not None
                if f is None:
                    continue  # softmax: covered with the output delta below
                slope = f.local_slope(a.symbol, z).xreplace({a.symbol: a.definition})
                require(_renamed(_slope_holds, a.definition, z, slope), f"d{a.name}/d{z}")
    # 3. the output delta (its chain, and the closed form a page boxes)
    prove_output_deltas(network, require)
    return {p.name: Proof(p.name, "local+ad", False,
                          "local rules proven symbolically; end-to-end value pending differentiation")
            for p in network.parameters}


def _slope_holds(definition: Expr, z: Symbol, slope: Expr) -> bool:
    """SymPy's d definition / d z is ``slope`` (decided once per shape: every unit of an activation alike)."""
    return _is_zero(sympy.diff(definition, z) - slope)


def prove_output_deltas(network: Network, require: Callable[[bool, str], None]) -> None:
    """d E / d z_j with the output activation composed in, for every output unit and example.

    The chain (dE/dyhat times the slope; softmax: summed over its Jacobian), from which the values
    are computed, equals SymPy's diff unconditionally; the closed form a page boxes equals it too,
    under its stated condition (softmax + cross-entropy: ``yhat - t`` when the targets sum to 1).
    """
    last = network.layers[-1]
    loss_def = network[network.loss_name].definition
    assert loss_def is not None
    for e in range(1, network.n_examples + 1):
        outs = {network.activation_symbol(last.index, j, e):
                network[network.unit_name("act", last.index, j, e)].definition
                for j in range(1, last.size + 1)}
        d_outs = {q.symbol: q.definition for q in (network[network.grad(network.unit_name("act", last.index, j, e))]
                                                    for j in range(1, last.size + 1))}
        composed = loss_def.xreplace(outs)
        for j in range(1, last.size + 1):
            z = network.pre_symbol(last.index, j, e)
            delta = network[network.grad(network.unit_name("pre", last.index, j, e))]
            assert delta.definition is not None
            by_diff = _slope(composed, z)  # sympy.diff, the terms without z skipped
            chain = delta.definition.xreplace(d_outs).xreplace(outs)
            require(_is_zero_rational(by_diff - chain) or _is_zero(by_diff - chain),
                    f"output delta {delta.name} (chain rule)")
            if delta.explicit is None:
                continue
            difference = by_diff - delta.explicit.xreplace(outs)
            if delta.condition is not None:
                difference = difference.xreplace(_solved(delta.condition, network.target_symbol(last.size, e)))
            under = "" if delta.condition is None else f", under {delta.condition.lhs} = {delta.condition.rhs}"
            require(_is_zero_rational(difference) or _is_zero(difference),
                    f"output delta {delta.name} (closed form{under})")
