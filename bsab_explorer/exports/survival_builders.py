"""The builders of the Kaplan–Meier figure and the survival tables (medians, landmarks,
log-rank, Cox, follow-up, number at risk, RMST, proportional hazards, cumulative incidence,
forest plots): the options they read, and the call to `survival_statistics` that answers them.
"""

from __future__ import annotations

import polars as pl

from bsab_explorer.analyses.conversion import observed_timepoints
from bsab_explorer.analyses.cox_model import CoxFit, Ties
from bsab_explorer.analyses.logrank import LogRankWeights
from bsab_explorer.analyses.survival import (
    LANDMARK_MONTHS,
    CIMethod,
    Endpoint,
)
from bsab_explorer.analyses.survival_tables import follow_up_text
from bsab_explorer.exports import survival_statistics as stats
from bsab_explorer.exports.options import (
    Built,
    ExportUnavailable,
    Source,
    _by,
    _ci,
    _cohort,
    _column,
    _columns,
    _conf_level,
    _days,
    _endpoint,
    _flag,
)
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.exports.summary_builders import _survival_summary
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    DAYS_PER_MONTH,
    PATIENTS,
    timepoint_label,
)

#: Rows under a Kaplan–Meier chart (`--risk-table`).
RISK_TABLES: dict[str, tuple[str, ...]] = {
    "at-risk": ("n_risk",),
    "full": ("n_risk", "cum_events", "cum_censored"),
    "none": (),
}


def _tau(request: ExportRequest) -> float:
    days = _days(request, "tau") or (stats.DEFAULT_TAU_DAYS,)
    if len(days) != 1 or days[0] <= 0:
        raise ExportUnavailable("--tau is one horizon in days, above 0 (e.g. 365).")
    return days[0]


def _ties(request: ExportRequest) -> Ties:
    value = request.option("ties", Ties.EFRON.value) or Ties.EFRON.value
    try:
        return Ties(value)
    except ValueError:
        choices = ", ".join(t.value for t in Ties)
        raise ExportUnavailable(f"--ties must be one of {choices}, not '{value}'.") from None


def _weights(request: ExportRequest) -> LogRankWeights:
    value = request.option("weights", LogRankWeights.LOGRANK.value) or LogRankWeights.LOGRANK
    try:
        return LogRankWeights(value)
    except ValueError:
        choices = ", ".join(w.value for w in LogRankWeights)
        raise ExportUnavailable(f"--weights must be one of {choices}, not '{value}'.") from None


def _statistic(table: stats.StatisticTable) -> Built:
    return Built(table.data, notes=table.notes, summary=table.summary)


def _patients(source: Source, request: ExportRequest) -> pl.DataFrame:
    return _cohort(source, request).patients


