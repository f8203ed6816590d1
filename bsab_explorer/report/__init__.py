"""The reproducible HTML report (every figure and table for one filter, in one file)."""

from bsab_explorer.report.builder import (
    DEFAULT_COMPARISONS,
    REPORT_TITLE,
    TIMESTAMP_PREFIX,
    build_report,
    package_versions,
    report_command,
    without_timestamp,
)

__all__ = [
    "DEFAULT_COMPARISONS",
    "REPORT_TITLE",
    "TIMESTAMP_PREFIX",
    "build_report",
    "package_versions",
    "report_command",
    "without_timestamp",
]
