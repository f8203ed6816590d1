"""The columns of exported files: names that say their unit and scale, a status beside a bound.

A page formats an estimate as "10.2 (6.9–NR)"; a file for pandas or R holds numbers. Two things
the formatted text says would be lost in a numeric column: *why* a value is missing ("not
reached" is a result, "not estimable" is a limit of the method) and *what* a number measures
(R's ``std.err`` of a curve is the standard error of log S, that of ``summary(fit, times=)``
the standard error of S). So the file form of a table, made here for every writer (page
downloads, the `table` and `figure` commands, the Python API), renames such columns and puts a
text status column beside each bound that can be missing. Survival is a proportion 0–1 in every
file (``survival``, ``survival_ci_lower``...); percentages say so (``orr_pct``).

Tables whose columns already say what they hold are written as they are built.

>>> import polars as pl
>>> medians = pl.DataFrame({"group": ["All"], "n": [44], "events": [20],
...     "median_months": [None], "ci_lower_months": [6.9], "ci_upper_months": [None]},
...     schema_overrides={"median_months": pl.Float64, "ci_upper_months": pl.Float64})
>>> file_frame("table", "survival-medians", medians).row(0)
('All', 44, 20, None, 'not reached', 6.9, 'estimated', None, 'not reached')
"""

from __future__ import annotations

import polars as pl

#: Values of the status columns.
ESTIMATED = "estimated"
NOT_REACHED = "not reached"
NOT_ESTIMABLE = "not estimable"
BEYOND_FOLLOW_UP = "beyond follow-up"
#: No event before this time: S = 1 with standard error 0, so R's interval is 1 to 1.
NO_WIDTH = "no width: no events yet"

#: What a column of an exported file holds (listed in the provenance file of a ZIP download).
COLUMN_NOTES: dict[str, str] = {
    "time_days": "time since the first bispecific dose, days",
    "time_months": "time since the first bispecific dose, months (days / 30.4375)",
    "landmark_months": "landmark time, months since the first bispecific dose",
    "median_months": "median survival, months (empty when not reached: see median_status)",
    "ci_lower_months": "lower 95 % bound of the median, months (see ci_lower_status)",
    "ci_upper_months": "upper 95 % bound of the median, months (see ci_upper_status)",
    "median_status": f"'{ESTIMATED}' or '{NOT_REACHED}' (the curve stays above 50 %)",
    "ci_lower_status": f"'{ESTIMATED}' or '{NOT_ESTIMABLE}' (the lower band never reaches 50 %)",
    "ci_upper_status": f"'{ESTIMATED}' or '{NOT_REACHED}' (the upper band never reaches 50 %)",
    "survival": "Kaplan–Meier survival, a proportion from 0 to 1",
    "survival_ci_lower": "lower confidence bound of survival, 0 to 1 (see ci_status)",
    "survival_ci_upper": "upper confidence bound of survival, 0 to 1 (see ci_status)",
    "se_log_survival": "standard error of log survival (R survfit's std.err; inf once S = 0)",
    "se_survival": "standard error of survival itself (R summary.survfit's std.err)",
    "survival_status": f"'{ESTIMATED}' or '{BEYOND_FOLLOW_UP}' (no estimate after the last time)",
    "ci_status": (
        f"'{ESTIMATED}', '{NOT_ESTIMABLE}', '{BEYOND_FOLLOW_UP}' or '{NO_WIDTH}' (no event "
        "before this time: survival 1 with standard error 0, so the interval is 1 to 1, as R)"
    ),
    "log_hazard_ratio": "Cox coefficient: log hazard ratio versus the reference group",
    "se_log_hazard_ratio": "standard error of the log hazard ratio",
    "hazard_ratio_ci_lower": "lower 95 % bound of the hazard ratio",
    "hazard_ratio_ci_upper": "upper 95 % bound of the hazard ratio",
    "p_value": "two-sided p-value",
    "orr_pct": "overall response rate, percent (0–100)",
    "cum_events": "events up to and including this time",
    "cum_censored": "patients censored up to and including this time",
    "ci_lower_days": "lower confidence bound, days (level: see the provenance)",
    "ci_upper_days": "upper confidence bound, days (level: see the provenance)",
    "tau_days": "RMST horizon τ, days",
    "rmst_days": "restricted mean survival up to τ, days (difference rows: first − second)",
    "rmst_months": "restricted mean survival up to τ, months (days / 30.4375)",
    "se_days": "standard error, days",
    "difference": "survival of the first group minus the second, 0–1 scale",
    "difference_se": "standard error of the survival difference",
    "difference_ci_lower": "lower confidence bound of the survival difference",
    "difference_ci_upper": "upper confidence bound of the survival difference",
    "observed": "observed events (weighted as the test, as R's survdiff prints them)",
    "expected": "expected events under equal hazards (weighted as the test)",
    "events_per_variable": "events per estimated coefficient (under 10 warns: overfitting)",
    "converged": "whether the Newton–Raphson fit converged (false: estimates not reliable)",
    "may_be_infinite": "R's 'coefficient may be infinite' (a level without events)",
    "concordance": "Harrell's concordance of the model (R's coxph concordance)",
    "incidence": "Aalen–Johansen cumulative incidence, a proportion 0 to 1",
    "gray_note": "why Gray's test was not computed (empty when it was)",
    "interaction_p": "likelihood-ratio p of the arm × subgroup interaction",
    "interaction_note": "why the interaction test was not computed (empty when it was)",
    "orr_ci_lower_pct": "lower Clopper–Pearson 95 % bound of the ORR, percent",
    "orr_ci_upper_pct": "upper Clopper–Pearson 95 % bound of the ORR, percent",
    "responders": "patients with a best response of PR or better in the analysis",
    "rate_pct": "n / total, percent (0–100)",
    "ci_lower_pct": "lower Clopper–Pearson 95 % bound of the rate, percent",
    "ci_upper_pct": "upper Clopper–Pearson 95 % bound of the rate, percent",
    "sensitivity": "MRD test sensitivity (1e-05: one cell in 100,000)",
    "any_grade_pct": "patients with the term at any grade, percent of all treated",
    "grade3plus_pct": "patients with the term at grade 3 or higher, percent of all treated",
    "median_days": "median, days",
    "latency_min_hours": "shortest time from the dose to a recurrent episode's onset, hours",
    "latency_max_hours": "longest time from the dose to a recurrent episode's onset, hours",
}

