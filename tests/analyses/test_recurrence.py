"""Recurrence analysis: the five published cases, constructed edge cases, generated schedules."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.analyses import recurrence
from bsab_explorer.analyses.recurrence import (
    RECURRENCE_FIELDS,
    analyse_recurrence,
    crs_episodes,
)
from bsab_explorer.dataset import empty_table, polars_type
from bsab_explorer.reconstruction.recurrent_crs import build_cases, build_events
from bsab_explorer.schema import EVENT_CODES, EVENTS

TARGETS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "recurrent_crs" / "targets.json").read_text()
)["targets"]
TIMING = {t["case_id"]: t for t in TARGETS if t["quantity"] == "case_table:Recurrent CRS (timing)"}
EVENT_SCHEMA = {c.name: polars_type(c.kind) for c in EVENTS.columns}


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return analyse_recurrence(build_cases(), build_events())


def _row(table: pl.DataFrame, case_id: str) -> dict[str, object]:
    return table.filter(pl.col("case_id") == case_id).row(0, named=True)


def _clauses(text: str) -> tuple[str, str | None]:
    """('every 35–40 days', '24–48 h') from a pattern or a paper cell."""
    text = text.lower().split(";")[0]
    every = re.match(r"every \d+(–\d+)? days", text)
    hours = re.search(r"(\d+(–\d+)?) h (post|after)", text)
    assert every is not None, text
    return every.group(0), hours.group(1) if hours else None


def test_event_codes_used_are_contract_codes() -> None:
    used = {recurrence.CRS, recurrence.DOSE, recurrence.INFECTION, *recurrence.MANAGEMENT_EVENTS}
    assert used <= set(EVENT_CODES)


def test_output_has_the_cli_fields_first(table: pl.DataFrame) -> None:
    assert tuple(table.columns[: len(RECURRENCE_FIELDS)]) == RECURRENCE_FIELDS
    assert table["case_id"].to_list() == ["RC1", "RC2", "RC3", "RC4", "RC5"]


@pytest.mark.parametrize("case_id", ["RC1", "RC2", "RC3", "RC4", "RC5"])
def test_pattern_agrees_with_the_papers_recurrent_crs_column(
    table: pl.DataFrame, case_id: str
) -> None:
    paper_every, paper_hours = _clauses(TIMING[case_id]["value"])
    ours_every, ours_hours = _clauses(str(_row(table, case_id)["pattern"]))
    assert ours_every == paper_every
    if paper_hours is not None:
        assert ours_hours == paper_hours


def test_published_patterns_exactly(table: pl.DataFrame) -> None:
    assert table["pattern"].to_list() == [
        "every 7 days, 48 h after infusion; 1 longer gap (316 days)",
        "every 35–40 days, 24–48 h after infusion",
        "every 30–35 days, 24–48 h after infusion",
        "every 30 days, 48 h after infusion",
        "every 15 days, 24 h after infusion",
    ]


def test_numeric_targets_are_reproduced(table: pl.DataFrame) -> None:
    checked = 0
    for target in TARGETS:
        quantity = target["quantity"]
        if not quantity.startswith("recurrence:") or target["case_id"] is None:
            continue
        row = _row(table, target["case_id"])
        name = quantity.removeprefix("recurrence:")
        assert row[name] == target["value"], target["id"]
        checked += 1
    assert checked == 28


def test_case_level_numbers(table: pl.DataFrame) -> None:
    rc1, rc4, rc5 = _row(table, "RC1"), _row(table, "RC4"), _row(table, "RC5")
    # Case 1: initial CRS after step-up 1 and after the first treatment dose, 12 weekly
    # recurrences, then the grade 3 episode in maintenance.
    assert (rc1["n_episodes"], rc1["n_initial"], rc1["n_recurrent"]) == (15, 2, 13)
    assert (rc1["interval_days_min"], rc1["interval_days_max"]) == (7.0, 316.0)
    assert (rc1["rhythm_days_min"], rc1["rhythm_days_max"], rc1["n_gaps"]) == (7, 7, 1)
    assert rc1["grade_trend"] == "worsening"
    assert (rc1["n_tocilizumab"], rc1["n_corticosteroid"], rc1["n_antipyretic"]) == (2, 14, 13)
    assert rc4["possible_infection_episodes"] == 2
    assert rc4["grade_trend"] == "attenuating"
    assert (rc4["n_tocilizumab"], rc4["n_corticosteroid"]) == (21, 0)
    assert (rc5["first_crs_day"], rc5["first_crs_grade"], rc5["n_initial"]) == (199.0, 1, 0)
    assert rc5["grade_trend"] == "stable"
    assert (rc5["n_treatment_doses"], rc5["n_doses_followed_by_crs"]) == (29, 11)
    assert rc5["dose_crs_share"] == pytest.approx(11 / 29)


def test_episodes_are_attributed_to_the_latest_dose_at_or_before_onset() -> None:
    episodes = crs_episodes(build_cases(), build_events())
    rc3 = episodes.filter(pl.col("case_id") == "RC3")
    first = rc3.row(0, named=True)
    assert (first["dose_day"], first["dose_detail"], first["latency_hours"]) == (
        0.0,
        "step-up 1",
        72.0,
    )
    assert first["phase"] == "initial"
    assert first["tocilizumab"]
    assert first["corticosteroid"]
    assert episodes.filter(pl.col("case_id") == "RC4")["possible_infection"].sum() == 2
    assert (episodes["latency_hours"] >= 0).all()


# --- constructed timelines ---------------------------------------------------------------------


def _events(rows: list[tuple[str, float, str, str | None]]) -> pl.DataFrame:
    """Events from (case_id, day, event, detail); CRS grade 1 unless detail is a digit."""
    records = []
    for case_id, day, event, detail in rows:
        grade = int(detail) if event == "crs" and detail and detail.isdigit() else None
        if event == "crs" and grade is None:
            grade = 1
        records.append(
            {
                "case_id": case_id,
                "day": day,
                "event": event,
                "grade": grade,
                "end_day": None,
                "detail": None if event == "crs" else detail,
            }
        )
    return pl.DataFrame(records, schema=EVENT_SCHEMA)


def _cases(ids: list[str]) -> pl.DataFrame:
    return pl.concat(
        [empty_table("cases"), pl.DataFrame({"case_id": ids, "bsab": ["talquetamab"] * len(ids)})],
        how="diagonal_relaxed",
    )


def test_no_events_at_all_gives_one_row_per_case() -> None:
    out = analyse_recurrence(_cases(["A", "B"]), empty_table("events"))
    assert out["case_id"].to_list() == ["A", "B"]
    assert out["n_episodes"].to_list() == [0, 0]
    assert out["pattern"].to_list() == ["no CRS", "no CRS"]
    assert crs_episodes(_cases(["A"]), empty_table("events")).height == 0


def test_only_initial_crs_and_a_dose_72_hours_before_onset() -> None:
    events = _events(
        [
            ("A", 0.0, "bsab_dose", "step-up 1"),
            ("A", 2.0, "crs", "2"),
            ("A", 7.0, "bsab_dose", "treatment dose"),
            ("A", 10.0, "crs", "1"),  # exactly 72 h after the first treatment dose
            ("A", 14.0, "bsab_dose", "treatment dose"),
        ]
    )
    row = analyse_recurrence(_cases(["A"]), events).row(0, named=True)
    assert (row["n_episodes"], row["n_recurrent"], row["pattern"]) == (2, 0, "no recurrent CRS")
    assert (row["n_treatment_doses"], row["n_doses_followed_by_crs"]) == (2, 1)
    assert row["grade_trend"] == "attenuating"
    assert row["interval_days_median"] is None


def test_crs_before_any_dose_is_initial_without_latency() -> None:
    events = _events([("A", 1.0, "crs", "1"), ("A", 3.0, "bsab_dose", "treatment dose")])
    episode = crs_episodes(_cases(["A"]), events).row(0, named=True)
    assert (episode["phase"], episode["latency_hours"], episode["dose_day"]) == (
        "initial",
        None,
        None,
    )


# --- generated schedules -----------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A generated case: step-ups, an optional initial episode, recurrent episodes."""

    case_id: str
    initial_hours: int | None
    first_onset: int
    intervals: tuple[int, ...]
    latencies: tuple[int, ...]
    infections_near: tuple[int, ...]
    infections_far: tuple[int, ...]

    @property
    def onsets(self) -> list[int]:
        if not self.latencies:
            return []
        days = [self.first_onset]
        for interval in self.intervals:
            days.append(days[-1] + interval)
        return days

    def rows(self) -> list[tuple[str, float, str, str | None]]:
        rows: list[tuple[str, float, str, str | None]] = [
            (self.case_id, 0.0, "bsab_dose", "step-up 1"),
            (self.case_id, 3.0, "bsab_dose", "step-up 2"),
            (self.case_id, 9.0, "bsab_dose", "treatment dose"),
        ]
        if self.initial_hours is not None:
            rows.append((self.case_id, self.initial_hours / 24, "crs", "2"))
        for onset, hours in zip(self.onsets, self.latencies, strict=True):
            rows.append((self.case_id, onset - hours / 24, "bsab_dose", "treatment dose"))
            rows.append((self.case_id, float(onset), "crs", "1"))
            # An infusion without CRS half a day after each onset.
            rows.append((self.case_id, onset + 0.5, "bsab_dose", "treatment dose"))
        for k in self.infections_near:
            rows.append((self.case_id, self.onsets[k] + 2.5, "infection", "flu"))
        for k in self.infections_far:
            rows.append((self.case_id, self.onsets[k] + 4.0, "infection", "flu"))
        return rows


