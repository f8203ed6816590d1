"""The HTML report: self-contained, complete, escaped, and deterministic but for one line."""

from __future__ import annotations

import ast
import difflib
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import bsab_explorer
from bsab_explorer.analyses.survival_tables import NO_EVENTS_NOTE, landmark_notes, method_note
from bsab_explorer.audit import audit_dataset
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import ExportRequest, survival_summary
from bsab_explorer.filters import CohortFilter
from bsab_explorer.report import (
    build_report,
    package_versions,
    report_command,
    without_timestamp,
)
from bsab_explorer.report.builder import NO_CASES
from bsab_explorer.report.methods import SOFTWARE
from bsab_explorer.report.template import CSS, MAX_INDENT, table_html
from bsab_explorer.schema import RECONSTRUCTED_NOTICE, STUDY_LABELS

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SECTIONS = (
    "table1",
    "response",
    "conversion",
    "pfs",
    "os",
    "follow-up",
    "cox",
    "forest",
    "case-table",
    "recurrence",
    "timelines",
    "audit",
)
FIRST = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SECOND = datetime(2026, 6, 30, 17, 45, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


@pytest.fixture(scope="module")
def report(bundled: Dataset) -> str:
    return build_report(bundled, CohortFilter(), now=FIRST)


def test_report_is_self_contained(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", report)
    assert links  # the contents list and the figures are there
    assert all(link.startswith(("#", "data:image/svg+xml;base64,")) for link in links)
    assert not re.search(r"https?://[^\s\"'<>]*\.(?:css|js|woff2?|ttf|png|svg)", report)
    assert "<script" not in report.lower()
    assert "<link" not in report.lower()
    assert "@import" not in report
    assert "@font-face" not in report


def test_report_has_every_section_with_content(report: str) -> None:
    for anchor in (*SECTIONS, "methods", "provenance"):
        assert f'<section id="{anchor}">' in report
        assert f'<a href="#{anchor}">' in report
    # response, conversion, 4 KM, forest and cumulative incidence, 2 + 5 cases
    assert report.count("<figure>") == 2 + 4 + 2 + 2 + 5
    assert "Not available for these data" not in report
    assert f'<div class="banner">{RECONSTRUCTED_NOTICE}</div>' in report


def test_report_defines_its_endpoints_and_ci_method(report: str) -> None:
    for term in ("ORR", "≥VGPR", "CR", "PFS", "OS", "HRCA", "EMD", "CRS and ICANS"):
        assert f"<dt>{term}</dt>" in report
    assert "Clopper–Pearson" in report
    assert "conf.type = &quot;log&quot;" in report
    assert "del(17p), t(4;14) or t(14;16)" in report


def test_report_provenance_block_lists_fingerprint_filter_and_versions(
    bundled: Dataset, report: str
) -> None:
    assert f"<td>{bundled.fingerprint}</td>" in report
    assert "<td>Filter</td><td>none (everyone)</td>" in report
    versions = dict(package_versions())
    for name in ("streamlit", "polars", "altair", "duckdb", "vl-convert-python"):
        assert f"<td>{name}</td><td>{versions[name]}</td>" in report
    assert '<p class="timestamp">Created 2026-01-01 09:00:00 UTC</p>' in report


def _imported_by_the_package() -> set[str]:
    """Top-level names of every module the package's own code imports."""
    names = set()
    for path in Path(bsab_explorer.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_provenance_names_only_packages_that_do_the_work(report: str) -> None:
    imported = _imported_by_the_package()
    named = [name for name, _ in SOFTWARE]
    assert named == [name for name, _ in package_versions()[1:]]
    for name in named:
        assert name.removesuffix("-python").replace("-", "_") in imported, name
    # Installed for the benchmark's comparison only: nothing in a report comes from them.
    for unused in ("lifelines", "pandas"):
        assert unused not in report
    assert "lifelines" not in imported
    assert "computed by bsab-explorer&#x27;s own code" in report
    assert "no survival library is used" in report


def test_two_runs_differ_only_in_the_timestamp_line(bundled: Dataset, report: str) -> None:
    again = build_report(bundled, CohortFilter(), now=SECOND)
    assert again != report
    assert without_timestamp(again) == without_timestamp(report)
    changed = [
        line
        for line in difflib.unified_diff(report.splitlines(), again.splitlines(), lineterm="", n=0)
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    assert len(changed) == 2  # one line out, one line in
    assert changed[0].endswith("Created 2026-01-01 09:00:00 UTC</p>")
    assert changed[1].endswith("Created 2026-06-30 17:45:12 UTC</p>")


def test_report_follows_the_filter(bundled: Dataset) -> None:
    html = build_report(bundled, CohortFilter.parse("emd=true"), now=FIRST)
    with_emd = bundled.table("patients").filter(pl.col("emd")).height
    assert f"Cohort study: N = {with_emd} of 44 patients" in html
    assert "emd=true (Extramedullary disease (EMD) is true)" in html
    assert "Regenerate with: bsab-explorer report --out report.html --filter emd=true" in html
    assert "Reproduce: bsab-explorer figure km --endpoint os --by emd --filter emd=true" in html


def test_an_empty_subgroup_still_gives_a_whole_report(bundled: Dataset) -> None:
    html = build_report(bundled, CohortFilter.parse("age_years>200"), now=FIRST)
    assert "Cohort study: N = 0 of 44 patients" in html
    for anchor in (*SECTIONS, "methods", "provenance"):
        assert f'<section id="{anchor}">' in html
    assert "No rows for this selection." in html
    # No empty CRS charts: the timelines section says why it has none.
    timelines = html.split('<section id="timelines">')[1].split("</section>")[0]
    assert NO_CASES in timelines
    assert "<img" not in timelines


def _hostile(dataset: Dataset) -> Dataset:
    tables = dict(dataset.tables)
    first_patient = tables["patients"]["patient_id"][0]
    first_case = tables["cases"]["case_id"][0]
    rename_patient = pl.col("patient_id").replace(first_patient, HOSTILE)
    rename_case = pl.col("case_id").replace(first_case, HOSTILE)
    tables["patients"] = tables["patients"].with_columns(
        rename_patient, pl.lit(HOSTILE).alias("bsab")
    )
    tables["responses"] = tables["responses"].with_columns(rename_patient)
    tables["cases"] = tables["cases"].with_columns(rename_case)
    tables["events"] = tables["events"].with_columns(rename_case)
    return Dataset(HOSTILE, tables, source=HOSTILE)


def test_uploaded_text_is_escaped_everywhere(bundled: Dataset) -> None:
    html = build_report(_hostile(bundled), CohortFilter(), now=FIRST)
    assert HOSTILE not in html
    assert "onerror=alert(1)>" not in html
    assert f"<td>{ESCAPED}</td>" in html  # the case id in the case-series tables
    assert f"Data: {ESCAPED}" in html
    assert ESCAPED in html.split('<section id="table1">')[1].split("</section>")[0]  # bsab level
    assert RECONSTRUCTED_NOTICE not in html.split("<nav>")[0]  # uploaded data: no banner


def test_report_command_quotes_and_omits_defaults() -> None:
    assert report_command(CohortFilter.parse("age_years>=65")) == (
        "bsab-explorer report --out report.html --filter 'age_years>=65'"
    )
    assert report_command(
        CohortFilter(), ci="plain", comparisons=("emd", "hrca"), data="/my data"
    ) == ("bsab-explorer report --out report.html --ci plain --by emd --by hrca --data '/my data'")


def test_every_figure_and_table_says_how_to_reproduce_it(report: str) -> None:
    commands = re.findall(r'<p class="command">Reproduce: ([^<]*)</p>', report)
    assert "bsab-explorer table table1 --out table1.csv" in commands
    assert "bsab-explorer figure timeline --case RC5 --out timeline-RC5.png" in commands
    assert "bsab-explorer table survival-medians --endpoint pfs --by emd --ci log " in (
        " ".join(commands)
    )
    # + tables (adverse events and the CRS course; follow-up, the Cox model and its
    # proportional-hazards test)
    assert len(commands) == report.count("<figure>") + 2 + 1 + 1 + 4 + 1 + 2 + 3


def test_report_summarises_the_audit(bundled: Dataset, report: str) -> None:
    rows = audit_dataset(bundled)
    audit = report.split('<section id="audit">')[1].split("</section>")[0]
    reproduced = sum(r.status == "reproduced" for r in rows)
    assert f"{len(rows)} published figures checked against these data: {reproduced} reproduced" in (
        audit
    )
    flagged = [r for r in rows if r.status != "reproduced"]
    assert audit.count("<tr>") == len(flagged) + 1  # header row + one row per flagged figure
    assert "paper inconsistent" in audit
    for study in {r.study for r in rows}:
        n = sum(r.study == study for r in rows)
        assert f"{STUDY_LABELS[study]}: {n} figures, " in audit


def _label_cells(html: str) -> list[tuple[int, str]]:
    section = html.split('<section id="table1">')[1].split("</section>")[0]
    found = re.findall(r'<td class="indent-(\d)( muted)?">([^<]*)</td>', section)
    return [(int(level), text) for level, _, text in found]


def test_table1_not_recorded_rows_sit_under_their_variable(report: str) -> None:
    cells = _label_cells(report)
    missing = [i for i, (_, text) in enumerate(cells) if text == "Not recorded"]
    assert len(missing) >= 10
    for i in missing:
        level = cells[i][0]
        # The variable it belongs to is the nearest row above one level up; every level used
        # has its own step in the style sheet.
        above = next(lvl for lvl, text in reversed(cells[:i]) if lvl < level)
        assert above == level - 1
        assert f"td.indent-{level} {{" in CSS
    assert '<td class="indent-3 muted">Not recorded</td>' in report


def test_indent_levels_past_the_last_step_keep_it() -> None:
    frame = pl.DataFrame({"label": ["a", "b"], "indent": [MAX_INDENT, MAX_INDENT + 2]})
    html = table_html(frame, indent_column="indent", label_column="label")
    assert html.count(f'class="indent-{MAX_INDENT}"') == 2


def test_a_landmark_before_any_event_explains_its_interval(bundled: Dataset) -> None:
    # R: summary(survfit(Surv(os_days, os_event) ~ iss_stage, data = d), times = 182.625)
    #    iss_stage=I: surv 1, std.err 0, lower 1, upper 1 (with log, log-log and plain CIs)
    request = ExportRequest("table", "survival-landmarks", endpoint="os", by="iss_stage")
    summary = survival_summary(bundled, request)
    assert landmark_notes(summary) == (NO_EVENTS_NOTE,)
    assert method_note(summary).endswith(NO_EVENTS_NOTE)
    overall = survival_summary(bundled, ExportRequest("table", "survival-landmarks"))
    assert landmark_notes(overall) == ()
    html = build_report(bundled, CohortFilter(), comparisons=("iss_stage",), now=FIRST)
    assert "100 % (100–100)" in html
    assert NO_EVENTS_NOTE.replace("'", "&#x27;") in html


def test_report_states_follow_up_the_cox_model_and_the_forest(report: str) -> None:
    # R: survfit(Surv(os_days, 1 - os_event) ~ 1): median 519 days (379–663), 25 still followed
    follow_up = report.split('<section id="follow-up">')[1].split("</section>")[0]
    assert "Median follow-up: 17.1 months (95 % CI 12.5–21.8)" in follow_up
    assert "44 patients, 25 alive at their last contact" in follow_up
    cox = report.split('<section id="cox">')[1].split("</section>")[0]
    assert "Reproduce: bsab-explorer table cox --endpoint pfs --by emd --covariates " in cox
    assert "may be overfitted" in cox  # 27 events for 4 coefficients
    forest = report.split('<section id="forest">')[1].split("</section>")[0]
    assert forest.count("<figure>") == 2
    assert "figure forest --endpoint pfs --by emd" in forest
    assert "Aalen–Johansen" in report
    assert "cox.zph" in report
