"""`bsab-explorer table|figure` for the response and safety endpoints: the numbers the analyses
were checked on, read back from the command's own output.

- The bundled cohort's adverse events: the counts its paper states.
- The case series' CRS course: what its Table 1 states (first CRS timing and grade, recurrence
  interval and latency), read from the quoted rows as tests/analyses/test_crs_course.py does.
- The duration of response of tests/fixtures/endpoint_dataset.py: R's survfit medians, printed
  by tests/analyses/reference/endpoints.R (R 4.2, survival 3.5-3):
      survfit(Surv(dor, pfs_event) ~ emd, data = responders)   # conf.type = "log"
      records events median 0.95LCL 0.95UCL: No 8 6 164 99 NA; Yes 6 4 69 69 NA
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from bsab_explorer.cli import main
from bsab_explorer.cli.errors import EXIT_OK
from bsab_explorer.schema import DAYS_PER_MONTH
from tests.analyses.paper_quotes import quoted
from tests.analyses.test_crs_course import _EVERY, _FIRST, _LATENCY, TABLE_1
from tests.fixtures.endpoint_dataset import write_endpoint_dataset


@pytest.fixture(scope="module")
def endpoint_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_endpoint_dataset(tmp_path_factory.mktemp("endpoints"))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _csv(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out))


def test_bundled_adverse_events_are_the_papers_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["table", "adverse-events"], capsys)
    assert code == EXIT_OK
    rows = _csv(out).set_index("term")
    quoted(
        "debulking",
        "Cytokine release syndrome (CRS) rate was 64% (n = 28), with a majority of grade 1 "
        "(75%, n = 21).",
    )
    crs = rows.loc["CRS"]
    assert (crs["patients"], crs["any_grade_n"], crs["highest_grade_1_n"]) == (44, 28, 21)
    assert round(crs["any_grade_pct"]) == 64
    quoted(
        "debulking",
        "The immune effector cell-associated syndrome (ICANS) rate was 7% (n = 3) with two "
        "grade 1 and one grade 4.",
    )
    icans = rows.loc["ICANS"]
    assert (icans["any_grade_n"], icans["highest_grade_1_n"], icans["highest_grade_4_n"]) == (
        3,
        2,
        1,
    )
    quoted("debulking", "Grade ≥3 infections were reported in 35% (n = 15)")
    quoted("debulking", "grade ≥3 cytopenia was reported in 33% (n = 14)")
    assert rows.loc["infection", "grade3plus_n"] == 15
    # 15/44 = 34.1 % and 14/44 = 31.8 %: the paper prints 35 % and 33 %.
    assert round(rows.loc["infection", "grade3plus_pct"]) == 34
    assert rows.loc["cytopenia", "grade3plus_n"] == 14
    assert round(rows.loc["cytopenia", "grade3plus_pct"]) == 32
    # The patients table cannot tell how many had an infection of any grade: empty, never 0.
    assert pd.isna(rows.loc["infection", "any_grade_n"])
    assert "worst grades of the patients table" in err


def test_bundled_adverse_events_by_group_and_filtered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "adverse-events", "--by", "emd", "--format", "json"], capsys)
    assert code == EXIT_OK
    by_group = json.loads(out)
    assert {r["group"] for r in by_group} == {"No", "Yes"}
    argv = ["table", "adverse-events", "--filter", "emd=true", "--format", "json"]
    code, out, _ = run(argv, capsys)
    assert code == EXIT_OK
    filtered = {r["term"]: r for r in json.loads(out)}
    emd = {r["term"]: r for r in by_group if r["group"] == "Yes"}
    assert filtered["CRS"]["any_grade_n"] == emd["CRS"]["any_grade_n"]
    assert filtered["CRS"]["patients"] == emd["CRS"]["patients"]


@pytest.mark.parametrize("case", list(TABLE_1))
def test_case_series_crs_course_is_table_1(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["table", "crs-course-patients", "--format", "json"], capsys)
    assert code == EXIT_OK
    assert "the case series' events" in err
    row = {r["patient_id"]: r for r in json.loads(out)}[case]
    quote = TABLE_1[case].split("\t")
    if match := _FIRST.fullmatch(quote[5]):
        assert row["first_after_dose"] == "step_up_1"
        assert row["first_onset_day"] == float(match.group(1))
        assert row["first_grade"] == int(match.group(2))
    else:
        assert quote[5] == "None during step-up dose"
        assert row["first_after_dose"] == "later"
    every = _EVERY.match(quote[6])
    assert every is not None
    low = int(every.group(1))
    assert (row["rhythm_min_days"], row["rhythm_max_days"]) == (low, int(every.group(2) or low))
    if latency := _LATENCY.search(quote[6]):
        first = float(latency.group(1))
        assert (row["latency_min_hours"], row["latency_max_hours"]) == (
            first,
            float(latency.group(2) or first),
        )


def test_case_series_crs_course_by_dose(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "crs-course"], capsys)
    assert code == EXIT_OK
    rows = _csv(out)
    onset = rows[rows["measure"] == "onset after the dose"].set_index("after_dose")
    assert onset.index.tolist() == ["step_up_1", "first_full_dose", "later"]
    first = onset.loc["step_up_1"]
    assert (first["episodes"], first["patients"], first["median_days"]) == (4, 4, 2.0)
    assert (first["min_days"], first["max_days"]) == (2.0, 3.0)
    repeat = rows[rows["measure"] == "more than one episode"].iloc[0]
    assert (repeat["n"], repeat["total"], repeat["rate_pct"]) == (5, 5, 100.0)


def test_cohort_crs_course_and_adverse_events_of_a_1_1_dataset(
    endpoint_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["table", "crs-course", "--data", str(endpoint_folder)], capsys)
    assert code == EXIT_OK
    assert "the cohort's adverse_events table" in err
    rows = _csv(out)
    onset = rows[rows["measure"] == "onset after the dose"].set_index("after_dose")
    assert onset.index.tolist() == ["step_up_1", "step_up_2", "first_full_dose", "later"]
    assert onset.loc["step_up_1", ["median_days", "min_days", "max_days"]].tolist() == [1.5, 1, 2]
    shares = rows.set_index("measure")
    assert shares.loc["more than one episode", ["n", "total"]].tolist() == [2, 4]
    toci = "recurrence after a first episode with tocilizumab"
    assert shares.loc[toci, ["n", "total"]].tolist() == [1, 2]
    code, out, _ = run(
        ["table", "adverse-events", "--data", str(endpoint_folder), "--filter", "emd=true"], capsys
    )
    assert code == EXIT_OK
    events = _csv(out).set_index("term")
    # Eight emd patients: R08 (CRS grade 3), R09 (ICANS 1), R10 (neutropenia 4), R11 (infection
    # 3 then 2); R01–R03's CRS belongs to patients the filter drops.
    assert events.loc["CRS", ["patients", "any_grade_n", "grade3plus_n"]].tolist() == [8, 1, 1]
    assert events.loc["infection", "highest_grade_3_n"] == 1
    assert events.loc["neutropenia", "grade3plus_pct"] == pytest.approx(12.5)


def test_duration_of_response_is_rs_survfit(
    endpoint_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["table", "duration-of-response", "--data", str(endpoint_folder), "--by", "emd"]
    code, out, err = run(argv, capsys)
    assert code == EXIT_OK
    rows = _csv(out).set_index("group")
    r_medians = {"No": (8, 6, 164, 99), "Yes": (6, 4, 69, 69)}
    for group, (records, events, median, lower) in r_medians.items():
        row = rows.loc[group]
        assert (row["responders"], row["events"]) == (records, events)
        assert row["median_months"] == pytest.approx(median / DAYS_PER_MONTH, rel=1e-12)
        assert row["ci_lower_months"] == pytest.approx(lower / DAYS_PER_MONTH, rel=1e-12)
        assert pd.isna(row["ci_upper_months"])
        assert row["ci_upper_status"] == "not reached"
    assert "1 responder(s) progressed on the day of their first response" in err


def test_duration_of_response_figure_writes_the_curve(
    endpoint_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dor.csv"
    argv = ["figure", "duration-of-response", "--data", str(endpoint_folder), "--out", str(out)]
    code, _, _ = run(argv, capsys)
    assert code == EXIT_OK
    curve = pd.read_csv(out)
    events = curve[curve["n_event"] > 0]
    # summary(survfit(Surv(dor, pfs_event) ~ 1)) of all 15 usable responders starts at 0 days.
    assert events["time_days"].iloc[0] == 0
    assert curve["survival"].between(0, 1).all()


def test_time_to_response_and_mrd_of_a_1_1_dataset(
    endpoint_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["table", "time-to-response", "--data", str(endpoint_folder)], capsys)
    assert code == EXIT_OK
    row = _csv(out).iloc[0]
    # 18 responders; X01's response has no day. First response days of the other 17: 21 (seven
    # times), 28 (five), 56 (two), 63, 84, 100: median (the ninth) 28 days, range 21–100.
    assert (row["responders"], row["first_response_n"]) == (18, 17)
    assert row["first_response_median_months"] == pytest.approx(28 / DAYS_PER_MONTH)
    assert row["first_response_min_months"] == pytest.approx(21 / DAYS_PER_MONTH)
    assert row["first_response_max_months"] == pytest.approx(100 / DAYS_PER_MONTH)
    code, out, _ = run(["table", "mrd", "--data", str(endpoint_folder)], capsys)
    assert code == EXIT_OK
    mrd = _csv(out)
    negative = mrd[mrd["measure"] == "MRD negative"].set_index(["sensitivity", "denominator"])
    assert negative.loc[(1e-5, "all treated"), ["n", "total"]].tolist() == [3, 19]
    assert negative.loc[(1e-5, "CR or better"), ["n", "total"]].tolist() == [3, 5]
    assert negative.loc[(1e-6, "CR or better"), ["n", "total"]].tolist() == [1, 5]
    # R 4.2: binom.test(3, 19)$conf.int -> 0.03382625 0.39578455
    low, high = negative.loc[(1e-5, "all treated"), ["ci_lower_pct", "ci_upper_pct"]]
    assert (low, high) == (pytest.approx(3.382625, abs=1e-6), pytest.approx(39.578455, abs=1e-6))


@pytest.mark.parametrize(
    ("name", "column"),
    [("duration-of-response", "responses.day"), ("mrd", "responses.mrd_negative")],
)
def test_the_bundled_data_name_the_missing_column(
    name: str, column: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["table", name], capsys)
    assert code == 1
    assert out == ""
    assert column in err
