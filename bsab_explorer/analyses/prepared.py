"""What every filter of a dataset reuses, derived once, as an explicit value, when it is loaded.

A filter change must not re-read every patient's response codes: the whole dataset is indexed
once (`PreparedDataset`), and each cohort takes only its patients' columns of those grids
(`cohort_index`). Nothing here remembers anything: the caller keeps the prepared value (the app
keeps it in its cache, in `bsab_explorer.ui.cache`, keyed by the dataset's fingerprint) and
passes it in, so that every function is a plain function of its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bsab_explorer.analyses.response import IndexedCohort, index_cohort
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import Cohort, CohortFilter, response_owners, select_cohort
from bsab_explorer.schema import PATIENTS, RESPONSES


@dataclass(frozen=True, eq=False)
class PreparedDataset:
    """A dataset with what every filter of it reuses.

    `owners`: for each row of the responses table, the row of its patient (`response_owners`).
    `index`: every patient's responses as integer grids (`index_cohort` of the whole dataset),
    with its pseudonym order already sorted.
    """

    dataset: Dataset
    owners: np.ndarray
    index: IndexedCohort

    @property
    def fingerprint(self) -> str:
        """The dataset's fingerprint (what a cache of this value is keyed by)."""
        return self.dataset.fingerprint


def prepare_dataset(
    dataset: Dataset, *, progress: Callable[[float, str], None] | None = None
) -> PreparedDataset:
    """Derive what every filter of `dataset` reuses (the app does it once, when it loads).

    `progress`, when given, is told how far it is (fraction done, what it does, in words).
    """
    if progress is not None:
        progress(0.0, "Preparing the pages: the patient of each response")
    owners = response_owners(dataset)
    if progress is not None:
        progress(0.3, "Preparing the pages: responses by timepoint")
    index = index_cohort(dataset.table(PATIENTS.name), dataset.table(RESPONSES.name), owners)
    if progress is not None:
        progress(0.9, "Preparing the pages: patients in pseudonym order")
    _ = index.pseudonym_order  # sorted once here; every filter renumbers it
    if progress is not None:
        progress(1.0, "Preparing the pages: done")
    return PreparedDataset(dataset, owners, index)


def select_prepared_cohort(prepared: PreparedDataset, cohort_filter: CohortFilter) -> Cohort:
    """`select_cohort` of the prepared dataset, reusing its responses' patient rows."""
    return select_cohort(prepared.dataset, cohort_filter, prepared.owners)


def cohort_index(cohort: Cohort, prepared: PreparedDataset | None = None) -> IndexedCohort:
    """The response index of a cohort: equal to ``index_cohort(cohort.patients,
    cohort.responses)``.

    Given the prepared dataset the cohort was selected from, the whole dataset's index is only
    narrowed to the cohort's patients (no response code is read again); without it, the cohort's
    frames are indexed.
    """
    if prepared is None:
        return index_cohort(cohort.patients, cohort.responses)
    if cohort.total != prepared.index.n:
        raise ValueError("the cohort was not selected from this prepared dataset")
    if cohort.rows is None:
        return prepared.index
    return prepared.index.restricted(cohort.rows, cohort.patients.get_column(PATIENTS.key))
