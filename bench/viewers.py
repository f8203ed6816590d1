"""Many viewers on one shared store: N concurrent browser sessions, each changing the filter.

The servers (one app process, or two behind the sticky proxy of `bench.proxy`) run on a
throwaway PostgreSQL store (`tests.pg`), each in its own process; the browsers are one headless
Chromium driven from this process, so the client load is separate from the servers'. Each
session opens the Survival page, then applies its own sequence of filters (never one another
session just asked for, so no change is served from another's cache); a change is timed in the
page's own clock, as `bench.browser` times one viewer, from the Enter to the frame after the
main area last changed. Any error (a timeout, an exception shown on the page, a session that
does not start) is counted: any error is a defect.

Run: ``.venv/bin/python -m bench.viewers --sessions 8 --changes 8`` (writes
bench/out/viewers.json; docs/performance.md records the numbers). ``--logs FOLDER`` keeps what
a failure needs explaining: both servers' logs, the proxy's routing of every connection, each
session's page loads, WebSockets and console, and a screenshot of every failed change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import registry
from bench.browser import (
    _KM_PAINTED,
    _OBSERVE,
    _SETTLED,
    CHROMIUM,
    CHROMIUM_FLAGS,
    QUIET_MS,
    ROOT,
    filter_plan,
    free_port,
    server,
    wait_healthy,
)
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import STORE_ENV, open_store
from tests.pg import start_postgres

#: What a failed rerun leaves on the page: an exception, or the error of `layout.run_guarded`
#: (a view that raised is drawn as a short message with a reference, not as an exception).
_FAILED = """
() => {
  if (document.querySelector('[data-testid="stException"]')) return 'exception shown';
  for (const alert of document.querySelectorAll('[data-testid="stAlert"]')) {
    if (alert.textContent.includes('could not be drawn')) return 'view failed';
  }
  return '';
}
"""


@contextmanager
def proxy(backends: list[str], log_dir: Path | None = None) -> Iterator[str]:
    """The sticky proxy in its own process in front of `backends` (URLs): its URL.

    With `log_dir`, the proxy's routing of every connection goes to proxy-PORT.log there.
    """
    port = free_port()
    ports = [url.rsplit(":", 1)[1] for url in backends]
    with ExitStack() as stack:
        log = stack.enter_context((log_dir / f"proxy-{port}.log").open("wb")) if log_dir else None
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.proxy", str(port), *ports],
            cwd=ROOT,
            stderr=log if log is not None else subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Trace:
    """What one session saw (page loads, WebSockets, console, each change), kept with --logs."""

    index: int
    log_dir: Path | None
    started: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Record `text` at the session's clock."""
        self.lines.append(f"{time.monotonic() - self.started:8.3f} {text}")

    def watch(self, page: Any) -> None:
        """Record the page's navigations, WebSockets (a reconnect shows) and console."""
        page.on("framenavigated", lambda frame: self.note(f"navigated {frame.url}"))
        page.on("console", lambda message: self.note(f"console {message.type}: {message.text}"))
        page.on("websocket", self._websocket)

    def _websocket(self, socket: Any) -> None:
        self.note(f"websocket open {socket.url}")
        socket.on("close", lambda _: self.note("websocket closed"))

    async def failed(self, page: Any, step: int) -> None:
        """Keep a screenshot and the HTML of the page where change `step` failed."""
        if self.log_dir is None:
            return
        shot = self.log_dir / f"session-{self.index}-change-{step}.png"
        await page.screenshot(path=str(shot))
        shot.with_suffix(".html").write_text(await page.content())

    def write(self) -> None:
        """Write the session's log into the log folder (if any)."""
        if self.log_dir is not None:
            (self.log_dir / f"session-{self.index}.log").write_text("\n".join(self.lines) + "\n")


