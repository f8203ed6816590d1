"""A report never echoes a value the identifier guard flagged, whatever rule reports the cell."""

from __future__ import annotations

from pathlib import Path

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import open_store

CONTACTS = (
    "patient_id,center,age_years,os_days,os_event\n"
    "P1,jane@example.org,60,100,true\n"
    "P2,+33 6 12 34 56 78,70,50,false\n"
    "P3,192.168.1.20,65,20,false\n"
)
SECRETS = ("jane@example.org", "+33 6 12 34 56 78", "192.168.1.20")


def test_upload_report_masks_identifiers_in_every_rule(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.duckdb", seed=False)
    try:
        check = store.check_upload(CONTACTS.encode(), "patients.csv", "patients", "C77")
    finally:
        store.close()
    text = check.report.to_text()
    rules = check.report.rules()
    assert {"email", "phone", "ip_address", "center_mismatch"} <= set(rules)
    for secret in SECRETS:
        assert secret not in text
        assert secret not in check.report.to_frame().write_csv()
    assert "xxxx@xxxxxxx.xxx" in text


def test_folder_report_masks_identifiers(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(CONTACTS, encoding="utf-8")
    report = load_dataset(tmp_path).report
    assert not report.ok
    for secret in SECRETS:
        assert secret not in report.to_text()
