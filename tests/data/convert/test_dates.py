"""Dates in each format a center writes, and orders that are given, proven or refused."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from bsab_explorer.data.convert.dates import (
    DateOrder,
    derive_patient_days,
    parse_date_order,
    proven_order,
    read_date,
    read_date_column,
)
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.validation import ROW

MARCH_5 = dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("2024-03-05", None, MARCH_5),
        ("2024-03-05T00:00:00", None, MARCH_5),
        ("2024-03-05 14:30", None, MARCH_5),
        ("2024/3/5", None, MARCH_5),
        ("05.03.2024", None, MARCH_5),
        ("5.3.2024", None, MARCH_5),
        ("05/03/2024", DateOrder.DMY, MARCH_5),
        ("03/05/2024", DateOrder.MDY, MARCH_5),
        ("05-03-2024", DateOrder.DMY, MARCH_5),
        ("05/03/2024", None, None),  # ambiguous without an order: never guessed
        ("45356", None, MARCH_5),  # Excel serial number (1900 date system)
        (45356, None, MARCH_5),
        (45356.75, None, MARCH_5),  # a serial with a time of day
        (dt.datetime(2024, 3, 5, 8, 0), None, MARCH_5),  # an Excel date cell
        (MARCH_5, None, MARCH_5),
        ("365", None, None),  # a count of days, not a date
        ("31/02/2024", DateOrder.DMY, None),
        ("05/03/24", DateOrder.DMY, None),  # two-digit years are refused
        ("yesterday", None, None),
        (True, None, None),
    ],
)
def test_a_date_is_read_in_each_format(
    value: object, order: DateOrder | None, expected: object
) -> None:
    assert read_date(value, order) == expected


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("dd/mm/yyyy", DateOrder.DMY),
        ("DMY", DateOrder.DMY),
        ("date_dmy", DateOrder.DMY),
        ("datetime_seconds_mdy", DateOrder.MDY),
        ("mm/dd/yyyy", DateOrder.MDY),
        ("date_ymd", DateOrder.ISO),
        ("dd.mm.yyyy", DateOrder.DOTTED),
        ("whenever", None),
    ],
)
def test_date_orders_are_named_in_several_ways(text: str, order: DateOrder | None) -> None:
    assert parse_date_order(text) == order


def test_an_order_is_proven_only_by_a_day_over_twelve() -> None:
    assert proven_order(["01/02/2024", "13/02/2024"]) == (DateOrder.DMY, False)
    assert proven_order(["01/02/2024", "02/13/2024"]) == (DateOrder.MDY, False)
    assert proven_order(["01/02/2024", "12/11/2024"]) == (None, False)
    assert proven_order(["13/02/2024", "02/13/2024"]) == (None, True)


def _frame(values: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"d": values, ROW: list(range(2, len(values) + 2))})


def test_a_column_mixing_both_orders_is_one_problem() -> None:
    read = read_date_column(
        _frame(["13/02/2024", "02/13/2024"]), "d", table="patients", file="f.csv", order=None
    )
    assert [(p.rule, p.row, p.column) for p in read.problems] == [
        (ConvertRule.MIXED_DATE_ORDER, None, "d")
    ]
    assert read.dates.to_list() == [None, None]


def test_a_value_that_is_not_a_date_is_shown_by_its_shape_only() -> None:
    read = read_date_column(
        _frame(["2024-03-05", "2024-13-40", None, "  "]),
        "d",
        table="patients",
        file="f.csv",
        order=None,
    )
    assert read.dates.to_list() == [MARCH_5, None, None, None]
    assert [(p.row, p.value) for p in read.problems] == [(3, "9999-99-99")]
    assert "2024" not in read.problems[0].message


def test_survival_follows_the_standard_rules() -> None:
    d = dt.date
    dates = pl.DataFrame(
        {
            ROW: [2, 3, 4, 5, 6],
            "origin": [d(2024, 1, 1)] * 5,
            "progression": [d(2024, 3, 1), None, d(2024, 2, 1), None, None],
            "death": [d(2024, 2, 1), d(2024, 4, 1), None, None, None],
            "last_contact": [None, None, d(2024, 6, 1), d(2024, 5, 1), d(2024, 5, 1)],
            "last_assessment": [None, None, None, d(2024, 4, 1), None],
        },
        schema_overrides={
            "progression": pl.Date,
            "death": pl.Date,
            "last_contact": pl.Date,
            "last_assessment": pl.Date,
        },
    )
    derived, problems = derive_patient_days(dates, {}, table="patients", file="f.csv")
    # Row 2: progression after death is impossible, so nothing is derived.
    assert [p.rule for p in problems] == [ConvertRule.DATE_SEQUENCE]
    assert derived.rows() == [
        (2, None, None, None, None),
        (3, 91.0, True, 91.0, True),  # death first: ends PFS and OS
        (4, 31.0, True, 152.0, False),  # progression; alive at last contact
        (5, 91.0, False, 121.0, False),  # PFS censored at the last adequate assessment
        (6, 121.0, False, 121.0, False),  # censored at last contact
    ]


def test_a_dated_chemotherapy_alone_gives_its_interval_and_no_survival() -> None:
    dates = pl.DataFrame(
        {
            ROW: [2, 3],
            "origin": [dt.date(2024, 3, 1), dt.date(2024, 3, 1)],
            "last_chemo": [dt.date(2024, 2, 20), dt.date(2024, 3, 4)],
        }
    )
    derived, problems = derive_patient_days(
        dates, {"origin": "C1D1", "last_chemo": "chemo"}, table="patients", file="f.csv"
    )
    # 2024 is a leap year: 20 February to 1 March is 10 days.
    assert derived.rows() == [(2, 10), (3, None)]
    assert [(p.row, p.column, p.rule) for p in problems] == [
        (3, "chemo", ConvertRule.DATE_SEQUENCE)
    ]
    assert problems[0].message == (
        "The last chemotherapy date is after the origin date (chemo, C1D1). Check both dates."
    )
