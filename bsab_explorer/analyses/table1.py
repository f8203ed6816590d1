"""Table 1: baseline, disease, treatment and safety characteristics, overall and by a variable.

Every count states its denominator when it differs from the column's N, missing values are
counted in a "Not recorded" row (never dropped silently), and a characteristic whose column is
absent or empty reads "not recorded" instead of failing. Optional p-values name their test:

- Fisher's exact test (two-sided) for 2 x 2 tables (as R's ``fisher.test``);
- Pearson's chi-squared test without continuity correction for larger tables (as R's
  ``chisq.test``; an exact Fisher–Freeman–Halton test is not used because it does not scale to
  large cohorts);
- Wilcoxon rank-sum test for numbers in two groups (as R's ``wilcox.test``: exact when both
  groups have fewer than 50 values and there are no ties, else normal approximation with
  continuity correction); Kruskal–Wallis test for more than two groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from bsab_explorer.analyses.levels import column_levels, column_present_values
from bsab_explorer.schema import (
    AGE_CAP,
    ALKYLATING_COLUMNS,
    BSAB_CODES,
    CYTOGENETIC_COLUMNS,
    EMD_SITE_COLUMNS,
    PATIENTS,
    column_label,
)

#: Label of the group of patients whose split variable is missing.
NOT_RECORDED = "Not recorded"
#: Label of the all-patients column.
OVERALL = "All patients"
#: A split variable may have at most this many groups (besides "Not recorded").
MAX_GROUPS = 12

FISHER = "Fisher's exact test"
CHI_SQUARED = "Pearson's chi-squared test"
WILCOXON = "Wilcoxon rank-sum test"
KRUSKAL = "Kruskal–Wallis test"
#: The tests p-values may come from, in the order notes list them.
TESTS = (FISHER, CHI_SQUARED, WILCOXON, KRUSKAL)

_GROUP = "__group"
_VALUE_LABELS = {"sex": {"F": "Female", "M": "Male"}}
_CYTOGENETIC_ORDER = ("del17p", "gain_1q21", "t_4_14", "t_14_16", "del_1p32", "amp_1q21")
_OTHER_AGENTS = (
    "chemo_anthracycline",
    "chemo_etoposide",
    "chemo_vincristine",
    "chemo_cisplatin",
    "chemo_other",
)
_SAFETY_FLAGS = (
    "tocilizumab",
    "crs_dexamethasone",
    "anakinra",
    "infection_grade3plus",
    "cytopenia_grade3plus",
)
_SUPPORTIVE = (
    "ig_supplementation",
    "pjp_prophylaxis",
    "antibacterial_prophylaxis",
    "antiviral_prophylaxis",
)
_GRADES = (1, 2, 3, 4)


# --- groups ------------------------------------------------------------------------------------


def _value_label(column: str, value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = str(value)
    return _VALUE_LABELS.get(column, {}).get(text, text)


def _group_values(patients: pl.DataFrame, by: str) -> list[object]:
    """The values of `by` present, in group order (booleans yes first, codes in contract
    order, other values sorted)."""
    if by not in patients.columns:
        raise KeyError(f"column {by!r} is not in the patients table")
    return _group_order(patients, by, column_present_values(patients, by, _codes(patients, by)))


def _codes(patients: pl.DataFrame, by: str) -> tuple[str, ...]:
    return () if patients.schema[by] == pl.Boolean else PATIENTS.codes_of(by)


def _group_order(patients: pl.DataFrame, by: str, present: list[object]) -> list[object]:
    """The present values of `by` in group order (booleans: yes first), at most MAX_GROUPS."""
    if patients.schema[by] == pl.Boolean:
        ordered: list[object] = [v for v in (True, False) if v in present]
    else:
        ordered = present
    if len(ordered) > MAX_GROUPS:
        raise ValueError(
            f"{column_label(by)} has {len(ordered)} values; choose a variable with at most "
            f"{MAX_GROUPS} groups"
        )
    return ordered


def cohort_groups(patients: pl.DataFrame, by: str) -> tuple[pl.Expr, tuple[str, ...]]:
    """An expression labelling each patient's group of `by`, and the group labels in order.

    Booleans read "Yes"/"No" (yes first), codes follow the contract order, other values sort;
    patients with `by` missing form the group "Not recorded" (last, only when present).
    """
    ordered = _group_values(patients, by)
    dtype = patients.schema[by]
    labels = [_value_label(by, v) for v in ordered]
    expr: pl.Expr = pl.lit(NOT_RECORDED, dtype=pl.String)
    for value, label in zip(reversed(ordered), reversed(labels), strict=True):
        expr = pl.when(pl.col(by) == pl.lit(value, dtype=dtype)).then(pl.lit(label)).otherwise(expr)
    if patients.get_column(by).null_count() > 0:
        labels.append(NOT_RECORDED)
    return expr.alias(_GROUP), tuple(labels)


def cohort_group_codes(patients: pl.DataFrame, by: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each patient's group of `by` as its position among the labels of `cohort_groups`
    (the same labels, in the same order), without writing a label per patient."""
    if by not in patients.columns:
        raise KeyError(f"column {by!r} is not in the patients table")
    present, rows = column_levels(patients, by, _codes(patients, by))
    ordered = _group_order(patients, by, list(present))
    labels = [_value_label(by, v) for v in ordered]
    if patients.get_column(by).null_count() > 0:
        labels.append(NOT_RECORDED)
    if present != ordered:  # booleans: yes first
        position = np.array([*(ordered.index(v) for v in present), len(ordered)], dtype=np.int64)
        rows = position[rows]
    return rows, tuple(labels)


