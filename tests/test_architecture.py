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


def test_raw_html_only_ever_gets_the_static_css() -> None:
    # st.html and unsafe_allow_html render raw HTML: no uploaded or data value may reach them.
    # The one call passes the module's two constant CSS strings.
    calls = []
    for path in [*PACKAGE.rglob("*.py"), *PAGES, ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            unsafe = any(
                k.arg == "unsafe_allow_html"
                and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in node.keywords
            )
            name = ast.unparse(node.func)
            if unsafe or name.endswith(("st.html", "components.html", "components.v1.html")):
                calls.append((str(path.relative_to(ROOT)), ast.unparse(node)))
    assert calls == [
        (
            "bsab_explorer/ui/layout.py",
            "st.html(_PRESENT_CSS if presentation_mode() else _BASE_CSS)",
        )
    ]
    from bsab_explorer.ui import layout

    for css in (layout._BASE_CSS, layout._PRESENT_CSS):
        assert css.strip().startswith("<style>")
        assert css.strip().endswith("</style>")
