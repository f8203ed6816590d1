"""Response by timepoint (Fig. 1A): IMWG categories, ORR with its exact CI, ≥VGPR and CR rates.

A rate always states its denominator: either the patients evaluable at that timepoint (those
with an assessment there, ``NE`` included, as the paper) or all treated patients of the
(filtered) cohort. The timepoint "best" is the best response to the bispecific: the patients'
recorded ``best_response`` when present, else the best of their assessments on the bispecific
(cycles only; the post-debulking assessment precedes it). ``NE`` counts as assessed but worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from bsab_explorer.analyses.table1 import OVERALL, cohort_groups, format_percent
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    CR_OR_BETTER_CODES,
    ORR_CODES,
    RESPONSE_CODES,
    VGPR_OR_BETTER_CODES,
    timepoint_label,
    timepoint_order,
)

Denominator = Literal["evaluable", "all_treated"]
DENOMINATORS: tuple[Denominator, ...] = ("evaluable", "all_treated")
DENOMINATOR_LABELS = {
    "evaluable": "patients evaluable at that timepoint",
    "all_treated": "all treated patients",
}
#: The category of patients without an assessment at a timepoint.
NOT_ASSESSED = "Not assessed"
#: Response categories plus "Not assessed", best to worst.
CATEGORY_ORDER = (*RESPONSE_CODES, NOT_ASSESSED)
POST_DEBULKING = "post_debulking"
NOT_ASSESSED_COLUMN = "not_assessed"

_PATIENT = "patient_id"
_GROUP = "__group"
_RANK = "__rank"


def response_rank(column: str = "response") -> pl.Expr:
    """Rank of an IMWG code, 0 for the best (sCR) to 7 for NE (null when missing)."""
    return pl.col(column).replace_strict(
        list(RESPONSE_CODES), list(range(len(RESPONSE_CODES))), default=None, return_dtype=pl.Int64
    )


def _code_of_rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(
        list(range(len(RESPONSE_CODES))), list(RESPONSE_CODES), return_dtype=pl.String
    )


def assessments(responses: pl.DataFrame) -> pl.DataFrame:
    """One row per patient and timepoint (``patient_id``, ``timepoint``, ``response``, ``pet_ct``).

    Rows without a response are not assessments; a repeated assessment keeps the best response
    and counts PET-CT when any row had one.
    """
    frame = responses.filter(pl.col("timepoint").is_not_null() & pl.col("response").is_not_null())
    pet = pl.col("pet_ct").fill_null(False).any() if "pet_ct" in frame.columns else pl.lit(False)
    return (
        frame.with_columns(response_rank().alias(_RANK))
        .filter(pl.col(_RANK).is_not_null())
        .group_by(_PATIENT, "timepoint")
        .agg(pl.col(_RANK).min(), pet.alias("pet_ct"))
        .with_columns(_code_of_rank(_RANK).alias("response"))
        .select(_PATIENT, "timepoint", "response", "pet_ct")
    )


def best_responses(patients: pl.DataFrame | None, responses: pl.DataFrame) -> pl.DataFrame:
    """Best response to the bispecific per patient (``patient_id``, ``response``).

    The recorded ``patients.best_response`` wins; when it is missing, the best assessment on a
    cycle (post-debulking excluded) is used. Patients with neither are left out.
    """
    derived = (
        assessments(responses)
        .filter(pl.col("timepoint") != POST_DEBULKING)
        .with_columns(response_rank().alias(_RANK))
        .group_by(_PATIENT)
        .agg(pl.col(_RANK).min().alias("derived"))
    )
    if patients is None:
        frame = derived.rename({"derived": _RANK})
    else:
        recorded = (
            response_rank("best_response")
            if "best_response" in patients.columns
            else pl.lit(None, dtype=pl.Int64)
        )
        frame = (
            patients.select(pl.col(_PATIENT), recorded.alias("recorded"))
            .join(derived, on=_PATIENT, how="left")
            .select(_PATIENT, pl.coalesce("recorded", "derived").alias(_RANK))
            .drop_nulls(_RANK)
        )
    return frame.select(_PATIENT, _code_of_rank(_RANK).alias("response")).sort(_PATIENT)


def clopper_pearson(
    successes: np.ndarray, trials: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) confidence bounds of proportions, as R's ``binom.test``."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


@dataclass(frozen=True)
class ResponseSummary:
    """Response by timepoint, one row per group and timepoint.

    `frame` columns: ``group``, ``timepoint``, ``timepoint_label``, ``n_patients`` (in the group),
    ``n_assessed``, ``denominator``, one count column per IMWG code, ``not_assessed``,
    ``orr_n``, ``orr_pct``, ``orr_ci_lower_pct``, ``orr_ci_upper_pct`` (Clopper–Pearson 95 %),
    ``vgpr_n``, ``vgpr_pct``, ``cr_n``, ``cr_pct``, ``pet_ct_n``. Percentages are 0–100 of
    ``denominator`` (null when it is 0). `counts` is the same in long form (``group``,
    ``timepoint``, ``timepoint_label``, ``category``, ``n``, ``denominator``, ``pct``), with
    "Not assessed" as a category when the denominator is all treated patients.
    """

    frame: pl.DataFrame
    counts: pl.DataFrame
    denominator: Denominator
    by: str | None
    groups: tuple[str, ...]

    @property
    def denominator_label(self) -> str:
        """What the percentages are of, in words."""
        return DENOMINATOR_LABELS[self.denominator]

    @property
    def timepoints(self) -> tuple[str, ...]:
        """The timepoints shown, in clinical order."""
        return tuple(self.frame.get_column("timepoint").unique(maintain_order=True).to_list())


def response_by_timepoint(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    denominator: Denominator = "evaluable",
    by: str | None = None,
) -> ResponseSummary:
    """IMWG response counts and rates per timepoint (and per group of `by`)."""
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, not {denominator!r}")
    if by is not None:
        group_expr, groups = cohort_groups(patients, by)
    else:
        group_expr, groups = pl.lit(OVERALL).alias(_GROUP), (OVERALL,)
    cohort = patients.select(pl.col(_PATIENT), group_expr)
    sizes = cohort.group_by(_GROUP).len("n_patients")

    per_visit = assessments(responses.join(cohort.select(_PATIENT), on=_PATIENT, how="semi"))
    best = best_responses(patients, responses).with_columns(
        pl.lit(BEST_TIMEPOINT).alias("timepoint"), pl.lit(None, dtype=pl.Boolean).alias("pet_ct")
    )
    rows = pl.concat([per_visit, best.select(per_visit.columns)]).join(cohort, on=_PATIENT)

    present = rows.get_column("timepoint").unique().to_list()
    timepoints = sorted(present, key=timepoint_order)
    grid = pl.DataFrame(
        {
            _GROUP: [g for g in groups for _ in timepoints],
            "timepoint": [t for _ in groups for t in timepoints],
        },
        schema={_GROUP: pl.String, "timepoint": pl.String},
    ).with_row_index("__order")

    def share(codes: tuple[str, ...]) -> pl.Expr:
        return pl.col("response").is_in(list(codes)).sum()

    per_cell = rows.group_by(_GROUP, "timepoint").agg(
        pl.len().alias("n_assessed"),
        *(pl.col("response").eq(code).sum().alias(code) for code in RESPONSE_CODES),
        share(ORR_CODES).alias("orr_n"),
        share(VGPR_OR_BETTER_CODES).alias("vgpr_n"),
        share(CR_OR_BETTER_CODES).alias("cr_n"),
        pl.col("pet_ct").sum().alias("pet_ct_n"),
    )
    count_columns = ["n_assessed", *RESPONSE_CODES, "orr_n", "vgpr_n", "cr_n", "pet_ct_n"]
    frame = (
        grid.join(per_cell, on=[_GROUP, "timepoint"], how="left")
        .join(sizes, on=_GROUP, how="left")
        .with_columns(
            pl.col(count_columns).fill_null(0).cast(pl.Int64),
            pl.col("n_patients").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            # PET-CT is a property of visits, not of the derived best response.
            pl.when(pl.col("timepoint") == BEST_TIMEPOINT)
            .then(None)
            .otherwise(pl.col("pet_ct_n"))
            .alias("pet_ct_n"),
            (pl.col("n_patients") - pl.col("n_assessed")).alias("not_assessed"),
            (pl.col("n_assessed") if denominator == "evaluable" else pl.col("n_patients")).alias(
                "denominator"
            ),
        )
        .sort("__order")
    )
    lower, upper = clopper_pearson(
        frame.get_column("orr_n").to_numpy(), frame.get_column("denominator").to_numpy()
    )

    def pct(column: str) -> pl.Expr:
        d = pl.col("denominator")
        return pl.when(d > 0).then(100.0 * pl.col(column) / d).otherwise(None)

    frame = frame.with_columns(
        pl.col("timepoint")
        .map_elements(timepoint_label, return_dtype=pl.String)
        .alias("timepoint_label"),
        pct("orr_n").alias("orr_pct"),
        pl.Series("orr_ci_lower_pct", 100.0 * lower).fill_nan(None),
        pl.Series("orr_ci_upper_pct", 100.0 * upper).fill_nan(None),
        pct("vgpr_n").alias("vgpr_pct"),
        pct("cr_n").alias("cr_pct"),
    ).select(
        pl.col(_GROUP).alias("group"),
        "timepoint",
        "timepoint_label",
        "n_patients",
        "n_assessed",
        "denominator",
        *RESPONSE_CODES,
        "not_assessed",
        "orr_n",
        "orr_pct",
        "orr_ci_lower_pct",
        "orr_ci_upper_pct",
        "vgpr_n",
        "vgpr_pct",
        "cr_n",
        "cr_pct",
        "pet_ct_n",
    )
    categories = list(RESPONSE_CODES) + ([NOT_ASSESSED] if denominator == "all_treated" else [])
    counts = (
        frame.rename({NOT_ASSESSED_COLUMN: NOT_ASSESSED})
        .unpivot(
            on=categories,
            index=["group", "timepoint", "timepoint_label", "denominator"],
            variable_name="category",
            value_name="n",
        )
        .with_columns(
            pl.when(pl.col("denominator") > 0)
            .then(100.0 * pl.col("n") / pl.col("denominator"))
            .otherwise(None)
            .alias("pct")
        )
        .select("group", "timepoint", "timepoint_label", "category", "n", "denominator", "pct")
    )
    return ResponseSummary(frame, counts, denominator, by, groups)


def rate_statement(row: dict[str, object], rate: str = "orr") -> str:
    """A rate with its denominator, e.g. ``ORR 64 % (25/39; 95 % CI 47–79)``."""
    names = {"orr": "ORR", "vgpr": "≥VGPR", "cr": "CR"}
    n, d, p = row[f"{rate}_n"], row["denominator"], row[f"{rate}_pct"]
    if p is None:
        return f"{names[rate]} not evaluable (no patient assessed)"
    text = f"{names[rate]} {format_percent(int(str(n)), int(str(d)))} % ({n}/{d}"
    if rate == "orr":
        lo, hi = float(str(row["orr_ci_lower_pct"])), float(str(row["orr_ci_upper_pct"]))
        text += f"; 95 % CI {lo:.0f}–{hi:.0f}"
    return text + ")"
