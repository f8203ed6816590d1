"""How much data each page's chart sends to the browser, on a registry-sized cohort.

The number of inline data rows in a Vega-Lite spec bounds the marks the browser draws (each
row is at most one mark per layer that uses it). A chart should aggregate or thin server-side
so that this stays in the thousands, whatever the cohort size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bench import registry
from bsab_explorer.analyses.conversion import alluvial_flows
from bsab_explorer.analyses.recurrence import crs_episodes
from bsab_explorer.analyses.response import response_by_timepoint
from bsab_explorer.analyses.survival import summarise_survival
from bsab_explorer.charts.conversion import alluvial_chart
from bsab_explorer.charts.crs_latency import crs_latency_chart
from bsab_explorer.charts.response import response_chart
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.charts.swimmer import swimmer_chart

#: Rows above which a chart counts as sending too much ("a few thousand marks").
BUDGET_ROWS = 5_000


def data_rows(spec: dict[str, Any]) -> dict[str, int]:
    """Inline data rows of a Vega-Lite spec, per dataset (named datasets and inline values)."""
    rows: dict[str, int] = {}
    for name, values in spec.get("datasets", {}).items():
        rows[name] = len(values)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                rows[f"{path}/values"] = len(data["values"])
            for key, value in node.items():
                if key != "datasets":
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(spec, "")
    return rows


def measure(name: str, build: Callable[[], Any]) -> dict[str, Any]:
    """Build one chart; its data rows, spec size and build time."""
    started = time.perf_counter()
    chart = build()
    spec = chart.to_dict()
    elapsed = 1000 * (time.perf_counter() - started)
    rows = data_rows(spec)
    total = sum(rows.values())
    return {
        "chart": name,
        "data_rows": total,
        "largest_dataset_rows": max(rows.values(), default=0),
        "spec_kb": round(len(json.dumps(spec)) / 1024, 1),
        "build_ms": round(elapsed, 1),
        "within_budget": total <= BUDGET_ROWS,
    }


def run_marks(size: int = 100_000, cases: int = 10_000) -> list[dict[str, Any]]:
    """Data rows of every chart the pages draw, for `size` patients and `cases` cases."""
    cohort = registry.cached(size).dataset()
    patients, responses = cohort.table("patients"), cohort.table("responses")
    series = registry.cached(0, cases=cases).dataset()
    case_frame, events = series.table("cases"), series.table("events")
    by = "iss_stage"
    results = [
        measure("km_chart (PFS, overall)", lambda: km_chart(summarise_survival(patients, "pfs"))),
        measure(
            f"km_chart (OS by {by}, all risk rows)",
            lambda: km_chart(
                summarise_survival(patients, "os", by),
                risk_rows=("n_risk", "cum_events", "cum_censored"),
            ),
        ),
        measure(
            f"response_chart (by {by})",
            lambda: response_chart(response_by_timepoint(patients, responses, "evaluable", by)),
        ),
        measure("alluvial_chart", lambda: alluvial_chart(alluvial_flows(patients, responses))),
        measure(
            f"swimmer_chart ({cases} cases)", lambda: swimmer_chart(case_frame, events, "episodes")
        ),
        measure(
            f"crs_latency_chart ({cases} cases, by case)",
            lambda: crs_latency_chart(crs_episodes(case_frame, events), "case"),
        ),
        measure(
            f"crs_latency_chart ({cases} cases, by bsab)",
            lambda: crs_latency_chart(crs_episodes(case_frame, events), "bsab"),
        ),
    ]
    for row in results:
        row["patients"] = size if "cases" not in row["chart"] else 0
    return results


if __name__ == "__main__":
    for row in run_marks():
        print(json.dumps(row))
