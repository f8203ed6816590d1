"""The seeded search that found the cohort's survival times (run once; its result is embedded).

The published survival figures of the debulking cohort are twelve Kaplan-Meier medians with
95 % confidence limits and four log-rank p-values. A Kaplan-Meier median and the limits of its
confidence interval are event times, so the search places events where the printed values say
and then moves the remaining times (simulated annealing, fixed seed) until every printed value
is met when rounded as printed. The result is checked with R's survival package
(`data/debulking/verify_survival.R`); this module is only needed to redo the search, from the
repository's top folder with the project's environment (`make env`):

    .venv/bin/python -m tools.reconstruction.debulking_search --designed-start --seed 12 \
        --iterations 150000 --temperature 0.05

starts from the hand-built `DESIGNED_START`, finds the survival table and then (second
annealing, `--response-seed 2`) the response courses, and prints the `COURSES` lines embedded
in `debulking.py`. It uses a small pure-Python Kaplan-Meier (44 patients, hundreds of
thousands of evaluations); the app's analyses never use it, which is why it lives in `tools/`,
outside the package the app imports (see `tools/reconstruction/README.md`).
"""

from __future__ import annotations

import argparse
import ast
import math
import random
import sys
from dataclasses import dataclass

from bsab_explorer.schema import DAYS_PER_MONTH

#: Two-sided 95 % normal quantile, as R's qnorm(0.975).
Z95 = 1.959963984540054
#: R's tolerance for "the curve sits exactly at the quantile" (sqrt(.Machine$double.eps)).
TIE_TOLERANCE = 1.4901161193847656e-08
NOT_REACHED = math.inf
CONF_TYPES = ("log", "log-log", "plain")

N_PATIENTS = 44
N_EMD = 22
N_HRCA = 22
N_DEATHS = 19


@dataclass(frozen=True)
class Printed:
    """A printed month value (or NR): the half-open interval of months that prints as it."""

    text: str

    @property
    def reached(self) -> bool:
        """Whether the printed value is a time (not NR)."""
        return self.text != "NR"

    @property
    def bounds(self) -> tuple[float, float]:
        """Interval [low, high) in days that rounds to the printed text (in months)."""
        decimals = len(self.text.split(".")[1]) if "." in self.text else 0
        half = 0.5 * 10.0**-decimals
        value = float(self.text)
        return ((value - half) * DAYS_PER_MONTH, (value + half) * DAYS_PER_MONTH)


@dataclass(frozen=True)
class MedianTarget:
    """A published median with its 95 % CI: (median, lower, upper) as printed."""

    target_id: str
    endpoint: str  # "pfs" | "os"
    group: str  # "all" | "emd" | "no_emd" | "hrca" | "no_hrca"
    median: Printed
    lower: Printed
    upper: Printed


@dataclass(frozen=True)
class PValueTarget:
    """A published log-rank p-value: the interval of p that prints as it."""

    target_id: str
    endpoint: str
    factor: str  # "emd" | "hrca"
    low: float
    high: float


def _p(text: str) -> Printed:
    return Printed(text)


MEDIAN_TARGETS = (
    MedianTarget("pfs_median_all", "pfs", "all", _p("10.2"), _p("6.87"), _p("18.6")),
    MedianTarget("pfs_median_no_emd", "pfs", "no_emd", _p("14.1"), _p("6.47"), _p("NR")),
    MedianTarget("pfs_median_emd", "pfs", "emd", _p("9.3"), _p("3.7"), _p("NR")),
    MedianTarget("pfs_median_hrca", "pfs", "hrca", _p("10.2"), _p("5.02"), _p("NR")),
    MedianTarget("pfs_median_no_hrca", "pfs", "no_hrca", _p("7.6"), _p("5.0"), _p("NR")),
    MedianTarget("os_median_all", "os", "all", _p("20.1"), _p("13.8"), _p("NR")),
    MedianTarget("os_median_emd", "os", "emd", _p("13.7"), _p("6.5"), _p("NR")),
    MedianTarget("os_median_no_emd", "os", "no_emd", _p("NR"), _p("13.8"), _p("NR")),
    MedianTarget("os_median_hrca", "os", "hrca", _p("19.3"), _p("13.8"), _p("NR")),
    MedianTarget("os_median_no_hrca", "os", "no_hrca", _p("13.8"), _p("7.45"), _p("NR")),
)
#: p printed with k decimals means p lies in [p - 0.5e-k, p + 0.5e-k).
PVALUE_TARGETS = (
    PValueTarget("pfs_logrank_emd", "pfs", "emd", 0.045, 0.055),
    PValueTarget("pfs_logrank_hrca", "pfs", "hrca", 0.85, 0.95),
    PValueTarget("os_logrank_emd", "os", "emd", 0.05, 0.15),
    PValueTarget("os_logrank_hrca", "os", "hrca", 0.75, 0.85),
)


