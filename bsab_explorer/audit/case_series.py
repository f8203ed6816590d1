"""The recurrent-CRS case series' audit: every value of `data/recurrent_crs/targets.json`
recomputed from `cases` and `events` through the Cases pages' own analyses (Table 1 cells by
`build_case_table`; rhythms, first episodes and grades by `analyse_recurrence`); case counts,
best responses and event days are plain reads of the two tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bsab_explorer.analyses.case_table import CASE, build_case_table
from bsab_explorer.analyses.recurrence import analyse_recurrence
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
from bsab_explorer.schema import (
    CASE_SERIES,
    RESPONSE_CODES,
)

RECURRENT_CRS_TARGETS = BUNDLED_DATA_DIR / "recurrent_crs" / "targets.json"
#: Study name of the case series' audit rows.
RECURRENT_CRS = CASE_SERIES
#: The `events` code of a response assessment (its `detail` holds the IMWG code).
RESPONSE_EVENT = "response"


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
            n = best.filter(pl.col("best").is_in(response_codes(measure["codes"]))).height
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