# --- formatting --------------------------------------------------------------------------------


def format_percent(numerator: int, denominator: int) -> str:
    """A percentage as printed in the table: one decimal below 10 %, whole above (half up)."""
    pct = 100.0 * numerator / denominator
    if 0 < pct < 10:
        return f"{math.floor(pct * 10 + 0.5) / 10:.1f}"
    return f"{math.floor(pct + 0.5):.0f}"


def format_number(value: float) -> str:
    """A number without trailing zeros (whole numbers stay whole, else one decimal)."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


def _format_value(column: str, value: float) -> str:
    # Ages are stored capped at AGE_CAP and must read "90+" wherever shown.
    if column == "age_years" and value >= AGE_CAP:
        return f"{AGE_CAP}+"
    return format_number(value)


def format_count(numerator: int, denominator: int, column_n: int, subset: bool = False) -> str:
    """``n (%)``, or ``n/d (%)`` when the denominator differs from the column's N.

    An empty denominator reads "not recorded", or "–" for a share of a subset (e.g. CRS grades
    in a group without CRS).
    """
    if denominator == 0:
        return "–" if subset else "not recorded"
    pct = format_percent(numerator, denominator)
    if denominator == column_n:
        return f"{numerator} ({pct} %)"
    return f"{numerator}/{denominator} ({pct} %)"


# --- row specifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    title: str


@dataclass(frozen=True)
class _Count:
    """Patients meeting `condition` among those with it recorded (and within `among`)."""

    label: str
    condition: pl.Expr | None  # None: the needed column is absent or empty
    indent: int = 0
    among: pl.Expr | None = None
    test: bool = True
    #: The column whose missing values are the condition's (cheaper to count); None: the
    #: condition's own.
    recorded: pl.Expr | None = None


@dataclass(frozen=True)
class _Summary:
    label: str
    column: str
    available: bool
    indent: int = 0


@dataclass(frozen=True)
class _Levels:
    """A categorical variable: a header row, one row a level, a test over all buckets."""

    label: str
    bucket: pl.Expr | None  # the level of each patient (null: not recorded)
    levels: tuple[tuple[object, str], ...]  # (bucket value, row label) shown
    indent: int = 0
    #: For a binned count: the raw column (levels compare with it directly; the last is ">=").
    source: pl.Expr | None = None
    #: Levels without a patient in the cohort are not shown (codes the contract lists).
    hide_empty: bool = False


@dataclass(frozen=True)
class _Heading:
    """A heading row inside a section (e.g. the list of localisations that follows)."""

    label: str
    indent: int = 0


_Spec = _Section | _Heading | _Count | _Summary | _Levels


def _available(patients: pl.DataFrame, column: str) -> bool:
    return column in patients.columns and patients.get_column(column).null_count() < patients.height


def _flag(patients: pl.DataFrame, column: str, indent: int = 0, label: str = "") -> _Count:
    condition = pl.col(column).cast(pl.Boolean) if _available(patients, column) else None
    return _Count(label or column_label(column), condition, indent, recorded=pl.col(column))


def _equals(patients: pl.DataFrame, column: str, value: str, label: str) -> _Count:
    condition = (pl.col(column) == value) if _available(patients, column) else None
    return _Count(label, condition, recorded=pl.col(column))


def _binned(patients: pl.DataFrame, column: str, label: str, top: int = 3) -> _Levels:
    """Counts 1, 2, ..., >= top of an integer column (other values only enter the test)."""
    shown = (*((k, str(k)) for k in range(1, top)), (top, f"≥ {top}"))
    if not _available(patients, column):
        return _Levels(label, None, shown)
    return _Levels(label, pl.col(column).clip(upper_bound=top), shown, source=pl.col(column))


def _graded(patients: pl.DataFrame, column: str, name: str) -> list[_Spec]:
    """Any grade (>= 1), then each grade as a share of those with any grade."""
    if not _available(patients, column):
        return [_Count(f"{name} (any grade)", None)]
    grade = pl.col(column)
    any_grade = grade >= 1
    rows: list[_Spec] = [_Count(f"{name} (any grade)", grade >= 1)]
    rows += [_Count(f"Grade {g}", grade == g, 1, any_grade, test=False) for g in _GRADES]
    return rows


def _code_levels(patients: pl.DataFrame, column: str) -> _Levels | _Count:
    label = column_label(column)
    if not _available(patients, column):
        return _Count(label, None)
    # Every contract code is counted and codes without patients are hidden when the table is
    # drawn: cheaper than finding the distinct values of a million rows.
    # (A chain of != is several times faster than is_in on strings.)
    other = pl.all_horizontal([pl.col(column) != code for code in BSAB_CODES])
    ordered = list(BSAB_CODES)
    if patients.select(other.any()).item():
        values = patients.get_column(column)
        ordered += sorted(values.filter(~values.is_in(BSAB_CODES)).drop_nulls().unique())
    levels = tuple((v, v.capitalize()) for v in ordered)
    return _Levels(label, pl.col(column), levels, hide_empty=True)


def _alkylating(patients: pl.DataFrame) -> _Count:
    present = [c for c in ALKYLATING_COLUMNS if _available(patients, c)]
    label = "Alkylating agent (any)"
    if not present:
        return _Count(label, None)
    # Kleene logic: any true agent -> true; all recorded false -> false; otherwise unknown.
    return _Count(label, pl.any_horizontal(*(pl.col(c) for c in present)))


def _specs(patients: pl.DataFrame) -> list[_Spec]:
    """The rows of Table 1, in the paper's order."""
    ps = patients
    cytogenetics = [_flag(ps, c, 1) for c in _CYTOGENETIC_ORDER if c in CYTOGENETIC_COLUMNS]
    return [
        _Section("Baseline characteristics"),
        _Summary(column_label("age_years"), "age_years", _available(ps, "age_years")),
        _equals(ps, "sex", "F", "Female"),
        _Summary(column_label("prior_lines"), "prior_lines", _available(ps, "prior_lines")),
        _flag(ps, "triple_class_refractory"),
        _equals(ps, "iss_stage", "III", f"{column_label('iss_stage')} III"),
        _Section("Disease characteristics"),
        _flag(ps, "hrca"),
        *cytogenetics,
        _flag(ps, "emd"),
        _binned(ps, "emd_sites", column_label("emd_sites")),
        _Heading("Extramedullary localisation"),
        *(_flag(ps, c, 1) for c in EMD_SITE_COLUMNS),
        _flag(ps, "pmd"),
        _flag(ps, "high_pc_infiltration"),
        _flag(ps, "acute_kidney_failure"),
        _flag(ps, "hypercalcemia"),
        _Section("Debulking chemotherapy and bispecific antibody"),
        _binned(ps, "chemo_cycles", column_label("chemo_cycles")),
        _alkylating(ps),
        *(_flag(ps, c, 1) for c in ALKYLATING_COLUMNS),
        *(_flag(ps, c) for c in _OTHER_AGENTS),
        _code_levels(ps, "bsab"),
        _Summary(
            column_label("days_chemo_to_bsab"),
            "days_chemo_to_bsab",
            _available(ps, "days_chemo_to_bsab"),
        ),
        _Section("Safety"),
        *_graded(ps, "crs_grade", "CRS"),
        *_graded(ps, "icans_grade", "ICANS"),
        *(_flag(ps, c) for c in _SAFETY_FLAGS),
        _Section("Supportive care"),
        *(_flag(ps, c) for c in _SUPPORTIVE),
    ]


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table1Column:
    """One data column of Table 1: a group (or all patients) and its number of patients."""

    label: str
    n: int

    @property
    def header(self) -> str:
        """The column header, e.g. ``All patients (N = 44)``."""
        return f"{self.label} (N = {self.n})"


