"""The recurrent-CRS case series (five cases) rebuilt as contract tables, deterministically.

Reconstructed from the published case narratives and Table 1, not real patients. Every
assumption a value rests on is written next to it and summarised in
`data/recurrent_crs/PROVENANCE.md`. Time origin: the first bispecific dose is day 0; month-year
statements become whole-day offsets of `round(months * 30.4375)` from the stated start month.

Run `python -m bsab_explorer.reconstruction.recurrent_crs [--out DIR]` to rebuild
`cases.csv` and `events.csv` byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from bsab_explorer.dataset import polars_type
from bsab_explorer.schema import CASES, DAYS_PER_MONTH, EVENT_CODES, EVENTS, STEP_UP_PREFIX

#: Seed of every random choice the reconstruction makes (intervals and latencies in a range).
SEED = 20260316
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "recurrent_crs"
PREMEDICATION = "paracetamol;cetirizine;dexamethasone"
TREATMENT_DOSE = "treatment dose"

# Short controlled texts used in `detail`.
TOCILIZUMAB_DETAIL = "tocilizumab 8 mg/kg"


def month_offset(months: int) -> int:
    """Day offset of a statement `months` calendar months after the start month."""
    return round(months * DAYS_PER_MONTH)


@dataclass
class _Timeline:
    """Events of one case, collected in the order the narrative tells them."""

    case_id: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        day: float,
        event: str,
        detail: str = "",
        grade: int | None = None,
        end_day: float | None = None,
    ) -> None:
        self.rows.append(
            {
                "case_id": self.case_id,
                "day": float(day),
                "event": event,
                "grade": grade,
                "end_day": None if end_day is None else float(end_day),
                "detail": detail or None,
            }
        )

    def doses(self, days: Iterable[float], detail: str = TREATMENT_DOSE) -> None:
        for day in days:
            self.add(day, "bsab_dose", detail)

    def step_ups(self, days: Sequence[float]) -> None:
        for number, day in enumerate(days, start=1):
            self.add(day, "bsab_dose", f"{STEP_UP_PREFIX} {number}")


def _ranged(rng: np.random.Generator, n: int, low: int, high: int) -> list[int]:
    """`n` integers in [low, high] that include both ends (so the stated range is reached)."""
    values = [int(v) for v in rng.integers(low, high + 1, size=n)]
    if n >= 2:
        values[0], values[1] = low, high
        order = rng.permutation(n)
        values = [values[i] for i in order]
    return values


def _cyclic_doses(
    first_crs_dose: int,
    intervals: Sequence[int],
    latency_days: Sequence[int],
    cycle_gap: int,
) -> tuple[list[int], list[int]]:
    """Doses of a 'CRS after every second infusion' rhythm and the doses that trigger CRS.

    Episode k occurs `latency_days[k]` after dose D_k and episodes are `intervals[k]` apart, so
    D_{k+1} = D_k + interval_k + latency_k - latency_{k+1}; one infusion sits between, given
    `cycle_gap` days before D_{k+1}.
    """
    crs_doses = [first_crs_dose]
    for k, interval in enumerate(intervals):
        crs_doses.append(crs_doses[-1] + interval + latency_days[k] - latency_days[k + 1])
    doses: list[int] = []
    for k, dose in enumerate(crs_doses):
        if k > 0:
            doses.append(dose - cycle_gap)
        doses.append(dose)
    return doses, crs_doses


# --- the five cases -------------------------------------------------------------------------


def _case_1() -> _Timeline:
    """Teclistamab, July 2023; weekly CRS 48 h after infusion; discontinued March 2025."""
    t = _Timeline("RC1")
    # Label schedule (0.06, 0.3 mg/kg, then 1.5 mg/kg weekly), days 0/4/7: step-up 2 waits one
    # day after the initial CRS has resolved (label: 2-4 days between step-up doses).
    t.step_ups([0, 4])
    t.add(2, "crs", "initial CRS after step-up 1, fever", grade=2, end_day=3)
    t.add(2, "tocilizumab", TOCILIZUMAB_DETAIL)
    weekly = list(range(7, 176, 7))
    t.doses(weekly)
    # "recurrent febrile episodes ... consistently 48 h post-infusion": assumed after each of
    # the first 13 weekly doses (about three months), then settling.
    for dose in weekly[:13]:
        onset = dose + 2
        t.add(onset, "crs", "fever up to 39 °C, 48 h post-infusion", grade=1, end_day=onset + 1)
        t.add(onset, "corticosteroid", "corticosteroid, short course", end_day=onset + 2)
        t.add(onset, "antipyretic", "paracetamol")
    for onset in (9, 16, 23, 44, 72):
        t.add(onset, "workup_negative", "cultures, chest imaging, echocardiography")
    t.add(91, "response", "CR")
    # Biweekly maintenance from 6 months (teclistamab label: after a sustained CR).
    t.add(month_offset(6), "schedule_change", "weekly -> biweekly")
    biweekly = list(range(month_offset(6), month_offset(18), 14))
    t.add(month_offset(12), "response", "CR")
    # "During maintenance ... an intense grade 3 CRS episode": assumed ~13 months, 48 h
    # after a dose, followed by a two-dose hold.
    grade3_dose = next(d for d in biweekly if d >= month_offset(13))
    onset = grade3_dose + 2
    t.add(onset, "crs", "intense CRS during maintenance", grade=3, end_day=onset + 3)
    t.add(onset, "tocilizumab", TOCILIZUMAB_DETAIL)
    t.add(onset, "corticosteroid", "dexamethasone", end_day=onset + 5)
    t.add(onset, "workup_negative", "work-up negative; CRP and ESR raised")
    t.add(onset, "treatment_hold", "grade 3 CRS", end_day=grade3_dose + 28)
    t.doses(d for d in biweekly if not grade3_dose < d < grade3_dose + 28)
    # January 2025 = 18 months after July 2023; March 2025 = 20 months.
    jan_2025, mar_2025 = month_offset(18), month_offset(20)
    t.add(jan_2025, "adverse_event", "renal function deterioration", grade=2, end_day=mar_2025)
    t.add(jan_2025, "treatment_hold", "renal function deterioration", end_day=mar_2025)
    t.add(mar_2025, "discontinuation", "renal toxicity")
    t.add(mar_2025, "adverse_event", "interstitial nephritis (renal biopsy)", grade=3)
    last = mar_2025 + month_offset(3)
    t.add(mar_2025, "corticosteroid", "prednisone 1 mg/kg/day, tapering", end_day=last)
    t.add(mar_2025, "response", "sCR")
    t.add(last, "response", "sCR")
    return t


def _case_2(rng: np.random.Generator) -> _Timeline:
    """Talquetamab, March 2023; weekly then biweekly; CRS every 35-40 days, 24-48 h."""
    t = _Timeline("RC2")
    # Weekly label schedule (0.01, 0.06 mg/kg, then 0.4 mg/kg weekly); step-up 2 on day 4,
    # after the initial CRS resolved "within 24 h".
    t.step_ups([0, 4])
    t.add(2, "crs", "initial CRS after step-up 1, fever", grade=2, end_day=3)
    t.add(2, "antipyretic", "paracetamol")
    t.add(2, "tocilizumab", TOCILIZUMAB_DETAIL)
    t.doses([7, 14, 21, 28])
    t.add(42, "schedule_change", "weekly -> biweekly")
    t.add(month_offset(3), "response", "CR")
    last = month_offset(27)  # data cut-off assumed June 2025 = 27 months after March 2023
    n = 24
    intervals = _ranged(rng, n - 1, 35, 40)
    latency_days = [int(v) for v in rng.choice([1, 2], size=n)]
    latency_days[0], latency_days[1] = 1, 2
    # CRS follows every second biweekly infusion; the infusion after each episode was given
    # 20-27 days later, the next one 14 days after that (assumed, to fit "every 35-40 days").
    doses, crs_doses = _cyclic_doses(42, intervals, latency_days, cycle_gap=14)
    t.doses(d for d in doses if d <= last)
    for k, dose in enumerate(crs_doses):
        if dose + latency_days[k] > last:
            break
        onset = dose + latency_days[k]
        hours = 24 * latency_days[k]
        t.add(
            onset, "crs", f"fever up to 39 °C, {hours} h post-infusion", grade=1, end_day=onset + 1
        )
        t.add(onset, "tocilizumab", TOCILIZUMAB_DETAIL)
        t.add(onset, "workup_negative", "cultures, imaging, CMV/COVID-19 PCR, echo")
        if k >= 2:  # prophylaxis once the cycle was recognised
            t.add(dose, "corticosteroid", "dexamethasone 16 mg/day, 3-day taper", end_day=dose + 3)
    t.add(last, "response", "CR")
    return t


def _case_3(rng: np.random.Generator) -> _Timeline:
    """Talquetamab, January 2024; CRS every 30-35 days after infusions; skin/taste AEs."""
    t = _Timeline("RC3")
    # Biweekly label schedule (0.01, 0.06, 0.4 mg/kg, then 0.8 mg/kg every 2 weeks); step-up 2
    # delayed to day 6 because CRS began on day 3.
    t.step_ups([0, 6, 9])
    t.add(3, "crs", "initial CRS after step-up 1, fever", grade=2, end_day=5)
    t.add(3, "corticosteroid", "prednisone 25 mg/day (ineffective alone)", end_day=4)
    t.add(4, "tocilizumab", TOCILIZUMAB_DETAIL)
    t.doses([12])
    t.add(30, "adverse_event", "transient ageusia", grade=1, end_day=120)
    t.add(month_offset(2), "adverse_event", "palmar desquamative dermatitis, onychopathy", grade=2)
    t.add(month_offset(3), "response", "VGPR")
    last = month_offset(17)  # data cut-off assumed June 2025 = 17 months after January 2024
    n = 20
    intervals = _ranged(rng, n - 1, 30, 35)
    latency_days = [int(v) for v in rng.choice([1, 2], size=n)]
    latency_days[0], latency_days[1] = 2, 1
    doses, crs_doses = _cyclic_doses(26, intervals, latency_days, cycle_gap=16)
    t.doses(d for d in doses if d <= last)
    for k, dose in enumerate(crs_doses):
        if dose + latency_days[k] > last:
            break
        onset = dose + latency_days[k]
        grade = 2 if k < 3 else 1  # attenuation over time (assumed for this case)
        hours = 24 * latency_days[k]
        t.add(onset, "crs", f"fever, {hours} h post-infusion", grade=grade, end_day=onset + 1)
        t.add(onset, "tocilizumab", TOCILIZUMAB_DETAIL)
        t.add(onset, "workup_negative", "cultures, swabs, CMV, COVID-19, fungal markers, CT")
    t.add(last, "response", "VGPR")
    return t


def _case_4() -> _Timeline:
    """Talquetamab, September 2023 (assumed); CRS every 30 days; COVID-19 and bronchitis."""
    t = _Timeline("RC4")
    t.step_ups([0, 4, 7])
    t.add(2, "crs", "initial CRS after step-up 1, fever", grade=2, end_day=3)
    t.add(2, "tocilizumab", TOCILIZUMAB_DETAIL)
    last = month_offset(21)  # data cut-off assumed June 2025 = 21 months after September 2023
    # Fortnightly infusions 15 days apart (the paper's own wording, "every 15 days", case 5);
    # CRS 48 h after every second infusion.
    doses = list(range(10, last + 1, 15))
    crs_doses = [d for d in doses[2::2] if d + 2 <= last]
    dec_2023, jan_2025 = month_offset(3), month_offset(16)
    covid_dose = next(d for d in crs_doses if d + 2 >= dec_2023)
    bronchitis_dose = next(d for d in crs_doses if d + 2 >= jan_2025)
    # COVID-19 pneumonia held one (non-CRS) infusion.
    hold_start, hold_end = covid_dose + 3, covid_dose + 30
    t.doses(d for d in doses if not hold_start <= d < hold_end)
    t.add(hold_start, "treatment_hold", "COVID-19 pneumonia", end_day=hold_end)
    t.add(month_offset(3), "response", "PR")
    for k, dose in enumerate(crs_doses):
        onset = dose + 2
        grade = 2 if k < 4 else 1
        t.add(onset, "crs", "fever, 48 h post-infusion", grade=grade, end_day=onset + 1)
        t.add(onset, "tocilizumab", TOCILIZUMAB_DETAIL)
        if dose == covid_dose:
            t.add(onset, "infection", "COVID-19 pneumonia", grade=3, end_day=onset + 14)
        elif dose == bronchitis_dose:
            t.add(onset, "infection", "bronchitis", grade=2, end_day=onset + 7)
            t.add(onset, "antibiotic", "empirical broad-spectrum antibiotics", end_day=onset + 7)
        else:
            t.add(onset, "workup_negative", "blood cultures, chest CT, COVID-19 test")
    t.add(last, "response", "PR")
    return t


def _case_5() -> _Timeline:
    """Talquetamab, October 2023; late CRS every 15 days, 24 h; resolved on monthly dosing."""
    t = _Timeline("RC5")
    t.step_ups([0, 3, 6])  # biweekly label schedule, no CRS during step-up
    first_phase = [9, 24, 39, 54]
    t.doses(first_phase)
    t.add(30, "response", "CR")
    t.add(35, "adverse_event", "right oculomotor nerve palsy", grade=2, end_day=70)
    t.add(35, "ivig", "IVIG for nerve palsy", end_day=39)
    t.add(35, "corticosteroid", "prednisone 1 mg/kg, tapered", end_day=63)
    two_months, six_months = month_offset(2), month_offset(6)
    t.add(two_months, "adverse_event", "xerostomia, dysgeusia, onychodystrophy", grade=1)
    t.add(two_months, "infection", "SARS-CoV-2 infection (paucisymptomatic)", grade=1, end_day=75)
    t.add(two_months, "treatment_hold", "SARS-CoV-2 infection", end_day=84)
    second_phase = list(range(84, six_months, 15))
    t.doses(second_phase)
    for day in range(84, month_offset(18) + 1, 30):
        t.add(day, "ivig", "monthly IVIG (hypogammaglobulinemia)")
    t.add(
        six_months,
        "infection",
        "Salmonella enteritidis",
        grade=3,
        end_day=six_months + 10,
    )
    t.add(six_months, "fever", "fever and diarrhoea (Salmonella)", end_day=six_months + 5)
    t.add(six_months, "antibiotic", "ceftriaxone", end_day=six_months + 10)
    t.add(six_months, "treatment_hold", "Salmonella enteritidis infection", end_day=198)
    twelve_months = month_offset(12)
    third_phase = list(range(198, twelve_months - 14, 15))
    t.doses(third_phase)
    for k, dose in enumerate(third_phase):
        onset = dose + 1
        t.add(onset, "crs", "low-grade fever, 24 h post-infusion", grade=1, end_day=onset + 1)
        t.add(onset, "corticosteroid", "prednisone 25 mg/day on demand", end_day=onset + 2)
        if k % 3 == 0:
            t.add(onset, "workup_negative", "cultures, CT, ultrasound, viral PCR, echo")
        if k in (1, 4, 7):
            t.add(onset, "antibiotic", "empirical antibiotics", end_day=onset + 5)
    t.add(month_offset(9), "response", "sCR")
    t.add(twelve_months - 14, "adverse_event", "weight loss (oral toxicity)", grade=2)
    t.add(twelve_months, "schedule_change", "biweekly -> monthly")
    t.doses(range(twelve_months, month_offset(18) + 1, 30))
    t.add(month_offset(18), "response", "sCR")
    return t


_CASES_ROWS: tuple[dict[str, object], ...] = (
    {
        "case_id": "RC1",
        "center": "C01",
        "age_years": 64,
        "sex": "F",
        "isotype": "IgG",
        "light_chain": "kappa",
        "stage": "ISS I",
        "prior_lines": 4,
        "bsab": "teclistamab",
        "target": "BCMA",
        "premedication": PREMEDICATION,
        "outcome": "discontinued",
    },
    {
        "case_id": "RC2",
        "center": "C01",
        "age_years": 65,
        "sex": "M",
        "isotype": "IgG",
        "light_chain": "kappa",
        "stage": "Durie-Salmon IIIB",
        "prior_lines": 4,
        "bsab": "talquetamab",
        "target": "GPRC5D",
        "premedication": PREMEDICATION,
        "outcome": "continued",
    },
    {
        "case_id": "RC3",
        "center": "C02",
        "age_years": 71,
        "sex": "F",
        "isotype": "IgG",
        "light_chain": "lambda",
        "stage": "Durie-Salmon IIIA",
        "prior_lines": 5,
        "bsab": "talquetamab",
        "target": "GPRC5D",
        "premedication": PREMEDICATION,
        "outcome": "continued",
    },
    {
        "case_id": "RC4",
        "center": "C03",
        "age_years": 75,
        "sex": "F",
        "isotype": "IgA",
        "light_chain": "lambda",
        "stage": "Durie-Salmon IIIA",
        "prior_lines": 5,
        "bsab": "talquetamab",
        "target": "GPRC5D",
        "premedication": PREMEDICATION,
        "outcome": "continued",
    },
    {
        "case_id": "RC5",
        "center": "C01",
        "age_years": 69,
        "sex": "F",
        "isotype": "light_chain",
        "light_chain": "kappa",
        "stage": "ISS II",
        "prior_lines": 4,
        "bsab": "talquetamab",
        "target": "GPRC5D",
        "premedication": PREMEDICATION,
        "outcome": "dose_reduced",
    },
)


def build_cases() -> pl.DataFrame:
    """The five reconstructed cases, typed as the contract's `cases` table."""
    schema = {c.name: polars_type(c.kind) for c in CASES.columns}
    return pl.DataFrame(list(_CASES_ROWS), schema=schema)


