"""The analytics recompute behind the pages for one filter change, ours and the plain way.

`python -m bench.analytics --size N --way ours|baseline|r` runs one way in this process and
prints one JSON line: timings (ms, every repeat), peak RSS and the numbers to compare. Each way
runs in its own process so that its peak memory is its own.

- ours: `select_cohort`, then `summarise_survival` for PFS and OS by a variable (KM, medians,
  landmarks, log-rank, Cox), `response_by_timepoint`, `alluvial_flows` (with the pseudonyms its
  tooltips show), `conversion_statements`, `transition_table` (with the pseudonyms the page
  lists) and `build_table1` — what the survival, response, conversion and Table 1 pages
  compute. The CSV downloads, which list every pseudonym, are made on click only.
- baseline: the same on pandas with lifelines, page by page (KaplanMeierFitter,
  median_survival_times, multivariate_logrank_test, CoxPHFitter; groupby/crosstab).
- r: survfit (log CI) medians, survdiff and coxph(ties = "efron") via Rscript, on the same
  filtered rows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import registry
from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    transition_table,
)
from bsab_explorer.analyses.levels import patient_levels
from bsab_explorer.analyses.prepared import (
    PreparedDataset,
    cohort_index,
    prepare_dataset,
    select_prepared_cohort,
)
from bsab_explorer.analyses.response import IndexedCohort, response_by_timepoint
from bsab_explorer.analyses.response_tables import SHOWN_IDS
from bsab_explorer.analyses.survival import CIMethod, summarise_survival
from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.charts.conversion import TOOLTIP_IDS
from bsab_explorer.filters import Cohort, CohortFilter
from bsab_explorer.schema import (
    CYTOGENETIC_COLUMNS,
    EMD_SITE_COLUMNS,
    ISS_CODES,
    PATIENTS,
    RESPONSE_CODES,
    TIMEPOINT_CODES,
    Kind,
    column_label,
)

#: The filter change measured: it keeps almost everyone, the most work for every page.
FILTER_TEXT = "age_years>=45"
#: The comparison variable: three levels plus patients with it not recorded.
BY = "iss_stage"
ENDPOINTS = ("pfs", "os")
NOT_ASSESSED = "Not assessed"
_R_SCRIPT = Path(__file__).resolve().parent / "survival.R"
#: Boolean columns whose Table 1 counts are cross-checked.
TABLE1_FLAGS = (
    "triple_class_refractory",
    *CYTOGENETIC_COLUMNS,
    "emd",
    *EMD_SITE_COLUMNS,
    "pmd",
    "tocilizumab",
    "anakinra",
)


def peak_rss_mb() -> float:
    """This process's peak resident set size (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident set size now (MB)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


@dataclass(frozen=True)
class Timing:
    """Wall times of each repeat, in milliseconds."""

    runs_ms: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """min, median and every run."""
        return {
            "min_ms": round(min(self.runs_ms), 1),
            "median_ms": round(float(np.median(self.runs_ms)), 1),
            "runs_ms": [round(r, 1) for r in self.runs_ms],
        }


def timed(work: Callable[[], Any], repeats: int) -> tuple[Timing, Any, float]:
    """Run `work` `repeats` times: the timings, the last result and the peak RSS (MB) of the
    process after the first run (the data plus one recompute, nothing else alive)."""
    runs = []
    result = None
    peak = 0.0
    for _ in range(repeats):
        # The previous result is dropped first, so that two are never alive at once.
        result = None
        start = time.perf_counter()
        result = work()
        runs.append(1000 * (time.perf_counter() - start))
        peak = peak or peak_rss_mb()
    return Timing(tuple(runs)), result, peak


# --- ours --------------------------------------------------------------------------------------


def recompute(
    prepared: PreparedDataset, filter_text: str = FILTER_TEXT, by: str = BY
) -> dict[str, Any]:
    """Everything the survival, response, conversion and Table 1 pages compute for a filter
    change (the app's cache holds nothing for a new filter: every step is computed)."""
    cohort = select_prepared_cohort(prepared, CohortFilter.parse(filter_text))
    patients, responses = cohort.patients, cohort.responses
    indexed = cohort_index(cohort, prepared)
    levels = patient_levels(patients, by)  # the pages share them (bsab_explorer.ui.cache)
    return {
        "cohort": cohort,
        "pfs": summarise_survival(patients, "pfs", by, levels=levels),
        "os": summarise_survival(patients, "os", by, levels=levels),
        "response": response_by_timepoint(
            patients, responses, "evaluable", by, indexed=indexed, levels=levels
        ),
        **_conversion(cohort, indexed),
        "table1": build_table1(patients, by=by, levels=levels),
    }