def km_steps(times: list[float], events: list[bool]) -> list[tuple[float, float, float]]:
    """Kaplan-Meier steps (time, survival, Greenwood variance of log S) at each event time."""
    pairs = sorted(zip(times, events, strict=True))
    at_risk = len(pairs)
    surv, var = 1.0, 0.0
    steps: list[tuple[float, float, float]] = []
    i = 0
    while i < len(pairs):
        t = pairs[i][0]
        deaths = removed = 0
        while i < len(pairs) and pairs[i][0] == t:
            deaths += pairs[i][1]
            removed += 1
            i += 1
        if deaths:
            surv *= 1.0 - deaths / at_risk
            var = var + deaths / (at_risk * (at_risk - deaths)) if at_risk > deaths else math.inf
            steps.append((t, surv, var))
        at_risk -= removed
    return steps


def confidence_band(surv: float, var: float, conf: str) -> tuple[float, float]:
    """Pointwise 95 % limits of S as R's survfit computes them for `conf`."""
    if surv <= 0.0 or math.isinf(var):
        return (math.nan, math.nan)
    se = math.sqrt(var)
    if conf == "log":
        return (surv * math.exp(-Z95 * se), min(1.0, surv * math.exp(Z95 * se)))
    if conf == "log-log":
        if surv >= 1.0:
            return (math.nan, math.nan)
        spread = Z95 * se / abs(math.log(surv))
        return (surv ** math.exp(spread), surv ** math.exp(-spread))
    return (max(0.0, surv - Z95 * se * surv), min(1.0, surv + Z95 * se * surv))


@dataclass(frozen=True)
class MedianSummary:
    """Median and 95 % limits (days; inf = not reached) and whether any value was a tie."""

    median: float
    lower: float
    upper: float
    tie: bool


def _first_below(times: list[float], values: list[float]) -> tuple[float, bool]:
    """First time the step function is <= 0.5; flags a value within R's tolerance of 0.5."""
    for k, (t, v) in enumerate(zip(times, values, strict=True)):
        if math.isnan(v):
            continue
        if abs(v - 0.5) < TIE_TOLERANCE:
            later = times[k + 1] if k + 1 < len(times) else t
            return ((t + later) / 2.0, True)
        if v < 0.5:
            return (t, False)
    return (NOT_REACHED, False)


def summarise_median(times: list[float], events: list[bool], conf: str) -> MedianSummary:
    """Median survival and its 95 % CI (R's survfit rule) for one group."""
    steps = km_steps(times, events)
    ts = [s[0] for s in steps]
    bands = [confidence_band(s[1], s[2], conf) for s in steps]
    median, tie_m = _first_below(ts, [s[1] for s in steps])
    lower, tie_l = _first_below(ts, [b[0] for b in bands])
    upper, tie_u = _first_below(ts, [b[1] for b in bands])
    return MedianSummary(median, lower, upper, tie_m or tie_l or tie_u)


def logrank_p(times: list[float], events: list[bool], group: list[bool]) -> float:
    """Two-group log-rank p-value (R's survdiff, rho = 0)."""
    rows = sorted(zip(times, events, group, strict=True))
    n1 = sum(group)
    n = total = len(rows)
    observed_minus_expected = variance = 0.0
    i = 0
    while i < total:
        t = rows[i][0]
        d = d1 = removed = removed1 = 0
        while i < total and rows[i][0] == t:
            d += rows[i][1]
            d1 += rows[i][1] and rows[i][2]
            removed += 1
            removed1 += rows[i][2]
            i += 1
        if d and n > 1:
            observed_minus_expected += d1 - d * n1 / n
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
        n -= removed
        n1 -= removed1
    if variance <= 0.0:
        return 1.0
    chi2 = observed_minus_expected**2 / variance
    return math.erfc(math.sqrt(chi2 / 2.0))


@dataclass
class State:
    """A candidate cohort: survival times, events and the two grouping factors."""

    pfs: list[float]
    pfs_event: list[bool]
    os: list[float]
    os_event: list[bool]
    emd: list[bool]
    hrca: list[int]  # 1 = HRCA, 0 = no HRCA, -1 = not tested

    def copy(self) -> State:
        """An independent copy."""
        return State(
            self.pfs[:], self.pfs_event[:], self.os[:], self.os_event[:], self.emd[:], self.hrca[:]
        )


def _members(state: State, group: str) -> list[int]:
    if group == "all":
        return list(range(N_PATIENTS))
    if group == "emd":
        return [i for i in range(N_PATIENTS) if state.emd[i]]
    if group == "no_emd":
        return [i for i in range(N_PATIENTS) if not state.emd[i]]
    if group == "hrca":
        return [i for i in range(N_PATIENTS) if state.hrca[i] == 1]
    return [i for i in range(N_PATIENTS) if state.hrca[i] == 0]


