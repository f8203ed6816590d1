"""Response by timepoint (Fig. 1A): IMWG categories, ORR with its exact CI, ≥VGPR and CR rates.

A rate always states its denominator: either the patients evaluable at that timepoint (those
with an assessment there, ``NE`` included, as the paper) or all treated patients of the
(filtered) cohort. The timepoint "best" is the best response to the bispecific: the patients'
recorded ``best_response`` when present, else the best of their assessments on the bispecific
(cycles only; the post-debulking assessment precedes it). ``NE`` counts as assessed but worst.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import polars as pl

from bsab_explorer.analyses.groups import OVERALL, cohort_group_codes
from bsab_explorer.analyses.levels import Levels
from bsab_explorer.errors import Unavailable
from bsab_explorer.formatting import format_percent
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    CR_OR_BETTER_CODES,
    ORR_CODES,
    RESPONSE_CODES,
    VGPR_OR_BETTER_CODES,
    timepoint_label,
    timepoint_order,
)

Denominator = Literal["evaluable", "all_treated"]
DENOMINATORS: tuple[Denominator, ...] = ("evaluable", "all_treated")
DENOMINATOR_LABELS = {
    "evaluable": "patients evaluable at that timepoint",
    "all_treated": "all treated patients",
}
#: The category of patients without an assessment at a timepoint.
NOT_ASSESSED = "Not assessed"
#: Response categories plus "Not assessed", best to worst.
CATEGORY_ORDER = (*RESPONSE_CODES, NOT_ASSESSED)
POST_DEBULKING = "post_debulking"
NOT_ASSESSED_COLUMN = "not_assessed"

_PATIENT = "patient_id"
_GROUP = "__group"
_RANK = "__rank"
#: Key of the derived timepoint "best" (sorts after every cycle).
BEST_KEY = timepoint_order(BEST_TIMEPOINT)
#: Rank of "Not assessed" (after every IMWG code).
NOT_ASSESSED_RANK = len(RESPONSE_CODES)

#: Columns the response and conversion analyses need, by table (every other one is optional).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id",),
    "responses": ("patient_id", "timepoint", "response"),
}


def missing_columns(patients: pl.DataFrame, responses: pl.DataFrame) -> list[str]:
    """Required columns that are absent (or empty in a non-empty table), as ``table.column``."""
    missing = []
    for table, frame in (("patients", patients), ("responses", responses)):
        for column in REQUIRED_COLUMNS[table]:
            absent = column not in frame.columns
            if absent or (frame.height and frame.get_column(column).null_count() == frame.height):
                missing.append(f"{table}.{column}")
    return missing


def require_columns(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    """Raise Unavailable naming the required columns that are missing."""
    missing = missing_columns(patients, responses)
    if missing:
        raise Unavailable(
            "Response analyses are unavailable: the data have no values in "
            + ", ".join(missing)
            + "."
        )


def response_rank(column: str = "response") -> pl.Expr:
    """Rank of an IMWG code, 0 for the best (sCR) to 7 for NE (null when missing)."""
    return pl.col(column).replace_strict(
        list(RESPONSE_CODES), list(range(len(RESPONSE_CODES))), default=None, return_dtype=pl.Int64
    )


def _code_of_rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(
        list(range(len(RESPONSE_CODES))), list(RESPONSE_CODES), return_dtype=pl.String
    )


def timepoint_key(column: str = "timepoint") -> pl.Expr:
    """Integer key of a timepoint code: 0 for post-debulking, n for C<n> (null otherwise)."""
    tp = pl.col(column)
    cycle = tp.str.slice(1).cast(pl.Int64, strict=False)
    return pl.when(tp == POST_DEBULKING).then(pl.lit(0, dtype=pl.Int64)).otherwise(cycle)


def timepoint_code(key: int) -> str:
    """The timepoint code of an integer key (inverse of `timepoint_key`; best included)."""
    if key == BEST_KEY:
        return BEST_TIMEPOINT
    return POST_DEBULKING if key == 0 else f"C{key}"


@dataclass(frozen=True)
class IndexedCohort:
    """Every patient's response at every timepoint as integer grids, for fast counting.

    `patient_ids`: the pseudonyms, patients numbered 0..n-1 in this order. `keys`: the
    timepoints with at least one assessment, as ascending integer keys (`timepoint_key`; the
    best response under `BEST_KEY`). `ranks`: keys x patients, each patient's `response_rank`
    at each timepoint (`NOT_ASSESSED_RANK` where there is none). `pet`: keys x patients, whether
    that assessment had PET-CT (never for the best response).
    """

    patient_ids: pl.Series
    keys: np.ndarray
    ranks: np.ndarray
    pet: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return self.patient_ids.len()

    def ranks_at(self, key: int) -> np.ndarray:
        """Every patient's rank at the timepoint of integer `key` (see `timepoint_key`)."""
        return self._row(self.ranks, key)

    def _row(self, grid: np.ndarray, key: int) -> np.ndarray:
        """The row of `grid` (keys x patients) at timepoint `key`; "Not assessed" if none."""
        at = int(np.searchsorted(self.keys, key))
        if at == self.keys.size or self.keys[at] != key:
            return np.full(self.n, NOT_ASSESSED_RANK, dtype=np.int8)
        row: np.ndarray = grid[at]
        return row

    #: How to find `pseudonym_order` without sorting strings (set by `restricted`).
    derive_order: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def pseudonym_order(self) -> np.ndarray:
        """The patients' numbers in pseudonym order."""
        if self.derive_order is not None:
            return self.derive_order()
        order: np.ndarray = self.patient_ids.arg_sort().to_numpy()
        return order

    @cached_property
    def ranks_by_pseudonym(self) -> np.ndarray:
        """`ranks` with the patients (columns) in pseudonym order."""
        ranks: np.ndarray = np.take(self.ranks, self.pseudonym_order, axis=1)
        return ranks

    def ranks_at_by_pseudonym(self, key: int) -> np.ndarray:
        """`ranks_at` with the patients in pseudonym order."""
        return self._row(self.ranks_by_pseudonym, key)

    @cached_property
    def by_pseudonym(self) -> tuple[np.ndarray, pl.Series]:
        """The patients in pseudonym order: their numbers and their sorted pseudonyms."""
        order = self.pseudonym_order
        return order, self.patient_ids.gather(order)

    def restricted(self, rows: np.ndarray, patient_ids: pl.Series) -> IndexedCohort:
        """The cohort of the patients at `rows` (whose pseudonyms are `patient_ids`)."""
        # np.take along an axis is several times faster than fancy indexing here.
        ranks = np.take(self.ranks, rows, axis=1)
        present = (ranks != NOT_ASSESSED_RANK).any(axis=1)
        pet = np.take(self.pet, rows, axis=1)

        def derive_order() -> np.ndarray:
            # This index's pseudonym order, kept to the patients at `rows` and renumbered:
            # no strings are sorted again.
            number = np.full(self.n, -1, dtype=np.int64)
            number[rows] = np.arange(len(rows))
            ordered = number[self.pseudonym_order]
            kept: np.ndarray = ordered[ordered >= 0]
            return kept

        if present.all():
            return IndexedCohort(patient_ids, self.keys, ranks, pet, derive_order)
        return IndexedCohort(
            patient_ids, self.keys[present], ranks[present], pet[present], derive_order
        )