def _conversion(cohort: Cohort, indexed: IndexedCohort) -> dict[str, Any]:
    """The conversion page: its flows, statements and transition table, with the pseudonyms it
    shows (tooltips and table rows; the CSV downloads list them all, on click)."""
    patients, responses = cohort.patients, cohort.responses
    return {
        "flows": alluvial_flows(patients, responses, indexed=indexed, max_ids=TOOLTIP_IDS),
        "statements": conversion_statements(patients, responses, indexed=indexed),
        "transitions": transition_table(
            responses, "post_debulking", "best", patients, indexed=indexed, max_ids=SHOWN_IDS
        ),
    }


def prepare(dataset: Any) -> tuple[PreparedDataset, float]:
    """What is derived once per dataset (not per filter), as the app does on loading: the
    responses' patient rows and the whole-dataset response index, with its time (ms)."""
    start = time.perf_counter()
    prepared = prepare_dataset(dataset)
    return prepared, round(1000 * (time.perf_counter() - start), 1)


def _stage_times(prepared: PreparedDataset) -> dict[str, float]:
    """One recompute, stage by stage (ms), to show where the time goes."""
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        marks[name] = round(1000 * (now - start), 1)
        start = now

    cohort = select_prepared_cohort(prepared, CohortFilter.parse(FILTER_TEXT))
    indexed = cohort_index(cohort, prepared)
    levels = patient_levels(cohort.patients, BY)
    mark("filter")
    summarise_survival(cohort.patients, "pfs", BY, levels=levels)
    summarise_survival(cohort.patients, "os", BY, levels=levels)
    mark("survival")
    response_by_timepoint(
        cohort.patients, cohort.responses, "evaluable", BY, indexed=indexed, levels=levels
    )
    mark("response")
    _conversion(cohort, indexed)
    mark("conversion")
    build_table1(cohort.patients, by=BY, levels=levels)
    mark("table1")
    return marks


def _median(value: float | None) -> float | None:
    return None if value is None else float(value)


