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
from bsab_explorer.formatting import format_percent
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


def _cells(indexed: IndexedCohort, from_tp: str, to_tp: str) -> np.ndarray:
    """Each patient's (rank at `from_tp`, rank at `to_tp`) as one small integer."""
    width = len(CATEGORY_ORDER)
    start = indexed.ranks_at(_key(from_tp)).astype(np.int64)
    return start * width + indexed.ranks_at(_key(to_tp))


def _transitions(
    indexed: IndexedCohort, from_tp: str, to_tp: str, max_ids: int | None = None
) -> pl.DataFrame:
    width = len(CATEGORY_ORDER)
    if max_ids is None:
        order, pseudonyms = indexed.by_pseudonym
        # Grouping in pseudonym order keeps each group's pseudonyms sorted without sorting them.
        cells = pl.DataFrame({"cell": _cells(indexed, from_tp, to_tp)[order], _PATIENT: pseudonyms})
        found = (
            cells.group_by("cell", maintain_order=True)
            .agg(pl.len().cast(pl.Int64).alias("n"), pl.col(_PATIENT).alias("patient_ids"))
            .sort("cell")
        )
    else:
        found = _first_ids(indexed, from_tp, to_tp, max(max_ids, 0))
    category = {"from": pl.col("cell") // width, "to": pl.col("cell") % width}
    return found.select(
        *(
            code.replace_strict(_CATEGORY_OF_RANK, return_dtype=pl.String).alias(name)
            for name, code in category.items()
        ),
        "n",
        pl.col("patient_ids").cast(pl.List(pl.String)),
    )


#: Patients (in pseudonym order) looked at first for each cell's first pseudonyms.
_HEAD = 1 << 16


def _first_ids(indexed: IndexedCohort, from_tp: str, to_tp: str, limit: int) -> pl.DataFrame:
    """``cell``, ``n`` and the first `limit` pseudonyms (sorted) of each cell with patients."""
    width = len(CATEGORY_ORDER)
    assert width * width <= np.iinfo(np.int8).max
    # Cells of the patients in pseudonym order, as int8.
    cells = indexed.ranks_at_by_pseudonym(_key(from_tp)) * np.int8(width)
    cells += indexed.ranks_at_by_pseudonym(_key(to_tp))
    counts = np.bincount(cells, minlength=width * width)
    wanted = np.minimum(counts, limit)
    # Without sorting a million cells: the first patients in pseudonym order hold the first
    # pseudonyms of every common cell; only cells short of theirs are looked for further on.
    head = cells[:_HEAD]
    short = np.bincount(head, minlength=width * width) < wanted
    candidates = np.arange(head.size)
    if short.any():
        candidates = np.concatenate([candidates, np.flatnonzero(short[cells[_HEAD:]]) + _HEAD])
    by_cell = candidates[np.argsort(cells[candidates], kind="stable")]
    starts = np.searchsorted(cells[by_cell], np.arange(width * width))
    present = np.flatnonzero(counts)
    shown = wanted[present]
    picked = [by_cell[starts[c] : starts[c] + k] for c, k in zip(present, shown, strict=True)]
    at = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    names = indexed.patient_ids.gather(indexed.pseudonym_order[at]).to_list()
    bounds = np.concatenate([[0], np.cumsum(shown)])
    return pl.DataFrame(
        {
            "cell": present.astype(np.int64),
            "n": counts[present].astype(np.int64),
            "patient_ids": [names[a:b] for a, b in itertools.pairwise(bounds)],
        },
        schema={"cell": pl.Int64, "n": pl.Int64, "patient_ids": pl.List(pl.String)},
    )


def transition_table(
    responses: pl.DataFrame,
    from_tp: str,
    to_tp: str,
    patients: pl.DataFrame | None = None,
    *,
    indexed: IndexedCohort | None = None,
    max_ids: int | None = None,
) -> pl.DataFrame:
    """Patients by response at `from_tp` and at `to_tp`: ``from``, ``to``, ``n``, ``patient_ids``.

    The patients counted are those of `patients` when given (all treated), else every patient
    with an assessment; "Not assessed" stands for no assessment at that timepoint. Either
    timepoint may be "best" (best response to the bispecific). Rows follow the clinical order
    of ``from`` then ``to``; ``patient_ids`` are sorted pseudonyms (with `max_ids`, only the
    first `max_ids` of each row; ``n`` counts them all). `indexed`, when given, is
    `cohort_index` of the cohort whose frames these are.
    """
    require_columns(patients if patients is not None else responses.select(_PATIENT), responses)
    if indexed is None:
        indexed = index_cohort(patients, responses)
    return _transitions(indexed, from_tp, to_tp, max_ids)


def observed_timepoints(
    responses: pl.DataFrame, *, indexed: IndexedCohort | None = None
) -> list[str]:
    """Timepoints with at least one assessment, in clinical order (of the patients of
    `indexed` when given, the `cohort_index` of the cohort whose responses these are)."""
    if indexed is not None:
        return [timepoint_code(int(k)) for k in indexed.keys if k != BEST_KEY]
    keys = timepoint_key().drop_nulls().unique().sort()
    present = responses.filter(pl.col("response").is_not_null()).select(keys).to_series()
    return [timepoint_code(k) for k in present.to_list()]


def alluvial_flows(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    timepoints: Sequence[str] | None = None,
    *,
    indexed: IndexedCohort | None = None,
    max_ids: int | None = None,
) -> pl.DataFrame:
    """Flows of patients between consecutive timepoints (default: every observed timepoint).

    Columns: ``step`` (0 for the first pair), ``from_timepoint``, ``to_timepoint``, ``from``,
    ``to``, ``n``, ``patient_ids`` (sorted pseudonyms). Every step accounts for all patients of
    `patients`. With `max_ids`, ``patient_ids`` holds only the first `max_ids` pseudonyms of
    each flow (``n`` still counts them all): what a chart's tooltip shows, without listing a
    registry's patients. `indexed`, when given, is `cohort_index` of the cohort whose frames
    these are.
    """
    if timepoints is not None:
        chosen = list(timepoints)
    else:
        chosen = observed_timepoints(responses, indexed=indexed)
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
    if indexed is None:
        indexed = index_cohort(patients, responses)
    frames = [
        _transitions(indexed, start, end, max_ids).select(
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
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    *,
    indexed: IndexedCohort | None = None,
) -> list[ConversionStatement]:
    """The paper's statements, live: best response to the bispecific by post-debulking response.

    Each statement covers the patients of one post-debulking group (groups without patients are
    left out); patients never assessed on the bispecific count in the group, not as responders,
    and the statement says how many there were. `indexed`, when given, is `cohort_index` of the
    cohort whose frames these are.
    """
    require_columns(patients, responses)
    if indexed is None:
        indexed = index_cohort(patients, responses)
    width = len(CATEGORY_ORDER)
    # Patients by (post-debulking category, best category): counts are all the statements need.
    table = np.bincount(
        _cells(indexed, POST_DEBULKING, BEST_TIMEPOINT), minlength=width * width
    ).reshape(width, width)
    responder_ranks = [CATEGORY_ORDER.index(code) for code in ORR_CODES]
    rank_of = {category: rank for rank, category in enumerate(CATEGORY_ORDER)}
    statements = []
    for name, codes, phrase in STATEMENT_GROUPS:
        rows = table[[rank_of[code] for code in codes]]
        n = int(rows.sum())
        if n == 0:
            continue
        responders = int(rows[:, responder_ranks].sum())
        missing = int(rows[:, NOT_ASSESSED_RANK].sum())
        text = (
            f"Among patients {phrase} (n = {n}), {responders} "
            f"({format_percent(responders, n)} %) responded to the bispecific (best response ≥ PR)"
        )
        if missing:
            text += f"; {missing} had no assessment on the bispecific"
        statements.append(ConversionStatement(name, codes, n, responders, missing, text + "."))
    return statements
