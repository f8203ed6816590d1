"""The figure and report commands, and that a page's Reproduce command really reproduces."""

from __future__ import annotations

import argparse
import re
import shlex
import struct
from pathlib import Path

import pytest

from bsab_explorer import report
from bsab_explorer.analyses.survival import CIMethod, Endpoint
from bsab_explorer.cli import main
from bsab_explorer.cli.figures import DEFAULT_COMPARISONS, FIGURE_NAMES
from bsab_explorer.cli.options import CI_METHODS, ENDPOINTS
from bsab_explorer.cli.tables import register_table
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    FIGURES,
    ExportRequest,
    make_export,
    read_table_csv,
    read_table_zip,
    reproduce_command,
)
from bsab_explorer.filters import CohortFilter


def run(argv: list[str]) -> int:
    return main(argv)


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


def test_reproduce_command_of_a_figure_regenerates_the_same_picture(
    bundled: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = ExportRequest(
        "figure", "response", CohortFilter.parse("bsab=teclistamab"), by="emd",
        options=(("denominator", "all_treated"),),
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(reproduce_command(request, out="again.svg"))
    assert "--denominator" in argv
    assert run(argv[1:]) == 0
    undated = re.compile(r" · created [0-9-]+ [0-9:]+ UTC")
    written = (tmp_path / "again.svg").read_text(encoding="utf-8")
    assert undated.sub("", written) == undated.sub("", make_export(bundled, request).svg())


def test_figure_command_writes_a_print_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "km.png"
    code = run(
        ["figure", "km", "--endpoint", "pfs", "--by", "emd", "--dpi", "300", "--out", str(out)]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    png = out.read_bytes()
    at = png.index(b"pHYs")
    assert round(struct.unpack(">I", png[at + 4 : at + 8])[0] * 0.0254) == 300


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["figure", "timeline", "--case", "RC9"], "'RC9' is not a case"),
        (["figure", "response", "--denominator", "some"], "--denominator must be one of"),
        (["figure", "km", "--risk-table", "long"], "--risk-table must be one of"),
        (["figure", "km", "--out", "km.gif"], "written as .png, .svg or .csv"),
    ],
)
def test_commands_refuse_bad_requests_in_words(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 1
    assert message in capsys.readouterr().err


def test_report_command_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert (
        run(["report", "--out", str(out), "--filter", "hrca=true", "--by", "emd", "--by", "hrca"])
        == 0
    )
    html = out.read_text(encoding="utf-8")
    assert '<section id="provenance">' in html
    assert "Overall survival: by High-risk cytogenetics (HRCA)" in html
    assert "hrca=true (High-risk cytogenetics (HRCA) is true)" in html


def test_command_names_and_choices_follow_the_catalogue() -> None:
    assert set(FIGURE_NAMES) == set(FIGURES)
    assert tuple(e.value for e in Endpoint) == ENDPOINTS
    assert tuple(m.value for m in CIMethod) == CI_METHODS
    assert DEFAULT_COMPARISONS == report.DEFAULT_COMPARISONS


def test_reproduce_command_of_a_table_runs_in_the_table_command(
    bundled: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = ExportRequest(
        "table",
        "survival-medians",
        CohortFilter.parse("age_years>=60;emd=true"),
        by="hrca",
        endpoint="os",
        ci="log-log",
    )
    parser = argparse.ArgumentParser(prog="bsab-explorer")
    register_table(parser.add_subparsers(dest="command"))
    monkeypatch.chdir(tmp_path)
    args = parser.parse_args(shlex.split(reproduce_command(request))[1:])
    assert args.handler(args) == 0
    expected = make_export(bundled, request).file_data
    written = (tmp_path / request.file_name()).read_bytes()
    assert read_table_csv(written, expected.schema).equals(expected)
    assert b"#" not in written  # rows only; the ZIP carries the provenance
    zipped = make_export(bundled, request).zip()
    assert "95 % CI: log-log transformation" in read_table_zip(zipped)[1]
