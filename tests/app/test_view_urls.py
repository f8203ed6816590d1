"""A copied link reopens exactly the same view: every option of every page, under AppTest.

Each case opens a page with one option in its URL (named as the command line's flag), checks
the widget shows it, that the page draws what the export request of that option builds (and
not what the default builds), and that the URL the page leaves reopens the same view.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.response_tables import transition_display
from bsab_explorer.analyses.table1_view import table1_rows
from bsab_explorer.audit import audit_dataset
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import ExportRequest, build
from bsab_explorer.ui.cache import shown_transitions
from bsab_explorer.ui.charts import group_specs, vega_lite_spec


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


@dataclass(frozen=True)
class Option:
    """One view option: the page, its URL, the widget that shows it, and what it draws."""

    page: str
    query: dict[str, str]
    #: (widget kind, session key, value the widget shows)
    widget: tuple[str, str, Any]
    #: The figure the page draws with the option, and the one it draws without it.
    drawn: ExportRequest | None = None
    default: ExportRequest | None = None
    #: Its position among the page's charts.
    chart: int = 0
    #: Or the table it shows first, and the one it shows without the option.
    table: ExportRequest | None = None
    plain: ExportRequest | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page.removesuffix('.py')}-" + "-".join(
            f"{k}={v}" for k, v in self.query.items()
        )


KM = ExportRequest("figure", "km", endpoint="pfs", ci="log")
RESPONSE = ExportRequest("figure", "response")
SWIMMER = ExportRequest("figure", "swimmer", options=(("sort", "follow_up"),))
CONVERSION = ExportRequest(
    "table", "conversion", options=(("from", "post_debulking"), ("to", "best"))
)
TIMELINE = ExportRequest("figure", "timeline", case="RC1", options=(("unit", "days"),))

OPTIONS = [
    Option(
        "survival.py",
        {"endpoint": "os"},
        ("button_group", "endpoint", "os"),
        ExportRequest("figure", "km", endpoint="os", ci="log"),
        KM,
    ),
    Option(
        "survival.py",
        {"by": "emd"},
        ("selectbox", "by", "emd"),
        ExportRequest("figure", "km", by="emd", endpoint="pfs", ci="log"),
        KM,
    ),
    Option(
        "survival.py",
        {"ci": "log-log"},
        ("selectbox", "ci", "log-log"),
        ExportRequest("figure", "km", endpoint="pfs", ci="log-log"),
        KM,
    ),
    Option(
        "survival.py",
        {"bands": "false"},
        ("toggle", "ci_bands", False),
        ExportRequest("figure", "km", endpoint="pfs", ci="log", options=(("bands", "false"),)),
        KM,
    ),
    Option(
        "survival.py",
        {"risk-table": "full"},
        ("toggle", "risk_extra", True),
        ExportRequest("figure", "km", endpoint="pfs", ci="log", options=(("risk-table", "full"),)),
        KM,
    ),
    Option(
        "survival.py",
        {"median": "true"},
        ("toggle", "median_lines", True),
        ExportRequest("figure", "km", endpoint="pfs", ci="log", options=(("median", "true"),)),
        KM,
    ),
    Option(
        "response.py",
        {"denominator": "all_treated"},
        ("button_group", "denominator", "all_treated"),
        ExportRequest("figure", "response", options=(("denominator", "all_treated"),)),
        RESPONSE,
    ),
    Option(
        "response.py",
        {"by": "emd"},
        ("selectbox", "by", "emd"),
        ExportRequest("figure", "response", by="emd"),
        RESPONSE,
    ),
    Option(
        "conversion.py",
        {"from": "C1"},
        ("selectbox", "from", "C1"),
        table=ExportRequest("table", "conversion", options=(("from", "C1"), ("to", "best"))),
        plain=CONVERSION,
    ),
    Option(
        "conversion.py",
        {"to": "C3"},
        ("selectbox", "to", "C3"),
        table=ExportRequest(
            "table", "conversion", options=(("from", "post_debulking"), ("to", "C3"))
        ),
        plain=CONVERSION,
    ),
    Option(
        "recurrence.py",
        {"sort": "episodes"},
        ("button_group", "sort", "episodes"),
        ExportRequest("figure", "swimmer", options=(("sort", "episodes"),)),
        SWIMMER,
    ),
    Option(
        "recurrence.py",
        {"by": "bsab"},
        ("button_group", "latency_by", "bsab"),
        ExportRequest("figure", "crs-latency", by="bsab"),
        ExportRequest("figure", "crs-latency", by="case"),
        chart=1,
    ),
    Option(
        "timeline.py",
        {"case": "RC2"},
        ("selectbox", "case", "RC2"),
        ExportRequest("figure", "timeline", case="RC2", options=(("unit", "days"),)),
        TIMELINE,
    ),
    Option(
        "timeline.py",
        {"unit": "months"},
        ("button_group", "unit", "months"),
        ExportRequest("figure", "timeline", case="RC1", options=(("unit", "months"),)),
        TIMELINE,
    ),
    Option(
        "table-1.py",
        {"by": "emd"},
        ("selectbox", "by", "emd"),
        table=ExportRequest("table", "table1", by="emd", options=(("p-values", "false"),)),
        plain=ExportRequest("table", "table1", options=(("p-values", "false"),)),
    ),
    Option(
        "table-1.py",
        {"p-values": "true"},
        ("toggle", "p_values", True),
        table=ExportRequest("table", "table1", by="emd", options=(("p-values", "true"),)),
        plain=ExportRequest("table", "table1", by="emd", options=(("p-values", "false"),)),
        extra={"by": "emd"},
    ),
    Option("audit.py", {"study": "debulking"}, ("selectbox", "audit_study", "debulking")),
    Option("audit.py", {"status": "reproduced"}, ("multiselect", "audit_status", ["reproduced"])),
]


def _widget(app: AppTest, kind: str, key: str) -> Any:
    return getattr(app, kind)(key=key).value


def _numbered(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with Altair's generated view and parameter names numbered in order of appearance
    (Streamlit renames them so; they say nothing about the chart)."""
    text = json.dumps(spec)
    names: dict[str, str] = {}
    for found in re.findall(r'"((?:view|param)_[0-9a-f_]+)"', text):
        names.setdefault(found, f"{found.split('_')[0]}_{len(names)}")
    return json.loads(re.sub(r'"((?:view|param)_[0-9a-f_]+)"', lambda m: f'"{names[m[1]]}"', text))


