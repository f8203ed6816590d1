"""What each private Streamlit/Altair shortcut of the app saves per rerun, on the bundled data.

`python -m bench.internals` measures, with and without each shortcut, what a filter change on
the survival page does with the Kaplan–Meier chart (build it, write its spec) and what Python's
own full collection costs once the libraries and data are loaded. The shortcuts stay only while
these figures show they pay (docs/performance.md, "Private internals");
tests/test_pinned_internals.py fails when Streamlit or Altair change version, so that this is
run again.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import altair as alt
from altair.utils.schemapi import debug_mode

from bsab_explorer.analyses.survival import summarise_survival
from bsab_explorer.charts import compose
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.data.loading import load_dataset

REPEATS = 15


def _median_ms(work: Callable[[], Any], repeats: int = REPEATS) -> float:
    work()  # warm
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _plain_altair() -> dict[str, Any]:
    """compose's factories swapped for Altair's own constructors (which copy every part)."""
    saved = {name: getattr(compose, name) for name in ("layer", "vconcat", "facet")}
    compose.layer = lambda parts, **p: alt.LayerChart(layer=list(parts), **p)  # type: ignore[assignment]
    compose.vconcat = lambda parts, **p: alt.VConcatChart(vconcat=list(parts), **p)  # type: ignore[assignment]
    compose.facet = lambda spec, **p: alt.FacetChart(spec=spec, **p)  # type: ignore[assignment]
    return saved


def measure() -> dict[str, float]:
    """Milliseconds per rerun with and without each shortcut (medians)."""
    from bsab_explorer.ui.charts import vega_lite_spec

    dataset = load_dataset().dataset
    assert dataset is not None
    summary = summarise_survival(dataset.table("patients"), "pfs", by="emd")

    def build() -> Any:
        return km_chart(summary)

    chart = build()
    figures: dict[str, float] = {}
    with debug_mode(False):
        figures["build, compose, checks off"] = _median_ms(build)
        saved = _plain_altair()
        try:
            figures["build, Altair constructors, checks off"] = _median_ms(build)
        finally:
            for name, value in saved.items():
                setattr(compose, name, value)
        figures["spec, vega_lite_spec (no schema check)"] = _median_ms(
            lambda: vega_lite_spec(chart)
        )
        figures["spec, to_dict with schema check"] = _median_ms(
            lambda: chart.to_dict(validate=True)
        )
    with debug_mode(True):
        figures["build, compose, checks on"] = _median_ms(build)

    gc.collect()
    figures["full collection, not frozen"] = _median_ms(gc.collect, 5)
    gc.freeze()
    try:
        figures["full collection, frozen"] = _median_ms(gc.collect, 5)
    finally:
        gc.unfreeze()
    return figures


def main() -> None:
    """Print the figures, one a line."""
    import altair
    import streamlit

    print(f"streamlit {streamlit.__version__}, altair {altair.__version__}")
    for name, ms in measure().items():
        print(f"{ms:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
