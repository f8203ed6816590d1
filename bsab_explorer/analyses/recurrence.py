"""Recurrent CRS: attribute each episode to its dose, then describe each case's rhythm.

`crs_episodes` gives one row per CRS episode, `analyse_recurrence` one row per case; pages, the
CLI and the tests all use these two functions. Everything is vectorised (as-of joins), so ten
thousand cases take well under a second.

Definitions
- An episode is attributed to the latest `bsab_dose` at or before its onset; its latency is
  the time from that dose to onset, in hours.
- Initial episodes are attributed to a step-up dose or to the first treatment dose (or to no
  dose); every other episode is recurrent.
- Intervals are the days between consecutive *recurrent* episodes; an interval longer than
  `GAP_FACTOR` times the case's median interval is a gap (a pause in the rhythm: a hold, a
  settled phase), reported apart in the pattern.
- Latency statistics are over recurrent episodes, so they describe the same rhythm.
- `rhythm_days_min`/`rhythm_days_max` are the whole-day range of the intervals that are not
  gaps (the "every N–M days" of the pattern); `n_gaps` counts the gaps.
- An episode within `INFECTION_WINDOW_DAYS` of a documented infection is a possible infection.
- Management counts episodes with at least one such event overlapping the episode window
  [onset, onset + `EPISODE_WINDOW_DAYS`].
"""

from __future__ import annotations

import polars as pl

from bsab_explorer.schema import STEP_UP_PREFIX

# Event codes used here (all in schema.EVENT_CODES; a test checks it).
CRS = "crs"
DOSE = "bsab_dose"
INFECTION = "infection"
TOCILIZUMAB = "tocilizumab"
CORTICOSTEROID = "corticosteroid"
ANTIPYRETIC = "antipyretic"
MANAGEMENT_EVENTS = (TOCILIZUMAB, CORTICOSTEROID, ANTIPYRETIC)

INITIAL = "initial"
RECURRENT = "recurrent"

#: Days after onset within which management events belong to an episode.
EPISODE_WINDOW_DAYS = 3.0
#: Days either side of a documented infection within which an episode may be infectious.
INFECTION_WINDOW_DAYS = 3.0
#: A treatment dose is "followed by CRS" when an episode starts within this many hours.
DOSE_FOLLOW_HOURS = 72.0
#: Intervals longer than this multiple of the median interval are gaps in the rhythm.
GAP_FACTOR = 2.0

ATTENUATING = "attenuating"
STABLE = "stable"
WORSENING = "worsening"

#: The fields of `bsab-explorer table crs-recurrence`, in order.
RECURRENCE_FIELDS = (
    "case_id",
    "n_episodes",
    "n_recurrent",
    "first_crs_day",
    "first_crs_grade",
    "interval_days_median",
    "interval_days_min",
    "interval_days_max",
    "latency_hours_median",
    "latency_hours_min",
    "latency_hours_max",
    "max_grade",
    "possible_infection_episodes",
    "pattern",
)

EPISODE_SCHEMA: dict[str, type[pl.DataType]] = {
    "case_id": pl.String,
    "bsab": pl.String,
    "episode": pl.Int64,
    "day": pl.Float64,
    "grade": pl.Int64,
    "end_day": pl.Float64,
    "dose_day": pl.Float64,
    "dose_detail": pl.String,
    "treatment_dose_number": pl.Int64,
    "phase": pl.String,
    "latency_hours": pl.Float64,
    "interval_days": pl.Float64,
    "gap": pl.Boolean,
    "possible_infection": pl.Boolean,
    "tocilizumab": pl.Boolean,
    "corticosteroid": pl.Boolean,
    "antipyretic": pl.Boolean,
}


def _doses(events: pl.DataFrame) -> pl.DataFrame:
    """Doses sorted by day (as the as-of joins need), treatment doses numbered per case."""
    step_up = pl.col("dose_detail").fill_null("").str.starts_with(STEP_UP_PREFIX)
    # A window keeps each case's rows in frame order, here day order: no sort by case needed.
    return (
        events.filter((pl.col("event") == DOSE) & pl.col("day").is_not_null())
        .select("case_id", pl.col("day").alias("dose_day"), pl.col("detail").alias("dose_detail"))
        .sort("dose_day", maintain_order=True)
        .with_columns(
            pl.when(~step_up)
            .then((~step_up).cast(pl.Int64).cum_sum().over("case_id"))
            .alias("treatment_dose_number")
        )
    )


def _flag_management(episodes: pl.DataFrame, events: pl.DataFrame, code: str) -> pl.DataFrame:
    """Add a boolean column `code`: an event of that code overlaps the episode window."""
    given = (
        events.filter(pl.col("event") == code)
        .select(
            "case_id",
            pl.col("day").alias("_m_day"),
            pl.coalesce("end_day", "day").alias("_m_end"),
        )
        .sort("_m_day")
    )
    joined = episodes.with_columns((pl.col("day") + EPISODE_WINDOW_DAYS).alias("_w_end")).sort(
        "_w_end"
    )
    joined = joined.join_asof(
        given,
        left_on="_w_end",
        right_on="_m_day",
        by="case_id",
        strategy="backward",
        check_sortedness=False,
    )
    flag = pl.col("_m_day").is_not_null() & (pl.col("_m_end") >= pl.col("day"))
    return joined.with_columns(flag.alias(code)).drop("_w_end", "_m_day", "_m_end")


