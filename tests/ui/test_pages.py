"""The screens registry: every screen's script is named as its URL path.

On a fresh server Streamlit first runs a deep link (e.g. /cases) in its legacy pages mode, which
finds the script by file name; a script named otherwise answers "Page not found" (as
/case_overview did for /cases) before the app's navigation takes over.
"""

from __future__ import annotations

from bsab_explorer.ui.pages import PAGES_DIR, all_screens


def test_every_screen_has_a_script_named_as_its_url_path() -> None:
    for screen in all_screens():
        assert screen.file == f"{screen.url_path}.py"
        assert (PAGES_DIR / screen.file).is_file(), screen.file


def test_every_page_script_is_a_screen() -> None:
    scripts = {p.name for p in PAGES_DIR.glob("*.py")}
    assert scripts == {screen.file for screen in all_screens()}
