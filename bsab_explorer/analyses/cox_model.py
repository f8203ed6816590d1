"""Multivariable Cox proportional hazards models, as R's `coxph`.

`fit_cox_model` takes any covariates of a frame (numbers, yes/no flags, coded categories
expanded into indicators against a reference level), optional strata, and Efron or Breslow
ties. It reports per coefficient the hazard ratio with its Wald CI and p; the global
likelihood-ratio, Wald and score tests; Harrell's concordance; events per variable.

Own code, not lifelines: the fit repeats R's `coxfit6` Newton–Raphson (start at 0,
step-halving, stop when the log likelihood changes by ≤ 1e-9 relatively, at most 20 iterations)
and `coxph.fit`'s check for coefficients drifting to infinity, so that the estimates (equal to
R's to ~1e-14), the iteration count and the "did not converge" / "may be infinite" notes are
R's. lifelines 0.30.3's `CoxPHFitter` stops on its own criterion 3.6e-6 (relative) away from R's
coefficients on `survival::lung` whatever its `precision` (a test records this), has no Breslow
ties and no score test.

Small data: fewer than 10 events per estimated coefficient gives a warning; a fit that ran out of
iterations or has coefficients that may be infinite says so in `warnings`, never silently.

A fit that runs out of iterations reports R's coefficients (those of the last accepted Newton
step) and R's likelihoods and score test, but its variance is the inverse of the information at
those coefficients. R's is not (a known coxfit6 quirk): on `survival::lung` with
`iter.max = 2` it is the inverse of the information neither at the estimate nor at any earlier
step, so R's standard errors, CIs and Wald test of such a fit have no meaning to reproduce.
R also counts one iteration more than it ran (`iter.max + 1`); `iterations` is the number run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from bsab_explorer.analyses.concordance import concordance_index
from bsab_explorer.analyses.landmarks import normal_quantile
from bsab_explorer.analyses.levels import present_values
from bsab_explorer.analyses.partial_likelihood import (
    CoxDesign,
    EventTimeSums,
    Ties,
    event_time_sums,
)
from bsab_explorer.analyses.survival import ChiSquareTest, align_tied_times
from bsab_explorer.schema import TABLES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: coxph.control() defaults: convergence tolerance and iterations.
COX_EPS = 1e-9
COX_MAX_ITER = 20
#: Events per estimated coefficient below which a model is flagged as overfitted.
MIN_EVENTS_PER_VARIABLE = 10


#: The columns of `CoxFit.frame`, one row per coefficient.
TERM_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "term": pl.String,
    "covariate": pl.String,
    "level": pl.String,
    "reference": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "hazard_ratio": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "z": pl.Float64,
    "p_value": pl.Float64,
    "may_be_infinite": pl.Boolean,
}


@dataclass(frozen=True)
class CoxTerm:
    """One coefficient: a numeric covariate, a flag, or one level of a coded covariate."""

    covariate: str
    #: The level compared with `reference` (None for a numeric covariate).
    level: str | None
    reference: str | None
    coef: float
    se: float
    hazard_ratio: float
    lower: float
    upper: float
    z: float
    p_value: float
    #: R's "Loglik converged before variable ...; coefficient may be infinite".
    may_be_infinite: bool

    @property
    def name(self) -> str:
        """'age_years' or 'iss_stage: III vs I'."""
        if self.level is None:
            return self.covariate
        return f"{self.covariate}: {self.level} vs {self.reference}"


@dataclass(frozen=True, eq=False)
class CoxFit:
    """A fitted Cox model: coefficients, global tests, concordance and small-data notes."""

    covariates: tuple[str, ...]
    strata: str | None
    ties: Ties
    conf_level: float
    terms: tuple[CoxTerm, ...]
    n: int
    events: int
    #: Rows left out because the time, the status, a covariate or the stratum was missing.
    excluded_missing: int
    #: Log partial likelihood at 0 and at the estimate.
    loglik: tuple[float, float]
    likelihood_ratio: ChiSquareTest
    wald: ChiSquareTest
    score: ChiSquareTest
    concordance: float
    iterations: int
    converged: bool
    coefficients: FloatArray
    variance: FloatArray
    design: CoxDesign

    @property
    def events_per_variable(self) -> float:
        """Events per estimated coefficient."""
        return self.events / len(self.terms) if self.terms else math.inf

    @property
    def warnings(self) -> tuple[str, ...]:
        """Cautions to print with the model (empty when none apply)."""
        out: list[str] = []
        if self.events_per_variable < MIN_EVENTS_PER_VARIABLE:
            out.append(
                f"{self.events} events for {len(self.terms)} coefficients "
                f"({self.events_per_variable:.1f} per variable, fewer than "
                f"{MIN_EVENTS_PER_VARIABLE}): the model may be overfitted."
            )
        if not self.converged:
            out.append(
                f"The model did not converge in {self.iterations} iterations: "
                "its estimates are not reliable."
            )
        infinite = [t.name for t in self.terms if t.may_be_infinite]
        if infinite:
            out.append(
                f"Coefficient(s) may be infinite: {', '.join(infinite)} "
                "(a level with no events, or all events in one level)."
            )
        return tuple(out)

    def frame(self) -> pl.DataFrame:
        """term, covariate, level, reference, coef, se, hazard_ratio, ci_lower, ci_upper, z,
        p_value, may_be_infinite: one row per coefficient."""
        return pl.DataFrame(
            [
                {
                    "term": t.name,
                    "covariate": t.covariate,
                    "level": t.level,
                    "reference": t.reference,
                    "coef": t.coef,
                    "se": t.se,
                    "hazard_ratio": t.hazard_ratio,
                    "ci_lower": t.lower,
                    "ci_upper": t.upper,
                    "z": t.z,
                    "p_value": t.p_value,
                    "may_be_infinite": t.may_be_infinite,
                }
                for t in self.terms
            ],
            schema=TERM_SCHEMA,
        )


# --- the model matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    covariate: str
    level: str | None
    reference: str | None


def level_label(value: object) -> str:
    """How a level is named: Yes/No for flags, numbers without trailing zeros."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _model_matrix(
    frame: pl.DataFrame, covariates: Sequence[str], reference: Mapping[str, str]
) -> tuple[FloatArray, list[_Column], tuple[tuple[int, ...], ...]]:
    columns: list[FloatArray] = []
    described: list[_Column] = []
    assign: list[tuple[int, ...]] = []
    for name in covariates:
        series = frame.get_column(name)
        start = len(columns)
        if series.dtype == pl.Boolean:
            columns.append(series.cast(pl.Float64).to_numpy())
            described.append(_Column(name, "Yes", "No"))
        elif series.dtype.is_numeric():
            columns.append(series.cast(pl.Float64).to_numpy())
            described.append(_Column(name, None, None))
        else:
            levels = [str(v) for v in present_values(series, TABLES["patients"].codes_of(name))]
            ref = reference.get(name, levels[0] if levels else "")
            if ref not in levels:
                raise ValueError(f"reference level {ref!r} of {name} is not one of {levels}")
            values = series.cast(pl.String).to_numpy()
            for level in levels:
                if level != ref:
                    columns.append((values == level).astype(np.float64))
                    described.append(_Column(name, level, ref))
        assign.append(tuple(range(start, len(columns))))
    matrix = np.column_stack(columns) if columns else np.zeros((frame.height, 0))
    return matrix, described, tuple(assign)


