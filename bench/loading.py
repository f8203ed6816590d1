"""Getting a registry in: loading, ingest and the command line, each against its plain floor.

`python -m bench.loading --task T --size N` runs one task in this process and prints one JSON
line (wall and CPU seconds, peak RSS); `run_loading(size, repeats)` runs every task in its own
process, alternating ours and the floor it is compared with, and reports medians and ratios.
The machine is shared: CPU seconds (user + system of the process and its threads) are reported
beside wall seconds, and the ratios of both are taken from the same round of runs.

- load_store: `load_dataset` of a store holding the registry (what the app and the command line
  read), then one recompute of the pages (`analytics.recompute`), for the peak memory. The
  store keeps the fingerprint of what it loads as (`data.fingerprints`), so this is every load
  but the first after a change; load_store_first is that first load (the memo removed from a
  copy of the store: the fingerprint computed and kept).
- load_csv / read_csv: `load_dataset` of the registry as CSV files (the patients' survival
  columns, every response), against `polars.read_csv` of the same files alone.
- load_csv_quoted / read_csv_quoted: the same for the patients' file with every field quoted
  (as R's `write.csv` quotes text; the responses quoted would pass the 100 MiB upload limit).
- ingest / duckdb_insert: `Store.ingest_file` of the patients table (1 M rows, one center),
  against DuckDB inserting the same frame into the same table alone.
- cli_parquet / cli_store / cli_baseline: `bsab-explorer table survival-medians --by emd` as a
  whole process, from a Parquet folder and from the store, against a Python process that reads
  the Parquet file with pandas and fits lifelines' KaplanMeierFitter per group.
- cli_import: `python -c "import bsab_explorer.cli"`.

The package's bytecode is compiled before the processes are timed (`compile_package`), as an
install does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import registry

HERE = Path(__file__).resolve().parent
CENTER = "C01"
#: The columns of the command-line workload (as in the issue that set the goals).
MEDIAN_COLUMNS = ("patient_id", "emd", "pfs_days", "pfs_event", "os_days", "os_event")
DAYS_PER_MONTH = 30.4375

BASELINE_SCRIPT = """
import sys
import pandas as pd
from lifelines import KaplanMeierFitter
data = pd.read_parquet(sys.argv[1], columns=["emd", "pfs_days", "pfs_event"]).dropna()
for level, part in data.groupby("emd"):
    fitter = KaplanMeierFitter().fit(part["pfs_days"], part["pfs_event"].astype(bool))
    print("Yes" if level else "No", len(part), fitter.median_survival_time_)
