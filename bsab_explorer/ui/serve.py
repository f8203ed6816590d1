"""`python -m bsab_explorer.ui.serve [streamlit run options]`: the app's server, warmed up.

Before Streamlit's server starts, the launcher imports every module app.py and the pages import
(polars, altair, duckdb, scipy and the package) and loads the bundled dataset into the cache the
pages read, so the first visitor does not wait for them (1.56 times sooner to the KM curve,
docs/performance.md). The warm-up lives here only: it runs before any page script exists, so no
page waits for it or imports anything for it, and a plain `streamlit run app.py` (tests) simply
has none. `make run` starts the app this way.

Either way the server listens on 127.0.0.1 only: `.streamlit/config.toml` beside app.py sets it,
whatever the working folder. `--server.address 0.0.0.0` (or STREAMLIT_SERVER_ADDRESS) opens it
to other machines, for a reverse proxy in front (README, "Deployment").
"""

from __future__ import annotations

import ast
import importlib
import logging
import sys
import time
from pathlib import Path

from streamlit.logger import get_logger

ROOT = Path(__file__).resolve().parents[2]
#: The scripts Streamlit runs: their imports are what the warm-up imports.
SCRIPTS = (ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")))

_LOGGER = get_logger(__name__)
#: Streamlit's logger of "missing ScriptRunContext", which the warm-up would trigger on purpose
#: (it fills the data cache outside any page).
_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


def script_imports(scripts: tuple[Path, ...] = SCRIPTS) -> list[str]:
    """Every module the scripts import (top-level statements), in order."""
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
            names += [name for name in found if name not in names]
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
    from bsab_explorer.exports import load_rendering
    from bsab_explorer.ui import cache

    load_rendering()  # the catalogue imports its charts when it first draws one
    cache.load_bundled()
    return imported


def main(argv: list[str] | None = None) -> None:
    """Warm up, then run Streamlit's own command line (it does not return until exit)."""
    began = time.perf_counter()
    context_logger = logging.getLogger(_CONTEXT_LOGGER)
    level = context_logger.level
    context_logger.setLevel(logging.ERROR)
    try:
        warm_up()
    except Exception:  # the pages then load the data themselves and report any problem
        _LOGGER.warning("Warm-up failed; the first page loads the data itself", exc_info=True)
    else:
        elapsed = time.perf_counter() - began
        _LOGGER.info("Warm-up: libraries and bundled data loaded in %.1f s", elapsed)
    finally:
        context_logger.setLevel(level)
    from streamlit.web import cli

    args = ["run", str(ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    cli.main(args, prog_name="streamlit")


if __name__ == "__main__":
    main()
