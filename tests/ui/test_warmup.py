"""The server's warm-up (bsab_explorer.ui.serve): what it imports and loads, and that the
launcher does it before the server starts, so that no page script waits for it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bsab_explorer.ui import serve

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


def test_the_warm_up_imports_what_the_scripts_import() -> None:
    names = serve.script_imports()
    assert "streamlit" in names
    for script in SCRIPTS:
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module in names, (script.name, node.module)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_no_script_imports_anything_for_the_warm_up(script: Path) -> None:
    # The warm-up ends before the server starts: no page waits for it.
    names = serve.script_imports((script,))
    assert not [name for name in names if name.startswith("bsab_explorer.ui.serve")]
    assert "bsab_explorer.ui.ready" not in names


def test_the_launcher_warms_up_before_the_server_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.web import cli

    calls: list[object] = []
    monkeypatch.setattr(serve, "warm_up", lambda: calls.append("warm-up"))
    monkeypatch.setattr(cli, "main", lambda args, prog_name: calls.append(args))
    serve.main(["--server.port", "8599"])
    assert calls == ["warm-up", ["run", str(ROOT / "app.py"), "--server.port", "8599"]]


def test_a_failed_warm_up_lets_the_server_start_and_says_why() -> None:
    reply = subprocess.run(
        [
            sys.executable,
            "-c",
            "from streamlit.web import cli\n"
            "from bsab_explorer.ui import serve\n"
            "def work(): raise OSError('store locked')\n"
            "serve.warm_up = work\n"
            "cli.main = lambda args, prog_name: print('server started')\n"
            "serve.main([])",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    assert reply.stdout.strip() == "server started"
    assert "Warm-up failed" in reply.stderr
    assert "store locked" in reply.stderr


def test_the_warm_up_fills_the_cache_the_pages_read(tmp_path: Path) -> None:
    lines = _run(
        """
        import sys
        from bsab_explorer.ui import cache, serve

        imported = serve.warm_up()
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
