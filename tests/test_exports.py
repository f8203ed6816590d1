"""Exports: provenance, file names, injection-safe CSV, PNG/SVG with footer, reproduce commands.

Files every tool reads: every CSV export is opened here with pandas' defaults. R's defaults were
checked once, outside the suite (the suite never needs R): with R 4.2.2 (survival 3.5.3), every
CSV that `_every_file_request` names was written from the bundled data with `Export.csv()`
(74 files: every table and figure, unfiltered, `emd=true` and `age_years>200`, with and without
`--by emd`) and read with

    d <- read.csv(path)
    stopifnot(nrow(d) == rows, all(vapply(numeric_columns, function(c)
        is.numeric(d[[c]]) || all(is.na(d[[c]])), logical(1))))

with no failure: exactly the rows, numeric columns numeric (a column with no value at all reads
as NA, as R types any empty column), "inf" and "NaN" cells as Inf and NaN, the byte-order mark
skipped.
"""

from __future__ import annotations

import doctest
import io
import shlex
import struct
import zipfile
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import polars as pl
import pytest
from altair.utils import schemapi

import bsab_explorer.exports.columns
import bsab_explorer.exports.naming
import bsab_explorer.exports.provenance
import bsab_explorer.exports.reproduce
import bsab_explorer.exports.request
from bsab_explorer import __version__
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    FIGURES,
    TABLES,
    ExportRequest,
    ExportUnavailable,
    Provenance,
    build,
    chart_data_frame,
    chart_to_png,
    chart_to_svg,
    command_arguments,
    export_name,
    file_frame,
    make_export,
    neutralise_text,
    provenance_lines,
    read_table_csv,
    read_table_zip,
    reproduce_command,
    reproduce_python,
    table_to_csv,
    table_to_zip,
    write_export,
)
from bsab_explorer.exports.figures import EXPORT_FONT, chart_spec, renumber_clip_ids, wrap_lines
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import RECONSTRUCTED_NOTICE

FIXED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fixed_clock() -> datetime:
    return FIXED


@pytest.fixture
def provenance() -> Provenance:
    return Provenance(
        dataset_name="Bundled (reconstructed)",
        fingerprint="0123456789abcdef" * 4,
        reconstructed=True,
        filter_text="bsab=teclistamab;emd=true",
        filter_description=(
            "Bispecific antibody is teclistamab; Extramedullary disease (EMD) is true"
        ),
        n=17,
        total=44,
        app_version="9.9.9",
        created=FIXED,
        ci_method="log",
    )


@pytest.fixture
def chart() -> alt.Chart:
    frame = pl.DataFrame({"month": [0.0, 3.0, 6.0, 9.0], "survival": [1.0, 0.8, 0.55, 0.4]})
    return alt.Chart(frame).mark_line().encode(x="month", y="survival").properties(width=300)


@pytest.mark.parametrize(
    "module",
    [
        bsab_explorer.exports.columns,
        bsab_explorer.exports.naming,
        bsab_explorer.exports.provenance,
        bsab_explorer.exports.reproduce,
        bsab_explorer.exports.request,
    ],
)
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


# --- provenance ---------------------------------------------------------------------------------


def test_provenance_lines_say_data_filter_n_ci_version_and_date(provenance: Provenance) -> None:
    assert provenance_lines(provenance) == (
        "Data: Bundled (reconstructed) · sha256 " + "0123456789abcdef" * 4,
        RECONSTRUCTED_NOTICE,
        "Filter: bsab=teclistamab;emd=true (Bispecific antibody is teclistamab; "
        "Extramedullary disease (EMD) is true) · N = 17 of 44 patients",
        "95 % CI: log transformation (R survival default)",
        "bsab-explorer 9.9.9 · created 2026-03-04 05:06 UTC",
    )


def test_provenance_without_date_ends_with_the_version(provenance: Provenance) -> None:
    assert provenance.lines(with_date=False)[-1] == "bsab-explorer 9.9.9"


