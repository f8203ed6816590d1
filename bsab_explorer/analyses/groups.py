"""Splitting a cohort by a variable: the groups, their labels and order, and each patient's group.

Booleans read "Yes"/"No" (yes first), codes follow the contract order, other values sort;
patients with the variable missing form the group "Not recorded" (last, only when present).
Table 1 and response by timepoint split the same way, so that their columns agree.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bsab_explorer.analyses.levels import Levels, column_present_values, levels_of
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import PATIENTS, column_label

#: Label of the group of patients whose split variable is missing.
NOT_RECORDED = "Not recorded"

#: Label of the all-patients column.
OVERALL = "All patients"

#: A split variable may have at most this many groups (besides "Not recorded").
MAX_GROUPS = 12

#: The column holding each patient's group label where a frame needs one (p-values).
GROUP_COLUMN = "__group"

_VALUE_LABELS = {"sex": {"F": "Female", "M": "Male"}}


def _value_label(column: str, value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = str(value)
    return _VALUE_LABELS.get(column, {}).get(text, text)


def _group_values(patients: pl.DataFrame, by: str) -> list[object]:
    """The values of `by` present, in group order (booleans yes first, codes in contract
    order, other values sorted)."""
    if by not in patients.columns:
        raise Unavailable(f"column {by!r} is not in the patients table")
    return _group_order(patients, by, column_present_values(patients, by, _codes(patients, by)))


def _codes(patients: pl.DataFrame, by: str) -> tuple[str, ...]:
    return () if patients.schema[by] == pl.Boolean else PATIENTS.codes_of(by)


def _group_order(patients: pl.DataFrame, by: str, present: list[object]) -> list[object]:
    """The present values of `by` in group order (booleans: yes first), at most MAX_GROUPS."""
    if patients.schema[by] == pl.Boolean:
        ordered: list[object] = [v for v in (True, False) if v in present]
    else:
        ordered = present
    if len(ordered) > MAX_GROUPS:
        raise Unavailable(
            f"{column_label(by)} has {len(ordered)} values; choose a variable with at most "
            f"{MAX_GROUPS} groups"
        )
    return ordered


def cohort_group_codes(
    patients: pl.DataFrame, by: str, levels: Levels | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each patient's group of `by` as its position among the group labels (in group order),
    without writing a label per patient. `levels`, when given, are `patient_levels` of `by`."""
    if by not in patients.columns:
        raise Unavailable(f"column {by!r} is not in the patients table")
    found = levels_of(patients, by, levels)
    present, rows = list(found.values), found.rows
    ordered = _group_order(patients, by, list(present))
    labels = [_value_label(by, v) for v in ordered]
    if patients.get_column(by).null_count() > 0:
        labels.append(NOT_RECORDED)
    if present != ordered:  # booleans: yes first
        position = np.array([*(ordered.index(v) for v in present), len(ordered)], dtype=np.int64)
        rows = position[rows]
    return rows, tuple(labels)
