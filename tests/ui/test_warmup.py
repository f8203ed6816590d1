"""The server's warm-up (bsab_explorer.ui.warmup): what it imports and loads, and that a page
script waits for it instead of importing the same modules at the same time."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bsab_explorer.ui import warmup

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def _run(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run `code` in a fresh interpreter (the warm-up starts once per process); its lines."""
    reply = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return reply.stdout.strip().splitlines()


def test_the_warm_up_imports_what_the_scripts_import_but_the_waiting_module() -> None:
    names = warmup.script_imports()
    assert warmup.READY not in names
    assert "streamlit" in names
    for script in SCRIPTS:
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module in names, (script.name, node.module)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_script_imports_the_waiting_module_before_the_package(script: Path) -> None:
    # Any earlier import of the package could run while the warm-up imports the same modules.
    first = next(
        node
        for node in ast.parse(script.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            name.startswith("bsab_explorer")
            for name in (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
        )
    )
    assert isinstance(first, ast.Import)
    assert [alias.name for alias in first.names] == [warmup.READY]


def test_without_a_warm_up_nothing_waits() -> None:
    assert warmup.wait(timeout=0)


def test_a_script_waits_until_the_warm_up_has_ended() -> None:
    lines = _run(
        """
        import threading, time
        from bsab_explorer.ui import warmup

        ended = []
        def work():
            time.sleep(0.5)
            ended.append(time.perf_counter())

        thread = warmup.start(work=work, ready=lambda: True)
        print(warmup.start(work=work, ready=lambda: True) is None)  # once per process
        import bsab_explorer.ui.ready  # what every page does first
        print(ended != [] and time.perf_counter() >= ended[0])
        """
    )
    assert lines == ["True", "True"]


def test_a_failed_warm_up_lets_the_pages_go_on_and_says_why() -> None:
    reply = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bsab_explorer.ui import warmup\n"
            "def work(): raise OSError('store locked')\n"
            "warmup.start(work=work, ready=lambda: True)\n"
            "print(warmup.wait(timeout=30))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    assert reply.stdout.strip() == "True"
    assert "Warm-up failed" in reply.stderr
    assert "store locked" in reply.stderr


def test_a_server_that_never_starts_ends_the_warm_up_without_work() -> None:
    lines = _run(
        """
        from bsab_explorer.ui import warmup
        done = []
        warmup.start(work=lambda: done.append(1), ready=lambda: False, give_up_s=0.2)
        print(warmup.wait(timeout=30), done)
        """
    )
    assert lines == ["True []"]


def test_the_warm_up_fills_the_cache_the_pages_read(tmp_path: Path) -> None:
    lines = _run(
        """
        import sys
        from bsab_explorer.ui import cache, warmup

        imported = warmup.warm_up()
        # The pages draw what the exports catalogue builds: its charts come with it.
        print(
            "bsab_explorer.ui.shell" in imported
            and "bsab_explorer.exports" in imported
            and "bsab_explorer.charts.survival" in sys.modules
        )
        first = cache.load_bundled()
        print(first.dataset is not None and first.dataset.table("patients").height)
        print(cache.load_bundled() is first)  # the cached result, not a second load
        print("pandas" in sys.modules and "altair" in sys.modules and "duckdb" in sys.modules)
        """,
        env={"BSAB_EXPLORER_STORE": str(tmp_path / "store.duckdb")},
    )
    assert lines == ["True", "44", "True", "True"]
