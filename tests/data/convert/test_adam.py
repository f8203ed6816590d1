"""A CDISC ADaM set, written to SAS transport (and CSV, Parquet), as the contract's tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.data.convert import convert
from bsab_explorer.data.convert.adam import study_day_to_contract
from bsab_explorer.data.convert.mapping import write_mapping
from bsab_explorer.data.convert.rules import ConvertRule
from tests.data.convert.cohort import assert_no_date

START = {"S-01": dt.date(2024, 1, 15), "S-02": dt.date(2024, 2, 20), "S-03": dt.date(2024, 3, 25)}
ADSL = pl.DataFrame(
    {
        "USUBJID": ["S-01", "S-02", "S-03"],
        "SITEID": ["C01", "C01", "C02"],
        "AGE": [63.0, 71.0, 55.0],
        "SEX": ["F", "M", "M"],
        "TRT01A": ["TECLISTAMAB", "TECLISTAMAB", "ELRANATAMAB"],
        "EMDFL": ["Y", "N", "Y"],
        "TRTSDT": list(START.values()),
    }
)
ADTTE = pl.DataFrame(
    {
        "USUBJID": ["S-01", "S-01", "S-02", "S-02", "S-03", "S-03"],
        "PARAMCD": ["PFS", "OS", "PFS", "OS", "PFS", "OS"],
        "AVAL": [120.0, 200.0, 10.0, 10.0, 1.0, 2.0],
        "AVALU": ["DAYS", "DAYS", "WEEKS", "WEEKS", "MONTHS", "MONTHS"],
        "CNSR": [0.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        "ADT": [START["S-01"] + dt.timedelta(days=d) for d in (120, 200)]
        + [START["S-02"] + dt.timedelta(days=70)] * 2
        + [START["S-03"] + dt.timedelta(days=d) for d in (30, 60)],
    }
)
ADRS = pl.DataFrame(
    {
        "USUBJID": ["S-01", "S-01", "S-01", "S-02", "S-02"],
        "PARAMCD": ["OVRLRESP", "OVRLRESP", "BOR", "OVRLRESP", "BOR"],
        "AVISIT": ["CYCLE 1 DAY 1", "CYCLE 3 DAY 1", "", "CYCLE 1 DAY 1", ""],
        "AVALC": ["PR", "VGPR", "VGPR", "SD", "SD"],
        "ADY": [22.0, 64.0, None, 23.0, None],
    }
)
ADAE = pl.DataFrame(
    {
        "USUBJID": ["S-01", "S-01", "S-02", "S-03"],
        "AEDECOD": [
            "Cytokine release syndrome",
            "Immune effector cell-associated neurotoxicity syndrome",
            "Neutropenia",
            "Cytokine release syndrome",
        ],
        "AETOXGR": ["2", "1", "3", "1"],
        "ASTDY": [2.0, 3.0, 15.0, 9.0],
        "AENDY": [4.0, 3.0, 20.0, 10.0],
    }
)
ADEX = pl.DataFrame(
    {
        "USUBJID": ["S-01", "S-01", "S-01", "S-02", "S-03", "S-03"],
        "EXTRT": ["TECLISTAMAB"] * 4 + ["ELRANATAMAB"] * 2,
        "ASTDY": [1.0, 4.0, 8.0, 1.0, 1.0, 8.0],
    }
)
DATASETS = {"adsl": ADSL, "adtte": ADTTE, "adrs": ADRS, "adae": ADAE, "adex": ADEX}
MAPPING = '[columns]\nemd = "EMDFL"\n'


def _xpt(folder: Path, name: str, frame: pl.DataFrame) -> None:
    formats = {c: "DATE9." for c in frame.columns if frame.schema[c] == pl.Date}
    pyreadstat.write_xport(
        frame, str(folder / f"{name}.xpt"), table_name=name.upper(), variable_format=formats
    )


def _csv(folder: Path, name: str, frame: pl.DataFrame) -> None:
    frame.write_csv(folder / f"{name}.csv")


def _parquet(folder: Path, name: str, frame: pl.DataFrame) -> None:
    frame.write_parquet(folder / f"{name}.parquet")


WRITERS: dict[str, Callable[[Path, str, pl.DataFrame], None]] = {
    "xpt": _xpt,
    "csv": _csv,
    "parquet": _parquet,
}


def _write(tmp_path: Path, kind: str, datasets: dict[str, pl.DataFrame]) -> Path:
    folder = tmp_path / kind
    folder.mkdir()
    for name, frame in datasets.items():
        WRITERS[kind](folder, name, frame)
    return folder


def test_adam_study_days_have_no_day_zero() -> None:
    days = pl.DataFrame({"ady": [-2.0, -1.0, 1.0, 2.0, 29.0, 0.0]})
    converted = days.select(study_day_to_contract(pl.col("ady"))).to_series().to_list()
    # The day before the first dose stays -1; the first dose (ADaM day 1) is contract day 0.
    assert converted == [-2.0, -1.0, 0.0, 1.0, 28.0, None]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_an_adam_set_becomes_the_contract_tables(tmp_path: Path, kind: str) -> None:
    folder = _write(tmp_path, kind, DATASETS)
    mapping = tmp_path / "adam.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = convert(folder, mapping=mapping)
    assert result.ok, result.report.to_text()
    assert result.kind == "adam"
    patients = result.tables["patients"].select(
        "patient_id", "center", "age_years", "sex", "bsab", "emd", "best_response",
        "pfs_days", "pfs_event", "os_days", "os_event", "crs_grade", "icans_grade",
    )  # fmt: skip
    expected = pl.DataFrame(
        {
            "patient_id": ["S-01", "S-02", "S-03"],
            "center": ["C01", "C01", "C02"],
            "age_years": [63, 71, 55],
            "sex": ["F", "M", "M"],
            "bsab": ["teclistamab", "teclistamab", "elranatamab"],
            "emd": [True, False, True],
            "best_response": ["VGPR", "SD", None],
            # AVAL in AVALU: 10 weeks = 70 days, 1 month = 30.4375 days; CNSR = 0 is an event.
            "pfs_days": [120.0, 70.0, 30.4375],
            "pfs_event": [True, False, True],
            "os_days": [200.0, 70.0, 60.875],
            "os_event": [True, False, False],
            # ADAE lists every adverse event: no CRS (ICANS) row means grade 0.
            "crs_grade": [2, 0, 1],
            "icans_grade": [1, 0, 0],
        }
    )
    assert_frame_equal(patients, expected)
    assert result.tables["responses"].select("patient_id", "timepoint", "response").rows() == [
        ("S-01", "C1", "PR"),
        ("S-01", "C3", "VGPR"),
        ("S-02", "C1", "SD"),
    ]
    assert result.tables["cases"].get_column("case_id").to_list() == ["S-01", "S-02", "S-03"]
    events = result.tables["events"].select("case_id", "day", "event", "grade", "end_day")
    # ADaM study day 2 (the day after the first dose) is contract day 1; doses on days 1, 4, 8.
    assert events.rows() == [
        ("S-01", 1.0, "crs", 2, 3.0),
        ("S-01", 2.0, "icans", 1, 2.0),
        ("S-03", 8.0, "crs", 1, 9.0),
        ("S-01", 0.0, "bsab_dose", None, None),
        ("S-01", 3.0, "bsab_dose", None, None),
        ("S-01", 7.0, "bsab_dose", None, None),
        ("S-02", 0.0, "bsab_dose", None, None),
        ("S-03", 0.0, "bsab_dose", None, None),
        ("S-03", 7.0, "bsab_dose", None, None),
    ]
    text = "\n".join(
        [
            *(f.write_csv() for f in result.tables.values()),
            result.report.to_text(),
            result.report.to_frame().write_csv(),
            write_mapping(result.mapping),
        ]
    )
    assert_no_date(text)
    for start in START.values():
        assert start.isoformat() not in text
    assert "calendar-date variables were not read (TRTSDT)" in result.report.to_text()


def test_a_study_day_zero_is_a_problem(tmp_path: Path) -> None:
    broken = ADAE.with_columns(pl.Series("ASTDY", [0.0, 3.0, 15.0, 9.0]))
    folder = _write(tmp_path, "xpt", {"adsl": ADSL, "adae": broken})
    result = convert(folder)
    zero = [p for p in result.report.problems if p.rule == ConvertRule.ADAM_INVALID]
    assert [(p.file, p.row, p.column) for p in zero] == [("adae.xpt", 1, "ASTDY")]
    assert "ADaM study days never are" in zero[0].message


def test_an_adam_set_without_adsl_is_refused(tmp_path: Path) -> None:
    folder = _write(tmp_path, "xpt", {"adtte": ADTTE})
    result = convert(folder)
    assert result.tables == {}
    assert [p.message for p in result.report.problems] == [
        "An ADaM set needs ADSL (one row per subject)."
    ]