def _value_penalty(value: float, printed: Printed) -> float:
    if not printed.reached:
        return 0.0 if math.isinf(value) else 3.0
    if math.isinf(value):
        return 3.0
    low, high = printed.bounds
    if low <= value < high:
        return 0.0
    return 0.3 + min(abs(value - low), abs(value - high)) / DAYS_PER_MONTH


def _value_before(times: list[float], values: list[float], day: float) -> float:
    """Value of a step function just before `day` (1 before the first step; NaN skipped)."""
    last = 1.0
    for t, v in zip(times, values, strict=True):
        if t >= day:
            break
        if not math.isnan(v):
            last = v
    return last


def _crossing_penalty(times: list[float], values: list[float], printed: Printed) -> float:
    """0 when the curve first drops below 0.5 inside the printed interval (never, for NR).

    Continuous in the curve's values, so the search is guided towards the crossing.
    """
    margin = 1e-6
    ties = sum(abs(v - 0.5) < 1e-6 for v in values if not math.isnan(v))
    if not printed.reached:
        lowest = min((v for v in values if not math.isnan(v)), default=1.0)
        return ties + (0.0 if lowest > 0.5 else 1.0 + 10.0 * (0.5 - lowest + margin))
    low, high = printed.bounds
    before = _value_before(times, values, low)
    at_end = _value_before(times, values, high)
    penalty = 0.0
    if before <= 0.5:
        penalty += 1.0 + 10.0 * (0.5 - before + margin)
    if at_end >= 0.5:
        penalty += 1.0 + 10.0 * (at_end - 0.5 + margin)
    return ties + penalty


def _endpoint(state: State, endpoint: str) -> tuple[list[float], list[bool]]:
    return (state.pfs, state.pfs_event) if endpoint == "pfs" else (state.os, state.os_event)


def _count_penalty(count: int, minimum: int) -> float:
    return max(0, minimum - count) * 0.5


def median_penalties(state: State, conf: str) -> dict[str, float]:
    """Per median target, how far its median and CI limits are from printing as published."""
    out: dict[str, float] = {}
    for target in MEDIAN_TARGETS:
        times, events = _endpoint(state, target.endpoint)
        idx = _members(state, target.group)
        steps = km_steps([times[i] for i in idx], [events[i] for i in idx])
        ts = [s[0] for s in steps]
        bands = [confidence_band(s[1], s[2], conf) for s in steps]
        out[target.target_id] = sum(
            _crossing_penalty(ts, values, printed)
            for printed, values in (
                (target.median, [s[1] for s in steps]),
                (target.lower, [b[0] for b in bands]),
                (target.upper, [b[1] for b in bands]),
            )
        )
    return out


#: Minimum numbers alive (OS) at the assessments, overall / EMD / HRCA (C1, C3, C6, C12).
ASSESSED = {"all": (39, 34, 21, 10), "emd": (17, 15, 9, 4), "hrca": (19, 15, 11, 6)}
#: Minimum numbers progression-free at the assessments (responders must not have progressed).
RESPONDING = {"all": (25, 25, 18, 8), "emd": (9, 8, 7, 2), "hrca": (12, 12, 9, 5)}
ASSESSMENT_DAYS = (28.0, 84.0, 168.0, 336.0)
MIN_ALIVE_FOLLOW_UP = 90.0


def loss(state: State, conf: str, give_up: float = math.inf) -> float:
    """How far the candidate is from printing every published survival number (0 = all).

    Stops early (returning a value above `give_up`) once the candidate cannot be accepted.
    """
    total = 0.0
    for target in MEDIAN_TARGETS:
        if total > give_up:
            return total
        times, events = _endpoint(state, target.endpoint)
        idx = _members(state, target.group)
        steps = km_steps([times[i] for i in idx], [events[i] for i in idx])
        ts = [s[0] for s in steps]
        bands = [confidence_band(s[1], s[2], conf) for s in steps]
        for printed, values in (
            (target.median, [s[1] for s in steps]),
            (target.lower, [b[0] for b in bands]),
            (target.upper, [b[1] for b in bands]),
        ):
            total += _crossing_penalty(ts, values, printed)
    if total > give_up:
        return total
    for pt in PVALUE_TARGETS:
        times, events = _endpoint(state, pt.endpoint)
        if pt.factor == "emd":
            idx = list(range(N_PATIENTS))
            grp = state.emd
        else:
            idx = [i for i in range(N_PATIENTS) if state.hrca[i] >= 0]
            grp = [state.hrca[i] == 1 for i in range(N_PATIENTS)]
        p = logrank_p([times[i] for i in idx], [events[i] for i in idx], [grp[i] for i in idx])
        if not pt.low <= p < pt.high:
            total += 0.2 + 10.0 * min(abs(p - pt.low), abs(p - pt.high))
    total += _follow_up_penalty(state)
    # patients alive at the cut-off were followed at least 3 months (last inclusion July 2024)
    total += sum(
        0.5 + (MIN_ALIVE_FOLLOW_UP - state.os[i]) / DAYS_PER_MONTH
        for i in range(N_PATIENTS)
        if not state.os_event[i] and state.os[i] < MIN_ALIVE_FOLLOW_UP
    )
    # 14 deaths from progression: progression must precede them
    progressed_deaths = sum(
        state.os_event[i] and state.pfs[i] < state.os[i] for i in range(N_PATIENTS)
    )
    total += _count_penalty(progressed_deaths, 14)
    for group, minima in ASSESSED.items():
        idx = _members(state, group)
        for day, minimum in zip(ASSESSMENT_DAYS, minima, strict=True):
            total += _count_penalty(sum(state.os[i] >= day for i in idx), minimum)
    for group, minima in RESPONDING.items():
        idx = _members(state, group)
        for day, minimum in zip(ASSESSMENT_DAYS, minima, strict=True):
            free = sum(state.pfs[i] >= day for i in idx)
            total += _count_penalty(free, minimum)
    return total