def _follow_up(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    table = stats.follow_up_table(patients, _endpoint(request), _ci(request), _conf_level(request))
    return _statistic(table)


def _number_at_risk(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    times = _days(request, "times") or stats.DEFAULT_RISK_DAYS
    return _statistic(stats.risk_table(patients, _endpoint(request), _by(request, patients), times))


def _landmarks(source: Source, request: ExportRequest) -> Built:
    times = _days(request, "times")
    if not times:
        summary = _survival_summary(source, request)
        return Built(summary.landmarks_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    patients = _patients(source, request)
    table = stats.landmark_table(
        patients,
        _endpoint(request),
        _by(request, patients),
        times,
        _ci(request),
        _conf_level(request),
    )
    return _statistic(table)


def _rmst(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    table = stats.rmst_table(
        patients, _endpoint(request), _by(request, patients), _tau(request), _conf_level(request)
    )
    return _statistic(table)


def _logrank(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    if request.option("weights") is None and request.option("strata") is None:
        summary = _survival_summary(source, request)
        return Built(summary.logrank_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    by = _by(request, patients)
    if by is None:
        raise ExportUnavailable("A weighted or stratified log-rank test compares groups: --by.")
    table = stats.logrank_table(
        patients, _endpoint(request), by, _weights(request), _column(request, "strata", patients)
    )
    return _statistic(table)


def _cox_fit(source: Source, request: ExportRequest) -> CoxFit:
    patients = _patients(source, request)
    by = _by(request, patients)
    covariates = [*([by] if by else []), *_columns(request, "covariates", patients)]
    if not covariates:
        raise stats.NoModel("No Cox model: name its covariates with --by or --covariates.")
    reference = request.option("reference")
    reference_of = {}
    if reference is not None:
        dtype = patients.schema[covariates[0]]
        if dtype == pl.Boolean and reference.lower() not in ("no", "false"):
            raise ExportUnavailable(
                f"--reference: the model compares Yes with No for {covariates[0]}, a yes/no "
                "column; No is its reference."
            )
        if dtype.is_numeric():
            raise ExportUnavailable(f"--reference: {covariates[0]} is a number, without levels.")
        if dtype != pl.Boolean:
            reference_of = {covariates[0]: reference}
    return stats.fit_model(
        patients,
        _endpoint(request),
        covariates,
        strata=_column(request, "strata", patients),
        reference=reference_of,
        ties=_ties(request),
        conf_level=_conf_level(request),
    )


def _cox(source: Source, request: ExportRequest) -> Built:
    multivariable = ("covariates", "strata", "reference", "ties")
    if all(request.option(flag) is None for flag in multivariable):
        # With --by only: the page's model of the groups, the numbers as they always were.
        summary = _survival_summary(source, request)
        return Built(summary.cox_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    try:
        return _statistic(stats.cox_table(_cox_fit(source, request)))
    except stats.NoModel as reason:
        return _statistic(stats.no_model_table(reason, proportional_hazards=False))


def _proportional_hazards(source: Source, request: ExportRequest) -> Built:
    try:
        return _statistic(stats.proportional_hazards_table(_cox_fit(source, request)))
    except stats.NoModel as reason:
        return _statistic(stats.no_model_table(reason, proportional_hazards=True))


def _incidence(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    times = _days(request, "times") or tuple(m * DAYS_PER_MONTH for m in LANDMARK_MONTHS)
    table = stats.incidence_table(patients, _by(request, patients), times, _conf_level(request))
    from bsab_explorer.charts.cumulative_incidence import cumulative_incidence_chart

    chart = cumulative_incidence_chart(table.summary, stats.COMPETING_EVENT)
    return Built(table.data, chart, table.notes, table.summary)


def _subgroups(
    request: ExportRequest, patients: pl.DataFrame, by: str | None = None
) -> tuple[str, ...]:
    names = _columns(request, "subgroups", patients)
    if not names:
        names = tuple(c for c in stats.DEFAULT_SUBGROUPS if c in patients.columns and c != by)
    if not names:
        raise ExportUnavailable("A forest plot needs subgroup columns: --subgroups A,B,...")
    return names


def _forest(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    by = _by(request, patients) or stats.DEFAULT_COMPARISON
    if by not in patients.columns:
        raise ExportUnavailable("A forest plot compares two groups: --by COLUMN.")
    table = stats.forest_table(
        patients,
        _endpoint(request),
        by,
        _subgroups(request, patients, by),
        reference=request.option("reference"),
        ties=_ties(request),
        conf_level=_conf_level(request),
    )
    from bsab_explorer.charts.forest import forest_chart

    return Built(table.data, forest_chart(table.summary), table.notes, table.summary)


def _forest_response(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    patients = cohort.patients
    subgroups = _subgroups(request, patients)
    timepoint = request.option("timepoint", BEST_TIMEPOINT) or BEST_TIMEPOINT
    response = "__response"
    if timepoint == BEST_TIMEPOINT:
        if "best_response" not in patients.columns:
            raise ExportUnavailable("The best response needs the column best_response.")
        frame = patients.with_columns(pl.col("best_response").alias(response))
    else:
        responses = cohort.responses
        if timepoint not in observed_timepoints(responses):
            raise ExportUnavailable(f"'{timepoint}' is not a timepoint of these data.")
        at = responses.filter(pl.col("timepoint") == timepoint).select(
            PATIENTS.key, pl.col("response").alias(response)
        )
        # The pseudonym only joins the two tables; it leaves no table, file or chart.
        frame = patients.join(at, on=PATIENTS.key, how="left").drop(PATIENTS.key)
    table = stats.forest_response_table(
        frame.select(response, *subgroups), response, subgroups, _conf_level(request)
    )
    from bsab_explorer.charts.forest import response_forest_chart

    chart = response_forest_chart(table.summary, timepoint_label(timepoint))
    return Built(table.data, chart, table.notes, table.summary)


def _follow_up_line(source: Source, request: ExportRequest) -> str | None:
    """The median follow-up under a KM figure (reverse Kaplan–Meier of OS), when OS is recorded."""
    patients = _cohort(source, request).patients
    os = Endpoint.OS
    if any(c not in patients.columns for c in (os.time_column, os.event_column)):
        return None
    table = stats.follow_up_table(patients, os, CIMethod.LOG, _conf_level(request))
    if table.summary.n == 0:
        return None
    return f"Median follow-up {follow_up_text(table.summary)} (reverse Kaplan–Meier of OS)"


def _km(source: Source, request: ExportRequest) -> Built:
    summary = _survival_summary(source, request)
    notes = (*summary.warnings, *summary.notes)
    bands = _flag(request, "bands", default=True)
    median = _flag(request, "median", default=False)
    risk = request.option("risk-table", "at-risk") or "at-risk"
    if risk not in RISK_TABLES:
        raise ExportUnavailable(
            f"--risk-table must be one of {', '.join(RISK_TABLES)}, not '{risk}'."
        )
    from bsab_explorer.charts.survival import km_chart  # Altair, for figures only

    chart = km_chart(
        summary,
        show_ci=bands,
        show_median=median,
        risk_rows=RISK_TABLES[risk],
        follow_up=_follow_up_line(source, request),
    )
    return Built(summary.curves_frame(), chart, notes, summary)
