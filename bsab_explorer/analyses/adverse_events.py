"""Adverse events by highest grade: the safety table of every bispecific paper.

Each patient counts once per term, at the highest grade recorded for it; percentages are of
all treated patients of the group. The source is the `adverse_events` table when the data have
one (contract 1.1); otherwise the worst grades of the patients table (contract 1), which say
less: `crs_grade` and `icans_grade` give every grade from 1 to 4, while
`infection_grade3plus` and `cytopenia_grade3plus` only say whether grade ≥ 3 occurred, so their
"any grade" and per-grade counts are unknown (None), never zero.

A row of the table without a grade counts for "any grade" and as `ungraded`, not for grade ≥ 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.groups import GROUP, PATIENT, group_patients
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import AE_TERM_CODES

GRADES = (1, 2, 3, 4, 5)
#: The grade from which an event is severe.
SEVERE_GRADE = 3

FROM_TABLE = "adverse_events table"
FROM_PATIENTS = "worst grades of the patients table"

#: Patient columns holding a worst grade (0 = none), by term; their range stops at grade 4.
GRADE_COLUMNS = {"CRS": "crs_grade", "ICANS": "icans_grade"}
#: Patient columns saying only whether a grade ≥ 3 event occurred, by term.
SEVERE_FLAG_COLUMNS = {"infection": "infection_grade3plus", "cytopenia": "cytopenia_grade3plus"}


@dataclass(frozen=True)
class TermCount:
    """Patients of one group with one term: any grade, grade ≥ 3, and by highest grade."""

    term: str
    group: str
    #: All treated patients of the group (the denominator).
    total: int
    #: None where the source does not record grades below 3.
    any_grade: int | None
    grade3plus: int
    #: Patients whose highest grade is 1, 2, 3, 4, 5 (None where the source cannot say).
    by_highest_grade: tuple[int | None, ...]
    #: Patients with the term recorded but no grade (table), or with the column not recorded.
    ungraded: int = 0
    not_recorded: int = 0

    @property
    def any_grade_percent(self) -> float | None:
        """Any grade, as a percentage of all treated."""
        if self.any_grade is None or self.total == 0:
            return None
        return 100.0 * self.any_grade / self.total

    @property
    def grade3plus_percent(self) -> float | None:
        """Grade ≥ 3, as a percentage of all treated."""
        return 100.0 * self.grade3plus / self.total if self.total else None


@dataclass(frozen=True)
class AdverseEventTable:
    """The safety table: one `TermCount` per term and group, terms in contract order."""

    by: str | None
    source: str
    groups: tuple[str, ...]
    terms: tuple[str, ...]
    rows: tuple[TermCount, ...]
    excluded_missing_group: int

    def row(self, term: str, group: str) -> TermCount:
        """The count of `term` in `group` (KeyError when absent)."""
        for found in self.rows:
            if (found.term, found.group) == (term, group):
                return found
        raise KeyError((term, group))


def _term_order(terms: list[str]) -> tuple[str, ...]:
    listed = [t for t in AE_TERM_CODES if t in terms]
    return (*listed, *sorted(t for t in terms if t not in AE_TERM_CODES))


def _from_table(
    labels: tuple[str, ...], members: pl.DataFrame, events: pl.DataFrame, patients: pl.DataFrame
) -> tuple[tuple[str, ...], list[TermCount]]:
    events = events.filter(
        pl.col("term").is_not_null() & pl.col(PATIENT).is_in(patients.get_column(PATIENT).implode())
    )
    # Terms of every patient, grouped or not: a grouped table has the rows of the overall one.
    terms = _term_order(events.get_column("term").unique().to_list())
    highest = (
        events.join(members, on=PATIENT, how="inner")
        .group_by(GROUP, "term", PATIENT)
        .agg(pl.col("grade").max().alias("highest"))
    )
    totals = dict(members.group_by(GROUP).len().iter_rows())
    rows: list[TermCount] = []
    for group in labels:
        for term in terms:
            grades = highest.filter((pl.col(GROUP) == group) & (pl.col("term") == term))
            highest_grades = grades.get_column("highest")
            rows.append(
                TermCount(
                    term=term,
                    group=group,
                    total=int(totals[group]),
                    any_grade=grades.height,
                    grade3plus=int((highest_grades >= SEVERE_GRADE).sum()),
                    by_highest_grade=tuple(int((highest_grades == g).sum()) for g in GRADES),
                    ungraded=highest_grades.null_count(),
                )
            )
    return terms, rows


def _from_patients(
    labels: tuple[str, ...], members: pl.DataFrame, patients: pl.DataFrame
) -> tuple[tuple[str, ...], list[TermCount]]:
    recorded = set(patients.columns) - set(
        unrecorded(patients, (*GRADE_COLUMNS.values(), *SEVERE_FLAG_COLUMNS.values()))
    )
    frame = members.join(patients, on=PATIENT, how="left")
    terms = tuple(
        term
        for term, column in (*GRADE_COLUMNS.items(), *SEVERE_FLAG_COLUMNS.items())
        if column in recorded
    )
    rows: list[TermCount] = []
    for group in labels:
        rows_of_group = frame.filter(pl.col(GROUP) == group)
        for term in terms:
            if term in GRADE_COLUMNS:
                grade = rows_of_group.get_column(GRADE_COLUMNS[term])
                rows.append(
                    TermCount(
                        term=term,
                        group=group,
                        total=rows_of_group.height,
                        any_grade=int((grade >= 1).sum()),
                        grade3plus=int((grade >= SEVERE_GRADE).sum()),
                        # The column stops at grade 4: a grade 5 cannot be told apart.
                        by_highest_grade=(*(int((grade == g).sum()) for g in GRADES[:-1]), None),
                        not_recorded=grade.null_count(),
                    )
                )
            else:
                flag = rows_of_group.get_column(SEVERE_FLAG_COLUMNS[term])
                rows.append(
                    TermCount(
                        term=term,
                        group=group,
                        total=rows_of_group.height,
                        any_grade=None,
                        grade3plus=int(flag.sum()),
                        by_highest_grade=(None,) * len(GRADES),
                        not_recorded=flag.null_count(),
                    )
                )
    return terms, rows


def tabulate_adverse_events(
    patients: pl.DataFrame,
    adverse_events: pl.DataFrame | None = None,
    by: str | None = None,
) -> AdverseEventTable:
    """Patients with each term, any grade and grade ≥ 3 (n and %), per group."""
    groups = group_patients(patients, by)
    members = groups.members
    if adverse_events is not None and adverse_events.height > 0:
        source = FROM_TABLE
        terms, rows = _from_table(groups.labels, members, adverse_events, patients)
    else:
        source = FROM_PATIENTS
        terms, rows = _from_patients(groups.labels, members, patients)
        if not terms:
            columns = ", ".join((*GRADE_COLUMNS.values(), *SEVERE_FLAG_COLUMNS.values()))
            raise Unavailable(
                "The adverse-event table needs the adverse_events table or one of the patients "
                f"columns {columns}; the data record none of them."
            )
    return AdverseEventTable(
        by=by,
        source=source,
        groups=groups.labels,
        terms=terms,
        rows=tuple(rows),
        excluded_missing_group=groups.missing,
    )
