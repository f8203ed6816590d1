"""A link whose option has an unknown value says so on the page: the parameter, the value as
given (escaped) and what is shown instead; the view itself falls back to the default."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest


def _warnings(app: AppTest) -> list[str]:
    return [w.value for w in app.warning]


@pytest.mark.parametrize(
    ("page", "param", "value", "shown", "widget"),
    [
        ("timeline.py", "case", "NOPE", "RC1", ("selectbox", "case")),
        ("survival.py", "endpoint", "xx", "PFS", ("button_group", "endpoint")),
        ("survival.py", "ci", "wide", "log transformation (R default)", ("selectbox", "ci")),
        ("survival.py", "by", "shoe-size", "Overall (no split)", ("selectbox", "by")),
        ("survival.py", "bands", "maybe", "true", ("toggle", "ci_bands")),
        ("recurrence.py", "sort", "random", "Follow-up", ("button_group", "sort")),
        ("response.py", "denominator", "some", "Patients evaluable at that timepoint",
         ("button_group", "denominator")),
        ("audit.py", "status", "bogus", "all", ("multiselect", "audit_status")),
    ],
)  # fmt: skip
def test_an_unknown_option_value_is_reported(
    open_app: Callable[..., AppTest],
    page: str,
    param: str,
    value: str,
    shown: str,
    widget: tuple[str, str],
) -> None:
    app = open_app(page, **{param: value})
    (warning,) = [w for w in _warnings(app) if w.startswith("Unknown value in the link")]
    assert f"{param} = “{value}”" in warning
    assert f"Showing {shown}" in warning
    kind, key = widget
    assert getattr(app, kind)(key=key).value not in (value, [value])


def test_an_unknown_dataset_is_reported(open_app: Callable[..., AppTest]) -> None:
    app = open_app(data="Evil")
    assert "Unknown value in the link: data = “Evil”. Showing Bundled instead." in _warnings(app)
    assert app.selectbox(key="data").value == "Bundled"


def test_an_unknown_presentation_value_is_reported(open_app: Callable[..., AppTest]) -> None:
    app = open_app(present="maybe")
    assert "Unknown value in the link: present = “maybe”. Showing false instead." in _warnings(app)


def test_known_values_are_not_reported(open_app: Callable[..., AppTest]) -> None:
    app = open_app("survival.py", endpoint="os", ci="log-log", by="emd", data="Bundled")
    assert not [w for w in _warnings(app) if w.startswith("Unknown value")]


def test_the_reported_value_is_escaped(open_app: Callable[..., AppTest]) -> None:
    app = open_app("timeline.py", case="[Sign in](http://evil.test) *x*")
    (warning,) = [w for w in _warnings(app) if w.startswith("Unknown value in the link")]
    assert "“\\[Sign in\\](http\\:\u200b//evil.test) \\*x\\*”" in warning
