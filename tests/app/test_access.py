"""Sign-in at the page frame under AppTest: open without `[auth]` (and it says so); with it, a
visitor who is not signed in gets the sign-in page and no data; misconfigured rules stop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-app-tests-only-0123456789",
    "client_id": "bsab-explorer",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def _secured(store_path: Path, monkeypatch: pytest.MonkeyPatch, access: dict) -> AppTest:  # type: ignore[type-arg]
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(store_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.secrets["auth"] = AUTH
    app.secrets["bsab_explorer"] = {"access": access}
    return app.run()


def test_the_open_app_says_so(open_app: Callable[..., AppTest]) -> None:
    app = open_app()
    assert "Open access: sign-in is not configured." in [c.value for c in app.sidebar.caption]
    assert app.title[0].value == "Debulking cohort"


def test_signed_out_visitors_get_the_sign_in_page_only(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _secured(store_path, monkeypatch, {"viewers": ["a@example.org"]})
    assert not app.exception
    assert [t.value for t in app.title] == ["bsab-explorer"]
    assert [i.value for i in app.info] == ["Sign in to see the studies' data."]
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.dataframe
    assert not app.metric
    assert not app.sidebar.selectbox


def test_misconfigured_rules_stop_every_page(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _secured(store_path, monkeypatch, {"viewer": ["a@example.org"]})
    assert [e.value for e in app.error] == [
        "The access rules of this deployment are misconfigured:"
    ]
    assert app.code[0].value.startswith("Unknown setting(s) in [bsab_explorer.access]: viewer.")
    assert not app.dataframe
