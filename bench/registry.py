"""Deterministic synthetic registries that follow the data contract, at any size.

Synthetic, not real patients: every value is drawn from a seeded numpy generator, column by
column (no Python loop over patients), so the same (size, seed) always gives the same frames.
Times are whole days, as registries record them; responses thin out with time and stop after
progression; the case series has step-up and weekly doses with recurrent CRS after some of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bsab_explorer.dataset import Dataset, empty_table, polars_type
from bsab_explorer.schema import (
    BSAB_CODES,
    CASES,
    CHEMO_AGENT_COLUMNS,
    CYTOGENETIC_COLUMNS,
    EMD_SITE_COLUMNS,
    EVENTS,
    ISOTYPE_CODES,
    ISS_CODES,
    LIGHT_CHAIN_CODES,
    OUTCOME_CODES,
    PATIENTS,
    RESPONSE_CODES,
    RESPONSES,
    SEX_CODES,
    STEP_UP_PREFIX,
    TIMEPOINT_CODES,
    Table,
)

OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_SEED = 20251121
N_CENTERS = 20
#: Day of each timepoint's assessment (post-debulking assessment precedes the first dose).
TIMEPOINT_DAYS = {"post_debulking": 0, "C1": 28, "C3": 84, "C6": 168, "C12": 336}
#: Share of patients still on follow-up who are assessed at each timepoint.
ASSESSED_SHARE = {"post_debulking": 0.85, "C1": 0.9, "C3": 0.8, "C6": 0.7, "C12": 0.6}
_TARGET_OF = {"teclistamab": "BCMA", "elranatamab": "BCMA", "talquetamab": "GPRC5D"}


@dataclass(frozen=True)
class Registry:
    """A synthetic registry's four tables (contract columns and dtypes), and how it was made."""

    size: int
    cases: int
    seed: int
    tables: dict[str, pl.DataFrame]

    def dataset(self) -> Dataset:
        """The registry as the package's Dataset (fingerprint skipped: it is not needed here)."""
        return Dataset(f"synthetic {self.size}", self.tables, source="bench", fingerprint="bench")


