"""Cumulative incidence of progression with death without progression as the competing event.

PFS counts progression and death alike; when death before progression is frequent, 1 − KM of
PFS overstates the risk of progression. The outcome is derived from the patients' PFS and OS
columns (`derive_competing_outcomes`): a PFS event on the day of death is a death without
progression, any other PFS event a progression, no PFS event a censoring.

Per group and event type, the Aalen–Johansen cumulative incidence and its variance are
`cmprsk::cuminc` (Gray's delta-method variance, read at times by `cmprsk::timepoints`: the value
at the last event of that type up to the time, none beyond the group's last follow-up). The CI
is log(−log) transformed, F^exp(±z·se / (F·log F)), which stays inside (0, 1) (Pintilie's
recommended interval); none where F is 0 or 1. Gray's test compares the groups' cumulative
incidence of each event type (`cuminc`'s `Tests`, ρ = 0, optionally within strata).

Gray's test is not computed, and says why, when a group has no event of that type (an empty
cell: cmprsk would still print a statistic), when fewer than two groups have patients, or when
the score variance is singular (where cmprsk prints −1).

Own code: lifelines' `AalenJohansenFitter` gives the estimate with another variance and no test.

>>> patients = pl.DataFrame({"pfs_days": [30.0, 60.0, 90.0], "pfs_event": [True, True, False],
...                          "os_days": [200.0, 60.0, 90.0], "os_event": [True, True, False]})
>>> derive_competing_outcomes(patients).status.tolist()  # progressed, died, censored
[1, 2, 0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
import polars as pl

from bsab_explorer.analyses.landmarks import normal_quantile
from bsab_explorer.analyses.survival import Endpoint
from bsab_explorer.analyses.survival.tabulation import stratified_arrays


class CompetingEvent(IntEnum):
    """Status codes of the derived outcome."""

    CENSORED = 0
    PROGRESSION = 1
    DEATH_WITHOUT_PROGRESSION = 2

    @property
    def label(self) -> str:
        """How the event is named on tables and figures."""
        return {0: "Censored", 1: "Progression", 2: "Death without progression"}[self.value]


@dataclass(frozen=True, eq=False)
class CompetingOutcomes:
    """Time (days) and status per kept patient; rows that cannot be classified are counted."""

    time: npt.NDArray[np.float64]
    status: npt.NDArray[np.int64]
    #: Mask of the input rows kept (same length as the input).
    kept: npt.NDArray[np.bool_]

    @property
    def excluded(self) -> int:
        """Rows without a PFS time or status, or with a PFS event but no OS time or status."""
        return int((~self.kept).sum())


def derive_competing_outcomes(patients: pl.DataFrame) -> CompetingOutcomes:
    """Progression (1), death without progression (2) or censoring (0) at the PFS time, from
    the patients' pfs_days, pfs_event, os_days and os_event columns."""
    pfs, os = Endpoint.PFS, Endpoint.OS
    needed = [pfs.time_column, pfs.event_column, os.time_column, os.event_column]
    missing = [c for c in needed if c not in patients.columns]
    if missing:
        raise ValueError(f"competing risks need column(s) {', '.join(missing)}")

    def times(column: str) -> npt.NDArray[np.float64]:
        return patients.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()

    def flags(column: str) -> npt.NDArray[np.int8]:
        return patients.get_column(column).cast(pl.Boolean).cast(pl.Int8).fill_null(-1).to_numpy()

    pfs_t, os_t = times(pfs.time_column), times(os.time_column)
    pfs_e, os_e = flags(pfs.event_column), flags(os.event_column)
    known_pfs = ~np.isnan(pfs_t) & (pfs_e >= 0)
    known_os = ~np.isnan(os_t) & (os_e >= 0)
    # Whether a PFS event was a death can only be told with the OS time and status.
    kept = known_pfs & ((pfs_e == 0) | known_os)
    died_then = (os_e == 1) & (os_t == pfs_t)
    status = np.where(pfs_e == 1, np.where(died_then, 2, 1), 0)
    return CompetingOutcomes(pfs_t[kept], status[kept].astype(np.int64), kept)


