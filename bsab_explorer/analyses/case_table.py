"""The case series' Table 1 ("Summary of patients with recurrent CRS"), rebuilt from the data.

Cells are rendered the way the paper writes them: "64/F", "IgG κ", "C1 D2, G2", "Every 35–40
days, 24–48 h post-infusion", "Tocilizumab±steroids", "Discontinued (renal toxicity)". The
paper's "C1 D<n>" counts days after the first dose (its narratives say "day+2 post-first dose"
for "C1 D2"), so day n of the data renders as "C1 D<n>"; later cycles are 28 days long.
"""

from __future__ import annotations

import polars as pl

from bsab_explorer.analyses.recurrence import (
    CORTICOSTEROID,
    INITIAL,
    TOCILIZUMAB,
    analyse_recurrence,
    crs_episodes,
)
from bsab_explorer.schema import AGE_CAP

CYCLE_DAYS = 28
DISCONTINUATION = "discontinuation"
SCHEDULE_CHANGE = "schedule_change"

CASE = "Case"
AGE_SEX = "Age/Sex"
SUBTYPE = "MM subtype"
PRIOR_LINES = "Prior lines"
BSAB = "Bispecific antibody"
FIRST_CRS = "First CRS (timing, grade)"
RECURRENT_CRS = "Recurrent CRS (timing)"
PREMEDICATION = "Premedication"
MANAGEMENT = "CRS management"
IMPACT = "Impact on treatment"
#: The table's columns, in the paper's order (its "Learning points" are not data).
CASE_TABLE_COLUMNS = (
    CASE,
    AGE_SEX,
    SUBTYPE,
    PRIOR_LINES,
    BSAB,
    FIRST_CRS,
    RECURRENT_CRS,
    PREMEDICATION,
    MANAGEMENT,
    IMPACT,
)

_ISOTYPE_TEXT = {"light_chain": "light-chain", "non_secretory": "non-secretory"}
_LIGHT_CHAIN_TEXT = {"kappa": "κ", "lambda": "λ"}


def _capitalise(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(expr.str.slice(0, 1).str.to_uppercase(), expr.str.slice(1))


def _first_crs(day: pl.Expr, grade: pl.Expr) -> pl.Expr:
    cycle = (day // CYCLE_DAYS).cast(pl.Int64) + 1
    cycle_day = (day - (cycle - 1) * CYCLE_DAYS).round(0).cast(pl.Int64)
    return pl.format("C{} D{}, G{}", cycle, cycle_day, grade)


def _management(episodes: pl.DataFrame) -> pl.DataFrame:
    """Per case, how CRS episodes were managed, in the paper's words."""
    per_case = episodes.group_by("case_id").agg(
        pl.col(TOCILIZUMAB).any().alias("_toci_any"),
        pl.col(TOCILIZUMAB).all().alias("_toci_all"),
        pl.col(CORTICOSTEROID).any().alias("_ster_any"),
        pl.col(CORTICOSTEROID).all().alias("_ster_all"),
    )
    text = (
        pl.when(pl.col("_toci_any") & pl.col("_ster_all") & pl.col("_toci_all"))
        .then(pl.lit("Tocilizumab+steroids"))
        .when(pl.col("_toci_any") & pl.col("_ster_any"))
        .then(pl.lit("Tocilizumab±steroids"))
        .when(pl.col("_toci_any"))
        .then(pl.lit("Tocilizumab"))
        .when(pl.col("_ster_any"))
        .then(pl.lit("Steroids"))
        .otherwise(pl.lit("Supportive care"))
    )
    return per_case.select("case_id", text.alias(MANAGEMENT))


def _last_detail(events: pl.DataFrame, code: str, name: str) -> pl.DataFrame:
    return (
        events.filter(pl.col("event") == code)
        .sort("case_id", "day")
        .group_by("case_id")
        .agg(pl.col("detail").last().alias(name))
    )


def build_case_table(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """The paper's Table 1, one row per case, every cell a string rendered from the data."""
    episodes = crs_episodes(cases, events)
    recurrence = analyse_recurrence(cases, events).select("case_id", "n_episodes", "pattern")
    first_initial = (
        episodes.filter(pl.col("phase") == INITIAL)
        .group_by("case_id")
        .agg(pl.col("day").first().alias("_init_day"), pl.col("grade").first().alias("_init_g"))
    )
    frame = (
        cases.join(recurrence, on="case_id", how="left")
        .join(first_initial, on="case_id", how="left")
        .join(_management(episodes), on="case_id", how="left")
        .join(_last_detail(events, DISCONTINUATION, "_stop"), on="case_id", how="left")
        .join(_last_detail(events, SCHEDULE_CHANGE, "_change"), on="case_id", how="left")
    )
    age = (
        pl.when(pl.col("age_years") >= AGE_CAP)
        .then(pl.lit(f"{AGE_CAP}+"))
        .otherwise(pl.col("age_years").cast(pl.String))
    )
    subtype = pl.concat_str(
        pl.col("isotype").replace(_ISOTYPE_TEXT),
        pl.col("light_chain").replace(_LIGHT_CHAIN_TEXT),
        separator=" ",
        ignore_nulls=True,
    )
    first = (
        pl.when(pl.col("_init_day").is_not_null())
        .then(_first_crs(pl.col("_init_day"), pl.col("_init_g")))
        .when(pl.col("n_episodes").fill_null(0) > 0)
        .then(pl.lit("None during step-up dose"))
        .otherwise(pl.lit("None"))
    )
    rhythm = (
        pl.col("pattern")
        .str.split("; ")
        .list.first()
        .str.replace(" after infusion", " post-infusion", literal=True)
    )
    recurrent = (
        pl.when(pl.col("pattern").str.starts_with("every"))
        .then(_capitalise(rhythm))
        .when(pl.col("pattern").str.starts_with("single"))
        .then(_capitalise(rhythm))
        .otherwise(pl.lit("None"))
    )
    premedication = (
        pl.col("premedication")
        .str.split(";")
        .list.eval(_capitalise(pl.element().str.strip_chars()))
        .list.join(", ")
    )
    reduced_to = pl.col("_change").str.split("->").list.last().str.strip_chars()
    impact = (
        pl.when(pl.col("outcome") == "discontinued")
        .then(
            pl.when(pl.col("_stop").is_not_null())
            .then(pl.format("Discontinued ({})", pl.col("_stop")))
            .otherwise(pl.lit("Discontinued"))
        )
        .when(pl.col("outcome") == "dose_reduced")
        .then(
            pl.when(reduced_to.is_not_null())
            .then(pl.format("BsAb dose reduced to {} administration", reduced_to))
            .otherwise(pl.lit("BsAb dose reduced"))
        )
        .when(pl.col("outcome") == "continued")
        .then(pl.lit("Continued"))
        .otherwise(pl.lit("Not recorded"))
    )
    return frame.select(
        pl.col("case_id").alias(CASE),
        pl.format("{}/{}", age, pl.col("sex")).alias(AGE_SEX),
        subtype.alias(SUBTYPE),
        pl.col("prior_lines").cast(pl.String).alias(PRIOR_LINES),
        _capitalise(pl.col("bsab")).alias(BSAB),
        first.alias(FIRST_CRS),
        recurrent.alias(RECURRENT_CRS),
        premedication.alias(PREMEDICATION),
        pl.col(MANAGEMENT).fill_null("None").alias(MANAGEMENT),
        impact.alias(IMPACT),
    ).sort(CASE)
