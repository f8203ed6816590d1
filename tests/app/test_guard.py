"""An unexpected error in a page becomes a short message with a reference, never a traceback."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _failing_page() -> None:
    from bsab_explorer.ui.layout import run_guarded

    def render() -> None:
        raise RuntimeError("secret internal detail D042")

    run_guarded(render)


def test_page_errors_are_contained() -> None:
    app = AppTest.from_function(_failing_page, default_timeout=60).run()
    assert not app.exception
    assert len(app.error) == 1
    message = app.error[0].value
    assert "could not be drawn" in message
    assert "reference" in message
    assert "secret internal detail" not in message
    assert "Traceback" not in message
