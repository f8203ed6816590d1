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


def _per_time(values: FloatArray, index: IntArray, m: int) -> FloatArray:
    """Sums of the rows' values (a vector or matrix per row) per distinct time."""
    flat = values.reshape(len(values), -1)
    out = np.empty((m, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(index, weights=flat[:, j], minlength=m)
    return out.reshape(m, *values.shape[1:])


def _per_time_outer(weighted: FloatArray, x: FloatArray, index: IntArray, m: int) -> FloatArray:
    """Per distinct time, the sum of weighted·xᵀ over the rows (m × p × p; `weighted` is
    weight·x), without an n × p × p array."""
    p = x.shape[1]
    out = np.empty((m, p, p))
    for j in range(p):
        for k in range(j + 1):
            column = np.bincount(index, weights=weighted[:, j] * x[:, k], minlength=m)
            out[:, j, k] = out[:, k, j] = column
    return out


def _per_group(values: FloatArray, starts: IntArray) -> FloatArray:
    """Sums of consecutive runs of `values`, each starting at an index of `starts`."""
    return np.add.reduceat(values, starts)


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

        weighted = risk[:, None] * xs
        at_time0 = _per_time(risk, index, m)
        at_time1 = _per_time(weighted, index, m)
        at_time2 = _per_time_outer(weighted, xs, index, m)
        # Risk set at a time: everyone whose time is that time or later.
        s0 = np.cumsum(at_time0[::-1], axis=0)[::-1][with_death]
        s1 = np.cumsum(at_time1[::-1], axis=0)[::-1][with_death]
        s2 = np.cumsum(at_time2[::-1], axis=0)[::-1][with_death]
        # The deaths alone.
        dead_index = index[dead]
        dead_weighted = weighted[dead]
        d0 = _per_time(risk[dead], dead_index, m)[with_death]
        d1 = _per_time(dead_weighted, dead_index, m)[with_death]
        d2 = _per_time_outer(dead_weighted, xs[dead], dead_index, m)[with_death]
        n_dead = np.bincount(dead_index, minlength=m)[with_death]
        sum_x = _per_time(xs[dead], dead_index, m)[with_death]
        sum_eta = _per_time(eta[rows][dead], dead_index, m)[with_death]
        # One term per death: Efron takes k/d of the tied deaths out of the k-th risk set. Only
        # scalars are kept per death; their sums per time weight the per-time vectors and
        # matrices (Σ_k over a time's deaths of mean_k, second_k and mean_k·mean_kᵀ expand into
        # s1, d1, s2, d2 times sums of 1/denom_k, f_k/denom_k, ...), so no deaths × p × p array.
        term = np.repeat(np.arange(len(n_dead)), n_dead)
        k = np.arange(len(term)) - np.repeat(np.cumsum(n_dead) - n_dead, n_dead)
        fraction = k / n_dead[term] if design.ties is Ties.EFRON else np.zeros(len(term))
        denom = s0[term] - fraction * d0[term]
        starts = np.cumsum(n_dead) - n_dead
        per_death_time = partial(_per_group, starts=starts)
        inverse = 1.0 / denom
        a = per_death_time(inverse)  # Σ 1/denom
        b = per_death_time(fraction * inverse)  # Σ f/denom
        c0 = per_death_time(inverse**2)  # Σ 1/denom²
        c1 = per_death_time(fraction * inverse**2)  # Σ f/denom²
        c2 = per_death_time(fraction**2 * inverse**2)  # Σ f²/denom²
        loglik += float(sum_eta.sum() - np.log(denom).sum())
        residual = sum_x - (s1 * a[:, None] - d1 * b[:, None])
        second = s2 * a[:, None, None] - d2 * b[:, None, None]
        s1s1 = s1[:, :, None] * s1[:, None, :]
        s1d1 = s1[:, :, None] * d1[:, None, :]
        d1d1 = d1[:, :, None] * d1[:, None, :]
        means = (
            s1s1 * c0[:, None, None]
            - (s1d1 + s1d1.transpose(0, 2, 1)) * c1[:, None, None]
            + d1d1 * c2[:, None, None]
        )
        covariance = second - means
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