def _typed(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Contract column order and dtypes (optional columns it does not generate: null)."""
    return frame.select(
        pl.col(c.name).cast(polars_type(c.kind))
        if c.name in frame.columns
        else pl.lit(None, polars_type(c.kind)).alias(c.name)
        for c in table.columns
    )


def _pseudonyms(prefix: str, n: int) -> pl.Series:
    """`P000001`, `P000002`, ...: zero-padded so they sort in creation order."""
    width = max(6, len(str(n)))
    numbers = pl.Series("n", np.arange(1, n + 1, dtype=np.int64)).cast(pl.String)
    return pl.select(pl.lit(prefix) + numbers.str.zfill(width)).to_series()


def _with_nulls(
    values: np.ndarray, rng: np.random.Generator, share: float, dtype: pl.DataType
) -> pl.Series:
    """`values` with a share of them not recorded."""
    series = pl.Series(values).cast(dtype)
    missing = rng.random(values.size) < share
    return pl.select(pl.when(pl.lit(pl.Series(missing))).then(None).otherwise(series)).to_series()


def _bools(rng: np.random.Generator, n: int, p: float, missing: float = 0.0) -> pl.Series:
    return _with_nulls(rng.random(n) < p, rng, missing, pl.Boolean())


def _codes(
    rng: np.random.Generator, n: int, codes: tuple[str, ...], p: list[float], missing: float = 0.0
) -> pl.Series:
    picked = np.asarray(codes, dtype=object)[rng.choice(len(codes), size=n, p=p)]
    return _with_nulls(picked.astype(str), rng, missing, pl.String())


def generate_patients(n: int, rng: np.random.Generator) -> pl.DataFrame:
    """`n` patients with baseline, treatment, safety and survival columns."""
    age = np.clip(np.rint(rng.normal(67, 9, n)), 30, 90).astype(np.int64)
    cyto_shares = (0.12, 0.1, 0.03, 0.35, 0.15, 0.08)
    cyto = {
        c: _bools(rng, n, p, 0.12) for c, p in zip(CYTOGENETIC_COLUMNS, cyto_shares, strict=True)
    }
    hrca = pl.select(
        pl.any_horizontal(pl.lit(cyto[c]) for c in ("del17p", "t_4_14", "t_14_16", "amp_1q21"))
    ).to_series()
    emd = rng.random(n) < 0.45
    emd_sites = np.where(emd, rng.integers(1, 4, n), 0)
    sites = {c: emd & (rng.random(n) < 0.25) for c in EMD_SITE_COLUMNS}
    chemo_shares = (0.8, 0.15, 0.05, 0.3, 0.25, 0.1, 0.2, 0.05)
    chemo = {c: rng.random(n) < p for c, p in zip(CHEMO_AGENT_COLUMNS, chemo_shares, strict=True)}
    crs = rng.choice(5, size=n, p=[0.4, 0.4, 0.15, 0.04, 0.01])
    icans = rng.choice(5, size=n, p=[0.85, 0.08, 0.05, 0.015, 0.005])

    # Survival: exponential times whose hazard rises with EMD and high-risk cytogenetics, in
    # whole days, censored by administrative follow-up.
    high_risk = hrca.fill_null(False).to_numpy()
    pfs_rate = (1 / 300) * np.exp(0.45 * emd + 0.35 * high_risk)
    progression = np.ceil(rng.exponential(1 / pfs_rate))
    follow_up = np.ceil(rng.uniform(30, 1100, n))
    death_after = np.ceil(rng.exponential(260, n))
    pfs_days = np.minimum(progression, follow_up)
    pfs_event = progression <= follow_up
    death = progression + death_after
    os_days = np.where(pfs_event, np.minimum(death, follow_up), follow_up)
    os_event = pfs_event & (death <= follow_up)
    cause = np.asarray(("progression", "infection", "other"))[rng.choice(3, n, p=[0.7, 0.2, 0.1])]
    ranks = rng.choice(len(RESPONSE_CODES), size=n, p=[0.1, 0.15, 0.2, 0.2, 0.08, 0.1, 0.12, 0.05])

    frame = pl.DataFrame(
        {
            "patient_id": _pseudonyms("P", n),
            "center": pl.Series(
                np.char.add("C", np.char.zfill(rng.integers(1, N_CENTERS + 1, n).astype(str), 2))
            ),
            "age_years": _with_nulls(age, rng, 0.01, pl.Int64()),
            "sex": _codes(rng, n, SEX_CODES, [0.42, 0.58], 0.005),
            "iss_stage": _codes(rng, n, ISS_CODES, [0.3, 0.35, 0.35], 0.08),
            "prior_lines": pl.Series(rng.poisson(4, n) + 1),
            "triple_class_refractory": _bools(rng, n, 0.7, 0.02),
            **cyto,
            "hrca": hrca,
            "emd": pl.Series(emd),
            "emd_sites": pl.Series(emd_sites),
            **{c: pl.Series(v) for c, v in sites.items()},
            "pmd": _bools(rng, n, 0.2, 0.05),
            "high_pc_infiltration": _bools(rng, n, 0.25, 0.1),
            "acute_kidney_failure": _bools(rng, n, 0.1, 0.02),
            "hypercalcemia": _bools(rng, n, 0.08, 0.02),
            "chemo_cycles": pl.Series(rng.integers(1, 4, n)),
            **{c: pl.Series(v) for c, v in chemo.items()},
            "bsab": _codes(rng, n, BSAB_CODES, [0.6, 0.25, 0.15]),
            "days_chemo_to_bsab": pl.Series(rng.integers(3, 91, n)),
            "crs_grade": pl.Series(crs),
            "icans_grade": pl.Series(icans),
            "tocilizumab": pl.Series((crs >= 2) | ((crs == 1) & (rng.random(n) < 0.2))),
            "crs_dexamethasone": pl.Series((crs >= 2) & (rng.random(n) < 0.6)),
            "anakinra": pl.Series((icans >= 2) & (rng.random(n) < 0.3)),
            "infection_grade3plus": _bools(rng, n, 0.35),
            "cytopenia_grade3plus": _bools(rng, n, 0.5),
            "ig_supplementation": _bools(rng, n, 0.6, 0.05),
            "pjp_prophylaxis": _bools(rng, n, 0.8, 0.05),
            "antibacterial_prophylaxis": _bools(rng, n, 0.4, 0.05),
            "antiviral_prophylaxis": _bools(rng, n, 0.9, 0.05),
            "best_response": _with_nulls(np.asarray(RESPONSE_CODES)[ranks], rng, 0.3, pl.String()),
            "pfs_days": pl.Series(pfs_days),
            "pfs_event": pl.Series(pfs_event),
            "os_days": pl.Series(os_days),
            "os_event": pl.Series(os_event),
            "death_cause": pl.Series(cause).zip_with(pl.Series(os_event), pl.Series([None] * n)),
        }
    )
    return _typed(frame, PATIENTS)


def generate_responses(patients: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Assessments at the contract's timepoints: fewer with time, none after progression."""
    n = patients.height
    pfs = patients.get_column("pfs_days").to_numpy()
    progressed = patients.get_column("pfs_event").to_numpy()
    frames = []
    # Each patient drifts from their post-debulking response towards a response level.
    level = rng.choice(len(RESPONSE_CODES) - 1, size=n, p=[0.08, 0.15, 0.22, 0.25, 0.1, 0.1, 0.1])
    for timepoint in TIMEPOINT_CODES:  # five timepoints, each a vectorised draw over patients
        day = TIMEPOINT_DAYS[timepoint]
        on_follow_up = (pfs >= day) | ~progressed
        assessed = on_follow_up & (rng.random(n) < ASSESSED_SHARE[timepoint]) & (pfs >= day)
        jitter = rng.integers(-1, 2, n)
        rank = np.clip(level + jitter, 0, len(RESPONSE_CODES) - 2)
        # Not evaluable sometimes; progression at the assessment when it is due.
        rank = np.where(rng.random(n) < 0.03, len(RESPONSE_CODES) - 1, rank)
        due = progressed & (pfs <= day + 14) & (day > 0)
        rank = np.where(due, RESPONSE_CODES.index("PD"), rank)
        if timepoint == "post_debulking":
            rank = np.clip(level + rng.integers(-2, 3, n), 0, len(RESPONSE_CODES) - 2)
        index = np.flatnonzero(assessed)
        frames.append(
            pl.DataFrame(
                {
                    "patient_id": patients.get_column("patient_id").gather(index),
                    "timepoint": pl.repeat(timepoint, index.size, eager=True, dtype=pl.String),
                    "response": pl.Series(np.asarray(RESPONSE_CODES)[rank[index]]),
                    "pet_ct": _bools(rng, index.size, 0.15, 0.2),
                }
            )
        )
    # Patient order, then timepoint order, as a registry export would list them.
    stacked = pl.concat(frames).with_columns(
        pl.col("timepoint")
        .replace_strict({t: i for i, t in enumerate(TIMEPOINT_CODES)}, return_dtype=pl.Int8)
        .alias("__order")
    )
    return _typed(stacked.sort("patient_id", "__order"), RESPONSES)


def generate_cases(n: int, rng: np.random.Generator) -> pl.DataFrame:
    """`n` cases of the recurrent-CRS series."""
    bsab = np.asarray(BSAB_CODES)[rng.choice(3, size=n, p=[0.5, 0.2, 0.3])]
    frame = pl.DataFrame(
        {
            "case_id": _pseudonyms("RC", n),
            "center": pl.Series(
                np.char.add("C", np.char.zfill(rng.integers(1, N_CENTERS + 1, n).astype(str), 2))
            ),
            "age_years": pl.Series(np.clip(np.rint(rng.normal(68, 8, n)), 30, 90).astype(int)),
            "sex": _codes(rng, n, SEX_CODES, [0.45, 0.55]),
            "isotype": _codes(rng, n, ISOTYPE_CODES, [0.55, 0.2, 0.01, 0.01, 0.2, 0.03]),
            "light_chain": _codes(rng, n, LIGHT_CHAIN_CODES, [0.6, 0.4], 0.05),
            "stage": _codes(rng, n, ("ISS I", "ISS II", "ISS III"), [0.3, 0.4, 0.3], 0.1),
            "prior_lines": pl.Series(rng.poisson(4, n) + 1),
            "bsab": pl.Series(bsab),
            "target": pl.Series(np.vectorize(_TARGET_OF.__getitem__)(bsab)),
            "premedication": pl.repeat(
                "paracetamol;cetirizine;dexamethasone", n, eager=True, dtype=pl.String
            ),
            "outcome": _codes(rng, n, OUTCOME_CODES, [0.6, 0.25, 0.15]),
        }
    )
    return _typed(frame, CASES)


def generate_events(cases: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Timelines: step-up doses on days 0, 2, 4, weekly doses from day 7, CRS after some."""
    case_ids = cases.get_column("case_id")
    n = cases.height
    treatment_doses = rng.integers(3, 16, n)
    doses_per_case = 3 + treatment_doses
    case_of_dose = np.repeat(np.arange(n), doses_per_case)
    starts = np.concatenate(([0], np.cumsum(doses_per_case)[:-1]))
    number = np.arange(case_of_dose.size) - np.repeat(starts, doses_per_case)
    step_up = number < 3
    dose_day = np.where(step_up, 2.0 * number, 7.0 * (number - 2)).astype(np.float64)
    dose_detail = np.where(
        step_up, np.char.add(f"{STEP_UP_PREFIX} ", (number + 1).astype(str)), "treatment dose"
    )
    # CRS after a dose: likely after step-up, then recurring in a share of cases.
    recurrent_case = rng.random(n) < 0.4
    p_crs = np.where(step_up, 0.5, np.where(recurrent_case[case_of_dose], 0.7, 0.05))
    crs = rng.random(case_of_dose.size) < p_crs
    crs_day = dose_day + rng.integers(1, 3, case_of_dose.size)
    grade = rng.choice(3, size=case_of_dose.size, p=[0.75, 0.2, 0.05]) + 1
    duration = rng.integers(1, 3, case_of_dose.size)
    tocilizumab = crs & ((grade >= 2) | (rng.random(case_of_dose.size) < 0.1))
    steroid = crs & (rng.random(case_of_dose.size) < 0.5)
    antipyretic = crs & (rng.random(case_of_dose.size) < 0.8)
    at = np.flatnonzero

    def events(rows: np.ndarray, day: np.ndarray, code: str, **extra: object) -> pl.DataFrame:
        columns: dict[str, object] = {
            "case_id": case_ids.gather(case_of_dose[rows]),
            "day": pl.Series(day[rows], dtype=pl.Float64),
            "event": pl.repeat(code, rows.size, eager=True, dtype=pl.String),
        }
        for name, values in extra.items():
            columns[name] = pl.Series(values[rows]) if isinstance(values, np.ndarray) else values
        return pl.DataFrame(columns)

    parts = [
        events(at(np.ones_like(crs)), dose_day, "bsab_dose", detail=dose_detail),
        events(at(crs), crs_day, "crs", grade=grade, end_day=crs_day + duration),
        events(at(tocilizumab), crs_day, "tocilizumab"),
        events(at(steroid), crs_day, "corticosteroid", end_day=crs_day + 2.0),
        events(at(antipyretic), crs_day, "antipyretic"),
    ]
    frame = pl.concat(parts, how="diagonal_relaxed")
    for column in EVENTS.columns:
        if column.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(column.name))
    return _typed(frame.sort("case_id", "day", maintain_order=True), EVENTS)


def generate(size: int, seed: int = DEFAULT_SEED, cases: int = 0) -> Registry:
    """A registry of `size` patients (with responses) and `cases` cases (with events)."""
    rng = np.random.default_rng([seed, size, cases])
    patients = generate_patients(size, rng) if size else empty_table(PATIENTS.name)
    responses = generate_responses(patients, rng) if size else empty_table(RESPONSES.name)
    case_frame = generate_cases(cases, rng) if cases else empty_table(CASES.name)
    events = generate_events(case_frame, rng) if cases else empty_table(EVENTS.name)
    tables = {
        PATIENTS.name: patients,
        RESPONSES.name: responses,
        CASES.name: case_frame,
        EVENTS.name: events,
    }
    return Registry(size, cases, seed, {k: v for k, v in tables.items() if v.height})


def folder(size: int, seed: int = DEFAULT_SEED, cases: int = 0) -> Path:
    """Where the registry of (size, cases, seed) is cached as Parquet files."""
    return OUT_DIR / f"registry-{size}-{cases}-{seed}"


def cached(size: int, seed: int = DEFAULT_SEED, cases: int = 0) -> Registry:
    """The registry of (size, cases, seed): read from bench/out, generated and written once."""
    where = folder(size, seed, cases)
    done = where / "complete"
    if done.exists():
        tables = {p.stem: pl.read_parquet(p) for p in sorted(where.glob("*.parquet"))}
        return Registry(size, cases, seed, tables)
    registry = generate(size, seed, cases)
    where.mkdir(parents=True, exist_ok=True)
    for name, frame in registry.tables.items():
        frame.write_parquet(where / f"{name}.parquet")
    done.write_text("ok\n")
    return registry