def _visits(
    patients: pl.DataFrame | None, responses: pl.DataFrame, owners: np.ndarray | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Patients numbered 0..n-1 (``__idx``, ``patient_id``; every patient with an assessment
    when `patients` is None) and their assessments by integer keys: one row per patient and
    timepoint (``__idx``, ``__tp`` from `timepoint_key`, ``__rank`` from `response_rank`,
    ``pet_ct``), each patient's best response included under ``__tp`` = `BEST_KEY`.

    `owners`, when given with `patients`, is each response's patient row (-1: not in
    `patients`; `filters.response_owners`), which saves joining the responses to the patients
    by their text ids a second time."""
    base = patients if patients is not None else responses.select(_PATIENT).unique()
    recorded = (
        response_rank("best_response")
        if "best_response" in base.columns
        else pl.lit(None, dtype=pl.Int64)
    )
    cohort = base.select(pl.col(_PATIENT), recorded.alias("__best")).with_row_index("__idx")
    pet = pl.col("pet_ct").fill_null(False) if "pet_ct" in responses.columns else pl.lit(False)
    coded = responses.select(
        pl.col(_PATIENT),
        timepoint_key().alias("__tp"),
        response_rank().alias(_RANK),
        pet.alias("pet_ct"),
    )
    if owners is None or patients is None or owners.size != responses.height:
        owned = coded.drop_nulls(["__tp", _RANK]).join(
            cohort.select(_PATIENT, "__idx"), on=_PATIENT, how="inner"
        )
    else:
        owned = (
            coded.with_columns(pl.Series("__idx", owners, dtype=pl.Int64))
            .drop_nulls(["__tp", _RANK])
            .filter(pl.col("__idx") >= 0)
            .with_columns(pl.col("__idx").cast(cohort.schema["__idx"]))
        )
    visits = (
        owned.select("__idx", "__tp", _RANK, "pet_ct")
        # Integer keys from here on; sorting is much cheaper than grouping a million patients.
        .sort("__idx", "__tp", _RANK)
    )
    same_visit = (pl.col("__idx") == pl.col("__idx").shift(1)) & (
        pl.col("__tp") == pl.col("__tp").shift(1)
    )
    if visits.select(same_visit.any()).item():
        # A repeated assessment keeps its best response and any PET-CT (rare: group only then).
        visits = (
            visits.group_by("__idx", "__tp")
            .agg(pl.col(_RANK).min(), pl.col("pet_ct").any())
            .sort("__idx", "__tp")
            .select("__idx", "__tp", _RANK, "pet_ct")
        )
    # `visits` is in patient order: each patient's best cycle is the least rank of its run of
    # cycle rows (no second sort of 2.5 M rows).
    cycles = visits.filter(pl.col("__tp") > 0)
    best_rank = pl.Series("d", [None] * cohort.height, dtype=pl.Int64)
    if cycles.height:
        patient = cycles.get_column("__idx").to_numpy()
        starts = np.flatnonzero(np.concatenate(([True], patient[1:] != patient[:-1])))
        least = np.minimum.reduceat(cycles.get_column(_RANK).to_numpy(), starts)
        best_rank = best_rank.scatter(patient[starts], least)
    best = (
        cohort.select("__idx", "__best")
        .with_columns(best_rank)
        .select(
            "__idx",
            pl.lit(BEST_KEY, dtype=pl.Int64).alias("__tp"),
            pl.coalesce("__best", "d").alias(_RANK),
            pl.lit(False).alias("pet_ct"),
        )
        .drop_nulls(_RANK)
    )
    return cohort.select("__idx", _PATIENT), pl.concat([visits, best.cast(visits.schema)])


def index_cohort(
    patients: pl.DataFrame | None, responses: pl.DataFrame, owners: np.ndarray | None = None
) -> IndexedCohort:
    """Index the patients (every patient with an assessment when `patients` is None).

    `owners`: each response's row in `patients` when the caller has it (`_visits`).
    """
    cohort, visits = _visits(patients, responses, owners)
    tp = visits.get_column("__tp").to_numpy()
    keys, column = _timepoint_columns(tp)
    shape = (keys.size, cohort.height)
    where = (column, visits.get_column("__idx").to_numpy())
    ranks = np.full(shape, NOT_ASSESSED_RANK, dtype=np.int8)
    ranks[where] = visits.get_column(_RANK).to_numpy()
    pet = np.zeros(shape, dtype=bool)
    pet[where] = visits.get_column("pet_ct").to_numpy()
    return IndexedCohort(cohort.get_column(_PATIENT), keys, ranks, pet)


#: Timepoint keys up to this (every cycle a registry records, and `BEST_KEY`) are numbered by a
#: lookup table; beyond it, by sorting.
_LOOKUP_KEYS = 1 << 20


def _timepoint_columns(tp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct timepoint keys, ascending, and each row's position among them (as
    ``np.unique`` and ``np.searchsorted`` give them: at 3.5 M rows a lookup table of the few
    thousand possible keys is a fifth of their time)."""
    if tp.size == 0 or tp.min() < 0 or tp.max() >= _LOOKUP_KEYS:
        keys = np.unique(tp)
        return keys, np.searchsorted(keys, tp)
    seen = np.bincount(tp, minlength=1) > 0
    keys = np.flatnonzero(seen).astype(tp.dtype)
    position = np.cumsum(seen) - 1
    return keys, position[tp]


