"""Harrell's concordance of a risk score with survival times, as R's `coxph` reports it.

Counted in O(n log n): times are walked from the last, and the risks of the patients still
followed are kept in a binary indexed tree, so that each event's concordant, discordant and tied
partners are three prefix counts. The Cox model reports it for its linear predictor.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class _FenwickCounts:
    """How many inserted values have each rank or less (a binary indexed tree, vectorised)."""

    def __init__(self, size: int) -> None:
        self.tree = np.zeros(size + 1, dtype=np.int64)
        self.count = 0

    def insert(self, ranks: IntArray) -> None:
        """Add values of 1-based `ranks`."""
        self.count += len(ranks)
        at = ranks.copy()
        while len(at):
            np.add.at(self.tree, at, 1)
            at = at + (at & -at)
            at = at[at < len(self.tree)]

    def at_most(self, ranks: IntArray) -> IntArray:
        """For each 1-based rank, the number of inserted values of that rank or less."""
        total = np.zeros(len(ranks), dtype=np.int64)
        at = ranks.copy()
        while (at > 0).any():
            live = at > 0
            total[live] += self.tree[at[live]]
            at[live] -= at[live] & -at[live]
        return total


def concordance_index(
    time: FloatArray, event: BoolArray, risk: FloatArray, strata: IntArray
) -> float:
    """Harrell's C of a risk score (higher: earlier event), as R's `coxph` concordance.

    A pair is comparable when the shorter time is an event (an event and a censoring at the same
    time count, the censored patient having survived longer); tied risks count one half; pairs
    of tied event times and pairs in different strata are not compared. Times are walked from
    the last, counting the later patients' risks below, at and above each event's in a binary
    indexed tree: O(n log n).
    """
    concordant = discordant = tied = 0
    for stratum in np.unique(strata):
        rows = strata == stratum
        t, e = time[rows], event[rows]
        _, rank = np.unique(risk[rows], return_inverse=True)
        rank = rank.astype(np.int64) + 1
        later = _FenwickCounts(int(rank.max()))
        _, index = np.unique(t, return_inverse=True)
        order = np.argsort(-index, kind="stable")
        starts = np.flatnonzero(np.concatenate(([True], np.diff(index[order]) != 0)))
        for block in np.split(order, starts[1:]):
            dead = block[e[block]]
            later.insert(rank[block[~e[block]]])
            if len(dead):
                at_most = later.at_most(rank[dead])
                below = later.at_most(rank[dead] - 1)
                concordant += int(below.sum())
                tied += int((at_most - below).sum())
                discordant += int((later.count - at_most).sum())
                later.insert(rank[dead])
    total = concordant + discordant + tied
    return (concordant + tied / 2) / total if total else math.nan
