"""How a count and its share read in every table: ``n (%)``, ``n/d (%)`` and the percentage.

>>> format_count(3, 10, 10)
'3 (30 %)'
>>> format_count(1, 12, 40)
'1/12 (8.3 %)'
"""

from __future__ import annotations

import math


def format_percent(numerator: int, denominator: int) -> str:
    """A percentage as printed in the table: one decimal below 10 %, whole above (half up)."""
    pct = 100.0 * numerator / denominator
    if 0 < pct < 10:
        return f"{math.floor(pct * 10 + 0.5) / 10:.1f}"
    return f"{math.floor(pct + 0.5):.0f}"


def format_count(numerator: int, denominator: int, column_n: int, subset: bool = False) -> str:
    """``n (%)``, or ``n/d (%)`` when the denominator differs from the column's N.

    An empty denominator reads "not recorded", or "–" for a share of a subset (e.g. CRS grades
    in a group without CRS).
    """
    if denominator == 0:
        return "–" if subset else "not recorded"
    pct = format_percent(numerator, denominator)
    if denominator == column_n:
        return f"{numerator} ({pct} %)"
    return f"{numerator}/{denominator} ({pct} %)"
