"""The Safety page and the response page's duration of response under AppTest: with a contract
1.1 dataset uploaded to the store (tests/fixtures/endpoint_dataset.py, shown as "Pooled") the
real numbers, and with the bundled data the column they lack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.endpoint_dataset import write_endpoint_dataset


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled data and, uploaded by center E1, the 1.1 dataset."""
    from bsab_explorer.data.store import open_store

    folder = write_endpoint_dataset(tmp_path_factory.mktemp("endpoint-files"))
    path = tmp_path_factory.mktemp("endpoint-store") / "endpoints.duckdb"
    store = open_store(path)
    try:
        for table in ("patients", "responses", "adverse_events"):
            result = store.ingest_file(folder / f"{table}.csv", table, "E1")
            assert result.stored, result.report.to_text()
    finally:
        store.close()
    return path


def _plain(value: object) -> object:
    # The page escapes markdown in every cell and header (st.table renders it): read it back.
    return value.replace("\\", "") if isinstance(value, str) else value


def _tables(app: AppTest) -> list[dict[object, list[object]]]:
    return [
        {_plain(k): [_plain(v) for v in values] for k, values in t.value.to_dict("list").items()}
        for t in app.table
    ]


def test_safety_page_counts_the_uploaded_adverse_events(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("safety.py", data="Pooled")
    events, course = _tables(app)
    assert events["Adverse event"] == ["CRS", "ICANS", "infection", "neutropenia"]
    # 19 patients: CRS in R01, R02, R03, R08 (grade 3); infection grade 3 then 2 in R11.
    assert events["All patients (n = 19): any grade"] == [
        "4 (21 %)",
        "1 (5.3 %)",
        "1 (5.3 %)",
        "1 (5.3 %)",
    ]
    assert events["All patients (n = 19): grade ≥ 3"] == [
        "1 (5.3 %)",
        "0 (0 %)",
        "1 (5.3 %)",
        "1 (5.3 %)",
    ]
    assert course["After dose"] == [
        "Step-up dose 1",
        "Step-up dose 2",
        "First full dose",
        "Later doses",
    ]
    assert course["Episodes"] == [2, 2, 1, 2]
    assert course["Onset after the dose, days"] == ["1.5 (1–2)", "1 (1–1)", "1 (1–1)", "2 (2–2)"]
    shares = [_plain(m.value) for m in app.markdown]
    assert "More than one CRS episode: 2/4 (50 %; 95 % CI 7–93 %) of patients with CRS." in shares
    assert any("with tocilizumab: 1/2 (50 %; 95 % CI 1–99 %)" in str(s) for s in shares)
    assert not app.warning


def test_safety_page_follows_the_filter_and_the_grouping(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("safety.py", data="Pooled", filter="emd=true", by="emd")
    events, course = _tables(app)
    # Eight emd patients: the CRS of R01-R03 belongs to patients the filter drops.
    assert events["Yes (n = 8): any grade"][0] == "1 (13 %)"  # 12.5 %, half up
    assert course["After dose"] == ["Step-up dose 2"]
    assert course["Patients"] == [1]


def test_safety_page_on_the_bundled_data_names_what_is_missing(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("safety.py")
    (events,) = _tables(app)
    assert events["Adverse event"] == ["CRS", "ICANS", "infection", "cytopenia"]
    assert events["All patients (n = 44): any grade"][:2] == ["28 (64 %)", "3 (6.8 %)"]
    assert events["All patients (n = 44): any grade"][2] == "–"
    assert events["All patients (n = 44): grade ≥ 3"][2:] == ["15 (34 %)", "14 (32 %)"]
    warnings = [_plain(w.value) for w in app.warning]
    assert any("The CRS course needs the adverse_events table" in str(w) for w in warnings)


def test_response_page_draws_the_duration_of_response(open_app: Callable[..., AppTest]) -> None:
    app = open_app("response.py", data="Pooled", by="emd")
    (duration,) = _tables(app)
    # R: survfit(Surv(dor, pfs_event) ~ emd): No 8 records, 6 events, median 164 (99-NA) days;
    # Yes 6, 4, 69 (69-NA).
    assert duration == {
        "Group": ["No", "Yes"],
        "Responders": [8, 6],
        "Events": [6, 4],
        "Median DOR, months (95 % CI)": ["5.4 (3.3–NR)", "2.3 (2.3–NR)"],
    }
    # The response figure split by EMD (its title and legend, then one view per group: yes,
    # no, not recorded) and the duration of response.
    assert len(app.get("vega_lite_chart")) == 1 + 3 + 1
    captions = " ".join(c.value for c in app.caption)
    assert "progressed on the day of their first response" in captions


def test_response_page_on_the_bundled_data_names_the_missing_column(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("response.py")
    assert not app.table
    messages = [str(_plain(i.value)) for i in app.info]
    assert any("Duration of response needs responses.day" in m for m in messages)
    assert len(app.get("vega_lite_chart")) == 1
