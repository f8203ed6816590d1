"""Page options that live in the URL as readable codes, under the command line's flag names
(`?endpoint=os&by=emd&ci=log-log&bands=false`), so a copied link reopens the same view and
the Reproduce command reads like the link.

Streamlit's own widget binding stores the *displayed* label in the URL; these helpers keep the
code instead, so links stay short and stable when labels change. A widget's session key may
differ from its URL name (`param`); `aliases` are older URL names still read, so old links open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bsab_explorer.analyses.survival import Endpoint
from bsab_explorer.analyses.survival_tables import grouping_label, grouping_options
from bsab_explorer.ui.text import escape_markdown

Kind = Literal["selectbox", "segmented"]
#: How a yes/no option reads in the URL (as the command line's `--bands false`).
TRUE, FALSE = "true", "false"
#: The URL value of a multiple choice with nothing chosen.
NONE = "none"


def _from_url(param: str, aliases: Mapping[str, Callable[[str], str]]) -> str | None:
    """The URL value of `param`, else of its first alias present (translated, then dropped)."""
    value = st.query_params.get(param)
    if value is not None:
        return value
    for alias, translate in aliases.items():
        old = st.query_params.get(alias)
        if old is not None:
            del st.query_params[alias]
            return translate(old)
    return None


def report_unknown(param: str, value: str, shown: str) -> None:
    """Say on the page that the link's `?param=value` is not a choice here, and what is shown."""
    st.warning(
        f"Unknown value in the link: {escape_markdown(param)} = “{escape_markdown(value)}”. "
        f"Showing {escape_markdown(shown)} instead."
    )


def _seed(
    key: str,
    param: str,
    options: Sequence[str],
    default: str,
    aliases: Mapping[str, Callable[[str], str]],
) -> str | None:
    """Seed the widget from the URL; return the URL value when it is not one of `options`."""
    from_url = _from_url(param, aliases)
    seen_key = f"_url_seen_{key}"
    unknown = from_url if from_url is not None and from_url not in options else None
    if from_url is not None and from_url in options and st.session_state.get(seen_key) != from_url:
        st.session_state[key] = from_url
        st.session_state[seen_key] = from_url
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default
    return unknown


def _publish(key: str, param: str, value: str, default: str) -> None:
    st.session_state[f"_url_seen_{key}"] = value
    if value == default:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value


def url_choice(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    param: str | None = None,
    aliases: Mapping[str, Callable[[str], str]] | None = None,
    default: str | None = None,
    format_func: Callable[[str], str] = str,
    kind: Kind = "selectbox",
    where: DeltaGenerator | None = None,
    help: str | None = None,
) -> str:
    """A single choice among codes, seeded from and written back to the URL parameter `param`
    (default: the widget's `key`)."""
    name = param or key
    chosen_default = default if default is not None else options[0]
    unknown = _seed(key, name, options, chosen_default, aliases or {})
    container = where if where is not None else st.container()
    if kind == "segmented":
        value = container.segmented_control(
            escape_markdown(label),
            list(options),
            key=key,
            format_func=format_func,
            required=True,
            help=None if help is None else escape_markdown(help),
        )
    else:
        value = container.selectbox(
            escape_markdown(label),
            list(options),
            key=key,
            format_func=format_func,
            help=None if help is None else escape_markdown(help),
        )
    result = str(value) if value in options else chosen_default
    if unknown is not None:
        report_unknown(name, unknown, format_func(result))
    _publish(key, name, result, chosen_default)
    return result


def url_toggle(
    label: str,
    *,
    key: str,
    param: str,
    on: str = TRUE,
    off: str = FALSE,
    default: bool = False,
    aliases: Mapping[str, Callable[[str], str]] | None = None,
    where: DeltaGenerator | None = None,
    disabled: bool = False,
    help: str | None = None,
) -> bool:
    """A toggle kept in the URL parameter `param` as its command-line value (`on` or `off`)."""
    values = {on: True, off: False}
    chosen_default = on if default else off
    from_url = _from_url(param, aliases or {})
    seen_key = f"_url_seen_{key}"
    if from_url in values and st.session_state.get(seen_key) != from_url:
        st.session_state[key] = values[from_url]
        st.session_state[seen_key] = from_url
    elif not isinstance(st.session_state.get(key), bool):
        st.session_state[key] = default
    container = where if where is not None else st.container()
    value = bool(
        container.toggle(
            escape_markdown(label),
            key=key,
            disabled=disabled,
            help=None if help is None else escape_markdown(help),
        )
    )
    if from_url is not None and from_url not in values:
        report_unknown(param, from_url, on if value else off)
    _publish(key, param, on if value else off, chosen_default)
    return value


def url_choices(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    param: str,
    format_func: Callable[[str], str] = str,
    where: DeltaGenerator | None = None,
    default: Sequence[str] | None = None,
) -> list[str]:
    """Several choices among codes (`default`, or all of them), kept in the URL as the repeated
    parameter `param` (`?status=differs&status=reproduced`) when they differ from the default,
    and as `NONE` when none is chosen."""
    initial = [v for v in options if default is None or v in default]
    raw = st.query_params.get_all(param)
    from_url = [] if raw == [NONE] else [v for v in raw if v in options]
    seen_key = f"_url_seen_{key}"
    if (from_url or raw == [NONE]) and st.session_state.get(seen_key) != from_url:
        st.session_state[key] = from_url
    elif key not in st.session_state:
        st.session_state[key] = initial
    container = where if where is not None else st.container()
    shown = container.multiselect(
        escape_markdown(label), list(options), key=key, format_func=format_func
    )
    chosen = [v for v in shown if v in options]
    for value in raw:
        if value != NONE and value not in options:
            everything = set(chosen) == set(options)
            report_unknown(param, value, "all" if everything else ", ".join(chosen) or "none")
    st.session_state[seen_key] = chosen
    written = [NONE] if not chosen else [] if set(chosen) == set(initial) else chosen
    if st.query_params.get_all(param) != written:
        if written:
            st.query_params[param] = written
        elif param in st.query_params:
            del st.query_params[param]
    return chosen


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


def endpoint_choice(*, where: DeltaGenerator | None = None) -> str:
    """The survival endpoint chosen in `?endpoint=` (PFS or OS, as segmented buttons)."""
    return url_choice(
        "Endpoint",
        [e.value for e in Endpoint],
        key="endpoint",
        format_func=str.upper,
        kind="segmented",
        where=where,
    )