@dataclass(frozen=True)
class Table1:
    """Table 1 as display strings: one row a characteristic, one column a group.

    `frame` has the columns ``section``, ``characteristic``, ``indent`` (0 = header row,
    1 = item, 2 = sub-item), one column per entry of `columns` (named by its header) and, with
    p-values, ``p_value`` (float, null when not computed) and ``test``.
    """

    frame: pl.DataFrame
    columns: tuple[Table1Column, ...]
    by: str | None = None
    p_values: bool = False

    @property
    def by_label(self) -> str | None:
        """Readable name of the split variable."""
        return column_label(self.by) if self.by else None

    @property
    def notes(self) -> tuple[str, ...]:
        """Footnotes that say how to read the cells (and which tests gave the p-values)."""
        notes = [
            "n (%) of the column's patients; n/d (%) when the denominator d differs (values "
            'not recorded are left out of d and counted in a "Not recorded" row).',
            "CRS and ICANS grades: share of the patients with CRS (ICANS) of any grade.",
            "Numbers: median (min–max).",
        ]
        if self.p_values and "test" in self.frame.columns:
            tests = [t for t in TESTS if t in set(self.frame.get_column("test").drop_nulls())]
            if tests:
                notes.append(
                    f"p-values ({', '.join(tests)}) compare the recorded groups of "
                    f"{self.by_label}; patients with it not recorded are not compared."
                )
        return tuple(notes)

    def cell(self, characteristic: str, column: str, section: str | None = None) -> str:
        """The text of one cell, by characteristic label and column label (for tests, exports)."""
        header = next(c.header for c in self.columns if c.label == column)
        rows = self.frame.filter(pl.col("characteristic") == characteristic)
        if section is not None:
            rows = rows.filter(pl.col("section") == section)
        if rows.height != 1:
            raise KeyError(f"{characteristic!r} matches {rows.height} rows")
        return str(rows.get_column(header)[0])