def _spec(app: AppTest, index: int) -> tuple[dict[str, Any], set[str]]:
    proto = app.get("vega_lite_chart")[index].proto
    return _numbered(json.loads(proto.spec)), {d.name for d in proto.datasets}


def _expected(dataset: Dataset, request: ExportRequest) -> list[tuple[dict[str, Any], set[str]]]:
    """The specs (and Arrow datasets) the page draws for `request`: one, or a split figure's
    title and legend followed by one view per group (`ui.charts.group_specs`)."""
    # As the pages' cache returns it (unpickled, each frame in one chunk): datasets are named
    # by their Arrow bytes.
    chart = pickle.loads(pickle.dumps(build(request, dataset).chart))
    whole = vega_lite_spec(chart)
    drawn = []
    for spec in group_specs(whole, presentation=False) or [whole]:
        datasets = spec.pop("datasets")
        named = {name for name, data in datasets.items() if isinstance(data, bytes)}
        drawn.append((_numbered(spec), named))
    return drawn


def _draws(app: AppTest, dataset: Dataset, request: ExportRequest, index: int) -> bool:
    """Whether the page's charts from `index` on are those `request` builds, data included."""
    for offset, (spec, data) in enumerate(_expected(dataset, request)):
        if index + offset >= len(app.get("vega_lite_chart")):
            return False
        shown, shown_data = _spec(app, index + offset)
        # Streamlit adds how the chart fills its container; everything the chart says is the
        # same.
        if {k: shown.get(k) for k in spec} != spec or not data <= shown_data:
            return False
    return True


def _shown(dataset: Dataset, request: ExportRequest) -> list[list[Any]]:
    """The rows of the table `request` builds, as its page lists them."""
    built = build(request, dataset)
    if request.name == "table1":
        return [list(row) for row in table1_rows(built.summary).rows()]
    return [list(row) for row in transition_display(shown_transitions(built.data)).rows()]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.id)
