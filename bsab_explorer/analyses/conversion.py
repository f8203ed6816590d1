"""Response conversion (Fig. 1B): transitions between timepoints and the paper's statements.

Patients are named by pseudonym (``patient_id``) only. A patient without an assessment at a
timepoint is in the category "Not assessed" there, so every timepoint accounts for everyone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from bsab_explorer.analyses.response import (
    BEST_KEY,
    CATEGORY_ORDER,
    NOT_ASSESSED,
    NOT_ASSESSED_RANK,
    POST_DEBULKING,
    IndexedCohort,
    index_cohort,
    require_columns,
    timepoint_code,
    timepoint_key,
)
from bsab_explorer.analyses.table1 import format_percent
from bsab_explorer.schema import BEST_TIMEPOINT, ORR_CODES, TIMEPOINT_PATTERN

_PATIENT = "patient_id"
_CATEGORY_OF_RANK = dict(enumerate(CATEGORY_ORDER))


def _key(timepoint: str) -> int:
    """Integer key of a timepoint code (see `timepoint_key`)."""
    if timepoint == BEST_TIMEPOINT:
        return BEST_KEY
    if timepoint == POST_DEBULKING:
        return 0
    if TIMEPOINT_PATTERN.match(timepoint) is None:
        raise ValueError(f"unknown timepoint {timepoint!r} (post_debulking, C<n> or best)")
    return int(timepoint[1:])


def _ranks_at(indexed: IndexedCohort, timepoint: str) -> np.ndarray:
    """Response rank of every patient at `timepoint` ("Not assessed" when there is none)."""
    at = indexed.visits.filter(pl.col("__tp") == _key(timepoint))
    ranks = np.full(indexed.patients.height, NOT_ASSESSED_RANK, dtype=np.int64)
    ranks[at.get_column("__idx").to_numpy()] = at.get_column("__rank").to_numpy()
    return ranks


def _transitions(indexed: IndexedCohort, from_tp: str, to_tp: str) -> pl.DataFrame:
    return (
        pl.DataFrame(
            {
                "f": _ranks_at(indexed, from_tp),
                "t": _ranks_at(indexed, to_tp),
                _PATIENT: indexed.patients.get_column(_PATIENT),
            }
        )
        .group_by("f", "t")
        .agg(pl.len().cast(pl.Int64).alias("n"), pl.col(_PATIENT).sort().alias("patient_ids"))
        .sort("f", "t")
        .select(
            pl.col("f").replace_strict(_CATEGORY_OF_RANK, return_dtype=pl.String).alias("from"),
            pl.col("t").replace_strict(_CATEGORY_OF_RANK, return_dtype=pl.String).alias("to"),
            "n",
            "patient_ids",
        )
    )


def transition_table(
    responses: pl.DataFrame,
    from_tp: str,
    to_tp: str,
    patients: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Patients by response at `from_tp` and at `to_tp`: ``from``, ``to``, ``n``, ``patient_ids``.

    The patients counted are those of `patients` when given (all treated), else every patient
    with an assessment; "Not assessed" stands for no assessment at that timepoint. Either
    timepoint may be "best" (best response to the bispecific). Rows follow the clinical order
    of ``from`` then ``to``; ``patient_ids`` are sorted pseudonyms.
    """
    require_columns(patients if patients is not None else responses.select(_PATIENT), responses)
    return _transitions(index_cohort(patients, responses), from_tp, to_tp)


def observed_timepoints(responses: pl.DataFrame) -> list[str]:
    """Timepoints with at least one assessment, in clinical order."""
    keys = timepoint_key().drop_nulls().unique().sort()
    present = responses.filter(pl.col("response").is_not_null()).select(keys).to_series()
    return [timepoint_code(k) for k in present.to_list()]


def alluvial_flows(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    timepoints: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Flows of patients between consecutive timepoints (default: every observed timepoint).

    Columns: ``step`` (0 for the first pair), ``from_timepoint``, ``to_timepoint``, ``from``,
    ``to``, ``n``, ``patient_ids``. Every step accounts for all patients of `patients`.
    """
    chosen = list(timepoints) if timepoints is not None else observed_timepoints(responses)
    schema = pl.Schema(
        [
            ("step", pl.Int64()),
            ("from_timepoint", pl.String()),
            ("to_timepoint", pl.String()),
            ("from", pl.String()),
            ("to", pl.String()),
            ("n", pl.Int64()),
            ("patient_ids", pl.List(pl.String())),
        ]
    )
    require_columns(patients, responses)
    if len(chosen) < 2:
        return pl.DataFrame(schema=schema)
    indexed = index_cohort(patients, responses)
    frames = [
        _transitions(indexed, start, end).select(
            pl.lit(step, dtype=pl.Int64).alias("step"),
            pl.lit(start).alias("from_timepoint"),
            pl.lit(end).alias("to_timepoint"),
            "from",
            "to",
            "n",
            "patient_ids",
        )
        for step, (start, end) in enumerate(itertools.pairwise(chosen))
    ]
    return pl.concat(frames).cast(schema)


@dataclass(frozen=True)
class ConversionStatement:
    """How patients in one post-debulking response group fared on the bispecific (best ≥ PR)."""

    group: str
    codes: tuple[str, ...]
    n: int
    responders: int
    not_assessed: int
    text: str

    @property
    def percent(self) -> float:
        """Responders as a percentage of the group."""
        return 100.0 * self.responders / self.n if self.n else float("nan")


#: Post-debulking response groups of the statements, in clinical order.
STATEMENT_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("sCR, CR or VGPR", ("sCR", "CR", "VGPR"), "in sCR, CR or VGPR after debulking"),
    ("PR", ("PR",), "in PR after debulking"),
    ("MR or SD", ("MR", "SD"), "with minimal response or stable disease after debulking"),
    ("PD", ("PD",), "with progression after debulking chemotherapy"),
    ("NE", ("NE",), "not evaluable after debulking"),
    (NOT_ASSESSED, (NOT_ASSESSED,), "not assessed after debulking"),
)


def conversion_statements(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> list[ConversionStatement]:
    """The paper's statements, live: best response to the bispecific by post-debulking response.

    Each statement covers the patients of one post-debulking group (groups without patients are
    left out); patients never assessed on the bispecific count in the group, not as responders,
    and the statement says how many there were.
    """
    require_columns(patients, responses)
    table = _transitions(index_cohort(patients, responses), POST_DEBULKING, BEST_TIMEPOINT)
    summary = table.group_by("from").agg(
        pl.col("n").sum().alias("n"),
        pl.col("n").filter(pl.col("to").is_in(list(ORR_CODES))).sum().alias("responders"),
        pl.col("n").filter(pl.col("to") == NOT_ASSESSED).sum().alias("not_assessed"),
    )
    statements = []
    for name, codes, phrase in STATEMENT_GROUPS:
        rows = summary.filter(pl.col("from").is_in(list(codes)))
        n = int(rows.get_column("n").sum())
        if n == 0:
            continue
        responders = int(rows.get_column("responders").sum())
        missing = int(rows.get_column("not_assessed").sum())
        text = (
            f"Among patients {phrase} (n = {n}), {responders} "
            f"({format_percent(responders, n)} %) responded to the bispecific (best response ≥ PR)"
        )
        if missing:
            text += f"; {missing} had no assessment on the bispecific"
        statements.append(ConversionStatement(name, codes, n, responders, missing, text + "."))
    return statements