#: Median follow-up 12 months (range 1-31): observed time to death or last contact, all patients.
FOLLOW_UP_MEDIAN = Printed("12")
FOLLOW_UP_MIN = Printed("1")
FOLLOW_UP_MAX = Printed("31")


def _follow_up_penalty(state: State) -> float:
    ordered = sorted(state.os)
    median = (ordered[21] + ordered[22]) / 2.0
    return (
        _value_penalty(median, FOLLOW_UP_MEDIAN)
        + _value_penalty(ordered[0], FOLLOW_UP_MIN)
        + _value_penalty(ordered[-1], FOLLOW_UP_MAX)
    )


def _special_days() -> list[float]:
    """Days that print as a published median or limit (the places events must sit)."""
    days: list[float] = []
    for target in MEDIAN_TARGETS:
        for printed in (target.median, target.lower, target.upper):
            if printed.reached:
                low, high = printed.bounds
                whole = [float(d) for d in range(math.ceil(low), math.ceil(high))]
                # a whole day when one prints as the value, else tenths of a day
                tenths = [k / 10 for k in range(math.ceil(low * 10), math.ceil(high * 10))]
                days.extend(whole or tenths)
    return sorted(set(days))


# fmt: off
#: A hand-built start (days): the events that the printed medians and CI limits need, placed
#: per group (EMD: 8 progressions by day 112, non-EMD: 8 by day 197, overall 17th at day 209,
#: ...). It meets every median and CI limit but the EMD PFS upper one; the annealing then
#: tunes that and the log-rank p-values. Rows: (pfs, pfs event, os,
#: death, EMD, HRCA 1/0/-1).
DESIGNED_START = (
    (12.0, True, 45.0, True, True, 0),
    (16.0, True, 60.0, True, True, 1),
    (21.0, True, 75.0, True, True, 0),
    (27.0, True, 100.0, True, True, 1),
    (34.0, True, 125.0, True, True, 0),
    (42.0, True, 150.0, True, True, 1),
    (56.0, True, 175.0, True, True, 0),
    (112.0, True, 198.0, True, True, 1),
    (215.0, False, 215.0, False, True, 0),
    (231.0, True, 300.0, True, True, 0),
    (255.0, True, 360.0, True, True, -1),
    (283.0, True, 417.0, True, True, -1),
    (295.0, True, 587.0, True, True, 1),
    (310.0, True, 612.0, True, True, 1),
    (480.0, False, 480.0, False, True, 1),
    (560.0, False, 560.0, False, True, 1),
    (566.0, True, 640.0, False, True, 0),
    (480.0, True, 700.0, False, True, 0),
    (760.0, False, 760.0, False, True, 0),
    (380.0, True, 830.0, False, True, 0),
    (450.0, True, 900.0, False, True, -1),
    (945.0, False, 945.0, False, True, -1),
    (118.0, True, 130.0, True, False, 1),
    (150.0, True, 500.0, False, False, -1),
    (135.0, True, 520.0, False, False, 1),
    (145.0, True, 240.0, True, False, 1),
    (152.0, True, 226.8, True, False, 0),
    (152.8, True, 540.0, False, False, 1),
    (180.0, True, 350.0, True, False, 0),
    (197.0, True, 421.0, True, False, 1),
    (209.0, True, 419.0, True, False, 0),
    (250.0, False, 250.0, False, False, 1),
    (330.0, True, 600.0, False, False, 1),
    (429.0, True, 650.0, False, False, 1),
    (352.0, False, 352.0, False, False, 1),
    (354.0, False, 354.0, False, False, 1),
    (356.0, False, 356.0, False, False, 1),
    (358.0, False, 358.0, False, False, 1),
    (360.0, False, 360.0, False, False, 0),
    (362.0, False, 362.0, False, False, 1),
    (364.0, False, 364.0, False, False, 1),
    (700.0, False, 700.0, False, False, 0),
    (800.0, False, 800.0, False, False, 0),
    (880.0, False, 880.0, False, False, -1),
)
# fmt: on


