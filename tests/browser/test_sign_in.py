"""Sign-in end to end: the app with `[auth]` configured against a real OpenID Connect provider
(oidc-provider-mock, started here on 127.0.0.1) in Chromium. Signed out: the sign-in page and
no data; a stranger: a refusal and no data; a viewer: the pages and downloads (logged), no
Upload page, and no upload form by its direct link; an uploader: the upload works and is in the
access log; signing out ends the session."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.browser import free_port, server, wait_healthy
from bsab_explorer.data.store import open_store
from tests.browser.waits import wait_idle

ROOT = Path(__file__).resolve().parents[2]
VIEWER = "viewer@example.org"
UPLOADER = "uploader@example.org"
STRANGER = "stranger@example.org"
GOOD = (
    "patient_id,age_years,sex,emd,pfs_days,pfs_event,os_days,os_event\n"
    "P001,61,F,true,100,true,150,false\n"
    "P002,70,M,false,200,false,200,false\n"
)


def _provider_command(port: int) -> list[str]:
    """The mock provider's own command line, run by this interpreter (no PATH lookup)."""
    code = "import sys; from oidc_provider_mock.__main__ import run; sys.exit(run())"
    return [sys.executable, "-c", code, "--port", str(port), "--host", "127.0.0.1"]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenID Connect provider on a free port of 127.0.0.1; its issuer URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("wb")
    process = subprocess.Popen(
        _provider_command(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the OpenID Connect provider exited"
            try:
                with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the OpenID Connect provider did not start"
                time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def signed_app(
    provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """The app with sign-in configured for the provider: (its URL, its store file)."""
    folder = tmp_path_factory.mktemp("signed")
    secrets = folder / "secrets.toml"
    secrets.write_text(
        f"""[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "a-long-random-string-for-the-browser-tests-only-0123456789"
client_id = "bsab-explorer"
client_secret = "not-a-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[bsab_explorer.access]
viewers = ["{VIEWER}"]
uploaders = ["{UPLOADER}"]
""",
        encoding="utf-8",
    )
    store = folder / "signed.duckdb"
    open_store(store).close()
    with pytest.MonkeyPatch.context() as patch:
        # Read by Streamlit's command line as the server starts, for this server only.
        patch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
        with server(ROOT / "app.py", store, log_dir=folder) as (url, process, _):
            patch.undo()
            wait_healthy(url, process, seconds=60)
            yield url, store


def _sign_in(page, url: str, who: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the provider's own form, as `who`."""
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=180_000)
    wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(who)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in: {who}").wait_for(timeout=180_000)


def test_signed_out_sees_the_sign_in_page_and_no_data(page, signed_app) -> None:  # type: ignore[no-untyped-def]
    url, _ = signed_app
    page.goto(f"{url}/survival")
    page.get_by_text("Sign in to see the studies' data.").wait_for(timeout=180_000)
    # The button is the page's last element: drawn just after the text.
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_have_count(1)
    expect(page.get_by_text(re.compile(r"\d+ of \d+ patients"))).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)


def test_a_stranger_is_refused(page, signed_app) -> None:  # type: ignore[no-untyped-def]
    url, _ = signed_app
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=180_000)
    wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(STRANGER)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("This account is not allowed to see the data.").wait_for(timeout=180_000)
    wait_idle(page)
    expect(page.get_by_text(f"Signed in as {STRANGER}")).to_have_count(1)
    expect(page.get_by_text(re.compile(r"\d+ of \d+ patients"))).to_have_count(0)


def test_a_viewer_sees_the_pages_but_cannot_upload(page, signed_app) -> None:  # type: ignore[no-untyped-def]
    url, store = signed_app
    _sign_in(page, url, VIEWER)
    page.get_by_text(re.compile(r"^\d+ of \d+ patients")).first.wait_for(timeout=180_000)
    wait_idle(page)
    expect(page.get_by_text(f"Signed in: {VIEWER} (viewer)")).to_have_count(1)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_role("link", name="Survival")).to_have_count(1)
    expect(nav.get_by_role("link", name="Upload")).to_have_count(0)
    # The Upload page's own link leads to no upload form: the page is not registered for them.
    page.goto(f"{url}/upload")
    page.get_by_text(f"Signed in: {VIEWER} (viewer)").wait_for()
    page.get_by_text(re.compile(r"^\d+ of \d+ patients")).first.wait_for()
    # Counted once the run is over: a form still to be drawn would be missed before.
    wait_idle(page)
    expect(page.locator('input[type="file"]')).to_have_count(0)
    expect(page.get_by_text("Stored batches")).to_have_count(0)
    # A viewer downloads, and the download is logged with the dataset's fingerprint.
    page.goto(f"{url}/survival")
    page.get_by_text("Medians and landmarks").wait_for(timeout=180_000)
    wait_idle(page)
    with page.expect_download() as csv_info:
        page.get_by_role("button", name="Medians", exact=True).click()
    name = csv_info.value.suggested_filename
    log = open_store(store).access_log()
    assert (VIEWER, "sign-in", "viewer") in [(e.user, e.action, e.target) for e in log]
    (download,) = [e for e in log if e.user == VIEWER and e.action == "download"]
    assert download.target == name
    assert re.fullmatch(r"[0-9a-f]{64}", download.fingerprint)
    assert VIEWER not in [e.user for e in log if e.action in ("upload", "retract")]


def test_an_uploader_uploads_and_is_logged_then_signs_out(page, signed_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, store = signed_app
    _sign_in(page, url, UPLOADER)
    page.goto(f"{url}/upload")
    page.get_by_text("Stored batches").wait_for(timeout=180_000)
    wait_idle(page)
    path = tmp_path / "patients.csv"
    path.write_text(GOOD, encoding="utf-8")
    page.locator('input[type="file"]').set_input_files(str(path))
    box = page.get_by_role("textbox", name="Center pseudonym")
    box.fill("C31")
    box.press("Enter")
    page.get_by_text("No problems found.").wait_for()
    # The button is clicked once drawn for good: a click during the run can be lost.
    wait_idle(page)
    page.get_by_role("button", name="Store 2 rows as a new batch").click()
    stored = page.get_by_text(re.compile(r"^Stored as batch (\d+): 2 rows of patients"))
    stored.wait_for()
    # Read once the run is over: during it the message may stand twice (the old and the new).
    wait_idle(page)
    batch_id = re.search(r"batch (\d+)", stored.inner_text()).group(1)  # type: ignore[union-attr]
    entries = [(e.user, e.action, e.target) for e in open_store(store).access_log()]
    assert (UPLOADER, "upload", f"batch {batch_id} (patients, center C31)") in entries
    # Signing out ends the session: the sign-in page again, also on a fresh load.
    page.get_by_role("button", name="Sign out").click()
    # Streamlit clears its own cookie, then asks the provider to end its session too.
    page.get_by_role("button", name="End session").click()
    page.get_by_text("Sign in to see the studies' data.").wait_for()
    page.goto(f"{url}/upload")
    page.get_by_text("Sign in to see the studies' data.").wait_for()
    wait_idle(page)
    expect(page.locator('input[type="file"]')).to_have_count(0)
