"""Table 1: baseline, disease, treatment and safety characteristics, overall and by a variable.

Every count states its denominator when it differs from the column's N, missing values are
counted in a "Not recorded" row (never dropped silently), and a characteristic whose column is
absent or empty reads "not recorded" instead of failing. Optional p-values name their test
(see `bsab_explorer.analyses.significance`). This module says which rows the table has and how
each cell reads; `groups` splits the cohort, `aggregates` counts every cell in one pass.

(About 500 lines: the rows of the table are one list, read top to bottom as the printed table;
the counting engine and the layout already live in `aggregates` and `table1_view`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from bsab_explorer.analyses.aggregates import Aggregates
from bsab_explorer.analyses.counts import format_count, format_value
from bsab_explorer.analyses.groups import GROUP_COLUMN, NOT_RECORDED, OVERALL, cohort_group_codes
from bsab_explorer.analyses.levels import Levels
from bsab_explorer.analyses.significance import (
    TESTS,
    categorical_p_value,
    contingency_table,
    numeric_p_value,
)
from bsab_explorer.schema import (
    ALKYLATING_COLUMNS,
    BSAB_CODES,
    CYTOGENETIC_COLUMNS,
    EMD_SITE_COLUMNS,
    ISS_CODES,
    column_label,
)

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
    #: The patients' column the row describes (a split by it is not tested against itself).
    column: str = ""


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
    #: The patients' column the rows describe (a split by it is not tested against itself).
    column: str = ""


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
    return _Count(
        label or column_label(column), condition, indent, recorded=pl.col(column), column=column
    )


def _equals(patients: pl.DataFrame, column: str, value: str, label: str) -> _Count:
    condition = (pl.col(column) == value) if _available(patients, column) else None
    return _Count(label, condition, recorded=pl.col(column), column=column)


def _binned(patients: pl.DataFrame, column: str, label: str, top: int = 3) -> _Levels:
    """Counts 1, 2, ..., >= top of an integer column (other values only enter the test)."""
    shown = (*((k, str(k)) for k in range(1, top)), (top, f"≥ {top}"))
    if not _available(patients, column):
        return _Levels(label, None, shown, column=column)
    bucket = pl.col(column).clip(upper_bound=top)
    return _Levels(label, bucket, shown, source=pl.col(column), column=column)


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
    return _Levels(label, pl.col(column), levels, hide_empty=True, column=column)


def _stages(patients: pl.DataFrame) -> _Levels | _Count:
    """Every ISS stage, those without a patient too (a zero is a finding)."""
    label = column_label("iss_stage")
    if not _available(patients, "iss_stage"):
        return _Count(label, None, column="iss_stage")
    levels = tuple((stage, f"{label} {stage}") for stage in ISS_CODES)
    return _Levels(label, pl.col("iss_stage"), levels, column="iss_stage")


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
        _stages(ps),
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


def build_table1(
    patients: pl.DataFrame,
    by: str | None = None,
    p_values: bool = False,
    *,
    levels: Levels | None = None,
) -> Table1:
    """Table 1 of the cohort (all patients, plus one column per group of `by` when given;
    `levels`, when given, are `patient_levels(patients, by)`)."""
    group_labels: tuple[str, ...] = ()
    codes = np.zeros(0, dtype=np.int64)
    frame = patients  # with each patient's group label, for the p-values
    if by is not None:
        codes, group_labels = cohort_group_codes(patients, by, levels)
        if p_values:
            label_of = dict(enumerate(group_labels))
            labels = pl.Series(GROUP_COLUMN, codes).replace_strict(label_of, return_dtype=pl.String)
            frame = patients.with_columns(labels)
    specs = _specs(patients)
    builder = Aggregates()
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
                if key and len(tested) >= 2 and not _describes(spec, by):
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


def _plan(spec: _Spec, builder: Aggregates) -> dict[str, str]:
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
            mid, lo, hi = (format_value(spec.column, v) for v in shown)
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


# --- tests ---------------------------------------------------------------------------------------


def _describes(spec: _Spec, by: str | None) -> bool:
    """Whether the row describes the split variable itself (its test would be trivially
    significant: each group is one of its values)."""
    return by is not None and getattr(spec, "column", "") == by


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
        return categorical_p_value(table)
    if isinstance(spec, _Levels) and spec.bucket is not None and spec.source is None:
        table = np.array(
            [[count(s, f"level:{key}") for key, _ in spec.levels] for s in group_stats],
            dtype=np.int64,
        )
        return categorical_p_value(table)
    if isinstance(spec, _Levels) and spec.bucket is not None:
        levels = frame.select(pl.col(GROUP_COLUMN), spec.bucket.alias("y")).drop_nulls()
        counts = (
            levels.group_by(GROUP_COLUMN, "y").len().pivot(on="y", index=GROUP_COLUMN, values="len")
        )
        keys = sorted(c for c in counts.columns if c != GROUP_COLUMN)
        table = contingency_table(counts.fill_null(0), groups, keys)
        return categorical_p_value(table)
    if isinstance(spec, _Summary) and spec.available:
        values = frame.select(
            pl.col(GROUP_COLUMN), pl.col(spec.column).cast(pl.Float64)
        ).drop_nulls()
        samples = [
            values.filter(pl.col(GROUP_COLUMN) == g).get_column(spec.column).to_numpy()
            for g in groups
        ]
        return numeric_p_value([s for s in samples if s.size > 0])
    return None, None
