"""Refuse an exercise whose values grow past what a sheet can print (README "Limits").

Every spec number lies between 1e-6 and 1e6 in magnitude (spec.py), but products through layers
of identity or relu units can still reach 1e36: a handout, an exam key or a marked sheet full of
37-digit numbers is no exercise.  Checked once, right after the evaluation, before any output.
"""

from __future__ import annotations

from decimal import Decimal

from ..errors import SpecError
from .derive import Derivation
from .evaluate import Evaluation, evaluate

#: The largest magnitude of a value of the exercise (the forward pass, the deltas, the gradients).
MAX_COMPUTED = Decimal(10) ** 12
#: What the SGD step makes is left out: a deep relu network whose loss explodes after one step is
#: a lesson (exploding gradients), and ``new`` draws such networks.
AFTER_THE_STEP = ("updated", "post_pre", "post_act", "post_loss")


def check_readable(evaluation: Evaluation, source: str) -> None:
    """Raise :class:`SpecError` naming the first value of the exercise beyond ``MAX_COMPUTED``."""
    network = evaluation.network
    for name, value in evaluation.values.items():
        if network[name].kind in AFTER_THE_STEP:
            continue
        if not value.is_finite() or value.copy_abs() > MAX_COMPUTED:
            shown = f"{value:.2e}" if value.is_finite() else str(value)
            raise SpecError(f"{source}: {name} = {shown}: the values grow too large to print (computed "
                            "values must stay within -1e12 and 1e12); use smaller weights or inputs")


def evaluate_readable(derivation: Derivation, source: str) -> Evaluation:
    """The evaluation, checked by :func:`check_readable`; an exponent past the arithmetic's range
    (``exp(1e7)`` of a saturated sigmoid, README "Limits") is the same one-line refusal, not a traceback."""
    try:
        evaluation = evaluate(derivation)
    except ArithmeticError as error:
        raise SpecError(f"{source}: the values grow too large to compute ({type(error).__name__} in an "
                        "exponential or a division); use smaller weights or inputs") from None
    check_readable(evaluation, source)
    return evaluation