@st.composite
def schedules(draw: st.DrawFn, case_id: str) -> Schedule:
    n = draw(st.integers(0, 12))
    low = draw(st.integers(8, 40))
    high = draw(st.integers(low, 2 * low - 1))
    n_intervals = max(n - 1, 0)
    # Fewer gaps than half the intervals keep the median inside the regular range.
    n_gaps = draw(st.integers(0, max((n_intervals - 1) // 2, 0)))
    size = n_intervals - n_gaps
    regular = draw(st.lists(st.integers(low, high), min_size=size, max_size=size))
    gaps = draw(st.lists(st.integers(2 * high + 1, 400), min_size=n_gaps, max_size=n_gaps))
    intervals = draw(st.permutations(regular + gaps)) if regular or gaps else []
    latencies = draw(st.lists(st.integers(1, 71), min_size=n, max_size=n))
    onsets_idx = list(range(n))
    near = draw(st.lists(st.sampled_from(onsets_idx), unique=True)) if n else []
    far = (
        [k for k in draw(st.lists(st.sampled_from(onsets_idx), unique=True)) if k not in near]
        if n
        else []
    )
    return Schedule(
        case_id=case_id,
        initial_hours=draw(st.none() | st.integers(1, 71)),
        first_onset=draw(st.integers(20, 60)),
        intervals=tuple(intervals),
        latencies=tuple(latencies),
        infections_near=tuple(near),
        infections_far=tuple(far),
    )


def _expected_pattern(s: Schedule) -> str:
    n = len(s.latencies)
    if n == 0:
        return "no CRS" if s.initial_hours is None else "no recurrent CRS"
    lat_lo, lat_hi = min(s.latencies), max(s.latencies)
    hours = f"{lat_lo} h" if lat_lo == lat_hi else f"{lat_lo}–{lat_hi} h"
    if n == 1:
        return f"single recurrent episode, {hours} after infusion"
    mid = median(s.intervals)
    regular = [i for i in s.intervals if i <= 2 * mid]
    gaps = [i for i in s.intervals if i > 2 * mid]
    lo, hi = min(regular), max(regular)
    every = f"every {lo} days" if lo == hi else f"every {lo}–{hi} days"
    text = f"{every}, {hours} after infusion"
    if len(gaps) == 1:
        text += f"; 1 longer gap ({gaps[0]} days)"
    elif gaps:
        text += f"; {len(gaps)} longer gaps (up to {max(gaps)} days)"
    return text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(schedules(f"G{i}") for i in ids))
    ),
    st.randoms(use_true_random=False),
)
def test_generated_schedules_are_described_correctly(
    generated: tuple[Schedule, ...], random: object
) -> None:
    rows = [row for s in generated for row in s.rows()]
    random.shuffle(rows)  # type: ignore[attr-defined]
    out = analyse_recurrence(_cases([s.case_id for s in generated]), _events(rows))
    assert out.height == len(generated)
    for s in generated:
        row = out.filter(pl.col("case_id") == s.case_id).row(0, named=True)
        n = len(s.latencies)
        initial = 0 if s.initial_hours is None else 1
        assert row["n_recurrent"] == n
        assert row["n_episodes"] == n + initial
        assert row["pattern"] == _expected_pattern(s)
        assert row["possible_infection_episodes"] == len(s.infections_near)
        assert row["n_treatment_doses"] == 1 + 2 * n
        assert row["n_doses_followed_by_crs"] == n
        if n:
            assert row["latency_hours_min"] == pytest.approx(min(s.latencies))
            assert row["latency_hours_max"] == pytest.approx(max(s.latencies))
            assert row["latency_hours_median"] == pytest.approx(median(s.latencies))
            assert row["first_crs_day"] == pytest.approx(
                s.initial_hours / 24 if s.initial_hours is not None else s.first_onset
            )
        if n >= 2:
            assert row["interval_days_min"] == min(s.intervals)
            assert row["interval_days_max"] == max(s.intervals)
            assert row["interval_days_median"] == pytest.approx(median(s.intervals))
        else:
            assert row["interval_days_median"] is None


