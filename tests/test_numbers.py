"""The one rounding function: half-up on exact values, no -0.000."""

from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sweeps import size

from symbackprop.engine.numbers import (
    Certified,
    decision,
    display,
    display_decision,
    full_text,
    half_up,
    parse_decimal_text,
    round_half_up,
    significant,
    to_decimal,
)


@pytest.mark.parametrize("text, decimals, shown", [
    ("0.3775", 3, "0.378"),     # the lecture's z_h1: a tie, half-up
    ("0.3925", 3, "0.393"),     # z_h2: a tie (float round() gives 0.392)
    ("0.1235", 3, "0.124"),     # round(0.1235, 3) == 0.123 with floats
    ("-0.0002", 3, "0.000"),    # never -0.000
    ("-0.0005", 3, "-0.001"),   # half-up = away from zero on a tie
    ("-0.00049", 3, "0.000"),
    ("2.5", 0, "3"),
    ("0.0004532487953469", 3, "0.000"),
    ("0.0278593161649873", 3, "0.028"),
    ("1", 3, "1.000"),
])
def test_display_rounds_half_up_on_exact_values(text, decimals, shown):
    assert display(parse_decimal_text(text), decimals) == shown
    assert display(Decimal(text), decimals) == shown


def test_float_rounding_would_get_these_ties_wrong():
    # the reason the rounding is done on exact values
    assert round(0.1235, 3) == 0.123
    assert display(parse_decimal_text("0.1235"), 3) == "0.124"


def test_parse_decimal_text_is_exact():
    assert parse_decimal_text("0.15") == sympy.Rational(3, 20)
    assert parse_decimal_text("1e-4") == sympy.Rational(1, 10000)
    assert parse_decimal_text("-.5") == sympy.Rational(-1, 2)
    assert parse_decimal_text("0.1") + parse_decimal_text("0.2") == sympy.Rational(3, 10)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1_0", "0x10", "", "1/2", "abc", "1e99999"])
def test_parse_decimal_text_rejects_non_decimals(bad):
    with pytest.raises(ValueError):
        parse_decimal_text(bad)


def test_round_half_up_returns_exact_decimal():
    assert round_half_up(sympy.Rational(3775, 10000), 3) == Decimal("0.378")
    assert str(round_half_up(Decimal("-0.0001"), 2)) == "0.00"


def test_full_and_significant_text():
    assert full_text(Decimal("0.031592199095520256692899237269213000001075661")) == \
        "0.03159219909552025669289923726921300000108"
    assert full_text(Decimal("0.3775")) == "0.3775" + "0" * 36  # exact values keep their zeros
    assert full_text(Decimal("-1E-35")) == "-1." + "0" * 39 + "e-35"
    assert significant(Decimal("0.00045324879534"), 3) == "0.000453"
    assert significant(Decimal("0.0000226624"), 3) == "2.27e-5"


def test_half_up_rounds_plain_decimals_as_round_half_up_does():
    cases = ["0.3775", "-0.3775", "-0.0004", "0.0005", "-0.0005", "2.5", "-2.5", "123456789.12345", "-0",
             "1e500", "-7.77e-300", "0.99950000000000000000000000000000000001", "99999.9995"]
    for decimals in (-2, 0, 1, 3, 8):
        rounded = half_up(decimals)
        for text in cases:
            value = Decimal(text)
            assert str(rounded(value)) == str(round_half_up(value, decimals)), (text, decimals)
    # half-up by hand: away from zero on a tie, never -0
    assert [str(half_up(3)(Decimal(t))) for t in ("0.3775", "-0.3775", "-0.0004", "1e3")] == \
        ["0.378", "-0.378", "0.000", "1000.000"]
    assert str(half_up(-2)(Decimal("250"))) == "3E+2"



@settings(max_examples=size(300, 75), deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(1, 10**12), st.integers(0, 12), st.booleans())
def test_a_rationals_display_in_whole_numbers_is_the_one_its_enclosure_decides(p, q, decimals, tie):
    """display of an exact rational (worked in whole numbers) is the text its enclosure decides, ties included
    (``tie``: p/q made an exact rounding tie at ``decimals`` places), and it is decided."""
    value = Fraction(2 * p + 1, 2 * 10**decimals) if tie else Fraction(p, q)
    certified = Certified.of(to_decimal(value), exact=value)

    def half_up_text(v: Decimal) -> str:  # the reference: Decimal's own half-up, no "-0"
        r = v.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP, context=Context(prec=500))
        return f"{abs(r) if r.is_zero() else r:f}"

    by_bounds = decision(certified, half_up_text, decimals)
    assert display_decision(certified, decimals) == by_bounds
    assert by_bounds.decided


@settings(max_examples=size(400, 100), deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(1, 10**12), st.integers(0, 12), st.integers(0, 3),
       st.sampled_from([0, 2**-200, 2**-60, 2**-30, 2**-12]))
def test_a_balls_display_is_the_one_its_bounds_decide(p, q, decimals, kind, radius):
    """display of a ball (a transcendental value, read in ball arithmetic) is the text its Decimal bounds decide,
    around ties (``kind`` 1: an exact tie, 2: a hair beside one), zero and wide balls alike, and it says decided
    only where the bounds do."""
    from flint import arb, fmpq

    from symbackprop.engine.evaluate import ball_bounds

    value = {0: Fraction(p, q), 1: Fraction(2 * p + 1, 2 * 10**decimals),
             2: Fraction(2 * p + 1, 2 * 10**decimals) + Fraction(1, 10**(decimals + 20)),
             3: Fraction(p, q * 10**40)}[kind]  # 3: near zero
    ball = arb(fmpq(value.numerator, value.denominator)) + arb(0, radius)
    plain = Certified.of(to_decimal(value), enclose=lambda level: ball_bounds(ball))
    with_ball = Certified.of(to_decimal(value), enclose=lambda level: ball_bounds(ball), ball=ball)

    def half_up_text(v: Decimal) -> str:  # the reference: Decimal's own half-up, no "-0"
        r = v.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP, context=Context(prec=500))
        return f"{abs(r) if r.is_zero() else r:f}"

    assert display_decision(with_ball, decimals) == decision(plain, half_up_text, decimals)
