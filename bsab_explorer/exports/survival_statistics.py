"""The survival statistics beyond the page's summary as tables: follow-up, risk tables, RMST,
weighted and stratified log-rank, multivariable Cox, the proportional-hazards test, competing
risks and subgroup forests.

Each function takes the filtered patients (and, for the response forest, their responses) with
the options of an `ExportRequest` already read, calls one pure analysis of
`bsab_explorer.analyses` (R-checked, see their docstrings) and returns a `StatisticTable`: the
rows a file holds, the notes a reader must see beside them (small data, non-convergence, tests
not computed and why) and the analysis value the page formats. The catalogue wraps them into
its entries, so the page, the CLI, the report and the downloads share one computation.

A reason an analysis cannot answer is an `Unavailable` with the words a user reads; a guard of
small data is a note and, where a row is concerned, a text column of that row, so a CSV read
without its provenance file still says it.

(One module over 500 lines: ten tables that share the reading of an endpoint, of groups and of
the small-data notes; split by statistic, each file would repeat that reading or import it
from a third, and a reader comparing two tables' columns would open two files.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from bsab_explorer.analyses.competing_risks import (
    CompetingEvent,
    derive_competing_outcomes,
    estimate_cumulative_incidence,
)
from bsab_explorer.analyses.cox_model import TERM_SCHEMA, CoxFit, Ties, fit_cox_model
from bsab_explorer.analyses.follow_up import estimate_follow_up
from bsab_explorer.analyses.forest import (
    SubgroupHazard,
    SubgroupRate,
    SubgroupResponse,
    estimate_subgroup_hazards,
    estimate_subgroup_response,
)
from bsab_explorer.analyses.landmarks import estimate_landmarks
from bsab_explorer.analyses.levels import levels_of
from bsab_explorer.analyses.logrank import LogRankWeights, compare_survival
from bsab_explorer.analyses.number_at_risk import count_at_risk
from bsab_explorer.analyses.proportional_hazards import assess_proportional_hazards
from bsab_explorer.analyses.rmst import estimate_rmst
from bsab_explorer.analyses.survival import BOOL_LABELS, OVERALL_GROUP, CIMethod, Endpoint
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import DAYS_PER_MONTH, column_label

#: Times (days) of the number-at-risk table when none are given: every 3 months to 2 years.
DEFAULT_RISK_DAYS = (0.0, 91.0, 182.0, 274.0, 365.0, 548.0, 730.0)
#: Horizon (days) of the RMST when none is given: one year.
DEFAULT_TAU_DAYS = 365.0
#: The forest plots' comparison and subgroup columns when none are given (those the data have).
DEFAULT_COMPARISON = "emd"
DEFAULT_SUBGROUPS = ("sex", "iss_stage", "hrca", "bsab")


@dataclass(frozen=True)
class StatisticTable:
    """One statistic as a table: its rows, the notes beside them and the analysis value."""

    data: pl.DataFrame
    notes: tuple[str, ...] = ()
    summary: Any = None


@dataclass(frozen=True)
class Outcome:
    """One endpoint's time, event and group code per kept patient, with the group labels."""

    time: np.ndarray
    event: np.ndarray
    codes: np.ndarray
    labels: tuple[str, ...]
    #: Patients left out (no time or status, or no grouping value), in words.
    notes: tuple[str, ...]


def _label(value: object) -> str:
    if isinstance(value, bool):
        return BOOL_LABELS[value]
    return f"{value:g}" if isinstance(value, float) else str(value)