"""


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the files each task reads ---------------------------------------------------------------


def workdir(size: int) -> Path:
    """Where the files of the loading benchmark at `size` are kept (bench/out)."""
    return registry.OUT_DIR / f"loading-{size}"


def prepare(size: int) -> Path:
    """The registry as one center's Parquet files, CSV files, the medians' Parquet folder and
    a store holding it (made once; the store by the package's own ingest)."""
    where = workdir(size)
    done = where / "complete"
    if done.exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    reg = registry.cached(size)
    for part in ("parquet", "csv", "medians"):
        (where / part).mkdir(parents=True)
    patients = reg.tables["patients"].with_columns(pl.lit(CENTER).alias("center"))
    responses = reg.tables["responses"]
    for name, frame in (("patients", patients), ("responses", responses)):
        frame.write_parquet(where / "parquet" / f"{name}.parquet")
    # All 56 columns of a million patients make a 275 MiB CSV, which the upload limit (100 MiB)
    # refuses by design: the CSV holds the command line's columns, and every response.
    patients.select(MEDIAN_COLUMNS).write_csv(where / "csv" / "patients.csv")
    responses.write_csv(where / "csv" / "responses.csv")
    patients.select(MEDIAN_COLUMNS).write_parquet(where / "medians" / "patients.parquet")
    from bsab_explorer.data.store import open_store

    store = open_store(where / "store.duckdb", seed=False)
    for name in ("patients", "responses"):
        result = store.ingest_file(where / "parquet" / f"{name}.parquet", name, CENTER)
        if not result.stored:
            raise RuntimeError(result.report.to_text())
    store.load_dataset("both")  # the first load keeps the fingerprint memo (load_store_first)
    store.close()
    done.write_text("ok\n")
    return where


# --- tasks, one a process ---------------------------------------------------------------------


def _task_load_store(where: Path) -> dict[str, Any]:
    from bench.analytics import recompute
    from bsab_explorer.analyses.prepared import prepare_dataset
    from bsab_explorer.data.loading import load_dataset

    cpu = _cpu_self()
    started = time.perf_counter()
    result = load_dataset(where / "store.duckdb")
    assert result.dataset is not None, result.report.to_text()
    prepared = prepare_dataset(result.dataset)  # ready for the pages
    seconds = time.perf_counter() - started
    cpu = _cpu_self() - cpu
    load_peak = _peak_mb()
    recompute(prepared)
    rows = {k: v.height for k, v in result.dataset.tables.items()}
    return {
        "seconds": seconds,
        "load_cpu_s": cpu,
        "rows": rows,
        "peak_after_load_mb": round(load_peak),
    }


def _task_load_store_first(where: Path) -> dict[str, Any]:
    import duckdb

    from bsab_explorer.analyses.prepared import prepare_dataset
    from bsab_explorer.data.loading import load_dataset

    target = _fresh_store(where, "first.duckdb")
    shutil.copyfile(where / "store.duckdb", target)
    with duckdb.connect(str(target)) as connection:
        connection.execute("DELETE FROM store_meta WHERE key LIKE 'fingerprint:%'")
    cpu = _cpu_self()
    started = time.perf_counter()
    result = load_dataset(target)
    assert result.dataset is not None, result.report.to_text()
    prepare_dataset(result.dataset)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "load_cpu_s": _cpu_self() - cpu}


def _load_folder(folder: Path) -> dict[str, Any]:
    """`load_dataset` of a folder of CSV files."""
    from bsab_explorer.data.loading import load_dataset

    # Timed from here, as read_csv is (its polars is imported with this module): wall and CPU
    # alike count the load, not the import of the package.
    cpu = _cpu_self()
    started = time.perf_counter()
    result = load_dataset(folder)
    seconds = time.perf_counter() - started
    cpu = _cpu_self() - cpu
    assert result.dataset is not None, result.report.to_text()
    return {"seconds": seconds, "load_cpu_s": cpu, "problems": len(result.report.problems)}


def _read_files(paths: list[Path]) -> dict[str, Any]:
    """`polars.read_csv` of each file alone."""
    started = time.perf_counter()
    for path in paths:
        pl.read_csv(path)
    return {"seconds": time.perf_counter() - started}


def _task_load_csv(where: Path) -> dict[str, Any]:
    return _load_folder(where / "csv")


def _task_read_csv(where: Path) -> dict[str, Any]:
    return _read_files([where / "csv" / f"{name}.csv" for name in ("patients", "responses")])


def quoted_patients(where: Path) -> Path:
    """The CSV folder's patients written with every field quoted, as R's `write.csv` quotes its
    text and many exports quote everything (made once, from the unquoted file)."""
    target = where / "csv-quoted" / "patients.csv"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        frame = pl.read_csv(where / "csv" / "patients.csv", infer_schema=False)
        frame.write_csv(target, quote_style="always")
    return target


def _task_load_csv_quoted(where: Path) -> dict[str, Any]:
    return _load_folder(quoted_patients(where).parent)


def _task_read_csv_quoted(where: Path) -> dict[str, Any]:
    return _read_files([quoted_patients(where)])


def _fresh_store(where: Path, name: str) -> Path:
    target = where / name
    target.unlink(missing_ok=True)
    Path(f"{target}.wal").unlink(missing_ok=True)
    return target