# --- fitting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Newton:
    beta: FloatArray
    sums: EventTimeSums
    loglik0: float
    score_test: float
    iterations: int
    converged: bool


def _newton_raphson(design: CoxDesign, max_iter: int) -> _Newton:
    """R's coxfit6: Newton–Raphson from 0 with step-halving."""
    p = design.matrix.shape[1]
    beta = np.zeros(p)
    start = event_time_sums(design, beta)
    info = start.information
    step = np.linalg.solve(info, start.score)
    score_test = float(start.score @ step)
    best = start.loglik
    best_sums = start
    new_beta = beta + step
    halving = 0
    iterations = 0
    converged = False
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        sums = event_time_sums(design, new_beta)
        finite = (
            math.isfinite(sums.loglik)
            and np.isfinite(sums.score).all()
            and np.isfinite(sums.information).all()
        )
        if finite and abs(1 - best / sums.loglik) <= COX_EPS:
            beta, best_sums, converged = new_beta, sums, True
            break
        if not finite or sums.loglik < best:
            halving += 1
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = sums.loglik
            best_sums = sums
            beta = new_beta
            new_beta = new_beta + np.linalg.solve(sums.information, sums.score)
    return _Newton(beta, best_sums, start.loglik, score_test, iterations, converged)


def fit_cox_model(
    frame: pl.DataFrame,
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    strata: str | None = None,
    ties: Ties | str = Ties.EFRON,
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    max_iter: int = COX_MAX_ITER,
) -> CoxFit:
    """Cox model of `time`/`event` on `covariates` (within `strata`), as R's `coxph`.

    Rows missing any of these columns are left out and counted (R's `na.omit`). Coded
    covariates are compared with their first level (contract order, else sorted) unless
    `reference` names another. Raises ValueError when nothing can be estimated (no covariate,
    no event, or a covariate that does not vary).
    """
    from scipy import special  # deferred: SciPy takes a third of a second to import

    if not covariates:
        raise ValueError("a Cox model needs at least one covariate")
    used = [time, event, *covariates, *([strata] if strata else [])]
    missing = [c for c in used if c not in frame.columns]
    if missing:
        raise ValueError(f"no column(s) {', '.join(missing)}")
    complete = frame.select(used).drop_nulls()
    complete = complete.filter(pl.col(time).cast(pl.Float64).is_not_nan())
    matrix, described, assign = _model_matrix(complete, covariates, reference or {})
    if matrix.shape[1] == 0:
        raise ValueError("the covariates have a single level: nothing to estimate")
    constant = np.ptp(matrix, axis=0) == 0
    if constant.any():
        names = sorted({described[i].covariate for i in np.flatnonzero(constant)})
        raise ValueError(f"covariate(s) {', '.join(names)} do not vary among complete cases")
    if strata:
        layers = complete.get_column(strata)
        layer_levels = present_values(layers)
        position = {v: k for k, v in enumerate(layer_levels)}
        stratum_codes = np.array([position[v] for v in layers.to_list()], dtype=np.int64)
    else:
        stratum_codes = np.zeros(complete.height, dtype=np.int64)
    design = CoxDesign(
        time=align_tied_times(complete.get_column(time).cast(pl.Float64).to_numpy()),
        event=complete.get_column(event).cast(pl.Boolean).to_numpy(),
        strata=stratum_codes,
        matrix=matrix,
        assign=assign,
        ties=Ties(ties),
    )
    events = int(design.event.sum())
    if events == 0:
        raise ValueError("no events among the complete cases: nothing to estimate")
    fit = _newton_raphson(design, max_iter)
    info = fit.sums.information
    variance = np.asarray(np.linalg.inv(info), dtype=np.float64)
    beta = fit.beta
    se = np.sqrt(np.diag(variance))
    z_crit = normal_quantile(conf_level)
    # coxph.fit's check for coefficients drifting to infinity (toler.inf = sqrt(eps)).
    drift = np.abs(fit.sums.score @ variance)
    infinite = fit.converged & (
        ~np.isfinite(fit.sums.score)
        | ((drift > COX_EPS) & (drift > math.sqrt(COX_EPS) * np.abs(beta)))
    )
    terms = []
    for j, column in enumerate(described):
        z = beta[j] / se[j]
        with np.errstate(over="ignore"):
            terms.append(
                CoxTerm(
                    covariate=column.covariate,
                    level=column.level,
                    reference=column.reference,
                    coef=float(beta[j]),
                    se=float(se[j]),
                    hazard_ratio=float(np.exp(beta[j])),
                    lower=float(np.exp(beta[j] - z_crit * se[j])),
                    upper=float(np.exp(beta[j] + z_crit * se[j])),
                    z=float(z),
                    p_value=float(2 * special.ndtr(-abs(z))),
                    may_be_infinite=bool(infinite[j]),
                )
            )
    p = len(beta)
    wald = float(beta @ info @ beta)
    lr = 2 * (fit.sums.loglik - fit.loglik0)
    risk = (design.matrix - design.matrix.mean(axis=0)) @ beta
    return CoxFit(
        covariates=tuple(covariates),
        strata=strata,
        ties=design.ties,
        conf_level=conf_level,
        terms=tuple(terms),
        n=complete.height,
        events=events,
        excluded_missing=frame.height - complete.height,
        loglik=(fit.loglik0, fit.sums.loglik),
        likelihood_ratio=ChiSquareTest(lr, p, float(special.chdtrc(p, lr))),
        wald=ChiSquareTest(wald, p, float(special.chdtrc(p, wald))),
        score=ChiSquareTest(fit.score_test, p, float(special.chdtrc(p, fit.score_test))),
        concordance=concordance_index(design.time, design.event, risk, design.strata),
        iterations=fit.iterations,
        converged=fit.converged,
        coefficients=beta,
        variance=variance,
        design=design,
    )
