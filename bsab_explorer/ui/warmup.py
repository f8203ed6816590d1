"""The server's warm-up: import what the pages import and load the bundled data while no one
is waiting, so the first visitor after a start does not wait for it.

`python -m bsab_explorer.ui.serve` (what `make run` starts) calls `start()` before Streamlit's
server; once the server is up, a thread imports every module app.py and the pages import
(polars, altair, duckdb, scipy and the package) and loads the bundled dataset into the cache
the pages read. A page script that starts meanwhile waits for the warm-up to end before its own
imports (it imports `bsab_explorer.ui.ready` first), so no two threads ever import the same
modules at once. Without the launcher (a plain `streamlit run app.py`, tests) there is no
warm-up and nothing waits.

This module is imported by the launcher before the server starts: it imports nothing heavy.
"""

from __future__ import annotations

import ast
import importlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.logger import get_logger

ROOT = Path(__file__).resolve().parents[2]
#: The scripts Streamlit runs: their imports are what the warm-up imports.
SCRIPTS = (ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")))
#: The module a script imports first, which waits for the warm-up.
READY = "bsab_explorer.ui.ready"
#: How long a script waits for the warm-up at most (it then imports on its own).
WAIT_S = 120.0
THREAD_NAME = "bsab-explorer-warm-up"

_LOGGER = get_logger(__name__)
_done = threading.Event()
_done.set()  # no warm-up started: nothing to wait for
_started = threading.Lock()


def wait(timeout: float | None = WAIT_S) -> bool:
    """Block until the warm-up, if one was started, has ended (True), or `timeout` passed."""
    return _done.wait(timeout)


class _NotInWarmUp(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warnings of the warm-up's own thread (it
    fills the data cache outside any page, on purpose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


def script_imports(scripts: tuple[Path, ...] = SCRIPTS) -> list[str]:
    """Every module the scripts import (top-level statements), in order, without `READY`."""
    names: list[str] = []
    for script in scripts:
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module]
                # `from package import module` imports the module too.
                found += [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            names += [name for name in found if name != READY and name not in names]
    return names


def warm_up(scripts: tuple[Path, ...] = SCRIPTS) -> list[str]:
    """Import what the scripts import and load the bundled data; return the modules imported."""
    imported = []
    for name in script_imports(scripts):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue  # `from module import function`: not a module of its own
        imported.append(name)
    from bsab_explorer.ui import cache

    cache.load_bundled()
    return imported


def _server_started() -> bool:
    from streamlit.runtime import Runtime
    from streamlit.runtime.runtime import RuntimeState

    if not Runtime.exists():
        return False
    return Runtime.instance().state in (
        RuntimeState.NO_SESSIONS_CONNECTED,
        RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED,
    )


def start(
    work: Callable[[], object] = warm_up,
    ready: Callable[[], bool] = _server_started,
    poll_s: float = 0.05,
    give_up_s: float = 120.0,
) -> threading.Thread | None:
    """Run `work` in a thread once `ready()` is true (the server is up: doing the work while it
    starts would slow its start); scripts wait for it (`wait`). Once per process."""
    if not _started.acquire(blocking=False):
        return None
    _done.clear()
    get_logger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NotInWarmUp())

    def run() -> None:
        try:
            deadline = time.monotonic() + give_up_s
            while not ready():
                if time.monotonic() > deadline:
                    _LOGGER.warning("Warm-up skipped: the server did not start in %s s", give_up_s)
                    return
                time.sleep(poll_s)
            began = time.perf_counter()
            work()
            _LOGGER.info(
                "Warm-up: libraries and bundled data loaded in %.1f s", time.perf_counter() - began
            )
        except Exception:  # the pages then load the data themselves and report any problem
            _LOGGER.warning("Warm-up failed; the first page loads the data itself", exc_info=True)
        finally:
            _done.set()

    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread
