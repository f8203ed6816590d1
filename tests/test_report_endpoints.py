"""The report's response and safety sections: the duration of response when the data give it,
the adverse-event table and the CRS course, with the numbers of the analyses."""

from __future__ import annotations

from datetime import UTC, datetime

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter
from bsab_explorer.report import build_report
from tests.fixtures.endpoint_dataset import endpoint_tables

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _section(html: str, anchor: str) -> str:
    return html.split(f'<section id="{anchor}">')[1].split("</section>")[0]


def test_a_1_1_dataset_reports_duration_safety_and_crs_course() -> None:
    html = build_report(Dataset("endpoints", endpoint_tables()), CohortFilter.parse(""), now=NOW)
    duration = _section(html, "duration-of-response")
    assert duration.count("<figure>") == 1
    assert "Reproduce: bsab-explorer figure duration-of-response --ci log" in duration
    assert "1 responder(s) progressed on the day of their first response" in duration
    safety = _section(html, "safety")
    assert "<td>4 (21 %)</td>" in safety
    assert "Source: adverse_events table." in safety
    course = _section(html, "crs-course")
    assert "<td>Step-up dose 2</td>" in course
    assert "More than one CRS episode: 2/4 (50 %; 95 % CI 7–93 %)" in course
    assert html.index('id="conversion"') < html.index('id="duration-of-response"')
    assert html.index('id="os"') < html.index('id="safety"') < html.index('id="crs-course"')


def test_the_bundled_report_has_safety_and_the_case_series_crs_course() -> None:
    bundled = load_dataset().dataset
    assert bundled is not None
    html = build_report(bundled, CohortFilter.parse(""), now=NOW)
    # No assessment days: no duration-of-response section, and no "not available" either.
    assert 'id="duration-of-response"' not in html
    safety = _section(html, "safety")
    assert "<td>28 (64 %)</td>" in safety
    assert "<td>15 (34 %)</td>" in safety
    course = _section(html, "crs-course")
    assert "Source: the case series&#x27; events." in course
    assert "More than one CRS episode: 5/5 (100 %" in course
