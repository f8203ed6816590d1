"""The audit: every published number beside the value recomputed from the data, with a status.

Targets live next to the bundled data (`data/debulking/targets.toml`): the figure as printed, the
value the data must give (the chosen reading where the paper contradicts itself), its
denominator, the quoted sentence and how to recompute it. Survival, response, best response,
conversion and PET-CT figures are recomputed by the app's own analyses (`summarise_survival`,
`response_by_timepoint`, `conversion_statements`), so the audit checks what the pages show.
Patient counts, medians and ranges are plain column counts (the numbers Table 1 shows).

The case series' targets (`data/recurrent_crs/targets.json`) are recomputed from `cases` and
`events` through the Cases pages' own analyses: Table 1 cells by `build_case_table`, rhythms,
first episodes and grades by `analyse_recurrence`; case counts, best responses and event days
are plain reads of the two tables.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bsab_explorer.analyses.case_table import CASE, build_case_table
from bsab_explorer.analyses.conversion import conversion_statements
from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.analyses.response import Denominator, ResponseSummary, response_by_timepoint
from bsab_explorer.analyses.survival import (
    BOOL_LABELS,
    CIMethod,
    SurvivalSummary,
    summarise_survival,
)
from bsab_explorer.data.loading import BUNDLED_DATA_DIR
from bsab_explorer.dataset import Dataset
from bsab_explorer.formatting import to_months
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    CASE_SERIES,
    COHORT,
    CR_OR_BETTER_CODES,
    ORR_CODES,
    RESPONSE_CODES,
    STUDIES,
    VGPR_OR_BETTER_CODES,
)

REPRODUCED = "reproduced"
DIFFERS = "differs"
PAPER_INCONSISTENT = "paper inconsistent"
AUDIT_STATUSES = (REPRODUCED, DIFFERS, PAPER_INCONSISTENT)
#: Measure kind of a published figure the data contract has no field for.
NOT_STORED = "not_stored"

DEBULKING_TARGETS = BUNDLED_DATA_DIR / "debulking" / "targets.toml"
RECURRENT_CRS_TARGETS = BUNDLED_DATA_DIR / "recurrent_crs" / "targets.json"
#: Study names of the audit rows.
DEBULKING = COHORT
RECURRENT_CRS = CASE_SERIES
#: The `events` code of a response assessment (its `detail` holds the IMWG code).
RESPONSE_EVENT = "response"
#: The CI method that reproduces the paper's intervals (see data/debulking/PROVENANCE.md).
DEBULKING_CI = CIMethod.LOG

_CODE_SETS: dict[str, tuple[str, ...]] = {
    "orr": ORR_CODES,
    "vgpr": VGPR_OR_BETTER_CODES,
    "cr": CR_OR_BETTER_CODES,
}
_SURVIVAL_GROUPS = {
    "all": (None, None),
    "emd": ("emd", True),
    "no_emd": ("emd", False),
    "hrca": ("hrca", True),
    "no_hrca": ("hrca", False),
}
_PARTS = ("median", "lower", "upper")


@dataclass(frozen=True)
class AuditRow:
    """One published figure beside its recomputed value (any study)."""

    study: str
    target_id: str
    label: str
    quote: str
    published: str
    recomputed: str
    #: One of AUDIT_STATUSES.
    status: str
    #: Arithmetic and reading for an inconsistency; otherwise a remark (may be empty).
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class Recomputed:
    """A recomputed figure: its value, its denominator (if a share) and its printed form."""

    value: float | None
    denominator: int | None
    text: str


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


def _codes(spec: object) -> tuple[str, ...]:
    if isinstance(spec, str):
        return _CODE_SETS[spec]
    return tuple(str(c) for c in spec)  # type: ignore[attr-defined]


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
        wanted = set(_codes(measure["after_debulking"]))
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
    codes = _codes(measure["codes"])
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


def recompute(
    patients: pl.DataFrame, responses: pl.DataFrame, target: Mapping[str, Any]
) -> Recomputed:
    """The value of one target recomputed from the tables."""
    return _recompute(_Tables(patients, responses), target)


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


@dataclass
class _CaseTables:
    """The case series' tables and the Cases pages' summaries (each computed once)."""

    cases: pl.DataFrame
    events: pl.DataFrame
    _case_table: pl.DataFrame | None = None
    _recurrence: pl.DataFrame | None = None
    _best: pl.DataFrame | None = None

    def case_table(self) -> pl.DataFrame:
        """The paper's Table 1 as the Cases page builds it."""
        if self._case_table is None:
            self._case_table = build_case_table(self.cases, self.events)
        return self._case_table

    def recurrence(self) -> pl.DataFrame:
        """One recurrence summary row per case, as the Recurrence page shows it."""
        if self._recurrence is None:
            self._recurrence = analyse_recurrence(self.cases, self.events)
        return self._recurrence

    def best_responses(self) -> pl.DataFrame:
        """Each case's best `response` event (the first in IMWG order)."""
        if self._best is None:
            rank = {code: i for i, code in enumerate(RESPONSE_CODES)}
            self._best = (
                self.events.filter(
                    (pl.col("event") == RESPONSE_EVENT) & pl.col("detail").is_in(RESPONSE_CODES)
                )
                .group_by("case_id")
                .agg(
                    pl.col("detail")
                    .sort_by(pl.col("detail").replace_strict(rank, return_dtype=pl.Int64))
                    .first()
                    .alias("best")
                )
            )
        return self._best


