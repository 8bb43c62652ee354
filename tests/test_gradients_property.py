"""Random networks of every activation and loss: the engine's gradients against an
independent oracle (a forward pass written here with mpmath, differentiated by
high-precision central differences).  The engine's own proofs must hold too."""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweeps import size

from symbackprop.engine.generate import new_spec
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import loads_spec


@pytest.fixture(autouse=True)
def _sixty_digits():
    """The mpmath references at 60 digits (a context: other modules share the process under xdist)."""
    with mpmath.workdps(60):
        yield
ORACLE_FUNCS = {
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "tanh": mpmath.tanh,
    "relu": lambda z: z if z > 0 else mpmath.mpf(0),
    "leaky_relu": lambda z: z if z > 0 else z / 100,
    "softplus": lambda z: mpmath.log(1 + mpmath.exp(z)),
    "identity": lambda z: z,
}


def oracle_loss(spec, params: list) -> mpmath.mpf:
    """The loss written directly from the definitions (no SymPy, no engine code)."""
    total = mpmath.mpf(0)
    for example in spec.examples:
        a = [mpmath.mpf(str(x.p)) / x.q for x in example.inputs]
        it = iter(params)
        for layer in spec.layers:
            z = []
            for _ in range(layer.units):
                s = sum(next(it) * ak for ak in a)
                z.append(s + next(it))
            if layer.activation == "softmax":
                m = [mpmath.exp(v) for v in z]
                a = [v / sum(m) for v in m]
            else:
                a = [ORACLE_FUNCS[layer.activation](v) for v in z]
        t = [mpmath.mpf(v.p) / v.q for v in example.targets]
        if spec.loss == "half_sse":
            total += sum((y - tt) ** 2 for y, tt in zip(a, t, strict=True)) / 2
        elif spec.loss == "mse":
            total += sum((y - tt) ** 2 for y, tt in zip(a, t, strict=True)) / len(t)
        elif spec.loss == "bce":
            total -= sum(tt * mpmath.log(y) + (1 - tt) * mpmath.log(1 - y) for y, tt in zip(a, t, strict=True))
        else:
            total -= sum(tt * mpmath.log(y) for y, tt in zip(a, t, strict=True))
    return total


def oracle_gradient(spec) -> list:
    base = [mpmath.mpf(v.p) / v.q for v in spec.parameters.values()]
    h = mpmath.mpf("1e-20")
    grads = []
    for i in range(len(base)):
        up, down = list(base), list(base)
        up[i] += h
        down[i] -= h
        grads.append((oracle_loss(spec, up) - oracle_loss(spec, down)) / (2 * h))
    return grads


@settings(max_examples=size(30, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inputs=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    outputs=st.integers(1, 3),
    activation=st.sampled_from(sorted(ORACLE_FUNCS)),
    loss=st.sampled_from(["half_sse", "mse", "bce", "cross_entropy"]),
    seed=st.integers(0, 10_000),
)
def test_engine_gradients_match_independent_finite_differences(inputs, hidden, outputs, activation, loss, seed):
    if loss == "cross_entropy" and outputs < 2:
        outputs = 2
    spec = loads_spec(new_spec([inputs, *hidden, outputs], activation=activation, loss=loss, seed=seed))
    solution = solve(spec)
    assert solution.all_proven
    for name, expected in zip(spec.parameters, oracle_gradient(spec), strict=True):
        got = mpmath.mpf(str(solution.value(f"dE/d{name}")))
        assert abs(got - expected) <= mpmath.mpf("1e-30") * max(1, abs(expected)), name


def test_large_network_fd_proof_agrees_with_oracle():
    """Beyond the symbolic limit the engine proves via local rules + its own FD; check it independently."""
    spec = loads_spec(new_spec([3, 6, 5, 2], activation="tanh", loss="half_sse", seed=7))
    solution = solve(spec)
    proofs = solution.proofs
    assert len(proofs) == 3 * 6 + 6 + 6 * 5 + 5 + 5 * 2 + 2
    assert all(p.method == "local+ad" and p.proven and p.digits >= 40 for p in proofs.values())
    # data flows one way: derive's own record stays pending (evaluate returned the completed proofs)
    pending = solution.derivation.proofs
    assert pending.keys() == proofs.keys() and not any(p.proven or p.digits for p in pending.values())
    for name, expected in zip(spec.parameters, oracle_gradient(spec), strict=True):
        got = mpmath.mpf(str(solution.value(f"dE/d{name}")))
        assert abs(got - expected) <= mpmath.mpf("1e-30") * max(1, abs(expected)), name


def test_relu_kink_is_reported_not_a_mismatch():
    """A relu unit exactly at z = 0: the loss is not differentiable there; the proof says so."""
    import re

    from symbackprop.engine.numbers import display

    text = new_spec([3, 6, 5, 2], activation="relu", loss="half_sse", seed=7)
    spec = loads_spec(text)
    w = [spec.parameters[f"w(1)[1,{k}]"] for k in (1, 2, 3)]
    z_without_bias = sum(wk * xk for wk, xk in zip(w, spec.examples[0].inputs, strict=True))
    text = re.sub(r'"b\(1\)\[1\]" = \S+', f'"b(1)[1]" = {display(-z_without_bias, 4)}', text)
    solution = solve(loads_spec(text))
    assert solution.value("z(1)[1]") == 0
    proofs = solution.proofs
    assert all(p.proven for p in proofs.values())
    assert "not differentiable" in proofs["w(1)[1,1]"].detail and proofs["w(1)[1,1]"].digits is None
    assert proofs["w(1)[2,1]"].digits is not None and proofs["w(1)[2,1]"].digits >= 40