def sort_events(events: pl.DataFrame) -> pl.DataFrame:
    """Events in canonical order: case, day, event code order, detail."""
    order = pl.Enum(EVENT_CODES)
    return events.sort(
        pl.col("case_id"),
        pl.col("day"),
        pl.col("event").cast(order),
        pl.col("detail"),
        nulls_last=True,
        maintain_order=True,
    )


def build_events() -> pl.DataFrame:
    """Every case's timeline, typed as the contract's `events` table, in canonical order."""
    rng = np.random.default_rng(SEED)
    timelines = [_case_1(), _case_2(rng), _case_3(rng), _case_4(), _case_5()]
    rows = [row for timeline in timelines for row in timeline.rows]
    schema = {c.name: polars_type(c.kind) for c in EVENTS.columns}
    return sort_events(pl.DataFrame(rows, schema=schema))


def _simulated_case(case_id: str, rng: np.random.Generator) -> _Timeline:
    """One synthetic case: label step-ups, a regular schedule, cyclic CRS, a few events."""
    t = _Timeline(case_id)
    t.step_ups([0, 3, 6][: int(rng.integers(2, 4))])
    if rng.random() < 0.6:
        t.add(int(rng.integers(1, 3)), "crs", "initial CRS", grade=int(rng.integers(1, 3)))
    every = int(rng.choice([7, 14, 15]))
    last = int(rng.integers(90, 720))
    doses = list(range(9, last, every))
    cycle = int(rng.integers(2, 5))
    latency = int(rng.choice([1, 2]))
    stop = last if rng.random() < 0.8 else int(rng.integers(60, last))
    doses = [d for d in doses if d < stop]
    t.doses(doses)
    for k, dose in enumerate(doses[1::cycle]):
        if rng.random() < 0.7:
            grade = 2 if k < 2 and rng.random() < 0.5 else 1
            t.add(dose + latency, "crs", f"{24 * latency} h post-infusion", grade=grade)
    if rng.random() < 0.3:
        day = int(rng.integers(20, last))
        t.add(day, "infection", "respiratory infection", grade=int(rng.integers(1, 4)))
    if rng.random() < 0.2 and len(doses) > 4:
        start = doses[len(doses) // 2] + 1
        t.add(start, "treatment_hold", "infection", end_day=start + 21)
    if rng.random() < 0.3:
        t.add(doses[len(doses) // 3] if doses else 30, "schedule_change", "weekly -> biweekly")
    if stop < last:
        t.add(stop, "discontinuation", "toxicity")
    t.add(30, "response", str(rng.choice(["PR", "VGPR", "CR"])))
    t.add(last, "response", str(rng.choice(["VGPR", "CR", "sCR", "PD"])))
    return t


def simulate_case_series(n_cases: int, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n_cases` synthetic cases and their events (for scale tests and demos, not a study)."""
    rng = np.random.default_rng(seed)
    ids = [f"S{i:04d}" for i in range(1, n_cases + 1)]
    bsab = rng.choice(["teclistamab", "elranatamab", "talquetamab"], size=n_cases)
    cases = pl.DataFrame(
        {
            "case_id": ids,
            "age_years": rng.integers(40, 90, size=n_cases),
            "sex": rng.choice(["F", "M"], size=n_cases),
            "bsab": bsab,
            "target": np.where(bsab == "talquetamab", "GPRC5D", "BCMA"),
            "premedication": [PREMEDICATION] * n_cases,
            "outcome": rng.choice(["continued", "dose_reduced", "discontinued"], size=n_cases),
        }
    )
    schema = {c.name: polars_type(c.kind) for c in CASES.columns}
    cases = pl.concat([pl.DataFrame(schema=schema), cases], how="diagonal_relaxed")
    rows = [row for case_id in ids for row in _simulated_case(case_id, rng).rows]
    event_schema = {c.name: polars_type(c.kind) for c in EVENTS.columns}
    return cases.select(CASES.column_names), sort_events(pl.DataFrame(rows, schema=event_schema))


def write_tables(out: Path = DEFAULT_OUT) -> tuple[Path, Path]:
    """Write `cases.csv` and `events.csv` into `out` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    cases_path, events_path = out / "cases.csv", out / "events.csv"
    build_cases().write_csv(cases_path, line_terminator="\n")
    build_events().write_csv(events_path, line_terminator="\n")
    return cases_path, events_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: rebuild the case-series CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    for path in write_tables(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
