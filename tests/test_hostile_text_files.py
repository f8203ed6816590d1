"""Hostile text in the files the app writes: the HTML report and the SVG figures (and so their
PNGs) show filter and stored text as text, never as elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import ExportRequest, chart_to_svg, make_export
from bsab_explorer.filters import CohortFilter
from bsab_explorer.report import build_report
from tests.hostile_text import CASES, EVENTS

#: A filter whose value is markup: the report and the figures' footers quote it.
HOSTILE_FILTER = "target=<img src=//evil.test/p.png>,bcma"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The pooled data of a store holding a hostile cases.csv and events.csv."""
    from bsab_explorer.data.store import open_store

    store = open_store(Path(tmp_path_factory.mktemp("hostile")) / "store.duckdb")
    try:
        for table, text in (("cases", CASES), ("events", EVENTS)):
            assert store.ingest_bytes(text.encode(), f"{table}.csv", table, "C77").stored
        dataset = store.load_dataset("pooled").dataset
    finally:
        store.close()
    assert dataset is not None
    return dataset


def test_the_report_shows_a_hostile_filter_as_text(pooled: Dataset) -> None:
    page = build_report(pooled, CohortFilter.parse(HOSTILE_FILTER))
    parser = _Tags()
    parser.feed(page)
    assert [attrs for tag, attrs in parser.tags if "evil.test" in str(attrs)] == []
    assert "&lt;img src=//evil.test/p.png&gt;" in page


def test_a_figure_shows_a_hostile_filter_as_text(pooled: Dataset) -> None:
    request = ExportRequest("figure", "timeline", CohortFilter.parse(HOSTILE_FILTER), case="C77:X1")
    export = make_export(pooled, request)
    svg = chart_to_svg(export.chart, export.provenance)
    root = ET.fromstring(svg)  # well-formed: nothing in it opened an element
    names = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert names.isdisjoint({"a", "image", "img", "script", "foreignObject"})
    texts = " ".join(element.text or "" for element in root.iter())
    assert "<img src=//evil.test/p.png>" in texts