def designed_start() -> State:
    """The hand-built starting cohort `DESIGNED_START` as a State."""
    return State(
        [float(r[0]) for r in DESIGNED_START],
        [bool(r[1]) for r in DESIGNED_START],
        [float(r[2]) for r in DESIGNED_START],
        [bool(r[3]) for r in DESIGNED_START],
        [bool(r[4]) for r in DESIGNED_START],
        [int(r[5]) for r in DESIGNED_START],
    )


def initial_state(rng: random.Random, n_hrca_false: int) -> State:
    """A random start: exponential-ish times, 22 EMD, 22 HRCA, the rest split as asked."""
    os_days = [float(round(rng.expovariate(1 / 600) + 20)) for _ in range(N_PATIENTS)]
    os_days = [min(d, 950.0) for d in os_days]
    os_event = [False] * N_PATIENTS
    for i in rng.sample(range(N_PATIENTS), N_DEATHS):
        os_event[i] = True
    pfs_days, pfs_event = [], []
    for i in range(N_PATIENTS):
        if os_event[i] or rng.random() < 0.4:
            pfs_days.append(float(round(os_days[i] * rng.uniform(0.3, 1.0))))
            pfs_event.append(True)
        else:
            pfs_days.append(os_days[i])
            pfs_event.append(False)
    emd = [i < N_EMD for i in range(N_PATIENTS)]
    rng.shuffle(emd)
    hrca = [1] * N_HRCA + [0] * n_hrca_false + [-1] * (N_PATIENTS - N_HRCA - n_hrca_false)
    rng.shuffle(hrca)
    return State(pfs_days, pfs_event, os_days, os_event, emd, hrca)


def _propose(state: State, rng: random.Random, special: list[float]) -> State:
    new = state.copy()
    i = rng.randrange(N_PATIENTS)
    move = rng.random()
    if move < 0.25:
        # move a PFS time (keeping PFS <= OS; a censored PFS follows OS)
        if new.pfs_event[i]:
            t = float(round(new.pfs[i] + rng.choice((-1, 1)) * rng.randint(1, 40)))
            if rng.random() < 0.3:
                t = rng.choice(special)
            new.pfs[i] = max(10.0, min(t, new.os[i]))
    elif move < 0.5:
        t = float(round(new.os[i] + rng.choice((-1, 1)) * rng.randint(1, 40)))
        if rng.random() < 0.3:
            t = rng.choice(special)
        new.os[i] = max(new.pfs[i] if new.pfs_event[i] else 10.0, min(t, 958.0))
        if not new.pfs_event[i]:
            new.pfs[i] = new.os[i]
    elif move < 0.6:
        j = rng.randrange(N_PATIENTS)
        new.emd[i], new.emd[j] = new.emd[j], new.emd[i]
    elif move < 0.7:
        j = rng.randrange(N_PATIENTS)
        new.hrca[i], new.hrca[j] = new.hrca[j], new.hrca[i]
    elif move < 0.75:
        # progression while alive <-> censored progression-free
        if not new.os_event[i]:
            if new.pfs_event[i]:
                new.pfs_event[i] = False
                new.pfs[i] = new.os[i]
            else:
                new.pfs_event[i] = True
                new.pfs[i] = float(round(new.os[i] * rng.uniform(0.2, 1.0)))
    elif move < 0.85:
        # exchange a death with a survivor (19 deaths), keeping PFS <= OS
        j = rng.randrange(N_PATIENTS)
        if new.os_event[i] != new.os_event[j]:
            new.os_event[i], new.os_event[j] = new.os_event[j], new.os_event[i]
            for k in (i, j):
                if new.os_event[k] and not new.pfs_event[k]:
                    new.pfs_event[k] = True
    elif move < 0.95:
        # exchange progression histories of two patients where both stay PFS <= OS
        j = rng.randrange(N_PATIENTS)
        if (
            new.pfs_event[i]
            and new.pfs_event[j]
            and new.pfs[i] <= new.os[j]
            and new.pfs[j] <= new.os[i]
            and new.os_event[i] == new.os_event[j]
        ):
            new.pfs[i], new.pfs[j] = new.pfs[j], new.pfs[i]
    else:
        # swap whole survival histories between two patients (moves them across groups)
        j = rng.randrange(N_PATIENTS)
        new.pfs[i], new.pfs[j] = new.pfs[j], new.pfs[i]
        new.os[i], new.os[j] = new.os[j], new.os[i]
        new.pfs_event[i], new.pfs_event[j] = new.pfs_event[j], new.pfs_event[i]
        new.os_event[i], new.os_event[j] = new.os_event[j], new.os_event[i]
    return new


