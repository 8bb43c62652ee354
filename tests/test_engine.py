"""The lecture's numbers at full precision, a published worked example, and the names.

References are independent of the engine: a direct mpmath computation written out
by hand here, and Matt Mazur's published "step by step backpropagation example".
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path

import mpmath
import pytest
import sympy

from symbackprop.engine.numbers import display, work_context
from symbackprop.engine.solution import solve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _sixty_digits():
    """The mpmath references at 60 digits (a context: other modules share the process under xdist)."""
    with mpmath.workdps(60):
        yield


def _lecture_by_hand():
    """The lecture's forward pass and gradients, written out with mpmath (not our code)."""
    f = mpmath.mpf
    x1, x2, t = f("0.05"), f("0.10"), f("0.50")
    w1, w2, w3, w4, w5, w6 = f("0.15"), f("0.20"), f("0.25"), f("0.30"), f("0.40"), f("0.45")
    b1, b2, b3 = f("0.35"), f("0.35"), f("0.60")

    def s(z):
        return 1 / (1 + mpmath.exp(-z))

    h1, h2 = s(w1 * x1 + w2 * x2 + b1), s(w3 * x1 + w4 * x2 + b2)
    y = s(w5 * h1 + w6 * h2 + b3)
    d_o = (y - t) * y * (1 - y)
    d1, d2 = d_o * w5 * h1 * (1 - h1), d_o * w6 * h2 * (1 - h2)
    return {"h1": h1, "h2": h2, "yhat": y, "E": (y - t) ** 2 / 2, "dE/dz_o": d_o,
            "dE/dw5": d_o * h1, "dE/dw6": d_o * h2, "dE/db3": d_o,
            "dE/dw1": d1 * x1, "dE/dw2": d1 * x2, "dE/db1": d1,
            "dE/dw3": d2 * x1, "dE/dw4": d2 * x2, "dE/db2": d2}


def test_lecture_values_at_full_precision(lecture):
    # the values quoted in the issue
    assert str(lecture.value("dE/dw5")).startswith("0.0278593")
    assert display(lecture.value("E"), 10) == "0.0315921991"
    for name, expected in _lecture_by_hand().items():
        got = mpmath.mpf(str(lecture.value(name)))
        assert abs(got - expected) < mpmath.mpf("1e-55"), name


def test_exact_values_stay_exact(lecture):
    assert lecture.value("z_h1") == Decimal("0.3775")
    assert lecture.value("z_h2") == Decimal("0.3925")
    assert lecture.evaluation.exact["z_h1"] and not lecture.evaluation.exact["h1"]


def test_lecture_display_follows_full_precision(lecture):
    """Where the lecture printed values from rounded intermediates, we print the true ones."""
    shown = {name: lecture.display(name) for name in lecture.names}
    assert shown["z_h1"] == "0.378" and shown["z_h2"] == "0.393"
    assert shown["h1"] == "0.593" and shown["h2"] == "0.597"
    assert shown["z_o"] == "1.106" and shown["yhat"] == "0.751" and shown["E"] == "0.032"
    assert shown["dE/dz_o"] == "0.047"
    assert shown["dE/dw5"] == shown["dE/dw6"] == "0.028"
    assert shown["dE/dw1"] == "0.000" and shown["dE/dw3"] == "0.000"
    assert shown["dE/dw2"] == "0.000"       # lecture: 0.001 (0.005 x 0.10 from a rounded delta)
    assert shown["dE/dw4"] == "0.001"
    assert shown["w5'"] == "0.386" and shown["w6'"] == "0.436" and shown["b3'"] == "0.577"
    assert shown["b1'"] == "0.348"
    assert shown["b2'"] == "0.347"          # lecture: 0.348
    assert shown["z_h1'"] == "0.375"        # lecture: 0.376
    assert shown["z_o'"] == "1.065"         # lecture: 1.066
    assert shown["yhat'"] == "0.744" and shown["E'"] == "0.030"
    # "At full precision the loss decreases from ~0.03159 to ~0.02972"
    assert str(lecture.value("E'")).startswith("0.029695979")


