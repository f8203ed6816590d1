"""Splitting a cohort by a variable: the groups, their labels and order, and each patient's group.

Two orders, one module, so the labels and the "everyone" group agree everywhere:

- Table 1 and response by timepoint (`cohort_group_codes`): booleans read "Yes"/"No" (yes
  first), codes follow the contract order, other values sort; patients with the variable missing
  form the group "Not recorded" (last, only when present), so the columns add up to the cohort.
- Survival, response and safety endpoints (`level_labels`, `group_patients`): the level order of
  `levels.column_levels` (No before Yes, numbers ascending, contract codes in contract order,
  others alphabetically); a patient whose value is not recorded belongs to no group and is
  counted, as R's `na.omit` does.

>>> patients = pl.DataFrame({"patient_id": ["a", "b", "c"], "emd": [True, None, False]})
>>> groups = group_patients(patients, "emd")
>>> groups.labels, groups.missing
(('No', 'Yes'), 1)
>>> groups.members.rows()
[('a', 'Yes'), ('c', 'No')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.levels import (
    Levels,
    column_levels,
    levels_of,
)
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import PATIENTS, column_label

#: Label of the group of patients whose split variable is missing.
NOT_RECORDED = "Not recorded"

#: Label of the all-patients column, and of the single group when no column is chosen.
OVERALL = "All patients"

#: Labels of a boolean grouping column's levels.
BOOL_LABELS = {False: "No", True: "Yes"}

#: Columns of `PatientGroups.members`.
PATIENT = "patient_id"
GROUP = "group"

#: A split variable may have at most this many groups (besides "Not recorded").
MAX_GROUPS = 12

#: The column holding each patient's group label where a frame needs one (p-values).
GROUP_COLUMN = "__group"

_VALUE_LABELS = {"sex": {"F": "Female", "M": "Male"}}


def _value_label(column: str, value: object) -> str:
    if isinstance(value, bool):
        return BOOL_LABELS[value]
    text = str(value)
    return _VALUE_LABELS.get(column, {}).get(text, text)


def level_labels(dtype: pl.DataType, ordered: Sequence[Any]) -> list[str]:
    """Labels of a column's levels: No/Yes, numbers without trailing zeros, else the text."""
    if dtype == pl.Boolean:
        return [BOOL_LABELS[bool(v)] for v in ordered]
    if dtype.is_numeric():
        return [f"{v:g}" if isinstance(v, float) else str(v) for v in ordered]
    return [str(v) for v in ordered]


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


@dataclass(frozen=True)
class PatientGroups:
    """Each grouped patient's label (`members`: patient_id, group), the labels in order, and
    the number of patients left out because their value is not recorded."""

    by: str | None
    labels: tuple[str, ...]
    members: pl.DataFrame
    missing: int


def group_patients(patients: pl.DataFrame, by: str | None = None) -> PatientGroups:
    """Split `patients` by column `by` (None: one group of everyone)."""
    if by is None:
        members = patients.select(PATIENT, pl.lit(OVERALL).alias(GROUP))
        return PatientGroups(None, (OVERALL,), members, 0)
    if unrecorded(patients, (by,)):
        raise Unavailable(
            f"Grouping by {column_label(by)} needs the column {by}, which the data do not record."
        )
    ordered, rows = column_levels(patients, by, _codes(patients, by))
    labels = level_labels(patients.schema[by], ordered)
    label_of = pl.Series(GROUP, [*labels, None], dtype=pl.String)
    members = pl.DataFrame({PATIENT: patients.get_column(PATIENT), GROUP: label_of.gather(rows)})
    missing = int((rows == len(labels)).sum())
    return PatientGroups(by, tuple(labels), members.drop_nulls(GROUP), missing)