def test_provenance_of_a_dataset_takes_fingerprint_filter_and_clock() -> None:
    patients = pl.DataFrame({"patient_id": ["P1", "P2"], "emd": [True, False]})
    dataset = Dataset("uploaded study", {"patients": patients})
    made = Provenance.of(
        dataset, CohortFilter.parse("emd=yes"), n=1, total=2, clock=fixed_clock, unit="patients"
    )
    assert made.fingerprint == dataset.fingerprint
    assert len(made.fingerprint) == 64
    assert made.app_version == __version__
    lines = made.lines()
    assert RECONSTRUCTED_NOTICE not in lines  # uploaded data are not reconstructed
    assert "Filter: emd=true (Extramedullary disease (EMD) is true) · N = 1 of 2 patients" in lines
    assert not any(line.startswith("95 % CI") for line in lines)
    assert lines[-1].endswith("created 2026-03-04 05:06 UTC")


def test_provenance_of_everyone_says_so() -> None:
    dataset = Dataset("cases", {"cases": pl.DataFrame({"case_id": ["RC1"]})}, reconstructed=True)
    made = Provenance.of(dataset, CohortFilter(), 1, 1, unit="cases", clock=fixed_clock)
    assert made.filter_line == "Filter: none (all cases) · N = 1 of 1 cases"
    assert made.with_details(("Case", "RC1")).lines()[3] == "Case: RC1"


# --- file names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("km", "pfs"), {"by": "emd", "ext": "png"}, "km-pfs_by-emd.png"),
        (("table1",), {"ext": "csv"}, "table1.csv"),
        (("response",), {"extra": ("denominator-all",)}, "response_denominator-all.png"),
        (("km", "os"), {"filter": "age_years>=65"}, "km-os_filter-age_years-ge-65.png"),
        (("km", "os"), {"filter": "iss_stage=II,III"}, "km-os_filter-iss_stage=II+III.png"),
        (("km", "os"), {"filter": "bsab=../etc/passwd x"}, "km-os_filter-bsab=..-etc-passwd-x.png"),
        (("time line", "R/C 2"), {"ext": "s v/g"}, "time-line-R-C-2.s-v-g"),
    ],
)
def test_export_names_are_safe_and_say_what_and_for_whom(
    args: tuple[str, ...], kwargs: dict[str, object], expected: str
) -> None:
    text = kwargs.pop("filter", None)
    cohort_filter = CohortFilter.parse(text) if isinstance(text, str) else None
    name = export_name(*args, cohort_filter=cohort_filter, **kwargs)  # type: ignore[arg-type]
    assert name == expected
    assert "/" not in name
    assert " " not in name


def test_export_names_of_long_filters_are_cut_but_stay_distinct() -> None:
    long_a = CohortFilter.parse("bsab=" + "a" * 200)
    long_b = CohortFilter.parse("bsab=" + "a" * 199 + "b")
    name_a = export_name("km", "pfs", cohort_filter=long_a)
    name_b = export_name("km", "pfs", cohort_filter=long_b)
    assert len(name_a) <= 124
    assert name_a != name_b
    assert name_a == export_name("km", "pfs", cohort_filter=long_a)  # deterministic


def test_request_file_name_follows_endpoint_case_options_and_ci() -> None:
    request = ExportRequest(
        "figure", "km", CohortFilter.parse("bsab=teclistamab"), by="emd", endpoint="pfs"
    )
    assert request.file_name() == "km-pfs_by-emd_filter-bsab=teclistamab.png"
    assert request.file_name("svg") == "km-pfs_by-emd_filter-bsab=teclistamab.svg"
    plain = ExportRequest("table", "survival-medians", endpoint="os", ci="plain")
    assert plain.file_name() == "survival-medians-os_ci-plain.csv"
    assert ExportRequest("figure", "timeline", case="RC2").file_name() == "timeline-RC2.png"
    options = ExportRequest("figure", "response", options=(("denominator", "all_treated"),))
    assert options.file_name() == "response_denominator-all_treated.png"
    assert options.option("denominator") == "all_treated"
    assert options.option("missing", "x") == "x"


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tleading tab", "'\tleading tab"),
        ("\rleading return", "'\rleading return"),
        ("'quoted", "''quoted"),
        ("-2", "-2"),
        ("+3.5", "+3.5"),
        ("-1e-3", "-1e-3"),
        ("D001", "D001"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_cells_are_neutralised_against_formulas(cell: str, written: str) -> None:
    assert neutralise_text(cell) == written


def _data_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    return [line for line in text.lstrip("\ufeff").split("\n") if line]


def test_csv_neutralises_text_cells_and_keeps_numbers_numeric() -> None:
    frame = pl.DataFrame(
        {
            "patient_id": ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "D005"],
            "change": [-2, -1, 0, 1, 2],
            "ratio": [-0.5, 1.25, None, 2.0, -3.0],
        }
    )
    data = table_to_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for spreadsheets
    assert _data_lines(data) == [
        '"patient_id","change","ratio"',
        '"\'=1+1",-2,-0.5',
        '"\'+cmd",-1,1.25',
        '"\'-2+3",0,',
        '"\'@SUM(A1)",1,2.0',
        '"D005",2,-3.0',
    ]
    raw = pl.read_csv(data)
    assert raw["change"].to_list() == [-2, -1, 0, 1, 2]
    assert raw.schema["change"] == pl.Int64
    assert raw["patient_id"][0] == "'=1+1"


