"""The contract's range rules ask pandera only when a value fails them: the one-pass check
before it fails exactly where pandera's checks fail (nulls ignored, NaN above every maximum)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from bsab_explorer.data.validation import _any_out_of_range, _pandera_schema, _range_bounds


def _pandera_fails(frame: pl.DataFrame) -> bool:
    try:
        _pandera_schema("patients", frame.columns).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors:
        return True
    return False


@pytest.mark.parametrize(
    "pfs_days",
    [
        [10.0, None, 300.0],
        [10.0, -1.0, 300.0],
        [10.0, float("nan"), 300.0],
        [None, None, None],
        [0.0, 1e9, 5.0],
    ],
)
@pytest.mark.parametrize("age_years", [[60, 70, 80], [60, 95, None], [-1, 70, 80]])
def test_the_one_pass_check_fails_where_pandera_fails(
    pfs_days: list[float | None], age_years: list[int | None]
) -> None:
    frame = pl.DataFrame(
        {"pfs_days": pl.Series(pfs_days, dtype=pl.Float64), "age_years": age_years},
        schema_overrides={"age_years": pl.Int64},
    )
    bounds = _range_bounds("patients", frame.columns)
    assert set(bounds) == {"pfs_days", "age_years"}
    assert _any_out_of_range(frame, bounds) == _pandera_fails(frame)


def test_ages_are_bounded_below_only_here() -> None:
    # Ages over the cap have their own rule (check_ages), not a range problem.
    assert _range_bounds("patients", {"age_years"})["age_years"][1] is None


def test_data_within_range_are_validated_without_importing_pandera(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,age_years,pfs_days,pfs_event\nP01,61,120,1\nP02,70,300,0\n"
    )
    script = (
        "import sys\nfrom bsab_explorer.data.loading import load_dataset\n"
        f"result = load_dataset({str(tmp_path)!r})\n"
        "print(result.report.ok, 'pandera' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "False"]
    (tmp_path / "patients.csv").write_text(
        "patient_id,age_years,pfs_days,pfs_event\nP01,61,-5,1\nP02,70,300,0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]
