"""engine/symdiff: SymEngine's derivative of a composed SymPy expression is sympy.diff's, the fast
proofs use it on every example, and a wrong chain-rule formula is still not proven by it."""

from __future__ import annotations

import dataclasses

import pytest
import sympy
from example_specs import graph_specs, network_specs
from sympy import Float, Heaviside, Max, Rational, exp, log, symbols, tanh

from symbackprop.engine import activations as act
from symbackprop.engine.activations import loss_expression
from symbackprop.engine.derive import _diff, _linear_form, _renamed, _slope, derive, inline_all
from symbackprop.engine.generate import new_spec
from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import load_graph
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import load_spec, loads_spec
from symbackprop.engine.symdiff import Composed, composed

x, y, w = symbols("x y w", real=True)  # real, as the network's symbols are

COMPOSED = [
    act.sigma(w * x + act.sigma(x * y)) * act.relu(y - w),
    act.leaky_relu(w * act.softplus(x) - y, Rational(1, 100)) ** 2 / 2,
    -log(act.expo(w * x) / (act.expo(w * x) + act.expo(y + x))),
    tanh(w * tanh(x * w + 1) + y) - exp(Rational(-1, 3) * x * w),
    Max(w * x, y + act.sigma(w)) * Max(x, w),
    log(1 + act.sigma(tanh(w) * x)) * (act.step(x) + 2),
]


@pytest.mark.parametrize("expr", COMPOSED)
@pytest.mark.parametrize("by", [x, y, w])
def test_the_derivative_is_sympys(expr, by):
    """The reference is sympy.diff itself (its kinks written as step, as the engines write them)."""
    reference = sympy.diff(expr, by).replace(Heaviside, lambda z, *_: act.step(z))
    fast = composed(expr)
    assert fast is not None
    assert fast.agrees(by, reference)
    assert not fast.agrees(by, reference + act.sigma(x) * 0 + 2 * w)  # off by a term: not proven
    assert not fast.agrees(by, 2 * reference) or reference == 0


def test_what_it_cannot_translate_is_left_to_sympy():
    assert composed(Float("0.5") * x) is None
    assert composed(sympy.sin(x)) is None
    fast = Composed(act.sigma(x))
    assert not fast.agrees(x, sympy.Symbol("unknown") * sympy.cos(x))


@pytest.mark.parametrize("spec", [*network_specs(), "generated"], ids=lambda p: getattr(p, "stem", p))
def test_every_example_network_is_proven_by_symengine(spec):
    """The fast path is taken for every parameter (a regression to sympy.diff would be slow, not wrong:
    this test is what notices it)."""
    loaded = (loads_spec(new_spec([3, 3, 3], activation="softplus", loss="cross_entropy", seed=2))
              if spec == "generated" else load_spec(spec))
    proofs = derive(loaded).proofs
    if len(proofs) and next(iter(proofs.values())).method == "symbolic":
        assert all(p.proven and p.detail.startswith("symengine.diff") for p in proofs.values()), proofs


@pytest.mark.parametrize("spec", graph_specs(), ids=lambda p: p.stem)
def test_every_example_graph_is_proven_by_symengine(spec):
    proofs = solve_graph(load_graph(spec)).proofs
    assert proofs and all(p.proven and "symengine.diff" in p.detail for p in proofs.values()), proofs


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus", "leaky_relu"])
def test_a_wrong_chain_formula_is_not_proven_by_the_fast_path(activation):
    """Doubling a first-layer gradient's formula: SymEngine's zero test does not accept it (the slow
    path then refuses it, tests/test_rational.py, too slow to run here with these activations)."""
    network = derive(loads_spec(new_spec([2, 2, 2], activation=activation, loss="mse", seed=4)), prove=False).network
    name = network.grad(network.parameters[0].name)
    q = network.quantities[name]
    network.quantities[name] = dataclasses.replace(q, definition=2 * q.definition)
    inlined = inline_all(network, ("pre", "act", "loss", "d_act", "d_pre", "grad"))
    loss = inlined[network.sym(network.loss_name)]
    fast = composed(loss)
    assert fast is not None
    names = {inlined[a.symbol]: a.symbol for a in network.of_kind("act") if inlined[a.symbol].is_Function}
    assert not fast.agrees(network.sym(network.parameters[0].name), inlined[q.symbol], names)
    second = network.parameters[1]
    assert fast.agrees(network.sym(second.name), inlined[network[network.grad(second.name)].symbol], names)


def test_the_lecture_still_proves_every_parameter():
    solution = solve()
    assert all(p.proven for p in solution.derivation.proofs.values())