#: The kinds of aggregate a cell may need (see `_Builder`).
_KINDS = ("count", "recorded", "missing", "size", "zero", "median", "min", "max")
_NUMBER_KINDS = ("median", "min", "max")


@dataclass
class _Builder:
    """The aggregates Table 1's cells need, each a kind and a row-level expression: "count"
    (rows where a condition is true), "recorded" / "missing" (rows with / without a value),
    "median", "min", "max", "size" (rows) and "zero"."""

    items: list[tuple[str, str, pl.Expr | None]] = field(default_factory=list)

    def add(self, kind: str, expr: pl.Expr | None = None) -> str:
        name = f"a{len(self.items)}"
        self.items.append((name, kind, expr))
        return name

    def exprs(self, kinds: Sequence[str] = _KINDS) -> list[pl.Expr]:
        """Polars aggregate expressions of the items of `kinds`, named by item."""
        out = []
        for name, kind, expr in self.items:
            if kind not in kinds:
                continue
            if kind in ("size", "zero"):
                agg = pl.len() if kind == "size" else pl.lit(0)
            else:
                assert expr is not None
                agg = {
                    "count": lambda e: e.sum(),
                    "recorded": lambda e: pl.len() - e.null_count(),
                    "missing": lambda e: e.null_count(),
                    "median": lambda e: e.median(),
                    "min": lambda e: e.min(),
                    "max": lambda e: e.max(),
                }[kind](expr)
            out.append(agg.alias(name))
        return out

    def by_group(
        self, frame: pl.DataFrame, codes: np.ndarray, n_groups: int
    ) -> list[dict[str, object]]:
        """The aggregates of all patients, then of each group (rows of `frame` whose code is
        the group's; the groups partition the patients).

        Counts are taken on bitmaps: each condition is evaluated once for every patient, and a
        group's count is the number of bits set in (condition AND group). Medians, minima and
        maxima of whole numbers come from each group's histogram (see `_number_summaries`).
        """
        keys: dict[str, str] = {}  # item -> the row-level boolean it counts
        rows: dict[str, pl.Expr] = {}
        for name, kind, expr in self.items:
            if kind in ("count", "recorded", "missing"):
                assert expr is not None
                key = str(expr) if kind == "count" else f"recorded:{expr}"
                keys[name] = key
                if key not in rows:
                    rows[key] = expr if kind == "count" else expr.is_not_null()
        table = frame.select([e.alias(f"b{i}") for i, e in enumerate(rows.values())])
        group_bits = [_pack(codes == group) for group in range(n_groups)]
        counts: dict[str, list[int]] = {}
        for i, key in enumerate(rows):
            bits = _bits(table.to_series(i))
            counts[key] = [int(np.bitwise_count(bits & g).sum()) for g in group_bits]
        sizes = np.bincount(codes, minlength=n_groups)[:n_groups].tolist()
        numbers = {
            column: _number_summaries(frame.get_column(column), codes, n_groups)
            for column in {
                n for _, kind, e in self.items if kind in _NUMBER_KINDS and e is not None
                for n in e.meta.root_names()
            }
        }  # fmt: skip
        stats: list[dict[str, object]] = [{} for _ in range(n_groups + 1)]
        values: Sequence[object]
        for name, kind, expr in self.items:
            if kind in _NUMBER_KINDS:
                assert expr is not None
                (column,) = expr.meta.root_names()
                values = numbers[column][_NUMBER_KINDS.index(kind)]
            else:
                counted: list[int]
                if kind == "size":
                    counted = sizes
                elif kind == "zero":
                    counted = [0] * n_groups
                elif kind == "missing":
                    counted = [size - n for size, n in zip(sizes, counts[keys[name]], strict=True)]
                else:
                    counted = counts[keys[name]]
                # The groups partition the patients: all patients' counts are their sums.
                values = [*counted, sum(counted)]
            for found, value in zip(stats, values, strict=True):
                found[name] = value
        *groups, overall = stats
        return [overall, *groups]


