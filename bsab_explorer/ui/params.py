"""Page options that live in the URL as readable codes (`?endpoint=os&by=emd&ci=log-log`).

Streamlit's own widget binding stores the *displayed* label in the URL; these helpers keep the
code instead, so links stay short and stable when labels change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bsab_explorer.analyses.survival_tables import grouping_label, grouping_options

Kind = Literal["selectbox", "segmented"]


def _seed(key: str, options: Sequence[str], default: str) -> None:
    from_url = st.query_params.get(key)
    seen_key = f"_url_seen_{key}"
    if from_url is not None and from_url in options and st.session_state.get(seen_key) != from_url:
        st.session_state[key] = from_url
        st.session_state[seen_key] = from_url
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default


def _publish(key: str, value: str, default: str) -> None:
    st.session_state[f"_url_seen_{key}"] = value
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def url_choice(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    default: str | None = None,
    format_func: Callable[[str], str] = str,
    kind: Kind = "selectbox",
    where: DeltaGenerator | None = None,
    help: str | None = None,
) -> str:
    """A single choice among codes, seeded from and written back to the URL parameter `key`."""
    chosen_default = default if default is not None else options[0]
    _seed(key, options, chosen_default)
    container = where if where is not None else st.container()
    if kind == "segmented":
        value = container.segmented_control(
            label, list(options), key=key, format_func=format_func, required=True, help=help
        )
    else:
        value = container.selectbox(
            label, list(options), key=key, format_func=format_func, help=help
        )
    result = str(value) if value in options else chosen_default
    _publish(key, result, chosen_default)
    return result


#: The URL value of "no split" in `?by=`.
OVERALL = "overall"


def group_choice(
    label: str, columns: Sequence[str], *, where: DeltaGenerator | None = None
) -> str | None:
    """The grouping column chosen in `?by=` among those `columns` offer (None: no split)."""
    options = [OVERALL, *[c for c in grouping_options(columns) if c]]
    chosen = url_choice(
        label,
        options,
        key="by",
        format_func=lambda c: grouping_label(None if c == OVERALL else c),
        where=where,
    )
    return None if chosen == OVERALL else chosen