def anneal(
    seed: int,
    conf: str,
    iterations: int,
    n_hrca_false: int,
    start: State | None = None,
    temperature0: float = 0.5,
) -> tuple[State, float]:
    """Simulated annealing from a seeded random start; returns the best state and its loss."""
    rng = random.Random(seed)  # noqa: S311 (reproducible search)
    special = _special_days()
    state = start.copy() if start is not None else initial_state(rng, n_hrca_false)
    current = loss(state, conf)
    best, best_loss = state.copy(), current
    for k in range(iterations):
        temperature = temperature0 * (1 - k / iterations) + 1e-3
        candidate = _propose(state, rng, special)
        # Metropolis with the threshold drawn first, so that hopeless candidates stop early
        threshold = current - temperature * math.log(1.0 - rng.random())
        value = loss(candidate, conf, threshold)
        if value <= threshold:
            state, current = candidate, value
            if value < best_loss:
                best, best_loss = candidate.copy(), value
                if best_loss == 0.0:
                    break
        if k % 20_000 == 0:
            print(f"iteration {k}: loss {current:.4f} (best {best_loss:.4f})", file=sys.stderr)
    return best, best_loss


def read_state(path: str) -> State:
    """Read the state rows printed by `main` (one tuple per patient)."""
    rows = []
    with open(path) as handle:
        for line in handle:
            if line.startswith("("):
                rows.append(ast.literal_eval(line.strip().rstrip(",")))
    return State(
        [float(r[0]) for r in rows],
        [bool(r[1]) for r in rows],
        [float(r[2]) for r in rows],
        [bool(r[3]) for r in rows],
        [bool(r[4]) for r in rows],
        [int(r[5]) for r in rows],
    )