def assessments(responses: pl.DataFrame) -> pl.DataFrame:
    """One row per patient and timepoint (``patient_id``, ``timepoint``, ``response``, ``pet_ct``).

    Rows without a response are not assessments; a repeated assessment keeps the best response
    and counts PET-CT when any row had one.
    """
    cohort, visits = _visits(None, responses)
    return (
        visits.filter(pl.col("__tp") != BEST_KEY)
        .join(cohort, on="__idx")
        .sort(_PATIENT, "__tp")
        .select(
            _PATIENT,
            _mapped("__tp", _timepoint_codes(visits)).alias("timepoint"),
            _code_of_rank(_RANK).alias("response"),
            "pet_ct",
        )
    )


def _mapped(column: str, mapping: dict[Any, str]) -> pl.Expr:
    """`column` mapped to text (polars keeps the input type for an empty mapping)."""
    if not mapping:
        return pl.lit(None, dtype=pl.String)
    return pl.col(column).replace_strict(mapping, return_dtype=pl.String)


def _timepoint_codes(visits: pl.DataFrame) -> dict[int, str]:
    return {k: timepoint_code(k) for k in visits.get_column("__tp").unique().to_list()}


def best_responses(patients: pl.DataFrame | None, responses: pl.DataFrame) -> pl.DataFrame:
    """Best response to the bispecific per patient (``patient_id``, ``response``).

    The recorded ``patients.best_response`` wins; when it is missing, the best assessment on a
    cycle (post-debulking excluded) is used. Patients with neither are left out.
    """
    cohort, visits = _visits(patients, responses)
    return (
        visits.filter(pl.col("__tp") == BEST_KEY)
        .join(cohort, on="__idx")
        .select(_PATIENT, _code_of_rank(_RANK).alias("response"))
        .sort(_PATIENT)
    )


