"""Spec tests of the response-by-timepoint chart (Fig. 1A) on the constructed cohort."""

from __future__ import annotations

from typing import Any

from bsab_explorer.analyses.response import NOT_ASSESSED, response_by_timepoint
from bsab_explorer.charts.response import CATEGORY_COLORS, response_chart, response_chart_data
from bsab_explorer.schema import RESPONSE_CODES, RESPONSE_COLORS
from tests.fixtures.cohorts import constructed_patients, constructed_responses


def _spec(**kwargs: Any) -> dict[str, Any]:
    summary = response_by_timepoint(constructed_patients(), constructed_responses(), **kwargs)
    return response_chart(summary).to_dict()


def _rows(spec: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline rows of `data`, whether kept inline or moved to the spec's named datasets."""
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def _labels(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["group"], r["timepoint"]): r for r in rows if r["kind"] == "label"}


def test_layers_encodings_and_clinical_order() -> None:
    spec = _spec()
    bars, n_text, rates = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["sort"] == [
        "After debulking",
        "Cycle 1",
        "Cycle 3",
        "Best response",
    ]
    color = bars["encoding"]["color"]
    assert color["scale"]["domain"] == list(RESPONSE_CODES)
    assert color["scale"]["range"] == [RESPONSE_COLORS[c] for c in RESPONSE_CODES]
    # Worst stacked first (bottom), so the best category is on top, as in the legend.
    assert bars["encoding"]["order"] == {
        "field": "rank",
        "type": "quantitative",
        "sort": "descending",
    }
    assert bars["encoding"]["y"]["axis"]["format"] == "%"
    assert bars["encoding"]["y"]["axis"]["values"] == [0, 0.25, 0.5, 0.75, 1]
    # "Cycle 12 (1 year)" is drawn on two lines so that neighbouring labels never collide.
    assert "indexof(datum.label, ' (')" in bars["encoding"]["x"]["axis"]["labelExpr"]
    assert n_text["mark"]["type"] == "text"
    assert n_text["encoding"]["text"]["field"] == "n_label"
    assert rates["encoding"]["text"]["field"] == "rates"
    assert "Clopper–Pearson" in spec["title"]["subtitle"][0]
    assert spec["config"]["axis"]["labelFontSize"] == 16


def test_data_rows_give_n_and_rates() -> None:
    summary = response_by_timepoint(constructed_patients(), constructed_responses())
    rows = response_chart_data(summary)
    labels = _labels(rows)
    c1 = labels[("All patients", "C1")]
    assert c1["n_label"] == "n = 9"
    # 6/9 responders; Clopper–Pearson 29.9–92.5 % (R: binom.test(6, 9)).
    assert c1["rates"] == "ORR 67 %\n(30–93)\n≥VGPR 44 %\nCR 33 %"
    assert c1["orr_ci"] == "29.9–92.5 %"
    bars = [r for r in rows if r["kind"] == "bar" and r["timepoint"] == "C1"]
    assert {r["category"]: r["n"] for r in bars} == {
        "sCR": 1, "CR": 2, "VGPR": 1, "PR": 2, "SD": 1, "PD": 1, "NE": 1,
    }  # fmt: skip
    assert sum(r["share"] for r in bars) == 1.0


def test_all_treated_adds_not_assessed_and_states_the_denominator() -> None:
    spec = _spec(denominator="all_treated")
    bars = spec["layer"][0]
    assert bars["encoding"]["color"]["scale"]["domain"][-1] == NOT_ASSESSED
    assert bars["encoding"]["color"]["scale"]["range"][-1] == CATEGORY_COLORS[NOT_ASSESSED]
    assert bars["encoding"]["y"]["axis"]["title"] == "Patients (% of all treated)"
    labels = _labels(_rows(spec, spec["data"]))
    assert labels[("All patients", "C3")]["n_label"] == "n = 5/10"
    assert labels[("All patients", "C3")]["rates"].startswith("ORR 40 %\n(12–74)")


def test_split_is_faceted_by_group_in_order() -> None:
    spec = _spec(by="emd")
    assert spec["facet"]["row"]["field"] == "group"
    assert spec["facet"]["row"]["sort"] == ["Yes", "No", "Not recorded"]
    assert spec["facet"]["row"]["title"] == "Extramedullary disease (EMD)"
    assert len(spec["spec"]["layer"]) == 3
    assert spec["spec"]["width"] == 100 * 4
    labels = _labels(_rows(spec, spec["data"]))
    assert labels[("Not recorded", "C1")]["rates"] == "\n\n\n–"
    assert labels[("Yes", "C1")]["rates"].startswith("ORR 100 %")


def test_empty_subgroup_gives_a_message() -> None:
    summary = response_by_timepoint(constructed_patients().clear(), constructed_responses())
    spec = response_chart(summary).to_dict()
    assert spec["mark"]["type"] == "text"
    assert _rows(spec, spec["data"])[0]["message"].startswith("No patients")
