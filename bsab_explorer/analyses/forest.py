"""Subgroup forest plots: the hazard ratio of one comparison within every level of each subgroup
variable, with the interaction test; and response rates per subgroup level.

Hazard ratios: R's `coxph(Surv(time, event) ~ by)` fitted within each level (this project's
`fit_cox_model`, equal to R's `coxph`), with its Wald CI and p, the level's patients and events.
The interaction p of a subgroup variable is the likelihood-ratio test of `by * subgroup` against
`by + subgroup` on the patients with both recorded (R's `anova` of the two fits).

Small data, as a statistician would have it: a level in which one arm has no patients or there
is no event has no hazard ratio and says why; an interaction with an empty cell (a level × arm
without patients or without events) is not computed and says why (R would drop the aliased
coefficient and report a test on fewer degrees of freedom, or an infinite coefficient); a
hazard ratio that may be infinite says so.

Response: the proportion with an overall response (sCR, CR, VGPR or PR) and with VGPR or better
per level, with the exact Clopper–Pearson CI of R's `binom.test` (`response.clopper_pearson`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from bsab_explorer.analyses.cox_model import Ties, fit_cox_model, level_label
from bsab_explorer.analyses.levels import present_values
from bsab_explorer.analyses.response import clopper_pearson
from bsab_explorer.schema import ORR_CODES, TABLES, VGPR_OR_BETTER_CODES

#: Working columns: the comparison as 0/1 (1: the compared arm), a subgroup level's indicator
#: and its product with the arm.
_ARM = "__arm"
_LEVEL = "__level_{}"
_INTERACTION = "__interaction_{}"


def _levels(frame: pl.DataFrame, column: str) -> list[object]:
    return present_values(frame.get_column(column), TABLES["patients"].codes_of(column))


@dataclass(frozen=True)
class SubgroupHazard:
    """The hazard ratio of the comparison among the patients of one level (or all patients)."""

    variable: str | None
    level: str | None
    n: int
    events: int
    hazard_ratio: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    #: Why there is no hazard ratio, or a caution about it (None when there is nothing to say).
    note: str | None


@dataclass(frozen=True)
class SubgroupVariable:
    """The levels of one subgroup variable and the interaction test."""

    variable: str
    levels: tuple[SubgroupHazard, ...]
    interaction_chi2: float | None
    interaction_df: int
    interaction_p: float | None
    #: Why the interaction test was not computed (None when it was).
    interaction_note: str | None
    #: Patients left out because this variable was not recorded.
    excluded_missing: int


@dataclass(frozen=True)
class SubgroupHazards:
    """A forest plot of hazard ratios: `comparison` against `reference` of column `by`."""

    by: str
    comparison: str
    reference: str
    conf_level: float
    overall: SubgroupHazard
    variables: tuple[SubgroupVariable, ...]


def _hazard(
    rows: pl.DataFrame,
    *,
    time: str,
    event: str,
    by: str,
    arms: tuple[object, object],
    names: tuple[str, str],
    variable: str | None,
    level: str | None,
    ties: Ties,
    conf_level: float,
) -> SubgroupHazard:
    n = rows.height
    events = int(rows.get_column(event).cast(pl.Int64).sum())
    present = set(rows.get_column(by).to_list())
    missing = [name for arm, name in zip(arms, names, strict=True) if arm not in present]
    note = None
    if missing:
        note = f"no hazard ratio: no patients with {by} = {' or '.join(missing)}"
    elif events == 0:
        note = "no hazard ratio: no events"
    if note is not None:
        return SubgroupHazard(variable, level, n, events, None, None, None, None, note)
    fit = fit_cox_model(
        rows,
        time=time,
        event=event,
        covariates=[_ARM],
        ties=ties,
        conf_level=conf_level,
    )
    term = fit.terms[0]
    if term.may_be_infinite:
        note = "the hazard ratio may be infinite (an arm without events)"
    elif not fit.converged:
        note = "the Cox model did not converge"
    return SubgroupHazard(
        variable, level, n, events, term.hazard_ratio, term.lower, term.upper, term.p_value, note
    )


def _cells_note(
    frame: pl.DataFrame, event: str, by: str, variable: str, names: Sequence[str]
) -> str | None:
    cells = frame.group_by(_ARM, variable).agg(
        pl.len().alias("n"), pl.col(event).cast(pl.Int64).sum().alias("events")
    )
    empty = []
    for level in _levels(frame, variable):
        for arm in (0.0, 1.0):
            cell = cells.filter((pl.col(_ARM) == arm) & (pl.col(variable) == level))
            if cell.height == 0 or cell["events"][0] == 0:
                what = "patients" if cell.height == 0 else "events"
                empty.append(
                    f"no {what} with {by} = {names[int(arm)]} and {variable} = {level_label(level)}"
                )
    if empty:
        return "interaction not computed (an empty cell): " + "; ".join(empty)
    return None


def _interaction(
    frame: pl.DataFrame,
    *,
    time: str,
    event: str,
    by: str,
    variable: str,
    names: Sequence[str],
    ties: Ties,
) -> tuple[float | None, int, float | None, str | None]:
    from scipy import special  # deferred: SciPy takes a third of a second to import

    levels = _levels(frame, variable)
    df = len(levels) - 1
    if df < 1:
        return None, 0, None, "interaction not computed: a single level"
    note = _cells_note(frame, event, by, variable, names)
    if note is not None:
        return None, df, None, note
    indicators = [
        pl.col(variable).eq(level).cast(pl.Float64).alias(_LEVEL.format(k))
        for k, level in enumerate(levels[1:])
    ]
    products = [
        (pl.col(_ARM) * pl.col(_LEVEL.format(k))).alias(_INTERACTION.format(k)) for k in range(df)
    ]
    data = frame.with_columns(indicators).with_columns(products)
    main_terms = [_ARM, *[_LEVEL.format(k) for k in range(df)]]
    main = fit_cox_model(data, time=time, event=event, covariates=main_terms, ties=ties)
    full = fit_cox_model(
        data,
        time=time,
        event=event,
        covariates=[*main_terms, *[_INTERACTION.format(k) for k in range(df)]],
        ties=ties,
    )
    if not (main.converged and full.converged):
        return None, df, None, "interaction not computed: a Cox model did not converge"
    chi2 = 2 * (full.loglik[1] - main.loglik[1])
    return chi2, df, float(special.chdtrc(df, chi2)), None


def estimate_subgroup_hazards(
    frame: pl.DataFrame,
    *,
    time: str,
    event: str,
    by: str,
    subgroups: Sequence[str],
    reference: object | None = None,
    ties: Ties | str = Ties.EFRON,
    conf_level: float = 0.95,
) -> SubgroupHazards:
    """Hazard ratio of `by` (two levels: the other against `reference`) within every level of
    each subgroup variable, the overall ratio and the interaction tests."""
    method = Ties(ties)
    missing = [c for c in (time, event, by, *subgroups) if c not in frame.columns]
    if missing:
        raise ValueError(f"no column(s) {', '.join(missing)}")
    kept = frame.drop_nulls([time, event, by])
    arms = _levels(kept, by)
    if len(arms) != 2:
        raise ValueError(f"{by} must have two levels to compare, not {len(arms)}")
    if reference is not None:
        if reference not in arms:
            raise ValueError(f"reference {reference!r} is not a level of {by}: {arms}")
        arms = [reference, *[a for a in arms if a != reference]]
    ordered = (arms[0], arms[1])
    names = (level_label(arms[0]), level_label(arms[1]))
    kept = kept.with_columns(pl.col(by).eq(arms[1]).cast(pl.Float64).alias(_ARM))
    hazard = partial(
        _hazard,
        time=time,
        event=event,
        by=by,
        arms=ordered,
        names=names,
        ties=method,
        conf_level=conf_level,
    )
    overall = hazard(kept, variable=None, level=None)
    variables = []
    for variable in subgroups:
        recorded = kept.drop_nulls(variable)
        hazards = tuple(
            hazard(
                recorded.filter(pl.col(variable) == level),
                variable=variable,
                level=level_label(level),
            )
            for level in _levels(recorded, variable)
        )
        chi2, df, p, note = _interaction(
            recorded, time=time, event=event, by=by, variable=variable, names=names, ties=method
        )
        variables.append(
            SubgroupVariable(variable, hazards, chi2, df, p, note, kept.height - recorded.height)
        )
    return SubgroupHazards(by, names[1], names[0], conf_level, overall, tuple(variables))


# --- response ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubgroupRate:
    """Responders among the evaluable patients of one level (or all), with the exact CI."""

    variable: str | None
    level: str | None
    n: int
    responders: int
    rate: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SubgroupResponse:
    """ORR and VGPR-or-better rates per subgroup level, overall first."""

    conf_level: float
    #: Patients without a response (not evaluable), left out of every rate.
    not_evaluable: int
    orr: tuple[SubgroupRate, ...]
    vgpr_or_better: tuple[SubgroupRate, ...]


def _rate(variable: str | None, level: str | None, hits: np.ndarray, level_: float) -> SubgroupRate:
    n, x = len(hits), int(hits.sum())
    if n == 0:
        return SubgroupRate(variable, level, 0, 0, None, None, None)
    lower, upper = clopper_pearson(np.array([x]), np.array([n]), level_)
    return SubgroupRate(variable, level, n, x, x / n, float(lower[0]), float(upper[0]))


def estimate_subgroup_response(
    frame: pl.DataFrame,
    *,
    response: str,
    subgroups: Sequence[str],
    conf_level: float = 0.95,
) -> SubgroupResponse:
    """ORR and ≥VGPR with Clopper–Pearson CIs (R's `binom.test`) overall and per level of each
    subgroup variable; `response` holds IMWG codes (null: not evaluable)."""
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, not {conf_level}")
    missing = [c for c in (response, *subgroups) if c not in frame.columns]
    if missing:
        raise ValueError(f"no column(s) {', '.join(missing)}")
    evaluable = frame.drop_nulls(response)
    outcomes: Mapping[str, tuple[str, ...]] = {"orr": ORR_CODES, "vgpr": VGPR_OR_BETTER_CODES}
    rates: dict[str, list[SubgroupRate]] = {key: [] for key in outcomes}
    for key, codes in outcomes.items():
        hits = evaluable.get_column(response).is_in(list(codes)).to_numpy()
        rates[key].append(_rate(None, None, hits, conf_level))
        for variable in subgroups:
            values = evaluable.get_column(variable)
            for level in _levels(evaluable.drop_nulls(variable), variable):
                rows = (values == level).fill_null(False).to_numpy()
                rates[key].append(_rate(variable, level_label(level), hits[rows], conf_level))
    return SubgroupResponse(
        conf_level=conf_level,
        not_evaluable=frame.height - evaluable.height,
        orr=tuple(rates["orr"]),
        vgpr_or_better=tuple(rates["vgpr"]),
    )
