"""Minimal residual disease: the MRD-negativity rate per sensitivity, and sustained negativity.

Rates carry their exact (Clopper–Pearson) CI, as R's `binom.test` (checked against its output in
tests/analyses/reference/endpoints.txt), and always state their
denominator: all treated patients of the (filtered) cohort, or those with a best response of
CR or better (`response.best_responses`).

Definitions
- A patient is MRD negative at sensitivity s when any of their results is negative at a test
  at least as sensitive (`mrd_sensitivity` ≤ s): negative at 10⁻⁶ is negative at 10⁻⁵ too.
  A rate is reported for each sensitivity recorded in the data; negative results whose
  sensitivity is not recorded are counted apart, never guessed.
- Sustained MRD negativity at s (IMWG): two negative results at s at least `SUSTAINED_DAYS`
  apart with no positive result in between that would be positive at s (a positive test of
  sensitivity ≥ s, or of unknown sensitivity). It needs the assessment days (`responses.day`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.groups import GROUP, PATIENT, PatientGroups, group_patients
from bsab_explorer.analyses.response import best_responses, clopper_pearson
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import CR_OR_BETTER_CODES

#: Columns of the responses table the MRD-negativity rate needs.
REQUIRED_RESPONSE_COLUMNS = ("mrd_negative", "mrd_sensitivity")
#: Two negative results at least this many days apart make negativity sustained (one year).
SUSTAINED_DAYS = 365.0


@dataclass(frozen=True)
class Proportion:
    """`n` of `total` with its exact CI (None when `total` is 0)."""

    n: int
    total: int
    lower: float | None
    upper: float | None

    @property
    def rate(self) -> float | None:
        """n / total, or None without a denominator."""
        return self.n / self.total if self.total else None


def estimate_proportion(n: int, total: int, conf_level: float = 0.95) -> Proportion:
    """`n` of `total` with its Clopper–Pearson CI, as R's `binom.test(n, total)$conf.int`."""
    if total == 0:
        return Proportion(n, total, None, None)
    lower, upper = clopper_pearson(np.array([n]), np.array([total]), conf_level)
    return Proportion(n, total, float(lower[0]), float(upper[0]))


@dataclass(frozen=True)
class MRDRate:
    """MRD negativity at one sensitivity in one group, among two denominators."""

    group: str
    sensitivity: float
    all_treated: Proportion
    complete_responders: Proportion


@dataclass(frozen=True)
class MRDSummary:
    """MRD-negativity rates per group and sensitivity (sensitivities from least sensitive)."""

    by: str | None
    conf_level: float
    sensitivities: tuple[float, ...]
    rates: tuple[MRDRate, ...]
    #: Negative results whose sensitivity is not recorded (used in no rate).
    negatives_without_sensitivity: int
    excluded_missing_group: int


def _require(responses: pl.DataFrame, columns: Sequence[str], view: str) -> None:
    missing = unrecorded(responses, columns)
    if missing:
        names = ", ".join(f"responses.{c}" for c in missing)
        raise Unavailable(f"{view} needs {names}, which the data do not record.")


def _results(responses: pl.DataFrame) -> pl.DataFrame:
    return responses.filter(pl.col("mrd_negative").is_not_null()).select(
        PATIENT, "mrd_negative", "mrd_sensitivity", *(["day"] if "day" in responses else [])
    )


def _complete_responders(patients: pl.DataFrame, responses: pl.DataFrame) -> pl.Series:
    best = best_responses(patients, responses)
    return best.filter(pl.col("response").is_in(CR_OR_BETTER_CODES)).get_column(PATIENT)


def _rates(
    groups: PatientGroups,
    negative: dict[float, pl.Series],
    complete: pl.Series,
    conf_level: float,
) -> tuple[MRDRate, ...]:
    out: list[MRDRate] = []
    for label in groups.labels:
        members = groups.members.filter(pl.col(GROUP) == label).get_column(PATIENT)
        in_cr = members.filter(members.is_in(complete.implode()))
        for sensitivity, ids in negative.items():
            out.append(
                MRDRate(
                    label,
                    sensitivity,
                    estimate_proportion(
                        int(members.is_in(ids.implode()).sum()), members.len(), conf_level
                    ),
                    estimate_proportion(
                        int(in_cr.is_in(ids.implode()).sum()), in_cr.len(), conf_level
                    ),
                )
            )
    return tuple(out)