#: Whole numbers spanning at most this many values are summarised from histograms.
_HISTOGRAM_SPAN = 1 << 16


def _number_summaries(
    values: pl.Series, codes: np.ndarray, n_groups: int
) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Median, minimum and maximum of `values` in each group and then for all patients (None
    where there is no value), as Polars computes them (the median of an even count is the mean
    of the middle two)."""
    bounds = values.to_frame().select(pl.first().min().alias("low"), pl.first().max().alias("high"))
    low, high = bounds.row(0)
    summaries: tuple[list[float | None], list[float | None], list[float | None]] = ([], [], [])
    medians, lows, highs = summaries
    if not values.dtype.is_integer() or low is None or high - low >= _HISTOGRAM_SPAN:
        for rows in [*(values.filter(pl.Series(codes == g)) for g in range(n_groups)), values]:
            row = rows.to_frame().select(
                pl.first().median().alias("median"),
                pl.first().min().alias("min"),
                pl.first().max().alias("max"),
            )
            for found, value in zip(summaries, row.row(0), strict=True):
                found.append(None if value is None else float(value))
        return summaries
    # Each group's histogram over the span of values: one bincount for every group (rows
    # without a value are counted in an extra group, dropped).
    span = high - low + 1
    cells = values.fill_null(low).to_numpy().astype(np.int64) - low
    group = (
        codes
        if values.null_count() == 0
        else np.where(values.is_null().to_numpy(), n_groups, codes)
    )
    cells += group * span
    histograms = np.bincount(cells, minlength=(n_groups + 1) * span).reshape(n_groups + 1, span)
    histograms[n_groups] = histograms[:n_groups].sum(axis=0)  # all patients
    for histogram in histograms:
        total = int(histogram.sum())
        if total == 0:
            for found in summaries:
                found.append(None)
            continue
        cumulative = np.cumsum(histogram)
        # The values at (1-based) ranks ceil(total / 2) and floor(total / 2) + 1.
        lower = int(np.searchsorted(cumulative, (total + 1) // 2))
        upper = int(np.searchsorted(cumulative, total // 2 + 1))
        seen = np.flatnonzero(histogram)
        medians.append(low + (lower + upper) / 2)
        lows.append(float(low + seen[0]))
        highs.append(float(low + seen[-1]))
    return summaries


def _pack(rows: np.ndarray) -> np.ndarray:
    """Booleans as little-endian bit words (uint64; the padding bits are 0)."""
    packed = np.packbits(rows, bitorder="little")
    padded = np.zeros(-(-packed.size // 8) * 8, dtype=np.uint8)
    padded[: packed.size] = packed
    return padded.view(np.uint64)


def _bits(values: pl.Series) -> np.ndarray:
    """The rows where a boolean column is true (missing counts as not true), as `_pack` words.

    Read from the column's own Arrow bitmaps (values AND validity) without unpacking them.
    """
    n = values.len()
    array = values.cast(pl.Boolean).rechunk().to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    validity, data = array.buffers()[:2]
    if n == 0 or data is None or array.offset % 8:
        return _pack(values.cast(pl.Boolean).fill_null(False).to_numpy())
    start, size = array.offset // 8, -(-n // 8)
    padded = np.zeros(-(-size // 8) * 8, dtype=np.uint8)
    padded[:size] = np.frombuffer(data, dtype=np.uint8, count=size, offset=start)
    if validity is not None:
        padded[:size] &= np.frombuffer(validity, dtype=np.uint8, count=size, offset=start)
    if n % 8:
        padded[size - 1] &= (1 << (n % 8)) - 1  # bits past the last row are not rows
    return padded.view(np.uint64)


def build_table1(patients: pl.DataFrame, by: str | None = None, p_values: bool = False) -> Table1:
    """Table 1 of the cohort (all patients, plus one column per group of `by` when given)."""
    group_labels: tuple[str, ...] = ()
    codes = np.zeros(0, dtype=np.int64)
    frame = patients  # with each patient's group label, for the p-values
    if by is not None:
        codes, group_labels = cohort_group_codes(patients, by)
        if p_values:
            label_of = dict(enumerate(group_labels))
            labels = pl.Series(_GROUP, codes).replace_strict(label_of, return_dtype=pl.String)
            frame = patients.with_columns(labels)
    specs = _specs(patients)
    builder = _Builder()
    plans: list[tuple[_Spec, dict[str, str]]] = []
    for spec in specs:
        plans.append((spec, _plan(spec, builder)))
    size = builder.add("size")
    if group_labels:
        stats_by_column = builder.by_group(patients, codes, len(group_labels))
    else:
        stats_by_column = [frame.select(builder.exprs()).row(0, named=True)]
    columns = tuple(
        Table1Column(label, int(str(s[size])))
        for label, s in zip((OVERALL, *group_labels), stats_by_column, strict=True)
    )
    tested = [label for label in group_labels if label != NOT_RECORDED]
    rows: list[dict[str, object]] = []
    section = ""
    for spec, names in plans:
        if isinstance(spec, _Section):
            section = spec.title
            rows.append(_row(section, spec.title, 0, [""] * len(columns), columns))
            continue
        for label, indent, cells, key in _render(spec, names, stats_by_column, columns):
            row = _row(section, label, indent, cells, columns)
            if p_values:
                p, test = (None, None)
                if key and len(tested) >= 2:
                    tested_stats = [stats_by_column[1 + group_labels.index(g)] for g in tested]
                    p, test = _test(spec, frame, tested, names, tested_stats)
                row["p_value"], row["test"] = p, test
            rows.append(row)
    schema: dict[str, type[pl.DataType]] = {
        "section": pl.String,
        "characteristic": pl.String,
        "indent": pl.Int64,
    }
    schema |= {c.header: pl.String for c in columns}
    if p_values:
        schema |= {"p_value": pl.Float64, "test": pl.String}
    if p_values:
        for row in rows:
            row.setdefault("p_value", None)
            row.setdefault("test", None)
    table = pl.DataFrame(rows, schema=schema)
    return Table1(table, columns, by, p_values)


def _row(
    section: str, label: str, indent: int, cells: Sequence[str], columns: Sequence[Table1Column]
) -> dict[str, object]:
    row: dict[str, object] = {"section": section, "characteristic": label, "indent": indent}
    row |= {c.header: cell for c, cell in zip(columns, cells, strict=True)}
    return row


def _plan(spec: _Spec, builder: _Builder) -> dict[str, str]:
    """Register the aggregates a row needs; returns their names.

    Plain sums and null counts only: they are the cheapest aggregations polars has.
    """
    if isinstance(spec, _Count) and spec.condition is not None:
        if spec.among is not None:
            # Grade rows: the condition implies `among`, which excludes missing values.
            return {
                "n": builder.add("count", spec.condition),
                "d": builder.add("count", spec.among),
                "miss": builder.add("zero"),
            }
        recorded = spec.condition if spec.recorded is None else spec.recorded
        return {
            "n": builder.add("count", spec.condition),
            "d": builder.add("recorded", recorded),
            "miss": builder.add("missing", recorded),
        }
    if isinstance(spec, _Summary) and spec.available:
        value = pl.col(spec.column)
        return {
            "median": builder.add("median", value),
            "min": builder.add("min", value),
            "max": builder.add("max", value),
            "miss": builder.add("missing", value),
        }
    if isinstance(spec, _Levels) and spec.bucket is not None:
        names = {
            f"level:{key}": builder.add("count", condition)
            for key, _, condition in _level_conditions(spec)
        }
        # A binned count's bucket is missing exactly where its source is (cheaper to count).
        recorded = spec.bucket if spec.source is None else spec.source
        names["d"] = builder.add("recorded", recorded)
        names["miss"] = builder.add("missing", recorded)
        return names
    return {}


def _level_conditions(spec: _Levels) -> list[tuple[object, str, pl.Expr]]:
    """(key, label, condition) of each level shown; the top level of a binned count is ">="."""
    assert spec.bucket is not None
    source = spec.source if spec.source is not None else spec.bucket
    rows = []
    for i, (key, label) in enumerate(spec.levels):
        open_top = spec.source is not None and i == len(spec.levels) - 1
        rows.append((key, label, source.ge(key) if open_top else source.eq(key)))
    return rows


def _render(
    spec: _Spec,
    names: dict[str, str],
    stats_by_column: list[dict[str, object]],
    columns: tuple[Table1Column, ...],
) -> list[tuple[str, int, list[str], bool]]:
    """Display rows of one spec: (label, indent, cells, whether the row carries the test)."""
    assert not isinstance(spec, _Section)
    indent = spec.indent + 1
    blank = ["" for _ in columns]
    if isinstance(spec, _Heading):
        return [(spec.label, indent, blank, False)]
    if not names:
        return [(spec.label, indent, ["not recorded" for _ in columns], False)]

    def value(stats: dict[str, object], key: str) -> int:
        return int(str(stats[names[key]] or 0))

    out: list[tuple[str, int, list[str], bool]] = []
    misses = [value(s, "miss") for s in stats_by_column]
    if isinstance(spec, _Count):
        cells = [
            format_count(value(s, "n"), value(s, "d"), col.n, spec.among is not None)
            for s, col in zip(stats_by_column, columns, strict=True)
        ]
        out.append((spec.label, indent, cells, spec.test))
    elif isinstance(spec, _Summary):
        cells = []
        for s in stats_by_column:
            median = s[names["median"]]
            if median is None:
                cells.append("not recorded")
                continue
            shown = [float(str(v)) for v in (median, s[names["min"]], s[names["max"]])]
            mid, lo, hi = (_format_value(spec.column, v) for v in shown)
            cells.append(f"{mid} ({lo}–{hi})")
        out.append((f"{spec.label}, median (min–max)", indent, cells, True))
    else:
        out.append((spec.label, indent, blank, True))
        for key, label in spec.levels:
            if spec.hide_empty and value(stats_by_column[0], f"level:{key}") == 0:
                continue
            cells = [
                format_count(value(s, f"level:{key}"), value(s, "d"), col.n)
                for s, col in zip(stats_by_column, columns, strict=True)
            ]
            out.append((label, indent + 1, cells, False))
    if any(misses):
        sub = indent + 1
        out.append((NOT_RECORDED, sub, [str(m) for m in misses], False))
    return out


# --- tests -------------------------------------------------------------------------------------


def _test(
    spec: _Spec,
    frame: pl.DataFrame,
    groups: list[str],
    names: dict[str, str],
    group_stats: list[dict[str, object]],
) -> tuple[float | None, str | None]:
    """p-value and test name of one characteristic across the recorded groups.

    Counts come from the aggregates already computed for the cells (`group_stats`, one per
    group); only binned counts (whose test uses every value, not only the shown ones) and
    numbers go back to the data.
    """

    def count(stats: dict[str, object], key: str) -> int:
        return int(str(stats[names[key]] or 0))

    if isinstance(spec, _Count) and spec.condition is not None:
        table = np.array(
            [[count(s, "n"), count(s, "d") - count(s, "n")] for s in group_stats], dtype=np.int64
        )
        return _categorical_test(table)
    if isinstance(spec, _Levels) and spec.bucket is not None and spec.source is None:
        table = np.array(
            [[count(s, f"level:{key}") for key, _ in spec.levels] for s in group_stats],
            dtype=np.int64,
        )
        return _categorical_test(table)
    if isinstance(spec, _Levels) and spec.bucket is not None:
        levels = frame.select(pl.col(_GROUP), spec.bucket.alias("y")).drop_nulls()
        counts = levels.group_by(_GROUP, "y").len().pivot(on="y", index=_GROUP, values="len")
        keys = sorted(c for c in counts.columns if c != _GROUP)
        table = _contingency(counts.fill_null(0), groups, keys)
        return _categorical_test(table)
    if isinstance(spec, _Summary) and spec.available:
        values = frame.select(pl.col(_GROUP), pl.col(spec.column).cast(pl.Float64)).drop_nulls()
        samples = [
            values.filter(pl.col(_GROUP) == g).get_column(spec.column).to_numpy() for g in groups
        ]
        return _numeric_test([s for s in samples if s.size > 0])
    return None, None


def _contingency(counts: pl.DataFrame, groups: list[str], keys: list[str]) -> np.ndarray:
    """Groups x outcome counts, rows in group order (absent groups get zeros)."""
    table = np.zeros((len(groups), len(keys)), dtype=np.int64)
    for i, group in enumerate(groups):
        match = counts.filter(pl.col(_GROUP) == group)
        if match.height:
            table[i] = [int(match.get_column(k)[0] or 0) for k in keys]
    return table


def _categorical_test(table: np.ndarray) -> tuple[float | None, str | None]:
    """Fisher's exact test for 2 x 2, Pearson's chi-squared otherwise (empty margins dropped)."""
    from scipy import stats  # only when p-values are asked for: scipy.stats is slow to import

    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2:
        return None, None
    if table.shape[1] < 2:
        # The outcome does not vary: R's fisher.test gives 1 for 2 x 2, chisq.test NaN otherwise.
        return (1.0, FISHER) if table.shape[0] == 2 else (None, None)
    if table.shape == (2, 2):
        return float(stats.fisher_exact(table).pvalue), FISHER
    result = stats.chi2_contingency(table, correction=False)
    return float(result.pvalue), CHI_SQUARED


def _numeric_test(samples: list[np.ndarray]) -> tuple[float | None, str | None]:
    """Wilcoxon rank-sum (R's defaults) for two groups, Kruskal–Wallis for more."""
    from scipy import stats

    if len(samples) < 2:
        return None, None
    pooled = np.concatenate(samples)
    if np.all(pooled == pooled[0]):
        # All values equal: no rank test is defined (R's wilcox.test and kruskal.test give NaN).
        return None, None
    if len(samples) == 2:
        x, y = samples
        ties = np.unique(pooled).size < pooled.size
        exact = x.size < 50 and y.size < 50 and not ties
        result = stats.mannwhitneyu(
            x,
            y,
            alternative="two-sided",
            use_continuity=True,
            method="exact" if exact else "asymptotic",
        )
        return float(result.pvalue), WILCOXON
    return float(stats.kruskal(*samples).pvalue), KRUSKAL
