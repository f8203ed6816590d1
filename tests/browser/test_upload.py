"""Uploading through the page: a bad file gets its report and stores nothing; a valid file is
stored after confirmation; uploaded text is never rendered as HTML."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.waits import wait_idle

BAD = (
    "patient_id,age_years,sex,name,pfs_days,pfs_event,os_days,os_event\n"
    "P001,95,F,Jane Doe,100,true,50,false\n"
    "P002,60,M,<img src=x onerror=alert(1)>,30,false,30,true\n"
    "P001,70,X,[link](http://x.org),10,maybe,20,false\n"
)
GOOD = (
    "patient_id,age_years,sex,emd,pfs_days,pfs_event,os_days,os_event\n"
    "P001,61,F,true,100,true,150,false\n"
    "P002,70,M,false,200,false,200,false\n"
    "007,55,F,na,30.5,true,90,true\n"
)


def _upload(page, app_url: str, path: Path, center: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/upload")
    page.get_by_text("Stored batches").wait_for()
    wait_idle(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    box = page.get_by_role("textbox", name="Center pseudonym")
    box.fill(center)
    box.press("Enter")


def test_bad_file_is_reported_and_not_stored(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    path = tmp_path / "patients.csv"
    path.write_text(BAD, encoding="utf-8")
    _upload(page, app_url, path, "C91")
    page.get_by_text(re.compile(r"^7 problem\(s\) found\. Nothing was stored")).wait_for()
    # Counted once the run is over: a button still to be drawn would be missed before.
    wait_idle(page)
    expect(page.get_by_role("button", name=re.compile(r"^Store \d+ rows"))).to_have_count(0)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href='http://x.org']").count() == 0
    assert dialogs == []
    assert "Jane Doe" not in page.content()


def test_valid_file_is_stored_after_confirmation(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "patients.csv"
    path.write_text(GOOD, encoding="utf-8")
    _upload(page, app_url, path, "C92")
    page.get_by_text("No problems found.").wait_for()
    # The button is clicked once drawn for good: a click during the run can be lost.
    wait_idle(page)
    page.get_by_role("button", name="Store 3 rows as a new batch").click()
    stored = page.get_by_text(
        re.compile(r"^Stored as batch \d+: 3 rows of patients for center C92")
    )
    stored.wait_for()
    page.goto(f"{app_url}/?data=Pooled")
    page.get_by_text(re.compile(r"^3 of 3 patients")).wait_for()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"^Data: Pooled uploads"))).to_have_count(1)
