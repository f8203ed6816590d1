"""The cohort-study pages under AppTest: each renders its real content for the filter in force."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.conversion import conversion_statements
from bsab_explorer.analyses.response import response_by_timepoint
from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import Cohort, CohortFilter, select_cohort


def _cohort(filter_text: str = "") -> Cohort:
    dataset = load_dataset().dataset
    assert dataset is not None
    return select_cohort(dataset, CohortFilter.parse(filter_text))


def test_table1_page_shows_the_characteristics(open_app: Callable[..., AppTest]) -> None:
    app = open_app("table-1.py")
    expected = build_table1(_cohort().patients)
    shown = app.dataframe[0].value
    header = expected.columns[0].header
    assert list(shown.columns) == ["Characteristic", header]
    assert shown[header].tolist() == expected.frame[header].to_list()


def test_table1_page_splits_by_a_variable_with_p_values(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("table-1.py", by="emd")
    app.toggle(key="p_values").set_value(True).run()
    shown = app.dataframe[0].value
    expected = build_table1(_cohort().patients, by="emd", p_values=True)
    # The split columns name the variable (the export keeps the plain group headers).
    assert [c for c in shown.columns if c.startswith("EMD: ")] == [
        f"EMD: {c.label.lower()} (N = {c.n})" for c in expected.columns if c.label in ("No", "Yes")
    ]
    assert "p" in shown.columns
    assert "Test" in shown.columns


def test_response_page_counts_each_timepoint(open_app: Callable[..., AppTest]) -> None:
    app = open_app("response.py", filter="emd=true")
    cohort = _cohort("emd=true")
    expected = response_by_timepoint(cohort.patients, cohort.responses)
    shown = app.dataframe[0].value
    assert shown["Timepoint"].tolist() == expected.frame["timepoint_label"].to_list()
    assert shown["Assessed"].tolist() == expected.frame["n_assessed"].to_list()
    # PET-CT is counted per visit: the best response shows a dash, not "None".
    pet_ct = shown["PET-CT"].tolist()
    assert pet_ct[-1] == "—"
    assert all(value.isdigit() for value in pet_ct[:-1])
    assert len(app.get("vega_lite_chart")) == 1


def test_response_page_all_treated_denominator(open_app: Callable[..., AppTest]) -> None:
    app = open_app("response.py", denominator="all_treated")
    shown = app.dataframe[0].value
    assert set(shown["Denominator"].tolist()) == {_cohort().n}


def test_conversion_page_states_the_conversions(open_app: Callable[..., AppTest]) -> None:
    app = open_app("conversion.py")
    cohort = _cohort()
    statements = conversion_statements(cohort.patients, cohort.responses)
    shown = [m.value for m in app.markdown]
    for statement in statements:
        assert f"- {statement.text}" in shown
    table = app.dataframe[0].value
    assert int(table["Patients"].sum()) == cohort.n
    assert table["Pseudonyms"].str.match(r"^D\d{3}(, D\d{3})*$").all()
