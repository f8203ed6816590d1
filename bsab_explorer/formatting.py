"""How a p-value, a percentage and a time in months read, once for every page, chart, CSV table
and report, so the same number never reads two ways.

The conventions:

- p-values: ``< 0.001`` below 0.001, else three decimals (``0.452``, ``0.050``), as journals and
  the report's methods section print them; written in a sentence as ``p < 0.001`` / ``p = 0.452``.
- percentages of a count: one decimal below 10 % (``8.3``), whole at and above (``30``), rounded
  half up; a proportion of a curve (survival at a landmark) reads whole (``64``).
- months: days / 30.4375 (the mean Gregorian month), the unit of every time axis.

>>> format_p(0.4521)
'0.452'
>>> state_p(0.0004)
'p < 0.001'
>>> format_percent(1, 12)
'8.3'
>>> format_proportion(0.6437)
'64'
>>> to_months(30.4375)
1.0
"""

from __future__ import annotations

import math
from typing import overload

from bsab_explorer.schema import DAYS_PER_MONTH

#: Below this a p-value reads "< 0.001".
P_FLOOR = 0.001


def format_p(value: float | None, missing: str = "—") -> str:
    """A p-value as printed everywhere: '< 0.001' below 0.001, else three decimals."""
    if value is None or math.isnan(value):
        return missing
    return f"< {P_FLOOR}" if value < P_FLOOR else f"{value:.3f}"


def state_p(value: float) -> str:
    """A p-value in a sentence: 'p < 0.001' or 'p = 0.452'."""
    text = format_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def format_percent(numerator: int, denominator: int) -> str:
    """A count's percentage: one decimal below 10 %, whole above (rounded half up)."""
    pct = 100.0 * numerator / denominator
    if 0 < pct < 10:
        return f"{math.floor(pct * 10 + 0.5) / 10:.1f}"
    return f"{math.floor(pct + 0.5):.0f}"


def format_proportion(value: float, of: float = 1.0) -> str:
    """`value` of `of` as a whole percentage, e.g. survival at a landmark: 0.644 -> '64'."""
    return f"{100 * value / of:.0f}"


@overload
def to_months(days: float) -> float: ...
@overload
def to_months(days: None) -> None: ...
@overload
def to_months(days: float | None) -> float | None: ...
def to_months(days: float | None) -> float | None:
    """Days as months (1 month = 30.4375 days); None stays None."""
    return None if days is None else days / DAYS_PER_MONTH