def our_numbers(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers cross-checked against the baseline and R."""
    numbers: dict[str, Any] = {"n": result["cohort"].n}
    for endpoint in ENDPOINTS:
        summary = result[endpoint]
        loglog = summarise_survival(result["cohort"].patients, endpoint, BY, CIMethod.LOG_LOG)
        numbers[endpoint] = {
            "groups": {
                g.label: {
                    "n": g.n,
                    "events": g.events,
                    "median": _median(g.median.days),
                    "lower_log": _median(g.median.lower_days),
                    "upper_log": _median(g.median.upper_days),
                    "lower_loglog": _median(h.median.lower_days),
                    "upper_loglog": _median(h.median.upper_days),
                }
                for g, h in zip(summary.groups, loglog.groups, strict=True)
            },
            "logrank_chi2": summary.logrank.chi2,
            "logrank_p": summary.logrank.p_value,
            "cox": {r.group: r.hazard_ratio for r in summary.cox.ratios},
            "cox_se": {r.group: r.se for r in summary.cox.ratios},
        }
    frame = result["response"].frame
    numbers["response"] = {
        f"{row['group']}|{row['timepoint']}|{code}": int(row[code])
        for row in frame.iter_rows(named=True)
        for code in RESPONSE_CODES
    }
    numbers["transitions"] = {
        f"{row['from']}|{row['to']}": int(row["n"])
        for row in result["transitions"].select("from", "to", "n").iter_rows(named=True)
    }
    table = result["table1"]
    counts: dict[str, int] = {f"N|{c.label}": c.n for c in table.columns}
    for flag in TABLE1_FLAGS:
        label = column_label(flag)
        rows = table.frame.filter(pl.col("characteristic") == label)
        if rows.height != 1:
            continue
        for column in table.columns:
            text = str(rows.get_column(column.header)[0])
            match = re.match(r"^(\d+)", text)
            if match:
                counts[f"{flag}|{column.label}"] = int(match.group(1))
    numbers["table1"] = counts
    return numbers


def run_ours(size: int, repeats: int) -> dict[str, Any]:
    """Time our recompute on a registry of `size` patients."""
    dataset = registry.cached(size).dataset()
    rss_loaded = current_rss_mb()
    prepared, prepare_ms = prepare(dataset)
    timing, result, peak = timed(lambda: recompute(prepared), repeats)
    numbers = our_numbers(result)
    del result
    stages = _stage_times(prepared)
    return {
        "timing": timing.to_dict(),
        "stages_ms": stages,
        "per_dataset_ms": prepare_ms,
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak, 1),
        "numbers": numbers,
    }


# --- pandas + lifelines ------------------------------------------------------------------------


def _level_order(values: list[Any]) -> list[Any]:
    rank = {code: i for i, code in enumerate(ISS_CODES)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))


def _lifelines_median(fitter: Any) -> tuple[float | None, float | None, float | None]:
    from lifelines.utils import median_survival_times

    def finite(value: float) -> float | None:
        return None if not math.isfinite(value) else float(value)

    bounds = median_survival_times(fitter.confidence_interval_)
    return (
        finite(fitter.median_survival_time_),
        finite(float(bounds.iloc[0, 0])),
        finite(float(bounds.iloc[0, 1])),
    )


def baseline(patients: Any, responses: Any) -> dict[str, Any]:
    """The same pages the straightforward way: pandas, lifelines, one page at a time."""
    import pandas as pd
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    kept = patients[patients["age_years"] >= 45]
    assessed = responses[responses["patient_id"].isin(kept["patient_id"])]
    out: dict[str, Any] = {"n": len(kept)}
    for endpoint in ENDPOINTS:
        time_col, event_col = f"{endpoint}_days", f"{endpoint}_event"
        data = kept[[time_col, event_col, BY]].dropna()
        data = data.assign(**{event_col: data[event_col].astype(bool)})
        levels = _level_order(list(data[BY].unique()))
        groups = {}
        for level in levels:
            part = data[data[BY] == level]
            fitter = KaplanMeierFitter().fit(part[time_col], part[event_col])
            median, lower, upper = _lifelines_median(fitter)
            groups[str(level)] = {
                "n": len(part),
                "events": int(part[event_col].sum()),
                "median": median,
                "lower_loglog": lower,
                "upper_loglog": upper,
            }
        test = multivariate_logrank_test(data[time_col], data[BY], data[event_col])
        design = pd.get_dummies(data[BY]).astype(float)[levels[1:]]
        design[time_col] = data[time_col]
        design[event_col] = data[event_col]
        cox = CoxPHFitter().fit(design, duration_col=time_col, event_col=event_col)
        out[endpoint] = {
            "groups": groups,
            "logrank_chi2": float(test.test_statistic),
            "logrank_p": float(test.p_value),
            "cox": {str(k): float(v) for k, v in cox.hazard_ratios_.items()},
            "cox_se": {str(k): float(v) for k, v in cox.standard_errors_.items()},
        }
    # Response by timepoint (evaluable: patients with an assessment there), and best response.
    with_group = assessed.merge(kept[["patient_id", BY]], on="patient_id")
    with_group[BY] = with_group[BY].fillna("Not recorded")
    counts = pd.crosstab([with_group[BY], with_group["timepoint"]], with_group["response"])
    rank = {code: i for i, code in enumerate(RESPONSE_CODES)}
    cycles = assessed[assessed["timepoint"] != "post_debulking"]
    derived = (
        cycles.assign(rank=cycles["response"].map(rank))
        .groupby("patient_id")["rank"]
        .min()
        .map(dict(enumerate(RESPONSE_CODES)))
    )
    best = kept.set_index("patient_id")["best_response"].fillna(derived).dropna()
    best_group = kept.set_index("patient_id")[BY].fillna("Not recorded").reindex(best.index)
    best_counts = pd.crosstab(best_group, best)
    response: dict[str, int] = {}
    for key, row in counts.iterrows():
        group, timepoint = str(key[0]), str(key[1])  # type: ignore[index]
        for code in RESPONSE_CODES:
            response[f"{group}|{timepoint}|{code}"] = int(row.get(code, 0))
    for level, row in best_counts.iterrows():
        for code in RESPONSE_CODES:
            response[f"{level}|best|{code}"] = int(row.get(code, 0))
    out["response"] = response
    # Conversion: post-debulking response against best response, everyone accounted for.
    post = assessed[assessed["timepoint"] == "post_debulking"].set_index("patient_id")["response"]
    ids = kept["patient_id"]
    frm = post.reindex(ids).fillna(NOT_ASSESSED)
    to = best.reindex(ids).fillna(NOT_ASSESSED)
    flows = pd.crosstab(frm.to_numpy(), to.to_numpy())
    out["transitions"] = {
        f"{f}|{t}": int(flows.loc[f, t])
        for f in flows.index
        for t in flows.columns
        if flows.loc[f, t] > 0
    }
    # The flows between consecutive timepoints (computed as the page would, not compared).
    wide = assessed.pivot(index="patient_id", columns="timepoint", values="response").reindex(ids)
    for start, end in itertools.pairwise(TIMEPOINT_CODES):
        if start in wide and end in wide:
            pd.crosstab(wide[start].fillna(NOT_ASSESSED), wide[end].fillna(NOT_ASSESSED))
    # Table 1: counts, medians and ranges per group.
    table = kept.assign(**{BY: kept[BY].fillna("Not recorded")})
    table1: dict[str, int] = {"N|All patients": len(table)}
    for group, part in table.groupby(BY):
        table1[f"N|{group}"] = len(part)
    flags = [f for f in TABLE1_FLAGS if f in table.columns]
    sums = table.groupby(BY)[flags].sum()
    for flag in flags:
        table1[f"{flag}|All patients"] = int(table[flag].sum())
        for group in sums.index:
            table1[f"{flag}|{group}"] = int(sums.loc[group, flag])
    numeric = [c.name for c in PATIENTS.columns if c.kind in (Kind.INT, Kind.NUMBER)]
    table.groupby(BY)[numeric].agg(["median", "min", "max"])
    for code_column in ("sex", "bsab", "best_response", "death_cause"):
        table.groupby(BY)[code_column].value_counts(dropna=False)
    out["table1"] = table1
    return out


def run_baseline(size: int, repeats: int) -> dict[str, Any]:
    """Time the pandas + lifelines way on a registry of `size` patients."""
    reg = registry.cached(size)
    patients = reg.tables["patients"].to_pandas()
    responses = reg.tables["responses"].to_pandas()
    rss_loaded = current_rss_mb()
    timing, numbers, peak = timed(lambda: baseline(patients, responses), repeats)
    return {
        "timing": timing.to_dict(),
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak, 1),
        "numbers": numbers,
    }


# --- R -----------------------------------------------------------------------------------------


def run_r(size: int) -> dict[str, Any]:
    """survfit/survdiff/coxph in R on the filtered rows (skipped when Rscript is absent)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"skipped": "Rscript is not installed: the R column is left out."}
    patients = registry.cached(size).tables["patients"]
    kept = CohortFilter.parse(FILTER_TEXT).apply(patients, PATIENTS)
    numbers: dict[str, Any] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for endpoint in ENDPOINTS:
            path = Path(folder) / f"{endpoint}.csv"
            kept.select(
                pl.col(f"{endpoint}_days").alias("time"),
                pl.col(f"{endpoint}_event").cast(pl.Int8).alias("event"),
                pl.col(BY).alias("group"),
            ).drop_nulls().write_csv(path)
            started = time.perf_counter()
            reply = subprocess.run(
                [rscript, str(_R_SCRIPT), str(path), ",".join(ISS_CODES)],
                capture_output=True,
                text=True,
                check=True,
            )
            timings[f"{endpoint}_wall_ms"] = round(1000 * (time.perf_counter() - started), 1)
            parsed = _parse_r(reply.stdout)
            timings[f"{endpoint}_compute_ms"] = parsed.pop("compute_ms")
            numbers[endpoint] = parsed
    return {"timing": timings, "numbers": numbers}


def _parse_r(text: str) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {"groups": groups, "cox": {}, "cox_se": {}}

    def number(token: str) -> float | None:
        return None if token == "NA" else float(token)

    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "median":
            _, group, median, lower, upper = parts
            groups[group] = {
                "median": number(median),
                "lower_log": number(lower),
                "upper_log": number(upper),
            }
        elif parts[0] == "logrank":
            out["logrank_chi2"], out["logrank_p"] = float(parts[1]), float(parts[2])
        elif parts[0] == "cox":
            out["cox"][parts[1]] = float(parts[2])
            out["cox_se"][parts[1]] = float(parts[3])
        elif parts[0] == "compute_ms":
            out["compute_ms"] = float(parts[1])
    return out


def main(argv: list[str] | None = None) -> None:
    """Run one way at one size and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--way", choices=("ours", "baseline", "r"), required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.way == "ours":
        result = run_ours(args.size, args.repeats)
    elif args.way == "baseline":
        result = run_baseline(args.size, args.repeats)
    else:
        result = run_r(args.size)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
