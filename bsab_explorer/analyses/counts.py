"""How a count, its share and a summary number read in every table: ``n (%)``, ``n/d (%)``,
the percentage, and numbers without trailing zeros (capped ages as ``90+``).

>>> format_count(3, 10, 10)
'3 (30 %)'
>>> format_count(1, 12, 40)
'1/12 (8.3 %)'
"""

from __future__ import annotations

from bsab_explorer.formatting import format_percent
from bsab_explorer.schema import AGE_CAP


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


def format_number(value: float) -> str:
    """A number without trailing zeros (whole numbers stay whole, else one decimal)."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


def format_value(column: str, value: float) -> str:
    """A summary number of a column (`format_number`; ages at the cap read "90+")."""
    # Ages are stored capped at AGE_CAP and must read "90+" wherever shown.
    if column == "age_years" and value >= AGE_CAP:
        return f"{AGE_CAP}+"
    return format_number(value)
