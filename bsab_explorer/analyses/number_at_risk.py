"""Numbers at risk, cumulative events and cumulative censored per group at chosen times.

The table under a Kaplan–Meier figure (survminer's "n (cum. events)" layout) and its CSV: at each
time t, the patients still at risk (time ≥ t), the events and the censorings up to and including
t. It equals R's `summary(survfit(...), times = t, extend = TRUE)` with `n.event` and `n.censor`
summed over the intervals up to t. Counted from this project's Kaplan–Meier tables
(`KaplanMeierCurve.at_risk`), which are R's `survfit` rows; lifelines has no such table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy.typing as npt
import polars as pl

from bsab_explorer.analyses.survival import estimate_kaplan_meier
from bsab_explorer.analyses.survival.tabulation import survival_arrays

_SCHEMA = pl.Schema(
    {
        "group": pl.String(),
        "time": pl.Float64(),
        "n_risk": pl.Int64(),
        "cum_events": pl.Int64(),
        "cum_censored": pl.Int64(),
    }
)


@dataclass(frozen=True, eq=False)
class RiskTable:
    """One row per group and time: group, time (days), n_risk, cum_events, cum_censored."""

    groups: tuple[str, ...]
    times: tuple[float, ...]
    table: pl.DataFrame

    def of(self, group: str) -> pl.DataFrame:
        """The rows of one group, in time order."""
        if group not in self.groups:
            raise ValueError(f"no group {group!r}; groups are {list(self.groups)}")
        return self.table.filter(pl.col("group") == group)


def count_at_risk(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    times: Sequence[float],
) -> RiskTable:
    """At risk, cumulative events and censored per group (codes index `labels`) at `times`."""
    t, e, g = survival_arrays(time, event, group)
    query = sorted(float(x) for x in times)
    parts = []
    for code, label in enumerate(labels):
        rows = g == code
        curve = estimate_kaplan_meier(t[rows], e[rows], group=label)
        counts = curve.at_risk(query)
        parts.append(counts.with_columns(pl.lit(label).alias("group")).select(list(_SCHEMA)))
    table = pl.concat(parts) if parts else pl.DataFrame(schema=_SCHEMA)
    return RiskTable(groups=tuple(labels), times=tuple(query), table=table.cast(_SCHEMA))
