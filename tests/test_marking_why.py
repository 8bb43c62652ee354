"""The "why" of a wrong answer (rv5 findings 3, 4 and 8): a term left out of a sum over the layer above,
a formula that differs by a term or a constant, and a slip that happens to give the right value.

Every expected value is hand arithmetic (written next to it) from the spec's numbers and the values the
spec's own earlier quantities print; every expected sentence is the wording a student should read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symbackprop.engine.graph import solve_graph
from symbackprop.engine.kinds import load_any
from symbackprop.engine.solution import solve
from symbackprop.marking.answers import Answer, Answers
from symbackprop.marking.verify import mark

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def row(solution, name: str, text: str, form: str = "value", lang: str = "en"):
    (only,) = mark(solution, Answers((Answer(name, text, form),)), lang=lang).rows
    return only


@pytest.fixture(scope="module")
def lecture():
    return solve(None, prove=False)


@pytest.fixture(scope="module")
def two_outputs():
    """examples/lecture_2out_identity.toml: 2-2-2, identity outputs, half SSE summed, t1 = t2 = 0.5."""
    return solve(ROOT / "examples" / "lecture_2out_identity.toml", prove=False)


@pytest.fixture(scope="module")
def three_outputs():
    """2-2-3 sigmoid, half SSE, the mean over two examples (tests/golden/three_outputs_mean.toml)."""
    return solve(GOLDEN / "three_outputs_mean.toml", prove=False)


@pytest.fixture(scope="module")
def relu_v002():
    """rv5's ex_relu variant 002: 3-3-2, relu hidden, identity outputs."""
    return solve(GOLDEN / "relu_332_v002.toml", prove=False)


@pytest.fixture(scope="module")
def relu_v003():
    """rv5's ex_relu variant 003, where h1 is dead (z_h1 < 0)."""
    return solve(GOLDEN / "relu_332_v003.toml", prove=False)


# -- finding 3: a term of the sum over the layer above left out ----------------------------------------

def test_value_missing_output_term_two_outputs(two_outputs):
    # dE/dh1 = dE/dz_o1*w5 + dE/dz_o2*w7 = 0.6059*0.40 + (-0.2751)*0.50 = 0.105; the o2 term left out:
    # 0.60590596706*0.40 = 0.24236 -> 0.242
    r = row(two_outputs, "dE/dh1", "0.242")
    assert (r.verdict, r.expected) == ("wrong", "0.105")
    assert r.why == "dE/dh1 misses the term dE/dz_o2*w7 of z_o2 (the sum over the layer above: 1 of its 2 terms summed)"


def test_value_missing_output_term_review(relu_v002):
    # rv5 3: dE/dz_h3 = dE/dh3 (relu, z_h3 > 0) with only dE/dz_o1*w12 in dE/dh3: -0.581 (expected -0.563)
    r = row(relu_v002, "dE/dz_h3", "-0.581")
    assert (r.verdict, r.expected) == ("wrong", "-0.563")
    assert r.why == ("dE/dh3 misses the term dE/dz_o2*w15 of z_o2 (the sum over the layer above: 1 of its 2 terms "
                     "summed)")


def test_value_missing_output_terms_three_outputs_mean(three_outputs):
    # example 2: dE/dz_o1@2 = 0.0510949117, dE/dz_o2@2 = 0.0580895603, w5 = 0.40, w7 = 0.50, w9 = -0.40
    # the o3 term left out: 0.0510949117*0.40 + 0.0580895603*0.50 = 0.0494827 -> 0.049 (expected 0.064)
    r = row(three_outputs, "dE/dh1@2", "0.049")
    assert (r.verdict, r.expected) == ("wrong", "0.064")
    assert r.why == ("dE/dh1@2 misses the term dE/dz_o3@2*w9 of z_o3@2 (the sum over the layer above: "
                     "2 of its 3 terms summed)")
    # one step on: dE/dz_h1@2 = 0.0494827*h1@2*(1 - h1@2) = 0.0494827*0.6329748*0.3670252 = 0.0114957 -> 0.011
    r = row(three_outputs, "dE/dz_h1@2", "0.0115")
    assert (r.verdict, r.expected) == ("wrong", "0.0148")
    assert r.why.startswith("dE/dh1@2 misses the term dE/dz_o3@2*w9 of z_o3@2")


def test_formula_missing_output_term(relu_v002, three_outputs):
    r = row(relu_v002, "dE/dh1", "dE/dz_o1*w10", "formula")
    assert r.verdict == "wrong"
    assert r.why == ("dE/dh1 misses the term dE/dz_o2*w13 of z_o2 (the sum over the layer above: 1 of its 2 terms "
                     "summed)")
    r = row(three_outputs, "dE/dh2@1", "dE/dz_o1@1*w6", "formula")
    assert r.why == ("dE/dh2@1 misses the terms dE/dz_o2@1*w8, dE/dz_o3@1*w10 of z_o2@1, z_o3@1 (the sum over the "
                     "layer above: 1 of its 3 terms summed)")


