"""The audit: every published number beside the value recomputed from the data, with a status.

Targets live next to the bundled data (`data/debulking/targets.toml`): the figure as printed, the
value the data must give (the chosen reading where the paper contradicts itself), its
denominator, the quoted sentence and how to recompute it. Survival, response, best response,
conversion and PET-CT figures are recomputed by the app's own analyses (`summarise_survival`,
`response_by_timepoint`, `conversion_statements`), so the audit checks what the pages show.
Patient counts, medians and ranges are plain column counts (the numbers Table 1 shows).

The case series' targets (`data/recurrent_crs/targets.json`) are recomputed from `cases` and
`events` through the Cases pages' own analyses: Table 1 cells by `build_case_table`, rhythms,
first episodes and grades by `analyse_recurrence`; case counts, best responses and event days
are plain reads of the two tables.
"""

from __future__ import annotations

from bsab_explorer.audit.case_series import (
    RECURRENT_CRS,
    RECURRENT_CRS_TARGETS,
    audit_recurrent_crs,
    load_case_series,
)
from bsab_explorer.audit.cohort import (
    DEBULKING,
    DEBULKING_TARGETS,
    NOT_STORED,
    audit_debulking,
    audit_targets,
    load_targets,
)
from bsab_explorer.audit.findings import (
    AUDIT_STATUSES,
    DIFFERS,
    PAPER_INCONSISTENT,
    REPRODUCED,
    STATUS_ORDER,
    AuditRow,
    Recomputed,
    audit_counts,
    audit_frame,
    audit_rows,
    audit_studies,
)
from bsab_explorer.dataset import Dataset

__all__ = [
    "AUDIT_STATUSES",
    "DEBULKING",
    "DEBULKING_TARGETS",
    "DIFFERS",
    "NOT_STORED",
    "PAPER_INCONSISTENT",
    "RECURRENT_CRS",
    "RECURRENT_CRS_TARGETS",
    "REPRODUCED",
    "STATUS_ORDER",
    "AuditRow",
    "Recomputed",
    "audit_counts",
    "audit_dataset",
    "audit_debulking",
    "audit_frame",
    "audit_recurrent_crs",
    "audit_rows",
    "audit_studies",
    "audit_targets",
    "load_case_series",
    "load_targets",
]


def audit_dataset(dataset: Dataset) -> list[AuditRow]:
    """The audit rows of every study whose tables `dataset` holds."""
    rows = audit_debulking(dataset) if dataset.has("patients") else []
    if dataset.has("cases") or dataset.has("events"):
        rows += audit_recurrent_crs(dataset)
    return rows