@pytest.mark.parametrize("loss", ["half_sse", "mse", "bce", "cross_entropy"])
@pytest.mark.parametrize("outputs", [1, 2, 3])
@pytest.mark.parametrize("examples", [1, 2, 3])
def test_the_loss_slope_is_sympys_expression(loss, outputs, examples):
    """derive's dE/dyhat skips the terms without yhat; it must build the very expression
    sympy.diff builds (same tree, so the same page), for sum and mean, every unit and example."""
    ys = [[sympy.Symbol(f"yhat{j}@{e}", real=True) for j in range(outputs)] for e in range(examples)]
    ts = [[sympy.Symbol(f"t{j}@{e}", real=True) for j in range(outputs)] for e in range(examples)]
    per_example = [loss_expression(loss, ys[e], ts[e]) for e in range(examples)]
    total = per_example[0] if examples == 1 else sympy.Add(*per_example, evaluate=False)
    for reduced in (total, sympy.Mul(Rational(1, examples), total, evaluate=False)):
        for yhat in (y for row in ys for y in row):
            assert sympy.srepr(_slope(reduced, yhat)) == sympy.srepr(sympy.diff(reduced, yhat))
        assert _slope(reduced, w) == 0


@pytest.mark.parametrize("output, loss", [("sigmoid", "bce"), ("softmax", "cross_entropy"), ("softmax", "mse"),
                                          ("identity", "half_sse"), ("tanh", "mse"), ("sigmoid", "half_sse")])
@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_work_done_on_renamed_symbols_is_the_direct_work(output, loss, outputs):
    """derive simplifies each output delta once per shape, on symbols renamed in the same order; the
    result renamed back must be the very tree the direct SymPy calls build, for every unit."""
    if output == "softmax" and outputs == 1:
        return
    ys = sympy.symbols(" ".join(f"yhat{j}" for j in range(1, outputs + 1)) + ",", real=True)
    ts = sympy.symbols(" ".join(f"t{j}" for j in range(1, outputs + 1)) + ",", real=True)
    loss_def = loss_expression(loss, list(ys), list(ts))
    f = act.ELEMENTWISE.get(output)
    for j in range(outputs):
        slope = _renamed(_diff, loss_def, ys[j])
        assert sympy.srepr(slope) == sympy.srepr(sympy.diff(loss_def, ys[j]))
        if f is None:  # softmax's Jacobian
            chain = sympy.Add(*[sympy.diff(loss_def, ys[k]) * ys[k] * (int(j == k) - ys[j]) for k in range(outputs)])
        else:
            chain = slope * f.local_slope(ys[j], sympy.Symbol("z", real=True))
        args = (chain, ys, ts, loss == "cross_entropy")
        assert sympy.srepr(_renamed(_linear_form, *args)) == sympy.srepr(_linear_form(*args))
    # names in the other order (o before t, as a spec with letters renamed has them): the same again
    o, t = sympy.symbols("o t", real=True)
    assert _renamed(_diff, (o - t) ** 2, o) == sympy.diff((o - t) ** 2, o)


def test_an_unevaluated_expression_is_worked_on_directly():
    """Renaming rebuilds a tree evaluated; one that holds an unevaluated part is not renamed."""
    unevaluated = sympy.Mul(2, sympy.Add(x, y) ** 2 + w, evaluate=False)  # evaluated: 2*(x + y)**2 + 2*w
    seen = []

    def work(expr, by):
        seen.append(expr)
        return sympy.diff(expr, by)

    assert _renamed(work, unevaluated, x) == sympy.diff(unevaluated, x)
    assert seen == [unevaluated]


@pytest.mark.parametrize("args", [
    ("a", "b"), ("a",), ("a", 0, "b"), (-1, "a*b"), ("1/2", "(a - b)**2"), ("a", 1, 1), ("log(a)", "-a", "x*y"),
    ("a", "a"), ("b", "a"),  # a repeated term and the reverse order are kept as written
])
def test_written_sums_and_products_are_sympys_unevaluated_ones(args):
    """engine/written.py builds what ``sympy.Add/Mul(*args, evaluate=False)`` builds: the same arguments in the
    same order, no identity dropped, equal and of equal hash (the derivation's expressions, printed on every page)."""
    from symbackprop.engine.written import written_product, written_sum

    values = [sympy.sympify(a) if isinstance(a, str) else a for a in args]
    for ours, sympys in ((written_sum, sympy.Add), (written_product, sympy.Mul)):
        built, expected = ours(*values), sympys(*values, evaluate=False)
        assert type(built) is type(expected) and built.args == expected.args
        assert built == expected and hash(built) == hash(expected)
        assert built.is_commutative == expected.is_commutative
