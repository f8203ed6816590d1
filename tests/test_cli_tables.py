"""`bsab-explorer table NAME`: the app's tables as CSV or JSON, from the same functions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.analyses.case_table import build_case_table
from bsab_explorer.analyses.conversion import transition_table
from bsab_explorer.analyses.recurrence import RECURRENCE_FIELDS
from bsab_explorer.analyses.survival import CIMethod, Endpoint, summarise_survival
from bsab_explorer.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main
from bsab_explorer.cli.tables import table_names, table_to_json
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    TABLES,
    ExportRequest,
    command_arguments,
    file_frame,
    read_table_csv,
    read_table_zip,
)
from bsab_explorer.filters import CohortFilter, FilterError, select_cases, select_cohort
from bsab_explorer.schema import DAYS_PER_MONTH, RECONSTRUCTED_NOTICE

MEDIAN_FIELDS = ["group", "n", "events", "median_months", "ci_lower_months", "ci_upper_months"]

#: A data folder holding only what an OS comparison by EMD needs.
TINY_PATIENTS = (
    "patient_id,os_days,os_event,emd\n"
    "P01,100,1,true\nP02,200,0,false\nP03,300,1,true\n"
    "P04,400,1,false\nP05,50,0,true\nP06,250,1,false\n"
)


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "patients.csv").write_text(TINY_PATIENTS)
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_names_are_the_catalogues_tables() -> None:
    assert table_names() == tuple(TABLES)
    assert {
        "table1",
        "response",
        "conversion",
        "survival-medians",
        "survival-curve",
        "survival-landmarks",
        "logrank",
        "cox",
        "crs-recurrence",
        "case-table",
        "duration-of-response",
        "time-to-response",
        "mrd",
        "adverse-events",
        "crs-course",
        "crs-course-patients",
        "follow-up",
        "number-at-risk",
        "rmst",
        "proportional-hazards",
        "cumulative-incidence",
        "forest",
        "forest-response",
    } == set(table_names())


def test_survival_medians_json_are_the_summary_rows(
    bundled: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["table", "survival-medians", "--by", "emd", "--filter", "bsab=teclistamab",
         "--format", "json"],
        capsys,
    )  # fmt: skip
    assert code == EXIT_OK
    rows = json.loads(out)
    patients = select_cohort(bundled, CohortFilter.parse("bsab=teclistamab")).patients
    expected = summarise_survival(patients, Endpoint.PFS, "emd", CIMethod.LOG).medians_frame()
    assert rows == expected.to_dicts()
    assert [list(row) for row in rows] == [MEDIAN_FIELDS] * len(rows)
    assert [row["group"] for row in rows] == ["No", "Yes"]


def test_survival_on_a_folder_with_only_the_needed_columns(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # R 4.x, survival 3.x:
    #   d <- data.frame(os_days = c(100, 200, 300, 400, 50, 250), os_event = c(1, 0, 1, 1, 0, 1),
    #                   emd = c(TRUE, FALSE, TRUE, FALSE, TRUE, FALSE))
    #   summary(survfit(Surv(os_days / 30.4375, os_event) ~ emd, data = d))$table
    #             records events            median          0.95LCL 0.95UCL
    #   emd=FALSE       3      2 10.67761806981519 8.21355236139630      NA
    #   emd=TRUE        3      2  6.57084188911704 3.28542094455852      NA
    #   survdiff(Surv(os_days, os_event) ~ emd, data = d)$chisq  # 0.825273010920437
    #   p: 0.363642958350955
    argv = ["table", "survival-medians", "--data", str(tiny), "--endpoint", "os", "--by", "emd"]
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert code == EXIT_OK
    rows = json.loads(out)
    dataset = load_dataset(tiny).dataset
    assert dataset is not None
    summary = summarise_survival(dataset.table("patients"), Endpoint.OS, "emd", CIMethod.LOG)
    assert rows == summary.medians_frame().to_dicts()
    assert [(r["group"], r["n"], r["events"]) for r in rows] == [("No", 3, 2), ("Yes", 3, 2)]
    # Both curves sit at exactly 50 % between two deaths: R's midpoint rule.
    assert rows[0]["median_months"] == pytest.approx((250 + 400) / 2 / DAYS_PER_MONTH, rel=1e-14)
    assert rows[1]["median_months"] == pytest.approx((100 + 300) / 2 / DAYS_PER_MONTH, rel=1e-14)
    assert rows[0]["median_months"] == pytest.approx(10.67761806981519, abs=1e-13)
    assert rows[0]["ci_lower_months"] == pytest.approx(8.21355236139630, abs=1e-13)
    assert rows[1]["ci_lower_months"] == pytest.approx(3.28542094455852, abs=1e-13)
    assert rows[0]["ci_upper_months"] is None
    assert rows[1]["ci_upper_months"] is None

    code, out, _ = run(["table", "logrank", *argv[2:], "--format", "json"], capsys)
    assert code == EXIT_OK
    (logrank,) = json.loads(out)
    assert list(logrank) == ["chi2", "df", "p_value"]
    assert logrank["df"] == 1
    assert logrank["chi2"] == pytest.approx(0.825273010920437, abs=1e-13)
    assert logrank["p_value"] == pytest.approx(0.363642958350955, abs=1e-13)


def test_a_missing_column_names_the_analysis_and_the_column(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["table", "survival-medians", "--data", str(tiny)], capsys)
    assert code == EXIT_INVALID
    assert out == ""
    assert "Table 'survival-medians' (Median survival, PFS) is unavailable" in err
    assert "patients.pfs_days, patients.pfs_event" in err

    code, _, err = run(
        ["table", "cox", "--data", str(tiny), "--endpoint", "os", "--by", "hrca"], capsys
    )
    assert code == EXIT_INVALID
    assert "Table 'cox' (Cox hazard ratios, OS) is unavailable for these data: it needs " in err
    assert "patients.hrca" in err
    assert "patients.os_days" not in err

    code, _, err = run(["table", "response", "--data", str(tiny)], capsys)
    assert code == EXIT_INVALID
    assert "Response by timepoint" in err
    assert "responses.timepoint" in err


def test_a_bad_filter_exits_2_with_the_filter_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FilterError) as raised:
        CohortFilter.parse("emd=maybe")
    code, out, err = run(["table", "logrank", "--filter", "emd=maybe"], capsys)
    assert code == EXIT_ERROR
    assert out == ""
    assert err.strip() == f"--filter: {raised.value}"


def test_a_missing_data_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["table", "cox", "--data", str(tmp_path / "nowhere")], capsys)
    assert code == EXIT_ERROR
    assert f"there is no file or folder '{tmp_path / 'nowhere'}'" in err


def test_invalid_data_print_the_report_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP1,X\n")
    code, out, err = run(["table", "table1", "--data", str(tmp_path)], capsys)
    assert code == EXIT_INVALID
    assert out == ""
    assert "'X' is not a known code for sex" in err


def test_crs_recurrence_fields_and_rc2_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "crs-recurrence", "--format", "json"], capsys)
    assert code == EXIT_OK
    rows = {row["case_id"]: row for row in json.loads(out)}
    fields = [
        "case_id", "n_episodes", "n_recurrent", "first_crs_day", "first_crs_grade",
        "interval_days_median", "interval_days_min", "interval_days_max",
        "latency_hours_median", "latency_hours_min", "latency_hours_max", "max_grade",
        "possible_infection_episodes", "pattern",
    ]  # fmt: skip
    assert list(RECURRENCE_FIELDS) == fields
    assert all(list(row) == fields for row in rows.values())
    assert sorted(rows) == ["RC1", "RC2", "RC3", "RC4", "RC5"]
    assert rows["RC2"]["pattern"] == "every 35–40 days, 24–48 h after infusion"
    assert (rows["RC2"]["interval_days_min"], rows["RC2"]["interval_days_max"]) == (35.0, 40.0)


def test_case_table_csv_round_trips_through_out(
    bundled: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "case-table.csv"
    code, out, _ = run(["table", "case-table", "--out", str(out_file)], capsys)
    assert code == EXIT_OK
    assert out.strip() == str(out_file)
    data = out_file.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a file for spreadsheets keeps its byte-order mark
    series = select_cases(bundled, CohortFilter())
    expected = build_case_table(series.cases, series.events)
    assert_frame_equal(read_table_csv(data, expected.schema), expected)
    text = data.decode("utf-8-sig")
    assert "#" not in text  # rows only: the provenance travels in the ZIP
    zipped = tmp_path / "case-table.zip"
    assert run(["table", "case-table", "--out", str(zipped)], capsys)[0] == EXIT_OK
    csv, provenance = read_table_zip(zipped.read_bytes())
    assert csv == data
    assert RECONSTRUCTED_NOTICE in provenance
    assert "Filter: none (all cases) · N = 5 of 5 cases" in provenance

    code, stdout, _ = run(["table", "case-table"], capsys)
    assert code == EXIT_OK
    assert not stdout.startswith("\ufeff")  # a pipe gets no byte-order mark
    assert stdout.splitlines()[:6] == text.splitlines()[:6]


def test_conversion_patient_ids_list_in_json_joined_in_csv(
    bundled: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["table", "conversion", "--from", "post_debulking", "--to", "C1"]
    code, out, err = run([*argv, "--format", "json"], capsys)
    assert code == EXIT_OK
    cohort = select_cohort(bundled, CohortFilter())
    expected = transition_table(cohort.responses, "post_debulking", "C1", cohort.patients)
    rows = json.loads(out)
    assert rows == expected.to_dicts()
    assert isinstance(rows[0]["patient_ids"], list)
    assert "Note: After debulking → Cycle 1" in err
    code, out, _ = run(argv, capsys)
    assert code == EXIT_OK
    # The app's CSV writer joins a list cell with "; " (one writer for downloads and the CLI).
    first = expected.row(0, named=True)
    ids = "; ".join(first["patient_ids"])
    assert out.splitlines()[1] == f'"{first["from"]}","{first["to"]}",{first["n"]},"{ids}"'


def test_table1_p_values_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "table1", "--by", "emd", "--p-values", "--format", "json"], capsys)
    assert code == EXIT_OK
    rows = json.loads(out)
    assert list(rows[0])[-2:] == ["p_value", "test"]
    age = next(r for r in rows if r["characteristic"].startswith("Age (years)"))
    assert age["test"] == "Wilcoxon rank-sum test"
    assert 0 < age["p_value"] < 1
    code, out, _ = run(["table", "table1", "--by", "emd", "--format", "json"], capsys)
    assert "p_value" not in json.loads(out)[0]


def test_options_a_table_does_not_read_are_ignored_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "table1.zip"
    args = ["table", "table1", "--endpoint", "os", "--ci", "plain", "--out", str(out_file)]
    code, _, err = run(args, capsys)
    assert code == EXIT_OK
    assert err.splitlines() == [
        "Note: --endpoint does not apply to the table 'table1' and was ignored.",
        "Note: --ci does not apply to the table 'table1' and was ignored.",
    ]
    # The provenance is that of the page's table: no endpoint, no CI method.
    _, out = read_table_zip(out_file.read_bytes())
    assert "Endpoint" not in out
    assert "95 % CI" not in out
    assert "Filter: none (all patients) · N = 44 of 44 patients" in out


def test_a_pages_reproduce_command_runs_unchanged(
    bundled: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = ExportRequest(
        "table",
        "survival-landmarks",
        CohortFilter.parse("emd=true"),
        by="hrca",
        endpoint="os",
        ci="log-log",
    )
    out_file = tmp_path / request.file_name()
    code, _, _ = run(command_arguments(request, out=str(out_file)), capsys)
    assert code == EXIT_OK
    patients = select_cohort(bundled, CohortFilter.parse("emd=true")).patients
    summary = summarise_survival(patients, Endpoint.OS, "hrca", CIMethod.LOG_LOG)
    expected = file_frame("table", "survival-landmarks", summary.landmarks_frame())
    assert_frame_equal(read_table_csv(out_file.read_bytes(), expected.schema), expected)
    assert expected.height == 6


def test_json_has_no_nan_or_infinity() -> None:
    frame = pl.DataFrame(
        {"x": [1.0, math.nan, math.inf, None], "xs": [[0.1, math.nan]] * 4, "n": [1, 2, 3, 4]}
    )
    rows = json.loads(table_to_json(frame))
    assert [r["x"] for r in rows] == [1.0, None, None, None]
    assert rows[0]["xs"] == [0.1, None]
    assert json.loads(table_to_json(pl.DataFrame({"x": [0.1 + 0.2]})))[0]["x"] == 0.1 + 0.2


def test_console_entry_writes_survival_medians(bundled: Dataset) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bsab_explorer", "table", "survival-medians", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == EXIT_OK, done.stderr
    patients = select_cohort(bundled, CohortFilter()).patients
    expected = summarise_survival(patients, Endpoint.PFS, None, CIMethod.LOG).medians_frame()
    assert json.loads(done.stdout) == expected.to_dicts()
    assert json.loads(done.stdout)[0]["n"] == 44


@pytest.mark.parametrize(("file_format", "hashed"), [("json", 0), ("csv", 0), ("zip", 1)])
def test_only_a_file_with_provenance_hashes_the_data(
    file_format: str, hashed: int, tiny: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The fingerprint is read by the provenance lines (the ZIP's), never by rows alone.
    from bsab_explorer import dataset as dataset_module

    calls: list[str] = []
    eager = dataset_module.fingerprint_tables

    def counted(tables: dict[str, pl.DataFrame]) -> str:
        calls.append(file_format)
        return eager(tables)

    monkeypatch.setattr(dataset_module, "fingerprint_tables", counted)
    out = tmp_path / f"medians.{file_format}"
    argv = ["table", "survival-medians", "--by", "emd", "--endpoint", "os", "--data", str(tiny)]
    assert main([*argv, "--out", str(out)]) == EXIT_OK
    assert len(calls) == hashed
    if file_format == "zip":
        _, provenance = read_table_zip(out.read_bytes())
        fingerprint = load_dataset(tiny).dataset.fingerprint  # type: ignore[union-attr]
        assert f"sha256 {fingerprint}" in provenance


def test_the_table_names_are_the_catalogues() -> None:
    # Parsing `table NAME` reads TABLE_NAMES, so that it imports no chart code.
    from bsab_explorer.analyses import response
    from bsab_explorer.cli.tables import DENOMINATORS, TABLE_NAMES

    assert tuple(TABLES) == TABLE_NAMES
    assert response.DENOMINATORS == DENOMINATORS


def test_a_table_command_imports_no_chart_code(tiny: Path) -> None:
    out = tiny / "medians.json"
    script = (
        "import sys\nfrom bsab_explorer.cli import main\n"
        "code = main(['table', 'survival-medians', '--by', 'emd', '--endpoint', 'os', "
        f"'--data', {str(tiny)!r}, '--out', {str(out)!r}])\n"
        "heavy = ('altair', 'vl_convert', 'bsab_explorer.charts', 'pandera', 'pandas',\n"
        "         'scipy', 'pyarrow', 'duckdb', 'bsab_explorer.data.convert',\n"
        "         'bsab_explorer.analyses.table1', 'bsab_explorer.exports.cohort_builders',\n"
        "         'bsab_explorer.exports.case_builders',\n"
        "         'bsab_explorer.exports.endpoint_builders',\n"
        "         'bsab_explorer.exports.survival_statistics')\n"
        "print(code, *sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [str(out), "0"]
    assert [row["group"] for row in json.loads(out.read_text())] == ["No", "Yes"]


def test_every_catalogue_entry_names_a_builder_that_resolves() -> None:
    # Entries name their builder lazily ("module:attribute"); a typo would only fail when built.
    from bsab_explorer.exports import FIGURES

    for entry in (*FIGURES.values(), *TABLES.values()):
        module, _, attribute = entry.builder.partition(":")
        assert module.endswith("_builders"), entry.name
        assert attribute.startswith("_"), entry.name
        assert callable(entry.build), entry.name


def test_the_rendering_modules_are_every_chart_the_catalogue_draws() -> None:
    # A server imports them ahead (`load_rendering`); a table's command never does.
    import ast

    from bsab_explorer.exports import RENDERING_MODULES

    root = Path(__file__).resolve().parents[1] / "bsab_explorer" / "exports"
    drawn = {"bsab_explorer.exports.figures"}
    for builders in root.glob("*.py"):
        for node in ast.walk(ast.parse(builders.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "bsab_explorer.charts."
            ):
                drawn.add(node.module or "")
    assert set(RENDERING_MODULES) == drawn
