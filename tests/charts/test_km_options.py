"""The median-lines view option, from the command line and the URL to the chart a page draws."""

from __future__ import annotations

import pytest

from bsab_explorer.cli import build_parser
from bsab_explorer.cli.figures import request_from_args
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.exports import ExportRequest
from bsab_explorer.exports.catalogue import ExportUnavailable, build


def _marks(request: ExportRequest) -> list[str]:
    spec = build(request, load_dataset().dataset).chart.to_dict()
    return [layer["mark"]["type"] for layer in spec["layer"][0]["layer"]]


def test_median_lines_are_off_unless_asked_for() -> None:
    plain = ExportRequest("figure", "km", endpoint="os")
    assert "rule" not in _marks(plain)
    with_median = ExportRequest("figure", "km", endpoint="pfs", options=(("median", "true"),))
    assert _marks(with_median) == ["area", "rule", "line", "point"]


def test_median_is_a_command_line_flag_kept_in_the_request_and_its_file_name() -> None:
    args = build_parser().parse_args(["figure", "km", "--endpoint", "pfs", "--median", "true"])
    request = request_from_args("figure", args)
    assert request.option("median") == "true"
    assert request.file_name() == "km-pfs_median-true.png"


def test_a_median_value_that_is_not_yes_or_no_is_refused() -> None:
    with pytest.raises(ExportUnavailable, match="--median is true or false, not 'maybe'"):
        build(ExportRequest("figure", "km", options=(("median", "maybe"),)), load_dataset().dataset)