def test_lecture_quantity_names(lecture):
    expected = ("x1 x2 t w1 w2 w3 w4 w5 w6 b1 b2 b3 z_h1 z_h2 h1 h2 z_o yhat E dE/dyhat dE/dz_o "
                "dE/dh1 dE/dh2 dE/dz_h1 dE/dz_h2 dE/dw1 dE/dw2 dE/dw3 dE/dw4 dE/dw5 dE/dw6 "
                "dE/db1 dE/db2 dE/db3 w1' w2' w3' w4' w5' w6' b1' b2' b3' "
                "z_h1' h1' z_h2' h2' z_o' yhat' E'").split()
    assert set(expected) <= set(lecture.names)
    assert lecture.latex("z_h1") == "z_{h_{1}}"
    assert lecture.latex("yhat") == r"\hat{y}"
    assert lecture.latex("dE/dw5") == r"\frac{\partial E}{\partial w_{5}}"


def test_lecture_chain_rule_formulas(lecture):
    assert lecture.formula("dE/dz_o", explicit=True) == r"\left(\hat{y} - t\right) \hat{y} \left(1 - \hat{y}\right)"
    assert lecture.formula("dE/dw5") == r"\frac{\partial E}{\partial z_{o}} h_{1}"
    assert lecture.formula("dE/dh1") == r"\frac{\partial E}{\partial z_{o}} w_{5}"
    assert lecture.formula("dE/dz_h1") == r"\frac{\partial E}{\partial h_{1}} h_{1} \left(1 - h_{1}\right)"
    assert lecture.formula("z_h1") == r"w_{1} x_{1} + w_{2} x_{2} + b_{1}"
    assert lecture.formula("E") == r"\frac{1}{2} \left(\hat{y} - t\right)^{2}"
    assert lecture.formula("w5'") == r"w_{5} - \eta \frac{\partial E}{\partial w_{5}}"


def test_all_lecture_gradients_proven_symbolically(lecture):
    proofs = lecture.proofs
    assert len(proofs) == 9
    assert all(p.proven and p.method == "symbolic" for p in proofs.values())


def test_repr_is_one_short_line(lecture):
    assert repr(lecture) == "<Solution 'Backpropagation': 2-2-1 sigmoid, half_sse, 9 parameters, E = 0.032>"
    mixed = solve(EXAMPLES / "deep_tanh_relu.toml")
    assert "\n" not in repr(mixed) and len(repr(mixed)) < 120
    assert f"{len(mixed.network.parameters)} parameters" in repr(mixed)


def test_mazur_published_example():
    """Mazur (2015): shared, untrained biases; net/out names; E_total and the updated weights."""
    s = solve(EXAMPLES / "mazur.toml")
    assert s.display("E") == "0.298371109"
    published = {"w5'": "0.35891648", "w6'": "0.408666186", "w7'": "0.511301270", "w8'": "0.561370121",
                 "w1'": "0.149780716", "w2'": "0.19956143", "w3'": "0.24975114", "w4'": "0.29950229",
                 "dE/dw5": "0.082167041", "dE/dw1": "0.000438568"}
    for name, text in published.items():
        decimals = len(text.split(".")[1])
        assert display(s.value(name), decimals) == text, name
    # biases are frozen: not updated
    assert s.value("b1'") == s.value("b1") and s.value("b2'") == s.value("b2")
    assert s.value("dE/db1") != 0
    assert "net_h1" in s.names and "out_o2" in s.names and "i1" in s.names
    assert s.latex("net_h1") == r"\mathrm{net}_{h_{1}}"


def test_two_output_variants_output_deltas_are_derived():
    """sigmoid+bce and softmax+cross_entropy give yhat - t by derivation; half_sse keeps sigma'."""
    cases = {"lecture_2out_sigmoid_bce": True, "lecture_2out_softmax_ce": True,
             "lecture_2out_identity": True, "lecture_2out_sigmoid_half_sse": False}
    for stem, linear in cases.items():
        s = solve(EXAMPLES / f"{stem}.toml")
        for k in (1, 2):
            q = s.quantity(f"dE/dz_o{k}")
            yhat, t = sympy.Symbol(f"yhat{k}", real=True), sympy.Symbol(f"t{k}", real=True)
            if linear:
                assert sympy.expand(q.explicit - (yhat - t)) == 0, stem
            else:
                assert sympy.expand(q.explicit - (yhat - t) * yhat * (1 - yhat)) == 0, stem
        assert all(p.method == "symbolic" and p.proven for p in s.proofs.values()), stem
        # hidden deltas sum over both outputs (the lecture's note)
        assert s.formula("dE/dh1") == (r"\frac{\partial E}{\partial z_{o_{1}}} w_{5} + "
                                       r"\frac{\partial E}{\partial z_{o_{2}}} w_{7}")


