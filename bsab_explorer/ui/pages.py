"""The app's screens, their titles, URL paths and the study each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bsab_explorer.schema import CASE_SERIES, COHORT, UPLOADED

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


@dataclass(frozen=True)
class Screen:
    """One page of the app, its script named as its URL path (pages/<url_path>.py).

    On a fresh server Streamlit first runs a deep link (e.g. /cases) in its legacy pages mode,
    which finds the script by file name; a script named otherwise answers "Page not found".
    """

    title: str
    url_path: str
    study: str
    icon: str

    @property
    def file(self) -> str:
        """The page script's file name in pages/."""
        return f"{self.url_path}.py"


DATA = UPLOADED

#: Sections of the navigation, in order; every page is registered here explicitly.
SECTIONS: dict[str, tuple[Screen, ...]] = {
    "Debulking cohort": (
        Screen("Cohort overview", "cohort", COHORT, ":material/groups:"),
        Screen("Table 1", "table-1", COHORT, ":material/table:"),
        Screen("Response by cycle", "response", COHORT, ":material/bar_chart:"),
        Screen("Response conversion", "conversion", COHORT, ":material/conversion_path:"),
        Screen("Survival", "survival", COHORT, ":material/monitoring:"),
        Screen("Safety", "safety", COHORT, ":material/health_and_safety:"),
        Screen("Subgroups", "subgroups", COHORT, ":material/forest:"),
    ),
    "Recurrent CRS": (
        Screen("Case series overview", "cases", CASE_SERIES, ":material/patient_list:"),
        Screen("Patient timeline", "timeline", CASE_SERIES, ":material/timeline:"),
        Screen("Recurrence across cases", "recurrence", CASE_SERIES, ":material/repeat:"),
    ),
    "Data": (
        Screen("Audit", "audit", DATA, ":material/fact_check:"),
        Screen("Upload", "upload", DATA, ":material/upload_file:"),
    ),
}


def all_screens() -> tuple[Screen, ...]:
    """Every registered screen, in navigation order."""
    return tuple(screen for screens in SECTIONS.values() for screen in screens)