def test_a_copied_link_reopens_the_view(
    open_app: Callable[..., AppTest], bundled: Dataset, option: Option
) -> None:
    app = open_app(option.page, **option.extra, **option.query)
    kind, key, value = option.widget
    assert _widget(app, kind, key) == value
    # The option stays in the URL under its flag's name, as given.
    for param, given in option.query.items():
        assert app.query_params[param] == given
    if option.drawn is not None:
        assert option.default is not None
        assert _expected(bundled, option.drawn) != _expected(bundled, option.default)
        assert _draws(app, bundled, option.drawn, option.chart)
        assert not _draws(app, bundled, option.default, option.chart)
    if option.table is not None:
        assert option.plain is not None
        assert _shown(bundled, option.table) != _shown(bundled, option.plain)
        assert app.dataframe[0].value.values.tolist() == _shown(bundled, option.table)
    if option.page == "audit.py":
        plain = open_app(option.page, **option.extra)
        shown, every = app.dataframe[0].value, plain.dataframe[0].value
        assert 0 < len(shown) < len(every)
        rows = audit_dataset(bundled)
        if "study" in option.query:
            assert set(shown["Study"]) == {option.query["study"]}
            assert len(shown) == sum(r.study == option.query["study"] for r in rows)
        else:
            assert set(shown["Status"]) == {option.query["status"]}
            assert len(shown) == sum(r.status == option.query["status"] for r in rows)
    # The URL the page leaves opens the same view again.
    again = open_app(option.page, **app.query_params)
    assert _widget(again, kind, key) == value
    assert again.query_params == app.query_params
    charts = len(app.get("vega_lite_chart"))
    assert [_spec(again, i) for i in range(charts)] == [_spec(app, i) for i in range(charts)]
    tables = len(app.dataframe)
    assert all(again.dataframe[i].value.equals(app.dataframe[i].value) for i in range(tables))


@pytest.mark.parametrize(
    ("page", "old", "param", "value", "widget"),
    [
        ("survival.py", {"ci_bands": "false"}, "bands", "false", ("toggle", "ci_bands", False)),
        ("survival.py", {"risk_extra": "true"}, "risk-table", "full",
         ("toggle", "risk_extra", True)),
        ("recurrence.py", {"latency_by": "bsab"}, "by", "bsab",
         ("button_group", "latency_by", "bsab")),
    ],
)  # fmt: skip
def test_an_old_link_still_opens_its_view(
    open_app: Callable[..., AppTest],
    page: str,
    old: dict[str, str],
    param: str,
    value: str,
    widget: tuple[str, str, Any],
) -> None:
    app = open_app(page, **old)
    kind, key, shown = widget
    assert _widget(app, kind, key) == shown
    # The link is rewritten to the flag's name.
    assert app.query_params.get(param) == value
    assert not set(old) & set(app.query_params)


@pytest.mark.parametrize(
    ("page", "kind", "key", "value", "param", "written"),
    [
        ("survival.py", "toggle", "ci_bands", False, "bands", "false"),
        ("survival.py", "toggle", "risk_extra", True, "risk-table", "full"),
        ("survival.py", "toggle", "median_lines", True, "median", "true"),
        ("recurrence.py", "button_group", "latency_by", "bsab", "by", "bsab"),
        ("audit.py", "selectbox", "audit_study", "recurrent_crs", "study", "recurrent_crs"),
        ("audit.py", "multiselect", "audit_status", ["differs", "reproduced"], "status",
         ["differs", "reproduced"]),
        ("audit.py", "multiselect", "audit_status", [], "status", "none"),
    ],
)  # fmt: skip
def test_changing_an_option_writes_it_to_the_url(
    open_app: Callable[..., AppTest],
    page: str,
    kind: str,
    key: str,
    value: Any,
    param: str,
    written: Any,
) -> None:
    app = open_app(page)
    assert param not in app.query_params  # defaults stay out of the link
    getattr(app, kind)(key=key).set_value(value).run()
    assert app.query_params[param] == written
    again = open_app(page, **app.query_params)
    assert _widget(again, kind, key) == value


def test_p_values_follow_the_link_on_table_1(open_app: Callable[..., AppTest]) -> None:
    app = open_app("table-1.py", by="emd")
    app.toggle(key="p_values").set_value(True).run()
    assert app.query_params["p-values"] == "true"
    assert "p" in app.dataframe[0].value.columns
    again = open_app("table-1.py", **app.query_params)
    assert again.toggle(key="p_values").value is True
    assert again.dataframe[0].value.equals(app.dataframe[0].value)
