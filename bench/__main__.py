"""`python -m bench` (make bench): every benchmark, results to bench/results.json.

`--quick` (or `make bench QUICK=1`) skips the million-patient registry (loading then runs at
20 k patients, once) and the browser (about a minute) and writes bench/out/results-quick.json
instead, so a quick run never replaces the full results. `--table` prints the tables of
docs/performance.md from bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bench import registry
from bench.loading import run_loading
from bench.marks import run_marks

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
QUICK_RESULTS = registry.OUT_DIR / "results-quick.json"
SIZES = (10_000, 100_000, 1_000_000)
CASES = 10_000
#: Relative tolerance for statistics computed by different programs (medians are exact).
TOLERANCE = 1e-6
PACKAGES = ("bsab-explorer", "polars", "numpy", "scipy", "pandas", "lifelines", "streamlit",
            "altair", "duckdb", "playwright")  # fmt: skip
GOALS = {
    "recompute_1m_ms": 300,
    "speedup_1m": 5.0,
    "peak_memory_1m_mb": 1536,
    "filter_p95_bundled_ms": 300,
    "filter_p95_registry_ms": 1000,
    "cold_start_ratio": 1.5,
    "chart_rows": 5000,
    "load_store_1m_s": 1.0,
    "load_csv_over_read_csv": 3.0,
    "cli_speedup_1m": 2.0,
    "ingest_over_duckdb": 2.0,
    "first_page_1m_over_bundled": 2.0,
}
#: Patients of the loading benchmark: a million in the full run, a small registry when quick.
LOADING_SIZE = 1_000_000
LOADING_SIZE_QUICK = 20_000


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python and package versions, date and load."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        ram_kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    r_version = None
    try:
        reply = subprocess.run(
            ["Rscript", "-e", 'cat(R.version.string, as.character(packageVersion("survival")))'],
            capture_output=True,
            text=True,
            check=True,
        )
        r_version = reply.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_kb / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "r": r_version,
        "packages": versions,
        "load_average_start": os.getloadavg(),
    }


def _child(size: int, way: str, repeats: int) -> dict[str, Any]:
    """One way at one size, in its own process (its own peak memory)."""
    started = time.perf_counter()
    reply = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.analytics",
            "--size",
            str(size),
            "--way",
            way,
            "--repeats",
            str(repeats),
        ],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        check=False,
    )
    if reply.returncode != 0:
        return {"error": reply.stderr.strip().splitlines()[-5:]}
    result: dict[str, Any] = json.loads(reply.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 1)
    result["load_average"] = os.getloadavg()[0]
    return result


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=1e-12)


def compare(ours: dict[str, Any], other: dict[str, Any], path: str = "") -> list[str]:
    """Every number of `other` that differs from ours (missing counts are zero)."""
    mismatches: list[str] = []
    for key, theirs in other.items():
        where = f"{path}.{key}" if path else key
        mine = ours.get(key)
        if isinstance(theirs, dict):
            mismatches += compare(mine if isinstance(mine, dict) else {}, theirs, where)
            if where.endswith(("response", "transitions", "table1")):
                # Counts: a cell we report that they do not is a mismatch unless it is zero.
                extra = {k: v for k, v in (mine or {}).items() if k not in theirs and v}
                mismatches += [f"{where}.{k}: ours {v}, theirs absent" for k, v in extra.items()]
            continue
        if mine is None and isinstance(theirs, int) and theirs == 0:
            continue
        if not _close(mine, theirs):
            mismatches.append(f"{where}: ours {mine}, theirs {theirs}")
    return mismatches


def analytics(sizes: tuple[int, ...], repeats: int, baseline_repeats: int) -> list[dict[str, Any]]:
    """Ours, pandas + lifelines and R at each size, with ratios and the number check."""
    rows = []
    for size in sizes:
        registry.cached(size)
        print(f"analytics: {size:,} patients …", flush=True)
        ours = _child(size, "ours", repeats)
        # The plain way at a million patients takes minutes: run it once there.
        base = _child(size, "baseline", 1 if size >= 1_000_000 else baseline_repeats)
        r = _child(size, "r", 1)
        row: dict[str, Any] = {"patients": size, "ours": ours, "baseline": base, "r": r}
        if "error" not in ours and "error" not in base:
            row["speedup_min"] = round(base["timing"]["min_ms"] / ours["timing"]["min_ms"], 1)
            row["speedup_median"] = round(
                base["timing"]["median_ms"] / ours["timing"]["median_ms"], 1
            )
            row["mismatches_baseline"] = compare(ours["numbers"], base["numbers"])
        if "error" not in ours and "numbers" in r:
            row["mismatches_r"] = compare(ours["numbers"], r["numbers"])
        for way in (ours, base, r):
            way.pop("numbers", None)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "patients"})[:600], flush=True)
    return rows


def _goal(value: Any, goal: float | None, met: bool) -> dict[str, Any]:
    return {"value": value, "goal": goal, "met": met}


def goals(results: dict[str, Any]) -> dict[str, Any]:
    """Each goal with the measured value and whether it is met."""
    out: dict[str, Any] = {}
    million = next((r for r in results["analytics"] if r["patients"] == 1_000_000), None)
    if million is not None and "timing" in million["ours"]:
        ms = million["ours"]["timing"]["min_ms"]
        out["recompute_1m_ms"] = _goal(ms, GOALS["recompute_1m_ms"], ms <= GOALS["recompute_1m_ms"])
        speed = million.get("speedup_min")
        fast = speed is not None and speed >= GOALS["speedup_1m"]
        out["speedup_1m"] = _goal(speed, GOALS["speedup_1m"], fast)
        # R is the reference; lifelines is reported apart (its Cox stops at a looser tolerance).
        same_r = "mismatches_r" in million and not million["mismatches_r"]
        out["identical_numbers_1m_r"] = _goal(same_r, None, same_r)
        same_plain = not million.get("mismatches_baseline")
        out["identical_numbers_1m_lifelines"] = _goal(
            same_plain or million.get("mismatches_baseline"), None, same_plain
        )
        peak = million["ours"]["peak_rss_mb"]
        limit = GOALS["peak_memory_1m_mb"]
        out["peak_memory_1m_mb"] = _goal(peak, limit, peak <= limit)
    browser = results.get("browser")
    if browser and "error" not in browser:
        for key in ("bundled", "registry"):
            goal = f"filter_p95_{key}_ms"
            p95 = browser[f"filter_change_{key}"]["p95_ms"]
            out[goal] = _goal(p95, GOALS[goal], p95 <= GOALS[goal])
        ratio = browser["cold_start"]["ratio_bundled_median"]
        limit = GOALS["cold_start_ratio"]
        out["cold_start_ratio"] = _goal(ratio, limit, ratio <= limit)
        first = browser.get("first_page_1m")
        if first:
            ratio = first["ratio_median"]
            limit = GOALS["first_page_1m_over_bundled"]
            out["first_page_1m_over_bundled"] = _goal(ratio, limit, ratio <= limit)
    loading = results.get("loading")
    if loading and "error" not in loading and loading["patients"] == LOADING_SIZE:
        out.update(loading_goals(loading))
    over = [m["chart"] for m in results.get("marks", []) if not m["within_budget"]]
    out["chart_rows"] = _goal(over or "all within", GOALS["chart_rows"], not over)
    return out


def loading_goals(loading: dict[str, Any]) -> dict[str, Any]:
    """The loading goals at a million patients (times: medians of wall seconds)."""
    out: dict[str, Any] = {}
    seconds = loading["load_store"]["wall_s"]["median"]
    limit = GOALS["load_store_1m_s"]
    out["load_store_1m_s"] = _goal(seconds, limit, seconds <= limit)
    ratios = loading["ratios"]
    csv = ratios["load_csv/read_csv"]["wall"]
    limit = GOALS["load_csv_over_read_csv"]
    out["load_csv_over_read_csv"] = _goal(csv, limit, csv <= limit)
    speed = min(
        ratios["cli_baseline/cli_parquet"]["wall"], ratios["cli_baseline/cli_store"]["wall"]
    )
    limit = GOALS["cli_speedup_1m"]
    out["cli_speedup_1m"] = _goal(speed, limit, speed >= limit)
    same = loading["identical_medians"]
    out["cli_identical_medians_1m"] = _goal(same, None, same)
    ingest = ratios["ingest/duckdb_insert"]["wall"]
    limit = GOALS["ingest_over_duckdb"]
    out["ingest_over_duckdb"] = _goal(ingest, limit, ingest <= limit)
    peak = loading["load_store"]["peak_rss_mb"]
    limit = GOALS["peak_memory_1m_mb"]
    out["peak_memory_load_recompute_1m_mb"] = _goal(peak, limit, peak <= limit)
    return out


def loading_table(loading: dict[str, Any]) -> list[str]:
    """The loading rows of docs/performance.md (medians of the alternated runs)."""

    def cell(name: str) -> str:
        entry = loading[name]
        return f"{entry['wall_s']['median']:.2f} s ({entry['cpu_s']['median']:.2f} s CPU)"

    ratios = loading["ratios"]
    rows = [
        ("load from the store (validated when stored; peak through one recompute)", "load_store",
         None),
        ("load the CSV files / `polars.read_csv` alone", "load_csv", "read_csv"),
        ("the patients' file with every field quoted / `polars.read_csv` alone", "load_csv_quoted",
         "read_csv_quoted"),
        ("ingest the patients into the store / DuckDB insert alone", "ingest", "duckdb_insert"),
        ("`table survival-medians --by emd`, Parquet / pandas + lifelines", "cli_parquet",
         "cli_baseline"),
        ("`table survival-medians --by emd`, store / pandas + lifelines", "cli_store",
         "cli_baseline"),
        ("`import bsab_explorer.cli`", "cli_import", None),
    ]  # fmt: skip
    # Results from before the quoted file was measured lack it.
    rows = [row for row in rows if row[1] in loading]
    if "load_store_first" in loading:  # results from before the store kept its fingerprint lack it
        rows.insert(1, ("the first load after a change (fingerprint computed and kept)",
                        "load_store_first", None))  # fmt: skip
    lines = [
        f"| {loading['patients']:,} patients | ours, wall (CPU), median | floor | ratio, wall "
        "(CPU) |",
        "|---|---:|---:|---:|",
    ]
    for label, ours, floor in rows:
        if floor is None:
            extra = (
                f"peak {loading[ours]['peak_rss_mb']:,} MB"
                if "peak_rss_mb" in loading[ours]
                else ""
            )
            lines.append(f"| {label} | {cell(ours)} | – | {extra} |")
            continue
        key = f"{floor}/{ours}" if floor == "cli_baseline" else f"{ours}/{floor}"
        ratio = ratios[key]
        lines.append(
            f"| {label} | {cell(ours)} | {cell(floor)} | {ratio['wall']}× ({ratio['cpu']}×) |"
        )
    same = loading["identical_medians"]
    lines.append(f"| medians identical (Parquet, store, lifelines) | {same} | | |")
    return lines


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:,.0f} ms"


def summary_table(results: dict[str, Any]) -> str:
    """The tables of docs/performance.md (Markdown) from a results file."""
    lines = [
        "| patients | ours, min (median) | pandas + lifelines, min | speed-up | R survfit + "
        "survdiff + coxph (compute) | peak memory, ours / plain | numbers vs R / vs lifelines |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["analytics"]:
        ours, base, r = row["ours"], row["baseline"], row["r"]
        r_ms = (
            sum(v for k, v in r["timing"].items() if k.endswith("compute_ms"))
            if "timing" in r
            else None
        )
        runs = len(base["timing"]["runs_ms"])
        verdicts = []
        for key in ("mismatches_r", "mismatches_baseline"):
            found = row.get(key)
            verdicts.append("–" if found is None else f"{len(found)} differ" if found else "same")
        lines.append(
            f"| {row['patients']:,} | {_ms(ours['timing']['min_ms'])} "
            f"({_ms(ours['timing']['median_ms'])}) | {_ms(base['timing']['min_ms'])}"
            f"{' (1 run)' if runs == 1 else ''} | {row.get('speedup_min', '–')}× | "
            f"{_ms(r_ms) if r_ms is not None else 'not run'} | "
            f"{ours['peak_rss_mb']:,.0f} / {base['peak_rss_mb']:,.0f} MB | "
            f"{' / '.join(verdicts)} |"
        )
    lines += [
        "",
        "| chart (100 k patients, 10 k cases) | data rows | spec | analysis + chart, 1 run |",
        "|---|---:|---:|---:|",
    ]
    for mark in results.get("marks", []):
        lines.append(
            f"| {mark['chart']} | {mark['data_rows']:,} | {mark['spec_kb']:,.0f} kB "
            f"| {_ms(mark['build_ms'])} |"
        )
    loading = results.get("loading")
    if loading and "error" not in loading:
        lines += ["", *loading_table(loading)]
    browser = results.get("browser")
    if browser and "error" not in browser:
        cold = browser["cold_start"]
        lines += [
            "",
            "| browser | p50 | p95 | runs |",
            "|---|---:|---:|---:|",
        ]
        for key, label in (("bundled", "bundled data (44 patients)"), ("registry", "100 k")):
            change = browser[f"filter_change_{key}"]
            lines.append(
                f"| filter change to painted, {label} | {_ms(change['p50_ms'])} | "
                f"{_ms(change['p95_ms'])} | {change['changes']} |"
            )
        lines.append(
            f"| cold start to first KM curve: app (bundled) / trivial app | "
            f"{min(cold['app_bundled_s']):.1f} s / {min(cold['trivial_s']):.1f} s (min) | "
            f"ratio {cold['ratio_bundled_median']} (median) | {len(cold['trivial_s'])} |"
        )
        lines.append(
            f"| cold start to first KM curve, 100 k registry | "
            f"{min(cold['app_registry_s']):.1f} s | ratio {cold['ratio_registry']} | "
            f"{len(cold['app_registry_s'])} |"
        )
        first = browser.get("first_page_1m")
        if first:
            lines.append(
                f"| first KM curve on a just-started server, {first['patients']:,} patients from "
                f"the store / bundled data | {first['registry_median_s']:.2f} s / "
                f"{first['bundled_median_s']:.2f} s (median) | ratio {first['ratio_median']} | "
                f"{len(first['registry_s'])} |"
            )
        later = browser.get("first_visit_after_start")
        if later:
            lines.append(
                f"| first visit {later['idle_s']:.0f} s after the server started: warmed up / "
                f"plain `streamlit run` | {np.median(later['warmed_up_s']):.2f} s / "
                f"{np.median(later['plain_s']):.2f} s (median) | {later['speed_up']}× sooner | "
                f"{len(later['plain_s'])} |"
            )
        warm = browser.get("warm_server")
        if warm:
            lines.append(
                f"| first KM curve, server already warm (new browser context): app / trivial "
                f"app | {np.median(warm['app_bundled_s']):.2f} s / "
                f"{np.median(warm['trivial_s']):.2f} s (median) | floor of the cold-start "
                f"ratio {warm['cold_start_floor_ratio']} | {len(warm['trivial_s'])} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks and write the results."""
    parser = argparse.ArgumentParser(description="bsab-explorer benchmarks")
    # `make bench QUICK=1` (make exports command-line variables to the recipe) means --quick.
    quick_env = os.environ.get("QUICK", "").lower() in {"1", "true", "yes"}
    parser.add_argument(
        "--quick",
        action="store_true",
        default=quick_env,
        help="skip 1 M patients and the browser (also: make bench QUICK=1)",
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the browser benchmark")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of our recompute")
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--loading-repeats", type=int, default=3, help="rounds of loading runs")
    parser.add_argument("--changes", type=int, default=20, help="filter changes in the browser")
    parser.add_argument(
        "--table", action="store_true", help="print the tables of docs/performance.md"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(summary_table(json.loads(RESULTS.read_text())))
        return
    started = time.perf_counter()
    sizes = SIZES[:2] if args.quick else SIZES
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    results["workload"] = {
        "filter": "age_years>=45 (keeps ~99 % of patients)",
        "by": "iss_stage (I, II, III; not recorded excluded from tests)",
        "pages": "survival (PFS and OS: KM, medians, landmarks, log-rank, Cox), response by "
        "timepoint, conversion (alluvial flows, statements, post-debulking to best), Table 1",
        "generator_seed": registry.DEFAULT_SEED,
    }
    results["analytics"] = analytics(
        sizes, 3 if args.quick else args.repeats, args.baseline_repeats
    )
    size = LOADING_SIZE_QUICK if args.quick else LOADING_SIZE
    print(f"loading: {size:,} patients …", flush=True)
    try:
        results["loading"] = run_loading(size, 1 if args.quick else args.loading_repeats)
    except Exception as error:  # a failed task must not lose the other results
        results["loading"] = {"error": f"{type(error).__name__}: {error}"}
    print("marks: chart data rows …", flush=True)
    results["marks"] = run_marks(100_000, 1_000 if args.quick else CASES)
    if not (args.quick or args.no_browser):
        print("browser …", flush=True)
        from bench.browser import run_browser

        try:
            results["browser"] = run_browser(100_000, args.changes)
        except Exception as error:  # a browser failure must not lose the other results
            results["browser"] = {"error": f"{type(error).__name__}: {error}"}
    results["goals"] = goals(results)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    target = QUICK_RESULTS if args.quick else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["goals"], indent=1))
    print(f"written {target} in {results['elapsed_s']} s")


if __name__ == "__main__":
    main(sys.argv[1:])