def clopper_pearson(
    successes: np.ndarray, trials: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) confidence bounds of proportions, as R's ``binom.test``."""
    from scipy import special  # deferred: SciPy takes a third of a second to import

    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, special.betaincinv(x, n - x + 1, alpha / 2), 0.0)
        upper = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - alpha / 2), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


@dataclass(frozen=True)
class ResponseSummary:
    """Response by timepoint, one row per group and timepoint.

    `frame` columns: ``group``, ``timepoint``, ``timepoint_label``, ``n_patients`` (in the group),
    ``n_assessed``, ``denominator``, one count column per IMWG code, ``not_assessed``,
    ``orr_n``, ``orr_pct``, ``orr_ci_lower_pct``, ``orr_ci_upper_pct`` (Clopper–Pearson 95 %),
    ``vgpr_n``, ``vgpr_pct``, ``cr_n``, ``cr_pct``, ``pet_ct_n``. Percentages are 0–100 of
    ``denominator`` (null when it is 0). `counts` is the same in long form (``group``,
    ``timepoint``, ``timepoint_label``, ``category``, ``n``, ``denominator``, ``pct``), with
    "Not assessed" as a category when the denominator is all treated patients.
    """

    frame: pl.DataFrame
    counts: pl.DataFrame
    denominator: Denominator
    by: str | None
    groups: tuple[str, ...]

    @property
    def denominator_label(self) -> str:
        """What the percentages are of, in words."""
        return DENOMINATOR_LABELS[self.denominator]

    @property
    def timepoints(self) -> tuple[str, ...]:
        """The timepoints shown, in clinical order."""
        return tuple(self.frame.get_column("timepoint").unique(maintain_order=True).to_list())