def crs_episodes(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """One row per CRS episode: its attributed dose, latency, phase, interval and flags."""
    return _episodes(cases, events, _doses(events))


def _episodes(cases: pl.DataFrame, events: pl.DataFrame, doses: pl.DataFrame) -> pl.DataFrame:
    crs = events.filter((pl.col("event") == CRS) & pl.col("day").is_not_null())
    if crs.height == 0:
        return pl.DataFrame(schema=EPISODE_SCHEMA)
    episodes = (
        crs.select("case_id", "day", "grade", "end_day")
        .sort("day")
        .join_asof(
            doses,
            left_on="day",
            right_on="dose_day",
            by="case_id",
            strategy="backward",
            check_sortedness=False,
        )
    )
    is_initial = (
        pl.col("dose_day").is_null()
        | pl.col("treatment_dose_number").is_null()
        | (pl.col("treatment_dose_number") == 1)
    )
    episodes = episodes.with_columns(
        pl.when(is_initial).then(pl.lit(INITIAL)).otherwise(pl.lit(RECURRENT)).alias("phase"),
        ((pl.col("day") - pl.col("dose_day")) * 24).round(3).alias("latency_hours"),
    )
    infections = (
        events.filter((pl.col("event") == INFECTION) & pl.col("day").is_not_null())
        .select("case_id", pl.col("day").alias("_inf_day"))
        .sort("_inf_day")
    )
    episodes = episodes.join_asof(
        infections,
        left_on="day",
        right_on="_inf_day",
        by="case_id",
        strategy="nearest",
        tolerance=INFECTION_WINDOW_DAYS,
        check_sortedness=False,
    ).with_columns(pl.col("_inf_day").is_not_null().alias("possible_infection"))
    for code in MANAGEMENT_EVENTS:
        episodes = _flag_management(episodes, events, code)
    episodes = episodes.sort("case_id", "day")
    recurrent = pl.col("phase") == RECURRENT
    # Intervals between consecutive recurrent episodes: diff within the recurrent subset.
    rec_day = pl.when(recurrent).then(pl.col("day"))
    previous = rec_day.shift(1).forward_fill().over("case_id")
    interval = pl.when(recurrent).then((pl.col("day") - previous).round(6))
    episodes = episodes.with_columns(
        pl.int_range(1, pl.len() + 1).over("case_id").cast(pl.Int64).alias("episode"),
        interval.alias("interval_days"),
    ).with_columns(
        (pl.col("interval_days") > GAP_FACTOR * pl.col("interval_days").median().over("case_id"))
        .fill_null(False)
        .alias("gap")
    )
    bsab = cases.select("case_id", "bsab").unique("case_id", keep="first")
    episodes = episodes.join(bsab, on="case_id", how="left")
    return episodes.select([pl.col(name).cast(dtype) for name, dtype in EPISODE_SCHEMA.items()])


def _pattern(intervals_ok: pl.Expr) -> pl.Expr:
    """The one-line rhythm of a case, from the aggregated columns."""
    lo, hi = pl.col("rhythm_days_min"), pl.col("rhythm_days_max")
    every = (
        pl.when(lo == hi)
        .then(pl.format("every {} days", lo))
        .otherwise(pl.format("every {}–{} days", lo, hi))
    )
    llo, lhi = pl.col("_lat_lo"), pl.col("_lat_hi")
    latency = (
        pl.when(llo.is_null())
        .then(pl.lit(""))
        .when(llo == lhi)
        .then(pl.format(", {} h after infusion", llo))
        .otherwise(pl.format(", {}–{} h after infusion", llo, lhi))
    )
    n_gaps, gap_max = pl.col("n_gaps"), pl.col("_gap_max")
    gaps = (
        pl.when(n_gaps == 0)
        .then(pl.lit(""))
        .when(n_gaps == 1)
        .then(pl.format("; 1 longer gap ({} days)", gap_max))
        .otherwise(pl.format("; {} longer gaps (up to {} days)", n_gaps, gap_max))
    )
    return (
        pl.when(pl.col("n_episodes") == 0)
        .then(pl.lit("no CRS"))
        .when(pl.col("n_recurrent") == 0)
        .then(pl.lit("no recurrent CRS"))
        .when(~intervals_ok)
        .then(pl.concat_str(pl.lit("single recurrent episode"), latency))
        .otherwise(pl.concat_str(every, latency, gaps))
    )


def _whole(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64)


def analyse_recurrence(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """One row per case: episode counts, intervals, latencies, grades, flags and the pattern."""
    all_doses = _doses(events)
    episodes = _episodes(cases, events, all_doses)
    recurrent = pl.col("phase") == RECURRENT
    interval = pl.col("interval_days")
    regular = interval.filter(~pl.col("gap"))
    latency = pl.col("latency_hours").filter(recurrent)
    order = pl.col("episode").cast(pl.Float64)
    grade = pl.col("grade").cast(pl.Float64)
    slope = pl.cov(order, grade) / order.var()
    per_case = episodes.group_by("case_id").agg(
        pl.len().cast(pl.Int64).alias("n_episodes"),
        (pl.col("phase") == INITIAL).sum().cast(pl.Int64).alias("n_initial"),
        recurrent.sum().cast(pl.Int64).alias("n_recurrent"),
        pl.col("day").first().alias("first_crs_day"),
        pl.col("grade").first().alias("first_crs_grade"),
        interval.median().alias("interval_days_median"),
        interval.min().alias("interval_days_min"),
        interval.max().alias("interval_days_max"),
        latency.median().alias("latency_hours_median"),
        latency.min().alias("latency_hours_min"),
        latency.max().alias("latency_hours_max"),
        pl.col("grade").max().alias("max_grade"),
        pl.col("grade").last().alias("last_grade"),
        slope.alias("_slope"),
        pl.col("possible_infection").sum().cast(pl.Int64).alias("possible_infection_episodes"),
        *(pl.col(code).sum().cast(pl.Int64).alias(f"n_{code}") for code in MANAGEMENT_EVENTS),
        _whole(regular.min()).alias("rhythm_days_min"),
        _whole(regular.max()).alias("rhythm_days_max"),
        pl.col("gap").sum().cast(pl.Int64).alias("n_gaps"),
        _whole(interval.filter(pl.col("gap")).max()).alias("_gap_max"),
        _whole(latency.min()).alias("_lat_lo"),
        _whole(latency.max()).alias("_lat_hi"),
    )
    ids = pl.concat(
        [cases.select("case_id", "bsab"), events.select("case_id").with_columns(bsab=None)],
        how="vertical_relaxed",
    ).unique("case_id", keep="first")
    doses = all_doses.filter(pl.col("treatment_dose_number").is_not_null())
    followed = _dose_follow_up(doses, episodes)
    out = (
        ids.join(per_case, on="case_id", how="left")
        .join(followed, on="case_id", how="left")
        .with_columns(
            pl.col("n_episodes", "n_initial", "n_recurrent", "possible_infection_episodes")
            .fill_null(0)
            .cast(pl.Int64),
            *(pl.col(f"n_{code}").fill_null(0).cast(pl.Int64) for code in MANAGEMENT_EVENTS),
            pl.col("n_treatment_doses", "n_doses_followed_by_crs").fill_null(0).cast(pl.Int64),
            pl.col("n_gaps").fill_null(0),
        )
        .with_columns(
            pl.when(pl.col("n_treatment_doses") > 0)
            .then(pl.col("n_doses_followed_by_crs") / pl.col("n_treatment_doses"))
            .alias("dose_crs_share"),
            pl.when(pl.col("n_episodes") < 2)
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col("_slope").is_null() | (pl.col("_slope").abs() < 1e-9))
            .then(pl.lit(STABLE))
            .when(pl.col("_slope") < 0)
            .then(pl.lit(ATTENUATING))
            .otherwise(pl.lit(WORSENING))
            .alias("grade_trend"),
            _pattern(pl.col("rhythm_days_min").is_not_null()).alias("pattern"),
        )
        .sort("case_id")
    )
    extra = (
        "bsab",
        "n_initial",
        "rhythm_days_min",
        "rhythm_days_max",
        "n_gaps",
        "last_grade",
        "grade_trend",
        "n_treatment_doses",
        "n_doses_followed_by_crs",
        "dose_crs_share",
        *(f"n_{code}" for code in MANAGEMENT_EVENTS),
    )
    return out.select(*RECURRENCE_FIELDS, *extra).with_columns(
        pl.col("first_crs_grade", "max_grade", "last_grade").cast(pl.Int64)
    )


def _dose_follow_up(doses: pl.DataFrame, episodes: pl.DataFrame) -> pl.DataFrame:
    """Per case: treatment doses, and those followed by an episode within 72 h."""
    onsets = episodes.select("case_id", pl.col("day").alias("_onset")).sort("_onset")
    matched = doses.sort("dose_day").join_asof(
        onsets,
        left_on="dose_day",
        right_on="_onset",
        by="case_id",
        strategy="forward",
        tolerance=DOSE_FOLLOW_HOURS / 24,
        check_sortedness=False,
    )
    return matched.group_by("case_id").agg(
        pl.len().cast(pl.Int64).alias("n_treatment_doses"),
        pl.col("_onset").is_not_null().sum().cast(pl.Int64).alias("n_doses_followed_by_crs"),
    )