@dataclass(frozen=True)
class IncidenceAt:
    """The cumulative incidence at one time; None beyond the group's last follow-up."""

    days: float
    estimate: float | None
    variance: float | None
    lower: float | None
    upper: float | None

    @property
    def std_err(self) -> float | None:
        """Standard error of the estimate."""
        return None if self.variance is None else math.sqrt(self.variance)


@dataclass(frozen=True, eq=False)
class IncidenceCurve:
    """One group's cumulative incidence of one event type, as `cuminc` returns it.

    `table`: time, estimate, variance after each event of this type (a step function starting
    at 0); `last_follow_up`: the group's largest time.
    """

    group: str
    event: CompetingEvent
    n: int
    events: int
    last_follow_up: float
    table: pl.DataFrame

    def at(self, days: Sequence[float], conf_level: float = 0.95) -> tuple[IncidenceAt, ...]:
        """The estimate, variance and log(−log) CI at each time (`cmprsk::timepoints`)."""
        z = normal_quantile(conf_level)
        time = self.table["time"].to_numpy()
        estimate = self.table["estimate"].to_numpy()
        variance = self.table["variance"].to_numpy()
        out = []
        for d in days:
            if not math.isfinite(d) or d > self.last_follow_up:
                out.append(IncidenceAt(float(d), None, None, None, None))
                continue
            row = int(np.searchsorted(time, d, side="right")) - 1
            f = float(estimate[row]) if row >= 0 else 0.0
            v = float(variance[row]) if row >= 0 else 0.0
            lower = upper = None
            if 0 < f < 1:
                spread = z * math.sqrt(v) / (f * math.log(f))
                lower, upper = f ** math.exp(-spread), f ** math.exp(spread)
            out.append(IncidenceAt(float(d), f, v, lower, upper))
        return tuple(out)


@dataclass(frozen=True)
class GrayTest:
    """Gray's test of equal cumulative incidence of one event type across groups."""

    event: CompetingEvent
    chi2: float | None
    df: int
    p_value: float | None
    #: Why the test was not computed (None when it was).
    not_computed: str | None


@dataclass(frozen=True, eq=False)
class CompetingRisks:
    """Curves of both event types per group, and Gray's test of each."""

    groups: tuple[str, ...]
    curves: tuple[IncidenceCurve, ...]
    tests: tuple[GrayTest, ...]

    def curve(self, group: str, event: CompetingEvent) -> IncidenceCurve:
        """The curve of one group and event type."""
        for c in self.curves:
            if c.group == group and c.event == event:
                return c
        raise ValueError(f"no curve for group {group!r} and {event.label}")

    def test(self, event: CompetingEvent) -> GrayTest | None:
        """Gray's test of one event type (None with a single group)."""
        return next((t for t in self.tests if t.event == event), None)


def _incidence(time: np.ndarray, status: np.ndarray, cause: int) -> pl.DataFrame:
    """Aalen–Johansen estimate and Gray's delta-method variance after each event of `cause`."""
    distinct, index = np.unique(time, return_inverse=True)
    at_time = np.bincount(index, minlength=len(distinct))
    mine = np.bincount(index[status == cause], minlength=len(distinct))
    other = np.bincount(index[(status != 0) & (status != cause)], minlength=len(distinct))
    at_risk = np.cumsum(at_time[::-1])[::-1]
    surv = 1.0  # all-cause Kaplan–Meier just before the time
    f = v1 = v2 = v3 = 0.0
    rows: list[tuple[float, float, float]] = []
    for t, n, d1, d2 in zip(distinct, at_risk, mine, other, strict=True):
        if d1 + d2 == 0:
            continue
        surv_after = surv * (n - d1 - d2) / n
        if d1:
            f += surv * d1 / n
        # Each event type adds a term to the three running sums of the variance.
        for deaths, own in ((d2, False), (d1, True)):
            if deaths == 0 or (not own and surv_after <= 0):
                continue
            tie = 1.0 if deaths == 1 else 1 - (deaths - 1) / (n - 1)
            weight = surv * surv * tie * deaths / (n * n)
            inverse = 1 / surv_after if surv_after > 0 else 0.0
            lead = 1 + inverse * f if own else f * inverse
            v1 += lead * lead * weight
            v2 += inverse * lead * weight
            v3 += inverse * inverse * weight
        if d1:
            rows.append((float(t), f, v1 + f * f * v3 - 2 * f * v2))
        surv = surv_after
    return pl.DataFrame(
        rows,
        schema={"time": pl.Float64, "estimate": pl.Float64, "variance": pl.Float64},
        orient="row",
    )


