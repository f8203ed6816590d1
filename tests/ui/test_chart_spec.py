"""The app sends each chart as `st.altair_chart` would, without re-checking it on every rerun."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import ExportRequest, make_export
from bsab_explorer.ui.charts import vega_lite_spec
from tests.test_exports import FIGURE_REQUESTS


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


def _clock() -> datetime:
    return datetime(2026, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("request_", FIGURE_REQUESTS, ids=lambda r: r.name)
def test_every_figure_is_sent_as_streamlit_would_send_it(
    bundled: Dataset, request_: ExportRequest
) -> None:
    chart = make_export(bundled, request_, clock=_clock).chart
    checked = chart.to_dict()  # validates against the Vega-Lite schema (what the app skips)
    ours = vega_lite_spec(chart)
    assert ours == _convert_altair_to_vega_lite_spec(chart)
    # Every dataset a part names is sent: data frames as Arrow IPC streams, values (which some
    # charts write into the spec) as they are.
    assert ours["datasets"]
    for data in ours["datasets"].values():
        assert data.startswith(b"\xff\xff\xff\xff") if isinstance(data, bytes) else data
    # The chart itself is left as it was.
    assert chart.to_dict() == checked


def test_a_data_frame_shared_by_parts_is_sent_once_in_arrow(bundled: Dataset) -> None:
    chart = make_export(bundled, ExportRequest("figure", "km", by="emd"), clock=_clock).chart
    ours = vega_lite_spec(chart)
    assert all(isinstance(data, bytes) for data in ours["datasets"].values())

    def parts(view: dict[str, Any]) -> list[dict[str, Any]]:
        inner = view.get("layer", [])
        return [view, *(p for part in inner for p in parts(part))]

    named = [part["data"]["name"] for part in parts(ours) if "data" in part]
    assert len(named) > len(set(named)) == len(ours["datasets"])