def _coded(frame: pl.DataFrame, column: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The levels of `column` as labels, and each row's level (the number of levels where the
    value is not recorded)."""
    found = levels_of(frame, column, None)
    return tuple(_label(v) for v in found.values), np.asarray(found.rows, dtype=np.int64)


def _unrecorded(count: int, column: str, analysis: str) -> list[str]:
    """The note on `count` patients left out of `analysis` for `column` not recorded."""
    if not count:
        return []
    label = column_label(column)
    return [f"{count} patient(s) with {label} not recorded excluded from {analysis}."]


def _need(patients: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in patients.columns]
    if missing:
        raise Unavailable(f"This table needs the column(s) {', '.join(missing)}.")


def endpoint_outcome(patients: pl.DataFrame, endpoint: Endpoint, by: str | None) -> Outcome:
    """Time, event and group codes of the patients with the endpoint (and `by`) recorded."""
    _need(patients, [endpoint.time_column, endpoint.event_column, *([by] if by else [])])
    time = patients.get_column(endpoint.time_column).cast(pl.Float64).to_numpy()
    flags = patients.get_column(endpoint.event_column).cast(pl.Boolean).cast(pl.Int8)
    event = flags.fill_null(-1).to_numpy()
    kept = ~np.isnan(time) & (event >= 0)
    notes = []
    if (~kept).sum():
        notes.append(
            f"{int((~kept).sum())} patient(s) without a recorded {endpoint.value.upper()} time "
            "or status excluded."
        )
    if by is None:
        labels: tuple[str, ...] = (OVERALL_GROUP,)
        codes = np.zeros(patients.height, dtype=np.int64)
    else:
        labels, codes = _coded(patients, by)
        grouped = kept & (codes < len(labels))
        notes += _unrecorded(int((kept & ~grouped).sum()), by, "the comparison")
        kept = grouped
    return Outcome(time[kept], event[kept] == 1, codes[kept], labels, tuple(notes))


def _compare(outcome: Outcome) -> tuple[str, str] | None:
    present = [label for k, label in enumerate(outcome.labels) if (outcome.codes == k).any()]
    # The difference reads "second minus first level", as R's contrast of the later group.
    return (present[1], present[0]) if len(present) == 2 else None


# --- follow-up and risk tables ------------------------------------------------------------------


def follow_up_table(
    patients: pl.DataFrame, endpoint: Endpoint, ci: CIMethod, conf_level: float
) -> StatisticTable:
    """Median follow-up by reverse Kaplan–Meier (of the endpoint's censoring) with its CI."""
    outcome = endpoint_outcome(patients, endpoint, None)
    fu = estimate_follow_up(outcome.time, outcome.event, ci=ci, conf_level=conf_level)
    data = pl.DataFrame(
        {
            "endpoint": [endpoint.value],
            "n": [fu.n],
            "censored": [fu.censored],
            "median_months": [fu.median_months],
            "ci_lower_months": [fu.lower_months],
            "ci_upper_months": [fu.upper_months],
            "median_days": [fu.median_days],
            "ci_lower_days": [fu.lower_days],
            "ci_upper_days": [fu.upper_days],
        },
        schema={
            "endpoint": pl.String,
            "n": pl.Int64,
            "censored": pl.Int64,
            **dict.fromkeys(
                (
                    "median_months",
                    "ci_lower_months",
                    "ci_upper_months",
                    "median_days",
                    "ci_lower_days",
                    "ci_upper_days",
                ),
                pl.Float64,
            ),
        },
    )
    return StatisticTable(data, outcome.notes, fu)


def risk_table(
    patients: pl.DataFrame, endpoint: Endpoint, by: str | None, times: Sequence[float]
) -> StatisticTable:
    """At risk, cumulative events and cumulative censored per group at `times` (days)."""
    outcome = endpoint_outcome(patients, endpoint, by)
    table = count_at_risk(outcome.time, outcome.event, outcome.codes, outcome.labels, times)
    present = [g for k, g in enumerate(outcome.labels) if (outcome.codes == k).any()]
    data = table.table.filter(pl.col("group").is_in(present)).rename({"time": "time_days"})
    return StatisticTable(data, outcome.notes, table)


def landmark_table(
    patients: pl.DataFrame,
    endpoint: Endpoint,
    by: str | None,
    times: Sequence[float],
    ci: CIMethod,
    conf_level: float,
) -> StatisticTable:
    """Survival per group at `times` (days) and, with two groups, their difference and its CI."""
    outcome = endpoint_outcome(patients, endpoint, by)
    compare = _compare(outcome)
    found = estimate_landmarks(
        outcome.time,
        outcome.event,
        outcome.codes,
        outcome.labels,
        times,
        compare=compare,
        ci=ci,
        conf_level=conf_level,
    )
    rows = []
    for k, group in enumerate(found.groups):
        if not (outcome.codes == k).any():
            continue
        for at in found.estimates[k]:
            rows.append(
                {
                    "group": group,
                    "time_days": at.days,
                    "months": at.days / DAYS_PER_MONTH,
                    "n_risk": at.n_risk,
                    "surv": at.surv,
                    "std_err": at.std_err,
                    "ci_lower": at.lower,
                    "ci_upper": at.upper,
                }
            )
    for d in found.differences:
        rows.append(
            {
                "group": f"{d.first} − {d.second}",
                "time_days": d.days,
                "months": d.days / DAYS_PER_MONTH,
                "n_risk": None,
                "difference": d.difference,
                "difference_se": d.std_err,
                "difference_ci_lower": d.lower,
                "difference_ci_upper": d.upper,
                "p_value": d.p_value,
            }
        )
    schema = {
        "group": pl.String,
        "time_days": pl.Float64,
        "months": pl.Float64,
        "n_risk": pl.Int64,
        "surv": pl.Float64,
        "std_err": pl.Float64,
        "ci_lower": pl.Float64,
        "ci_upper": pl.Float64,
        "difference": pl.Float64,
        "difference_se": pl.Float64,
        "difference_ci_lower": pl.Float64,
        "difference_ci_upper": pl.Float64,
        "p_value": pl.Float64,
    }
    data = pl.DataFrame([{**dict.fromkeys(schema), **r} for r in rows], schema=schema)
    return StatisticTable(data, outcome.notes, found)


# --- RMST and log-rank --------------------------------------------------------------------------


def rmst_table(
    patients: pl.DataFrame, endpoint: Endpoint, by: str | None, tau: float, conf_level: float
) -> StatisticTable:
    """Restricted mean survival up to `tau` days per group, and the difference of two groups."""
    outcome = endpoint_outcome(patients, endpoint, by)
    try:
        found = estimate_rmst(
            outcome.time,
            outcome.event,
            outcome.codes,
            outcome.labels,
            tau,
            compare=_compare(outcome),
            conf_level=conf_level,
        )
    except ValueError as error:
        raise Unavailable(f"RMST: {error}.") from None
    rows = [
        {
            "group": m.group,
            "n": m.n,
            "events": m.events,
            "tau_days": m.tau,
            "rmst_days": m.days,
            "se_days": m.std_err,
            "ci_lower_days": m.lower,
            "ci_upper_days": m.upper,
            "p_value": None,
        }
        for m in found.means
    ]
    if found.difference is not None:
        d = found.difference
        rows.append(
            {
                "group": f"{d.first} − {d.second}",
                "n": None,
                "events": None,
                "tau_days": tau,
                "rmst_days": d.difference,
                "se_days": d.std_err,
                "ci_lower_days": d.lower,
                "ci_upper_days": d.upper,
                "p_value": d.p_value,
            }
        )
    schema = {
        "group": pl.String,
        "n": pl.Int64,
        "events": pl.Int64,
        **dict.fromkeys(
            ("tau_days", "rmst_days", "se_days", "ci_lower_days", "ci_upper_days", "p_value"),
            pl.Float64,
        ),
    }
    data = pl.DataFrame(rows, schema=schema).with_columns(
        (pl.col("rmst_days") / DAYS_PER_MONTH).alias("rmst_months")
    )
    return StatisticTable(data, outcome.notes, found)


def logrank_table(
    patients: pl.DataFrame,
    endpoint: Endpoint,
    by: str,
    weights: LogRankWeights,
    strata: str | None,
) -> StatisticTable:
    """Observed and expected per group with the (weighted, stratified) chi-square test."""
    outcome = endpoint_outcome(patients, endpoint, by)
    notes = list(outcome.notes)
    strata_codes = None
    strata_labels: tuple[str, ...] = ()
    time, event, codes = outcome.time, outcome.event, outcome.codes
    if strata is not None:
        _need(patients, [strata])
        frame = patients.filter(_kept_mask(patients, endpoint, by))
        strata_labels, layer = _coded(frame, strata)
        recorded = layer < len(strata_labels)
        notes += _unrecorded(int((~recorded).sum()), strata, "the stratified test")
        time, event, codes, strata_codes = (
            time[recorded],
            event[recorded],
            codes[recorded],
            layer[recorded],
        )
    test = compare_survival(
        time,
        event,
        codes,
        outcome.labels,
        weights=weights,
        strata=strata_codes,
        strata_labels=strata_labels,
    )
    schema = {
        "group": pl.String,
        "n": pl.Int64,
        "observed": pl.Float64,
        "expected": pl.Float64,
        "chi2": pl.Float64,
        "df": pl.Int64,
        "p_value": pl.Float64,
        "weights": pl.String,
        "strata": pl.String,
    }
    if test is None:
        notes.append("No test: fewer than two groups are expected to have an event.")
        return StatisticTable(pl.DataFrame(schema=schema), tuple(notes), None)
    rows = [
        {
            "group": group,
            "n": int((codes == k).sum()),
            "observed": test.observed[k],
            "expected": test.expected[k],
            "chi2": test.chi2,
            "df": test.df,
            "p_value": test.p_value,
            "weights": weights.value,
            "strata": None if strata is None else strata,
        }
        for k, group in enumerate(test.groups)
        if (codes == k).any()
    ]
    return StatisticTable(pl.DataFrame(rows, schema=schema), tuple(notes), test)


def _kept_mask(patients: pl.DataFrame, endpoint: Endpoint, by: str | None) -> pl.Series:
    """Rows `endpoint_outcome` keeps, as a boolean mask of `patients`."""
    kept = pl.col(endpoint.time_column).is_not_null() & pl.col(endpoint.event_column).is_not_null()
    if by is not None:
        kept &= pl.col(by).is_not_null()
    return patients.select(kept.alias("kept")).get_column("kept")


# --- Cox models ---------------------------------------------------------------------------------


class NoModel(Unavailable):
    """A Cox model the data cannot support (no event, a covariate that does not vary...)."""


def fit_model(
    patients: pl.DataFrame,
    endpoint: Endpoint,
    covariates: Sequence[str],
    *,
    strata: str | None,
    reference: dict[str, str],
    ties: Ties,
    conf_level: float,
) -> CoxFit:
    """The multivariable Cox model of the endpoint on `covariates` (within `strata`); raises
    `NoModel` with the reason when these patients cannot support one."""
    _need(patients, [endpoint.time_column, endpoint.event_column, *covariates])
    _need(patients, [strata] if strata else [])
    try:
        return fit_cox_model(
            patients,
            time=endpoint.time_column,
            event=endpoint.event_column,
            covariates=covariates,
            strata=strata,
            ties=ties,
            reference=reference,
            conf_level=conf_level,
        )
    except ValueError as error:
        raise NoModel(f"No Cox model: {error}.") from None


_COX_SCHEMA = {
    **{name: kind for name, kind in TERM_SCHEMA.items() if name != "z"},
    "n": pl.Int64,
    "events": pl.Int64,
    "events_per_variable": pl.Float64,
    "converged": pl.Boolean,
    "ties": pl.String,
    "strata": pl.String,
    "concordance": pl.Float64,
    "likelihood_ratio_chi2": pl.Float64,
    "likelihood_ratio_p": pl.Float64,
    "wald_chi2": pl.Float64,
    "wald_p": pl.Float64,
    "score_chi2": pl.Float64,
    "score_p": pl.Float64,
    "warning": pl.String,
}
_PH_SCHEMA = {
    "term": pl.String,
    "chi2": pl.Float64,
    "df": pl.Int64,
    "p_value": pl.Float64,
    "transform": pl.String,
}


def no_model_table(reason: NoModel, proportional_hazards: bool) -> StatisticTable:
    """The empty Cox (or proportional-hazards) table of a model that cannot be fitted: no row,
    the reason as its note (as the log-rank table without two groups)."""
    schema = _PH_SCHEMA if proportional_hazards else _COX_SCHEMA
    return StatisticTable(pl.DataFrame(schema=schema), (str(reason),), None)


def cox_table(fit: CoxFit) -> StatisticTable:
    """One row per coefficient, with the model's global tests, concordance and guards."""
    terms = fit.frame().drop("z")
    warning = " ".join(fit.warnings) or None
    model = {
        "n": fit.n,
        "events": fit.events,
        "events_per_variable": fit.events_per_variable,
        "converged": fit.converged,
        "ties": fit.ties.value,
        "strata": fit.strata,
        "concordance": fit.concordance,
        "likelihood_ratio_chi2": fit.likelihood_ratio.chi2,
        "likelihood_ratio_p": fit.likelihood_ratio.p_value,
        "wald_chi2": fit.wald.chi2,
        "wald_p": fit.wald.p_value,
        "score_chi2": fit.score.chi2,
        "score_p": fit.score.p_value,
        "warning": warning,
    }
    data = terms.with_columns(
        pl.lit(value, dtype=_COX_SCHEMA[name]).alias(name) for name, value in model.items()
    ).select(list(_COX_SCHEMA))
    notes = list(fit.warnings)
    if fit.excluded_missing:
        notes.append(
            f"{fit.excluded_missing} patient(s) with a covariate or the outcome not recorded "
            "excluded from the model."
        )
    return StatisticTable(data, tuple(notes), fit)


def proportional_hazards_table(fit: CoxFit) -> StatisticTable:
    """The test of proportional hazards per covariate and global (R's `cox.zph`)."""
    try:
        test = assess_proportional_hazards(fit)
    except np.linalg.LinAlgError:
        # R's cox.zph stops too ("system is computationally singular"): said in words instead.
        why = NoModel(
            "No test of proportional hazards: its information matrix is singular (too few "
            f"patients or events for {len(fit.coefficients)} coefficient(s): "
            f"{fit.n} patients, {fit.events} event(s)). Choose fewer covariates or a wider filter."
        )
        return no_model_table(why, proportional_hazards=True)
    rows = [*test.terms, test.overall]
    data = pl.DataFrame(
        {
            "term": [r.term for r in rows],
            "chi2": [r.chi2 for r in rows],
            "df": [r.df for r in rows],
            "p_value": [r.p_value for r in rows],
            "transform": [test.transform] * len(rows),
        },
        schema=_PH_SCHEMA,
    )
    return StatisticTable(data, fit.warnings, test)


# --- competing risks ----------------------------------------------------------------------------


def incidence_table(
    patients: pl.DataFrame, by: str | None, times: Sequence[float], conf_level: float
) -> StatisticTable:
    """Cumulative incidence of progression and of death without progression at `times` (days),
    per group, with Gray's test between groups."""
    pfs, os = Endpoint.PFS, Endpoint.OS
    needed = [pfs.time_column, pfs.event_column, os.time_column, os.event_column]
    _need(patients, [*needed, *([by] if by else [])])
    outcomes = derive_competing_outcomes(patients)
    frame = patients.filter(pl.Series(outcomes.kept))
    notes = []
    if outcomes.excluded:
        notes.append(
            f"{outcomes.excluded} patient(s) without the PFS and OS times and statuses needed "
            "to tell progression from death excluded."
        )
    time, status = outcomes.time, outcomes.status
    if by is None:
        labels: tuple[str, ...] = (OVERALL_GROUP,)
        codes = np.zeros(frame.height, dtype=np.int64)
    else:
        labels, codes = _coded(frame, by)
        recorded = codes < len(labels)
        notes += _unrecorded(int((~recorded).sum()), by, "the comparison")
        time, status, codes = time[recorded], status[recorded], codes[recorded]
    risks = estimate_cumulative_incidence(time, status, codes, labels)
    rows = []
    for curve in risks.curves:
        test = risks.test(curve.event)
        for at in curve.at(times, conf_level):
            rows.append(
                {
                    "event": curve.event.label,
                    "group": curve.group,
                    "time_days": at.days,
                    "n": curve.n,
                    "events": curve.events,
                    "incidence": at.estimate,
                    "se": at.std_err,
                    "ci_lower": at.lower,
                    "ci_upper": at.upper,
                    "gray_chi2": None if test is None else test.chi2,
                    "gray_df": None if test is None else test.df,
                    "gray_p": None if test is None else test.p_value,
                    "gray_note": None if test is None else test.not_computed,
                }
            )
    for test in risks.tests:
        if test.not_computed:
            notes.append(f"Gray's test of {test.event.label.lower()}: {test.not_computed}.")
    schema = {
        "event": pl.String,
        "group": pl.String,
        "time_days": pl.Float64,
        "n": pl.Int64,
        "events": pl.Int64,
        "incidence": pl.Float64,
        "se": pl.Float64,
        "ci_lower": pl.Float64,
        "ci_upper": pl.Float64,
        "gray_chi2": pl.Float64,
        "gray_df": pl.Int64,
        "gray_p": pl.Float64,
        "gray_note": pl.String,
    }
    return StatisticTable(pl.DataFrame(rows, schema=schema), tuple(notes), risks)


#: The competing event of the cumulative-incidence table and figure, named.
COMPETING_EVENT = CompetingEvent.DEATH_WITHOUT_PROGRESSION.label


# --- forests ------------------------------------------------------------------------------------


def _hazard_row(h: SubgroupHazard, variable: Any) -> dict[str, Any]:
    return {
        "variable": h.variable,
        "level": h.level if h.variable is not None else "All patients",
        "n": h.n,
        "events": h.events,
        "hazard_ratio": h.hazard_ratio,
        "ci_lower": h.lower,
        "ci_upper": h.upper,
        "p_value": h.p_value,
        "interaction_p": None if variable is None else variable.interaction_p,
        "note": h.note,
        "interaction_note": None if variable is None else variable.interaction_note,
    }


def forest_table(
    patients: pl.DataFrame,
    endpoint: Endpoint,
    by: str,
    subgroups: Sequence[str],
    *,
    reference: str | None,
    ties: Ties,
    conf_level: float,
) -> StatisticTable:
    """Hazard ratio of `by` overall and within every level of each subgroup variable."""
    _need(patients, [endpoint.time_column, endpoint.event_column, by, *subgroups])
    ref: object | None = reference
    if reference is not None and patients.schema[by] == pl.Boolean:
        ref = {"yes": True, "true": True, "no": False, "false": False}.get(reference.lower())
    try:
        found = estimate_subgroup_hazards(
            patients,
            time=endpoint.time_column,
            event=endpoint.event_column,
            by=by,
            subgroups=subgroups,
            reference=ref,
            ties=ties,
            conf_level=conf_level,
        )
    except np.linalg.LinAlgError:
        # A level with too few patients or events in one arm: no model to fit, said in words.
        why = (
            "No forest plot: a Cox model of a subgroup could not be fitted (its information "
            "matrix is singular: a level with too few patients or events in one arm). Choose "
            "fewer or coarser subgroup variables."
        )
        return StatisticTable(pl.DataFrame(schema=_FOREST_SCHEMA), (why,))
    except ValueError as error:
        # E.g. a filter that keeps one arm: no comparison to draw, and the note says why.
        return StatisticTable(pl.DataFrame(schema=_FOREST_SCHEMA), (f"No forest plot: {error}.",))
    rows = [_hazard_row(found.overall, None)]
    notes = []
    for variable in found.variables:
        rows.extend(_hazard_row(h, variable) for h in variable.levels)
        if variable.interaction_note:
            notes.append(f"{column_label(variable.variable)}: {variable.interaction_note}.")
        if variable.excluded_missing:
            notes.append(
                f"{variable.excluded_missing} patient(s) with {column_label(variable.variable)} "
                "not recorded left out of its subgroups."
            )
    data = pl.DataFrame(rows, schema=_FOREST_SCHEMA).with_columns(
        pl.lit(f"{found.comparison} vs {found.reference}").alias("comparison")
    )
    return StatisticTable(data, tuple(notes), found)


_FOREST_SCHEMA = {
    "variable": pl.String,
    "level": pl.String,
    "n": pl.Int64,
    "events": pl.Int64,
    "hazard_ratio": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "interaction_p": pl.Float64,
    "note": pl.String,
    "interaction_note": pl.String,
    "comparison": pl.String,
}


def _rate_rows(outcome: str, rates: Sequence[SubgroupRate]) -> list[dict[str, Any]]:
    return [
        {
            "outcome": outcome,
            "variable": r.variable,
            "level": r.level if r.variable is not None else "All patients",
            "n": r.n,
            "responders": r.responders,
            "rate_pct": None if r.rate is None else 100 * r.rate,
            "ci_lower_pct": None if r.lower is None else 100 * r.lower,
            "ci_upper_pct": None if r.upper is None else 100 * r.upper,
        }
        for r in rates
    ]


def forest_response_table(
    frame: pl.DataFrame, response: str, subgroups: Sequence[str], conf_level: float
) -> StatisticTable:
    """ORR and ≥VGPR with exact CIs overall and per subgroup level; `response` holds codes."""
    _need(frame, [response, *subgroups])
    found: SubgroupResponse = estimate_subgroup_response(
        frame, response=response, subgroups=subgroups, conf_level=conf_level
    )
    rows = [*_rate_rows("ORR", found.orr), *_rate_rows("≥VGPR", found.vgpr_or_better)]
    schema = {
        "outcome": pl.String,
        "variable": pl.String,
        "level": pl.String,
        "n": pl.Int64,
        "responders": pl.Int64,
        "rate_pct": pl.Float64,
        "ci_lower_pct": pl.Float64,
        "ci_upper_pct": pl.Float64,
    }
    notes: tuple[str, ...] = ()
    if found.not_evaluable:
        notes = (
            f"{found.not_evaluable} patient(s) without a response at this timepoint left out.",
        )
    return StatisticTable(pl.DataFrame(rows, schema=schema), notes, found)
