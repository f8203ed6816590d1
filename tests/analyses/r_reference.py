"""The R reference values of the survival extensions and the data they were computed on.

tests/analyses/reference/make_reference.R wrote reference.json and the CSV files; the tests read
them and never need R.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

FOLDER = Path(__file__).parent / "reference"
#: Relative tolerance of every comparison with R.
RTOL = 1e-6
ATOL = 1e-12


@cache
def _reference() -> dict[str, Any]:
    return json.loads((FOLDER / "reference.json").read_text())


def reference(*keys: str) -> Any:
    """The value at `keys` in reference.json."""
    value: Any = _reference()
    for key in keys:
        value = value[key]
    return value


def number(value: Any) -> float:
    """A JSON number of the R writer as a float (null: NaN, "Inf": inf)."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"Inf": math.inf, "-Inf": -math.inf}[value]
    return float(value)


def numbers(values: Any) -> np.ndarray:
    """A JSON array of the R writer as floats."""
    return np.array([number(v) for v in values], dtype=np.float64)


def scalar(values: Any) -> float:
    """The single number of a one-element JSON array."""
    assert len(values) == 1
    return number(values[0])


@cache
def dataset(name: str) -> pl.DataFrame:
    """One of the CSV files R wrote, with TRUE/FALSE columns as booleans."""
    frame = pl.read_csv(FOLDER / f"{name}.csv", infer_schema_length=None)
    flags = [
        c
        for c, dtype in frame.schema.items()
        if dtype == pl.String and set(frame[c].drop_nulls().unique()) <= {"TRUE", "FALSE"}
    ]
    return frame.with_columns(pl.col(c) == "TRUE" for c in flags)


def close(actual: Any, expected: Any) -> bool:
    """Equal to R's value to RTOL (NaN/None equal to NaN/None)."""
    a = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=np.float64)
    e = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=RTOL, atol=ATOL, equal_nan=True))


def _r_label(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return f"{value:g}" if isinstance(value, float) else str(value)


def codes(values: pl.Series | list[Any]) -> tuple[np.ndarray, list[str]]:
    """Group codes and labels of a column as R's factor() numbers them (sorted levels).

    Booleans are labelled "FALSE"/"TRUE" and numbers as R prints them, as in R's strata names.
    """
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    levels = sorted(series.drop_nulls().unique().to_list())
    position = {v: k for k, v in enumerate(levels)}
    labels = [
        ("TRUE" if v else "FALSE")
        if isinstance(v, bool)
        else f"{v:g}"
        if isinstance(v, float)
        else str(v)
        for v in levels
    ]
    return np.array([position[v] for v in series.to_list()], dtype=np.int64), labels


def lung_factor() -> pl.DataFrame:
    """R's lung data with ph.ecog as a factor (a text column)."""
    return dataset("lung").with_columns(pl.col("ph.ecog").cast(pl.Int64).cast(pl.String))


#: The Cox models fitted in R (make_reference.R): data, time, event, covariates, strata.
COX_CASES: dict[str, tuple[Callable[[], pl.DataFrame], str, str, list[str], str | None]] = {
    "lung": (lambda: dataset("lung"), "time", "event", ["age", "sex", "ph.ecog"], None),
    "lung_factor_strata": (lung_factor, "time", "event", ["age", "ph.ecog"], "sex"),
    "constructed": (lambda: dataset("constructed"), "time", "event", ["grp", "x1", "x2"], None),
    "constructed_strata": (
        lambda: dataset("constructed"),
        "time",
        "event",
        ["grp", "x1"],
        "stratum",
    ),
    "cohort_os": (
        lambda: dataset("cohort"),
        "os_days",
        "os_event",
        ["emd", "age_years", "iss_stage"],
        None,
    ),
}
