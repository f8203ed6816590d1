"""Patients and events per group at each distinct time: what Kaplan–Meier, log-rank and Cox all
start from, and the R conventions they share.

Times that differ by less than R's tolerance are merged first (`aeqSurv`, R's `timefix`). One
counting pass per summary, whatever the number of groups: direct counts for whole days, one
sort otherwise, so that a registry-sized cohort is never sorted per group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


#: R's default tolerance (sqrt of machine epsilon) for ties and for "exactly 50 %".
R_TOLERANCE = math.sqrt(np.finfo(np.float64).eps)


def normal_quantile(conf_level: float) -> float:
    """The two-sided standard normal quantile of a confidence level, as R's `qnorm`."""
    # statistics.NormalDist uses Wichura's AS241, as R's qnorm: the same last digit.
    return NormalDist().inv_cdf(1 - (1 - conf_level) / 2)


def _tied_cuts(distinct: FloatArray) -> IntArray | None:
    """For sorted distinct times, the index of the merged time each maps to (R's aeqSurv).

    None when no two times are closer than R's tolerance (the usual case).
    """
    if len(distinct) < 2:
        return None
    gaps = np.diff(distinct)
    scale = np.mean(np.abs(distinct))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (gaps <= R_TOLERANCE) | (gaps / scale <= R_TOLERANCE)
    if not tied.any():
        return None
    return np.concatenate(([0], np.cumsum(~tied)))


def align_tied_times(time: npt.ArrayLike) -> FloatArray:
    """Merge times closer than R's tolerance onto the first of them, as R's `aeqSurv` (timefix):
    for the methods that take raw times (weighted log-rank, multivariable Cox)."""
    t = np.asarray(time, dtype=np.float64)
    finite = np.sort(t[np.isfinite(t)])
    distinct = (
        finite[np.concatenate(([True], finite[1:] != finite[:-1]))] if len(finite) else finite
    )
    cut_of = _tied_cuts(distinct)
    if cut_of is None:
        return t
    cuts = distinct[np.concatenate(([True], cut_of[1:] != cut_of[:-1]))]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


def survival_arrays(
    time: npt.ArrayLike,
    outcome: npt.ArrayLike,
    group: npt.ArrayLike,
    *,
    outcome_name: str = "event",
    outcome_dtype: type = np.bool_,
) -> tuple[FloatArray, npt.NDArray[Any], IntArray]:
    """Time, outcome and group code of one patient each as arrays of one length: every method
    that takes raw columns checks its input here."""
    t = np.asarray(time, dtype=np.float64)
    o: npt.NDArray[Any] = np.asarray(outcome, dtype=outcome_dtype)
    g = np.asarray(group, dtype=np.int64)
    if not (t.shape == o.shape == g.shape):
        raise ValueError(f"time, {outcome_name} and group must have the same length")
    return t, o, g


def stratified_arrays(
    time: npt.ArrayLike,
    outcome: npt.ArrayLike,
    group: npt.ArrayLike,
    strata: npt.ArrayLike | None,
    *,
    outcome_name: str = "event",
    outcome_dtype: type = np.bool_,
) -> tuple[FloatArray, npt.NDArray[Any], IntArray, IntArray]:
    """`survival_arrays` and the stratum codes (zeros without strata), for the stratified tests,
    which cannot leave out a missing or infinite time."""
    t = np.asarray(time, dtype=np.float64)
    o: npt.NDArray[Any] = np.asarray(outcome, dtype=outcome_dtype)
    g = np.asarray(group, dtype=np.int64)
    s = np.zeros_like(g) if strata is None else np.asarray(strata, dtype=np.int64)
    if not (t.shape == o.shape == g.shape == s.shape):
        raise ValueError(f"time, {outcome_name}, group and strata must have the same length")
    if not np.isfinite(t).all():
        raise ValueError("time has missing or infinite values; exclude them first")
    return t, o, g, s


#: Whole-day times up to this bound are tabulated by direct counting instead of sorting.
_DENSE_TIME_LIMIT = 1_000_000


@dataclass(frozen=True)
class Tabulation:
    """Patients at each distinct time (after R's timefix), per group: everything KM,
    log-rank and Cox need, in O(groups x distinct times) memory."""

    times: FloatArray  # (m,) ascending
    at_time: IntArray  # (groups, m): patients whose time is this time
    events: IntArray  # (groups, m): of whom with the event

    def curve_counts(self, group: int) -> tuple[FloatArray, IntArray, IntArray]:
        """The group's distinct times, patients at each and events at each."""
        present = self.at_time[group] > 0
        return self.times[present], self.at_time[group, present], self.events[group, present]

    @cached_property
    def risk_sets(self) -> tuple[FloatArray, FloatArray]:
        """Number at risk and events per group at each time with at least one event."""
        at_risk = np.cumsum(self.at_time[:, ::-1], axis=1)[:, ::-1]
        with_event = self.events.sum(axis=0) > 0
        return at_risk[:, with_event].astype(np.float64), self.events[:, with_event].astype(
            np.float64
        )


def tabulate(
    time: FloatArray, event: BoolArray, group: IntArray, n_groups: int, timefix: bool
) -> Tabulation:
    """Count patients and events per (group, distinct time) without a Python loop."""
    if len(time) == 0:
        empty = np.zeros((n_groups, 0), dtype=np.int64)
        return Tabulation(np.zeros(0), empty, empty)
    top = float(time.max())
    if time.min() >= 0 and top < _DENSE_TIME_LIMIT and np.array_equal(time, np.floor(time)):
        # Whole days (the usual case): direct counting; integer gaps are never "tied" for R.
        width = int(top) + 1
        key = group * width + time.astype(np.int64)
        at_time = np.bincount(key, minlength=n_groups * width).reshape(n_groups, width)
        events = np.bincount(key[event], minlength=n_groups * width).reshape(n_groups, width)
        used = at_time.sum(axis=0) > 0
        return Tabulation(
            np.flatnonzero(used).astype(np.float64), at_time[:, used], events[:, used]
        )
    order = np.argsort(time)
    sorted_time = time[order]
    starts = np.concatenate(([True], sorted_time[1:] != sorted_time[:-1]))
    distinct = sorted_time[starts]
    index = np.cumsum(starts) - 1
    cut_of = _tied_cuts(distinct) if timefix else None
    if cut_of is not None:
        index = cut_of[index]
        distinct = distinct[np.concatenate(([True], cut_of[1:] != cut_of[:-1]))]
    m = len(distinct)
    key = group[order] * m + index
    at_time = np.bincount(key, minlength=n_groups * m).reshape(n_groups, m)
    events = np.bincount(key[event[order]], minlength=n_groups * m).reshape(n_groups, m)
    return Tabulation(distinct, at_time, events)