def response_by_timepoint(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    denominator: Denominator = "evaluable",
    by: str | None = None,
    *,
    indexed: IndexedCohort | None = None,
    levels: Levels | None = None,
) -> ResponseSummary:
    """IMWG response counts and rates per timepoint (and per group of `by`).

    `indexed`, when given, is the index of the cohort whose frames these are (from
    `bsab_explorer.analyses.prepared.cohort_index`; it saves indexing the assessments again);
    `levels`, when given, are `patient_levels(patients, by)`.
    """
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, not {denominator!r}")
    require_columns(patients, responses)
    if by is not None:
        patient_group, groups = cohort_group_codes(patients, by, levels)
    else:
        patient_group, groups = np.zeros(patients.height, dtype=np.int64), (OVERALL,)
    if indexed is None:
        indexed = index_cohort(patients, responses)
    # Counting with numpy on integer codes: one bincount per quantity, whatever the cohort size.
    keys = indexed.keys
    n_groups, n_keys, n_codes = len(groups), keys.size, len(RESPONSE_CODES)
    # Per timepoint, one count per group and response rank ("Not assessed", the last rank,
    # dropped): group-major rows of (group, timepoint), one column per IMWG code.
    cells = (patient_group * (n_codes + 1)).astype(np.int32)
    per_key = [
        np.bincount(cells + indexed.ranks[k], minlength=n_groups * (n_codes + 1))
        for k in range(n_keys)
    ]
    tally = (
        np.stack(per_key, axis=0).reshape(n_keys, n_groups, n_codes + 1)
        if n_keys
        else np.zeros((0, n_groups, n_codes + 1), dtype=np.int64)
    )
    tally = tally.transpose(1, 0, 2).reshape(n_groups * n_keys, n_codes + 1)[:, :n_codes]
    pet_n = np.stack(
        [np.bincount(patient_group[indexed.pet[k]], minlength=n_groups) for k in range(n_keys)]
        or [np.zeros(n_groups, dtype=np.int64)],
        axis=1,
    ).ravel()[: n_groups * n_keys]
    sizes = np.bincount(patient_group, minlength=n_groups)
    codes = [timepoint_code(int(k)) for k in keys]
    frame = pl.DataFrame(
        {
            _GROUP: [g for g in groups for _ in codes],
            "timepoint": codes * n_groups,
            "n_patients": np.repeat(sizes, n_keys),
            "n_assessed": tally.sum(axis=1),
            **{code: tally[:, i] for i, code in enumerate(RESPONSE_CODES)},
            "orr_n": tally[:, : len(ORR_CODES)].sum(axis=1),
            "vgpr_n": tally[:, : len(VGPR_OR_BETTER_CODES)].sum(axis=1),
            "cr_n": tally[:, : len(CR_OR_BETTER_CODES)].sum(axis=1),
            "pet_ct_n": pet_n,
        },
        schema_overrides={_GROUP: pl.String, "timepoint": pl.String},
    ).with_columns(
        pl.exclude(_GROUP, "timepoint").cast(pl.Int64),
    )
    frame = frame.with_columns(
        # PET-CT is a property of visits, not of the derived best response.
        pl.when(pl.col("timepoint") == BEST_TIMEPOINT)
        .then(None)
        .otherwise(pl.col("pet_ct_n"))
        .alias("pet_ct_n"),
        (pl.col("n_patients") - pl.col("n_assessed")).alias("not_assessed"),
        (pl.col("n_assessed") if denominator == "evaluable" else pl.col("n_patients")).alias(
            "denominator"
        ),
    )
    lower, upper = clopper_pearson(
        frame.get_column("orr_n").to_numpy(), frame.get_column("denominator").to_numpy()
    )

    def pct(column: str) -> pl.Expr:
        d = pl.col("denominator")
        return pl.when(d > 0).then(100.0 * pl.col(column) / d).otherwise(None)

    frame = frame.with_columns(
        _mapped("timepoint", {t: timepoint_label(t) for t in codes}).alias("timepoint_label"),
        pct("orr_n").alias("orr_pct"),
        pl.Series("orr_ci_lower_pct", 100.0 * lower).fill_nan(None),
        pl.Series("orr_ci_upper_pct", 100.0 * upper).fill_nan(None),
        pct("vgpr_n").alias("vgpr_pct"),
        pct("cr_n").alias("cr_pct"),
    ).select(
        pl.col(_GROUP).alias("group"),
        "timepoint",
        "timepoint_label",
        "n_patients",
        "n_assessed",
        "denominator",
        *RESPONSE_CODES,
        "not_assessed",
        "orr_n",
        "orr_pct",
        "orr_ci_lower_pct",
        "orr_ci_upper_pct",
        "vgpr_n",
        "vgpr_pct",
        "cr_n",
        "cr_pct",
        "pet_ct_n",
    )
    categories = list(RESPONSE_CODES) + ([NOT_ASSESSED] if denominator == "all_treated" else [])
    counts = (
        frame.rename({NOT_ASSESSED_COLUMN: NOT_ASSESSED})
        .unpivot(
            on=categories,
            index=["group", "timepoint", "timepoint_label", "denominator"],
            variable_name="category",
            value_name="n",
        )
        .with_columns(
            pl.when(pl.col("denominator") > 0)
            .then(100.0 * pl.col("n") / pl.col("denominator"))
            .otherwise(None)
            .alias("pct")
        )
        .select("group", "timepoint", "timepoint_label", "category", "n", "denominator", "pct")
    )
    return ResponseSummary(frame, counts, denominator, by, groups)


def rate_statement(row: dict[str, object], rate: str = "orr") -> str:
    """A rate with its denominator, e.g. ``ORR 64 % (25/39; 95 % CI 47–79)``."""
    names = {"orr": "ORR", "vgpr": "≥VGPR", "cr": "CR"}
    n, d, p = row[f"{rate}_n"], row["denominator"], row[f"{rate}_pct"]
    if p is None:
        return f"{names[rate]} not evaluable (no patient assessed)"
    text = f"{names[rate]} {format_percent(int(str(n)), int(str(d)))} % ({n}/{d}"
    if rate == "orr":
        lo, hi = float(str(row["orr_ci_lower_pct"])), float(str(row["orr_ci_upper_pct"]))
        text += f"; 95 % CI {lo:.0f}–{hi:.0f}"
    return text + ")"
