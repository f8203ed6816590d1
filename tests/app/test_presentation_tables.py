"""Analysis tables on a projector (`?present=true`): static tables, large and whole, with the
same values as the screen's grids; and column pickers that read as labels while the URL keeps
the column names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.schema import column_label
from bsab_explorer.ui.text import escape_markdown
from bsab_explorer.ui.upload import UPLOAD_MODES
from tests.analyses.r_reference import reference
from tests.data.convert.export import export_csv


def _static(app: AppTest) -> list[dict[str, list[object]]]:
    """Every static table of the page, by column, after checking no grid is drawn."""
    assert len(app.dataframe) == 0
    return [t.value.to_dict("list") for t in app.table]


def test_subgroups_page_draws_static_tables_on_a_projector(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("subgroups.py", by="emd", subgroups=["sex", "iss_stage"], present="true")
    forest, response, incidence = _static(app)
    # R: coxph(Surv(pfs_days, pfs_event) ~ emd): the overall hazard ratio heads the table.
    r = reference("forest", "cohort_pfs_emd")
    assert forest["level"][0] == "All patients"
    assert forest["hazard ratio"][0] == pytest.approx(r["overall"]["hr"][0], rel=1e-6)
    # Text cells are escaped: st.table renders markdown.
    assert escape_markdown("iss_stage") in forest["variable"]
    orr = [
        (n, k)
        for o, level, n, k in zip(
            response["outcome"],
            response["level"],
            response["n"],
            response["responders"],
            strict=True,
        )
        if o == "ORR" and level == "All patients"
    ]
    assert orr == [(44, 30)]
    assert set(incidence["event"]) == {"Progression", "Death without progression"}


def test_survival_page_draws_its_statistics_as_static_tables(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("survival.py", by="emd", covariates=["age_years"], present="true")
    tables = _static(app)
    rmst = next(t for t in tables if "rmst days" in t)
    assert rmst["rmst days"][:2] == pytest.approx(
        reference("rmst", "cohort_pfs_emd_365")["rmean"], rel=1e-6
    )
    at_risk = next(t for t in tables if "cum censored" in t)
    no_group = [n for g, n in zip(at_risk["group"], at_risk["n risk"], strict=True) if g == "No"]
    assert no_group[:3] == [22, 22, 15]
    # The Cox model by its estimates alone: its two dozen columns would not fit a projector.
    cox = next(t for t in tables if "hazard ratio" in t and "term" in t)
    assert cox["term"] == [escape_markdown(t) for t in ("emd: Yes vs No", "age_years")]
    assert list(cox) == ["term", "hazard ratio", "ci lower", "ci upper", "p value", "n", "events"]
    assert all(
        low < hr < high
        for low, hr, high in zip(cox["ci lower"], cox["hazard ratio"], cox["ci upper"], strict=True)
    )
    assert any("CSV" in c.value and "every column" in c.value for c in app.caption)


def test_response_and_conversion_pages_draw_static_tables_on_a_projector(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("response.py", present="true")
    (counts,) = _static(app)
    cycle_1 = counts["Timepoint"].index("Cycle 1")
    assert counts["Assessed"][cycle_1] == 39
    assert counts[escape_markdown("ORR (≥ PR)")][cycle_1] == escape_markdown(
        "25 (64 %; 95 % CI 47–79)"
    )
    # The transitions the screen's grid lists, escaped for the static table.
    grid = open_app("conversion.py").dataframe[0].value.to_dict("list")
    app = open_app("conversion.py", present="true")
    (transitions,) = _static(app)
    assert transitions == {
        escape_markdown(k): [escape_markdown(v) if isinstance(v, str) else v for v in values]
        for k, values in grid.items()
    }
    assert transitions["Patients"][:3] == [1, 1, 1]


def test_safety_page_draws_static_tables_on_a_projector(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("safety.py", present="true")
    (events,) = _static(app)
    assert events["Adverse event"] == ["CRS", "ICANS", "infection", "cytopenia"]
    any_grade = events[escape_markdown("All patients (n = 44): any grade")]
    assert any_grade[:2] == [escape_markdown("28 (64 %)"), escape_markdown("3 (6.8 %)")]


def test_subgroup_picker_shows_labels_and_keeps_names_in_the_url(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("subgroups.py", by="emd", subgroups=["sex", "iss_stage"])
    picker = app.multiselect(key="subgroups")
    assert picker.value == ["sex", "iss_stage"]
    assert column_label("iss_stage") == "ISS stage"
    assert "ISS stage" in picker.options
    assert "iss_stage" not in picker.options
    picker.set_value(["iss_stage"]).run()
    assert app.query_params["subgroups"] == "iss_stage"
    assert app.multiselect(key="subgroups").value == ["iss_stage"]


def test_cox_covariate_picker_shows_labels_and_keeps_names_in_the_url(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("survival.py", by="emd", covariates=["age_years"])
    picker = app.multiselect(key="covariates")
    assert picker.value == ["age_years"]
    assert picker.options == ["Age (years)", "ISS stage", "High-risk cytogenetics (HRCA)"]
    picker.set_value(["age_years", "hrca"]).run()
    assert app.query_params["covariates"] == ["age_years", "hrca"]


def test_upload_mapping_result_is_a_static_table_on_a_projector(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("upload.py", present="true")
    app.radio(key="upload_mode").set_value(UPLOAD_MODES[1]).run()
    app.file_uploader(key="map_files").upload("centre.csv", export_csv())
    app.run()
    app.radio(key="map_date_order::patients:centre").set_value("dd/mm/yyyy").run()
    assert not app.exception, [e.value for e in app.exception]
    # The converted rows and the contract's reference stay grids; what each column became,
    # an analysis of the file, is a static table with its file text escaped.
    became = app.table[0].value.to_dict("list")
    columns = list(became)
    assert became[columns[0]][:2] == [escape_markdown("Sujet"), escape_markdown("Sexe")]
    assert became[columns[1]][:2] == [
        escape_markdown("patient_id (Patient)"),
        escape_markdown("sex (Sex), 2 value(s) recoded"),
    ]
