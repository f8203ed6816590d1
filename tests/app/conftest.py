"""AppTest fixtures: the real app.py, on the bundled data, with a store of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an app test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.app)


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store file for the app tests of this run."""
    return tmp_path_factory.mktemp("store") / "apptest.duckdb"


@pytest.fixture
def open_app(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Run app.py on a page (by file name under pages/) with optional query parameters."""
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(store_path))

    def run(page: str | None = None, **query: str) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in query.items():
            app.query_params[key] = value
        app.run()
        if page is not None:
            app.switch_page(f"pages/{page}")
            app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return run
