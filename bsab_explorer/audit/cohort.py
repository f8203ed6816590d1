"""The debulking cohort's audit: every figure of `data/debulking/targets.toml` recomputed by the
app's own analyses (`summarise_survival`, `response_by_timepoint`, `conversion_statements`), so
the audit checks what the pages show; patient counts, medians and ranges are plain column counts
(the numbers Table 1 shows)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bsab_explorer.analyses.conversion import conversion_statements
from bsab_explorer.analyses.response import Denominator, ResponseSummary, response_by_timepoint
from bsab_explorer.analyses.survival import (
    BOOL_LABELS,
    CIMethod,
    SurvivalSummary,
    summarise_survival,
)
from bsab_explorer.audit.findings import (
    DIFFERS,
    PAPER_INCONSISTENT,
    REPRODUCED,
    AuditRow,
    Recomputed,
    response_codes,
)
from bsab_explorer.data.loading import BUNDLED_DATA_DIR
from bsab_explorer.dataset import Dataset
from bsab_explorer.formatting import to_months
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    COHORT,
)

#: Measure kind of a published figure the data contract has no field for.
NOT_STORED = "not_stored"

DEBULKING_TARGETS = BUNDLED_DATA_DIR / "debulking" / "targets.toml"
#: Study name of the cohort's audit rows.
DEBULKING = COHORT
#: The CI method that reproduces the paper's intervals (see data/debulking/PROVENANCE.md).
DEBULKING_CI = CIMethod.LOG

_SURVIVAL_GROUPS = {
    "all": (None, None),
    "emd": ("emd", True),
    "no_emd": ("emd", False),
    "hrca": ("hrca", True),
    "no_hrca": ("hrca", False),
}
_PARTS = ("median", "lower", "upper")


def load_targets(path: Path = DEBULKING_TARGETS) -> list[dict[str, Any]]:
    """The `[[target]]` entries of a targets file, in file order."""
    with path.open("rb") as handle:
        return list(tomllib.load(handle)["target"])


@dataclass
class _Tables:
    """The tables under audit and the summaries already computed (one per page view)."""

    patients: pl.DataFrame
    responses: pl.DataFrame
    survival: dict[tuple[str, str | None], SurvivalSummary] = field(default_factory=dict)
    response: dict[tuple[str, str | None], ResponseSummary] = field(default_factory=dict)

    def survival_summary(self, endpoint: str, by: str | None) -> SurvivalSummary:
        """The Survival page's summary of `endpoint` by `by` (computed once)."""
        key = (endpoint, by)
        if key not in self.survival:
            self.survival[key] = summarise_survival(self.patients, endpoint, by=by, ci=DEBULKING_CI)
        return self.survival[key]

    def response_summary(self, denominator: Denominator, by: str | None) -> ResponseSummary:
        """The Response page's summary for a denominator and grouping (computed once)."""
        key = (denominator, by)
        if key not in self.response:
            self.response[key] = response_by_timepoint(
                self.patients, self.responses, denominator, by=by
            )
        return self.response[key]


def _share_text(n: float, denominator: int | None, percent: object) -> str:
    count = f"{n:g}"
    if not denominator:
        return count
    decimals = len(str(percent).partition(".")[2]) if percent is not None else 0
    return f"{count}/{denominator} ({100.0 * n / denominator:.{decimals}f} %)"


def _restrict(patients: pl.DataFrame, within: object) -> pl.DataFrame:
    if within is None:
        return patients
    if isinstance(within, str):
        return patients.filter(pl.col(within).fill_null(False))
    spec = dict(within)  # type: ignore[call-overload]
    return patients.filter(pl.col(spec["column"]) >= spec["at_least"])


def _count(patients: pl.DataFrame, measure: Mapping[str, Any]) -> tuple[float, int | None]:
    """Patient counts and summaries of one column (the numbers of Table 1)."""
    kind = measure["kind"]
    frame = _restrict(patients, measure.get("within"))
    column = str(measure.get("column", ""))
    if kind == "count":
        values = frame.get_column(column)
        if measure.get("equals") == "missing":
            return float(values.null_count()), frame.height
        known = values.drop_nulls()
        hit = known >= measure["at_least"] if "at_least" in measure else known == measure["equals"]
        over = known.len() if measure.get("over") == "known" else frame.height
        return float(hit.sum()), over
    if kind == "count_any":
        return float(frame.select(pl.any_horizontal(measure["columns"]).sum()).item()), frame.height
    if kind == "count_flags":
        return float(sum(int(frame.get_column(c).sum()) for c in measure["columns"])), None
    if kind == "count_combination":
        both = pl.all_horizontal(measure["all_of"]) & pl.any_horizontal(measure["any_of"])
        return float(frame.select(both.sum()).item()), frame.height
    if kind == "count_between":
        between = pl.col(column).is_between(measure["low"], measure["high"])
        return float(frame.select(between.sum()).item()), frame.height
    if kind in ("median", "min", "max"):
        return float(getattr(frame.get_column(column).drop_nulls(), kind)()), None
    if kind == "distinct":
        return float(frame.get_column(column).drop_nulls().n_unique()), None
    if kind == "rows":
        return float(frame.height), None
    if kind == "deaths":
        dead = frame.filter(pl.col("os_event").fill_null(False))
        if "cause" in measure:
            dead = dead.filter(pl.col("death_cause") == measure["cause"])
        return float(dead.height), frame.height
    if kind == "follow_up":
        series = frame.get_column("os_days").drop_nulls()
        return to_months(float(getattr(series, measure["part"])())), None
    raise KeyError(f"unknown measure kind {kind!r}")


