"""The Upload page's mapping flow under AppTest: propose, correct, choose the date order, see the
result, reuse a saved mapping, and store only on confirmation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.data.convert.mapping import read_mapping
from bsab_explorer.ui.upload import UPLOAD_MODES
from tests.data.convert.cohort import DATE_PATTERN
from tests.data.convert.export import DAY_FIRST, export_csv

SALT = ":patients:centre"


@pytest.fixture
def mapping_page(open_app: Callable[..., AppTest]) -> AppTest:
    app = open_app("upload.py")
    app.radio(key="upload_mode").set_value(UPLOAD_MODES[1]).run()
    app.file_uploader(key="map_files").upload("centre.csv", export_csv())
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _frame(app: AppTest, index: int) -> pl.DataFrame:
    return pl.from_pandas(app.dataframe[index].value)


def test_the_proposal_asks_for_the_date_order_before_any_result(mapping_page: AppTest) -> None:
    app = mapping_page
    proposed = {s.key: s.value for s in app.selectbox if s.key and s.key.startswith("map_")}
    assert proposed == {
        "map_table": "patients",
        f"map_column:{SALT}:Sujet": "column:patient_id",
        f"map_column:{SALT}:Sexe": "column:sex",
        f"map_column:{SALT}:Traitement": "column:bsab",
        f"map_column:{SALT}:date_debut_bsab": "date:origin",
        f"map_column:{SALT}:date_deces": "date:death",
        f"map_column:{SALT}:last_fu_date": "date:last_contact",
        f"map_value:{SALT}:Sexe:1": "M",
        f"map_value:{SALT}:Sexe:2": "F",
        f"map_value:{SALT}:Traitement:Elrexfio": "elranatamab",
        f"map_value:{SALT}:Traitement:Tecvayli": "teclistamab",
        f"map_value:{SALT}:Traitement:tec": "teclistamab",
    }
    order = app.radio(key=f"map_date_order:{SALT}")
    assert order.value is None
    assert [i.value for i in app.info] == [
        "Choose how the file writes its dates to see the result."
    ]
    assert not [s for s in app.subheader if s.value == "4. Result"]


def test_day_first_gives_the_hand_made_days_and_stores_on_confirmation(
    mapping_page: AppTest, store_path: Path
) -> None:
    app = mapping_page
    app.radio(key=f"map_date_order:{SALT}").set_value("dd/mm/yyyy").run()
    # The contract's columns (in the expander), what each column became, the converted rows.
    became = _frame(app, 1)
    assert became.rows() == [
        ("Sujet", "patient_id (Patient)"),
        ("Sexe", "sex (Sex), 2 value(s) recoded"),
        ("Traitement", "bsab (Bispecific antibody), 3 value(s) recoded"),
        (
            "date_debut_bsab",
            "origin: pfs_days, pfs_event, os_days, os_event counted from it "
            "(the date itself is dropped)",
        ),
        (
            "date_deces",
            "death date: used for pfs_days, pfs_event, os_days, os_event "
            "(the date itself is dropped)",
        ),
        (
            "last_fu_date",
            "last contact date: used for pfs_days, pfs_event, os_days, os_event "
            "(the date itself is dropped)",
        ),
    ]
    converted = _frame(app, 2)
    assert converted.columns == [
        "patient_id", "sex", "bsab", "pfs_days", "pfs_event", "os_days", "os_event"
    ]  # fmt: skip
    assert converted.rows() == DAY_FIRST
    assert [s.value for s in app.success] == ["No problems found."]
    assert [i.value for i in app.info] == [
        "Enter the center pseudonym (above) to store the converted rows."
    ]
    assert not [b for b in app.button if b.key == "map_store"]
    app.text_input(key="map_center").set_value("C31").run()
    store = app.button(key="map_store")
    assert store.label == "Store 3 rows of patients as a new batch"
    store.click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.success[-1].value.startswith("Stored as batch ")
    assert app.success[-1].value.endswith(
        ": 3 rows of patients for center C31. Choose 'Pooled uploads' or 'Bundled + pooled' "
        "in the sidebar to analyse them."
    )
    batches = pl.from_pandas(app.dataframe[-1].value).filter(pl.col("center") == "C31")
    assert batches.select("table", "rows", "file_name").rows() == [
        ("patients", 3, "centre-patients-converted.csv")
    ]
    # No calendar date in the store file (nor its write-ahead log).
    for path in store_path.parent.glob(store_path.name + "*"):
        assert not DATE_PATTERN.search(path.read_bytes().decode("latin-1")), path


def test_month_first_lists_the_impossible_row_and_offers_no_store(mapping_page: AppTest) -> None:
    app = mapping_page
    app.text_input(key="map_center").set_value("C32")
    app.radio(key=f"map_date_order:{SALT}").set_value("mm/dd/yyyy").run()
    [error] = [e.value for e in app.error]
    assert error.startswith("1 problem(s) found. Nothing can be stored")
    problems = _frame(app, 2)
    assert problems.select("Where", "Rule").rows() == [
        ("centre.csv, row 3, column date_deces", "impossible_date_sequence")
    ]
    assert not [b for b in app.button if b.key == "map_store"]


def test_a_correction_changes_the_result(mapping_page: AppTest) -> None:
    app = mapping_page
    app.radio(key=f"map_date_order:{SALT}").set_value("dd/mm/yyyy")
    # The center codes sex 1 = female here: the user corrects the proposal.
    app.selectbox(key=f"map_value:{SALT}:Sexe:1").set_value("F")
    app.selectbox(key=f"map_value:{SALT}:Sexe:2").set_value("M")
    app.selectbox(key=f"map_column:{SALT}:Traitement").set_value("").run()
    converted = _frame(app, 2)
    assert converted.select("patient_id", "sex").rows() == [("P1", "F"), ("P2", "M"), ("P3", "M")]
    assert "bsab" not in converted.columns
    became = dict(_frame(app, 1).rows())
    assert became["Traitement"] == "not used"


def test_a_column_mapped_twice_is_refused(mapping_page: AppTest) -> None:
    app = mapping_page
    app.selectbox(key=f"map_column:{SALT}:Sexe").set_value("column:patient_id").run()
    assert [e.value for e in app.error] == ["Sujet, Sexe are all mapped to patient\\_id: keep one."]
    assert not [s for s in app.subheader if s.value == "4. Result"]


def test_a_saved_mapping_is_reused(mapping_page: AppTest) -> None:
    app = mapping_page
    saved = (
        'table = "patients"\n[columns]\npatient_id = "Sujet"\nsex = "Sexe"\n'
        '[values.sex]\n"1" = "F"\n"2" = "M"\n[dates]\norigin = "date_debut_bsab"\n'
        'death = "date_deces"\nlast_contact = "last_fu_date"\nformat = "dd/mm/yyyy"\n'
    )
    parsed, problems = read_mapping(saved)
    assert problems == []
    assert parsed is not None
    app.file_uploader(key="map_toml").upload("centre.toml", saved.encode())
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    salted = [s.key for s in app.selectbox if s.key and s.key.endswith(":Sujet")]
    [key] = salted
    salt = key.removeprefix("map_column:").removesuffix(":Sujet")
    assert app.selectbox(key=f"map_column:{salt}:Traitement").value == ""
    assert app.selectbox(key=f"map_value:{salt}:Sexe:1").value == "F"
    # The saved format answers the date order: no question, the result straight away.
    assert app.radio(key=f"map_date_order:{salt}").value == "dd/mm/yyyy"
    converted = _frame(app, 2)
    assert converted.select("patient_id", "sex", "os_days").rows() == [
        ("P1", "F", 184.0),
        ("P2", "M", 89.0),
        ("P3", "M", 344.0),
    ]


def test_the_template_mode_shows_the_contract_columns(open_app: Callable[..., AppTest]) -> None:
    app = open_app("upload.py")
    app.radio(key="upload_mode").set_value(UPLOAD_MODES[2]).run()
    app.selectbox(key="template_table").set_value("responses").run()
    columns = _frame(app, 0)
    assert columns.get_column("column").to_list() == [
        "patient_id", "timepoint", "response", "pet_ct", "day", "mrd_negative",
        "mrd_sensitivity", "mrd_method",
    ]  # fmt: skip
    assert columns.row(2)[:4] == ("response", "code", False, "sCR, CR, VGPR, PR, MR, SD, PD, NE")
