"""What to export: one figure or table of the app, named as on the command line, with options.

An `ExportRequest` is the single description shared by the pages' download buttons, the
`figure`/`table` commands, the Python API, the report and the "Reproduce" commands, so the
command a page shows regenerates exactly what the page offered.

>>> r = ExportRequest("figure", "km", CohortFilter.parse("emd=true"), by="emd", endpoint="pfs")
>>> r.file_name()
'km-pfs_by-emd_filter-emd=true.png'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from bsab_explorer.exports.naming import export_name
from bsab_explorer.filters import CohortFilter

Command = Literal["figure", "table"]
#: File extension of each command's default output.
DEFAULT_EXTENSION: dict[str, str] = {"figure": "png", "table": "csv"}


@dataclass(frozen=True)
class ExportRequest:
    """One figure or table: CLI command and name, cohort filter and the options that apply."""

    command: Command
    name: str
    cohort_filter: CohortFilter = field(default_factory=CohortFilter)
    by: str | None = None
    endpoint: str | None = None
    ci: str | None = None
    case: str | None = None
    #: Further options as (flag without dashes, value), e.g. (("denominator", "all"),).
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # One spelling per request: options in flag order, so equal requests compare equal.
        object.__setattr__(self, "options", tuple(sorted(dict(self.options).items())))

    def option(self, flag: str, default: str | None = None) -> str | None:
        """The value of a further option (the last one given wins)."""
        return dict(self.options).get(flag, default)

    def with_filter(self, cohort_filter: CohortFilter) -> ExportRequest:
        """The same request under another filter."""
        return replace(self, cohort_filter=cohort_filter)

    def file_name(self, ext: str | None = None) -> str:
        """The export's file name: what it shows and for which subgroup."""
        qualifiers = [v for v in (self.endpoint, self.case) if v]
        kind, name = self.name, ""
        if qualifiers:
            name = qualifiers.pop(0)
        extra = (*qualifiers, *(f"{k}-{v}" for k, v in self.options))
        if self.ci and self.ci != "log":
            extra = (*extra, f"ci-{self.ci}")
        return export_name(
            kind,
            name,
            by=self.by,
            cohort_filter=self.cohort_filter,
            extra=extra,
            ext=ext or DEFAULT_EXTENSION[self.command],
        )
