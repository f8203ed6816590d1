"""The package's shape (STYLE.md): only `ui/` speaks Streamlit; pages hold no data logic."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bsab_explorer"
PAGES = sorted((ROOT / "pages").glob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_never_import_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if "ui" not in path.relative_to(PACKAGE).parts[:1]
        and any(name.split(".")[0] == "streamlit" for name in _imports(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_pages_hold_no_polars_sql_or_statistics(page: Path) -> None:
    roots = {name.split(".")[0] for name in _imports(page)}
    assert roots <= {"streamlit", "bsab_explorer"}, roots
    text = page.read_text(encoding="utf-8")
    for forbidden in ("pl.col(", "pl.lit(", ".filter(", ".group_by(", "SELECT ", "duckdb"):
        assert forbidden not in text, forbidden


def test_every_page_is_registered_in_the_navigation() -> None:
    from bsab_explorer.ui.pages import all_screens

    registered = {screen.file for screen in all_screens()}
    assert registered == {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_pages_start_inside_the_shell(page: Path) -> None:
    # A deep link on a fresh server runs the page without app.py unless it asks for the shell.
    text = page.read_text(encoding="utf-8")
    starts = (
        "shell.current_view()",
        "shell.ensure_shell()",
        "shell.cohort_page(",
        "shell.case_page(",
    )
    assert any(start in text for start in starts)
