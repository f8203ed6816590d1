"""The builders of the survival summary's own tables, medians and Kaplan–Meier estimates, and
the summary every survival view starts from (`survival_summary`).

Apart from `survival_builders` because they need only the summary: a medians table imports
none of the further statistics (Cox models, competing risks, forests), nor fits any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import polars as pl

from bsab_explorer.analyses.survival import SurvivalSummary, required_columns, summarise_survival
from bsab_explorer.exports.options import (
    Builder,
    Built,
    ExportUnavailable,
    Source,
    _ci,
    _cohort,
    _conf_level,
    _endpoint,
)

if TYPE_CHECKING:
    from bsab_explorer.analyses.prepared import PreparedDataset
    from bsab_explorer.dataset import Dataset
    from bsab_explorer.exports.request import ExportRequest


def survival_summary(
    dataset: Dataset, request: ExportRequest, prepared: PreparedDataset | None = None
) -> SurvivalSummary:
    """The survival summary a request names (endpoint, by, CI method) under its filter."""
    return _survival_summary(Source(dataset, prepared), request)


def _survival_summary(source: Source, request: ExportRequest) -> SurvivalSummary:
    cohort = _cohort(source, request)
    patients = cohort.patients
    endpoint = _endpoint(request)
    missing = [c for c in required_columns(endpoint, request.by) if c not in patients.columns]
    if missing:
        raise ExportUnavailable(f"Survival needs the column(s) {', '.join(missing)}.")
    return summarise_survival(
        cohort.patients, endpoint, request.by, _ci(request), conf_level=_conf_level(request)
    )


def _survival_table(frame_of: Callable[[SurvivalSummary], pl.DataFrame]) -> Builder:
    def build(source: Source, request: ExportRequest) -> Built:
        summary = _survival_summary(source, request)
        # Medians and curves show no p-value or hazard ratio: of the summary's warnings only the
        # small groups concern them (and the Cox model is not fitted for a note it cannot use).
        notes = (*summary.small_group_warnings, *summary.notes)
        return Built(frame_of(summary), notes=notes, summary=summary)

    return build


#: The medians table (`table survival-medians`).
_medians = _survival_table(SurvivalSummary.medians_frame)
#: The Kaplan–Meier estimates table (`table survival-curve`).
_curve_table = _survival_table(SurvivalSummary.curves_frame)