_CURVE = {
    "time": "time_days",
    "surv": "survival",
    "std_err": "se_log_survival",
    "lower": "survival_ci_lower",
    "upper": "survival_ci_upper",
}
_LANDMARKS = {
    "months": "landmark_months",
    "surv": "survival",
    "std_err": "se_survival",
    "ci_lower": "survival_ci_lower",
    "ci_upper": "survival_ci_upper",
}
_COX = {
    "coef": "log_hazard_ratio",
    "se": "se_log_hazard_ratio",
    "ci_lower": "hazard_ratio_ci_lower",
    "ci_upper": "hazard_ratio_ci_upper",
}


def _status(value: str, missing: str) -> pl.Expr:
    return (
        pl.when(pl.col(value).is_null())
        .then(pl.lit(missing))
        .otherwise(pl.lit(ESTIMATED))
        .alias(value.removesuffix("_months") + "_status")
    )


def _medians(frame: pl.DataFrame) -> pl.DataFrame:
    statuses = {
        "median_months": _status("median_months", NOT_REACHED),
        "ci_lower_months": _status("ci_lower_months", NOT_ESTIMABLE),
        "ci_upper_months": _status("ci_upper_months", NOT_REACHED),
    }
    exprs: list[pl.Expr] = []
    for name in frame.columns:
        exprs.append(pl.col(name))
        if name in statuses:
            exprs.append(statuses[name])
    return frame.select(exprs)


def _ci_status(se: str) -> pl.Expr:
    no_interval = pl.col("survival_ci_lower").is_null() | pl.col("survival_ci_upper").is_null()
    return (
        pl.when(pl.col("survival").is_null())
        .then(pl.lit(BEYOND_FOLLOW_UP))
        .when(no_interval)
        .then(pl.lit(NOT_ESTIMABLE))
        .when(pl.col(se) == 0)
        .then(pl.lit(NO_WIDTH))
        .otherwise(pl.lit(ESTIMATED))
        .alias("ci_status")
    )


def _curves(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename(_CURVE).with_columns(_ci_status("se_log_survival"))


def _landmarks(frame: pl.DataFrame) -> pl.DataFrame:
    survival_status = (
        pl.when(pl.col("survival").is_null())
        .then(pl.lit(BEYOND_FOLLOW_UP))
        .otherwise(pl.lit(ESTIMATED))
        .alias("survival_status")
    )
    shaped = frame.rename(_LANDMARKS).with_columns(survival_status, _ci_status("se_survival"))
    if "difference" not in shaped.columns:
        return shaped
    # A difference row (`--times` with two groups) has no survival of its own to describe.
    is_difference = pl.col("difference").is_not_null() | pl.col("n_risk").is_null()
    return shaped.with_columns(
        pl.when(is_difference).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("survival_status", "ci_status")
    )


_SHAPES = {
    ("table", "survival-medians"): _medians,
    ("table", "survival-landmarks"): _landmarks,
    ("table", "survival-curve"): _curves,
    ("figure", "km"): _curves,
    ("table", "cox"): lambda frame: frame.rename(_COX),
    ("table", "duration-of-response"): _medians,
    ("figure", "duration-of-response"): _curves,
}


def file_frame(command: str, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame of export `command`/`name` as its files hold it (see the module docstring)."""
    shape = _SHAPES.get((command, name))
    return frame if shape is None else shape(frame)


def column_notes(frame: pl.DataFrame) -> tuple[str, ...]:
    """`column: meaning` for the columns of an exported frame that need a word."""
    return tuple(f"{c}: {COLUMN_NOTES[c]}" for c in frame.columns if c in COLUMN_NOTES)
