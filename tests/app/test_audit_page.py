"""The Audit page shows every published value with its status, nothing unexplained."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from bsab_explorer.audit import audit_dataset
from bsab_explorer.data.loading import load_dataset


def test_audit_page_counts_and_rows(open_app: Callable[..., AppTest]) -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    rows = audit_dataset(dataset)
    app = open_app("audit.py")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Differs"] == "0"
    assert int(metrics["Reproduced"]) == sum(r.status == "reproduced" for r in rows)
    assert int(metrics["Paper inconsistent"]) == sum(r.status == "paper inconsistent" for r in rows)
    shown = app.dataframe[0].value
    assert len(shown) == len(rows)
    assert shown["Status"].iloc[0] == "paper inconsistent"
    app.multiselect(key="audit_status").set_value(["reproduced"]).run()
    assert set(app.dataframe[0].value["Status"]) == {"reproduced"}
