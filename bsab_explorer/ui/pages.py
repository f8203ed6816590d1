"""The app's screens, their titles, URL paths and the study each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


@dataclass(frozen=True)
class Screen:
    """One page of the app."""

    file: str
    title: str
    url_path: str
    study: str
    icon: str


COHORT = "debulking"
CASE_SERIES = "recurrent_crs"
DATA = "data"

#: Sections of the navigation, in order; every page is registered here explicitly.
SECTIONS: dict[str, tuple[Screen, ...]] = {
    "Debulking cohort": (
        Screen("cohort_overview.py", "Cohort overview", "cohort", COHORT, ":material/groups:"),
        Screen("table1.py", "Table 1", "table-1", COHORT, ":material/table:"),
        Screen("response.py", "Response by cycle", "response", COHORT, ":material/bar_chart:"),
        Screen(
            "conversion.py",
            "Response conversion",
            "conversion",
            COHORT,
            ":material/conversion_path:",
        ),
        Screen("survival.py", "Survival", "survival", COHORT, ":material/monitoring:"),
    ),
    "Recurrent CRS": (
        Screen(
            "case_overview.py",
            "Case series overview",
            "cases",
            CASE_SERIES,
            ":material/patient_list:",
        ),
        Screen("timeline.py", "Patient timeline", "timeline", CASE_SERIES, ":material/timeline:"),
        Screen(
            "recurrence.py",
            "Recurrence across cases",
            "recurrence",
            CASE_SERIES,
            ":material/repeat:",
        ),
    ),
    "Data": (
        Screen("audit.py", "Audit", "audit", DATA, ":material/fact_check:"),
        Screen("upload.py", "Upload", "upload", DATA, ":material/upload_file:"),
    ),
}


def all_screens() -> tuple[Screen, ...]:
    """Every registered screen, in navigation order."""
    return tuple(screen for screens in SECTIONS.values() for screen in screens)
