"""What every builder of the catalogue shares: the value it returns (`Built`), the data it reads
(`Source`), the refusal it raises (`ExportUnavailable`) and the parsing of the options several
builders read (`--by`, `--ci`, `--conf-level`, `--times`...), so that an option means one thing
and says one thing when it is wrong, whichever figure or table reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from bsab_explorer.analyses.prepared import PreparedDataset, cohort_index, select_prepared_cohort
from bsab_explorer.analyses.response import (
    DENOMINATORS,
    Denominator,
    IndexedCohort,
)
from bsab_explorer.analyses.survival import (
    CIMethod,
    Endpoint,
)
from bsab_explorer.dataset import Dataset
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.filters import Cohort, CohortFilter, select_cases, select_cohort

#: The CI method of response rates (fixed) and of survival (default; `--ci` changes it).
RESPONSE_CI = "clopper-pearson"
SURVIVAL_CI = "log"
#: The confidence levels a survival table offers (`--conf-level`), the default first.
CONF_LEVELS = ("0.95", "0.90", "0.99")


class ExportUnavailable(Unavailable):
    """A request the data cannot answer (unknown name, missing table or column, bad option)."""


@dataclass(frozen=True)
class Built:
    """What a request builds: the data its file holds, the chart (figures), notes, and the
    analysis result the page formats its on-screen tables from."""

    data: pl.DataFrame
    chart: Any = None
    notes: tuple[str, ...] = ()
    #: The analysis value behind the data (a survival or response summary, Table 1...).
    summary: Any = None


Builder = Callable[["Source", ExportRequest], Built]


@dataclass(frozen=True)
class Source:
    """The data a request is built from: the dataset and, when the caller keeps it (the app's
    cache does), its prepared value, so that a filter re-reads no response code."""

    dataset: Dataset
    prepared: PreparedDataset | None = None

    def cohort(self, cohort_filter: CohortFilter) -> Cohort:
        """The cohort a filter selects."""
        if self.prepared is None:
            return select_cohort(self.dataset, cohort_filter)
        return select_prepared_cohort(self.prepared, cohort_filter)

    def index(self, cohort: Cohort) -> IndexedCohort:
        """The response index of a cohort this source selected."""
        return cohort_index(cohort, self.prepared)


def _cohort(source: Source, request: ExportRequest) -> Cohort:
    if not source.dataset.has("patients"):
        raise ExportUnavailable("This analysis needs the cohort study's patients table.")
    return source.cohort(request.cohort_filter)


def _cases(source: Source, request: ExportRequest) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not source.dataset.has("cases"):
        raise ExportUnavailable("This analysis needs the case series' cases table.")
    series = select_cases(source.dataset, request.cohort_filter)
    return series.cases, series.events


def _by(request: ExportRequest, frame: pl.DataFrame) -> str | None:
    if request.by is not None and request.by not in frame.columns:
        raise ExportUnavailable(f"'{request.by}' is not a column of these data (--by).")
    return request.by


def _denominator(request: ExportRequest) -> Denominator:
    value = request.option("denominator", "evaluable") or "evaluable"
    for known in DENOMINATORS:
        if value == known:
            return known
    raise ExportUnavailable(
        f"--denominator must be one of {', '.join(DENOMINATORS)}, not '{value}'."
    )


def _flag(request: ExportRequest, flag: str, *, default: bool) -> bool:
    value = request.option(flag)
    if value is None:
        return default
    if value.lower() in ("true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    raise ExportUnavailable(f"--{flag} is true or false, not '{value}'.")


def _endpoint(request: ExportRequest) -> Endpoint:
    try:
        return Endpoint(request.endpoint or Endpoint.PFS.value)
    except ValueError:
        raise ExportUnavailable(
            f"--endpoint must be one of {', '.join(e.value for e in Endpoint)}, "
            f"not '{request.endpoint}'."
        ) from None


def _ci(request: ExportRequest) -> CIMethod:
    try:
        return CIMethod(request.ci or SURVIVAL_CI)
    except ValueError:
        raise ExportUnavailable(
            f"--ci must be one of {', '.join(m.value for m in CIMethod)}, not '{request.ci}'."
        ) from None


def _conf_level(request: ExportRequest) -> float:
    value = request.option("conf-level", CONF_LEVELS[0]) or CONF_LEVELS[0]
    if value not in CONF_LEVELS:
        raise ExportUnavailable(
            f"--conf-level must be one of {', '.join(CONF_LEVELS)}, not '{value}'."
        )
    return float(value)


def _list(request: ExportRequest, flag: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (request.option(flag) or "").split(",") if v.strip())


def _days(request: ExportRequest, flag: str) -> tuple[float, ...]:
    try:
        days = tuple(float(v) for v in _list(request, flag))
    except ValueError:
        raise ExportUnavailable(
            f"--{flag} takes days separated by commas (e.g. 182,365), not '{request.option(flag)}'."
        ) from None
    if any(not 0 <= d < float("inf") for d in days):
        raise ExportUnavailable(f"--{flag}: days are numbers from 0 on.")
    return days


def _columns(request: ExportRequest, flag: str, frame: pl.DataFrame) -> tuple[str, ...]:
    names = _list(request, flag)
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise ExportUnavailable(f"--{flag}: no column(s) {', '.join(unknown)} in these data.")
    return names


def _column(request: ExportRequest, flag: str, frame: pl.DataFrame) -> str | None:
    names = _columns(request, flag, frame)
    if len(names) > 1:
        raise ExportUnavailable(f"--{flag} takes one column, not {len(names)}.")
    return names[0] if names else None