def _task_ingest(where: Path) -> dict[str, Any]:
    from bsab_explorer.data.store import open_store

    store = open_store(_fresh_store(where, "ingest.duckdb"), seed=False)
    started = time.perf_counter()
    result = store.ingest_file(where / "parquet" / "patients.parquet", "patients", CENTER)
    seconds = time.perf_counter() - started
    assert result.stored, result.report.to_text()
    return {"seconds": seconds, "rows": result.batch.rows if result.batch else 0}


def _task_duckdb_insert(where: Path) -> dict[str, Any]:
    import duckdb

    from bsab_explorer.data.storefile import create_tables, store_table
    from bsab_explorer.schema import TABLES

    target = _fresh_store(where, "insert.duckdb")
    frame = pl.read_parquet(where / "parquet" / "patients.parquet").select(
        pl.lit(1, pl.Int64).alias("_batch_id"),
        pl.lit(CENTER).alias("_center"),
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_row"),
        *TABLES["patients"].column_names,
    )
    connection = duckdb.connect(str(target))
    create_tables(connection)
    started = time.perf_counter()
    connection.execute("BEGIN TRANSACTION")
    connection.register("incoming", frame.to_arrow())
    connection.execute(f"INSERT INTO {store_table('patients')} BY NAME SELECT * FROM incoming")
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return {"seconds": seconds, "rows": frame.height}


TASKS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "load_store": _task_load_store,
    "load_store_first": _task_load_store_first,
    "load_csv": _task_load_csv,
    "read_csv": _task_read_csv,
    "load_csv_quoted": _task_load_csv_quoted,
    "read_csv_quoted": _task_read_csv_quoted,
    "ingest": _task_ingest,
    "duckdb_insert": _task_duckdb_insert,
}


def run_task(task: str, size: int) -> dict[str, Any]:
    """One task in this process: its own timings, CPU seconds and peak memory."""
    where = workdir(size)
    cpu = _cpu_self()
    result = TASKS[task](where)
    # The load's own CPU when the task does more after it (load_store: one recompute).
    result["cpu_s"] = round(result.pop("load_cpu_s", _cpu_self() - cpu), 3)
    result["seconds"] = round(result["seconds"], 3)
    result["peak_rss_mb"] = round(_peak_mb())
    return result


# --- whole processes --------------------------------------------------------------------------


def _commands(where: Path) -> dict[str, list[str]]:
    cli = [
        str(Path(sys.executable).parent / "bsab-explorer"),
        "table",
        "survival-medians",
        "--by",
        "emd",
    ]
    return {
        "cli_parquet": [*cli, "--data", str(where / "medians"), "--format", "json"],
        "cli_store": [*cli, "--data", str(where / "store.duckdb"), "--format", "json"],
        "cli_baseline": [
            sys.executable,
            "-c",
            BASELINE_SCRIPT,
            str(where / "medians" / "patients.parquet"),
        ],
        "cli_import": [sys.executable, "-c", "import bsab_explorer.cli"],
    }