def test_csv_neutralises_column_names_from_data() -> None:
    frame = pl.DataFrame({"=HYPERLINK(1) (n=3)": ["x"], "All patients (n=44)": ["y"]})
    assert _data_lines(table_to_csv(frame))[0] == '"\'=HYPERLINK(1) (n=3)","All patients (n=44)"'
    assert read_table_csv(table_to_csv(frame)).equals(frame)


def test_csv_round_trips_with_polars(provenance: Provenance) -> None:
    frame = pl.DataFrame(
        {
            "group": ["EMD", "No EMD", "=cmd", "'quoted", "#hash", 'a, b "c"', None],
            "n": [22, 22, 1, 2, 3, 4, 5],
            "median_months": [9.3, None, -1.5, 0.0, 1.0, 2.0, 3.0],
            "reached": [True, False, None, True, True, False, True],
            "label": ["≥VGPR – 95 %", "", "x\ny", "-2", "+", "@", "\t"],
        }
    )
    data = table_to_csv(frame)
    back = read_table_csv(data, schema=frame.schema)
    assert back.equals(frame)
    assert read_table_csv(data).equals(frame)
    assert read_table_csv(read_table_zip(table_to_zip(frame, provenance, "t.csv"))[0]).equals(frame)


def test_csv_holds_the_rows_only_and_the_zip_the_provenance(provenance: Provenance) -> None:
    frame = pl.DataFrame({"x": [1]})
    assert table_to_csv(frame).decode("utf-8-sig") == '"x"\n1\n'
    data = table_to_zip(frame, provenance, "km-pfs.csv", notes=("2 patients\nexcluded.",))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["km-pfs.csv", "km-pfs_provenance.txt"]
        assert archive.read("km-pfs.csv") == table_to_csv(frame)
    _, text = read_table_zip(data)
    assert text.split("\n\n")[0].split("\n") == list(provenance.lines())
    assert "Notes:\n- 2 patients excluded." in text
    assert table_to_zip(frame, provenance, "km-pfs.csv") == table_to_zip(
        frame, provenance, "km-pfs.csv"
    )


def test_zip_says_what_the_columns_hold(provenance: Provenance) -> None:
    frame = pl.DataFrame({"group": ["All"], "se_log_survival": [0.1], "se_survival": [0.05]})
    _, text = read_table_zip(table_to_zip(frame, provenance, "t.csv"))
    columns = text.split("Columns:\n")[1].splitlines()
    assert columns == [
        "- se_log_survival: standard error of log survival (R survfit's std.err; inf once S = 0)",
        "- se_survival: standard error of survival itself (R summary.survfit's std.err)",
    ]


def test_csv_writes_list_and_categorical_columns_as_text() -> None:
    frame = pl.DataFrame(
        {"ids": [["D1", "D2"], ["=x"]], "cat": pl.Series(["a", "-b"], dtype=pl.Categorical)}
    )
    assert _data_lines(table_to_csv(frame))[1:] == ['"D1; D2","a"', '"\'=x","\'-b"']


# --- PNG and SVG --------------------------------------------------------------------------------


