"""Time to first and to best response: median and range among responders, counted exactly."""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.time_to_response import (
    DaysSummary,
    responder_days,
    summarise_time_to_response,
)
from bsab_explorer.errors import Unavailable
from tests.analyses.endpoint_cohort import endpoint_patients, endpoint_responses


def test_first_and_best_response_days_of_each_responder() -> None:
    days = responder_days(endpoint_patients(), endpoint_responses())
    rows = {r[0]: r[1:] for r in days.iter_rows()}
    assert rows["R05"] == ("sCR", 21.0, 170.0)  # PR on day 21, sCR on day 170
    assert rows["R11"] == ("PR", 21.0, 21.0)  # PR twice: the best is reached on day 21
    assert rows["R07"] == ("PR", 84.0, 84.0)  # SD, SD, then PR
    assert rows["X01"] == ("CR", None, None)  # a response without a day is not guessed
    assert "N01" not in rows
    assert days.height == 18


def test_overall_median_and_range_among_responders() -> None:
    result = summarise_time_to_response(endpoint_patients(), endpoint_responses())
    (group,) = result.groups
    assert group.responders == 18
    # First: 21 ×7, 28 ×5, 56 ×2, 63, 84, 100 (17 known); best adds the later improvements.
    assert group.first == DaysSummary(17, 28.0, 21.0, 100.0)
    assert group.best == DaysSummary(17, 56.0, 21.0, 170.0)
    assert (result.unknown_first_day, result.unknown_best_day) == (1, 1)
    assert group.first.text() == "0.9 (0.7–3.3)"


def test_per_group_and_patients_without_a_group_counted() -> None:
    result = summarise_time_to_response(endpoint_patients(), endpoint_responses(), by="emd")
    by_group = {g.group: g for g in result.groups}
    # No: R01–R07, R14, X02 (first 28, 21, 28, 56, 21, 28, 84, 21, 21).
    assert by_group["No"].first == DaysSummary(9, 28.0, 21.0, 84.0)
    # Yes: R08–R13, X01 (no day), X03 (first 21, 28, 56, 21, 28, 63, 100).
    assert by_group["Yes"].responders == 8
    assert by_group["Yes"].first == DaysSummary(7, 28.0, 21.0, 100.0)
    assert result.excluded_missing_group == 1


def test_a_recorded_best_response_never_seen_at_an_assessment_has_no_best_day() -> None:
    patients = endpoint_patients().with_columns(
        pl.when(pl.col("patient_id") == "R08")
        .then(pl.lit("CR"))
        .otherwise(pl.col("best_response"))
        .alias("best_response")
    )
    days = responder_days(patients, endpoint_responses())
    assert days.filter(pl.col("patient_id") == "R08").row(0) == ("R08", "CR", 21.0, None)


def test_the_bundled_cohort_has_no_assessment_days() -> None:
    from bsab_explorer.data.loading import load_dataset

    dataset = load_dataset().dataset
    assert dataset is not None
    with pytest.raises(Unavailable, match=r"needs responses\.day"):
        summarise_time_to_response(dataset.table("patients"), dataset.table("responses"))