def _process(command: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one whole process."""
    cpu = _cpu_children()
    started = time.perf_counter()
    reply = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent, check=False)
    wall = time.perf_counter() - started
    if reply.returncode != 0:
        raise RuntimeError(f"{command[:4]}: {reply.stderr.strip()[-500:]}")
    return wall, _cpu_children() - cpu, reply.stdout


def _child_task(task: str, size: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.loading", "--task", task, "--size", str(size)]
    wall, _cpu, out = _process(command)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["process_s"] = round(wall, 3)
    return result


def _medians(stdout: str, ours: bool) -> dict[str, float | None]:
    if ours:
        return {
            row["group"]: None
            if row["median_months"] is None
            else round(row["median_months"] * DAYS_PER_MONTH, 6)
            for row in json.loads(stdout)
        }
    found: dict[str, float | None] = {}
    for line in stdout.strip().splitlines():
        group, _, median = line.split()
        found[group] = round(float(median), 6)
    return found


def _summary(runs: list[float]) -> dict[str, Any]:
    return {"median": round(float(np.median(runs)), 3), "runs": [round(r, 3) for r in runs]}


def compile_package() -> None:
    """Compile the package's bytecode, as installing it does (`uv sync --compile-bytecode`
    compiles the libraries, not an editable checkout of the project).

    Where PYTHONDONTWRITEBYTECODE is set (this machine), every process of an uncompiled checkout
    compiles each module it imports from source again (some 0.03-0.05 s CPU for a table), which
    an installed command, and the baseline's pandas and lifelines, never do. Stale files are
    harmless: Python checks each against its source's time and size.
    """
    import compileall

    compileall.compile_dir(HERE.parent / "bsab_explorer", quiet=1)


def run_loading(size: int, repeats: int) -> dict[str, Any]:
    """Every loading task and process at `size`, alternating, `repeats` rounds: medians, ratios."""
    where = prepare(size)
    quoted_patients(where)
    compile_package()
    pairs = (
        ("load_csv", "read_csv"),
        ("load_csv_quoted", "read_csv_quoted"),
        ("ingest", "duckdb_insert"),
        ("load_store", None),
        ("load_store_first", None),
    )
    tasks: dict[str, list[dict[str, Any]]] = {}
    commands = _commands(where)
    processes: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in commands
    }
    medians: dict[str, dict[str, float | None]] = {}
    load = [os.getloadavg()[0]]
    for round_ in range(repeats):
        for ours, floor in pairs:
            for task in (ours, floor):
                if task is not None:
                    tasks.setdefault(task, []).append(_child_task(task, size))
                    print(f"  round {round_ + 1}: {task} {tasks[task][-1]}", file=sys.stderr)
        for name, command in commands.items():
            wall, cpu, out = _process(command)
            print(f"  round {round_ + 1}: {name} {wall:.2f} s, {cpu:.2f} s CPU", file=sys.stderr)
            processes[name]["wall"].append(wall)
            processes[name]["cpu"].append(cpu)
            if name != "cli_import":
                medians[name] = _medians(out, ours=name != "cli_baseline")
        load.append(os.getloadavg()[0])
    out: dict[str, Any] = {"patients": size, "load_average": [round(x, 1) for x in load]}
    for task, runs in tasks.items():
        out[task] = {
            "wall_s": _summary([r["seconds"] for r in runs]),
            "cpu_s": _summary([r["cpu_s"] for r in runs]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            **{k: v for k, v in runs[-1].items() if k in ("rows", "peak_after_load_mb")},
        }
    for name, timing in processes.items():
        out[name] = {"wall_s": _summary(timing["wall"]), "cpu_s": _summary(timing["cpu"])}

    def ratio(a: str, b: str, key: str) -> float:
        return round(out[a][key]["median"] / out[b][key]["median"], 2)

    out["ratios"] = {
        f"{a}/{b}": {"wall": ratio(a, b, "wall_s"), "cpu": ratio(a, b, "cpu_s")}
        for a, b in (
            ("load_csv", "read_csv"),
            ("load_csv_quoted", "read_csv_quoted"),
            ("ingest", "duckdb_insert"),
            ("cli_baseline", "cli_parquet"),
            ("cli_baseline", "cli_store"),
        )
    }
    out["medians_days"] = medians
    out["identical_medians"] = (
        medians["cli_parquet"] == medians["cli_store"] == medians["cli_baseline"]
    )
    return out


def main(argv: list[str] | None = None) -> None:
    """Run one task (for `run_loading`) or the whole loading benchmark at one size."""
    parser = argparse.ArgumentParser(description="loading, ingest and command-line benchmark")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.task:
        print(json.dumps(run_task(args.task, args.size)))
    else:
        print(json.dumps(run_loading(args.size, args.repeats), indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