def main() -> None:
    """Run the search; print the survival rows, or the whole course table once it is solved."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", default="log", choices=CONF_TYPES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--hrca-false", type=int, default=16)
    parser.add_argument("--start", help="a file of state rows printed by an earlier run")
    parser.add_argument("--designed-start", action="store_true", help="start from DESIGNED_START")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--response-seed", type=int, default=2)
    parser.add_argument("--response-iterations", type=int, default=300_000)
    args = parser.parse_args()
    start = designed_start() if args.designed_start else None
    if args.start:
        start = read_state(args.start)
    state, value = anneal(
        args.seed, args.conf, args.iterations, args.hrca_false, start, args.temperature
    )
    print(f"loss {value:.4f}")
    for i in range(N_PATIENTS):
        print(
            f"({state.pfs[i]!r}, {state.pfs_event[i]}, {state.os[i]!r}, {state.os_event[i]},"
            f" {state.emd[i]}, {state.hrca[i]}),"
        )
    if value == 0.0:
        rows, response_value = anneal_responses(state, args.response_seed, args.response_iterations)
        print(f"# responses: loss {response_value:.4f}")
        for line in course_lines(state, rows, args.response_seed):
            print(line)


# --- responses ---------------------------------------------------------------------------------

RESPONSE_TIMEPOINTS = ("post_debulking", "C1", "C3", "C6", "C12")
BSAB_TIMEPOINTS = ("C1", "C3", "C6", "C12")
#: Day of each on-treatment assessment (end of cycles 1, 3, 6 and 12 of 28 days).
ASSESSMENT_DAY = {"C1": 28.0, "C3": 84.0, "C6": 168.0, "C12": 336.0}
#: Progression found in (low, high] days is recorded as PD at that assessment.
PD_WINDOW = {"C1": (0.0, 56.0), "C3": (56.0, 126.0), "C6": (126.0, 252.0), "C12": (252.0, 420.0)}
NON_PD = ("CR", "VGPR", "PR", "MR", "SD")
DEPTH = {"CR": 5, "VGPR": 4, "PR": 3, "MR": 2, "SD": 1, "PD": 0}
RESPONDERS = frozenset({"CR", "VGPR", "PR"})


@dataclass(frozen=True)
class ResponseTarget:
    """Evaluable patients and responders (PR or better) at one timepoint within one group."""

    timepoint: str
    group: str
    evaluable: int
    responders: int


RESPONSE_TARGETS = (
    ResponseTarget("post_debulking", "all", 37, 12),
    ResponseTarget("C1", "all", 39, 25),
    ResponseTarget("C3", "all", 34, 25),
    ResponseTarget("C6", "all", 21, 18),
    ResponseTarget("C12", "all", 10, 8),
    ResponseTarget("C1", "emd", 17, 9),
    ResponseTarget("C3", "emd", 15, 8),
    ResponseTarget("C6", "emd", 9, 7),
    ResponseTarget("C12", "emd", 4, 2),
    ResponseTarget("C1", "hrca", 19, 12),
    ResponseTarget("C3", "hrca", 15, 12),
    ResponseTarget("C6", "hrca", 11, 9),
    ResponseTarget("C12", "hrca", 6, 5),
)
#: (timepoint, codes, count): exact numbers of patients in the given categories.
CATEGORY_TARGETS = (
    ("post_debulking", ("CR",), 3),
    ("post_debulking", ("VGPR",), 3),
    ("post_debulking", ("PD",), 8),
    ("C1", ("CR",), 13),
    ("C1", ("CR", "VGPR"), 18),
    ("C12", ("CR",), 3),
    ("best", ("CR",), 17),
    ("best", ("VGPR",), 8),
    ("best", ("PR",), 5),
)


def allowed_responses(state: State, i: int, timepoint: str) -> list[str | None]:
    """Responses patient i can have at a timepoint given their survival (None = not assessed)."""
    if timepoint == "post_debulking":
        return [None, *NON_PD, "PD"]
    options: list[str | None] = [None]
    day = ASSESSMENT_DAY[timepoint]
    if state.os[i] >= day and state.pfs[i] >= day:
        options.extend(NON_PD)
    low, high = PD_WINDOW[timepoint]
    progressed = state.pfs_event[i] and state.pfs[i] < state.os[i]
    if progressed and low < state.pfs[i] <= high:
        options.append("PD")
    return options


def best_response(row: dict[str, str | None]) -> str:
    """Best response over the on-bispecific assessments (NE when never assessed)."""
    seen = [row[t] for t in BSAB_TIMEPOINTS if row[t] is not None]
    return max(seen, key=lambda code: DEPTH[str(code)]) if seen else "NE"  # type: ignore[return-value]


def response_loss(state: State, rows: list[dict[str, str | None]]) -> float:
    """Distance of a response allocation from the published response figures (0 = all met)."""
    total = 0.0
    groups = {
        "all": range(N_PATIENTS),
        "emd": [i for i in range(N_PATIENTS) if state.emd[i]],
        "hrca": [i for i in range(N_PATIENTS) if state.hrca[i] == 1],
    }
    for target in RESPONSE_TARGETS:
        values = [rows[i][target.timepoint] for i in groups[target.group]]
        evaluable = sum(v is not None for v in values)
        responders = sum(v in RESPONDERS for v in values)
        total += abs(evaluable - target.evaluable) + abs(responders - target.responders)
    best: list[str | None] = [best_response(r) for r in rows]
    for timepoint, codes, count in CATEGORY_TARGETS:
        chosen = best if timepoint == "best" else [r[timepoint] for r in rows]
        total += abs(sum(v in codes for v in chosen) - count)
    # conversions: every CR/VGPR after debulking responds; 4 of the 8 PD after debulking respond
    for i, r in enumerate(rows):
        if r["post_debulking"] in ("CR", "VGPR") and best[i] not in RESPONDERS:
            total += 1.0
    pd_responding = sum(
        r["post_debulking"] == "PD" and best[i] in RESPONDERS for i, r in enumerate(rows)
    )
    total += abs(pd_responding - 4)
    for r in rows:
        total += _trajectory_penalty(r)
    return total


def _trajectory_penalty(row: dict[str, str | None]) -> float:
    """Small costs for implausible courses: rows after PD, depth lost without PD, gaps."""
    penalty = 0.0
    seen_pd = False
    last_depth = -1
    gap = False
    for t in BSAB_TIMEPOINTS:
        value = row[t]
        if value is None:
            gap = True
            continue
        if seen_pd:
            penalty += 1.0
        if gap and last_depth >= 0:
            penalty += 0.05
        if value == "PD":
            seen_pd = True
        elif DEPTH[value] < last_depth:
            penalty += 0.1
        last_depth = DEPTH[value]
        gap = False
    return penalty


#: PET-CT assessments after C1, C3 and C6 (text), given to patients with EMD first.
PET_CT_COUNTS = {"C1": 4, "C3": 7, "C6": 7}
DEATH_CAUSES = {"progression": 14, "infection": 3, "other": 2}


def course_lines(state: State, rows: list[dict[str, str | None]], seed: int) -> list[str]:
    """The solved cohort as `_c(...)` lines for `debulking.COURSES`.

    Deaths without a prior progression get the non-progression causes first; PET-CT goes to
    assessed patients with EMD first; both drawn with `seed`.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible search)
    deaths = [i for i in range(N_PATIENTS) if state.os_event[i]]
    unprogressed = [i for i in deaths if state.pfs[i] >= state.os[i]]
    progressed = [i for i in deaths if state.pfs[i] < state.os[i]]
    n_other_causes = DEATH_CAUSES["infection"] + DEATH_CAUSES["other"]
    non_progression = unprogressed + rng.sample(progressed, n_other_causes - len(unprogressed))
    causes = dict.fromkeys(deaths, "progression")
    for k, i in enumerate(non_progression):
        causes[i] = "infection" if k < DEATH_CAUSES["infection"] else "other"
    pet: set[tuple[int, str]] = set()
    for timepoint, count in PET_CT_COUNTS.items():
        assessed = [i for i in range(N_PATIENTS) if rows[i][timepoint] is not None]
        emd_first = [i for i in assessed if state.emd[i]] + [
            i for i in assessed if not state.emd[i]
        ]
        pool = emd_first[: max(count, sum(state.emd[i] for i in assessed))]
        pet.update((i, timepoint) for i in rng.sample(pool, count))
    lines = []
    for i in range(N_PATIENTS):
        tokens = []
        for timepoint in RESPONSE_TIMEPOINTS:
            value = rows[i][timepoint]
            star = "*" if (i, timepoint) in pet else ""
            tokens.append("-" if value is None else f"{value}{star}")
        lines.append(
            f"    _c({_day(state.pfs[i])}, {int(state.pfs_event[i])}, {_day(state.os[i])},"
            f" {int(state.os_event[i])}, {int(state.emd[i])}, {state.hrca[i]},"
            f' "{causes.get(i, "")}", "{" ".join(tokens)}"),'
        )
    return lines


