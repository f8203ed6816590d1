"""The app in a real browser: cold start to the first Kaplan–Meier curve, and filter changes.

A Streamlit server is started on a free port (as the browser tests do) and driven by Playwright
in headless Chromium. Cold start is timed from launching the server process to the KM curve's
line marks in the page's SVG, and compared with a one-line Streamlit app started the same way
in the same run. A filter change is timed in the page's own clock, from the Enter that commits a
new filter in the sidebar box to the animation frame after the last change to the main area
(the new N shown, every chart redrawn with its marks, the script idle; the wait for quiet
afterwards is not counted). The first page at a million patients (`first_page`) is timed from
navigation to the KM curve on a server just started on a copy of the loading benchmark's store,
against the same page of the bundled data.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import registry
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter, select_cohort

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRIVIAL_TEXT = "Hello from a trivial app"
#: Time (page clock) of the frame after the last change to the main area since `Enter`.
_OBSERVE = """
() => {
  window.__benchStart = null;
  window.__benchLast = null;
  document.addEventListener('keydown', event => {
    if (event.key !== 'Enter') return;
    window.__benchStart = performance.now();
    window.__benchLast = null;
  }, true);
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  new MutationObserver(() => {
    if (window.__benchStart === null) return;
    requestAnimationFrame(() => { window.__benchLast = performance.now(); });
  }).observe(main, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""
#: The rerun is over, every chart has marks, and the main area has been quiet for QUIET_MS.
_SETTLED = """
(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') === 'running') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const charts = document.querySelectorAll('[data-testid="stVegaLiteChart"]');
  if (charts.length === 0) return false;
  for (const chart of charts) {
    if (!chart.querySelector('svg.marks g[class*="mark-"] path[d]:not([d=""])')) return false;
  }
  return window.__benchLast !== null && performance.now() - window.__benchLast > quiet;
}
"""
#: Seconds after the server's start at which a "later" first visitor arrives.
LATER_S = 10.0
#: Quiet time after the last change before a repaint counts as finished (not part of the time).
QUIET_MS = 750
_KM_PAINTED = """
() => !!document.querySelector(
  '[data-testid="stVegaLiteChart"] svg.marks g.mark-line path[d]:not([d=""])')
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait until the server at `url` answers its health check (fail if it exits first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"streamlit did not answer on {url} within {seconds} s")


@contextmanager
def server(
    script: Path, store: Path | None, *, log_dir: Path | None = None, warm: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """A Streamlit server for `script` on a free port: (url, process, launch time).

    The app is started as `make run` starts it, warmed up before the server starts
    (`bsab_explorer.ui.serve`), unless `warm` is false; any other script with a plain
    `streamlit run`. Its output goes to a log in `log_dir` (default bench/out), removed when the
    server stops unless `log_dir` was given.
    """
    port = free_port()
    env = dict(os.environ)
    if store is not None:
        env["BSAB_EXPLORER_STORE"] = str(store)
    log_path = (log_dir or registry.OUT_DIR) / f"streamlit-{script.stem}-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        launched = time.perf_counter()
        if warm and script.resolve() == (ROOT / "app.py").resolve():
            command = [sys.executable, "-m", "bsab_explorer.ui.serve"]
        else:
            command = [sys.executable, "-m", "streamlit", "run", str(script)]
        process = subprocess.Popen(
            [
                *command,
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", process, launched
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if log_dir is None:
        log_path.unlink(missing_ok=True)


def trivial_app() -> Path:
    """A one-line Streamlit app in bench/out, the reference for cold start."""
    path = registry.OUT_DIR / "trivial_app.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'import streamlit as st\n\nst.write("{TRIVIAL_TEXT}")\n')
    return path


def registry_store(size: int, seed: int = registry.DEFAULT_SEED) -> Path:
    """A store holding the registry of `size` patients as pooled uploads (one batch a center).

    Uploaded through the package's store API (validation, identifier guard and all), once per
    (size, seed); later runs reuse the file.
    """
    from bsab_explorer.data.store import open_store

    path = registry.OUT_DIR / f"store-{size}-{seed}.duckdb"
    done = path.with_suffix(".complete")
    if done.exists() and path.exists():
        return path
    path.unlink(missing_ok=True)
    reg = registry.cached(size, seed)
    patients, responses = reg.tables["patients"], reg.tables["responses"]
    folder = registry.OUT_DIR / f"uploads-{size}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    store = open_store(path)
    try:
        for (center,), part in patients.partition_by("center", as_dict=True).items():
            ids = part.get_column("patient_id").implode()
            files = {
                "patients": part,
                "responses": responses.filter(pl.col("patient_id").is_in(ids)),
            }
            for table, frame in files.items():
                file = folder / f"{table}-{center}.parquet"
                frame.write_parquet(file)
                result = store.ingest_file(file, table, str(center))
                if not result.stored:
                    raise RuntimeError(f"{file.name} was not stored:\n{result.report.to_text()}")
    finally:
        store.close()
    done.write_text("ok\n")
    return path


def data_param(which: str) -> str:
    """The URL value of the sidebar's dataset switch for a store dataset (e.g. `Pooled`)."""
    from bsab_explorer.ui.cache import DATA_CHOICES

    return next(label for label, value in DATA_CHOICES.items() if value == which)


def launch_browser(playwright: Any) -> Any:
    """Chromium with the project's flags: /usr/bin/chromium when present, else Playwright's."""
    executable = str(CHROMIUM) if CHROMIUM.exists() else None
    return playwright.chromium.launch(
        executable_path=executable, args=CHROMIUM_FLAGS, headless=True
    )


def _painted_at(browser: Any, url: str, path: str, ready: str) -> float:
    """`time.perf_counter()` when `ready` (a JS predicate) is first true on `path`, opened in a
    new browser context (nothing cached)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}{path}")
    page.wait_for_function(ready, timeout=180_000, polling="raf")
    painted = time.perf_counter()
    context.close()
    return painted


def cold_start(browser: Any, script: Path, store: Path | None, path: str, ready: str) -> float:
    """Seconds from launching the server to `ready` (a JS predicate) true on `path`."""
    with server(script, store) as (url, process, launched):
        wait_healthy(url, process)
        return _painted_at(browser, url, path, ready) - launched


def warm_visits(
    browser: Any, script: Path, store: Path | None, path: str, ready: str, visits: int
) -> list[float]:
    """Seconds from navigation to `ready`, each in a new browser context (nothing cached), on a
    server that has served the page once already (libraries imported, data loaded, caches
    filled): the browser's own share of a cold start."""
    with server(script, store) as (url, process, _):
        wait_healthy(url, process)
        _painted_at(browser, url, path, ready)  # the first visit warms the server
        times = []
        for _ in range(visits):
            started = time.perf_counter()
            times.append(_painted_at(browser, url, path, ready) - started)
    return times


def later_visit(browser: Any, store: Path | None, *, warm: bool, idle_s: float) -> float:
    """Seconds from navigation to the first KM curve, for a first visitor who comes `idle_s`
    after the app's server started (with or without the warm-up)."""
    with server(ROOT / "app.py", store, warm=warm) as (url, process, launched):
        wait_healthy(url, process)
        time.sleep(max(0.0, idle_s - (time.perf_counter() - launched)))
        started = time.perf_counter()
        return _painted_at(browser, url, "/survival", _KM_PAINTED) - started


def server_cpu_s(process: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_visit(browser: Any, store: Path, path: str, ready: str) -> dict[str, float]:
    """A first visitor on a server just started (warmed up as `make run` does): seconds and
    server CPU seconds from navigation to `ready` on `path`, and the load average then."""
    with server(ROOT / "app.py", store) as (url, process, _):
        wait_healthy(url, process)
        cpu = server_cpu_s(process)
        started = time.perf_counter()
        painted = _painted_at(browser, url, path, ready)
        return {
            "s": painted - started,
            "server_cpu_s": server_cpu_s(process) - cpu,
            "load_1min": os.getloadavg()[0],
        }


def first_page(
    browser: Any, size: int = 1_000_000, repeats: int = 3, store_dir: Path | None = None
) -> dict[str, Any]:
    """The first KM curve at `size` patients from the store against the bundled data's.

    Each visit is the first on a server just started: its warm-up has imported the libraries
    and loaded the bundled dataset (as `make run` does), so the registry's visit loads and
    prepares the registry (the progress bar's work), the bundled one finds its data loaded.
    The registry is the loading benchmark's store (`bench.loading.prepare`), copied: the app
    adds the bundled batch to the store it opens. Alternated, `repeats` times each; medians.
    """
    from bench.loading import prepare

    where = store_dir or registry.OUT_DIR / "browser-store"
    where.mkdir(parents=True, exist_ok=True)
    large = where / f"first-page-{size}.duckdb"
    shutil.copyfile(prepare(size) / "store.duckdb", large)
    bundled = where / "first-page-bundled.duckdb"
    bundled.unlink(missing_ok=True)
    registry_ready = (
        f"() => ({_KM_PAINTED})() && document.body.innerText.includes('of {size} patients')"
    )
    # The first start of each store adds the bundled batch to it: not a first page, not counted.
    first_visit(browser, large, f"/survival?data={data_param('pooled')}", registry_ready)
    first_visit(browser, bundled, "/survival", _KM_PAINTED)
    runs: dict[str, list[dict[str, float]]] = {"registry": [], "bundled": []}
    for repeat in range(repeats):
        for which in ("registry", "bundled") if repeat % 2 == 0 else ("bundled", "registry"):
            if which == "registry":
                visit = first_visit(
                    browser, large, f"/survival?data={data_param('pooled')}", registry_ready
                )
            else:
                visit = first_visit(browser, bundled, "/survival", _KM_PAINTED)
            runs[which].append(visit)

    def median(which: str, key: str) -> float:
        return float(np.median([run[key] for run in runs[which]]))

    return {
        "patients": size,
        "registry_s": [round(r["s"], 2) for r in runs["registry"]],
        "bundled_s": [round(r["s"], 2) for r in runs["bundled"]],
        "registry_server_cpu_s": [round(r["server_cpu_s"], 2) for r in runs["registry"]],
        "bundled_server_cpu_s": [round(r["server_cpu_s"], 2) for r in runs["bundled"]],
        "load_1min": [round(r["load_1min"], 2) for r in runs["registry"] + runs["bundled"]],
        "registry_median_s": round(median("registry", "s"), 2),
        "bundled_median_s": round(median("bundled", "s"), 2),
        "ratio_median": round(median("registry", "s") / median("bundled", "s"), 2),
    }


def filter_plan(dataset: Dataset, count: int) -> list[tuple[str, int]]:
    """`count` distinct filters (never a cached one) whose N differs from the one before."""
    candidates = [f"age_years>={a}" for a in range(30, 90)]
    candidates += [f"age_years<={a}" for a in range(40, 90)]
    candidates += [f"{c};age_years>={a}" for c in ("emd=true", "sex=F") for a in range(40, 80)]
    plan: list[tuple[str, int]] = []
    previous = dataset.table("patients").height
    for text in candidates:
        n = select_cohort(dataset, CohortFilter.parse(text)).n
        if n >= 2 and n != previous:
            plan.append((CohortFilter.parse(text).to_text(), n))
            previous = n
        if len(plan) == count:
            break
    return plan


def filter_changes(
    browser: Any, store: Path | None, data: str, plan: list[tuple[str, int]], total: int
) -> dict[str, Any]:
    """Latency (ms) from a new filter typed in the sidebar to every chart repainted."""
    latencies: list[float] = []
    with server(ROOT / "app.py", store) as (url, process, _):
        wait_healthy(url, process)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/survival?data={data_param(data)}")
        page.wait_for_function(_KM_PAINTED, timeout=300_000, polling="raf")
        box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Filter")
        page.evaluate(_OBSERVE)
        for text, n in plan:
            box.fill(text)
            box.press("Enter")
            page.get_by_text(re.compile(rf"^{n} of {total} patients")).first.wait_for(
                timeout=120_000
            )
            page.wait_for_function(_SETTLED, arg=QUIET_MS, timeout=120_000, polling=50)
            latencies.append(page.evaluate("() => window.__benchLast - window.__benchStart"))
        context.close()
    runs = np.asarray(latencies)
    return {
        "changes": len(latencies),
        "p50_ms": round(float(np.percentile(runs, 50)), 1),
        "p95_ms": round(float(np.percentile(runs, 95)), 1),
        "max_ms": round(float(runs.max()), 1),
        "runs_ms": [round(r, 1) for r in latencies],
        "filters": [text for text, _ in plan],
    }


def run_browser(size: int = 100_000, changes: int = 20, cold_repeats: int = 3) -> dict[str, Any]:
    """Cold starts (app and trivial app) and filter changes on the bundled data and a registry."""
    from playwright.sync_api import sync_playwright

    bundled = load_dataset().dataset
    assert bundled is not None
    pooled = registry.cached(size).dataset()
    store_dir = registry.OUT_DIR / "browser-store"
    store_dir.mkdir(parents=True, exist_ok=True)
    bundled_store = store_dir / "bundled.duckdb"
    large_store = registry_store(size)
    trivial = trivial_app()
    result: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            # A first start creates and seeds the bundled store: not a cold start, not counted.
            cold_start(browser, ROOT / "app.py", bundled_store, "/survival", _KM_PAINTED)
            app_runs, trivial_runs, large_runs = [], [], []
            trivial_ready = f"() => document.body.innerText.includes({TRIVIAL_TEXT!r})"
            for _ in range(cold_repeats):
                trivial_runs.append(cold_start(browser, trivial, None, "/", trivial_ready))
                app_runs.append(
                    cold_start(browser, ROOT / "app.py", bundled_store, "/survival", _KM_PAINTED)
                )
            # The registry's KM curve, not the bundled one: its N is on the page too.
            registry_ready = (
                f"() => ({_KM_PAINTED})() && document.body.innerText.includes('of {size} patients')"
            )
            registry_path = f"/survival?data={data_param('pooled')}"
            large_runs.append(
                cold_start(browser, ROOT / "app.py", large_store, registry_path, registry_ready)
            )
            result["cold_start"] = {
                "trivial_s": [round(r, 2) for r in trivial_runs],
                "app_bundled_s": [round(r, 2) for r in app_runs],
                "app_registry_s": [round(r, 2) for r in large_runs],
                "ratio_bundled_median": round(
                    float(np.median(app_runs) / np.median(trivial_runs)), 2
                ),
                "ratio_bundled_min": round(min(app_runs) / min(trivial_runs), 2),
                "ratio_registry": round(min(large_runs) / min(trivial_runs), 2),
            }
            # The same pages on servers that have served them once: what the browser alone
            # needs. A cold start cannot beat the trivial app's cold start less its own visit
            # plus the app's visit, however fast the server's imports and loading became.
            app_warm = warm_visits(
                browser, ROOT / "app.py", bundled_store, "/survival", _KM_PAINTED, cold_repeats
            )
            trivial_warm = warm_visits(browser, trivial, None, "/", trivial_ready, cold_repeats)
            trivial_cold = float(np.median(trivial_runs))
            floor = trivial_cold - float(np.median(trivial_warm)) + float(np.median(app_warm))
            result["warm_server"] = {
                "app_bundled_s": [round(r, 2) for r in app_warm],
                "trivial_s": [round(r, 2) for r in trivial_warm],
                "cold_start_floor_s": round(floor, 2),
                "cold_start_floor_ratio": round(floor / trivial_cold, 2),
            }
            # A first visitor some seconds after the start, as at a tumor board: the server's
            # warm-up against a server that imports and loads on that visit (alternated).
            warmed, plain = [], []
            for repeat in range(cold_repeats):
                for warm in (True, False) if repeat % 2 == 0 else (False, True):
                    visit = later_visit(browser, bundled_store, warm=warm, idle_s=LATER_S)
                    (warmed if warm else plain).append(visit)
            result["first_visit_after_start"] = {
                "idle_s": LATER_S,
                "warmed_up_s": [round(r, 2) for r in warmed],
                "plain_s": [round(r, 2) for r in plain],
                "speed_up": round(float(np.median(plain) / np.median(warmed)), 2),
            }
            result["filter_change_bundled"] = filter_changes(
                browser,
                bundled_store,
                "bundled",
                filter_plan(bundled, changes),
                bundled.table("patients").height,
            )
            result["filter_change_registry"] = filter_changes(
                browser,
                large_store,
                "pooled",
                filter_plan(pooled, changes),
                pooled.table("patients").height,
            )
            result["filter_change_registry"]["patients"] = size
            result["first_page_1m"] = first_page(browser, repeats=cold_repeats)
        finally:
            browser.close()
    return result


def run_first_page(size: int = 1_000_000, repeats: int = 3) -> dict[str, Any]:
    """`first_page` alone, in its own browser (`python -m bench.browser first-page`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            return first_page(browser, size, repeats)
        finally:
            browser.close()


if __name__ == "__main__":
    import json

    if sys.argv[1:2] == ["first-page"]:
        print(json.dumps(run_first_page(*(int(a) for a in sys.argv[2:4]))))
    else:
        print(json.dumps(run_browser(changes=int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
