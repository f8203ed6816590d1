"""Table 1 and the case-series overview as a room of clinicians reads them, under AppTest."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.schema import code_label, code_list_label


def _patients() -> pl.DataFrame:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset.table("patients")


def test_table1_split_columns_name_the_variable(open_app: Callable[..., AppTest]) -> None:
    app = open_app("table-1.py", by="emd")
    shown = app.dataframe[0].value
    assert list(shown.columns) == [
        "Characteristic",
        "All patients (N = 44)",
        "EMD: yes (N = 22)",
        "EMD: no (N = 22)",
    ]


def test_table1_lists_every_iss_stage(open_app: Callable[..., AppTest]) -> None:
    app = open_app("table-1.py", filter="iss_stage=II,III")
    characteristics = [c.strip("\u2003") for c in app.dataframe[0].value["Characteristic"]]
    start = characteristics.index("ISS stage")
    # Stage I has no patient in this cohort: its zero is shown, not left out.
    assert characteristics[start + 1 : start + 4] == [
        "ISS stage I",
        "ISS stage II",
        "ISS stage III",
    ]
    stage_one = app.dataframe[0].value.iloc[start + 1]
    assert stage_one["All patients (N = 34)"] == "0 (0 %)"


def test_table1_does_not_test_the_split_variable_against_itself(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("table-1.py", by="emd", **{"p-values": "true"})
    shown = app.dataframe[0].value
    rows = {
        c.strip("\u2003"): (p, t)
        for c, p, t in zip(shown["Characteristic"], shown["p"], shown["Test"], strict=True)
    }
    assert rows["Extramedullary disease (EMD)"] == ("", "")
    # Other characteristics keep their test (R: fisher.test on the 2 x 2 table of HRCA by EMD).
    expected = build_table1(_patients(), by="emd", p_values=True).frame
    hrca = expected.filter(pl.col("characteristic") == "High-risk cytogenetics (HRCA)")
    assert rows["High-risk cytogenetics (HRCA)"][1] == hrca["test"][0]
    assert rows["High-risk cytogenetics (HRCA)"][0] != ""
    split_rows = expected.filter(pl.col("characteristic") == "Extramedullary disease (EMD)")
    assert split_rows["p_value"].to_list() == [None]


def test_table1_is_a_whole_static_table_in_presentation_mode(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("table-1.py", by="emd", present="true")
    assert len(app.dataframe) == 0
    shown = app.table[0].value
    assert len(shown) == build_table1(_patients(), by="emd").frame.height


def test_a_filter_that_does_not_parse_is_said_in_the_main_area(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("survival.py", filter="emd=maybe", present="true")
    said = [e.value for e in app.main.error]
    assert any(text.startswith("Filter not applied") for text in said), said
    # Escaped: the URL text reaches the page as characters, never as markdown.
    app = open_app("table-1.py", filter="[x](http://e.test)=1")
    said = [e.value for e in app.main.error]
    assert any("\\[x\\]" in text for text in said), said


def test_case_overview_reads_as_clinicians_read_it(open_app: Callable[..., AppTest]) -> None:
    app = open_app("cases.py")
    assert [m.label for m in app.metric] == [
        "Cases",
        "CRS episodes",
        "Cases with recurrent CRS",
        "Treatment discontinued",
    ]
    summary = app.table[0].value
    assert list(summary.columns)[5:] == [
        "First CRS (timing, grade)",
        "Recurrent CRS (timing)",
        "Premedication",
        "CRS management",
        "Impact on treatment",
    ]
    cases = app.dataframe[0].value
    outcomes = set(cases["Impact on treatment"].dropna())
    assert outcomes <= {"Continued", "Dose reduced", "Discontinued"}
    assert "Dose reduced" in outcomes
    assert not any("_" in v or ";" in v for v in cases["Premedication"].dropna())
    assert set(cases["Light chain"].dropna()) <= {"Kappa", "Lambda"}


def test_code_labels_come_from_the_glossary() -> None:
    assert code_label("dose_reduced") == "Dose reduced"
    assert code_label("light_chain") == "Light chain"
    assert code_label("BCMA") == "BCMA"
    assert code_list_label("paracetamol;cetirizine;dexamethasone") == (
        "Paracetamol, cetirizine, dexamethasone"
    )
