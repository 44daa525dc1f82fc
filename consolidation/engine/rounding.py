"""Rounding happens once, at the end, half-even to the cent."""
from __future__ import annotations

import heapq
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


def r2(value: Decimal) -> Decimal:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded == 0 else rounded  # never "-0.00"


def apportion(exact: dict[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Round each amount half-even; if the rounded amounts no longer sum to zero (fractions of a
    cent from translation or ownership shares), move the residual cents one at a time onto the
    amounts whose rounding moved them furthest from the exact value (largest remainder, ties
    by key). Returns (rounded, adjustments); every adjustment is one cent per key and is reported."""
    # r2 inlined (this runs for every account of every member): half-even, never "-0.00"
    rounded = {k: v.quantize(CENT, rounding=ROUND_HALF_EVEN) for k, v in exact.items()}
    for k, v in rounded.items():
        if not v and v.is_signed():
            rounded[k] = v.copy_abs()
    residual = sum(rounded.values(), Decimal(0))
    adjustments: dict[str, Decimal] = {}
    if residual == 0:
        return rounded, adjustments
    cents = int((residual / CENT).to_integral_value())
    step = -CENT if cents > 0 else CENT
    # rounding error of each key, in the direction the fix needs: the largest first (ties by key;
    # the keys are distinct, so the first few of the full sort are exactly these)
    sign = 1 if cents > 0 else -1
    candidates = heapq.nsmallest(abs(cents), exact, key=lambda k: (-((rounded[k] - exact[k]) * sign), k))
    for key in candidates:
        rounded[key] += step
        adjustments[key] = step
    return rounded, adjustments