def _png_size_and_dpi(png: bytes) -> tuple[int, int, float]:
    assert png[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", png[16:24])
    at = png.index(b"pHYs")
    x_per_metre, y_per_metre, unit = struct.unpack(">IIB", png[at + 4 : at + 13])
    assert unit == 1  # metres
    assert x_per_metre == y_per_metre
    crc = struct.unpack(">I", png[at + 13 : at + 17])[0]
    assert crc == zlib.crc32(png[at : at + 13])
    return width, height, x_per_metre * 0.0254


def test_print_png_is_300_dpi_and_screen_png_144_dpi(
    chart: alt.Chart, provenance: Provenance
) -> None:
    svg = chart_to_svg(chart, provenance)
    width_attr = float(svg.split('width="', 1)[1].split('"', 1)[0])
    height_attr = float(svg.split('height="', 1)[1].split('"', 1)[0])
    screen_w, screen_h, screen_dpi = _png_size_and_dpi(chart_to_png(chart, provenance, "screen"))
    print_w, print_h, print_dpi = _png_size_and_dpi(chart_to_png(chart, provenance, "print"))
    assert round(screen_dpi) == 144
    assert round(print_dpi) == 300
    assert screen_w == pytest.approx(width_attr * 2, abs=1)
    assert screen_h == pytest.approx(height_attr * 2, abs=1)
    # A nominal pixel prints as a point, but never wider than 180 mm.
    scale = min(1.0, (180 / 25.4 * 72) / width_attr)
    assert print_w == pytest.approx(width_attr * scale * 300 / 72, abs=1)
    assert print_h == pytest.approx(height_attr * scale * 300 / 72, abs=1)


def test_png_rejects_an_unknown_size(chart: alt.Chart) -> None:
    with pytest.raises(ValueError, match="size must be one of"):
        chart_to_png(chart, None, "poster")  # type: ignore[arg-type]


def test_svg_footer_carries_every_provenance_line_escaped(
    chart: alt.Chart, provenance: Provenance
) -> None:
    hostile = Provenance(**{**provenance.__dict__, "dataset_name": "<script>x</script> & co"})
    svg = chart_to_svg(chart, hostile)
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in svg
    assert "<script>" not in svg
    assert RECONSTRUCTED_NOTICE in svg
    assert "created 2026-03-04 05:06 UTC" in svg
    assert f'font-family="{EXPORT_FONT}"' in svg
    assert "created" not in chart_to_svg(chart, hostile, with_date=False)
    assert "sha256" not in chart_to_svg(chart)


def test_export_spec_sets_the_bundled_font_on_white(chart: alt.Chart) -> None:
    spec = chart_spec(chart.configure(font="Helvetica"))
    assert spec["config"]["font"] == EXPORT_FONT
    assert spec["config"]["background"] == "white"


def test_footer_lines_wrap_to_the_width() -> None:
    lines = wrap_lines(["word " * 60], width=300, font_size=10)
    assert len(lines) > 1
    assert all(len(line) <= 300 / (10 * 0.56) for line in lines)


def test_chart_data_frame_is_the_data_behind_the_chart(chart: alt.Chart) -> None:
    frame = chart_data_frame(chart)
    assert frame.columns == ["month", "survival"]
    assert frame["survival"].to_list() == [1.0, 0.8, 0.55, 0.4]


# --- reproduce ----------------------------------------------------------------------------------


def test_reproduce_command_quotes_the_filter_for_the_shell() -> None:
    request = ExportRequest(
        "figure",
        "km",
        CohortFilter.parse("emd=true;age_years>=65"),
        by="emd",
        endpoint="pfs",
        ci="log",
    )
    command = reproduce_command(request, out="my km.png", data="/data/study one", dpi=300)
    assert command == (
        "bsab-explorer figure km --endpoint pfs --by emd --filter 'age_years>=65;emd=true' "
        "--ci log --dpi 300 --out 'my km.png' --data '/data/study one'"
    )
    assert shlex.split(command)[1:] == command_arguments(
        request, out="my km.png", data="/data/study one", dpi=300
    )


def test_reproduce_python_is_runnable_code_for_the_same_request() -> None:
    request = ExportRequest(
        "table", "survival-medians", CohortFilter.parse("emd=true"), by="hrca", endpoint="os"
    )
    code = reproduce_python(request, data="/data/x")
    compile(code, "<reproduce>", "exec")
    assert "dataset = load_dataset('/data/x').dataset" in code
    assert (
        "request = ExportRequest('table', 'survival-medians', CohortFilter.parse('emd=true'), "
        "by='hrca', endpoint='os')"
    ) in code
    assert code.endswith(
        "write_export(dataset, request, 'survival-medians-os_by-hrca_filter-emd=true.csv')"
    )


# --- catalogue ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


#: Tables the bundled data cannot answer (no assessment days, no MRD): their builds are checked
#: on a contract 1.1 dataset in tests/test_endpoint_exports.py.
ENDPOINT_TABLES = {"duration-of-response", "time-to-response", "mrd"}


@pytest.mark.parametrize("name", sorted(set(TABLES) - ENDPOINT_TABLES))
@pytest.mark.parametrize("text", ["", "emd=true", "age_years>200"])
def test_every_table_builds_and_round_trips_as_csv(bundled: Dataset, name: str, text: str) -> None:
    export = make_export(
        bundled, ExportRequest("table", name, CohortFilter.parse(text)), clock=fixed_clock
    )
    assert not export.is_figure
    data = export.csv()
    frame = export.file_data
    lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    expected = frame.with_columns(pl.col(c).list.join("; ") for c in lists)
    assert read_table_csv(data, schema=expected.schema).equals(expected)
    csv, text = read_table_zip(export.zip())
    assert csv == data
    assert text.split("\n\n")[0].rstrip("\n").endswith("created 2026-03-04 05:06 UTC")


def test_table_provenance_counts_the_filtered_patients(bundled: Dataset) -> None:
    patients = bundled.table("patients")
    with_emd = patients.filter(pl.col("emd")).height
    export = make_export(
        bundled,
        ExportRequest("table", "survival-medians", CohortFilter.parse("emd=true"), endpoint="os"),
    )
    assert export.provenance.n == with_emd
    assert export.provenance.total == patients.height
    assert export.provenance.ci_method == "log"
    assert "Endpoint: OS" in export.provenance.lines()
    assert export.data["n"].sum() == with_emd


def test_case_series_provenance_names_clauses_that_do_not_apply(bundled: Dataset) -> None:
    request = ExportRequest("table", "crs-recurrence", CohortFilter.parse("emd=true;sex=F"))
    export = make_export(bundled, request)
    cases = bundled.table("cases")
    women = cases.filter(pl.col("sex") == "F").height
    assert export.data.height == women
    assert export.provenance.filter_text == "sex=F"
    assert (export.provenance.n, export.provenance.total) == (women, cases.height)
    assert "Not applicable to cases: emd=true" in export.provenance.lines()
    assert export.data.columns[0] == "case_id"


def test_unknown_names_and_options_are_refused_in_words(bundled: Dataset) -> None:
    with pytest.raises(ExportUnavailable, match="There is no figure 'pie'"):
        make_export(bundled, ExportRequest("figure", "pie"))
    with pytest.raises(ExportUnavailable, match="--endpoint must be one of pfs, os"):
        make_export(bundled, ExportRequest("table", "cox", endpoint="efs"))
    with pytest.raises(ExportUnavailable, match="'shoe_size' is not a column"):
        make_export(bundled, ExportRequest("figure", "response", by="shoe_size"))
    with pytest.raises(ExportUnavailable, match="--denominator must be one of"):
        make_export(
            bundled, ExportRequest("figure", "response", options=(("denominator", "some"),))
        )


def test_write_export_writes_png_svg_and_csv(bundled: Dataset, tmp_path: Path) -> None:
    request = ExportRequest("figure", "response", CohortFilter.parse("emd=true"), by="hrca")
    png = write_export(bundled, request, tmp_path / request.file_name(), dpi=300)
    assert png.name == "response_by-hrca_filter-emd=true.png"
    width, _, dpi = _png_size_and_dpi(png.read_bytes())
    assert round(dpi) == 300
    assert width > 2000
    svg = write_export(bundled, request, tmp_path / "r.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg")
    patients = bundled.table("patients")
    assert f"N = {patients.filter(pl.col('emd')).height} of {patients.height} patients" in svg
    csv = write_export(bundled, request, tmp_path / "r.csv").read_bytes()
    assert {"No", "Yes"} <= set(read_table_csv(csv)["group"].to_list())
    with pytest.raises(ExportUnavailable, match=r"\.png, \.svg or \.csv"):
        write_export(bundled, request, tmp_path / "r.gif")


def test_reproduce_python_regenerates_the_same_file(
    bundled: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = ExportRequest(
        "table", "survival-medians", CohortFilter.parse("hrca=true"), by="emd", endpoint="pfs"
    )
    monkeypatch.chdir(tmp_path)
    exec(reproduce_python(request), {})  # the code a page shows, run as shown
    expected = make_export(bundled, request).file_data
    written = read_table_csv((tmp_path / request.file_name()).read_bytes(), expected.schema)
    assert written.equals(expected)


FIGURE_REQUESTS = [
    ExportRequest("figure", "response", by="emd"),
    ExportRequest("figure", "conversion"),
    ExportRequest("figure", "km", endpoint="os", by="emd", ci="log-log"),
    ExportRequest("figure", "timeline", case="RC2", options=(("unit", "months"),)),
    ExportRequest("figure", "swimmer", options=(("sort", "episodes"),)),
    ExportRequest("figure", "crs-latency", by="bsab"),
    ExportRequest("figure", "cumulative-incidence", by="emd"),
    ExportRequest("figure", "forest", by="emd", options=(("subgroups", "sex,iss_stage"),)),
    ExportRequest("figure", "forest-response", options=(("subgroups", "sex,emd"),)),
]


#: Figures the bundled data cannot draw, checked in tests/test_endpoint_exports.py.
ENDPOINT_FIGURES = {"duration-of-response"}


def test_the_figure_requests_cover_every_figure() -> None:
    assert {r.name for r in FIGURE_REQUESTS} == set(FIGURES) - ENDPOINT_FIGURES


@pytest.mark.parametrize("request_", FIGURE_REQUESTS, ids=lambda r: r.name)
def test_every_figure_builds_with_its_data(bundled: Dataset, request_: ExportRequest) -> None:
    export = make_export(bundled, request_, clock=fixed_clock)
    assert export.is_figure
    assert export.data.height > 0
    spec = chart_spec(export.chart)
    assert spec["config"]["font"] == EXPORT_FONT
    assert read_table_csv(export.csv()).height == export.data.height


@pytest.mark.parametrize("request_", FIGURE_REQUESTS, ids=lambda r: r.name)
def test_figures_name_their_channels_and_come_out_the_same_each_time(
    bundled: Dataset, request_: ExportRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An encoding given as a shorthand string or a bare dict makes Altair search its whole
    # schema for the channel's class (about 6 ms each, on every filter change of a page).
    searched: list[str] = []
    from_dict = schemapi.SchemaBase.from_dict.__func__  # type: ignore[attr-defined]

    def counted(cls: type, *args: Any, **kwargs: Any) -> Any:
        searched.append(cls.__name__)
        return from_dict(cls, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(schemapi.SchemaBase, "from_dict", classmethod(counted))
        first = make_export(bundled, request_, clock=fixed_clock)
        second = make_export(bundled, request_, clock=fixed_clock)
    assert searched == []
    assert chart_spec(first.chart) == chart_spec(second.chart)


def test_km_export_data_are_the_survfit_rows_and_ci_is_stated(bundled: Dataset) -> None:
    export = make_export(bundled, FIGURE_REQUESTS[2], clock=fixed_clock)
    assert export.provenance.ci_method == "log-log"
    assert "95 % CI: log-log transformation" in export.provenance.lines()
    assert {"group", "time", "n_risk", "n_event", "surv", "lower", "upper"} <= set(
        export.data.columns
    )
    assert set(export.data["group"].unique().to_list()) == {"No", "Yes"}


def test_timeline_needs_a_known_case(bundled: Dataset) -> None:
    with pytest.raises(ExportUnavailable, match=r"A case is needed \(--case\); cases: RC1"):
        make_export(bundled, ExportRequest("figure", "timeline"))
    with pytest.raises(ExportUnavailable, match="'RC9' is not a case"):
        make_export(bundled, ExportRequest("figure", "timeline", case="RC9"))
    export = make_export(bundled, ExportRequest("figure", "timeline", case="RC3"))
    assert export.data["case_id"].unique().to_list() == ["RC3"]
    assert ("Case", "RC3") in export.provenance.details


def test_clip_ids_are_renumbered_so_renders_are_byte_identical() -> None:
    svg = (
        '<clipPath id="clip17"/><g clip-path="url(#clip17)"/>'
        '<clipPath id="clip9"/><g clip-path="url(#clip9)"/>'
    )
    assert renumber_clip_ids(svg) == (
        '<clipPath id="clip1"/><g clip-path="url(#clip1)"/>'
        '<clipPath id="clip2"/><g clip-path="url(#clip2)"/>'
    )


def test_the_same_figure_renders_to_the_same_bytes(bundled: Dataset) -> None:
    export = make_export(bundled, ExportRequest("figure", "swimmer"), clock=fixed_clock)
    first, second = export.svg(), export.svg()
    assert 'clip-path="url(#clip1)"' in first
    assert first == second


def test_print_png_of_a_wide_chart_is_at_most_180_mm_wide(provenance: Provenance) -> None:
    frame = pl.DataFrame({"x": [0.0, 1.0], "y": [1.0, 2.0]})
    wide = alt.Chart(frame).mark_line().encode(x="x", y="y").properties(width=1400)
    width, _, dpi = _png_size_and_dpi(chart_to_png(wide, provenance, "print"))
    assert round(dpi) == 300
    assert width == pytest.approx(180 / 25.4 * 300, abs=2)  # 2126 px: 180 mm at 300 dpi
    screen_width, _, _ = _png_size_and_dpi(chart_to_png(wide, provenance, "screen"))
    assert screen_width > 2 * 1400  # screen exports keep the nominal size


@pytest.mark.parametrize("request_", FIGURE_REQUESTS, ids=lambda r: r.name)
def test_a_page_draws_what_the_file_holds(bundled: Dataset, request_: ExportRequest) -> None:
    # A page draws `build`'s chart; its files and its Reproduce command go through make_export.
    drawn = build(request_, bundled)
    export = make_export(bundled, request_, clock=fixed_clock)
    assert drawn.chart.to_dict() == export.chart.to_dict()
    assert drawn.data.equals(export.data)
    assert drawn.notes == export.notes


@pytest.mark.parametrize(
    ("request_", "kind"),
    [
        (ExportRequest("figure", "response", by="emd"), "ResponseSummary"),
        (ExportRequest("figure", "km", endpoint="os", by="emd"), "SurvivalSummary"),
        (ExportRequest("table", "survival-medians", by="emd"), "SurvivalSummary"),
        (ExportRequest("table", "table1", by="emd", options=(("p-values", "true"),)), "Table1"),
        (ExportRequest("table", "conversion"), "DataFrame"),
    ],
    ids=lambda v: v.name if isinstance(v, ExportRequest) else v,
)
def test_a_result_carries_the_analysis_its_page_formats(
    bundled: Dataset, request_: ExportRequest, kind: str
) -> None:
    drawn = build(request_, bundled)
    assert type(drawn.summary).__name__ == kind
    # A table request builds no chart, even where its builder draws one for the figure.
    assert (drawn.chart is None) == (request_.command == "table")
    if kind == "Table1":
        assert drawn.summary.p_values is True
        assert drawn.data.equals(drawn.summary.frame)


# --- files every tool reads (see the module docstring for the R check) -----------------


def _every_file_request() -> list[ExportRequest]:
    requests = []
    for text in ("", "emd=true", "age_years>200"):
        for command, entries in (("table", TABLES), ("figure", FIGURES)):
            for name, entry in entries.items():
                if name in ENDPOINT_TABLES | ENDPOINT_FIGURES:
                    continue
                case = "RC1" if name == "timeline" else None
                request = ExportRequest(command, name, CohortFilter.parse(text), case=case)
                requests.append(request)
                if "by" in entry.options and entry.study == "debulking":
                    requests.append(replace(request, by="emd"))
    return requests


@pytest.mark.parametrize("request_", _every_file_request(), ids=lambda r: r.file_name())
def test_every_exported_csv_reads_in_pandas_as_shown(
    bundled: Dataset, request_: ExportRequest
) -> None:
    try:
        export = make_export(bundled, request_, clock=fixed_clock)
    except ExportUnavailable:
        assert request_.cohort_filter.to_text() == "age_years>200"  # nobody left to draw
        return
    frame = export.file_data
    read = pd.read_csv(io.BytesIO(export.csv()))
    assert len(read) == frame.height
    assert list(read.columns) == frame.columns
    for name, dtype in frame.schema.items():
        if dtype.is_numeric() and frame.height:
            assert pd.api.types.is_numeric_dtype(read[name]), name
    zipped, _ = read_table_zip(export.zip())
    assert len(pd.read_csv(io.BytesIO(zipped))) == frame.height


def test_not_reached_and_not_estimable_read_apart(bundled: Dataset) -> None:
    request = ExportRequest(
        "table", "survival-medians", CohortFilter.parse("bsab=teclistamab"), by="emd"
    )
    read = pd.read_csv(io.BytesIO(make_export(bundled, request).csv()))
    assert read.columns.tolist() == [
        "group", "n", "events", "median_months", "median_status", "ci_lower_months",
        "ci_lower_status", "ci_upper_months", "ci_upper_status",
    ]  # fmt: skip
    assert read["ci_upper_status"].tolist() == ["not reached", "not reached"]
    assert read["ci_upper_months"].isna().all()
    assert read["median_status"].tolist() == ["estimated", "estimated"]
    bounds = ("median_months", "ci_lower_months", "ci_upper_months")
    nothing = pl.DataFrame(
        {"group": ["a"], "n": [3], "events": [1], **{b: [None] for b in bounds}},
        schema_overrides=dict.fromkeys(bounds, pl.Float64),
    )
    lower = file_frame("table", "survival-medians", nothing)
    assert lower.row(0)[3:] == (None, "not reached", None, "not estimable", None, "not reached")


def test_survival_files_name_which_standard_error(bundled: Dataset) -> None:
    curve = make_export(bundled, ExportRequest("table", "survival-curve", endpoint="os"))
    landmarks = make_export(bundled, ExportRequest("table", "survival-landmarks", endpoint="os"))
    assert "se_log_survival" in curve.file_data.columns
    assert "se_survival" in landmarks.file_data.columns
    assert "std_err" not in curve.file_data.columns + landmarks.file_data.columns
    # R: summary(survfit(Surv(os_days, os_event) ~ 1, data = d), times = 182.625)
    #    n.risk 36, surv 0.8391608, std.err 0.05572356, lower 0.7367533, upper 0.9558028
    six = landmarks.file_data.row(0, named=True)
    assert six["landmark_months"] == 6.0
    assert six["n_risk"] == 36
    assert six["survival"] == pytest.approx(0.8391608, abs=1e-7)
    assert six["se_survival"] == pytest.approx(0.05572356, abs=1e-8)
    assert (six["survival_ci_lower"], six["survival_ci_upper"]) == pytest.approx(
        (0.7367533, 0.9558028), abs=1e-7
    )
    assert six["ci_status"] == "estimated"


def test_a_landmark_before_any_event_says_its_interval_has_no_width(bundled: Dataset) -> None:
    # R: summary(survfit(Surv(os_days, os_event) ~ iss_stage, data = d), times = 182.625)
    #    iss_stage=I: n.risk 8, surv 1, std.err 0, lower 1, upper 1 (log, log-log and plain)
    request = ExportRequest("table", "survival-landmarks", endpoint="os", by="iss_stage")
    rows = make_export(bundled, request).file_data.filter(
        (pl.col("group") == "I") & (pl.col("landmark_months") == 6.0)
    )
    assert rows.select(
        "n_risk", "survival", "se_survival", "survival_ci_lower", "survival_ci_upper", "ci_status"
    ).row(0) == (8, 1.0, 0.0, 1.0, 1.0, "no width: no events yet")


def test_km_subtitle_states_the_median_follow_up(bundled: Dataset) -> None:
    # R: survfit(Surv(os_days, 1 - os_event) ~ 1): median 519 days (379–663) = 17.1 (12.5–21.8)
    export = make_export(bundled, ExportRequest("figure", "km", by="emd"), clock=fixed_clock)
    subtitle = chart_spec(export.chart)["title"]["subtitle"]
    assert subtitle[1] == (
        "Median follow-up 17.1 months (95 % CI 12.5–21.8) (reverse Kaplan–Meier of OS)"
    )
    assert subtitle[2].startswith("Log-rank p = 0.054")
