"""The app shell under AppTest: the overview pages render real content and obey the filter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import CohortFilter, select_cases, select_cohort
from bsab_explorer.schema import RECONSTRUCTED_NOTICE
from bsab_explorer.ui import shell
from tests.app.conftest import ROOT


def _markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def _expected(filter_text: str) -> tuple[int, int]:
    dataset = load_dataset().dataset
    assert dataset is not None
    cohort = select_cohort(dataset, CohortFilter.parse(filter_text))
    return cohort.n, cohort.total


def test_cohort_overview_shows_the_cohort_and_the_banner(open_app: Callable[..., AppTest]) -> None:
    app = open_app()
    assert app.title[0].value == "Debulking cohort"
    assert RECONSTRUCTED_NOTICE in app.warning[0].value
    assert "**44 of 44 patients** · no filter" in _markdown(app)
    listing = app.dataframe[0].value
    assert len(listing) == 44
    assert listing["Patient"].str.match(r"^D\d{3}$").all()
    assert app.metric[0].label == "Patients"
    assert app.metric[0].value == "44"


def test_filter_from_the_url_applies(open_app: Callable[..., AppTest]) -> None:
    n, total = _expected("emd=true;bsab=teclistamab")
    app = open_app(filter="emd=true;bsab=teclistamab")
    assert f"**{n} of {total} patients**" in _markdown(app)
    assert len(app.dataframe[0].value) == n
    assert app.text_input(key="filter").value == "emd=true;bsab=teclistamab"


def test_quick_filter_rewrites_the_filter_text(open_app: Callable[..., AppTest]) -> None:
    app = open_app()
    app.button_group(key="_quick_emd").set_value("Yes").run()
    n, total = _expected("emd=true")
    assert app.text_input(key="filter").value == "emd=true"
    assert f"**{n} of {total} patients**" in _markdown(app)
    app.button_group(key="_quick_emd").set_value(None).run()
    assert app.text_input(key="filter").value == ""
    assert "**44 of 44 patients** · no filter" in _markdown(app)


def test_invalid_filter_text_is_reported_and_not_applied(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app()
    app.text_input(key="filter").input("emd=maybe").run()
    assert any("Filter not applied" in e.value for e in app.sidebar.error)
    assert "**44 of 44 patients**" in _markdown(app)


def test_empty_subgroup_says_so(open_app: Callable[..., AppTest]) -> None:
    app = open_app(filter="age_years>89;age_years<19")
    assert any("No patient matches this filter" in i.value for i in app.info)


def test_case_series_overview_lists_the_cases(open_app: Callable[..., AppTest]) -> None:
    app = open_app("cases.py")
    dataset = load_dataset().dataset
    assert dataset is not None
    series = select_cases(dataset, CohortFilter())
    assert app.title[0].value == "Recurrent CRS case series"
    assert f"**{series.n} of {series.total} cases** · no filter" in _markdown(app)
    assert app.dataframe[0].value["Case"].to_list() == ["RC1", "RC2", "RC3", "RC4", "RC5"]


def test_survival_page_reads_its_options_from_the_url(open_app: Callable[..., AppTest]) -> None:
    from bsab_explorer.analyses.survival import summarise_survival

    app = open_app("survival.py", endpoint="os", by="emd", ci="log-log")
    assert app.title[0].value == "Survival"
    assert app.selectbox(key="by").value == "emd"
    assert app.selectbox(key="ci").value == "log-log"
    dataset = load_dataset().dataset
    assert dataset is not None
    expected = summarise_survival(dataset.table("patients"), "os", by="emd", ci="log-log")
    table = app.table[0].value
    assert table["Group"].to_list() == ["No", "Yes"]
    assert table["Median, months (95 % CI)"].to_list() == [
        g.median.text(1) for g in expected.groups
    ]
    assert expected.logrank is not None
    assert any(f"df = {expected.logrank.df}" in m.value for m in app.markdown)
    charts = app.get("vega_lite_chart")
    assert len(charts) == 1
    assert "Overall survival by Extramedullary disease (EMD)" in charts[0].proto.spec
    # The tables' CSVs in one row, with one Reproduce popover for them all.
    (row,) = [e for e in app.get("flex_container") if "survival-tables" in (e.proto.id or "")]
    buttons = [c for c in row.children.values() if c.type == "download_button"]
    labels = ["Medians", "Landmarks", "Log-rank test", "Cox model"]
    assert [b.proto.label for b in buttons] == labels
    assert all(b.proto.deferred_file_id and not b.proto.url for b in buttons)
    (popover,) = [c for c in row.children.values() if c.type == "popover"]
    (commands,) = [c.value for c in popover.children.values()]
    for table in ("survival-medians", "survival-landmarks", "logrank", "cox"):
        assert f"bsab-explorer table {table} --endpoint os --by emd --ci log-log" in commands


def test_a_session_started_in_the_legacy_page_mode_gets_the_shell_even_after_another_left_it(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Streamlit's legacy mode (a pages/ folder beside app.py) is one flag for the process: on a
    # fresh server, sessions that start together all run their deep-linked page without app.py,
    # and the first to reach `ensure_shell` clears the flag for all. The others must still
    # leave the mode, or they show the page without the sidebar's filter for good (seen with 8
    # viewers at once in bench/viewers.py).
    legacy_run = script_runner._mpa_v1

    def after_another_session_left(main_script_path: str) -> None:
        PagesManager.uses_pages_directory = False  # another session's navigation, meanwhile
        legacy_run(main_script_path)

    monkeypatch.setattr(script_runner, "_mpa_v1", after_another_session_left)
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(store_path))
    ran: list[str] = []
    monkeypatch.setattr(shell, "navigation", _recording(shell.navigation, ran))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.switch_page("pages/survival.py")  # the deep link, run by the legacy mode
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert ran == ["navigation"]  # the rerun went through app.py
    assert [box.label for box in app.sidebar.text_input] == ["Filter"]
    assert "**44 of 44 patients** · no filter" in _markdown(app)


def _recording(navigation: Callable[[], Any], ran: list[str]) -> Callable[[], Any]:
    def recorded() -> Any:
        ran.append("navigation")
        return navigation()

    return recorded
