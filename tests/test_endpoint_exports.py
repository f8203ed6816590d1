"""The response and safety endpoints' exports on a contract 1.1 dataset (the bundled data have
no assessment days nor MRD results): each builds, round-trips as CSV, reads in pandas with its
numbers numeric, and a page draws what the file holds."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pandas as pd
import polars as pl
import pytest

from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    ExportRequest,
    build,
    make_export,
    read_table_csv,
    read_table_zip,
)
from bsab_explorer.filters import CohortFilter, select_cohort
from tests.fixtures.endpoint_dataset import endpoint_tables

ENDPOINT_TABLES = ("duration-of-response", "time-to-response", "mrd", "adverse-events")
FIXED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED


@pytest.fixture(scope="module")
def endpoints() -> Dataset:
    return Dataset("endpoints", endpoint_tables())


@pytest.mark.parametrize("name", [*ENDPOINT_TABLES, "crs-course", "crs-course-patients"])
@pytest.mark.parametrize("text", ["", "emd=true", "age_years>200"])
def test_every_endpoint_table_builds_and_reads_in_pandas(
    endpoints: Dataset, name: str, text: str
) -> None:
    request = ExportRequest("table", name, CohortFilter.parse(text))
    export = make_export(endpoints, request, clock=fixed_clock)
    frame = export.file_data
    data = export.csv()
    assert read_table_csv(data, schema=frame.schema).equals(frame)
    read = pd.read_csv(io.BytesIO(data))
    assert list(read.columns) == frame.columns
    assert len(read) == frame.height
    for column, dtype in frame.schema.items():
        if dtype.is_numeric() and frame.height:
            assert pd.api.types.is_numeric_dtype(read[column]), column
    csv, provenance = read_table_zip(export.zip())
    assert csv == data
    assert "created 2026-03-04 05:06 UTC" in provenance


@pytest.mark.parametrize("name", ENDPOINT_TABLES)
def test_grouped_tables_have_a_row_set_per_group(endpoints: Dataset, name: str) -> None:
    data = build(ExportRequest("table", name, by="emd"), endpoints).data
    assert set(data.get_column("group").unique().to_list()) == {"No", "Yes"}


def test_the_duration_figure_draws_what_its_file_holds(endpoints: Dataset) -> None:
    request = ExportRequest("figure", "duration-of-response", by="emd", ci="log-log")
    drawn = build(request, endpoints)
    export = make_export(endpoints, request, clock=fixed_clock)
    assert drawn.chart.to_dict() == export.chart.to_dict()
    assert drawn.data.equals(export.data)
    spec = str(drawn.chart.to_dict())
    assert "Duration of response by" in spec
    assert "Probability of response" in spec
    assert "PFS probability" not in spec
    read = pd.read_csv(io.BytesIO(export.csv()))
    assert set(read["group"]) == {"No", "Yes"}
    # R: survfit(Surv(dor, pfs_event) ~ emd, conf.type = "log-log"): No's first drop at 0 days
    # to 0.875 (lower 0.3870), Yes's at 60 days to 0.8.
    no = read[(read["group"] == "No") & (read["n_event"] > 0)].iloc[0]
    assert (no["time_days"], no["survival"]) == (0, pytest.approx(0.875))
    yes = read[(read["group"] == "Yes") & (read["n_event"] > 0)].iloc[0]
    assert (yes["time_days"], yes["survival"]) == (60, pytest.approx(0.8))
    assert export.provenance.ci_method == "log-log"


def test_a_filter_narrows_the_adverse_events_to_its_patients(endpoints: Dataset) -> None:
    cohort = select_cohort(endpoints, CohortFilter.parse("emd=true"))
    kept = set(cohort.patients.get_column("patient_id").to_list())
    events = cohort.adverse_events.get_column("patient_id").to_list()
    assert sorted(set(events)) == ["R08", "R09", "R10", "R11"]
    assert set(events) <= kept
    everyone = select_cohort(endpoints, CohortFilter.parse(""))
    assert everyone.adverse_events.height == endpoints.table("adverse_events").height
    nobody = select_cohort(endpoints, CohortFilter.parse("age_years>200"))
    assert nobody.adverse_events.height == 0
    assert nobody.adverse_events.schema == endpoints.table("adverse_events").schema
    # No event among the kept patients is no event, not the patients table's worst grades.
    none_kept = build(
        ExportRequest("table", "adverse-events", CohortFilter.parse("age_years>200")), endpoints
    )
    assert none_kept.summary.source == "adverse_events table"
    assert none_kept.data.height == 0
    no_crs = build(
        ExportRequest("table", "crs-course", CohortFilter.parse("age_years>200")), endpoints
    )
    assert no_crs.summary.patients_with_crs == 0


def test_the_crs_source_names_the_study_of_the_provenance(endpoints: Dataset) -> None:
    from bsab_explorer.data.loading import load_dataset

    bundled = load_dataset().dataset
    assert bundled is not None
    cohort = make_export(endpoints, ExportRequest("table", "crs-course"), clock=fixed_clock)
    assert (cohort.provenance.unit, cohort.provenance.n) == ("patients", 19)
    series = make_export(bundled, ExportRequest("table", "crs-course"), clock=fixed_clock)
    assert (series.provenance.unit, series.provenance.n) == ("cases", 5)
    asked = ExportRequest("table", "crs-course", options=(("source", "case-series"),))
    with pytest.raises(Exception, match="case series' cases table"):
        make_export(endpoints, asked)
    assert pl.Series(series.data.get_column("measure")).n_unique() >= 3