def summarise_mrd(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    by: str | None = None,
    *,
    conf_level: float = 0.95,
) -> MRDSummary:
    """MRD-negativity rate with its exact CI among all treated and among ≥CR, per sensitivity."""
    _require(responses, REQUIRED_RESPONSE_COLUMNS, "The MRD-negativity rate")
    results = _results(responses)
    sensitivities = tuple(
        sorted(results.get_column("mrd_sensitivity").drop_nulls().unique().to_list(), reverse=True)
    )
    negatives = results.filter(pl.col("mrd_negative"))
    negative = {
        s: negatives.filter(pl.col("mrd_sensitivity") <= s).get_column(PATIENT).unique()
        for s in sensitivities
    }
    groups = group_patients(patients, by)
    return MRDSummary(
        by=by,
        conf_level=conf_level,
        sensitivities=sensitivities,
        rates=_rates(groups, negative, _complete_responders(patients, responses), conf_level),
        negatives_without_sensitivity=negatives.get_column("mrd_sensitivity").null_count(),
        excluded_missing_group=groups.missing,
    )


def _sustained(results: pl.DataFrame, sensitivity: float) -> bool:
    """Whether one patient's results (sorted by day) hold a sustained negativity at s."""
    start: float | None = None
    for negative, tested, day in results.select("mrd_negative", "mrd_sensitivity", "day").rows():
        if negative and tested is not None and tested <= sensitivity:
            start = day if start is None else start
            if day - start >= SUSTAINED_DAYS:
                return True
        elif not negative and (tested is None or tested >= sensitivity):
            start = None
    return False


def sustained_mrd_patients(responses: pl.DataFrame, sensitivity: float) -> pl.Series:
    """The patients with sustained MRD negativity at `sensitivity` (sorted ids)."""
    _require(responses, (*REQUIRED_RESPONSE_COLUMNS, "day"), "Sustained MRD negativity")
    results = _results(responses).filter(pl.col("day").is_not_null()).sort(PATIENT, "day")
    ids = [
        key[0]
        for key, rows in results.group_by(PATIENT, maintain_order=True)
        if _sustained(rows, sensitivity)
    ]
    return pl.Series(PATIENT, ids, dtype=pl.String)


@dataclass(frozen=True)
class SustainedRate:
    """Sustained MRD negativity at one sensitivity in one group, among all treated."""

    group: str
    sensitivity: float
    all_treated: Proportion


@dataclass(frozen=True)
class SustainedMRD:
    """Sustained MRD negativity per group and sensitivity (from least sensitive)."""

    by: str | None
    conf_level: float
    rates: tuple[SustainedRate, ...]
    excluded_missing_group: int


def summarise_sustained_mrd(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    by: str | None = None,
    *,
    conf_level: float = 0.95,
) -> SustainedMRD:
    """Rate of sustained MRD negativity (two negatives ≥ 1 year apart) among all treated."""
    _require(responses, (*REQUIRED_RESPONSE_COLUMNS, "day"), "Sustained MRD negativity")
    sensitivities = sorted(
        _results(responses).get_column("mrd_sensitivity").drop_nulls().unique().to_list(),
        reverse=True,
    )
    groups = group_patients(patients, by)
    rates: list[SustainedRate] = []
    sustained = {s: sustained_mrd_patients(responses, s) for s in sensitivities}
    for label in groups.labels:
        members = groups.members.filter(pl.col(GROUP) == label).get_column(PATIENT)
        for s in sensitivities:
            n = int(members.is_in(sustained[s].implode()).sum())
            rates.append(SustainedRate(label, s, estimate_proportion(n, members.len(), conf_level)))
    return SustainedMRD(by, conf_level, tuple(rates), groups.missing)