def _response(tables: _Tables, measure: Mapping[str, Any]) -> tuple[float, int | None]:
    """Response counts through the Response page's own summary."""
    kind = measure["kind"]
    if kind == "conversion":
        wanted = set(response_codes(measure["after_debulking"]))
        for statement in conversion_statements(tables.patients, tables.responses):
            if set(statement.codes) == wanted:
                return float(statement.responders), statement.n
        return 0.0, 0
    group_column = measure.get("group")
    # the paper's best response is "for all patient"; cycle rates are on the evaluable
    summary = tables.response_summary(
        "all_treated" if kind == "best" else "evaluable", group_column
    )
    timepoint = BEST_TIMEPOINT if kind == "best" else measure["timepoint"]
    rows = summary.frame.filter(pl.col("timepoint") == timepoint)
    if group_column is not None:
        rows = rows.filter(pl.col("group") == BOOL_LABELS[True])
    if rows.height != 1:
        return 0.0, 0
    row = rows.row(0, named=True)
    if kind == "pet_ct":
        return float(row["pet_ct_n"] or 0), None
    codes = response_codes(measure["codes"])
    hit = sum(int(row[code]) for code in codes)
    return float(hit), int(row["denominator"])


def _printed(value: float | None, decimals: int) -> str:
    return "NR" if value is None or math.isinf(value) else f"{value:.{decimals}f}"


def _survival(tables: _Tables, measure: Mapping[str, Any], decimals: int) -> Recomputed:
    """Medians, CI limits (months) and log-rank p through the Survival page's own summary."""
    if measure["kind"] == "logrank":
        summary = tables.survival_summary(measure["endpoint"], measure["factor"])
        p = None if summary.logrank is None else summary.logrank.p_value
        return Recomputed(p, None, _printed(p, decimals))
    by, level = _SURVIVAL_GROUPS[measure["group"]]
    summary = tables.survival_summary(measure["endpoint"], by)
    label = "All patients" if level is None else BOOL_LABELS[level]
    groups = [g for g in summary.groups if by is None or g.label == label]
    median = groups[0].median
    value = {
        "median": median.months,
        "lower": median.lower_months,
        "upper": median.upper_months,
    }[measure["part"]]
    return Recomputed(value, None, _printed(value, decimals))


def _recompute(tables: _Tables, target: Mapping[str, Any]) -> Recomputed:
    measure = target["measure"]
    kind = measure["kind"]
    if kind == NOT_STORED:
        return Recomputed(None, None, "not stored (no contract field)")
    if kind in ("survival", "logrank"):
        return _survival(tables, measure, int(target.get("decimals", 1)))
    if kind in ("response", "best", "conversion", "pet_ct"):
        value, denominator = _response(tables, measure)
    else:
        value, denominator = _count(tables.patients, measure)
    if kind in ("median", "follow_up"):
        decimals = int(target.get("decimals", 1))
        text = f"{value:.{decimals}f}" if kind == "follow_up" else f"{value:g}"
        return Recomputed(value, None, text)
    return Recomputed(value, denominator, _share_text(value, denominator, target.get("percent")))


def _holds(target: Mapping[str, Any], result: Recomputed) -> bool:
    """Whether the recomputed figure is the target's value (as printed, for months and p)."""
    kind = target["measure"]["kind"]
    if kind == NOT_STORED:
        # only a figure explained as an inconsistency may be absent from the data
        return target.get("status") == PAPER_INCONSISTENT
    if kind in ("survival", "logrank") or target.get("unit") == "months":
        return result.text == str(target["published"])
    if result.value is None:
        return False
    if not math.isclose(result.value, float(target["value"])):
        return False
    expected = target.get("denominator")
    if expected is not None and result.denominator is not None and result.denominator != expected:
        return False
    percent = target.get("percent")
    if percent is None or not result.denominator or target.get("status") == PAPER_INCONSISTENT:
        return True
    # a reproduced share must also print as published (the paper rounds half up)
    decimals = len(str(percent).partition(".")[2])
    share = 100.0 * result.value / result.denominator
    return math.isclose(_round_half_up(share, decimals), float(percent))


def _round_half_up(value: float, decimals: int) -> float:
    scale = 10.0**decimals
    return math.floor(value * scale + 0.5) / scale


def _note(target: Mapping[str, Any]) -> str:
    if target.get("status") == PAPER_INCONSISTENT:
        return f"{target['arithmetic']} Reading: {target['reading']}"
    return str(target.get("note", ""))


def audit_targets(
    study: str, dataset: Dataset, targets: Sequence[Mapping[str, Any]]
) -> list[AuditRow]:
    """Audit rows for `targets` against the patients and responses of `dataset`."""
    tables = _Tables(dataset.table("patients"), dataset.table("responses"))
    rows = []
    for target in targets:
        try:
            result = _recompute(tables, target)
        except (KeyError, ValueError, TypeError, IndexError, pl.exceptions.PolarsError) as error:
            # e.g. an uploaded data set without the column a figure needs
            result = Recomputed(None, None, f"not computable ({error})")
        status = str(target.get("status", REPRODUCED)) if _holds(target, result) else DIFFERS
        rows.append(
            AuditRow(
                study=study,
                target_id=str(target["id"]),
                label=str(target["label"]),
                quote=str(target["quote"]),
                published=str(target["published"]),
                recomputed=result.text,
                status=status,
                note=_note(target),
                source=str(target.get("source", "")),
            )
        )
    return rows


def audit_debulking(dataset: Dataset, targets_path: Path = DEBULKING_TARGETS) -> list[AuditRow]:
    """Every published figure of the debulking cohort beside its value in `dataset`."""
    return audit_targets(DEBULKING, dataset, load_targets(targets_path))
