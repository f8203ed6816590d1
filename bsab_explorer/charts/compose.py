"""Layering, concatenating and faceting charts without Altair copying every part.

Altair's `LayerChart`, `VConcatChart` and `FacetChart` constructors deep-copy each part (with
its hundreds of unset properties, twice over for a layer inside a concatenation) so that they
can lift selection parameters, shared data and layer sizes to the top. Parts with none of
these have nothing to lift: `layer`, `vconcat` and `facet` attach them as they are, and leave
every other case to Altair's constructor. Altair copies a chart by calling its constructor
again (`to_dict` does so at every level, as do `properties` and `copy`), so the charts made
here are subclasses whose constructor decides the same way each time. The spec is the same
either way (tests/charts/test_compose.py); the copies were most of the time a filter change
spent building and writing the Kaplan–Meier chart (docs/performance.md, Figures behind the
code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
from altair.utils import Undefined

#: Properties Altair moves from layers to their `LayerChart`.
_LAYER_PROPS = ("height", "width", "view")


def _has(part: Any, prop: str) -> bool:
    return getattr(part, prop, Undefined) is not Undefined


def _needs_altair(parts: Sequence[Any], data: Any, props: Sequence[str]) -> bool:
    """Whether Altair's constructor would lift or rename anything of `parts`."""
    if any(_has(part, "params") for part in parts):
        return True
    if any(_has(part, prop) for part in parts for prop in props):
        return True
    datas = [getattr(part, "data", Undefined) for part in parts]
    if data is Undefined and datas[0] is not Undefined and all(d is datas[0] for d in datas):
        return True  # the parts' one data would move to the top
    if data is not Undefined and any(d is data for d in datas):
        return True  # the top's data would be removed from the parts
    # A concatenation renames the named layers of its parts.
    return any(
        isinstance(part, alt.LayerChart) and any(_has(inner, "name") for inner in part.layer)
        for part in parts
    )


class _LayerChart(alt.LayerChart):
    """An `alt.LayerChart` that attaches its layers as they are when there is nothing to lift.

    Altair copies a chart by calling its constructor again (`to_dict` does, twice for a layer
    inside a concatenation, and so do `properties` and `copy`): this one stays cheap each time.
    """

    def __init__(self, data: Any = Undefined, layer: Sequence[Any] = (), **kwargs: Any) -> None:
        if not layer or _needs_altair(layer, data, _LAYER_PROPS):
            super().__init__(data=data, layer=layer, **kwargs)
        else:
            super(alt.LayerChart, self).__init__(data=data, layer=list(layer), **kwargs)


class _VConcatChart(alt.VConcatChart):
    """An `alt.VConcatChart` that attaches its parts as they are when there is nothing to lift."""

    def __init__(self, data: Any = Undefined, vconcat: Sequence[Any] = (), **kwargs: Any) -> None:
        if not vconcat or _needs_altair(vconcat, data, ()):
            super().__init__(data=data, vconcat=vconcat, **kwargs)
        else:
            super(alt.VConcatChart, self).__init__(data=data, vconcat=list(vconcat), **kwargs)


class _FacetChart(alt.FacetChart):
    """An `alt.FacetChart` that attaches its spec as it is when there is nothing to lift."""

    def __init__(self, data: Any = Undefined, spec: Any = Undefined, **kwargs: Any) -> None:
        if spec is Undefined or _needs_altair([spec], data, ()):
            super().__init__(data=data, spec=spec, **kwargs)
        else:
            super(alt.FacetChart, self).__init__(data=data, spec=spec, **kwargs)


def layer(parts: Sequence[Any], **properties: Any) -> alt.LayerChart:
    """`alt.LayerChart(layer=parts, **properties)`, without copies when nothing is lifted."""
    return _LayerChart(layer=list(parts), **properties)


def vconcat(parts: Sequence[Any], **properties: Any) -> alt.VConcatChart:
    """`alt.VConcatChart(vconcat=parts, **properties)`, without copies when nothing is lifted."""
    return _VConcatChart(vconcat=list(parts), **properties)


def facet(spec: Any, **properties: Any) -> alt.FacetChart:
    """`alt.FacetChart(spec=spec, **properties)`, without a copy when nothing is lifted."""
    return _FacetChart(spec=spec, **properties)