@pytest.mark.parametrize(
    ("schedule", "pattern", "possible_infection"),
    [
        (
            Schedule("R", None, 30, (14, 14, 14), (24, 24, 24, 24), (), ()),
            "every 14 days, 24 h after infusion",
            0,
        ),
        (
            Schedule("I", 40, 30, (30, 35, 32), (24, 48, 30, 40), (1,), (0, 2)),
            "every 30–35 days, 24–48 h after infusion",
            1,
        ),
        (
            Schedule("G", None, 25, (7, 7, 7, 100), (48,) * 5, (), ()),
            "every 7 days, 48 h after infusion; 1 longer gap (100 days)",
            0,
        ),
        (
            Schedule(
                "GG",
                None,
                25,
                (8, 9, 8, 9, 8, 50, 60),
                (24, 30, 24, 24, 24, 24, 24, 24),
                (0, 7),
                (),
            ),
            "every 8–9 days, 24–30 h after infusion; 2 longer gaps (up to 60 days)",
            2,
        ),
        (
            Schedule("S", 30, 40, (), (36,), (0,), ()),
            "single recurrent episode, 36 h after infusion",
            1,
        ),
        (Schedule("N", 30, 40, (), (), (), ()), "no recurrent CRS", 0),
        (Schedule("Z", None, 40, (), (), (), ()), "no CRS", 0),
    ],
    ids=["regular", "irregular", "gap", "two-gaps", "single", "initial-only", "none"],
)
def test_constructed_schedules(schedule: Schedule, pattern: str, possible_infection: int) -> None:
    assert _expected_pattern(schedule) == pattern
    row = analyse_recurrence(_cases([schedule.case_id]), _events(schedule.rows())).row(
        0, named=True
    )
    assert row["pattern"] == pattern
    assert row["possible_infection_episodes"] == possible_infection