def test_formula_extra_term(three_outputs):
    r = row(three_outputs, "dE/dh1@1", "dE/dz_o1@1*w5 + dE/dz_o2@1*w7 + dE/dz_o3@1*w9 + dE/dz_o1@1*w6", "formula")
    assert (r.verdict, r.why) == ("wrong", "extra term dE/dz_o1@1*w6")


def test_formula_term_sign_flipped(relu_v002):
    # rv5 3's f3.toml: one term of the sum over the layer above with its sign flipped
    r = row(relu_v002, "dE/dh3", "dE/dz_o1*w12 - dE/dz_o2*w15", "formula")
    assert (r.verdict, r.why) == ("wrong", "sign of the term dE/dz_o2*w15 flipped")
    r = row(relu_v002, "dE/dh3", "dE/dz_o1*w12 - dE/dz_o2*w15", "formula", lang="de")
    assert r.why == "Vorzeichen des Terms dE/dz_o2*w15 vertauscht"
    r = row(relu_v002, "dE/dh3", "-dE/dz_o1*w12 - dE/dz_o2*w15", "formula")
    assert r.why == "differs by sign"


def test_missing_output_term_in_german(two_outputs):
    r = row(two_outputs, "dE/dh1", "0.242", lang="de")
    assert r.why == ("dE/dh1 lässt den Term dE/dz_o2*w7 von z_o2 aus (die Summe über die Schicht darüber: "
                     "1 ihrer 2 Terme summiert)")


# -- finding 4: a term or a constant, not a "factor" ----------------------------------------------------

def test_formula_missing_bias_term(lecture):
    r = row(lecture, "z_h1", "w1*x1 + w2*x2", "formula")
    assert (r.verdict, r.why) == ("wrong", "missing term b1")


def test_formula_missing_constant_factor(lecture):
    r = row(lecture, "E", "(yhat - t)^2", "formula")
    assert (r.verdict, r.why) == ("wrong", "missing constant factor 1/2")
    r = row(lecture, "E", "(yhat - t)^2/4", "formula")
    assert r.why == "differs by a factor 1/2"
    r = row(lecture, "dE/dz_o", "2*(yhat - t)*yhat*(1 - yhat)", "formula")
    assert r.why == "extra constant factor 2"
    r = row(lecture, "E", "-(yhat - t)^2", "formula")
    assert r.why == "missing constant factor 1/2, and the sign differs"
    r = row(lecture, "E", "(yhat - t)^2", "formula", lang="de")
    assert r.why == "fehlender konstanter Faktor 1/2"


def test_formula_wrong_output_activation(relu_v002):
    r = row(relu_v002, "yhat1", "sigma(z_o1)", "formula")
    assert (r.verdict, r.why) == ("wrong", "yhat1 applies the sigmoid, but this layer's activation is the identity")
    r = row(relu_v002, "yhat1", "sigma(z_o1)", "formula", lang="de")
    assert r.why == "yhat1 wendet die Sigmoidfunktion an, aber die Aktivierung dieser Schicht ist die Identität"


def test_no_why_naming_the_whole_expression(lecture):
    # nothing in common: no "missing factor E" or "missing factor yhat - t, extra factor ..."
    assert row(lecture, "E", "yhat*t", "formula").why == ""
    assert row(lecture, "h1", "tanh(z_h1)", "formula").why == ("h1 applies tanh, but this layer's activation is "
                                                               "the sigmoid")


# -- finding 8: a slip that happens to give the right value --------------------------------------------

def test_coincidence_names_the_other_slope(relu_v003, relu_v002):
    # v003: z_h1 < 0, so dE/dz_h1 = 0 whatever the slope's form: dE/dh1*h1*(1 - h1) = 0 too (h1 = 0)
    r = row(relu_v003, "dE/dz_h1", "dE/dh1*h1*(1-h1)", "formula")
    assert r.verdict == "wrong"
    assert r.why == ("right value for this exercise, but not the general formula: h1*(1 - h1) is the slope of the "
                     "sigmoid; this layer's activation is relu, whose slope is step(z_h1)")
    r = row(relu_v002, "dE/dz_h1", "dE/dh1*h1*(1-h1)", "formula")
    assert r.why == ("h1*(1 - h1) is the slope of the sigmoid; this layer's activation is relu, whose slope is "
                     "step(z_h1)")


def test_coincidence_names_the_missing_time_step():
    rnn = solve_graph(load_any(ROOT / "examples" / "rnn.toml"), prove=False)
    r = row(rnn, "dE/dW_hh", "dE/da2*h1 + dE/da3*h2", "formula")
    assert r.verdict == "wrong"
    assert r.why == ("right value for this exercise, but not the general formula: dE/dW_hh misses time step 1 of "
                     "W_hh (backpropagation through time sums over every step: 2 of its 3 steps summed)")
    r = row(rnn, "dE/dW_hh", "dE/da2*h1 + dE/da3*h2", "formula", lang="de")
    assert r.why.startswith("richtiger Wert für diese Aufgabe, aber nicht die allgemeine Formel: dE/dW_hh lässt den "
                            "Zeitschritt 1")


def test_coincidence_with_a_number_keeps_its_sentence(lecture):
    r = row(lecture, "dE/dyhat", "yhat - 0.5", "formula")
    assert r.why == "right value for this exercise, but not the general formula; a number stands where t belongs"
