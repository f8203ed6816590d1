"""Patients split by one column of the patients table, for the response and safety endpoints.

The groups and their order are those of the survival analysis (`levels.column_levels`): No
before Yes, numbers ascending, contract codes in contract order, other values alphabetically
after them. A patient whose value is not recorded belongs to no group and is counted, as R's
`na.omit` does; the views say how many.

>>> patients = pl.DataFrame({"patient_id": ["a", "b", "c"], "emd": [True, None, False]})
>>> groups = group_patients(patients, "emd")
>>> groups.labels, groups.missing
(('No', 'Yes'), 1)
>>> groups.members.rows()
[('a', 'Yes'), ('c', 'No')]
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.levels import column_levels
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import PATIENTS, column_label

#: Label of the single group when no grouping column is chosen.
OVERALL_GROUP = "All patients"
#: Labels of a boolean grouping column's levels.
BOOL_LABELS = {False: "No", True: "Yes"}

PATIENT = "patient_id"
GROUP = "group"


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
        members = patients.select(PATIENT, pl.lit(OVERALL_GROUP).alias(GROUP))
        return PatientGroups(None, (OVERALL_GROUP,), members, 0)
    if unrecorded(patients, (by,)):
        raise Unavailable(
            f"Grouping by {column_label(by)} needs the column {by}, which the data do not record."
        )
    dtype = patients.schema[by]
    codes = () if dtype == pl.Boolean else PATIENTS.codes_of(by)
    ordered, rows = column_levels(patients, by, codes)
    if dtype == pl.Boolean:
        labels = [BOOL_LABELS[bool(v)] for v in ordered]
    elif dtype.is_numeric():
        labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in ordered]
    else:
        labels = [str(v) for v in ordered]
    label_of = pl.Series(GROUP, [*labels, None], dtype=pl.String)
    members = pl.DataFrame({PATIENT: patients.get_column(PATIENT), GROUP: label_of.gather(rows)})
    missing = int((rows == len(labels)).sum())
    return PatientGroups(by, tuple(labels), members.drop_nulls(GROUP), missing)