def _gray_scores(
    time: np.ndarray, status: np.ndarray, group: np.ndarray, n_groups: int, cause: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gray's (1988) score of the first n_groups − 1 groups and its covariance, one stratum."""
    k1 = n_groups - 1
    order = np.argsort(time, kind="stable")
    time, status, group = time[order], status[order], group[order]
    at_risk = np.bincount(group, minlength=n_groups).astype(np.float64)
    surv_before = np.ones(n_groups)  # all-cause KM per group, left-continuous
    cif_before = np.zeros(n_groups)  # cause-specific incidence per group, left-continuous
    pooled_before = 0.0
    pooled = 0.0
    score = np.zeros(k1)
    cross = np.zeros((n_groups, n_groups))
    v_own = np.zeros(n_groups)
    v_mixed = np.zeros((k1, n_groups))
    cov = np.zeros((k1, k1))
    starts = np.flatnonzero(np.concatenate(([True], time[1:] != time[:-1])))
    ends = np.append(starts[1:], len(time))
    for lo, hi in zip(starts, ends, strict=True):
        g = group[lo:hi]
        s = status[lo:hi]
        d1 = np.bincount(g[s == cause], minlength=n_groups).astype(np.float64)
        d2 = np.bincount(g[(s != 0) & (s != cause)], minlength=n_groups).astype(np.float64)
        n1, n2 = d1.sum(), d2.sum()
        live = at_risk > 0
        surv_after = surv_before.copy()
        cif_after = cif_before.copy()
        if n1 + n2 > 0:
            surv_after[live] = (
                surv_before[live] * (at_risk[live] - d1[live] - d2[live]) / at_risk[live]
            )
            cif_after[live] = cif_before[live] + surv_before[live] * d1[live] / at_risk[live]
            # h: weighted risk sets, R: those still free of the cause (Gray's notation).
            # (A group still at risk has a positive Kaplan–Meier estimate.)
            safe_surv = np.where(live, surv_before, 1.0)
            h = np.where(live, at_risk / safe_surv, 0.0)
            total_h = h.sum()
            total_r = (np.where(live, at_risk * (1 - cif_before), 0.0) / safe_surv).sum()
            pooled = pooled_before + n1 / total_h
            weight = (1 - pooled_before) ** rho
            a = -weight * np.outer(h, h) / total_h
            a[np.diag_indices(n_groups)] = weight * h * (1 - h / total_h)
            a[~live, :] = 0.0
            a[:, ~live] = 0.0
            cross += a * n1 / (total_h * (1 - pooled_before))
            expected = np.where(live, n1 * at_risk * (1 - cif_before) / (safe_surv * total_r), 0.0)
            score += np.where(live, weight * (d1 - expected), 0.0)[:k1]
            if n1 > 0:
                for k in np.flatnonzero(live):
                    t4 = 1 - (1 - pooled) / surv_after[k] if surv_after[k] > 0 else 1.0
                    t5 = 1 - (n1 - 1) / (total_h * surv_before[k] - 1) if n1 > 1 else 1.0
                    t3 = t5 * surv_before[k] * n1 / (total_h * at_risk[k])
                    v_own[k] += t4 * t4 * t3
                    t1 = a[:k1, k] - t4 * cross[:k1, k]
                    v_mixed[:, k] += t1 * t4 * t3
                    cov += np.outer(t1, t1) * t3
            if n2 > 0:
                for k in np.flatnonzero((surv_after > 0) & (d2 > 0)):
                    t4 = (1 - pooled) / surv_after[k]
                    t5 = 1 - (d2[k] - 1) / (at_risk[k] - 1) if d2[k] > 1 else 1.0
                    t3 = t5 * surv_before[k] ** 2 * d2[k] / at_risk[k] ** 2
                    v_own[k] += t4 * t4 * t3
                    t1 = t4 * cross[:k1, k]
                    v_mixed[:, k] -= t1 * t4 * t3
                    cov += np.outer(t1, t1) * t3
        at_risk -= np.bincount(g, minlength=n_groups)
        pooled_before = pooled
        cif_before = cif_after
        surv_before = surv_after
    c = cross[:k1]
    cov += (c * v_own) @ c.T + c @ v_mixed.T + v_mixed @ c.T
    return score, cov


def _gray_test(
    time: np.ndarray,
    status: np.ndarray,
    group: np.ndarray,
    strata: np.ndarray,
    groups: Sequence[str],
    event: CompetingEvent,
    rho: float,
) -> GrayTest:
    from scipy import special  # deferred: SciPy takes a third of a second to import

    n_groups = len(groups)
    df = n_groups - 1
    empty = [groups[k] for k in range(n_groups) if not np.any((group == k) & (status == event))]
    if empty:
        return GrayTest(
            event,
            None,
            df,
            None,
            f"not computed: no {event.label.lower()} in {', '.join(empty)} (an empty cell)",
        )
    score = np.zeros(df)
    cov = np.zeros((df, df))
    for stratum in np.unique(strata):
        rows = strata == stratum
        s, v = _gray_scores(time[rows], status[rows], group[rows], n_groups, int(event), rho)
        score += s
        cov += v
    if np.linalg.matrix_rank(cov) < df:
        return GrayTest(
            event, None, df, None, "not computed: the variance of the group scores is singular"
        )
    chi2 = float(score @ np.linalg.solve(cov, score))
    return GrayTest(event, chi2, df, float(special.chdtrc(df, chi2)), None)


def estimate_cumulative_incidence(
    time: npt.ArrayLike,
    status: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    *,
    strata: npt.ArrayLike | None = None,
    rho: float = 0.0,
) -> CompetingRisks:
    """Cumulative incidence per group (codes index `labels`) and event type, and Gray's tests,
    as `cmprsk::cuminc(time, status, group, strata, rho)`; groups without patients are left out.
    """
    t, s, g, layers = stratified_arrays(
        time, status, group, strata, outcome_name="status", outcome_dtype=np.int64
    )
    if not np.isin(s, [e.value for e in CompetingEvent]).all():
        raise ValueError("status must be 0 (censored), 1 (progression) or 2 (death)")
    present = [k for k in range(len(labels)) if np.any(g == k)]
    groups = tuple(labels[k] for k in present)
    recoded = np.searchsorted(present, g)
    curves = []
    events = (CompetingEvent.PROGRESSION, CompetingEvent.DEATH_WITHOUT_PROGRESSION)
    for event in events:
        for k, label in enumerate(groups):
            rows = recoded == k
            curves.append(
                IncidenceCurve(
                    group=label,
                    event=event,
                    n=int(rows.sum()),
                    events=int((s[rows] == event).sum()),
                    last_follow_up=float(t[rows].max()),
                    table=_incidence(t[rows], s[rows], int(event)),
                )
            )
    tests: tuple[GrayTest, ...] = ()
    if len(groups) > 1:
        tests = tuple(_gray_test(t, s, recoded, layers, groups, e, rho) for e in events)
    return CompetingRisks(groups=groups, curves=tuple(curves), tests=tests)