def _day(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _contribution(state: State, i: int, row: dict[str, str | None]) -> list[float]:
    """Patient i's additive share of every response count (same order as `_response_goals`)."""
    out: list[float] = []
    member = {"all": True, "emd": state.emd[i], "hrca": state.hrca[i] == 1}
    for target in RESPONSE_TARGETS:
        value = row[target.timepoint] if member[target.group] else None
        out.append(float(value is not None))
        out.append(float(value in RESPONDERS))
    best = best_response(row)
    for timepoint, codes, _ in CATEGORY_TARGETS:
        value = best if timepoint == "best" else row[timepoint]
        out.append(float(value in codes))
    out.append(float(row["post_debulking"] in ("CR", "VGPR") and best not in RESPONDERS))
    out.append(float(row["post_debulking"] == "PD" and best in RESPONDERS))
    return out


def _response_goals() -> list[float]:
    goals: list[float] = []
    for target in RESPONSE_TARGETS:
        goals.extend((float(target.evaluable), float(target.responders)))
    goals.extend(float(count) for _, _, count in CATEGORY_TARGETS)
    goals.extend((0.0, 4.0))
    return goals


def anneal_responses(
    state: State, seed: int, iterations: int
) -> tuple[list[dict[str, str | None]], float]:
    """Seeded annealing of response trajectories under the survival of `state`.

    The counts are additive over patients, so a move updates the totals by one patient's change.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible search)
    options = [
        {t: allowed_responses(state, i, t) for t in RESPONSE_TIMEPOINTS} for i in range(N_PATIENTS)
    ]
    rows: list[dict[str, str | None]] = [
        {t: rng.choice(options[i][t]) for t in RESPONSE_TIMEPOINTS} for i in range(N_PATIENTS)
    ]
    goals = _response_goals()
    shares = [_contribution(state, i, rows[i]) for i in range(N_PATIENTS)]
    penalties = [_trajectory_penalty(r) for r in rows]
    totals = [sum(col) for col in zip(*shares, strict=True)]

    def distance(values: list[float], penalty: float) -> float:
        return sum(abs(v - g) for v, g in zip(values, goals, strict=True)) + penalty

    current = distance(totals, sum(penalties))
    best_rows, best_loss = [dict(r) for r in rows], current
    for k in range(iterations):
        temperature = 1.0 * (1 - k / iterations) + 1e-3
        i = rng.randrange(N_PATIENTS)
        t = rng.choice(RESPONSE_TIMEPOINTS)
        old = rows[i][t]
        rows[i][t] = rng.choice(options[i][t])
        share = _contribution(state, i, rows[i])
        penalty = _trajectory_penalty(rows[i])
        new_totals = [v - a + b for v, a, b in zip(totals, shares[i], share, strict=True)]
        value = distance(new_totals, sum(penalties) - penalties[i] + penalty)
        if value <= current or rng.random() < math.exp((current - value) / temperature):
            current, totals, shares[i], penalties[i] = value, new_totals, share, penalty
            if value < best_loss - 1e-12:
                best_rows, best_loss = [dict(r) for r in rows], value
        else:
            rows[i][t] = old
    return best_rows, best_loss


if __name__ == "__main__":
    main()