def load_case_series(path: Path = RECURRENT_CRS_TARGETS) -> dict[str, Any]:
    """The case series' targets file: `targets`, `inconsistencies` and conventions."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _number_text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _one(frame: pl.DataFrame, key: str, case_id: object, column: str) -> object:
    """The value of `column` in the one row of `case_id` (KeyError when it is not there)."""
    rows = frame.filter(pl.col(key) == case_id)
    if rows.height != 1:
        raise KeyError(f"case {case_id} not in the data")
    return rows.get_column(column).item()


def _case_series_value(tables: _CaseTables, target: Mapping[str, Any]) -> Recomputed:
    measure = target["measure"]
    kind = measure["kind"]
    case_id = target.get("case_id")
    if kind == "case_table":
        text = _one(tables.case_table(), CASE, case_id, measure["column"])
        return Recomputed(None, None, str(text))
    if kind == "recurrence":
        value = _one(tables.recurrence(), "case_id", case_id, measure["field"])
        return Recomputed(_as_float(value), None, _number_text(value))
    cases = tables.cases
    if kind in ("case_count", "best_response_count"):
        if kind == "case_count":
            hit = (
                cases
                if "column" not in measure
                else cases.filter(pl.col(measure["column"]) == measure["equals"])
            )
            n = hit.height
        else:
            best = tables.best_responses()
            n = best.filter(pl.col("best").is_in(_codes(measure["codes"]))).height
        return Recomputed(float(n), cases.height, f"{n} of {cases.height} cases")
    if kind == "best_response":
        return Recomputed(
            None, None, str(_one(tables.best_responses(), "case_id", case_id, "best"))
        )
    events = tables.events.filter(pl.col("case_id") == case_id)
    if kind == "last_day":
        last = events.get_column("day").max()
        return Recomputed(_as_float(last), None, _number_text(last))
    if kind == "event_day":
        days = events.filter(pl.col("event") == measure["event"]).get_column("day").to_list()
        value = float(days[0]) if len(days) == 1 else None
        return Recomputed(value, None, ", ".join(_number_text(d) for d in days) or "none")
    raise KeyError(f"unknown measure kind {kind!r}")


def _tokens(text: str) -> list[str]:
    return text.replace(",", " ").casefold().split()


def _every_clause(text: str) -> str | None:
    found = re.match(r"every \d+(–\d+)? days", text.casefold())
    return None if found is None else found.group(0)


def _case_series_holds(target: Mapping[str, Any], result: Recomputed) -> bool:
    """Whether the recomputed figure equals the target, the way the target is compared."""
    compare, value = target["compare"], target["value"]
    if compare == "reading":
        return result.text == str(target["reading"])
    if compare == "tokens":
        return _tokens(result.text) == _tokens(str(value))
    if compare == "interval_clause":
        clause = _every_clause(result.text)
        return clause is not None and clause == _every_clause(str(value))
    if isinstance(value, str):
        return result.text == value
    if result.value is None:
        return False
    expected = target.get("denominator")
    if expected is not None and result.denominator != expected:
        return False
    if compare == "at_least":
        return result.value >= float(value)
    return math.isclose(result.value, float(value))


def _published(target: Mapping[str, Any]) -> str:
    text = _number_text(target["value"])
    if target.get("denominator"):
        text = f"{text} of {target['denominator']} cases"
    return f"at least {text}" if target["compare"] == "at_least" else text


def _sentence(text: str) -> str:
    return text.rstrip(".") + "."


def _case_series_note(target: Mapping[str, Any], recorded: Mapping[str, Mapping[str, Any]]) -> str:
    """The arithmetic of a contradiction, or the reading behind a value, and any remark."""
    parts = []
    for link in ("inconsistency", "explained_by"):
        if link in target:
            entry = recorded[target[link]]
            parts += [
                entry["statement"],
                str(entry.get("arithmetic", "")),
                f"Reading: {_sentence(entry['reading'])}",
                entry["why"],
            ]
    if target["compare"] == "tokens":
        parts.append("Compared word for word; the table lists the drugs with commas.")
    if target["compare"] == "interval_clause":
        parts.append("Compared on the 'Every N days' clause.")
    parts.append(str(target.get("note", "")))
    return " ".join(p for p in parts if p)


def audit_recurrent_crs(
    dataset: Dataset, targets_path: Path = RECURRENT_CRS_TARGETS
) -> list[AuditRow]:
    """Every published value of the recurrent-CRS case series beside its value in `dataset`."""
    loaded = load_case_series(targets_path)
    recorded = {entry["id"]: entry for entry in loaded["inconsistencies"]}
    tables = _CaseTables(dataset.table("cases"), dataset.table("events"))
    rows = []
    for target in loaded["targets"]:
        try:
            result = _case_series_value(tables, target)
        except (KeyError, ValueError, TypeError, pl.exceptions.PolarsError) as error:
            # e.g. an uploaded series without this case or the column the figure needs
            result = Recomputed(None, None, f"not computable ({error})")
        if not _case_series_holds(target, result):
            status = DIFFERS
        else:
            status = PAPER_INCONSISTENT if "inconsistency" in target else REPRODUCED
        rows.append(
            AuditRow(
                study=RECURRENT_CRS,
                target_id=str(target["id"]),
                label=str(target["label"]),
                quote=str(target["quote"]),
                published=_published(target),
                recomputed=result.text,
                status=status,
                note=_case_series_note(target, recorded),
                source=str(target.get("source", "")),
            )
        )
    return rows


def audit_dataset(dataset: Dataset) -> list[AuditRow]:
    """The audit rows of every study whose tables `dataset` holds."""
    rows = audit_debulking(dataset) if dataset.has("patients") else []
    if dataset.has("cases") or dataset.has("events"):
        rows += audit_recurrent_crs(dataset)
    return rows


def audit_frame(rows: Sequence[AuditRow]) -> pl.DataFrame:
    """Audit rows as a table (for pages, exports and the CLI)."""
    columns = ("study", "target_id", "label", "published", "recomputed", "status", "note")
    return pl.DataFrame(
        {c: [getattr(r, c) for r in rows] for c in (*columns, "quote", "source")},
        schema=dict.fromkeys((*columns, "quote", "source"), pl.String),
    )


# --- the audit laid out for a screen ------------------------------------------------------------

#: Statuses as a screen lists them: problems first.
STATUS_ORDER = (DIFFERS, PAPER_INCONSISTENT, REPRODUCED)


def audit_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows of an `audit_frame` per status, every status present (0 when none)."""
    counted = dict(frame.group_by("status").len().iter_rows())
    return {status: int(counted.get(status, 0)) for status in STATUS_ORDER}


def audit_rows(frame: pl.DataFrame, study: str | None, statuses: list[str]) -> pl.DataFrame:
    """The rows of one study (or all) with the chosen statuses, problems first, readable headers."""
    chosen = frame.filter(pl.col("status").is_in(pl.Series(statuses, dtype=pl.String).implode()))
    if study is not None:
        chosen = chosen.filter(pl.col("study") == study)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return (
        chosen.with_columns(
            pl.col("status").replace_strict(rank, return_dtype=pl.Int64).alias("_r")
        )
        .sort("_r", maintain_order=True)
        .select(
            pl.col("status").alias("Status"),
            pl.col("study").alias("Study"),
            pl.col("label").alias("Published figure"),
            pl.col("published").alias("Published"),
            pl.col("recomputed").alias("Recomputed"),
            pl.col("note").alias("Arithmetic / reading"),
            pl.col("quote").alias("Paper says"),
        )
    )


def audit_studies(frame: pl.DataFrame) -> list[str]:
    """The studies an `audit_frame` covers, in contract order."""
    present = set(frame.get_column("study").to_list())
    return [study for study in STUDIES if study in present]
