"""Kaplan–Meier curves, medians, landmarks, log-rank and Cox models for PFS and OS.

One module a method, as lifelines keeps one fitter a file: `tabulation` (patients and events
per group and distinct time, which every method starts from), `kaplan_meier`, `logrank`, `cox`,
and `summary` (the one entry point, `summarise_survival`). The names below are the public ones.

Every number equals R's `survival` package (3.5): `survfit` (Greenwood variance, conf.type
`log`, `log-log`, `plain`), `print.survfit` medians, `summary.survfit(times = )`, `survdiff` and
`coxph(ties = "efron")`. The R script and the values it printed are in tests/reference/survival/.
"""

from bsab_explorer.analyses.groups import BOOL_LABELS
from bsab_explorer.analyses.survival.cox import TIE_EXPANSION_LIMIT, CoxModel, HazardRatio
from bsab_explorer.analyses.survival.kaplan_meier import (
    CIMethod,
    KaplanMeierCurve,
    MedianEstimate,
    SurvivalAt,
    estimate_kaplan_meier,
)
from bsab_explorer.analyses.survival.logrank import ChiSquareTest, LogRankTest
from bsab_explorer.analyses.survival.summary import (
    LANDMARK_MONTHS,
    OVERALL_GROUP,
    SMALL_GROUP_SIZE,
    Endpoint,
    GroupSurvival,
    SurvivalSummary,
    cohort_survival,
    required_columns,
    summarise_survival,
)
from bsab_explorer.analyses.survival.tabulation import align_tied_times

__all__ = [
    "BOOL_LABELS",
    "LANDMARK_MONTHS",
    "OVERALL_GROUP",
    "SMALL_GROUP_SIZE",
    "TIE_EXPANSION_LIMIT",
    "CIMethod",
    "ChiSquareTest",
    "CoxModel",
    "Endpoint",
    "GroupSurvival",
    "HazardRatio",
    "KaplanMeierCurve",
    "LogRankTest",
    "MedianEstimate",
    "SurvivalAt",
    "SurvivalSummary",
    "align_tied_times",
    "cohort_survival",
    "estimate_kaplan_meier",
    "required_columns",
    "summarise_survival",
]
