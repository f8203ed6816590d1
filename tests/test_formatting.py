"""One formatting module: each p-value, percentage and month reads one way on every output."""

from __future__ import annotations

import math

import pytest

from bsab_explorer.analyses.survival_tables import comparison_lines
from bsab_explorer.formatting import (
    format_p,
    format_percent,
    format_proportion,
    state_p,
    to_months,
)
from tests.charts.test_survival_chart import lung, spec


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "< 0.001"), (0.001, "0.001"), (0.0456, "0.046"), (0.452, "0.452"), (0.45, "0.450")],
)
def test_a_p_value_reads_three_decimals_or_below_the_floor(p: float, text: str) -> None:
    assert format_p(p) == text
    assert state_p(p) == ("p < 0.001" if p < 0.001 else f"p = {text}")


def test_a_missing_p_value_reads_as_the_caller_asks() -> None:
    assert format_p(None) == "—"
    assert format_p(math.nan, missing="") == ""


def test_percentages_and_months() -> None:
    assert format_percent(1, 12) == "8.3"
    assert format_percent(3, 10) == "30"
    assert format_proportion(0.6437) == "64"
    assert format_proportion(7, 11) == "64"
    assert to_months(365.25) == 12.0
    assert to_months(None) is None


def test_the_survival_page_and_its_figure_print_the_same_p_value() -> None:
    summary = lung()
    assert summary.logrank is not None
    page = " ".join(comparison_lines(summary))
    figure = spec(summary)["title"]["subtitle"][1]
    expected = state_p(summary.logrank.p_value)
    assert expected in page
    assert expected in figure
