"""The case-series pages under AppTest: a case opened by URL, the recurrence views and tables."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.data.loading import load_dataset


def _recurrence() -> dict[str, dict[str, object]]:
    dataset = load_dataset().dataset
    assert dataset is not None
    table = analyse_recurrence(dataset.table("cases"), dataset.table("events"))
    return {row["case_id"]: row for row in table.iter_rows(named=True)}


def test_timeline_opens_the_case_named_in_the_url(open_app: Callable[..., AppTest]) -> None:
    app = open_app("timeline.py", case="RC2")
    assert app.selectbox(key="case").value == "RC2"
    expected = _recurrence()["RC2"]
    lines = [m.value for m in app.markdown]
    assert f"**CRS episodes:** {expected['n_episodes']} ({expected['n_recurrent']} recurrent)" in (
        lines
    )
    assert f"**Pattern:** {expected['pattern']}" in lines
    assert "**Age / sex:** 65 / M" in lines
    assert "Case RC2: timeline" in app.get("vega_lite_chart")[0].proto.spec


def test_timeline_in_months(open_app: Callable[..., AppTest]) -> None:
    app = open_app("timeline.py", case="RC5", unit="months")
    assert app.button_group(key="unit").value == "months"
    assert "Months since first dose" in app.get("vega_lite_chart")[0].proto.spec


def test_recurrence_page_tables(open_app: Callable[..., AppTest]) -> None:
    app = open_app("recurrence.py")
    expected = _recurrence()
    recurrence = app.dataframe[0].value
    assert recurrence["Case"].tolist() == sorted(expected)
    assert recurrence["Episodes"].tolist() == [expected[c]["n_episodes"] for c in sorted(expected)]
    case_table = app.dataframe[1].value
    assert case_table["Recurrent CRS (timing)"].tolist()[1] == (
        "Every 35–40 days, 24–48 h post-infusion"
    )
    assert len(app.get("vega_lite_chart")) == 2


def test_case_filter_applies_to_the_case_series(open_app: Callable[..., AppTest]) -> None:
    app = open_app("recurrence.py", filter="bsab=talquetamab")
    assert app.dataframe[0].value["Case"].tolist() == ["RC2", "RC3", "RC4", "RC5"]
