"""The p-values Table 1 offers across groups, each named by the test that made it (as R):

- Fisher's exact test (two-sided) for 2 x 2 tables (as R's ``fisher.test``);
- Pearson's chi-squared test without continuity correction for larger tables (as R's
  ``chisq.test``; an exact Fisher–Freeman–Halton test is not used because it does not scale to
  large cohorts);
- Wilcoxon rank-sum test for numbers in two groups (as R's ``wilcox.test``: exact when both
  groups have fewer than 50 values and there are no ties, else normal approximation with
  continuity correction); Kruskal–Wallis test for more than two groups.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bsab_explorer.analyses.groups import GROUP_COLUMN

FISHER = "Fisher's exact test"

CHI_SQUARED = "Pearson's chi-squared test"

WILCOXON = "Wilcoxon rank-sum test"

KRUSKAL = "Kruskal–Wallis test"

#: The tests p-values may come from, in the order notes list them.
TESTS = (FISHER, CHI_SQUARED, WILCOXON, KRUSKAL)


def contingency_table(counts: pl.DataFrame, groups: list[str], keys: list[str]) -> np.ndarray:
    """Groups x outcome counts, rows in group order (absent groups get zeros)."""
    table = np.zeros((len(groups), len(keys)), dtype=np.int64)
    for i, group in enumerate(groups):
        match = counts.filter(pl.col(GROUP_COLUMN) == group)
        if match.height:
            table[i] = [int(match.get_column(k)[0] or 0) for k in keys]
    return table


def categorical_p_value(table: np.ndarray) -> tuple[float | None, str | None]:
    """Fisher's exact test for 2 x 2, Pearson's chi-squared otherwise (empty margins dropped)."""
    from scipy import stats  # only when p-values are asked for: scipy.stats is slow to import

    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2:
        return None, None
    if table.shape[1] < 2:
        # The outcome does not vary: R's fisher.test gives 1 for 2 x 2, chisq.test NaN otherwise.
        return (1.0, FISHER) if table.shape[0] == 2 else (None, None)
    if table.shape == (2, 2):
        return float(stats.fisher_exact(table).pvalue), FISHER
    result = stats.chi2_contingency(table, correction=False)
    return float(result.pvalue), CHI_SQUARED


def numeric_p_value(samples: list[np.ndarray]) -> tuple[float | None, str | None]:
    """Wilcoxon rank-sum (R's defaults) for two groups, Kruskal–Wallis for more."""
    from scipy import stats

    if len(samples) < 2:
        return None, None
    pooled = np.concatenate(samples)
    if np.all(pooled == pooled[0]):
        # All values equal: no rank test is defined (R's wilcox.test and kruskal.test give NaN).
        return None, None
    if len(samples) == 2:
        x, y = samples
        ties = np.unique(pooled).size < pooled.size
        exact = x.size < 50 and y.size < 50 and not ties
        result = stats.mannwhitneyu(
            x,
            y,
            alternative="two-sided",
            use_continuity=True,
            method="exact" if exact else "asymptotic",
        )
        return float(result.pvalue), WILCOXON
    return float(stats.kruskal(*samples).pvalue), KRUSKAL