def test_softmax_outputs_form_a_distribution():
    s = solve(EXAMPLES / "lecture_2out_softmax_ce.toml")
    with localcontext(work_context()):
        assert abs(s.value("yhat1") + s.value("yhat2") - 1) < Decimal("1e-70")


def test_two_examples_mean_reduction_sums_gradients_over_examples():
    s = solve(EXAMPLES / "two_examples_mean.toml")
    one = solve()
    assert "z_h1@2" in s.names and "dE/dz_o@1" in s.names
    with localcontext(work_context()):  # the test's arithmetic at the engine's precision
        # example 1's delta is half the single-example delta (mean of two)
        assert abs(s.value("dE/dz_o@1") * 2 - one.value("dE/dz_o")) < Decimal("1e-70")
        total = s.value("dE/dz_o@1") * s.value("h1@1") + s.value("dE/dz_o@2") * s.value("h1@2")
        assert abs(s.value("dE/dw5") - total) < Decimal("1e-70")


def test_quantities_are_looked_up_by_typed_ids_with_the_names_users_type():
    s = solve(EXAMPLES / "two_examples_mean.toml")
    net = s.network
    assert (net.updated("w5"), net.grad("w5"), net.updated("E")) == ("w5'", "dE/dw5", "E'")
    assert (net.updated("z_o@2"), net.grad("z_o@2"), net.grad("h1@1")) == ("z_o@2'", "dE/dz_o@2", "dE/dh1@1")
    assert net["w5'"].of == net["dE/dw5"].of == "w5" and net["w5"].of is None
    assert net["z_o@2'"].id.base.ascii == "z_o" and net["dE/dz_o@2"].id.base.ascii == "dE/dz_o@2"
    assert net["z_o@2'"].latex == r"{{z_{o}}^{\langle 2\rangle}}{}'"  # the id carries the LaTeX too
    assert (net["eta"].kind, net["eta"].latex) == ("learning_rate", r"\eta")
    with pytest.raises(KeyError):
        net.updated("dE/dw5")  # a gradient is not updated


def test_k_steps_loss_history_matches_repeated_updates(tmp_path):
    from symbackprop.engine.spec import lecture_text

    spec = tmp_path / "k.toml"
    spec.write_text(lecture_text().replace("decimals = 3", "decimals = 3\nsteps = 3"))
    s = solve(spec)
    history = s.evaluation.loss_history
    assert len(history) == 4
    assert history[0] == s.value("E") and history[1] == s.value("E'")
    assert history[0] > history[1] > history[2] > history[3]
    # independent: run plain gradient descent with mpmath using the hand formulas
    f = mpmath.mpf
    x1, x2, t, eta = f("0.05"), f("0.10"), f("0.5"), f("0.5")
    w = [f(v) for v in ("0.15", "0.20", "0.25", "0.30", "0.40", "0.45", "0.35", "0.35", "0.60")]

    def sig(z):
        return 1 / (1 + mpmath.exp(-z))

    for step in range(3):
        w1, w2, w3, w4, w5, w6, b1, b2, b3 = w
        h1, h2 = sig(w1 * x1 + w2 * x2 + b1), sig(w3 * x1 + w4 * x2 + b2)
        y = sig(w5 * h1 + w6 * h2 + b3)
        d = (y - t) * y * (1 - y)
        d1, d2 = d * w5 * h1 * (1 - h1), d * w6 * h2 * (1 - h2)
        grads = [d1 * x1, d1 * x2, d2 * x1, d2 * x2, d * h1, d * h2, d1, d2, d]
        w = [wi - eta * g for wi, g in zip(w, grads, strict=True)]
        w1, w2, w3, w4, w5, w6, b1, b2, b3 = w
        h1, h2 = sig(w1 * x1 + w2 * x2 + b1), sig(w3 * x1 + w4 * x2 + b2)
        loss = (sig(w5 * h1 + w6 * h2 + b3) - t) ** 2 / 2
        assert abs(mpmath.mpf(str(history[step + 1])) - loss) < f("1e-50")


@pytest.mark.parametrize("stem", ["deep_tanh_relu", "lecture_2out_sigmoid_bce", "mazur"])
def test_examples_all_proven(stem):
    s = solve(EXAMPLES / f"{stem}.toml")
    assert s.all_proven


def test_package_api_exports():
    import symbackprop
    from symbackprop import load_spec, solve

    assert solve(load_spec()).display("dE/dw5") == "0.028"
    assert symbackprop.__version__ == "0.1.0"
    with pytest.raises(AttributeError):
        symbackprop.nonexistent  # noqa: B018