async def _session(
    browser: Any, url: str, plan: list[tuple[str, int]], total: int, errors: list[str], trace: Trace
) -> list[float]:
    """One viewer: open the Survival page, then apply `plan` one filter at a time."""
    latencies: list[float] = []
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = await context.new_page()
        trace.watch(page)
        await page.goto(f"{url}/survival")
        await page.wait_for_function(_KM_PAINTED, timeout=300_000, polling="raf")
        trace.note("Kaplan-Meier curve painted")
        if failed := await page.evaluate(_FAILED):
            errors.append(f"{failed} on the first page")
        box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Filter")
        await page.evaluate(_OBSERVE)
        for step, (text, n) in enumerate(plan):
            try:
                await box.fill(text)
                await box.press("Enter")
                shown = page.get_by_text(re.compile(rf"^{n} of {total} patients")).first
                await shown.wait_for(timeout=120_000)
                await page.wait_for_function(_SETTLED, arg=QUIET_MS, timeout=120_000, polling=50)
                if failed := await page.evaluate(_FAILED):
                    errors.append(f"{failed} after {text}")
                latencies.append(
                    await page.evaluate("() => window.__benchLast - window.__benchStart")
                )
                trace.note(f"change {step} ({text}) done")
            except Exception as error:  # counted: any error is a defect
                errors.append(f"{type(error).__name__} after {text}: {str(error)[:80]}")
                trace.note(f"change {step} ({text}) failed: {type(error).__name__}")
                await trace.failed(page, step)
    except Exception as error:
        errors.append(f"session failed to start: {type(error).__name__}")
    finally:
        await context.close()
        trace.write()
    return latencies


async def _drive(
    url: str,
    sessions: int,
    plans: list[list[tuple[str, int]]],
    total: int,
    log_dir: Path | None,
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM) if CHROMIUM.exists() else None,
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        started = time.perf_counter()
        runs = await asyncio.gather(
            *(
                _session(browser, url, plans[i], total, errors, Trace(i, log_dir))
                for i in range(sessions)
            )
        )
        wall = time.perf_counter() - started
        await browser.close()
    latencies = np.asarray([x for run in runs for x in run])
    return {
        "sessions": sessions,
        "changes": int(latencies.size),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies.size else None,
        "p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies.size else None,
        "max_ms": round(float(latencies.max()), 1) if latencies.size else None,
        "wall_s": round(wall, 1),
    }


def run_viewers(
    sessions: int, changes: int, processes: int, log_dir: Path | None = None
) -> dict[str, Any]:
    """N sessions against `processes` app processes (2: behind the sticky proxy).

    With `log_dir`, the servers' and the proxy's logs, each session's log and a screenshot of
    every failed change are kept there (a folder per run).
    """
    dataset = load_dataset().dataset
    assert dataset is not None
    total = dataset.table("patients").height
    pool = filter_plan(dataset, sessions * changes + changes)
    # Session i starts i*changes into the pool: no two sessions ask for the same filter at once.
    plans = [pool[i * changes : (i + 1) * changes] for i in range(sessions)]
    plans = [plan if plan else pool[:changes] for plan in plans]
    if log_dir is not None:
        log_dir = log_dir / f"{processes}-processes"
        log_dir.mkdir(parents=True, exist_ok=True)
    postgres = start_postgres()
    try:
        url = postgres.new_database()
        open_store(url).close()  # created and seeded once, before the servers start
        os.environ[STORE_ENV] = url
        with ExitStack() as stack:
            backends = []
            for _ in range(processes):
                app, process, _ = stack.enter_context(
                    server(ROOT / "app.py", None, log_dir=log_dir)
                )
                wait_healthy(app, process)
                backends.append(app)
            front = stack.enter_context(proxy(backends, log_dir)) if processes > 1 else backends[0]
            result = asyncio.run(_drive(front, sessions, plans, total, log_dir))
    finally:
        os.environ.pop(STORE_ENV, None)
        postgres.stop()
    result["processes"] = processes
    return result


def main(argv: list[str] | None = None) -> None:
    """Run the many-viewers bench for one and two app processes and write the results."""
    parser = argparse.ArgumentParser(description="many viewers on a PostgreSQL store")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--changes", type=int, default=8, help="filter changes per session")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="app processes, per run"
    )
    parser.add_argument(
        "--logs",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="keep the servers', proxy's and sessions' logs and failed pages' screenshots here",
    )
    args = parser.parse_args(argv)
    results = [run_viewers(args.sessions, args.changes, n, args.logs) for n in args.processes]
    registry.OUT_DIR.mkdir(parents=True, exist_ok=True)
    (registry.OUT_DIR / "viewers.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
