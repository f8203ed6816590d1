"""The Cox partial likelihood of a model matrix, per event time, with Efron or Breslow ties.

What `coxph`'s C code accumulates, in one place: the log partial likelihood and, for every
distinct event time (within strata), Σ over its deaths of (x − risk-set mean) and the risk-set
covariance. Their sums are the score and the information that the Newton–Raphson fit of
`cox_model` needs; `proportional_hazards` weights them by a function of time for R's
`cox.zph`. Covariates are centred first, as R does (the likelihood does not change).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Ties(StrEnum):
    """How tied event times enter the partial likelihood (R's `coxph(ties = )`)."""

    EFRON = "efron"
    BRESLOW = "breslow"


@dataclass(frozen=True, eq=False)
class CoxDesign:
    """The rows and model matrix a fit used (complete cases, times after R's timefix)."""

    time: FloatArray
    event: BoolArray
    strata: IntArray
    #: Model matrix, one column per coefficient (not centred).
    matrix: FloatArray
    #: For each covariate (term), the indices of its columns.
    assign: tuple[tuple[int, ...], ...]
    ties: Ties


@dataclass(frozen=True)
class EventTimeSums:
    """Per distinct event time (within strata): Σ over the deaths of (x − risk-set mean), the
    summed risk-set covariance (Efron or Breslow), and the log partial likelihood."""

    loglik: float
    #: (times, p)
    residual: FloatArray
    #: (times, p, p)
    covariance: FloatArray
    #: (times,) each row's event time, and its stratum.
    times: FloatArray
    strata: IntArray

    @property
    def score(self) -> FloatArray:
        """The score vector."""
        return self.residual.sum(axis=0)

    @property
    def information(self) -> FloatArray:
        """The observed information matrix."""
        return self.covariance.sum(axis=0)


def _per_time(values: FloatArray, selected: BoolArray, index: IntArray, m: int) -> FloatArray:
    """Sums of the selected rows' values (a vector or matrix per row) per distinct time."""
    flat = values[selected].reshape(int(selected.sum()), -1)
    out = np.zeros((m, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(index[selected], weights=flat[:, j], minlength=m)
    return out.reshape(m, *values.shape[1:])


def _per_time_outer(
    x: FloatArray, weight: FloatArray, selected: BoolArray, index: IntArray, m: int
) -> FloatArray:
    """Per distinct time, the sum of weight·x·xᵀ over the selected rows (m × p × p), without
    an n × p × p array."""
    p = x.shape[1]
    out = np.zeros((m, p, p))
    for j in range(p):
        for k in range(j + 1):
            column = np.bincount(
                index[selected], weights=(weight * x[:, j] * x[:, k])[selected], minlength=m
            )
            out[:, j, k] = out[:, k, j] = column
    return out


def event_time_sums(design: CoxDesign, beta: FloatArray) -> EventTimeSums:
    """Log partial likelihood and per-event-time score and information terms at `beta`."""
    x = design.matrix - design.matrix.mean(axis=0)
    p = x.shape[1]
    loglik = 0.0
    residuals: list[FloatArray] = []
    covariances: list[FloatArray] = []
    times: list[FloatArray] = []
    strata: list[IntArray] = []
    eta = x @ beta
    for stratum in np.unique(design.strata):
        rows = np.flatnonzero(design.strata == stratum)
        t = design.time[rows]
        dead = design.event[rows]
        distinct, index = np.unique(t, return_inverse=True)
        with_death = np.bincount(index[dead], minlength=len(distinct)) > 0
        if not with_death.any():
            continue
        xs = x[rows]
        risk = np.exp(eta[rows])
        m = len(distinct)

        per_time = partial(_per_time, index=index, m=m)
        everyone = np.ones(len(rows), dtype=np.bool_)
        at_time0 = per_time(risk, everyone)
        at_time1 = per_time(risk[:, None] * xs, everyone)
        at_time2 = _per_time_outer(xs, risk, everyone, index, m)
        # Risk set at a time: everyone whose time is that time or later.
        s0 = np.cumsum(at_time0[::-1], axis=0)[::-1][with_death]
        s1 = np.cumsum(at_time1[::-1], axis=0)[::-1][with_death]
        s2 = np.cumsum(at_time2[::-1], axis=0)[::-1][with_death]
        d0 = per_time(risk, dead)[with_death]
        d1 = per_time(risk[:, None] * xs, dead)[with_death]
        d2 = _per_time_outer(xs, risk, dead, index, m)[with_death]
        n_dead = np.bincount(index[dead], minlength=m)[with_death]
        sum_x = per_time(xs, dead)[with_death]
        sum_eta = per_time(eta[rows], dead)[with_death]
        # One term per death: Efron takes k/d of the tied deaths out of the k-th risk set.
        term = np.repeat(np.arange(len(n_dead)), n_dead)
        k = np.arange(len(term)) - np.repeat(np.cumsum(n_dead) - n_dead, n_dead)
        fraction = k / n_dead[term] if design.ties is Ties.EFRON else np.zeros(len(term))
        denom = s0[term] - fraction * d0[term]
        mean = (s1[term] - fraction[:, None] * d1[term]) / denom[:, None]
        second = (s2[term] - fraction[:, None, None] * d2[term]) / denom[:, None, None]
        cov = second - mean[:, :, None] * mean[:, None, :]
        loglik += float(sum_eta.sum() - np.log(denom).sum())
        residual = sum_x.copy()
        np.add.at(residual, term, -mean)
        covariance = np.zeros((len(n_dead), p, p))
        np.add.at(covariance, term, cov)
        residuals.append(residual)
        covariances.append(covariance)
        times.append(distinct[with_death])
        strata.append(np.full(len(n_dead), stratum, dtype=np.int64))
    if not residuals:
        return EventTimeSums(
            0.0, np.zeros((0, p)), np.zeros((0, p, p)), np.zeros(0), np.zeros(0, dtype=np.int64)
        )
    return EventTimeSums(
        loglik,
        np.concatenate(residuals),
        np.concatenate(covariances),
        np.concatenate(times),
        np.concatenate(strata),
    )
